//! The arguments of `flightdeck status`; the handler is `cli/status.rs`.

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// One group in detail (name or cluster/namespace/name).
    pub group: Option<String>,
    #[arg(long)]
    pub json: bool,
}
