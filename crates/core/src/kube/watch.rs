//! Watchers: one per resource kind and namespace, with kube-runtime's back-off. A 410, a
//! dropped connection or a restarted API server makes the watcher relist on its own; the
//! header shows `reconnecting` until every watcher is healthy again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::domain::labels;
use crate::model::slim::{SlimDeployment, SlimEvent, SlimPod};
use crate::model::{Conn, DeploymentRow, EventRow, Part, PodRow, RouterRow, Update};

/// Initial lists in flight at once (see `spawn_one`): every namespace's deployments and
/// pods of a dozen namespaces in one go, so a far API server costs a few round trips, not
/// one per list; bounded, because each list holds a page while it decodes.
const CONCURRENT_LISTS: usize = 16;

/// Pods per page of a pod list: each page is a round trip; a page is held whole while it
/// decodes (kube's default is 500).
const POD_PAGE: u32 = 250;

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

/// Start watching pods, deployments, events and router objects in each namespace.
pub fn spawn_watchers(
    client: Client,
    cluster: &str,
    namespaces: &[String],
    tx: mpsc::Sender<Update>,
) -> WatchSet {
    spawn_watchers_with(client, cluster, namespaces, &RouterKinds::default(), tx)
}

/// [`spawn_watchers`] with what discovery already found on this server: the supervisor
/// keeps `kinds` for its connection, so restarting the watchers asks nothing again.
///
/// Every list is a round trip per page, and on a far API server those add up; so the lists
/// that make the groups list go first, all at once: deployments (one page each), then pods;
/// events and routers after; and discovery is asked once per router kind, not once per
/// namespace.
pub fn spawn_watchers_with(
    client: Client,
    cluster: &str,
    namespaces: &[String],
    kinds: &RouterKinds,
    tx: mpsc::Sender<Update>,
) -> WatchSet {
    let health = Health::new(tx.clone(), cluster);
    let mut tasks = vec![spawn_probe(client.clone(), health.clone())];
    let group_selector = watcher::Config::default().labels(labels::GROUP);
    for ns in namespaces {
        tasks.push(spawn_one::<SlimDeployment, DeploymentRow>(
            Api::namespaced(client.clone(), ns),
            group_selector.clone().page_size(100),
            "Deployment",
            cluster,
            ns,
            tx.clone(),
            health.clone(),
        ));
    }
    for ns in namespaces {
        tasks.push(spawn_one::<SlimPod, PodRow>(
            Api::namespaced(client.clone(), ns),
            group_selector.clone().page_size(POD_PAGE),
            "Pod",
            cluster,
            ns,
            tx.clone(),
            health.clone(),
        ));
    }
    for ns in namespaces {
        tasks.push(spawn_one::<SlimEvent, EventRow>(
            Api::namespaced(client.clone(), ns),
            watcher::Config::default().page_size(100),
            "Event",
            cluster,
            ns,
            tx.clone(),
            health.clone(),
        ));
    }
    for router in ROUTER_KINDS {
        tasks.push(spawn_router_watches(
            client.clone(),
            router,
            kinds.clone(),
            cluster,
            namespaces,
            tx.clone(),
            health.clone(),
        ));
    }
    WatchSet { tasks }
}

/// Router kinds discovery found served on one API server (kinds it does not serve are
/// asked again next time: a CRD may be installed meanwhile).
#[derive(Clone, Default)]
pub struct RouterKinds(Arc<Mutex<HashMap<GroupVersionKind, ApiResource>>>);

impl RouterKinds {
    async fn resolve(&self, client: &Client, gvk: &GroupVersionKind) -> Option<ApiResource> {
        if let Some(ar) = self.lock().get(gvk) {
            return Some(ar.clone());
        }
        let (ar, _) = kube::discovery::pinned_kind(client, gvk).await.ok()?;
        self.lock().insert(gvk.clone(), ar.clone());
        Some(ar)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupVersionKind, ApiResource>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How a watched object becomes an update. `tag` is the watcher's kind, for rows that
/// several watchers share (the router kinds).
trait Row: Sized + Send + 'static {
    type Object;
    /// A list longer than this is sent in parts of this many rows as it comes, not held
    /// whole until it completes (see [`Row::more`]).
    const PART: usize = usize::MAX;
    fn of(tag: &'static str, obj: &Self::Object) -> Self;
    fn listed(cluster: String, namespace: String, tag: &'static str, rows: Vec<Self>) -> Update;
    /// The next part of a list that [`Row::listed`] began (for a kind with a [`Row::PART`]).
    fn more(cluster: String, namespace: String, tag: &'static str, rows: Vec<Self>) -> Update {
        Self::listed(cluster, namespace, tag, rows)
    }
    fn applied(cluster: String, row: Self) -> Update;
    fn deleted(cluster: String, row: Self) -> Update;
}

impl Row for PodRow {
    type Object = SlimPod;
    fn of(_: &'static str, obj: &SlimPod) -> Self {
        Self::from(obj)
    }
    fn listed(cluster: String, namespace: String, _: &'static str, rows: Vec<Self>) -> Update {
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
    type Object = SlimDeployment;
    fn of(_: &'static str, obj: &SlimDeployment) -> Self {
        Self::from(obj)
    }
    fn listed(cluster: String, namespace: String, _: &'static str, rows: Vec<Self>) -> Update {
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
    type Object = SlimEvent;
    /// A namespace's events can number thousands (the estate keeps at most
    /// `EVENTS_PER_GROUP` of a group): every namespace's whole list at once, as full rows,
    /// was most of the console's peak memory while it loaded. Events need no
    /// all-at-once view, so they go in parts of two pages.
    const PART: usize = 200;
    fn of(_: &'static str, obj: &SlimEvent) -> Self {
        Self::from(obj)
    }
    fn listed(cluster: String, namespace: String, _: &'static str, rows: Vec<Self>) -> Update {
        Update::EventsListed {
            cluster,
            namespace,
            rows,
        }
    }
    fn more(cluster: String, namespace: String, _: &'static str, rows: Vec<Self>) -> Update {
        Update::EventsMore {
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

impl Row for RouterRow {
    type Object = DynamicObject;
    fn of(tag: &'static str, obj: &DynamicObject) -> Self {
        RouterRow::of(tag, obj)
    }
    fn listed(cluster: String, namespace: String, tag: &'static str, rows: Vec<Self>) -> Update {
        Update::RoutersListed {
            cluster,
            namespace,
            kind: tag.to_string(),
            rows,
        }
    }
    fn applied(cluster: String, row: Self) -> Update {
        Update::RouterApplied { cluster, row }
    }
    fn deleted(cluster: String, row: Self) -> Update {
        Update::RouterDeleted { cluster, row }
    }
}

// The kinds a router's weights live in (the engine's, from `domain`). A cluster without
// the kind's CRD (no Istio, no Gateway API) just has no watcher for it.
use crate::domain::group::ROUTER_KINDS;

/// Watches one router kind in every namespace (flightdeck's objects, by their group
/// label), once discovery says the cluster serves it.
fn spawn_router_watches(
    client: Client,
    (api_version, kind): (&'static str, &'static str),
    kinds: RouterKinds,
    cluster: &str,
    namespaces: &[String],
    tx: mpsc::Sender<Update>,
    health: Health,
) -> JoinHandle<()> {
    let cluster = cluster.to_string();
    let namespaces = namespaces.to_vec();
    tokio::spawn(async move {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let Some(ar) = kinds.resolve(&client, &gvk).await else {
            tracing::debug!(%kind, "not served here; no router watch");
            return;
        };
        let config = watcher::Config::default().labels(labels::GROUP);
        // Aborting this task drops the handles' guards, which stops the watches.
        let watches: Vec<AbortOnDrop> = namespaces
            .iter()
            .map(|ns| {
                let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
                AbortOnDrop(spawn_one::<DynamicObject, RouterRow>(
                    api,
                    config.clone(),
                    kind,
                    &cluster,
                    ns,
                    tx.clone(),
                    health.clone(),
                ))
            })
            .collect();
        for mut w in watches {
            let _ = (&mut w.0).await;
        }
    })
}

/// A list's rows as an update: the list itself, or the next part of one `begun` already.
fn list_part<R: Row>(
    begun: bool,
    cluster: &str,
    namespace: &str,
    tag: &'static str,
    rows: Vec<R>,
) -> Update {
    if begun {
        R::more(cluster.to_string(), namespace.to_string(), tag, rows)
    } else {
        R::listed(cluster.to_string(), namespace.to_string(), tag, rows)
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_one<K, R>(
    api: Api<K>,
    config: watcher::Config,
    tag: &'static str,
    cluster: &str,
    namespace: &str,
    tx: mpsc::Sender<Update>,
    health: Health,
) -> JoinHandle<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    R: Row<Object = K>,
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
        // never shows half a namespace (or in parts, for a kind with a `Row::PART`).
        let mut listing: Option<Vec<R>> = None;
        // A part of the current list has gone: the rest are `Row::more`.
        let mut begun = false;
        while let Some(item) = stream.next().await {
            let update = match item {
                // History expired: the watcher relists by itself. Routine, not an outage.
                Err(watcher::Error::WatchError(s)) if s.code == 410 => {
                    tracing::debug!(kind = tag, %namespace, "watch expired (410); relisting");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(kind = tag, %namespace, error = %e, "watch failed; retrying");
                    let failure = Failure {
                        text: one_line(&e.to_string()),
                        transport: is_transport(&e),
                    };
                    health.set(id, Some(failure)).await;
                    continue;
                }
                Ok(WatchEvent::Init) => {
                    listing = Some(Vec::new());
                    begun = false;
                    None
                }
                Ok(WatchEvent::InitApply(obj)) => {
                    let rows = listing.get_or_insert_with(Vec::new);
                    rows.push(R::of(tag, &obj));
                    (rows.len() >= R::PART).then(|| {
                        let rows = std::mem::take(rows);
                        let part = list_part::<R>(begun, &cluster, &namespace, tag, rows);
                        begun = true;
                        part
                    })
                }
                Ok(WatchEvent::InitDone) => {
                    list_permit.take();
                    let rows = listing.take().unwrap_or_default();
                    tracing::debug!(kind = tag, %namespace, n = rows.len(), "listed");
                    let part = list_part::<R>(begun, &cluster, &namespace, tag, rows);
                    begun = false;
                    Some(part)
                }
                Ok(WatchEvent::Apply(obj)) => Some(R::applied(cluster.clone(), R::of(tag, &obj))),
                Ok(WatchEvent::Delete(obj)) => Some(R::deleted(cluster.clone(), R::of(tag, &obj))),
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

/// Folds the state of every watcher of one cluster into the state the header shows for it.
#[derive(Clone)]
struct Health {
    cluster: Arc<str>,
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
    fn new(tx: mpsc::Sender<Update>, cluster: &str) -> Self {
        Health {
            cluster: cluster.into(),
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
                    part: Part::Cluster(self.cluster.to_string()),
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
