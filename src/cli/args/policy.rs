//! The arguments of `flightdeck policy`; the handler is `cli/policy.rs`.

use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// The policy in the store.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy file and write it into the store.
    Apply {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
}
