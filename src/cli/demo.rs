//! `flightdeck demo`: the simulated cluster on a free loopback port, an in-memory store
//! seeded from `assets/`, and the console — reached through kube-rs over HTTP exactly as a
//! real cluster would be.

use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use super::{CliError, Exit, Global};
use crate::authz::Identity;
use crate::demo::seed;
use crate::kube::{connect_kubeconfig, spawn_supervisor};
use crate::model::{Conn, Part, Update};
use crate::sim::{Scenario, SimConfig, SimHandle};
use crate::tui::run::{Wiring, run};

pub const DEMO_CONTEXT: &str = "sim";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Instance groups in the estate (the samples, plus generated ones up to this many).
    #[arg(long, default_value_t = 7)]
    pub groups: usize,
    /// Pods per generated group.
    #[arg(long, default_value_t = 20)]
    pub pods: u32,
    /// Scenario file for the simulated cluster (default: the one in assets/).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
}

pub async fn run(global: &Global, args: DemoArgs) -> Result<(), CliError> {
    let seed = seed(DEMO_CONTEXT, args.groups, args.pods).map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_file(path).map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?,
        None => crate::demo::scenario(),
    };
    let sim = SimHandle::start(SimConfig {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        scenario,
        preload: seed.objects.clone(),
        time_scale: 1.0,
        context: DEMO_CONTEXT.to_string(),
    })
    .await
    .map_err(|e| CliError::new(Exit::Unreachable, format!("cannot start the simulated cluster: {e}")))?;
    tracing::info!(addr = %sim.addr(), groups = seed.groups.len(), "demo cluster up");

    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml())
        .map_err(|e| CliError::new(Exit::Unreachable, format!("simulated cluster kubeconfig: {e}")))?;
    let conn = connect_kubeconfig(kubeconfig, Some(DEMO_CONTEXT.to_string()))
        .await
        .map_err(|e| CliError::new(Exit::Unreachable, e.to_string()))?;

    let (tx, rx) = mpsc::channel(16_384);
    let namespaces: Vec<(String, String)> = {
        let mut v: Vec<_> = seed.groups.iter().map(|g| (g.spec.cluster.clone(), g.spec.namespace.clone())).collect();
        v.sort();
        v.dedup();
        v
    };
    let (_ns_tx, ns_rx) = watch::channel(namespaces);
    let (switch_tx, switch_rx) = mpsc::unbounded_channel();
    let _ = tx.send(Update::StoreReloaded { groups: seed.groups.clone(), releases: seed.releases.clone() }).await;
    let _ = tx.send(Update::Connection { part: Part::Store, state: Conn::Connected }).await;
    let supervisor = spawn_supervisor(conn.clone(), ns_rx, switch_rx, tx.clone());

    let app = super::console::new_app(global, &conn, "mem:// (demo)", Identity::os())?;
    let result = run(app, Wiring { updates: rx, switch_context: switch_tx }).await;
    supervisor.abort();
    sim.shutdown().await;
    result.map(|_| ()).map_err(|e| CliError::new(Exit::Refused, format!("console: {e:#}")))
}
