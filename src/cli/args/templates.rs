//! The arguments of `flightdeck templates`; the handler is `cli/templates.rs`.

use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum TemplatesCommand {
    /// Write the templates of a YAML file (several documents allowed) into the store.
    Apply {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
    /// The templates in the store.
    List {
        #[arg(long)]
        json: bool,
    },
}
