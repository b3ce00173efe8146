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
    /// Adopt the Deployments and CronJobs that already run in a namespace: templates of
    /// their common shape and one group each, whose first revision is exactly what runs
    /// (no pod restarts). Written by the release controller, which reads the cluster
    /// itself; `--dry-run` prints the template and group files instead.
    Import(ImportArgs),
}

/// `groups import`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The registered cluster (its kubeconfig context).
    #[arg(long)]
    pub cluster: String,
    #[arg(short = 'n', long)]
    pub namespace: String,
    /// Only what this label selector picks (as kubectl's `-l`, e.g. `tier=web`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Print the template and group files (as `templates apply -f` and `groups apply -f`
    /// take them), read with your own cluster credentials; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}
