//! The arguments of `flightdeck agent`; the handler is `cli/agent.rs`.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// Rate window of the Prometheus queries.
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub prometheus_window: String,
    /// How often releases are read.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub poll: String,
    /// Lease time: how long a dead controller blocks the next one.
    #[arg(long, default_value = "15s", value_name = "DURATION")]
    pub lease_ttl: String,
    /// Serve /livez and /readyz here (for a Deployment's probes), e.g. 0.0.0.0:8080.
    #[arg(long, value_name = "ADDR")]
    pub health_listen: Option<String>,
    /// The controller's ed25519 private key (PKCS#8 DER) for signing audit checkpoints;
    /// never stored in etcd. Its public key must be the one the store records (`admin init
    /// --signing-key-file`); on a store without auth a missing FILE is made (0600) and its
    /// key recorded. Without it no checkpoints are written.
    #[arg(long, env = "FLIGHTDECK_SIGNING_KEY_FILE", value_name = "FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// Sign a checkpoint at least every N audit entries.
    #[arg(long, hide = true, default_value_t = super::CHECKPOINT_EVERY, value_name = "N")]
    pub checkpoint_every: u64,
    /// …and once the oldest entry without one is this old.
    #[arg(long, hide = true, default_value = "60s", value_name = "DURATION")]
    pub checkpoint_after: String,
}
