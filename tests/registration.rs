//! Service registration and drains end to end (issue 12, point 3): the simulated kubelet
//! registers each ready pod in a real etcd (outside flightdeck's prefix), the release
//! binary asks the controller (its own process) to drain, and a watcher beside the test
//! checks the promise the feature exists for — no pod goes while its instance still takes
//! traffic — on a manual drain and on a whole rolling release that drains pod by pod.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flightdeck::controller::{Ask, Requester};
use flightdeck::domain::registration::Instance;
use flightdeck::domain::{GroupKey, Phase, Release};
use flightdeck::sim::RegistrationSim;
use flightdeck::store::{AuditFilter, Registry};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::Value;
use support::cli::*;
use support::eventually;
use support::groups::*;
use support::world::World as Rig;

const PREFIX: &str = "/services/web/";

fn group_yaml(registration: &str) -> String {
    web_group(
        3,
        &format!("  strategy: {{ rolling: {{}} }}\n  registration: {registration}\n"),
    )
}

struct World {
    w: Rig,
    pods: Api<Pod>,
}

impl std::ops::Deref for World {
    type Target = Rig;
    fn deref(&self) -> &Rig {
        &self.w
    }
}

async fn world(registration: &str, ghosts: bool) -> World {
    let w = Rig::builder()
        .registration(RegistrationSim {
            prefix: "/services".into(),
            ttl: 5,
            ghosts,
            groups: Vec::new(),
        })
        .controller()
        .start()
        .await;
    w.apply_estate(SERVICE_TEMPLATE, Some(&group_yaml(registration)))
        .await;
    w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    let pods = Api::namespaced(w.sim.client().await, NAMESPACE);
    let world = World { w, pods };
    eventually(90, "3 pods of web ready and registered", || async {
        (world.serving().await.len() == 3).then_some(())
    })
    .await;
    world
}

/// A pod as the watcher samples it.
#[derive(Debug, Clone)]
struct Seen {
    ip: Option<String>,
    terminating: bool,
    ready: bool,
}

impl World {
    async fn release(&self) -> Release {
        let key = GroupKey::new("sim", NAMESPACE, "web");
        self.store.get_release(&key).await.unwrap().unwrap().value
    }

    async fn group_pods(&self) -> BTreeMap<String, Seen> {
        group_pods(&self.pods).await
    }

    async fn registered(&self) -> Vec<Instance> {
        registered(self.registry().as_ref()).await
    }

    /// Names of the ready pods whose instance takes traffic.
    async fn serving(&self) -> Vec<String> {
        let regs = self.registered().await;
        self.group_pods()
            .await
            .into_iter()
            .filter(|(_, p)| p.ready && !p.terminating)
            .filter(|(_, p)| in_rotation(&regs, p.ip.as_deref()))
            .map(|(n, _)| n)
            .collect()
    }

    async fn instances_json(&self) -> Vec<Value> {
        let out = self.fd.run(&["instances", "web", "--json"]).await.expect(0);
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// Waits for `by` to end the drain of `victim`: the pod deleted and a new one serving
    /// in its place. No pod may have gone while it took traffic, and the end is audited.
    async fn drain_ended(&self, watcher: Watcher, victim: &str, by: &str) {
        eventually(30, &format!("the drained pod deleted by {by}"), || async {
            self.group_pods()
                .await
                .get(victim)
                .is_none_or(|p| p.terminating)
                .then_some(())
        })
        .await;
        eventually(60, "3 pods serving again", || async {
            let s = self.serving().await;
            (s.len() == 3 && !s.iter().any(|p| p == victim)).then_some(())
        })
        .await;
        let (violations, gone) = watcher.stop();
        assert!(violations.is_empty(), "{violations:?}");
        assert!(gone.contains(victim));
        assert!(self.release().await.drains.is_empty());
        let entries = self
            .store
            .list_audit(&AuditFilter::default())
            .await
            .unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e.action == "drain-done" && e.request["pod"] == victim),
            "the end of {victim}'s drain audited"
        );
    }
}

async fn group_pods(api: &Api<Pod>) -> BTreeMap<String, Seen> {
    let list = api
        .list(&ListParams::default().labels("flightdeck.dev/group=web"))
        .await
        .unwrap();
    list.items
        .into_iter()
        .map(|p| {
            let status = p.status.clone().unwrap_or_default();
            let ready = status
                .conditions
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "ContainersReady" && c.status == "True");
            (
                p.metadata.name.clone().unwrap_or_default(),
                Seen {
                    ip: status.pod_ip,
                    terminating: p.metadata.deletion_timestamp.is_some(),
                    ready,
                },
            )
        })
        .collect()
}

async fn registered(registry: &dyn Registry) -> Vec<Instance> {
    let (kvs, _) = registry.list(PREFIX).await.unwrap();
    kvs.iter()
        .filter_map(|kv| Instance::parse(PREFIX, &kv.key, &kv.value, kv.mod_revision))
        .collect()
}

fn in_rotation(regs: &[Instance], ip: Option<&str>) -> bool {
    let Some(ip) = ip else { return false };
    regs.iter()
        .any(|i| i.address == format!("{ip}:8080") && i.in_rotation())
}

/// Samples pods and registrations every 50 ms and records every pod that went (deleted or
/// being deleted) while its instance still took traffic at the sample before.
struct Watcher {
    violations: Arc<Mutex<Vec<String>>>,
    gone: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    fn start(w: &World) -> Watcher {
        let pods = w.pods.clone();
        let registry = w.registry();
        let violations = Arc::new(Mutex::new(Vec::new()));
        let gone = Arc::new(Mutex::new(BTreeSet::new()));
        let (v, g) = (violations.clone(), gone.clone());
        let task = tokio::spawn(async move {
            // Pod → whether its instance took traffic at the last sample it was live.
            let mut serving: BTreeMap<String, bool> = BTreeMap::new();
            loop {
                let now = group_pods(&pods).await;
                let regs = registered(registry.as_ref()).await;
                for (name, was_serving) in serving.clone() {
                    let went = now.get(&name).is_none_or(|p| p.terminating);
                    if went {
                        serving.remove(&name);
                        g.lock().unwrap().insert(name.clone());
                        if was_serving {
                            v.lock()
                                .unwrap()
                                .push(format!("{name} went while its instance still took traffic"));
                        }
                    }
                }
                for (name, p) in &now {
                    if !p.terminating {
                        serving.insert(name.clone(), in_rotation(&regs, p.ip.as_deref()));
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Watcher {
            violations,
            gone,
            task,
        }
    }

    fn stop(self) -> (Vec<String>, BTreeSet<String>) {
        self.task.abort();
        let v = self.violations.lock().unwrap().clone();
        let g = self.gone.lock().unwrap().clone();
        (v, g)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_takes_the_instance_out_of_rotation_and_only_then_deletes_the_pod() {
    let w = world("{ prefix: /services, drainFor: 3s }", false).await;
    let rows = w.instances_json().await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r["state"] == "serving"), "{rows:?}");

    let watcher = Watcher::start(&w);
    let victim = w.serving().await[0].clone();
    let ip = w.group_pods().await[&victim].ip.clone().unwrap();
    let out = w.fd.run(&["drain", "web", &victim]).await.expect(0);
    assert!(
        said(&out).contains(&format!("weight 0 for {ip}:8080")),
        "{out:?}"
    );
    // At once: out of rotation, the pod still there and serving nobody.
    let regs = w.registered().await;
    let inst = regs
        .iter()
        .find(|i| i.address == format!("{ip}:8080"))
        .expect("still registered");
    assert_eq!(inst.weight, Some(0));
    assert!(!w.group_pods().await[&victim].terminating);
    let rows = w.instances_json().await;
    let row = rows.iter().find(|r| r["pod"] == victim.as_str()).unwrap();
    assert!(
        row["state"].as_str().unwrap().starts_with("draining until"),
        "{row}"
    );
    // Twice: refused, nothing changes.
    let again = w.fd.run(&["drain", "web", &victim]).await;
    assert_eq!(again.code, 1, "{again:?}");
    assert!(said(&again).contains("draining already"), "{again:?}");

    // After drainFor the controller deletes it; the ReplicaSet's new pod registers.
    w.drain_ended(watcher, &victim, "the controller").await;
    // The controller's end of it is audited (drain_ended), and so is who asked.
    let entries = w.store.list_audit(&AuditFilter::default()).await.unwrap();
    let drain = entries
        .iter()
        .find(|e| e.action == "drain" && e.request["pod"] == victim.as_str())
        .expect("drain audited");
    assert_eq!(drain.user.name, me());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_outlives_a_controller_killed_halfway_and_still_never_drops_a_serving_pod() {
    let mut w = world("{ prefix: /services, drainFor: 3s }", false).await;
    let watcher = Watcher::start(&w);
    let victim = w.serving().await[0].clone();
    w.fd.run(&["drain", "web", &victim]).await.expect(0);
    // kill -9 the controller right after it took the instance out of rotation: no goodbye,
    // the lease stays until its TTL, nobody ends the drain.
    w.w.controller_mut().kill().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        w.group_pods()
            .await
            .get(&victim)
            .is_some_and(|p| !p.terminating),
        "the pod went with no controller to end its drain"
    );
    assert_eq!(
        w.release().await.drains.len(),
        1,
        "the drain is kept in the release"
    );
    // A new controller takes the lease and ends the drain it finds in the store.
    let _again = w.fd.controller().await;
    w.drain_ended(watcher, &victim, "the new controller").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_drains_change_nothing_and_say_why() {
    let w = world("{ prefix: /services, drainFor: 3s }", false).await;
    let before = w.registered().await;
    // Not a pod of the group (another team's pod, a typo).
    let out = w.fd.run(&["drain", "web", "db-0"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(said(&out).contains("not a pod of web"), "{out:?}");
    // Asking for the controller's own end of a drain: refused, audited.
    let key = GroupKey::new("sim", NAMESPACE, "web");
    let victim = w.serving().await[0].clone();
    let answer = Requester::new(w.store.clone(), me())
        .ask(Ask::Act {
            group: key,
            action: flightdeck::engine::Action::FinishDrain {
                pod: victim.clone(),
            },
            reason: None,
        })
        .await
        .expect("an answer from the controller");
    assert_eq!(answer.exit, 1, "{}", answer.message);
    assert!(
        answer.message.contains("controller's own"),
        "{}",
        answer.message
    );
    assert_eq!(w.registered().await, before);
    assert!(!w.group_pods().await[&victim].terminating);

    // Drain two of three, then the last serving one is kept.
    let serving = w.serving().await;
    w.fd.run(&["drain", "web", &serving[0]]).await.expect(0);
    w.fd.run(&["drain", "web", &serving[1]]).await.expect(0);
    let out = w.fd.run(&["drain", "web", &serving[2]]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(said(&out).contains("last ready instance"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghosts_and_strays_are_shown_as_such() {
    let w = world("{ prefix: /services, drainFor: 1s }", true).await;
    // A stray: a ready pod whose registration someone removed.
    let regs = w.registered().await;
    let registry = w.registry();
    assert!(
        registry
            .remove(&regs[0].key, regs[0].mod_revision)
            .await
            .unwrap()
    );
    // A ghost: the registrator of this scenario never unregisters a pod that went.
    let victim = w.serving().await[0].clone();
    let victim_ip = w.group_pods().await[&victim].ip.clone().unwrap();
    w.pods.delete(&victim, &Default::default()).await.unwrap();
    let rows = eventually(60, "a ghost and a stray", || async {
        let rows = w.instances_json().await;
        let state = |s: &str| rows.iter().filter(|r| r["state"] == s).count();
        (state("ghost") >= 1 && state("stray") == 1).then_some(rows)
    })
    .await;
    let ghost = rows.iter().find(|r| r["state"] == "ghost").unwrap();
    assert_eq!(ghost["address"], format!("{victim_ip}:8080"));
    assert_eq!(ghost["pod"], Value::Null);
    // A value that is not a registration is reported, not trusted.
    registry
        .register(
            &format!("{PREFIX}10.9.9.9:8080"),
            b"\x1b[2J{not json".to_vec(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let out = w.fd.run(&["instances", "web"]).await.expect(0);
    assert!(out.stdout.contains("unreadable"), "{out:?}");
    assert!(!out.stdout.contains('\u{1b}'), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_release_drains_each_old_pod_before_the_deployment_removes_it() {
    let w = world(
        "{ prefix: /services, drainFor: 2s, drainOnRollout: true }",
        false,
    )
    .await;
    let old: BTreeSet<String> = w.group_pods().await.into_keys().collect();
    let watcher = Watcher::start(&w);
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    let r = eventually(150, "the rolling release promoted", || async {
        let r = w.release().await;
        (r.phase == Phase::Promoted).then_some(r)
    })
    .await;
    assert_eq!(r.stable_revision, 2);
    eventually(60, "3 new pods serving, none of the old", || async {
        let s = w.serving().await;
        (s.len() == 3 && s.iter().all(|p| !old.contains(p))).then_some(())
    })
    .await;
    let (violations, gone) = watcher.stop();
    assert!(violations.is_empty(), "{violations:?}");
    assert!(old.is_subset(&gone), "old {old:?} gone {gone:?}");
    // Every old pod was drained for a new one, by the controller, in the audit log.
    let entries = w.store.list_audit(&AuditFilter::default()).await.unwrap();
    for pod in &old {
        assert!(
            entries.iter().any(|e| e.action == "drain"
                && e.request["pod"] == pod.as_str()
                && e.request["forPod"].is_string()),
            "{pod} not drained for a new pod"
        );
    }
}
