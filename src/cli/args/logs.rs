//! The arguments of `flightdeck logs`; the handler is `cli/logs.rs`.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The instance group.
    pub group: String,
    /// Namespace (else the group's in the store, else the context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Only one track: stable or canary.
    #[arg(long, value_name = "TRACK")]
    pub track: Option<String>,
    /// Only one pod.
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,
    /// Only one container (default: every container of each pod).
    #[arg(long, short = 'c', value_name = "NAME")]
    pub container: Option<String>,
    /// Only lines matching this regex (case-insensitive unless it has a capital letter).
    #[arg(long, value_name = "RE")]
    pub grep: Option<String>,
    /// Only lines newer than this: 30s, 5m, 2h.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Lines from the end of each container's log; -1 for all.
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub tail: i64,
    /// The previous (crashed) container's log.
    #[arg(long, short = 'p')]
    pub previous: bool,
    /// Keep streaming; pods the rollout creates join, pods that go are marked.
    #[arg(long, short = 'f')]
    pub follow: bool,
}
