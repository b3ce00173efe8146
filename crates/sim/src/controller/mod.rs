//! The controller manager: Deployment, ReplicaSet, Job and CronJob controllers plus
//! garbage collection, driven by the store's change stream through a work queue of dirty
//! keys.

mod cronjob;
mod deployment;
mod job;
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
    jobs: BTreeSet<ObjectKey>,
    cronjobs: BTreeSet<ObjectKey>,
    /// CronJobs to look at again at their next scheduled minute.
    schedules: TimerQueue<ObjectKey>,
    clock: cronjob::SimClock,
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
            jobs: BTreeSet::new(),
            cronjobs: BTreeSet::new(),
            schedules: TimerQueue::default(),
            clock: cronjob::SimClock {
                origin: jiff::Timestamp::now(),
                scale: time_scale,
            },
            deadlines: TimerQueue::default(),
            pending_deadlines: HashSet::new(),
        }
    }

    pub async fn run(mut self, mut changes: broadcast::Receiver<Arc<Change>>) {
        self.resync();
        loop {
            self.drain_queue();
            let deadline = match (self.deadlines.deadline(), self.schedules.deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
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
                    while let Some(key) = self.schedules.pop_due() {
                        self.cronjobs.insert(key);
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
        let jobs = self.store.list(Kind::Job, None).0;
        let cronjobs = self.store.list(Kind::CronJob, None).0;
        let owners: HashSet<&str> = deployments
            .iter()
            .chain(&replicasets)
            .chain(&jobs)
            .chain(&cronjobs)
            .map(|o| uid_of(o))
            .collect();
        for (kind, owner_kind) in [
            (Kind::ReplicaSet, "Deployment"),
            (Kind::Pod, "ReplicaSet"),
            (Kind::Job, "CronJob"),
            (Kind::Pod, "Job"),
        ] {
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
        self.jobs.extend(jobs.iter().map(|j| ObjectKey::of(j)));
        self.cronjobs
            .extend(cronjobs.iter().map(|c| ObjectKey::of(c)));
    }

    fn drain_queue(&mut self) {
        // ReplicaSets first: their status is what a Deployment's sync reads.
        while let Some(key) = self.replicasets.pop_first() {
            replicaset::sync(&self.store, &self.events, &key);
        }
        while let Some(key) = self.jobs.pop_first() {
            job::sync(&self.store, &self.events, &key);
        }
        while let Some(key) = self.cronjobs.pop_first() {
            // Every sync says when the next run is due; earlier wake-ups are harmless.
            if let Some(after) = cronjob::sync(&self.store, &self.events, &key, self.clock) {
                self.schedules.push(after, key);
            }
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
                let ns = str_at(obj, "/metadata/namespace");
                if let Some(owner) = owner_name(obj, "ReplicaSet") {
                    self.replicasets.insert(ObjectKey::new(ns, owner));
                }
                if let Some(owner) = owner_name(obj, "Job") {
                    self.jobs.insert(ObjectKey::new(ns, owner));
                }
            }
            Kind::Job => {
                if c.op == Op::Deleted {
                    self.collect_garbage(obj, Kind::Pod);
                } else {
                    self.jobs.insert(ObjectKey::of(obj));
                }
                if let Some(owner) = owner_name(obj, "CronJob") {
                    self.cronjobs
                        .insert(ObjectKey::new(str_at(obj, "/metadata/namespace"), owner));
                }
            }
            Kind::CronJob => {
                if c.op == Op::Deleted {
                    self.collect_garbage(obj, Kind::Job);
                } else {
                    self.cronjobs.insert(ObjectKey::of(obj));
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
