//! `flightdeck demo`: the simulated cluster on a free loopback port, an in-memory store
//! seeded from `assets/`, the release controller and the console — the cluster reached
//! through kube-rs over HTTP exactly as a real one would be, the controller through the
//! same request path as a separate `flightdeck agent`.

use std::sync::Arc;

use super::context::Me;
use super::{CliError, Exit, Global};
use crate::agent::AgentConfig;
use crate::authz::Identity;
use crate::controller::{self, Checkpointing, ControllerConfig, Requester, Trust};
use crate::demo::{seed, seed_store};
use crate::domain::audit::SigningKey;
use crate::kube::connect_kubeconfig;
use crate::sim::{Scenario, SimConfig, SimHandle};
use crate::store::{MemoryStore, Store};

pub const DEMO_CONTEXT: &str = "sim";

pub use super::args::demo::DemoArgs;

pub async fn run(global: &Global, args: DemoArgs) -> Result<(), CliError> {
    let seed = seed(DEMO_CONTEXT, args.groups, args.pods)
        .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    let scenario = match &args.scenario {
        Some(path) => {
            Scenario::from_file(path).map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?
        }
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
    .map_err(|e| {
        CliError::new(
            Exit::Unreachable,
            format!("cannot start the simulated cluster: {e}"),
        )
    })?;
    tracing::info!(addr = %sim.addr(), groups = seed.groups.len(), "demo cluster up");

    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).map_err(|e| {
        CliError::new(
            Exit::Unreachable,
            format!("simulated cluster kubeconfig: {e}"),
        )
    })?;
    let conn = connect_kubeconfig(kubeconfig, Some(DEMO_CONTEXT.to_string()))
        .await
        .map_err(|e| CliError::new(Exit::Unreachable, e.to_string()))?;

    let me = Identity::os();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    seed_store(store.as_ref(), &seed, &me.name)
        .await
        .map_err(|e| CliError::new(Exit::Refused, format!("seeding the demo store: {e}")))?;
    crate::demo::register_cluster(store.as_ref(), &conn)
        .await
        .map_err(|e| CliError::new(Exit::Refused, format!("seeding the demo store: {e}")))?;

    // The release controller in this process, asked over the same request path as a
    // separate `flightdeck agent` would be. Its signing key lives only as long as the
    // demo; its public key is recorded, so the demo's audit log is checkpointed.
    let agent = AgentConfig::new(AgentConfig::default_holder("demo-controller"));
    let (key, _) = SigningKey::generate().map_err(|e| CliError::new(Exit::Refused, e))?;
    let refused = |e: String| CliError::new(Exit::Refused, format!("demo signing key: {e}"));
    controller::adopt_key(
        store.as_ref(),
        &key.public_key(),
        Trust::Local,
        &agent.holder,
    )
    .await
    .map_err(|e| refused(e.to_string()))?
    .map_err(refused)?;
    let controller = controller::spawn(
        store.clone(),
        conn.clone(),
        ControllerConfig {
            agent,
            trust: Trust::Local,
            checkpoints: Some(Checkpointing::new(key)),
        },
    );
    let reports = controller.agent.reports.clone();
    let me = Me {
        name: me.name,
        authenticated: false,
    };
    let requester = Requester::new(store, me.name.clone()).with_wait(global.wait()?);
    let result =
        super::console::run_session(global, requester, conn, "mem:// (demo)", &me, Some(reports))
            .await;
    controller.stop().await;
    sim.shutdown().await;
    result
}
