//! Background tasks that feed the console: the store (snapshot, then watch; a resync or a
//! lost store means a fresh snapshot) and the action worker that runs release actions
//! as requests to the release controller. They only send [`Update`]s; the loop never waits on them.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::run::ActRequest;
use crate::authz::policy::Policy;
use crate::controller::{Ask, Requester};
use crate::model::sanitize::clean;
use crate::model::{Conn, Part, Update};
use crate::store::{AuditFilter, Change, Store};

/// Audit entries a console loads when it starts.
const AUDIT_BACKLOG: usize = 500;

/// Follow the store: groups, releases, policy and audit. `namespaces` gets the (cluster,
/// namespace) pairs in use, for the cluster watchers.
pub fn spawn_store_feed(
    store: Arc<dyn Store>,
    tx: mpsc::Sender<Update>,
    namespaces: watch::Sender<Vec<(String, String)>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
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
            let releases = snapshot.releases.into_iter().map(|v| v.value).collect();
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
            if let Ok(entries) = store.list_audit(&filter).await {
                let _ = tx.send(Update::AuditLoaded(entries)).await;
            }
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
                        Update::GroupApplied(g)
                    }
                    Change::GroupDeleted(k) => {
                        groups.retain(|o| o.key() != k);
                        publish_namespaces(&namespaces, &groups);
                        Update::GroupDeleted(k)
                    }
                    Change::ReleasePut(v) => Update::ReleaseApplied(v.value),
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
    })
}

fn publish_namespaces(
    tx: &watch::Sender<Vec<(String, String)>>,
    groups: &[crate::domain::InstanceGroup],
) {
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

/// Sends the console's release actions to the controller one at a time, in the order
/// asked, and reports each answer.
pub fn spawn_action_worker(
    requester: Requester,
    mut rx: mpsc::UnboundedReceiver<ActRequest>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(req) = rx.recv().await {
            let action = req.action.name().to_string();
            let asked = requester
                .ask(Ask::Act {
                    group: req.key.clone(),
                    action: req.action,
                    reason: req.reason,
                })
                .await;
            let result = match asked {
                Ok(a) if a.exit == 0 => Ok(clean(&a.message)),
                Ok(a) => Err(clean(&a.message)),
                Err(e) => Err(clean(&e.to_string())),
            };
            if tx
                .send(Update::ActionFinished {
                    key: req.key,
                    action,
                    result,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    })
}
