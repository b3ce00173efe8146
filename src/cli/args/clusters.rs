//! The arguments of `flightdeck clusters`; the handler is `cli/clusters.rs`.

#[derive(Debug, clap::Subcommand)]
pub enum ClustersCommand {
    /// Register a cluster by the server its kubeconfig context reaches (`--kubeconfig F`,
    /// `--context C`; the context defaults to NAME).
    Add {
        /// The name groups use in `spec.cluster`.
        name: String,
    },
    /// The registered clusters.
    List {
        #[arg(long)]
        json: bool,
    },
}
