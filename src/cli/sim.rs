//! `flightdeck sim`: the simulated cluster alone, until SIGINT or SIGTERM. kubectl and a
//! separate console reach it through the kubeconfig it writes.

use tokio::signal::unix::{SignalKind, signal};

use super::context::store_error;
use super::{CliError, Exit, Global};
use crate::authz::Identity;
use crate::demo::seed;
use crate::sim::{RegistrationSim, Scenario, SimConfig, SimHandle};
use crate::store::{Scope, StoreConfig, connect_registry};

pub use super::args::sim::SimArgs;

pub async fn run(global: &Global, args: SimArgs) -> Result<(), CliError> {
    let seed = seed(&args.sim_context, args.groups, args.pods)
        .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    let mut scenario = match &args.scenario {
        Some(path) => {
            Scenario::from_file(path).map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?
        }
        None => crate::demo::scenario(),
    };
    if !(args.time_scale > 0.0 && args.time_scale.is_finite()) {
        return Err(CliError::new(
            Exit::BadInput,
            format!("--time-scale {} must be above 0", args.time_scale),
        ));
    }
    // The store first: a refusal there should not leave a cluster half-started.
    let seeded = match &args.seed_store {
        Some(url) => Some(seed_into(global, url, &seed).await?),
        None => None,
    };
    let registry = match &args.registry {
        Some(url) => {
            let options = global.store_config()?.options;
            let cfg = StoreConfig::parse(url, options).map_err(|e| {
                let mut e = store_error(e);
                e.message = format!("--registry {url}: {}", e.message);
                e
            })?;
            let registry = connect_registry(&cfg).await.map_err(|e| {
                let mut e = store_error(e);
                e.message = format!("connecting to the registry {url}: {}", e.message);
                e
            })?;
            // A registry without a registration to make would be a flag that does nothing.
            scenario
                .registration
                .get_or_insert_with(RegistrationSim::default);
            Some(registry)
        }
        None => None,
    };
    let sim = SimHandle::start(SimConfig {
        listen: args.listen,
        scenario,
        preload: seed.objects.clone(),
        time_scale: args.time_scale,
        context: args.sim_context.clone(),
        registry,
    })
    .await
    .map_err(|e| {
        CliError::new(
            Exit::Unreachable,
            format!("cannot start the simulated cluster on {}: {e}", args.listen),
        )
    })?;
    sim.write_kubeconfig(&args.kubeconfig_out).map_err(|e| {
        CliError::new(
            Exit::BadInput,
            format!("cannot write {}: {e}", args.kubeconfig_out.display()),
        )
    })?;
    if let Some(store) = &seeded {
        // The seeded groups live in this cluster: register it as `clusters add` would.
        let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml())
            .map_err(|e| CliError::new(Exit::Refused, e.to_string()))?;
        let conn = crate::kube::connect_kubeconfig(kc, Some(args.sim_context.clone()))
            .await
            .map_err(|e| CliError::new(Exit::Refused, e.to_string()))?;
        crate::demo::register_cluster(store.as_ref(), &conn)
            .await
            .map_err(store_error)?;
    }
    tracing::info!(addr = %sim.addr(), groups = seed.groups.len(), "simulated cluster listening");
    println!(
        "simulated cluster on http://{} ({} groups); kubeconfig: {} (context {})",
        sim.addr(),
        seed.groups.len(),
        args.kubeconfig_out.display(),
        args.sim_context
    );
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| CliError::new(Exit::Refused, e.to_string()))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}

/// Writes the estate into the store at `url`, refusing a store that already holds groups
/// (two estates mixed in one store would confuse every console watching it).
async fn seed_into(
    global: &Global,
    url: &str,
    seed: &crate::demo::Seed,
) -> Result<std::sync::Arc<dyn crate::store::Store>, CliError> {
    let options = global.store_config()?.options;
    let cfg = StoreConfig::parse(url, options).map_err(store_error)?;
    let store = crate::store::connect(&cfg).await.map_err(store_error)?;
    let existing = store
        .list_groups(&Scope::all())
        .await
        .map_err(store_error)?;
    if !existing.is_empty() {
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "--seed-store {url} already holds {} groups; seed a fresh store or another --etcd-prefix",
                existing.len()
            ),
        ));
    }
    crate::demo::seed_store(store.as_ref(), seed, &Identity::os().name)
        .await
        .map_err(|e| {
            let mut e = store_error(e);
            e.message = format!("seeding {url}: {}", e.message);
            e
        })?;
    println!(
        "seeded {url}: {} templates, {} groups with their first revisions and releases, demo policy",
        seed.templates.len(),
        seed.groups.len()
    );
    Ok(store)
}
