//! The console's picture of the estate: groups and releases from the store, and per
//! namespace the pods, deployments and events the watchers report, indexed by group so
//! that a frame over hundreds of groups and thousands of pods stays cheap.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Conn, DeploymentRow, EventKind, EventRow, Part, PodRow, Update};
use crate::domain::group::Workload;
use crate::domain::release::RouterState;
use crate::domain::{GroupKey, InstanceGroup, Phase, Release, Track};
use crate::engine::objects::router_state;
use crate::engine::traffic;
use crate::store::layout;

/// Events kept per namespace; the oldest go first. Enough for hours of a busy namespace.
const EVENTS_PER_NAMESPACE: usize = 20_000;
/// Events kept per group, the oldest going first: several screens of the group view's
/// events pane, and a noisy group cannot push a quiet one's events out of its namespace.
const EVENTS_PER_GROUP: usize = 500;
/// Owner index entries per namespace before those of gone objects are let go (see
/// `Namespace::trim_owners`).
const OWNERS_PER_NAMESPACE: usize = 20_000;
/// Distinct event reasons and object kinds shared per namespace; past this, copies.
const WORDS_PER_NAMESPACE: usize = 512;
/// A Warning event counts towards a group's warning mark for this long.
const RECENT_WARNING: SignedDuration = SignedDuration::from_secs(600);

#[derive(Debug, Clone)]
pub struct GroupEntry {
    pub group: InstanceGroup,
    pub release: Option<Release>,
}

/// One line of the groups list.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    pub key: GroupKey,
    pub app: String,
    pub phase: Phase,
    pub stable_tag: Option<String>,
    pub canary_tag: Option<String>,
    pub weight: u8,
    pub ready: u32,
    pub desired: u32,
    pub restarts: u32,
    pub created: Option<Timestamp>,
    /// Pods in a back-off or error state, or running but not ready.
    pub warning_pods: u32,
    /// Warning events seen in the last ten minutes.
    pub warning_events: u32,
    /// The router holds another weight than the release asks (edited by hand, or an
    /// abort that did not reach 100 % stable).
    pub router_drift: bool,
    /// A blue-green or rolling release in flight: its stage in a word (`preview`,
    /// `switched`, `replacing`, `rolling`, `paused`), shown where a canary's weight is.
    pub stage: Option<String>,
}

impl GroupSummary {
    pub fn has_warnings(&self) -> bool {
        self.warning_pods > 0
            || self.warning_events > 0
            || self.phase == Phase::Degraded
            || self.router_drift
    }
}

/// What a cron group's pods say of its runs ([`Estate::cron_runs`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CronRuns {
    /// Jobs with a pod at work, by name, with when their first pod was made.
    pub running: Vec<(String, Option<Timestamp>)>,
    pub last_start: Option<Timestamp>,
}

/// Events about the same object with the same reason and message, shown once with a count.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldedEvent {
    pub kind: EventKind,
    pub object_kind: String,
    pub object_name: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
}

/// An event as a namespace keeps it: only what the events pane shows. Events are most of
/// what the console holds (a pod's life is half a dozen of them), so no namespace or
/// uid again, reasons and kinds shared, text without spare capacity.
#[derive(Debug)]
struct StoredEvent {
    kind: EventKind,
    object_kind: Arc<str>,
    object_name: Box<str>,
    reason: Arc<str>,
    message: Box<str>,
    count: u32,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct Namespace {
    /// B-trees for the two biggest maps: they grow a node at a time, where a hash table
    /// doubles and holds its old and new tables at once (the events' tables were 20 MB of
    /// a 20,000-pod console's peak under heaptrack).
    pods: BTreeMap<String, PodRow>,
    pods_by_group: HashMap<String, HashSet<String>>,
    deployments: HashMap<String, DeploymentRow>,
    /// By uid; the uid's one allocation is shared with the group and orphan sets.
    events: BTreeMap<Arc<str>, StoredEvent>,
    events_by_group: HashMap<String, HashSet<Arc<str>>>,
    /// Events about objects not (yet) known to belong to a group, by object name.
    orphan_events: HashMap<String, HashSet<Arc<str>>>,
    /// Reasons and object kinds, shared by the events that carry them.
    words: HashSet<Arc<str>>,
    /// Object name (pod, replicaset, deployment) → group. Kept after the object goes, so
    /// late events about it still land in the right group.
    owners: HashMap<String, String>,
    /// Entries the owner index kept at its last trim: the next trim waits for twice that.
    owners_kept: usize,
    /// Router objects by (kind, name), and the kinds whose watch has listed (a kind not
    /// listed is unknown here, not absent).
    routers: HashMap<(String, String), serde_json::Value>,
    router_kinds: HashSet<String>,
    /// The pod watch has listed this namespace at least once.
    pods_listed: bool,
}

#[derive(Debug, Default)]
pub struct Estate {
    groups: BTreeMap<GroupKey, GroupEntry>,
    /// cluster → namespace → what the watchers reported there.
    namespaces: HashMap<String, HashMap<String, Namespace>>,
    connections: HashMap<Part, Conn>,
    /// Store keys whose values could not be decoded (shown as a count in the header).
    unreadable: BTreeSet<String>,
}

impl Estate {
    pub fn new() -> Self {
        Self::default()
    }

    /// What a group's router object holds now, as the watch sees it, against what its
    /// release asks; `None` for the `replicas` router or while the watch has not listed.
    pub fn router_live(&self, entry: &GroupEntry, now: Timestamp) -> Option<RouterState> {
        let g = &entry.group;
        let router = g.spec.strategy.traffic.router;
        let watched = traffic::watched(router, g)?;
        let ns = self
            .namespaces
            .get(&g.spec.cluster)?
            .get(&g.spec.namespace)?;
        if !ns.router_kinds.contains(watched.kind) {
            return None;
        }
        let object = ns
            .routers
            .get(&(watched.kind.to_string(), watched.name.clone()));
        let (weight, routes) = entry.release.as_ref().map_or((0, 0), traffic::expected);
        let held = traffic::held(router, g, object);
        Some(router_state(router, weight, routes, held, now))
    }

    pub fn apply(&mut self, update: Update) {
        match update {
            Update::StoreReloaded { groups, releases } => {
                let mut releases: HashMap<GroupKey, Release> =
                    releases.into_iter().map(|r| (r.group.clone(), r)).collect();
                self.groups = groups
                    .into_iter()
                    .map(|g| {
                        let key = g.key();
                        let release = releases.remove(&key);
                        (key, GroupEntry { group: g, release })
                    })
                    .collect();
            }
            Update::GroupApplied(g) => {
                let key = g.key();
                self.unreadable.remove(&layout::group(&key));
                let release = self.groups.remove(&key).and_then(|e| e.release);
                self.groups.insert(key, GroupEntry { group: g, release });
            }
            Update::GroupDeleted(key) => {
                self.unreadable.remove(&layout::group(&key));
                self.unreadable.remove(&layout::release(&key));
                self.groups.remove(&key);
            }
            Update::ReleaseApplied(r) => {
                self.unreadable.remove(&layout::release(&r.group));
                if let Some(e) = self.groups.get_mut(&r.group) {
                    e.release = Some(r);
                }
            }
            Update::PodsListed {
                cluster,
                namespace,
                rows,
            } => {
                let ns = self.ns(cluster, namespace);
                ns.pods_listed = true;
                ns.pods.clear();
                ns.pods_by_group.clear();
                for row in rows {
                    ns.put_pod(row);
                }
            }
            Update::PodApplied { cluster, row } => {
                self.ns(cluster, row.namespace.clone()).put_pod(row);
            }
            Update::PodDeleted {
                cluster,
                namespace,
                name,
            } => {
                let ns = self.ns(cluster, namespace);
                if let Some(row) = ns.pods.remove(&name)
                    && let Some(g) = row.group
                    && let Some(set) = ns.pods_by_group.get_mut(&g)
                {
                    set.remove(&name);
                }
            }
            Update::DeploymentsListed {
                cluster,
                namespace,
                rows,
            } => {
                let ns = self.ns(cluster, namespace);
                ns.deployments.clear();
                for row in rows {
                    ns.put_deployment(row);
                }
            }
            Update::DeploymentApplied { cluster, row } => {
                self.ns(cluster, row.namespace.clone()).put_deployment(row);
            }
            Update::DeploymentDeleted {
                cluster,
                namespace,
                name,
            } => {
                self.ns(cluster, namespace).deployments.remove(&name);
            }
            Update::EventsListed {
                cluster,
                namespace,
                rows,
            } => {
                let ns = self.ns(cluster, namespace);
                ns.events.clear();
                ns.events_by_group.clear();
                ns.orphan_events.clear();
                for row in rows {
                    ns.put_event(row);
                }
                ns.trim_events();
            }
            Update::EventsMore {
                cluster,
                namespace,
                rows,
            } => {
                let ns = self.ns(cluster, namespace);
                for row in rows {
                    ns.put_event(row);
                }
                ns.trim_events();
            }
            Update::EventApplied { cluster, row } => {
                let ns = self.ns(cluster, row.namespace.clone());
                ns.put_event(row);
                ns.trim_events();
            }
            Update::EventDeleted {
                cluster,
                namespace,
                uid,
            } => {
                self.ns(cluster, namespace).remove_event(&uid);
            }
            Update::RoutersListed {
                cluster,
                namespace,
                kind,
                rows,
            } => {
                let ns = self.ns(cluster, namespace);
                ns.routers.retain(|(k, _), _| *k != kind);
                for row in rows {
                    ns.routers.insert((row.kind, row.name), row.object);
                }
                ns.router_kinds.insert(kind);
            }
            Update::RouterApplied { cluster, row } => {
                let ns = self.ns(cluster, row.namespace.clone());
                ns.routers.insert((row.kind, row.name), row.object);
            }
            Update::RouterDeleted { cluster, row } => {
                let ns = self.ns(cluster, row.namespace.clone());
                ns.routers.remove(&(row.kind, row.name));
            }
            Update::Connection { part, state } => {
                self.connections.insert(part, state);
            }
            Update::StoreUnreadable(keys) => {
                self.unreadable = keys.into_iter().collect();
            }
            Update::KeyUnreadable(key) => {
                self.unreadable.insert(key);
            }
            // Not about the estate: the console keeps these itself.
            Update::PolicyLoaded(_)
            | Update::AuditLoaded(_)
            | Update::AuditAppended(_)
            | Update::AuditOlder(_)
            | Update::AuditUnreadable(_)
            | Update::HistoryLoaded { .. }
            | Update::Instances { .. }
            | Update::ActionFinished { .. }
            | Update::TaskFailed { .. }
            | Update::HealthReports(_)
            | Update::LiveHealth(_) => {}
        }
    }

    fn ns(&mut self, cluster: String, namespace: String) -> &mut Namespace {
        self.namespaces
            .entry(cluster)
            .or_default()
            .entry(namespace)
            .or_default()
    }

    fn ns_of(&self, key: &GroupKey) -> Option<&Namespace> {
        self.namespaces.get(&key.cluster)?.get(&key.namespace)
    }

    pub fn connection(&self, part: &Part) -> Conn {
        self.connections.get(part).cloned().unwrap_or_default()
    }

    /// The state of one cluster's watchers.
    pub fn cluster_connection(&self, cluster: &str) -> Conn {
        self.connection(&Part::Cluster(cluster.to_string()))
    }

    /// Every cluster that holds a group, in name order (the header's and the list's).
    pub fn clusters(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.groups.keys().map(|k| k.cluster.as_str()).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How many store keys could not be decoded (left out of what the console shows).
    pub fn unreadable_count(&self) -> usize {
        self.unreadable.len()
    }

    /// A key that was unreadable now holds a readable value (or is gone).
    pub fn key_readable(&mut self, key: &str) {
        self.unreadable.remove(key);
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    pub fn groups(&self) -> impl Iterator<Item = &GroupEntry> {
        self.groups.values()
    }

    pub fn group(&self, key: &GroupKey) -> Option<&GroupEntry> {
        self.groups.get(key)
    }

    /// Find a group by name alone (`:group NAME`); the first match in key order.
    pub fn find_group(&self, name: &str) -> Option<&GroupKey> {
        self.groups.keys().find(|k| k.group == name)
    }

    /// The (cluster, namespace) pairs the groups live in: what the watchers must cover.
    pub fn namespaces_in_use(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .groups
            .keys()
            .map(|k| (k.cluster.clone(), k.namespace.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        v.dedup();
        v
    }

    /// Whether the watchers have reported anything for a group's namespace yet.
    pub fn has_cluster_data(&self, key: &GroupKey) -> bool {
        self.ns_of(key).is_some()
    }

    pub fn summary(&self, key: &GroupKey, now: Timestamp) -> Option<GroupSummary> {
        let entry = self.groups.get(key)?;
        let g = &entry.group;
        let ns = self.ns_of(key);
        let dep = |name: String| ns.and_then(|n| n.deployments.get(&name));
        let stable = dep(g.stable_deployment());
        let canary = dep(g.canary_deployment()).filter(|d| d.desired > 0 || d.ready > 0);
        let pods: Vec<&PodRow> = self.pods_unsorted(key).collect();
        let release = entry.release.as_ref();
        let warning_events = ns
            .and_then(|n| n.events_by_group.get(g.name()).map(|uids| (n, uids)))
            .map(|(n, uids)| {
                uids.iter()
                    .filter_map(|u| n.events.get(u))
                    .filter(|e| e.kind == EventKind::Warning)
                    .filter(|e| {
                        e.last_seen
                            .is_some_and(|t| now.duration_since(t) < RECENT_WARNING)
                    })
                    .count() as u32
            })
            .unwrap_or(0);
        let mut stable_tag = stable
            .and_then(|d| d.tag.clone())
            .or_else(|| g.tag().map(str::to_string));
        let mut canary_tag = canary.and_then(|d| d.tag.clone());
        // A rolling release's new version is on the one Deployment; the old one is only
        // known by its revision.
        if let Some(r) = release.filter(|r| r.phase.in_flight())
            && g.spec.strategy.kind() == crate::domain::group::StrategyKind::Rolling
        {
            canary_tag = stable_tag.take();
            stable_tag = Some(format!("r{}", r.stable_revision));
        }
        Some(GroupSummary {
            key: key.clone(),
            app: g.app().to_string(),
            phase: release.map(|r| r.phase).unwrap_or_default(),
            stable_tag,
            canary_tag,
            weight: release.map(|r| r.weight).unwrap_or(0),
            ready: pods.iter().filter(|p| p.is_ready()).count() as u32,
            desired: stable.map(|d| d.desired).unwrap_or(0)
                + canary.map(|d| d.desired).unwrap_or(0),
            restarts: pods.iter().map(|p| p.restarts).sum(),
            created: stable.and_then(|d| d.created),
            warning_pods: pods.iter().filter(|p| p.is_warning()).count() as u32,
            warning_events,
            router_drift: self.router_live(entry, now).is_some_and(|s| s.mismatch()),
            stage: release
                .and_then(|r| crate::engine::strategy::stage_words(g, r))
                .map(|(short, _)| short),
        })
    }

    /// Summaries of every group, in key order.
    pub fn summaries(&self, now: Timestamp) -> Vec<GroupSummary> {
        self.groups
            .keys()
            .filter_map(|k| self.summary(k, now))
            .collect()
    }

    /// Every group's stable Deployment has been seen (a cron group's, which has none: its
    /// namespace's pods, which tell its runs): the groups list shows real status for all
    /// of them (what the startup benchmark waits for).
    pub fn all_groups_have_status(&self) -> bool {
        self.groups.iter().all(|(k, e)| match e.group.spec.kind {
            Workload::Service => self.deployment(k, Track::Stable).is_some(),
            Workload::Cron => self.ns_of(k).is_some_and(|ns| ns.pods_listed),
        })
    }

    /// Some pod is known (what the startup benchmark calls the first data).
    pub fn has_pods(&self) -> bool {
        self.namespaces
            .values()
            .flat_map(|c| c.values())
            .any(|ns| !ns.pods.is_empty())
    }

    /// Every namespace the groups live in has had its pods listed.
    pub fn all_pods_listed(&self) -> bool {
        self.groups
            .keys()
            .all(|k| self.ns_of(k).is_some_and(|ns| ns.pods_listed))
    }

    /// A group's pods: stable first, then canary, by name.
    pub fn pods_of(&self, key: &GroupKey) -> Vec<&PodRow> {
        let mut pods: Vec<&PodRow> = self.pods_unsorted(key).collect();
        pods.sort_by(|a, b| {
            (a.track.unwrap_or(Track::Stable), &a.name)
                .cmp(&(b.track.unwrap_or(Track::Stable), &b.name))
        });
        pods
    }

    /// A cron group's runs as its pods show them: the Jobs with a pod still at work (and
    /// when the first started), and when the newest pod started.
    pub fn cron_runs(&self, key: &GroupKey) -> CronRuns {
        let mut running: BTreeMap<String, Option<Timestamp>> = BTreeMap::new();
        let mut last_start = None;
        for p in self.pods_unsorted(key) {
            last_start = last_start.max(p.created);
            let done = matches!(
                p.status.as_str(),
                "Completed" | "Error" | "Succeeded" | "Failed"
            );
            if let (false, Some(job)) = (done, &p.owner) {
                let at = running.entry(job.clone()).or_insert(p.created);
                *at = (*at).min(p.created).or(p.created);
            }
        }
        CronRuns {
            running: running.into_iter().collect(),
            last_start,
        }
    }

    fn pods_unsorted<'a>(&'a self, key: &GroupKey) -> impl Iterator<Item = &'a PodRow> + 'a {
        let ns = self.ns_of(key);
        let names = ns.and_then(|n| n.pods_by_group.get(&key.group));
        names
            .into_iter()
            .flatten()
            .filter_map(move |n| ns.and_then(|ns| ns.pods.get(n)))
    }

    pub fn deployment(&self, key: &GroupKey, track: Track) -> Option<&DeploymentRow> {
        let g = &self.groups.get(key)?.group;
        let name = match track {
            Track::Stable => g.stable_deployment(),
            Track::Canary => g.canary_deployment(),
        };
        self.ns_of(key)?.deployments.get(&name)
    }

    /// Events about a group's deployments, replicasets and pods: newest first, events
    /// with the same object, reason and message folded into one with the summed count.
    pub fn events_of(&self, key: &GroupKey) -> Vec<FoldedEvent> {
        let Some(ns) = self.ns_of(key) else {
            return Vec::new();
        };
        let Some(uids) = ns.events_by_group.get(&key.group) else {
            return Vec::new();
        };
        let mut folded: HashMap<(&str, &str, &str, &str), FoldedEvent> = HashMap::new();
        for e in uids.iter().filter_map(|u| ns.events.get(u)) {
            let k = (&*e.object_kind, &*e.object_name, &*e.reason, &*e.message);
            folded
                .entry(k)
                .and_modify(|f| {
                    f.count += e.count;
                    f.first_seen = f.first_seen.min(e.first_seen).or(e.first_seen);
                    f.last_seen = f.last_seen.max(e.last_seen);
                    if e.kind == EventKind::Warning {
                        f.kind = EventKind::Warning;
                    }
                })
                .or_insert_with(|| FoldedEvent {
                    kind: e.kind,
                    object_kind: e.object_kind.to_string(),
                    object_name: e.object_name.to_string(),
                    reason: e.reason.to_string(),
                    message: e.message.to_string(),
                    count: e.count,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                });
        }
        let mut out: Vec<FoldedEvent> = folded.into_values().collect();
        out.sort_by(|a, b| {
            b.last_seen
                .cmp(&a.last_seen)
                .then_with(|| a.object_name.cmp(&b.object_name))
        });
        out
    }
}

impl Namespace {
    fn put_pod(&mut self, row: PodRow) {
        if let Some(g) = row.group.clone() {
            self.pods_by_group
                .entry(g.clone())
                .or_default()
                .insert(row.name.clone());
            self.adopt(&row.name, &g);
            if let Some(owner) = &row.owner {
                self.adopt(owner, &g);
            }
        }
        if let Some(old) = self.pods.insert(row.name.clone(), row)
            && let Some(og) = old.group
            && self.pods.get(&old.name).and_then(|p| p.group.as_ref()) != Some(&og)
            && let Some(set) = self.pods_by_group.get_mut(&og)
        {
            set.remove(&old.name);
        }
    }

    fn put_deployment(&mut self, row: DeploymentRow) {
        if let Some(g) = row.group.clone() {
            self.adopt(&row.name, &g);
        }
        self.deployments.insert(row.name.clone(), row);
    }

    /// Record that `object` belongs to `group`, and move the events that were waiting for
    /// that knowledge.
    fn adopt(&mut self, object: &str, group: &str) {
        if self.owners.get(object).map(String::as_str) == Some(group) {
            return;
        }
        self.owners.insert(object.to_string(), group.to_string());
        if self.owners.len() > OWNERS_PER_NAMESPACE.max(2 * self.owners_kept) {
            self.trim_owners(object);
        }
        if let Some(uids) = self.orphan_events.remove(object) {
            let set = self.events_by_group.entry(group.to_string()).or_default();
            set.extend(uids);
            if set.len() > EVENTS_PER_GROUP {
                self.trim_group_events(group);
            }
        }
    }

    fn put_event(&mut self, row: EventRow) {
        let uid: Arc<str> = match self.events.get_key_value(row.uid.as_str()) {
            Some((known, _)) => known.clone(),
            None => row.uid.as_str().into(),
        };
        let group = self.owners.get(&row.object_name).cloned();
        match &group {
            Some(g) => {
                self.events_by_group
                    .entry(g.clone())
                    .or_default()
                    .insert(uid.clone());
            }
            None => {
                self.orphan_events
                    .entry(row.object_name.clone())
                    .or_default()
                    .insert(uid.clone());
            }
        }
        let stored = StoredEvent {
            kind: row.kind,
            object_kind: self.word(&row.object_kind),
            reason: self.word(&row.reason),
            object_name: row.object_name.into_boxed_str(),
            message: row.message.into_boxed_str(),
            count: row.count,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
        };
        self.events.insert(uid, stored);
        if let Some(g) = group
            && self.events_by_group.get(&g).map_or(0, HashSet::len) > EVENTS_PER_GROUP
        {
            self.trim_group_events(&g);
        }
    }

    /// Let a group's oldest events go, down to nine tenths of its cap (so the sort is not
    /// paid on every new event).
    fn trim_group_events(&mut self, group: &str) {
        let Some(uids) = self.events_by_group.get(group) else {
            return;
        };
        let mut by_age: Vec<(Option<Timestamp>, &Arc<str>)> = uids
            .iter()
            .filter_map(|u| Some((self.events.get(u)?.last_seen, u)))
            .collect();
        by_age.sort();
        let excess = uids.len().saturating_sub(EVENTS_PER_GROUP * 9 / 10);
        let gone: Vec<Arc<str>> = by_age
            .into_iter()
            .take(excess)
            .map(|(_, u)| u.clone())
            .collect();
        for uid in gone {
            self.remove_event(&uid);
        }
        // Uids left behind by an object that changed group count for nothing.
        let events = &self.events;
        if let Some(set) = self.events_by_group.get_mut(group) {
            set.retain(|u| events.contains_key(u));
        }
    }

    fn remove_event(&mut self, uid: &str) {
        let Some(row) = self.events.remove(uid) else {
            return;
        };
        if let Some(g) = self.owners.get(&*row.object_name)
            && let Some(set) = self.events_by_group.get_mut(g)
        {
            set.remove(uid);
        }
        if let Some(set) = self.orphan_events.get_mut(&*row.object_name) {
            set.remove(uid);
            if set.is_empty() {
                self.orphan_events.remove(&*row.object_name);
            }
        }
    }

    /// Let go of the owner entries of objects that are gone and that no kept event is
    /// about (`adopted` is being added now): a namespace whose pods come and go for weeks
    /// keeps an index the size of what it holds now, not of everything it ever saw.
    fn trim_owners(&mut self, adopted: &str) {
        let mut live: HashSet<&str> = HashSet::from([adopted]);
        for p in self.pods.values() {
            live.insert(&p.name);
            if let Some(o) = &p.owner {
                live.insert(o);
            }
        }
        live.extend(self.deployments.keys().map(String::as_str));
        live.extend(self.events.values().map(|e| &*e.object_name));
        let before = self.owners.len();
        self.owners
            .retain(|object, _| live.contains(object.as_str()));
        self.owners_kept = self.owners.len();
        tracing::debug!(before, kept = self.owners_kept, "owner index trimmed");
    }

    /// The shared copy of a reason or an object kind.
    fn word(&mut self, text: &str) -> Arc<str> {
        if let Some(w) = self.words.get(text) {
            return w.clone();
        }
        let w: Arc<str> = text.into();
        if self.words.len() < WORDS_PER_NAMESPACE {
            self.words.insert(w.clone());
        }
        w
    }

    fn trim_events(&mut self) {
        if self.events.len() <= EVENTS_PER_NAMESPACE {
            return;
        }
        let mut by_age: Vec<(Option<Timestamp>, Arc<str>)> = self
            .events
            .iter()
            .map(|(uid, e)| (e.last_seen, uid.clone()))
            .collect();
        by_age.sort();
        let excess = self.events.len() - EVENTS_PER_NAMESPACE * 9 / 10;
        for (_, uid) in by_age.into_iter().take(excess) {
            self.remove_event(&uid);
        }
    }
}

#[cfg(test)]
mod tests;
