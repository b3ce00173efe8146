//! The controller manager: Deployment and ReplicaSet controllers plus garbage collection,
//! driven by the store's change stream through a work queue of dirty keys.

mod deployment;
mod replicaset;
mod status;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use super::events::EventRecorder;
use super::objects;
use super::resource::{Kind, ObjectKey, str_at, uid_of};
use super::store::{Change, Op, Store};
use super::timer::{TimerQueue, sleep_until};

pub struct Controllers {
    store: Arc<Store>,
    events: Arc<EventRecorder>,
    time_scale: f64,
    deployments: BTreeSet<ObjectKey>,
    replicasets: BTreeSet<ObjectKey>,
    /// Deployments to look at again when their progress deadline may have passed.
    deadlines: TimerQueue<ObjectKey>,
    pending_deadlines: HashSet<ObjectKey>,
}

impl Controllers {
    pub fn new(store: Arc<Store>, events: Arc<EventRecorder>, time_scale: f64) -> Self {
        Controllers {
            store,
            events,
            time_scale,
            deployments: BTreeSet::new(),
            replicasets: BTreeSet::new(),
            deadlines: TimerQueue::default(),
            pending_deadlines: HashSet::new(),
        }
    }

    pub async fn run(mut self, mut changes: broadcast::Receiver<Arc<Change>>) {
        self.resync();
        loop {
            self.drain_queue();
            let deadline = self.deadlines.deadline();
            tokio::select! {
                msg = changes.recv() => match msg {
                    Ok(c) => self.on_change(&c),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync(),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = sleep_until(deadline) => {
                    while let Some(key) = self.deadlines.pop_due() {
                        self.pending_deadlines.remove(&key);
                        self.deployments.insert(key);
                    }
                }
            }
            // Take everything already waiting, so a burst of pod changes syncs each
            // ReplicaSet once.
            loop {
                match changes.try_recv() {
                    Ok(c) => self.on_change(&c),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => self.resync(),
                    Err(_) => break,
                }
            }
        }
    }

    /// After missing changes: sync everything, and collect what lost its owner meanwhile.
    fn resync(&mut self) {
        let deployments = self.store.list(Kind::Deployment, None).0;
        let replicasets = self.store.list(Kind::ReplicaSet, None).0;
        let owners: HashSet<&str> = deployments
            .iter()
            .chain(&replicasets)
            .map(|o| uid_of(o))
            .collect();
        for (kind, owner_kind) in [(Kind::ReplicaSet, "Deployment"), (Kind::Pod, "ReplicaSet")] {
            for child in self.store.list(kind, None).0 {
                if owner_name(&child, owner_kind).is_some()
                    && super::resource::controller_uid(&child).is_some_and(|u| !owners.contains(u))
                {
                    // Someone else may have deleted it first; that is fine.
                    let _ = objects::delete(&self.store, kind, &ObjectKey::of(&child), None, None);
                }
            }
        }
        self.deployments
            .extend(deployments.iter().map(|d| ObjectKey::of(d)));
        self.replicasets
            .extend(replicasets.iter().map(|rs| ObjectKey::of(rs)));
    }

    fn drain_queue(&mut self) {
        // ReplicaSets first: their status is what a Deployment's sync reads.
        while let Some(key) = self.replicasets.pop_first() {
            replicaset::sync(&self.store, &self.events, &key);
        }
        while let Some(key) = self.deployments.pop_first() {
            let again = deployment::sync(&self.store, &self.events, &key, self.time_scale);
            if let Some(after) = again
                && self.pending_deadlines.insert(key.clone())
            {
                self.deadlines.push(after, key);
            }
        }
    }

    fn on_change(&mut self, c: &Change) {
        let obj = &c.object;
        match c.kind {
            Kind::Deployment => {
                if c.op == Op::Deleted {
                    self.collect_garbage(obj, Kind::ReplicaSet);
                } else {
                    self.deployments.insert(ObjectKey::of(obj));
                }
            }
            Kind::ReplicaSet => {
                if c.op == Op::Deleted {
                    self.collect_garbage(obj, Kind::Pod);
                } else {
                    self.replicasets.insert(ObjectKey::of(obj));
                }
                if let Some(owner) = owner_name(obj, "Deployment") {
                    self.deployments
                        .insert(ObjectKey::new(str_at(obj, "/metadata/namespace"), owner));
                }
            }
            Kind::Pod => {
                if let Some(owner) = owner_name(obj, "ReplicaSet") {
                    self.replicasets
                        .insert(ObjectKey::new(str_at(obj, "/metadata/namespace"), owner));
                }
            }
            _ => {}
        }
    }

    /// Background propagation: what the deleted owner controlled goes too.
    fn collect_garbage(&self, owner: &Value, kind: Kind) {
        for child in self.store.owned_by(uid_of(owner), kind) {
            // Someone else may have deleted it first; that is fine.
            let _ = objects::delete(&self.store, kind, &ObjectKey::of(&child), None, None);
        }
    }
}

fn owner_name<'a>(obj: &'a Value, kind: &str) -> Option<&'a str> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("kind").and_then(Value::as_str) == Some(kind))?
        .get("name")?
        .as_str()
}
