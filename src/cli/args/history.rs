//! The arguments of `flightdeck history` and `flightdeck diff`; the handler is `cli/history.rs`.

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Name (unique across the store) or cluster/namespace/name.
    pub group: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    pub group: String,
    /// The revision to look at.
    pub revision: u64,
    /// The one to compare it with (default: the stable revision running now).
    pub against: Option<u64>,
}
