//! `flightdeck` with no command: the console. Also the session both it and the demo run:
//! the store feed, the cluster supervisor, the action worker and the event loop.
//!
//! A console only reads (the store, the cluster) and asks: each action is a request to the
//! release controller (`flightdeck agent`), which alone writes and changes clusters. Every
//! console samples the health of live canaries itself (read-only); the demo runs a
//! controller in the same process and also shows its running analyses.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::context::Me;
use super::{CliError, Exit, Global};
use crate::agent::Reports;
use crate::controller::Requester;
use crate::controller::request::Mismatch;
use crate::health::live::LiveConfig;
use crate::kube::{ClusterConn, spawn_supervisor};
use crate::model::Update;
use crate::tui::app::{App, AppInit};
use crate::tui::feeds::{
    spawn_action_worker, spawn_audit_pager, spawn_health_sampler, spawn_history_loader,
    spawn_store_feed,
};
use crate::tui::registry_feed::{RegistrySource, spawn_registry_feed};
use crate::tui::run::{Wiring, run as run_loop};

/// Updates queued between the background tasks and the loop: enough for a relist of a
/// large namespace without making the watchers wait.
const UPDATE_QUEUE: usize = 16_384;

pub async fn run(global: &Global) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let me = global.me(store.as_ref())?;
    let conn = global.connect_cluster().await?;
    let label = global.store.clone();
    let requester = Requester::new(store, me.name.clone()).with_wait(global.wait()?);
    // The service registry beside the store, connected when a group with a registration
    // opens; a console that may not read it says so in the instances tab.
    let registry = RegistrySource::Connect(global.store_config()?);
    run_session(global, requester, conn, &label, &me, None, registry).await
}

/// The console for `me`: store feed, cluster supervisor, the action worker (which asks
/// the release controller) and the event loop. `reports` are the health reports of a
/// controller running in this process (the demo's); `registry` is where the instances
/// tab reads registrations.
pub async fn run_session(
    global: &Global,
    requester: Requester,
    conn: ClusterConn,
    store_label: &str,
    me: &Me,
    reports: Option<watch::Receiver<Reports>>,
    registry: RegistrySource,
) -> Result<(), CliError> {
    let mut app = new_app(global, &conn, store_label, &me.name)?;
    if !me.authenticated {
        app.mark_unauthenticated();
    }
    let store = requester.store().clone();
    if let Ok(Some(kv)) = store
        .backend()
        .get(&crate::store::layout::user(&me.name))
        .await
        && let Ok(record) = serde_json::from_slice::<crate::domain::UserRecord>(&kv.value)
    {
        app.set_user_groups(record.groups);
    }
    app.set_foreign_clusters(foreign_clusters(store.as_ref(), &conn).await);
    let (tx, rx) = mpsc::channel(UPDATE_QUEUE);
    let (ns_tx, ns_rx) = watch::channel(Vec::new());
    let (live_tx, live_rx) = watch::channel(Vec::new());
    let (open_tx, open_rx) = watch::channel(None);
    let live = LiveConfig {
        prometheus: global.prometheus()?,
        ..LiveConfig::default()
    };
    let (act_tx, act_rx) = mpsc::unbounded_channel();
    let (pages_tx, pages_rx) = mpsc::unbounded_channel();
    let (history_tx, history_rx) = watch::channel(None);
    let (instances_tx, instances_rx) = watch::channel(None);
    let clusters = crate::kube::Clients::default();
    let mut tasks = vec![
        spawn_audit_pager(store.clone(), pages_rx, tx.clone()),
        spawn_history_loader(store.clone(), history_rx, tx.clone()),
        spawn_registry_feed(registry, instances_rx, tx.clone()),
        spawn_store_feed(store, tx.clone(), ns_tx, live_tx),
        spawn_health_sampler(conn.clone(), live, live_rx, open_rx, tx.clone()),
        spawn_supervisor(conn, ns_rx, clusters.clone(), tx.clone()),
        spawn_action_worker(requester, act_rx, tx.clone()),
    ];
    if let Some(reports) = reports {
        tasks.push(spawn_health_feed(reports, tx));
    }
    let result = run_loop(
        app,
        Wiring {
            updates: rx,
            actions: act_tx,
            audit_pages: pages_tx,
            clusters,
            open_group: open_tx,
            history: history_tx,
            instances: instances_tx,
        },
    )
    .await;
    for t in tasks {
        t.abort();
    }
    result
        .map(|_| ())
        .map_err(|e| CliError::new(Exit::Refused, format!("console: {e:#}")))
}

/// Registered clusters for which this console's context of the same name reaches another
/// server (or trusts another CA) than the registered one. Loading a context does no I/O.
async fn foreign_clusters(
    store: &dyn crate::store::Store,
    conn: &ClusterConn,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(registered) = super::clusters::registered(store).await else {
        return out;
    };
    for c in registered {
        let Some(Ok(mine)) = conn.for_context(&c.name).await else {
            continue;
        };
        match c.mismatch(&mine) {
            Some(Mismatch::Server) => {
                out.insert(
                    c.name.clone(),
                    format!(
                        "your context reaches {}, registered {}",
                        mine.server, c.server
                    ),
                );
            }
            Some(Mismatch::Ca) => {
                out.insert(
                    c.name.clone(),
                    "your context trusts another CA than the registered one".to_string(),
                );
            }
            None => {}
        }
    }
    out
}

/// Forwards the in-process controller's analysis reports into the app each time they change.
fn spawn_health_feed(
    mut reports: watch::Receiver<Reports>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while reports.changed().await.is_ok() {
            let latest = Arc::new(reports.borrow_and_update().clone());
            if tx.send(Update::HealthReports(latest)).await.is_err() {
                break;
            }
        }
    })
}

/// The console's state for this user, theme and keymap (the user's XDG files layered on
/// the built-in ones). A bad config file stops here, before the terminal is taken.
pub fn new_app(
    global: &Global,
    conn: &ClusterConn,
    store: &str,
    user: &str,
) -> Result<App, CliError> {
    let (theme, keymap) = crate::config::load(global.theme.as_deref(), global.keymap.as_deref())
        .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    Ok(App::new(AppInit {
        // Every cluster is watched; `--context` only narrows the list to start with.
        context: global.context.clone().unwrap_or_default(),
        contexts: conn.contexts.clone(),
        user: user.to_string(),
        store: store.to_string(),
        theme,
        keymap,
        first_run: first_run(),
    }))
}

/// True the first time this user opens the console: a marker file in the state dir.
fn first_run() -> bool {
    let marker = crate::logging::state_dir().join("seen-hint");
    if marker.exists() {
        return false;
    }
    let _ = std::fs::write(&marker, b"");
    true
}
