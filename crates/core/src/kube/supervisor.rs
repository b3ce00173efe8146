//! Keeps one set of watchers running per cluster that holds a group in scope, each over
//! the namespaces its groups live in: a cluster's watchers start when its first group
//! appears and restart only when its own namespaces change, so one cluster that is down
//! or slow never holds up the others.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::ClusterConn;
use super::watch::{RouterKinds, spawn_watchers_with};
use crate::model::{Conn, Part, Update};

/// The client of every cluster the console reaches, by cluster name: what the log viewer
/// streams from. Filled by the supervisor as it connects.
#[derive(Clone, Default)]
pub struct Clients(Arc<Mutex<HashMap<String, kube::Client>>>);

impl Clients {
    pub fn get(&self, cluster: &str) -> Option<kube::Client> {
        self.lock().get(cluster).cloned()
    }

    fn insert(&self, cluster: &str, client: kube::Client) {
        self.lock().insert(cluster.to_string(), client);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, kube::Client>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One cluster's watchers, stopped when dropped.
struct Watching {
    namespaces: Vec<String>,
    task: JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `namespaces` holds the (cluster, namespace) pairs in use. Each cluster is reached
/// through the kubeconfig context of its name (`conn`'s kubeconfig); a cluster with no
/// such context shows as failed, with the reason.
pub fn spawn_supervisor(
    conn: ClusterConn,
    mut namespaces: watch::Receiver<Vec<(String, String)>>,
    clients: Clients,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: HashMap<String, Watching> = HashMap::new();
        // What discovery found on each server, kept across restarts of its watchers.
        let mut kinds: HashMap<String, RouterKinds> = HashMap::new();
        loop {
            let wanted = by_cluster(&namespaces.borrow_and_update());
            running.retain(|cluster, _| wanted.contains_key(cluster));
            for (cluster, ns) in wanted {
                if running.get(&cluster).is_some_and(|w| w.namespaces == ns) {
                    continue;
                }
                tracing::info!(%cluster, namespaces = ns.len(), "watching");
                let task = tokio::spawn(watch_cluster(
                    conn.clone(),
                    cluster.clone(),
                    ns.clone(),
                    kinds.entry(cluster.clone()).or_default().clone(),
                    clients.clone(),
                    tx.clone(),
                ));
                // Replacing the entry drops (stops) the cluster's old watchers.
                running.insert(
                    cluster,
                    Watching {
                        namespaces: ns,
                        task,
                    },
                );
            }
            if namespaces.changed().await.is_err() {
                return;
            }
        }
    })
}

/// The namespaces of each cluster, sorted, so that an unchanged set compares equal.
fn by_cluster(pairs: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (cluster, ns) in pairs {
        out.entry(cluster.clone()).or_default().push(ns.clone());
    }
    for ns in out.values_mut() {
        ns.sort_unstable();
        ns.dedup();
    }
    out
}

/// Connects to `cluster` and watches its namespaces until aborted.
async fn watch_cluster(
    base: ClusterConn,
    cluster: String,
    namespaces: Vec<String>,
    kinds: RouterKinds,
    clients: Clients,
    tx: mpsc::Sender<Update>,
) {
    let part = Part::Cluster(cluster.clone());
    let conn = match base.for_context(&cluster).await {
        Some(Ok(conn)) => conn,
        Some(Err(e)) => {
            let _ = tx
                .send(Update::Connection {
                    part,
                    state: Conn::Failed(e.to_string()),
                })
                .await;
            return;
        }
        None => {
            let _ = tx
                .send(Update::Connection {
                    part,
                    state: Conn::Failed(format!("no kubeconfig context named {cluster}")),
                })
                .await;
            return;
        }
    };
    clients.insert(&cluster, conn.client.clone());
    let _watchers = spawn_watchers_with(conn.client, &cluster, &namespaces, &kinds, tx);
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_grouped_per_cluster_in_a_stable_order() {
        let pairs = [
            ("prod", "shop"),
            ("test", "shop"),
            ("prod", "api"),
            ("prod", "shop"),
        ]
        .map(|(c, n)| (c.to_string(), n.to_string()));
        let got = by_cluster(&pairs);
        assert_eq!(got.keys().collect::<Vec<_>>(), ["prod", "test"]);
        assert_eq!(got["prod"], ["api", "shop"]);
        assert_eq!(got["test"], ["shop"]);
    }
}
