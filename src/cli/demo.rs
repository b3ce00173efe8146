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
/// The clusters of `demo --clusters 3`: one estate from test to production.
pub const DEMO_CLUSTERS: [&str; 3] = ["test", "pre", "prod"];

pub use super::args::demo::DemoArgs;

/// The names of the demo's clusters.
pub fn cluster_names(n: u8) -> Vec<&'static str> {
    if n <= 1 {
        vec![DEMO_CONTEXT]
    } else {
        DEMO_CLUSTERS[..usize::from(n.min(3))].to_vec()
    }
}

pub async fn run(global: &Global, args: DemoArgs) -> Result<(), CliError> {
    let scenario = match &args.scenario {
        Some(path) => {
            Scenario::from_file(path).map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?
        }
        None => crate::demo::scenario(),
    };
    // The service registry of the demo's estate: one in-memory registry for everything
    // the demo runs — the simulated registrator writes it, the controller's drains change
    // it, the console's instances tab reads it.
    let registry = crate::demo::registry();
    // One simulated cluster per name, each on its own port with the same apps; one
    // kubeconfig with a context per cluster, as a bastion's would have.
    let mut seeds = Vec::new();
    let mut sims = Vec::new();
    let mut kubeconfig: Option<kube::config::Kubeconfig> = None;
    for name in cluster_names(args.clusters) {
        let seed = seed(name, args.groups, args.pods)
            .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
        let sim = SimHandle::start(SimConfig {
            listen: "127.0.0.1:0".parse().expect("literal address"),
            scenario: scenario.clone(),
            preload: seed.objects.clone(),
            time_scale: 1.0,
            context: name.to_string(),
            // One registry for the console's single view of it: the first cluster's pods
            // register (in several clusters, the same addresses would collide).
            registry: seeds
                .is_empty()
                .then(|| registry.clone() as Arc<dyn crate::store::Registry>),
        })
        .await
        .map_err(|e| {
            CliError::new(
                Exit::Unreachable,
                format!("cannot start the simulated cluster {name}: {e}"),
            )
        })?;
        tracing::info!(cluster = name, addr = %sim.addr(), groups = seed.groups.len(), "demo cluster up");
        let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).map_err(|e| {
            CliError::new(
                Exit::Unreachable,
                format!("simulated cluster kubeconfig: {e}"),
            )
        })?;
        kubeconfig = Some(match kubeconfig {
            None => kc,
            Some(all) => all.merge(kc).map_err(|e| {
                CliError::new(Exit::Unreachable, format!("merging kubeconfigs: {e}"))
            })?,
        });
        seeds.push(seed);
        sims.push(sim);
    }
    let kubeconfig = kubeconfig.expect("at least one cluster");
    let first = cluster_names(args.clusters)[0].to_string();
    let conn = connect_kubeconfig(kubeconfig, Some(first))
        .await
        .map_err(|e| CliError::new(Exit::Unreachable, e.to_string()))?;

    let me = Identity::os();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let seeding = |e: String| CliError::new(Exit::Refused, format!("seeding the demo store: {e}"));
    for seed in &seeds {
        seed_store(store.as_ref(), seed, &me.name)
            .await
            .map_err(|e| seeding(e.to_string()))?;
    }
    for name in cluster_names(args.clusters) {
        let each = match conn.for_context(name).await {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(seeding(e.to_string())),
            None => return Err(seeding(format!("no context {name}"))),
        };
        crate::demo::register_cluster(store.as_ref(), &each)
            .await
            .map_err(|e| seeding(e.to_string()))?;
    }

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
            registry: Some(registry.clone()),
        },
    );
    let reports = controller.agent.reports.clone();
    let me = Me {
        name: me.name,
        authenticated: false,
    };
    let requester = Requester::new(store, me.name.clone()).with_wait(global.wait()?);
    let result = super::console::run_session(
        global,
        requester,
        conn,
        "mem:// (demo)",
        &me,
        Some(reports),
        crate::tui::registry_feed::RegistrySource::Shared(registry),
    )
    .await;
    controller.stop().await;
    for sim in sims {
        sim.shutdown().await;
    }
    result
}
