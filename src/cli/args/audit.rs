//! The arguments of `flightdeck audit`; the handler is `cli/audit.rs`.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only entries about this group (name or cluster/namespace/name).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Only entries by this user.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only entries since this long ago (30s, 10m, 2h, 1d) or this RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only the newest N entries.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain, check the signed checkpoints (and a head exported earlier), and
    /// name the first thing that does not belong.
    Verify(VerifyArgs),
    /// The newest entry as SEQ:HASH (keep it somewhere the store's admins cannot write,
    /// for `audit verify --expect-head`) and the controller's public key.
    Head {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A head `flightdeck audit head` printed earlier: it must still be in the log, with
    /// the same hash (a shorter or rewritten log fails).
    #[arg(long, value_name = "SEQ:HASH")]
    pub expect_head: Option<String>,
    /// The controller's public key as `audit head` prints it (hex, with or without
    /// `ed25519:`), from a file the store's admins cannot write; without it the key the
    /// store records is used.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
}
