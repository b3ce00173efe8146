//! The arguments of `flightdeck sim`; the handler is `cli/sim.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Where to write the kubeconfig that reaches it (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: PathBuf,
    /// Scenario file (default: the demo's, from assets/).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Instance groups to run (the samples plus generated ones up to this many).
    #[arg(long, default_value_t = 7)]
    pub groups: usize,
    /// Pods per generated group.
    #[arg(long, default_value_t = 20)]
    pub pods: u32,
    /// Name of the kubeconfig context (and of the cluster in the groups).
    #[arg(long = "sim-context", default_value = "sim")]
    pub sim_context: String,
    /// Time scale of the kubelet's delays (1 = realistic, 0.1 = ten times faster).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Also write the estate (templates, groups, a first revision and release per group, and
    /// the demo policy with you as admin) into this store, for a separate console or
    /// benchmark to watch. Uses the --etcd-* flags; the store must hold no groups yet.
    #[arg(long, value_name = "URL")]
    pub seed_store: Option<String>,
    /// Register each ready pod in this service registry (an etcd, e.g. etcd://127.0.0.1:2379,
    /// keys outside any prefix; the --etcd-* credentials apply), as a registrator sidecar
    /// would: where and how comes from the scenario's `registration:` (default: prefix
    /// /services, ttl 10s, every pod with a flightdeck.dev/group label).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
}
