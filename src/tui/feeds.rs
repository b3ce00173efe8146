//! Background tasks that feed the console: the store (snapshot, then watch; a resync or a
//! lost store means a fresh snapshot) and the action worker that runs release actions
//! as requests to the release controller. They only send [`Update`]s; the loop never waits on them.
//! Each runs under [`supervise`]: a task that panics is reported on screen and started
//! again, never silently dropped.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::app::history::HistoryAsk;
use super::run::ActRequest;
use crate::authz::policy::Policy;
use crate::controller::{Ask, Requester};
use crate::domain::{GroupKey, InstanceGroup, Release};
use crate::health::live::{LiveConfig, LiveTarget};
use crate::kube::ClusterConn;
use crate::model::history::{GroupHistory, HistoryRows};
use crate::model::sanitize::clean;
use crate::model::{Conn, Part, Update};
use crate::store::{AuditFilter, Change, Store};

/// Audit entries a console loads when it starts.
const AUDIT_BACKLOG: usize = 500;

tokio::task_local! {
    static SUPERVISED: &'static str;
}

/// The name of the supervised task running on this thread, if any: its panics are the
/// supervisor's to report (the console's panic hook leaves the terminal alone for them).
pub fn supervised_task() -> Option<&'static str> {
    SUPERVISED.try_with(|name| *name).ok()
}

/// Aborts the task it holds when dropped, so aborting a supervisor stops what it runs.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the task `make` builds. When it panics, the console is told
/// ([`Update::TaskFailed`]: "… failed: …; restarted") and a fresh one is started after a
/// short pause; when it returns, supervision ends. Aborting the returned handle stops both.
pub fn supervise<F, Fut>(
    name: &'static str,
    tx: mpsc::Sender<Update>,
    mut make: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(100);
        loop {
            let mut task = AbortOnDrop(tokio::spawn(SUPERVISED.scope(name, make())));
            let error = match (&mut task.0).await {
                Ok(()) => return,
                Err(e) if e.is_cancelled() => return,
                Err(e) => panic_text(e.into_panic()),
            };
            tracing::error!(task = name, %error, "console task failed; restarting it");
            let failed = Update::TaskFailed {
                task: name.to_string(),
                error: clean(&error),
            };
            if tx.send(failed).await.is_err() {
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    })
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked".to_string()
    }
}

/// Follow the store: groups, releases, policy and audit. `namespaces` gets the (cluster,
/// namespace) pairs in use, for the cluster watchers; `live` the groups with a canary in
/// flight, for the health sampler.
pub fn spawn_store_feed(
    store: Arc<dyn Store>,
    tx: mpsc::Sender<Update>,
    namespaces: watch::Sender<Vec<(String, String)>>,
    live: watch::Sender<Vec<LiveTarget>>,
) -> JoinHandle<()> {
    let namespaces = Arc::new(namespaces);
    let live = Arc::new(live);
    let updates = tx.clone();
    supervise("store feed", tx, move || {
        store_feed(
            store.clone(),
            updates.clone(),
            namespaces.clone(),
            live.clone(),
        )
    })
}

/// Samples the health of every live canary (`targets`) with this console's credentials;
/// `open` is the group on screen, sampled more often.
pub fn spawn_health_sampler(
    cluster: ClusterConn,
    cfg: LiveConfig,
    targets: watch::Receiver<Vec<LiveTarget>>,
    open: watch::Receiver<Option<GroupKey>>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    let updates = tx.clone();
    supervise("health sampler", tx, move || {
        crate::health::live::run(
            cluster.clone(),
            cfg.clone(),
            targets.clone(),
            open.clone(),
            updates.clone(),
        )
    })
}

async fn store_feed(
    store: Arc<dyn Store>,
    tx: mpsc::Sender<Update>,
    namespaces: Arc<watch::Sender<Vec<(String, String)>>>,
    live: Arc<watch::Sender<Vec<LiveTarget>>>,
) {
    {
        let mut backoff = Duration::from_millis(200);
        loop {
            let snapshot = match store.snapshot().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "store snapshot failed");
                    let _ = tx
                        .send(Update::Connection {
                            part: Part::Store,
                            state: Conn::Reconnecting(e.to_string()),
                        })
                        .await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(200);
            let mut groups = snapshot.groups;
            publish_namespaces(&namespaces, &groups);
            let releases: Vec<Release> = snapshot.releases.into_iter().map(|v| v.value).collect();
            let mut by_group: HashMap<GroupKey, Release> = releases
                .iter()
                .map(|r| (r.group.clone(), r.clone()))
                .collect();
            publish_live(&live, &groups, &by_group);
            let _ = tx
                .send(Update::StoreReloaded {
                    groups: groups.clone(),
                    releases,
                })
                .await;
            let unreadable = snapshot.unreadable.into_iter().map(|u| u.key).collect();
            let _ = tx.send(Update::StoreUnreadable(unreadable)).await;
            if let Some(p) = snapshot
                .policy
                .and_then(|v| serde_json::from_value::<Policy>(v).ok())
            {
                let _ = tx.send(Update::PolicyLoaded(p)).await;
            }
            let filter = AuditFilter {
                limit: Some(AUDIT_BACKLOG),
                ..Default::default()
            };
            let audit = match store.list_audit(&filter).await {
                Ok(entries) => Update::AuditLoaded(entries),
                Err(e) => Update::AuditUnreadable(clean(&e.to_string())),
            };
            let _ = tx.send(audit).await;
            let _ = tx
                .send(Update::Connection {
                    part: Part::Store,
                    state: Conn::Connected,
                })
                .await;
            let mut stream = match store.watch(snapshot.revision + 1).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx
                        .send(Update::Connection {
                            part: Part::Store,
                            state: Conn::Reconnecting(e.to_string()),
                        })
                        .await;
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            };
            while let Some(ev) = stream.next().await {
                let update = match ev.change {
                    Change::GroupPut(g) => {
                        groups.retain(|o| o.key() != g.key());
                        groups.push(g.clone());
                        publish_namespaces(&namespaces, &groups);
                        publish_live(&live, &groups, &by_group);
                        Update::GroupApplied(g)
                    }
                    Change::GroupDeleted(k) => {
                        groups.retain(|o| o.key() != k);
                        publish_namespaces(&namespaces, &groups);
                        publish_live(&live, &groups, &by_group);
                        Update::GroupDeleted(k)
                    }
                    Change::ReleasePut(v) => {
                        by_group.insert(v.value.group.clone(), v.value.clone());
                        publish_live(&live, &groups, &by_group);
                        Update::ReleaseApplied(v.value)
                    }
                    Change::PolicyPut(v) => match serde_json::from_value::<Policy>(v) {
                        Ok(p) => Update::PolicyLoaded(p),
                        Err(e) => {
                            tracing::warn!(error = %e, "unreadable policy in the store");
                            continue;
                        }
                    },
                    Change::PolicyDeleted => Update::PolicyLoaded(Policy::new(Vec::new())),
                    Change::AuditAppended(e) => Update::AuditAppended(e),
                    Change::Unreadable(u) => Update::KeyUnreadable(u.key),
                    Change::Resync => break,
                    _ => continue,
                };
                if tx.send(update).await.is_err() {
                    return;
                }
            }
            tracing::info!("store watch ended; reloading");
        }
    }
}

/// Reads the audit page before each seq the console asks for (paging back in the audit
/// view), one at a time.
pub fn spawn_audit_pager(
    store: Arc<dyn Store>,
    asks: mpsc::UnboundedReceiver<u64>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    let asks = Arc::new(tokio::sync::Mutex::new(asks));
    let updates = tx.clone();
    supervise("audit pager", tx, move || {
        audit_pager(store.clone(), asks.clone(), updates.clone())
    })
}

async fn audit_pager(
    store: Arc<dyn Store>,
    asks: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<u64>>>,
    tx: mpsc::Sender<Update>,
) {
    let mut asks = asks.lock().await;
    while let Some(before) = asks.recv().await {
        let filter = AuditFilter {
            limit: Some(AUDIT_BACKLOG),
            before: Some(before),
            ..Default::default()
        };
        let page = match store.list_audit(&filter).await {
            Ok(entries) => Update::AuditOlder(entries),
            Err(e) => Update::AuditUnreadable(clean(&e.to_string())),
        };
        if tx.send(page).await.is_err() {
            return;
        }
    }
}

/// Reads what the console's history tab asks for ([`HistoryAsk`]: its group, each time
/// it opens or the group's audit log grows) and sends it back as rows. Asks made while a
/// read runs are folded into the latest, and the history tab closing (`None`) asks nothing.
pub fn spawn_history_loader(
    store: Arc<dyn Store>,
    asks: watch::Receiver<Option<HistoryAsk>>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    let updates = tx.clone();
    supervise("history loader", tx, move || {
        history_loader(store.clone(), asks.clone(), updates.clone())
    })
}

async fn history_loader(
    store: Arc<dyn Store>,
    mut asks: watch::Receiver<Option<HistoryAsk>>,
    tx: mpsc::Sender<Update>,
) {
    // A restarted loader answers what is asked now.
    asks.mark_changed();
    while asks.changed().await.is_ok() {
        let Some(ask) = asks.borrow_and_update().clone() else {
            continue;
        };
        let rows = match GroupHistory::read(store.as_ref(), &ask.key).await {
            // Lines are built (and cleaned) here, off the render loop.
            Ok(h) => Ok(Arc::new(HistoryRows::from(h))),
            Err(e) => Err(clean(&e.to_string())),
        };
        let loaded = Update::HistoryLoaded {
            key: ask.key,
            generation: ask.generation,
            rows,
        };
        if tx.send(loaded).await.is_err() {
            return;
        }
    }
}

fn publish_namespaces(tx: &watch::Sender<Vec<(String, String)>>, groups: &[InstanceGroup]) {
    let mut ns: Vec<(String, String)> = groups
        .iter()
        .map(|g| (g.spec.cluster.clone(), g.spec.namespace.clone()))
        .collect();
    ns.sort();
    ns.dedup();
    tx.send_if_modified(|cur| {
        if *cur != ns {
            *cur = ns;
            true
        } else {
            false
        }
    });
}

fn publish_live(
    tx: &watch::Sender<Vec<LiveTarget>>,
    groups: &[InstanceGroup],
    releases: &HashMap<GroupKey, Release>,
) {
    let now = LiveTarget::in_flight(groups, releases);
    tx.send_if_modified(|cur| {
        let changed = *cur != now;
        if changed {
            *cur = now;
        }
        changed
    });
}

/// Sends the console's release actions to the controller one at a time, in the order
/// asked, and reports each answer. The queue outlives a worker that fails: the next one
/// takes the actions asked after.
pub fn spawn_action_worker(
    requester: Requester,
    rx: mpsc::UnboundedReceiver<ActRequest>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let updates = tx.clone();
    supervise("action worker", tx, move || {
        action_worker(requester.clone(), rx.clone(), updates.clone())
    })
}

async fn action_worker(
    requester: Requester,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<ActRequest>>>,
    tx: mpsc::Sender<Update>,
) {
    let mut rx = rx.lock().await;
    {
        while let Some(req) = rx.recv().await {
            let (key, action, reason) = match req {
                ActRequest::Act {
                    key,
                    action,
                    reason,
                } => (key, action, reason),
                // The console already said why; the controller only records it.
                ActRequest::Refused { key, verb, reason } => {
                    let ask = Ask::Refused {
                        group: key,
                        verb,
                        reason,
                    };
                    if let Err(e) = requester.ask(ask).await {
                        tracing::warn!(error = %e, "a refusal was not recorded");
                    }
                    continue;
                }
            };
            let req_key = key.clone();
            let action_name = action.name().to_string();
            let asked = requester
                .ask(Ask::Act {
                    group: key,
                    action,
                    reason,
                })
                .await;
            let result = match asked {
                Ok(a) if a.exit == 0 => Ok(clean(&a.message)),
                Ok(a) => Err(clean(&a.message)),
                Err(e) => Err(clean(&e.to_string())),
            };
            if tx
                .send(Update::ActionFinished {
                    key: req_key,
                    action: action_name,
                    result,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_is_reported_and_restarted_and_keeps_its_queue() {
        let (tx, mut updates) = mpsc::channel(16);
        let (work_tx, work_rx) = mpsc::unbounded_channel::<u32>();
        let (done_tx, mut done) = mpsc::unbounded_channel::<u32>();
        let work = Arc::new(tokio::sync::Mutex::new(work_rx));
        let handle = supervise("test worker", tx, move || {
            let (work, done_tx) = (work.clone(), done_tx.clone());
            async move {
                let mut rx = work.lock().await;
                while let Some(n) = rx.recv().await {
                    assert_ne!(n, 13, "unlucky {n}");
                    let _ = done_tx.send(n);
                }
            }
        });
        for n in [1, 13, 2] {
            work_tx.send(n).unwrap();
        }
        assert_eq!(done.recv().await, Some(1));
        match updates.recv().await {
            Some(Update::TaskFailed { task, error }) => {
                assert_eq!(task, "test worker");
                assert!(error.contains("unlucky 13"), "{error}");
            }
            other => panic!("{other:?}"),
        }
        // The next worker takes what was asked after.
        assert_eq!(done.recv().await, Some(2));
        assert_eq!(supervised_task(), None);
        handle.abort();
    }
}
