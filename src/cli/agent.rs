//! `flightdeck agent`: the release controller — answers people's requests, and moves
//! releases on by itself (timed pauses, analysis steps, automatic abort, re-apply) — until
//! SIGINT or SIGTERM. Several may run against one store: one holds the lease and acts,
//! the others stand by to take over. It runs only as the controller's own etcd identity.
//! What it does goes to the log file and, one line per action, to standard error.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::context::store_error;
use super::{CliError, Exit, Global};
use crate::agent::{AgentConfig, AgentEvent};
use crate::controller::request::Mismatch;
use crate::controller::{self, Adopted, Checkpointing, ControllerConfig, Trust};
use crate::domain::audit::SigningKey;
use crate::domain::user::{CONTROLLER_USER, ControllerRecord};
use crate::health::analysis::parse_duration;
use crate::kube::ClusterConn;
use crate::store::Store;

pub use super::args::agent::AgentArgs;

fn duration(flag: &str, s: &str) -> Result<Duration, CliError> {
    parse_duration(s).ok_or_else(|| {
        CliError::new(
            Exit::BadInput,
            format!("--{flag} {s:?} is not a duration like 30s"),
        )
    })
}

pub async fn run(global: &Global, args: AgentArgs) -> Result<(), CliError> {
    let mut cfg = AgentConfig::new(AgentConfig::default_holder("controller"));
    cfg.poll = duration("poll", &args.poll)?;
    cfg.lease_ttl = duration("lease-ttl", &args.lease_ttl)?;
    cfg.prometheus_window = duration("prometheus-window", &args.prometheus_window)?;
    cfg.prometheus = global.prometheus()?;
    let store = global.connect_store().await?;
    let trust = principal(global, store.as_ref()).await?;
    let conn = global.connect_cluster().await?;
    check_clusters(store.as_ref(), &conn).await?;
    let checkpoints = match &args.signing_key_file {
        None => {
            eprintln!("audit checkpoints off: no --signing-key-file");
            None
        }
        Some(file) => {
            let after = duration("checkpoint-after", &args.checkpoint_after)?;
            let key = signing_key(store.as_ref(), file, trust, &cfg.holder).await?;
            Some(Checkpointing::new(key).with_cadence(args.checkpoint_every, after))
        }
    };
    let health = match &args.health_listen {
        Some(addr) => Some(serve_health(addr, store.clone()).await?),
        None => None,
    };
    // Drains write the registrations next to the store; a registry that cannot be reached
    // now is reached on the first drain (the connection is lazy without a login).
    let registry = match crate::store::connect_registry(&global.store_config()?).await {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("service registry not reachable ({e}): drains are refused until it is");
            None
        }
    };
    let mut handle = controller::spawn(
        store,
        conn,
        ControllerConfig {
            agent: cfg,
            trust,
            checkpoints,
            registry,
        },
    );
    // The receiver made with the agent has every event since it started (a resubscribed
    // one would miss the first lease decision).
    let fresh = handle.agent.events.resubscribe();
    let mut events = std::mem::replace(&mut handle.agent.events, fresh);
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
                    super::output::warn(&format!("{key}: {action}: {outcome} ({reason})"));
                }
                Ok(AgentEvent::Leader { holder, mine: true }) => {
                    eprintln!("controller {holder}: holding the lease, taking requests");
                }
                Ok(AgentEvent::Leader { holder, mine: false }) => {
                    eprintln!("controller: {holder} holds the lease; standing by");
                }
                Ok(AgentEvent::LeaseTrouble { error }) => {
                    eprintln!("controller: cannot take or keep the lease: {error}");
                }
                Ok(AgentEvent::Unreadable { key, detail }) => {
                    super::output::warn(&format!("controller: skipped {key}: unreadable ({detail})"));
                }
                Ok(AgentEvent::StaleLease { was }) => {
                    eprintln!("controller: removed a stale lease key (held by {was:?}, no live etcd lease behind it)");
                }
                _ => {}
            },
        }
    }
    handle.stop().await;
    if let Some(h) = health {
        h.abort();
    }
    Ok(())
}

/// The controller is a principal: on an etcd with auth it runs only as the controller's
/// own etcd user (which alone may write state); without auth only when told `--local`.
async fn principal(global: &Global, store: &dyn Store) -> Result<Trust, CliError> {
    match store.authenticated_user() {
        Some(me) => {
            let expected = match store
                .backend()
                .get(crate::store::layout::CONTROLLER)
                .await
                .map_err(store_error)?
            {
                Some(kv) => serde_json::from_slice::<ControllerRecord>(&kv.value)
                    .map(|r| r.user)
                    .unwrap_or_else(|_| CONTROLLER_USER.to_string()),
                None => CONTROLLER_USER.to_string(),
            };
            if me != expected {
                return Err(CliError::new(
                    Exit::Refused,
                    format!(
                        "flightdeck agent runs only as the release controller's etcd user '{expected}', not '{me}' (people ask the controller; see `flightdeck admin init`)"
                    ),
                ));
            }
            Ok(Trust::EtcdAuth)
        }
        None if global.local || store.describe() == "memory" => Ok(Trust::Local),
        None => Err(CliError::new(
            Exit::Refused,
            format!(
                "{} has no login: the release controller runs as --etcd-user {CONTROLLER_USER} (see `flightdeck admin init`), or with --local on a single-user store without etcd auth",
                store.describe()
            ),
        )),
    }
}

/// Loads (or, on a store without auth, makes) the signing key and checks its public key
/// against the controller record; a different recorded key stops the controller.
async fn signing_key(
    store: &dyn Store,
    file: &std::path::Path,
    trust: Trust,
    holder: &str,
) -> Result<SigningKey, CliError> {
    let (key, made) = super::bootstrap::signing_key(file, trust == Trust::Local)?;
    let public = key.public_key();
    if made {
        eprintln!(
            "controller: new signing key written to {} ({public})",
            file.display()
        );
    }
    match controller::adopt_key(store, &public, trust, holder)
        .await
        .map_err(store_error)?
    {
        Ok(Adopted::Matches) => eprintln!("audit checkpoints on: signing with {public}"),
        Ok(Adopted::Recorded { seq }) => eprintln!(
            "audit checkpoints on: signing with {public} (recorded in the store, audit entry {seq})"
        ),
        Err(why) => return Err(CliError::new(Exit::Refused, why)),
    }
    Ok(key)
}

/// Every registered cluster this controller has a context for must be the same server
/// with the same CA; otherwise it would change a cluster other than the one registered.
async fn check_clusters(store: &dyn Store, conn: &ClusterConn) -> Result<(), CliError> {
    let clusters = super::clusters::registered(store)
        .await
        .map_err(store_error)?;
    for c in clusters {
        let mine = match conn.for_context(&c.name).await {
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                eprintln!(
                    "controller: cluster {} is registered but its context does not load ({e}); its groups cannot be changed",
                    c.name
                );
                continue;
            }
            None => {
                eprintln!(
                    "controller: cluster {} is registered but this controller has no context for it; its groups cannot be changed",
                    c.name
                );
                continue;
            }
        };
        if let Some(m) = c.mismatch(&mine) {
            return Err(CliError::new(
                Exit::Refused,
                format!(
                    "cluster {} is registered at {} but this controller's context {} reaches {}{}; refusing to start",
                    c.name,
                    c.server,
                    mine.context,
                    mine.server,
                    if m == Mismatch::Ca {
                        " with another CA"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// `/livez` (the process answers) and `/readyz` (the store answers), for the
/// Deployment's probes. A replica waiting for the lease is ready: it is a hot standby.
async fn serve_health(
    addr: &str,
    store: Arc<dyn Store>,
) -> Result<tokio::task::JoinHandle<()>, CliError> {
    use axum::http::StatusCode;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::new(Exit::BadInput, format!("--health-listen {addr}: {e}")))?;
    let app = axum::Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let store = store.clone();
                async move {
                    match store.lease_holder(controller::LEASE).await {
                        Ok(_) => (StatusCode::OK, "ok".to_string()),
                        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
                    }
                }
            }),
        );
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "health endpoint stopped");
        }
    }))
}
