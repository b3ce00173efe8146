//! The arguments of `flightdeck groups`; the handler is `cli/groups.rs`.

use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum GroupsCommand {
    /// Write the instance groups of a YAML file (several documents allowed) into the store.
    Apply {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
    /// The instance groups in the store.
    List {
        #[arg(long)]
        json: bool,
    },
}
