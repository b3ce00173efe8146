//! `flightdeck` with no command: the console. Also the session both it and the demo run:
//! the store feed, the cluster supervisor, the action worker, the agent and the event loop.
//!
//! Every console runs the agent in-process (as `system:agent`): the store lease lets only
//! one agent — a console's or `flightdeck agent` — drive the releases at a time, and the
//! console shows the reports of its own agent's analyses in the Health tab.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{CliError, Exit, Global};
use crate::agent::{self, AGENT_USER, AgentConfig, Reports};
use crate::authz::Identity;
use crate::engine::release_engine::{Actor, ReleaseEngine};
use crate::kube::{ClusterConn, spawn_supervisor};
use crate::model::Update;
use crate::store::Store;
use crate::tui::app::{App, AppInit};
use crate::tui::feeds::{spawn_action_worker, spawn_store_feed};
use crate::tui::run::{Wiring, run as run_loop};

/// Updates queued between the background tasks and the loop: enough for a relist of a
/// large namespace without making the watchers wait.
const UPDATE_QUEUE: usize = 16_384;
/// How long the console waits for its agent to give the lease back when it quits.
const AGENT_STOP: Duration = Duration::from_secs(2);

pub async fn run(global: &Global) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let conn = global.connect_cluster().await?;
    let label = global.store.clone();
    run_session(global, store, conn, &label, Identity::os()).await
}

pub async fn run_session(
    global: &Global,
    store: Arc<dyn Store>,
    conn: ClusterConn,
    store_label: &str,
    os: Identity,
) -> Result<(), CliError> {
    let actor = Actor::resolve(store.as_ref(), &os);
    let app = new_app(global, &conn, store_label, &actor.user.name)?;
    let (tx, rx) = mpsc::channel(UPDATE_QUEUE);
    let (ns_tx, ns_rx) = watch::channel(Vec::new());
    let (switch_tx, switch_rx) = mpsc::unbounded_channel();
    let (act_tx, act_rx) = mpsc::unbounded_channel();
    let logs_client = Some(conn.client.clone());
    let engine = Arc::new(ReleaseEngine::new(store.clone(), conn.clone(), actor));
    let agent_engine = Arc::new(ReleaseEngine::new(
        store.clone(),
        conn.clone(),
        Actor::system(AGENT_USER),
    ));
    let (agent_task, reports, _agent_events, agent_stop) = agent::spawn(
        agent_engine,
        conn.clone(),
        AgentConfig::new(AgentConfig::default_holder("console")),
    );
    let tasks = [
        spawn_store_feed(store, tx.clone(), ns_tx),
        spawn_supervisor(conn, ns_rx, switch_rx, tx.clone()),
        spawn_action_worker(engine, act_rx, tx.clone()),
        spawn_health_feed(reports, tx),
    ];
    let result = run_loop(
        app,
        Wiring {
            updates: rx,
            switch_context: switch_tx,
            actions: act_tx,
            logs_client,
        },
    )
    .await;
    for t in tasks {
        t.abort();
    }
    // The agent stops its analyses and gives the lease back, so another takes over at once.
    agent_stop.send_replace(true);
    let _ = tokio::time::timeout(AGENT_STOP, agent_task).await;
    result
        .map(|_| ())
        .map_err(|e| CliError::new(Exit::Refused, format!("console: {e:#}")))
}

/// Forwards the agent's reports into the app each time they change.
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
        context: conn.context.clone(),
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
