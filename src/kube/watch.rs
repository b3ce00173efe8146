//! Watchers: one per resource kind and namespace, with kube-runtime's back-off. A 410, a
//! dropped connection or a restarted API server makes the watcher relist on its own; the
//! header shows `reconnecting` until every watcher is healthy again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::domain::labels;
use crate::model::{Conn, DeploymentRow, EventRow, Part, PodRow, Update};

/// Initial lists in flight at once (see `spawn_one`).
const CONCURRENT_LISTS: usize = 4;

/// The running watchers; dropping it stops them.
pub struct WatchSet {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for WatchSet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Start watching pods, deployments and events in each namespace.
pub fn spawn_watchers(
    client: Client,
    cluster: &str,
    namespaces: &[String],
    tx: mpsc::Sender<Update>,
) -> WatchSet {
    let health = Health::new(tx.clone());
    let mut tasks = vec![spawn_probe(client.clone(), health.clone())];
    for ns in namespaces {
        // Smaller pages than kube's 500: a page of pods is held whole while it decodes.
        let group_selector = watcher::Config::default()
            .labels(labels::GROUP)
            .page_size(100);
        tasks.push(spawn_one::<Pod, PodRow>(
            Api::namespaced(client.clone(), ns),
            group_selector.clone(),
            Kind::Pods,
            cluster,
            ns,
            tx.clone(),
            health.clone(),
        ));
        tasks.push(spawn_one::<Deployment, DeploymentRow>(
            Api::namespaced(client.clone(), ns),
            group_selector,
            Kind::Deployments,
            cluster,
            ns,
            tx.clone(),
            health.clone(),
        ));
        tasks.push(spawn_one::<Event, EventRow>(
            Api::namespaced(client.clone(), ns),
            watcher::Config::default().page_size(100),
            Kind::Events,
            cluster,
            ns,
            tx.clone(),
            health.clone(),
        ));
    }
    WatchSet { tasks }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Pods,
    Deployments,
    Events,
}

/// How a watched object becomes an update.
trait Row: Sized + Send + 'static {
    fn listed(cluster: String, namespace: String, rows: Vec<Self>) -> Update;
    fn applied(cluster: String, row: Self) -> Update;
    fn deleted(cluster: String, row: Self) -> Update;
}

impl Row for PodRow {
    fn listed(cluster: String, namespace: String, rows: Vec<Self>) -> Update {
        Update::PodsListed {
            cluster,
            namespace,
            rows,
        }
    }
    fn applied(cluster: String, row: Self) -> Update {
        Update::PodApplied { cluster, row }
    }
    fn deleted(cluster: String, row: Self) -> Update {
        Update::PodDeleted {
            cluster,
            namespace: row.namespace,
            name: row.name,
        }
    }
}

impl Row for DeploymentRow {
    fn listed(cluster: String, namespace: String, rows: Vec<Self>) -> Update {
        Update::DeploymentsListed {
            cluster,
            namespace,
            rows,
        }
    }
    fn applied(cluster: String, row: Self) -> Update {
        Update::DeploymentApplied { cluster, row }
    }
    fn deleted(cluster: String, row: Self) -> Update {
        Update::DeploymentDeleted {
            cluster,
            namespace: row.namespace,
            name: row.name,
        }
    }
}

impl Row for EventRow {
    fn listed(cluster: String, namespace: String, rows: Vec<Self>) -> Update {
        Update::EventsListed {
            cluster,
            namespace,
            rows,
        }
    }
    fn applied(cluster: String, row: Self) -> Update {
        Update::EventApplied { cluster, row }
    }
    fn deleted(cluster: String, row: Self) -> Update {
        Update::EventDeleted {
            cluster,
            namespace: row.namespace,
            uid: row.uid,
        }
    }
}

fn spawn_one<K, R>(
    api: Api<K>,
    config: watcher::Config,
    kind: Kind,
    cluster: &str,
    namespace: &str,
    tx: mpsc::Sender<Update>,
    health: Health,
) -> JoinHandle<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    R: Row + for<'a> From<&'a K>,
{
    let cluster = cluster.to_string();
    let namespace = namespace.to_string();
    let id = health.register();
    tokio::spawn(async move {
        // The first lists of many namespaces at once would all hold their pages in memory
        // together; a few at a time keeps the peak down and costs little time.
        let mut list_permit = health.lists.clone().acquire_owned().await.ok();
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        // Objects of a relist, sent as one update when the list is complete so the view
        // never shows half a namespace.
        let mut listing: Option<Vec<R>> = None;
        while let Some(item) = stream.next().await {
            let update = match item {
                // History expired: the watcher relists by itself. Routine, not an outage.
                Err(watcher::Error::WatchError(s)) if s.code == 410 => {
                    tracing::debug!(?kind, %namespace, "watch expired (410); relisting");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(?kind, %namespace, error = %e, "watch failed; retrying");
                    let failure = Failure {
                        text: one_line(&e.to_string()),
                        transport: is_transport(&e),
                    };
                    health.set(id, Some(failure)).await;
                    continue;
                }
                Ok(WatchEvent::Init) => {
                    listing = Some(Vec::new());
                    None
                }
                Ok(WatchEvent::InitApply(obj)) => {
                    listing.get_or_insert_with(Vec::new).push(R::from(&obj));
                    None
                }
                Ok(WatchEvent::InitDone) => {
                    list_permit.take();
                    let rows = listing.take().unwrap_or_default();
                    tracing::debug!(?kind, %namespace, n = rows.len(), "listed");
                    Some(R::listed(cluster.clone(), namespace.clone(), rows))
                }
                Ok(WatchEvent::Apply(obj)) => Some(R::applied(cluster.clone(), R::from(&obj))),
                Ok(WatchEvent::Delete(obj)) => Some(R::deleted(cluster.clone(), R::from(&obj))),
            };
            health.set(id, None).await;
            if let Some(u) = update
                && tx.send(u).await.is_err()
            {
                return; // the console is gone
            }
        }
    })
}

/// A failure to reach the API server at all, as opposed to an answer from it (403, 410…).
fn is_transport(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => !matches!(k, kube::Error::Api(_)),
        watcher::Error::WatchError(_) | watcher::Error::NoResourceVersion => false,
    }
}

/// A watcher that re-establishes its watch after an outage reports nothing until an
/// object changes, so "reconnecting" would stay up on a quiet namespace. While transport
/// failures are recorded, ask the API server for its version once a second; an answer
/// clears them (the watchers' own retries are then connecting to a live server).
fn spawn_probe(client: Client, health: Health) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if health.has_transport_failures() && client.apiserver_version().await.is_ok() {
                health.clear_transport_failures().await;
            }
        }
    })
}

fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect()
}

/// Folds the state of every watcher into the one cluster state the header shows.
#[derive(Clone)]
struct Health {
    inner: Arc<Mutex<HealthInner>>,
    tx: mpsc::Sender<Update>,
    /// Initial lists allowed at once.
    lists: Arc<tokio::sync::Semaphore>,
}

struct HealthInner {
    next: usize,
    failing: HashMap<usize, Failure>,
    shown: Option<Conn>,
}

#[derive(Clone)]
struct Failure {
    text: String,
    transport: bool,
}

impl Health {
    fn new(tx: mpsc::Sender<Update>) -> Self {
        Health {
            inner: Arc::new(Mutex::new(HealthInner {
                next: 0,
                failing: HashMap::new(),
                shown: None,
            })),
            tx,
            lists: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_LISTS)),
        }
    }

    fn register(&self) -> usize {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.next += 1;
        g.next
    }

    fn has_transport_failures(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failing
            .values()
            .any(|f| f.transport)
    }

    async fn clear_transport_failures(&self) {
        let changed = {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.failing.retain(|_, f| !f.transport);
            g.publish()
        };
        self.send(changed).await;
    }

    async fn set(&self, id: usize, failure: Option<Failure>) {
        let changed = {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            match failure {
                Some(f) => {
                    g.failing.insert(id, f);
                }
                None => {
                    g.failing.remove(&id);
                }
            }
            g.publish()
        };
        self.send(changed).await;
    }

    async fn send(&self, changed: Option<Conn>) {
        if let Some(state) = changed {
            let _ = self
                .tx
                .send(Update::Connection {
                    part: Part::Cluster,
                    state,
                })
                .await;
        }
    }
}

impl HealthInner {
    /// The state to show, if it differs from what is shown.
    fn publish(&mut self) -> Option<Conn> {
        let state = match self.failing.values().next() {
            Some(f) => Conn::Reconnecting(f.text.clone()),
            None => Conn::Connected,
        };
        if self.shown.as_ref() != Some(&state) {
            self.shown = Some(state.clone());
            Some(state)
        } else {
            None
        }
    }
}
