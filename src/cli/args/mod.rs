//! The command line's definitions, and nothing else: the parser, the `--help` texts, and
//! what `build.rs` turns into shell completions and the man page at build time.
//!
//! This module is compiled twice: as `flightdeck::cli::args`, and by `build.rs` (through
//! `#[path]`). So it may name only std and clap, never the rest of flightdeck — the build
//! script has none of it. What it needs from outside is a literal here (the compiler checks
//! each against the original in `cli/mod.rs`) or `super::VERSION`, which both includers
//! define. One file per command group, named like its handler in `cli/`.

pub mod agent;
pub mod audit;
pub mod bootstrap;
pub mod clusters;
pub mod demo;
pub mod groups;
pub mod history;
pub mod logs;
pub mod policy;
pub mod release;
pub mod sim;
pub mod status;
pub mod templates;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The store's key prefix (`flightdeck_core::store::DEFAULT_PREFIX`).
pub const DEFAULT_PREFIX: &str = "/flightdeck/";
/// Audit entries between signed checkpoints (`controller::checkpoint::EVERY`).
pub const CHECKPOINT_EVERY: u64 = 100;

#[derive(Debug, Parser)]
#[command(
    name = "flightdeck",
    version = super::VERSION,
    about = "A terminal release console for Kubernetes"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Args)]
pub struct Global {
    /// Kubeconfig file (else KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (else the current one).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Platform store: etcd://host:2379[,host:2379] or mem://.
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_STORE",
        default_value = "mem://",
        value_name = "URL"
    )]
    pub store: String,
    /// Diagnostics level for the log file (an env-filter expression, e.g. debug or flightdeck=trace).
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_LOG",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: String,
    /// Theme: default, light, high-contrast, mono (NO_COLOR forces mono).
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap: default or vim.
    #[arg(long, global = true, value_name = "NAME")]
    pub keymap: Option<String>,
    /// etcd user (etcd auth); the password comes from FLIGHTDECK_ETCD_PASSWORD or --etcd-password-file.
    #[arg(long, global = true, env = "FLIGHTDECK_ETCD_USER", value_name = "NAME")]
    pub etcd_user: Option<String>,
    /// File holding the etcd password (first line).
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_password_file: Option<PathBuf>,
    /// CA bundle for etcd's server certificate (switches to TLS).
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_ca: Option<PathBuf>,
    /// Client certificate for etcd's --client-cert-auth.
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_cert: Option<PathBuf>,
    /// Client key for --etcd-cert.
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_key: Option<PathBuf>,
    /// Single-user mode on an etcd without auth: you are your OS user, unproven (the
    /// console says `unauthenticated`). Without it, an etcd store needs a login.
    #[arg(long, global = true, env = "FLIGHTDECK_LOCAL")]
    pub local: bool,
    /// How long to wait for the release controller's answer.
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_WAIT",
        default_value = "15s",
        value_name = "DURATION"
    )]
    pub wait: String,
    /// Prometheus for groups whose health source is `prometheus` (e.g.
    /// http://prometheus:9090): the controller's analyses and every console's live health.
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_PROMETHEUS_URL",
        value_name = "URL"
    )]
    pub prometheus_url: Option<String>,
    /// Key prefix in etcd.
    #[arg(long, global = true, default_value = DEFAULT_PREFIX, value_name = "PREFIX")]
    pub etcd_prefix: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulated cluster + in-memory store + the console; no set-up.
    Demo(demo::DemoArgs),
    /// A group's pod logs, prefixed by pod: logs GROUP [--track canary] [--grep RE] [-f].
    Logs(logs::LogsArgs),
    /// Run the simulated cluster alone (for kubectl, tests and benchmarks).
    Sim(sim::SimArgs),
    /// Instance groups: list, or apply a YAML file.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Templates: list, or apply a YAML file.
    #[command(subcommand)]
    Templates(templates::TemplatesCommand),
    /// Releases at a glance, or one group in detail.
    Status(status::StatusArgs),
    /// Start a release of a new tag (the first deploy goes straight to stable).
    Deploy(release::DeployArgs),
    /// Advance the release past the step it waits at.
    Step(release::GroupArgs),
    /// Hold the release where it is.
    Pause(release::GroupArgs),
    /// Let a paused release go on.
    Resume(release::GroupArgs),
    /// Finish the release now: the canary becomes stable.
    Promote(release::GroupArgs),
    /// All traffic back to stable at once; the canary goes to 0.
    Abort(release::GroupArgs),
    /// Rolling restart of one track's pods.
    Restart(release::RestartArgs),
    /// Set the canary's share of traffic now (0–100).
    Weight(release::WeightArgs),
    /// Make an older revision stable again, at once.
    Rollback(release::RollbackArgs),
    /// A cron group: no more scheduled runs until `resume` (a running Job goes on).
    Suspend(release::GroupArgs),
    /// A cron group: run its Job now, from the CronJob's template.
    Trigger(release::GroupArgs),
    /// A cron group: stop its running Job (or the one named), deleting its pods.
    Kill(release::KillArgs),
    /// A group with a registration: take a pod's instance out of rotation (weight 0 or
    /// removed), wait the group's drainFor, then delete the pod.
    Drain(release::DrainArgs),
    /// A group with a registration: its pods and registered instances side by side
    /// (serving, drained, ghosts, strays).
    Instances(release::InstancesArgs),
    /// Every revision of a group: what it changed, who deployed it, how long it ran as
    /// stable, how its release ended.
    History(history::HistoryArgs),
    /// What one revision renders differently from another (default: the stable one).
    Diff(history::DiffArgs),
    /// The audit log, or `audit verify` to check its hash chain.
    Audit(audit::AuditArgs),
    /// Who may do what: show, or apply a YAML file.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// The release controller: answers requests; timed pauses, analysis, auto-abort, re-apply.
    Agent(agent::AgentArgs),
    /// Registered clusters: add (public facts only), list.
    #[command(subcommand)]
    Clusters(clusters::ClustersCommand),
    /// etcd roles and users for the controller and for people.
    #[command(subcommand)]
    Admin(bootstrap::AdminCommand),
    /// Shell completions on stdout: `flightdeck completions bash > /etc/bash_completion.d/flightdeck`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: `flightdeck man | man -l -`.
    Man,
}
