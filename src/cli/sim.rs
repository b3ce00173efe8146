//! `flightdeck sim`: the simulated cluster alone, until SIGINT or SIGTERM. kubectl and a
//! separate console reach it through the kubeconfig it writes.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::signal::unix::{SignalKind, signal};

use super::{CliError, Exit};
use crate::demo::seed;
use crate::sim::{Scenario, SimConfig, SimHandle};

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
}

pub async fn run(args: SimArgs) -> Result<(), CliError> {
    let seed = seed(&args.sim_context, args.groups, args.pods)
        .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    let scenario = match &args.scenario {
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
    let sim = SimHandle::start(SimConfig {
        listen: args.listen,
        scenario,
        preload: seed.objects,
        time_scale: args.time_scale,
        context: args.sim_context.clone(),
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
