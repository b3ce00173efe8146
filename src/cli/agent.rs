//! `flightdeck agent`: the headless agent (timed pauses, analysis steps, automatic abort,
//! re-apply) until SIGINT or SIGTERM. Several may run against one store: one holds the
//! lease and acts, the others wait to take over. What it does goes to the log file and,
//! one line per action, to standard error.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::{CliError, Exit, Global};
use crate::agent::{AGENT_USER, AgentConfig, AgentEvent, spawn};
use crate::engine::release_engine::{Actor, ReleaseEngine};
use crate::health::analysis::parse_duration;
use crate::health::prometheus::PrometheusClient;

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// Prometheus for groups whose health source is `prometheus` (e.g. http://prometheus:9090).
    #[arg(long, env = "FLIGHTDECK_PROMETHEUS_URL", value_name = "URL")]
    pub prometheus_url: Option<String>,
    /// Rate window of the Prometheus queries.
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub prometheus_window: String,
    /// How often releases are read.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub poll: String,
    /// Lease time: how long a dead agent blocks the next one.
    #[arg(long, default_value = "15s", value_name = "DURATION")]
    pub lease_ttl: String,
}

fn duration(flag: &str, s: &str) -> Result<Duration, CliError> {
    parse_duration(s).ok_or_else(|| {
        CliError::new(
            Exit::BadInput,
            format!("--{flag} {s:?} is not a duration like 30s"),
        )
    })
}

pub async fn run(global: &Global, args: AgentArgs) -> Result<(), CliError> {
    let mut cfg = AgentConfig::new(AgentConfig::default_holder("agent"));
    cfg.poll = duration("poll", &args.poll)?;
    cfg.lease_ttl = duration("lease-ttl", &args.lease_ttl)?;
    cfg.prometheus_window = duration("prometheus-window", &args.prometheus_window)?;
    cfg.prometheus = args
        .prometheus_url
        .as_deref()
        .map(PrometheusClient::new)
        .transpose()
        .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    let store = global.connect_store().await?;
    let conn = global.connect_cluster().await?;
    let engine = Arc::new(ReleaseEngine::new(
        store,
        conn.clone(),
        Actor::system(AGENT_USER),
    ));
    let (task, _reports, mut events, stop) = spawn(engine, conn, cfg);
    let signals =
        |k| signal(k).map_err(|e| CliError::new(Exit::Unreachable, format!("signals: {e}")));
    let (mut int, mut term) = (
        signals(SignalKind::interrupt())?,
        signals(SignalKind::terminate())?,
    );
    loop {
        tokio::select! {
            _ = int.recv() => break,
            _ = term.recv() => break,
            ev = events.recv() => match ev {
                Ok(AgentEvent::Acted { key, action, reason, outcome }) => {
                    eprintln!("{key}: {action}: {outcome} ({reason})");
                }
                Ok(AgentEvent::Leader { holder, mine: true }) => {
                    eprintln!("agent {holder}: holding the lease, acting");
                }
                Ok(AgentEvent::Leader { holder, mine: false }) => {
                    eprintln!("agent: {holder} holds the lease; waiting");
                }
                _ => {}
            },
        }
    }
    stop.send_replace(true);
    let _ = task.await;
    Ok(())
}
