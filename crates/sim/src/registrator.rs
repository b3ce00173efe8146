//! The registrator beside the simulated kubelet (scenario `registration:`): what a
//! registrator sidecar does in a platform that registers its instances in etcd. A pod whose
//! containers are ready is put once under `<prefix>/<group>/<ip:port>` on a lease of its
//! own; the lease is kept alive while the pod lives and revoked when it terminates.
//!
//! It runs as its own task and talks to the registry only from there, so a registry that is
//! slow or down delays registrations, never the kubelet; failed calls are tried again on
//! the next tick.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use flightdeck_core::domain::{labels, registration};
use flightdeck_core::store::Registry;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::objects::is_terminating;
use crate::resource::{Kind, ObjectKey, str_at, uid_of};
use crate::scenario::{RegistrationSim, Scenario, image_tag};
use crate::store::{Change, Op, Store};

/// How often leases due for a keep-alive and failed calls are looked at.
const TICK: Duration = Duration::from_millis(200);
/// Longest wait for one registry call: a registry that does not answer is tried again
/// later rather than holding every other pod's registration.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One lease the registrator holds.
struct Lease {
    id: i64,
    key: String,
    ttl: Duration,
    next_keep_alive: Instant,
    /// The last keep-alive failed: said once, not on every tick.
    failing: bool,
}

enum Entry {
    /// Registered; the lease is kept alive while the pod lives.
    Live(Lease),
    /// The pod terminated and its registration was revoked (or left as a ghost, or
    /// lost): never registered again, though the pod object may linger.
    Done,
}

pub struct Registrator {
    store: Arc<Store>,
    registry: Arc<dyn Registry>,
    scenario: watch::Receiver<Arc<Scenario>>,
    pods: HashMap<String, Entry>,
    /// Pods to look at again on the next tick (a register that failed, a pod that was
    /// not ready yet when its change came is seen through its next change instead).
    retry: HashMap<String, ObjectKey>,
    /// Revokes that failed, by lease id, tried again on the next tick.
    revoke: HashSet<i64>,
    /// `ghosts: true`: leases of terminated pods, kept alive for ever.
    ghosts: Vec<Lease>,
}

impl Registrator {
    pub fn new(
        store: Arc<Store>,
        registry: Arc<dyn Registry>,
        scenario: watch::Receiver<Arc<Scenario>>,
    ) -> Self {
        Registrator {
            store,
            registry,
            scenario,
            pods: HashMap::new(),
            retry: HashMap::new(),
            revoke: HashSet::new(),
            ghosts: Vec::new(),
        }
    }

    pub async fn run(mut self, mut changes: broadcast::Receiver<Arc<Change>>) {
        self.resync().await;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = changes.recv() => match msg {
                    Ok(c) => self.on_change(&c).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync().await,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => self.tick().await,
            }
        }
    }

    fn config(&self) -> Option<RegistrationSim> {
        self.scenario.borrow().registration.clone()
    }

    /// After missing changes: look at every pod again, and end what belongs to pods gone
    /// meanwhile.
    async fn resync(&mut self) {
        let pods = self.store.list(Kind::Pod, None).0;
        let live: HashSet<String> = pods.iter().map(|p| uid_of(p).to_string()).collect();
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|uid| !live.contains(*uid))
            .cloned()
            .collect();
        for uid in gone {
            self.end(&uid).await;
            self.pods.remove(&uid);
        }
        for pod in &pods {
            self.observe(pod).await;
        }
    }

    async fn on_change(&mut self, c: &Change) {
        if c.kind != Kind::Pod {
            return;
        }
        if c.op == Op::Deleted {
            let uid = uid_of(&c.object).to_string();
            self.end(&uid).await;
            self.pods.remove(&uid);
            self.retry.remove(&uid);
        } else {
            self.observe(&c.object).await;
        }
    }

    async fn observe(&mut self, pod: &Value) {
        let uid = uid_of(pod).to_string();
        if is_terminating(pod) || matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed") {
            self.end(&uid).await;
            return;
        }
        if self.pods.contains_key(&uid) {
            return;
        }
        let Some((key, value)) = self.config().and_then(|cfg| registration(&cfg, pod)) else {
            self.retry.remove(&uid);
            return;
        };
        let ttl = Duration::from_secs(self.config().map_or(10, |c| c.ttl));
        match call(self.registry.register(&key, value, ttl)).await {
            Ok(id) => {
                self.retry.remove(&uid);
                self.pods.insert(
                    uid,
                    Entry::Live(Lease {
                        id,
                        key,
                        ttl,
                        next_keep_alive: Instant::now() + ttl / 3,
                        failing: false,
                    }),
                );
            }
            Err(e) => {
                if self.retry.insert(uid, ObjectKey::of(pod)).is_none() {
                    tracing::warn!(%key, registry = %self.registry.location(), error = %e,
                        "simulated registrator: cannot register; trying again");
                }
            }
        }
    }

    /// The pod terminated: its registration is revoked — or kept alive as a ghost.
    async fn end(&mut self, uid: &str) {
        self.retry.remove(uid);
        let Some(entry) = self.pods.get_mut(uid) else {
            return;
        };
        let Entry::Live(_) = entry else {
            return;
        };
        let Entry::Live(lease) = std::mem::replace(entry, Entry::Done) else {
            return;
        };
        if self.config().is_some_and(|c| c.ghosts) {
            self.ghosts.push(lease);
            return;
        }
        if let Err(e) = call(self.registry.revoke(lease.id)).await {
            tracing::warn!(key = %lease.key, error = %e,
                "simulated registrator: cannot revoke a lease; trying again");
            self.revoke.insert(lease.id);
        }
    }

    async fn tick(&mut self) {
        for (uid, key) in std::mem::take(&mut self.retry) {
            let Some(pod) = self.store.get(Kind::Pod, &key) else {
                continue;
            };
            if uid_of(&pod) == uid {
                // Back in before the call, so a second failure is not said again.
                self.retry.insert(uid, key);
                self.observe(&pod).await;
            }
        }
        for id in std::mem::take(&mut self.revoke) {
            if call(self.registry.revoke(id)).await.is_err() {
                self.revoke.insert(id);
            }
        }
        let now = Instant::now();
        let registry = self.registry.clone();
        let leases = self
            .pods
            .values_mut()
            .filter_map(|e| match e {
                Entry::Live(l) => Some(l),
                Entry::Done => None,
            })
            .chain(self.ghosts.iter_mut())
            .filter(|l| l.next_keep_alive <= now);
        let mut lost = Vec::new();
        for lease in leases {
            match call(registry.keep_alive(lease.id)).await {
                Ok(true) => {
                    lease.failing = false;
                    lease.next_keep_alive = Instant::now() + lease.ttl / 3;
                }
                Ok(false) => lost.push(lease.id),
                Err(e) => {
                    if !lease.failing {
                        tracing::warn!(key = %lease.key, error = %e,
                            "simulated registrator: cannot keep a lease alive; trying again");
                    }
                    lease.failing = true;
                }
            }
        }
        if !lost.is_empty() {
            // The lease ran out (the registry was away longer than its ttl): the key went
            // with it. A pod's value is written once, so it stays unregistered.
            for e in self.pods.values_mut() {
                if let Entry::Live(l) = e
                    && lost.contains(&l.id)
                {
                    tracing::warn!(key = %l.key, "simulated registrator: lease expired");
                    *e = Entry::Done;
                }
            }
            self.ghosts.retain(|l| !lost.contains(&l.id));
        }
    }
}

async fn call<T>(
    f: impl std::future::Future<Output = Result<T, flightdeck_core::store::StoreError>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer in {}s", CALL_TIMEOUT.as_secs())),
    }
}

/// The key and value `pod` registers with, when it should be registered now: a pod of a
/// covered group, with an IP, whose containers are all ready. Readiness gates do not count:
/// the registrator serves the instance as soon as it can answer, and a gate is for what
/// comes after that (a drained predecessor).
fn registration(cfg: &RegistrationSim, pod: &Value) -> Option<(String, Vec<u8>)> {
    let group = pod
        .pointer("/metadata/labels")
        .and_then(|l| l.get(labels::GROUP))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !cfg.covers(group) || group.contains('/') {
        return None;
    }
    let ip = str_at(pod, "/status/podIP");
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)?;
    if ip.is_empty() || statuses.is_empty() || !statuses.iter().all(|c| c["ready"] == true) {
        return None;
    }
    let first = pod.pointer("/spec/containers/0");
    let port = first
        .and_then(|c| c.pointer("/ports/0/containerPort"))
        .and_then(Value::as_u64)
        .filter(|p| (1..=65535).contains(p))
        .unwrap_or(8080);
    let version = first.map(|c| image_tag(str_at(c, "/image"))).unwrap_or("");
    let value = json!({
        "weight": 100,
        "metadata": {
            "pod": str_at(pod, "/metadata/name"),
            "node": str_at(pod, "/spec/nodeName"),
            "version": version,
        },
    });
    Some((
        format!(
            "{}/{group}/{}",
            cfg.prefix(),
            registration::address(ip, port as u16)
        ),
        value.to_string().into_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ready: bool) -> Value {
        json!({
            "metadata": {"name": "web-1", "labels": {labels::GROUP: "web"}},
            "spec": {"nodeName": "sim-node-1", "containers": [
                {"name": "app", "image": "reg/web:1.2.0", "ports": [{"containerPort": 9000}]}]},
            "status": {"podIP": "10.244.0.7", "containerStatuses": [{"ready": ready}]},
        })
    }

    #[test]
    fn a_ready_pod_registers_at_its_ip_and_first_port() {
        let cfg = RegistrationSim::default();
        let (key, value) = registration(&cfg, &pod(true)).unwrap();
        assert_eq!(key, "/services/web/10.244.0.7:9000");
        let v: Value = serde_json::from_slice(&value).unwrap();
        assert_eq!(
            v,
            json!({"weight": 100, "metadata": {"pod": "web-1", "node": "sim-node-1", "version": "1.2.0"}})
        );
        assert!(registration(&cfg, &pod(false)).is_none());
        let other = RegistrationSim {
            groups: vec!["api".into()],
            ..RegistrationSim::default()
        };
        assert!(registration(&other, &pod(true)).is_none());
        let mut no_port = pod(true);
        no_port["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("ports");
        assert!(
            registration(&cfg, &no_port)
                .unwrap()
                .0
                .ends_with("10.244.0.7:8080")
        );
    }
}
