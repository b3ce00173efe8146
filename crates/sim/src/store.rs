//! The object store: one global resourceVersion like etcd, a bounded history of changes for
//! watches, and the indexes the controllers need (objects by namespace, by owner).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::resource::{Kind, ObjectKey, str_at, uid_of};
use super::time;

/// A stored object with its JSON text, made once on first use and shared by every list
/// and watch that sends this version (what keeps a list of 6,000 pods cheap).
#[derive(Debug)]
pub struct Stored {
    value: Value,
    json: OnceLock<String>,
}

pub type Obj = Arc<Stored>;

impl Stored {
    pub fn new(value: Value) -> Self {
        Stored {
            value,
            json: OnceLock::new(),
        }
    }

    pub fn json(&self) -> &str {
        self.json.get_or_init(|| self.value.to_string())
    }

    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl std::ops::Deref for Stored {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.value
    }
}

/// How many changes watches may resume from before they get 410 Gone.
pub const HISTORY_WINDOW: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Added,
    Modified,
    Deleted,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Added => "ADDED",
            Op::Modified => "MODIFIED",
            Op::Deleted => "DELETED",
        }
    }
}

/// One committed change. `previous` lets a filtered watch turn a MODIFIED into ADDED or
/// DELETED when the object starts or stops matching its selector, like the real cache.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: Kind,
    pub op: Op,
    pub object: Obj,
    pub previous: Option<Obj>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} \"{name}\" already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error(
        "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { plural: &'static str, name: String },
    #[error("{0}")]
    Invalid(String),
    #[error("too old resource version: {requested} ({oldest})")]
    Expired { requested: u64, oldest: u64 },
}

pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Change>>,
}

struct Inner {
    rv: u64,
    objects: HashMap<Kind, BTreeMap<ObjectKey, Obj>>,
    history: VecDeque<Arc<Change>>,
    /// Watches may start from any resourceVersion >= floor.
    floor: u64,
    owners: HashMap<String, BTreeSet<(Kind, ObjectKey)>>,
    uid_seq: u64,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(8192);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: Kind::ALL.iter().map(|k| (*k, BTreeMap::new())).collect(),
                history: VecDeque::new(),
                floor: 1,
                owners: HashMap::new(),
                uid_seq: 0,
            }),
            tx,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every mutation is
        // computed before it is stored), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    pub fn get(&self, kind: Kind, key: &ObjectKey) -> Option<Obj> {
        self.lock().objects.get(&kind)?.get(key).cloned()
    }

    /// Objects of a kind, in one namespace or all, sorted by namespace and name, with the
    /// resourceVersion the list is consistent with.
    pub fn list(&self, kind: Kind, namespace: Option<&str>) -> (Vec<Obj>, u64) {
        let inner = self.lock();
        let Some(map) = inner.objects.get(&kind) else {
            return (Vec::new(), inner.rv);
        };
        let items = match namespace {
            Some(ns) if kind.namespaced() => {
                let start = ObjectKey::new(ns, "");
                map.range(start..)
                    .take_while(|(k, _)| k.namespace == ns)
                    .map(|(_, v)| v.clone())
                    .collect()
            }
            _ => map.values().cloned().collect(),
        };
        (items, inner.rv)
    }

    /// Every kind that has (or had) objects, custom ones included.
    pub fn kinds(&self) -> Vec<Kind> {
        self.lock().objects.keys().copied().collect()
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.lock().objects.get(&kind).map_or(0, BTreeMap::len)
    }

    /// Objects whose ownerReferences name `uid`.
    pub fn owned_by(&self, uid: &str, kind: Kind) -> Vec<Obj> {
        let inner = self.lock();
        let Some(keys) = inner.owners.get(uid) else {
            return Vec::new();
        };
        keys.iter()
            .filter(|(k, _)| *k == kind)
            .filter_map(|(k, key)| inner.objects.get(k)?.get(key).cloned())
            .collect()
    }

    /// Changes after `rv` plus a receiver for later ones, taken atomically so nothing falls
    /// between them.
    #[allow(clippy::type_complexity)]
    pub fn watch_from(
        &self,
        rv: u64,
    ) -> Result<(Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>), StoreError> {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        Ok((inner.changes_after(rv)?, rx))
    }

    /// Changes after `rv` from the history (used when a watcher lagged behind the channel).
    pub fn changes_after(&self, rv: u64) -> Result<Vec<Arc<Change>>, StoreError> {
        self.lock().changes_after(rv)
    }

    /// Forget all history: a watch from any earlier resourceVersion now gets 410 Gone.
    pub fn expire_history(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.floor = inner.rv;
    }

    pub fn create(&self, kind: Kind, mut obj: Value) -> Result<Obj, StoreError> {
        let mut inner = self.lock();
        let key = ObjectKey::of(&obj);
        if key.name.is_empty() {
            return Err(StoreError::Invalid(
                "metadata.name: Required value: name or generateName is required".into(),
            ));
        }
        if inner
            .objects
            .get(&kind)
            .is_some_and(|m| m.contains_key(&key))
        {
            return Err(StoreError::AlreadyExists {
                kind: kind.plural(),
                name: key.name,
            });
        }
        inner.uid_seq += 1;
        let rv = inner.rv + 1;
        let meta = meta_mut(&mut obj)?;
        if str_at(&Value::Object(meta.clone()), "/uid").is_empty() {
            meta.insert("uid".into(), json!(new_uid(inner.uid_seq)));
        }
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("creationTimestamp".into(), json!(time::now()));
        meta.insert("generation".into(), json!(1));
        meta.remove("deletionTimestamp");
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.name());
        let obj = Arc::new(Stored::new(obj));
        inner.index_owners(kind, &key, None, Some(&obj));
        inner
            .objects
            .entry(kind)
            .or_default()
            .insert(key, obj.clone());
        self.commit(&mut inner, kind, Op::Added, obj.clone(), None);
        Ok(obj)
    }

    /// Change an object through `f`. A change that leaves the object as it was commits
    /// nothing and keeps its resourceVersion (what makes server-side apply idempotent).
    pub fn update<F>(&self, kind: Kind, key: &ObjectKey, f: F) -> Result<Obj, StoreError>
    where
        F: FnOnce(&mut Value) -> Result<(), StoreError>,
    {
        let mut inner = self.lock();
        let Some(current) = inner.objects.get(&kind).and_then(|m| m.get(key)).cloned() else {
            return Err(StoreError::NotFound {
                kind: kind.plural(),
                name: key.name.clone(),
            });
        };
        let mut next = current.value().clone();
        f(&mut next)?;
        if !next.get("metadata").is_some_and(Value::is_object) {
            return Err(StoreError::Invalid("metadata must be an object".into()));
        }
        // Identity and bookkeeping fields are the server's, whatever the caller sent.
        for field in ["uid", "creationTimestamp", "name", "namespace"] {
            match current["metadata"].get(field) {
                Some(v) => next["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = next["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        next["metadata"]["generation"] = current["metadata"]["generation"].clone();
        next["apiVersion"] = json!(kind.api_version());
        next["kind"] = json!(kind.name());
        if next == *current.value() {
            return Ok(current);
        }
        let rv = inner.rv + 1;
        if next.get("spec") != current.get("spec") {
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            next["metadata"]["generation"] = json!(generation);
        }
        next["metadata"]["resourceVersion"] = json!(rv.to_string());
        let next = Arc::new(Stored::new(next));
        inner.index_owners(kind, key, Some(&current), Some(&next));
        inner
            .objects
            .entry(kind)
            .or_default()
            .insert(key.clone(), next.clone());
        self.commit(&mut inner, kind, Op::Modified, next.clone(), Some(current));
        Ok(next)
    }

    /// Remove an object; `uid`, when given, must match (a delete precondition).
    pub fn delete(
        &self,
        kind: Kind,
        key: &ObjectKey,
        uid: Option<&str>,
    ) -> Result<Obj, StoreError> {
        let mut inner = self.lock();
        let not_found = || StoreError::NotFound {
            kind: kind.plural(),
            name: key.name.clone(),
        };
        let current = inner
            .objects
            .get(&kind)
            .and_then(|m| m.get(key))
            .cloned()
            .ok_or_else(not_found)?;
        if uid.is_some_and(|u| u != uid_of(&current)) {
            return Err(not_found());
        }
        inner.objects.entry(kind).or_default().remove(key);
        inner.index_owners(kind, key, Some(&current), None);
        let mut gone = current.value().clone();
        gone["metadata"]["resourceVersion"] = json!((inner.rv + 1).to_string());
        let gone = Arc::new(Stored::new(gone));
        self.commit(&mut inner, kind, Op::Deleted, gone.clone(), Some(current));
        Ok(gone)
    }

    fn commit(&self, inner: &mut Inner, kind: Kind, op: Op, object: Obj, previous: Option<Obj>) {
        inner.rv += 1;
        let change = Arc::new(Change {
            rv: inner.rv,
            kind,
            op,
            object,
            previous,
        });
        inner.history.push_back(change.clone());
        while inner.history.len() > HISTORY_WINDOW {
            if let Some(old) = inner.history.pop_front() {
                inner.floor = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(change);
    }
}

impl Inner {
    fn changes_after(&self, rv: u64) -> Result<Vec<Arc<Change>>, StoreError> {
        if rv < self.floor {
            return Err(StoreError::Expired {
                requested: rv,
                oldest: self.floor,
            });
        }
        // History holds consecutive resourceVersions, so the start is found by arithmetic.
        let first = self.history.front().map(|c| c.rv).unwrap_or(self.rv + 1);
        let skip = (rv + 1).saturating_sub(first) as usize;
        Ok(self.history.iter().skip(skip).cloned().collect())
    }

    fn index_owners(
        &mut self,
        kind: Kind,
        key: &ObjectKey,
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        for uid in old.into_iter().flat_map(owner_uids) {
            if let Some(set) = self.owners.get_mut(uid) {
                set.remove(&(kind, key.clone()));
                if set.is_empty() {
                    self.owners.remove(uid);
                }
            }
        }
        for uid in new.into_iter().flat_map(owner_uids) {
            self.owners
                .entry(uid.to_string())
                .or_default()
                .insert((kind, key.clone()));
        }
    }
}

fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
}

fn meta_mut(obj: &mut Value) -> Result<&mut serde_json::Map<String, Value>, StoreError> {
    if !obj.is_object() {
        return Err(StoreError::Invalid("object must be a JSON object".into()));
    }
    if obj.get("metadata").is_none_or(Value::is_null) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .ok_or_else(|| StoreError::Invalid("metadata must be an object".into()))
}

/// A uid shaped like a real (version 4) one; the sequence number keeps it unique even if
/// the random bits ever repeated.
fn new_uid(seq: u64) -> String {
    let (a, b): (u64, u64) = (rand::random(), rand::random());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        a & 0xfff,
        0x8000 | (b & 0x3fff),
        ((b >> 16) ^ seq) & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}, "spec": {"containers": []}})
    }

    #[test]
    fn resource_versions_increase_and_noop_updates_keep_them() {
        let s = Store::new();
        let a = s.create(Kind::Pod, pod("a", "p1")).unwrap();
        let rv1 = str_at(&a, "/metadata/resourceVersion").to_string();
        let same = s
            .update(Kind::Pod, &ObjectKey::new("a", "p1"), |_| Ok(()))
            .unwrap();
        assert_eq!(str_at(&same, "/metadata/resourceVersion"), rv1);
        let b = s
            .update(Kind::Pod, &ObjectKey::new("a", "p1"), |o| {
                o["spec"]["nodeName"] = json!("n");
                Ok(())
            })
            .unwrap();
        assert!(
            str_at(&b, "/metadata/resourceVersion")
                .parse::<u64>()
                .unwrap()
                > rv1.parse().unwrap()
        );
        assert_eq!(b["metadata"]["generation"], json!(2));
    }

    #[test]
    fn list_by_namespace_uses_the_ordered_index() {
        let s = Store::new();
        for (ns, n) in [("a", "x"), ("b", "y"), ("a", "z"), ("c", "w")] {
            s.create(Kind::Pod, pod(ns, n)).unwrap();
        }
        let (items, _) = s.list(Kind::Pod, Some("a"));
        let names: Vec<_> = items.iter().map(|o| str_at(o, "/metadata/name")).collect();
        assert_eq!(names, ["x", "z"]);
    }

    #[test]
    fn expired_history_refuses_old_watches() {
        let s = Store::new();
        let rv = s.current_rv();
        s.create(Kind::Pod, pod("a", "p")).unwrap();
        assert_eq!(s.changes_after(rv).unwrap().len(), 1);
        s.expire_history();
        assert!(matches!(
            s.changes_after(rv),
            Err(StoreError::Expired { .. })
        ));
        assert!(s.changes_after(s.current_rv()).unwrap().is_empty());
    }

    #[test]
    fn owner_index_follows_owner_references() {
        let s = Store::new();
        let mut p = pod("a", "p");
        p["metadata"]["ownerReferences"] = json!([{"uid": "u1", "controller": true}]);
        s.create(Kind::Pod, p).unwrap();
        assert_eq!(s.owned_by("u1", Kind::Pod).len(), 1);
        s.delete(Kind::Pod, &ObjectKey::new("a", "p"), None)
            .unwrap();
        assert!(s.owned_by("u1", Kind::Pod).is_empty());
    }
}
