//! The simulated scheduler and kubelet: moves each pod through its life (Scheduled,
//! Pulling, Pulled, Created, Started, Ready; or a crash loop, a failing readiness probe, a
//! failing pull) on one timer queue, and records the events a real node would.

mod status;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use super::events::{EventRecorder, Regarding, SCHEDULER, Source};
use super::objects::is_terminating;
use super::resource::{Kind, ObjectKey, str_at, uid_of};
use super::scenario::{Behaviour, Scenario};
use super::store::{Change, Obj, Op, Store, StoreError};
use super::time;
use super::timer::{TimerQueue, sleep_until};
use status::{
    backoff, condition_is_true, crc, for_containers, go_duration, has_readiness_gates, pull_error,
    ready_is_current, set_condition, set_ready,
};

pub const NODES: [&str; 4] = ["sim-node-1", "sim-node-2", "sim-node-3", "sim-node-4"];

/// The Node object of one of the fake nodes pods are scheduled onto.
pub fn node_object(name: &str, index: usize) -> Value {
    let now = time::now();
    let cond = |ty: &str, status: &str, reason: &str, message: &str| {
        json!({"type": ty, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
        "spec": {"podCIDR": format!("10.244.{index}.0/24")},
        "status": {
            "addresses": [{"type": "InternalIP", "address": format!("192.168.49.{}", index + 2)},
                          {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "250"},
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "250"},
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0", "kubeProxyVersion": "v1.32.0",
                "osImage": "flightdeck simulated node", "kernelVersion": "6.1.0-sim",
                "containerRuntimeVersion": "containerd://1.7.0", "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Schedule,
    PullDone,
    PullBackOff,
    RetryPull,
    Start,
    Ready,
    Probe,
    Crash,
    Restart,
    Remove,
    /// A Job's container exits 0.
    Complete,
}

/// What the kubelet remembers of a pod between steps.
struct PodRun {
    key: ObjectKey,
    node: String,
    images: Vec<(String, String)>,
    behaviour: Behaviour,
    start_delay: f64,
    crash_after: f64,
    restarts: i64,
    pull_failures: u32,
    terminating: bool,
    /// `spec.restartPolicy`: a pod that is not `Always` runs to completion.
    restart_policy: String,
    /// The pod's IP once its containers first started; a restart keeps it.
    ip: Option<String>,
}

pub struct Kubelet {
    store: Arc<Store>,
    events: Arc<EventRecorder>,
    scenario: watch::Receiver<Arc<Scenario>>,
    time_scale: f64,
    pods: HashMap<String, PodRun>,
    timers: TimerQueue<(String, Step)>,
    scheduled: usize,
    /// IPs held by live pods: a new pod gets one nobody holds, as from a real CNI (a
    /// registration keyed by `ip:port` must not collide with another pod's).
    ips: HashSet<String>,
}

impl Kubelet {
    pub fn new(
        store: Arc<Store>,
        events: Arc<EventRecorder>,
        scenario: watch::Receiver<Arc<Scenario>>,
        time_scale: f64,
    ) -> Self {
        Kubelet {
            store,
            events,
            scenario,
            time_scale,
            pods: HashMap::new(),
            timers: TimerQueue::default(),
            scheduled: 0,
            ips: HashSet::new(),
        }
    }

    pub async fn run(mut self, mut changes: broadcast::Receiver<Arc<Change>>) {
        self.resync();
        loop {
            let deadline = self.timers.deadline();
            tokio::select! {
                msg = changes.recv() => match msg {
                    Ok(c) => self.on_change(&c),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync(),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = sleep_until(deadline) => {
                    while let Some((uid, step)) = self.timers.pop_due() {
                        self.step(&uid, step);
                    }
                }
            }
        }
    }

    fn after(&mut self, secs: f64, uid: &str, step: Step) {
        let d = Duration::from_secs_f64((secs * self.time_scale).max(0.0));
        self.timers.push(d, (uid.to_string(), step));
    }

    fn timings(&self) -> super::scenario::Timings {
        self.scenario.borrow().timings.clone()
    }

    /// Catch up with the store after missing changes: adopt pods we do not know, notice
    /// deletions, forget pods that are gone.
    fn resync(&mut self) {
        let pods = self.store.list(Kind::Pod, None).0;
        let live: std::collections::HashSet<&str> = pods.iter().map(|p| uid_of(p)).collect();
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|uid| !live.contains(uid.as_str()))
            .cloned()
            .collect();
        for uid in gone {
            self.forget(&uid);
        }
        for pod in &pods {
            self.observe(pod);
        }
    }

    fn on_change(&mut self, c: &Change) {
        if c.kind != Kind::Pod {
            return;
        }
        match c.op {
            Op::Deleted => self.forget(uid_of(&c.object)),
            Op::Added | Op::Modified => self.observe(&c.object),
        }
    }

    fn observe(&mut self, pod: &Value) {
        let uid = uid_of(pod).to_string();
        if !self.pods.contains_key(&uid) {
            let run = self.new_run(pod);
            self.pods.insert(uid.clone(), run);
            if !is_terminating(pod) {
                let t = self.timings().schedule;
                self.after(t, &uid, Step::Schedule);
            }
        }
        if is_terminating(pod) {
            self.begin_termination(&uid, pod);
        } else if has_readiness_gates(pod)
            && condition_is_true(pod, "ContainersReady")
            && !ready_is_current(pod)
        {
            // A client set a gate's condition: Ready follows it.
            self.update(&uid, set_ready);
        }
    }

    fn forget(&mut self, uid: &str) {
        if let Some(ip) = self.pods.remove(uid).and_then(|r| r.ip) {
            self.ips.remove(&ip);
        }
    }

    /// A free IP in the node's range, the one the pod's uid hashes to when free; a full
    /// node (250 pods) hands out a taken one rather than none.
    fn allocate_ip(&mut self, uid: &str, node_ix: usize) -> String {
        let base = crc(uid) % 250;
        let ip_at = |i: u64| format!("10.244.{node_ix}.{}", 2 + (base + i) % 250);
        let ip = (0..250)
            .map(ip_at)
            .find(|ip| !self.ips.contains(ip))
            .unwrap_or_else(|| ip_at(0));
        self.ips.insert(ip.clone());
        ip
    }

    fn new_run(&self, pod: &Value) -> PodRun {
        let images: Vec<(String, String)> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        (
                            str_at(c, "/name").to_string(),
                            str_at(c, "/image").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut run = PodRun {
            key: ObjectKey::of(pod),
            node: str_at(pod, "/spec/nodeName").to_string(),
            images,
            behaviour: Behaviour::Healthy,
            start_delay: 0.0,
            crash_after: 3.0,
            restarts: 0,
            pull_failures: 0,
            terminating: false,
            restart_policy: match str_at(pod, "/spec/restartPolicy") {
                "" => "Always".to_string(),
                p => p.to_string(),
            },
            ip: None,
        };
        self.choose_behaviour(&mut run);
        run
    }

    /// The first container whose image matches a rule decides (scenario may change at
    /// run time; a restart picks up the new one).
    fn choose_behaviour(&self, run: &mut PodRun) {
        let scenario = self.scenario.borrow();
        let timings = &scenario.timings;
        run.behaviour = Behaviour::Healthy;
        run.start_delay = timings.readiness;
        for (_, image) in &run.images {
            if let Some(rule) = scenario.rule_for(image) {
                run.behaviour = rule.behaviour;
                run.start_delay = rule.start_delay.unwrap_or(20.0);
                run.crash_after = rule.crash_after.unwrap_or(3.0);
                break;
            }
        }
    }

    fn begin_termination(&mut self, uid: &str, pod: &Value) {
        let Some(run) = self.pods.get_mut(uid) else {
            return;
        };
        if run.terminating {
            return;
        }
        run.terminating = true;
        let started = !run.node.is_empty();
        let names: Vec<String> = run.images.iter().map(|(n, _)| n.clone()).collect();
        let node = run.node.clone();
        if started {
            for name in names {
                self.events.record(
                    Regarding {
                        obj: pod,
                        kind: Kind::Pod,
                        field_path: Some(&format!("spec.containers{{{name}}}")),
                    },
                    false,
                    "Killing",
                    &format!("Stopping container {name}"),
                    Source {
                        component: "kubelet",
                        host: &node,
                    },
                );
            }
        }
        let t = self.timings().terminate;
        self.after(t, uid, Step::Remove);
    }

    fn step(&mut self, uid: &str, step: Step) {
        let Some(run) = self.pods.get(uid) else {
            return;
        };
        if run.terminating && step != Step::Remove {
            return;
        }
        let t = self.timings();
        match step {
            Step::Schedule => self.schedule(uid),
            Step::PullDone => self.pull_done(uid),
            Step::PullBackOff => {
                let images = run.images.clone();
                self.update(uid, |p| {
                    for_containers(p, |cs, image| {
                        cs["state"] = json!({"waiting": {"reason": "ImagePullBackOff",
                            "message": format!("Back-off pulling image \"{image}\"")}});
                    });
                });
                for (name, image) in &images {
                    self.container_event(
                        uid,
                        name,
                        false,
                        "BackOff",
                        &format!("Back-off pulling image \"{image}\""),
                    );
                    self.container_event(uid, name, true, "Failed", "Error: ImagePullBackOff");
                }
                let n = self.pods.get(uid).map_or(1, |r| r.pull_failures);
                self.after(backoff(&t, n as i64), uid, Step::RetryPull);
            }
            Step::RetryPull => {
                self.pulling(uid);
                self.after(t.pull, uid, Step::PullDone);
            }
            Step::Start => self.start(uid, false),
            Step::Restart => self.start(uid, true),
            Step::Ready => {
                self.update(uid, |p| {
                    for_containers(p, |cs, _| cs["ready"] = json!(true));
                    set_condition(p, "ContainersReady", true);
                    set_ready(p);
                });
            }
            Step::Probe => {
                for (name, _) in run.images.clone() {
                    self.container_event(
                        uid,
                        &name,
                        true,
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503",
                    );
                }
                self.after(t.probe_period, uid, Step::Probe);
            }
            Step::Crash => self.crash(uid),
            Step::Complete => self.exit(uid, 0),
            Step::Remove => {
                let key = run.key.clone();
                // Already gone (namespace deleted, force delete) is the same outcome.
                let _ = self.store.delete(Kind::Pod, &key, Some(uid));
                self.forget(uid);
            }
        }
    }

    fn schedule(&mut self, uid: &str) {
        let Some(run) = self.pods.get_mut(uid) else {
            return;
        };
        if run.node.is_empty() {
            run.node = NODES[self.scheduled % NODES.len()].to_string();
            self.scheduled += 1;
        }
        let node = run.node.clone();
        let node_ix = NODES.iter().position(|n| *n == node).unwrap_or(0);
        let images = run.images.clone();
        let Some(pod) = self.update(uid, |p| {
            p["spec"]["nodeName"] = json!(node);
            let status = &mut p["status"];
            status["phase"] = json!("Pending");
            status["hostIP"] = json!(format!("192.168.49.{}", node_ix + 2));
            status["hostIPs"] = json!([{"ip": format!("192.168.49.{}", node_ix + 2)}]);
            status["startTime"] = json!(time::now());
            set_condition(p, "PodReadyToStartContainers", false);
            set_condition(p, "Initialized", true);
            set_condition(p, "Ready", false);
            set_condition(p, "ContainersReady", false);
            set_condition(p, "PodScheduled", true);
            p["status"]["containerStatuses"] = json!(images.iter().map(|(name, image)| json!({
                "name": name, "image": image, "imageID": "", "ready": false, "restartCount": 0,
                "started": false, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
            })).collect::<Vec<_>>());
        }) else {
            return;
        };
        let msg = format!(
            "Successfully assigned {}/{} to {node}",
            str_at(&pod, "/metadata/namespace"),
            str_at(&pod, "/metadata/name")
        );
        self.events.record(
            Regarding {
                obj: &pod,
                kind: Kind::Pod,
                field_path: None,
            },
            false,
            "Scheduled",
            &msg,
            SCHEDULER,
        );
        self.pulling(uid);
        let t = self.timings().pull;
        self.after(t, uid, Step::PullDone);
    }

    fn pulling(&mut self, uid: &str) {
        let images = self
            .pods
            .get(uid)
            .map(|r| r.images.clone())
            .unwrap_or_default();
        for (name, image) in images {
            self.container_event(
                uid,
                &name,
                false,
                "Pulling",
                &format!("Pulling image \"{image}\""),
            );
        }
    }

    fn pull_done(&mut self, uid: &str) {
        let t = self.timings();
        let Some(run) = self.pods.get_mut(uid) else {
            return;
        };
        let images = run.images.clone();
        if run.behaviour == Behaviour::FailPull {
            run.pull_failures += 1;
            self.update(uid, |p| {
                for_containers(p, |cs, image| {
                    cs["state"] = json!({"waiting": {"reason": "ErrImagePull", "message": pull_error(image)}});
                });
            });
            for (name, image) in &images {
                self.container_event(
                    uid,
                    name,
                    true,
                    "Failed",
                    &format!("Failed to pull image \"{image}\": {}", pull_error(image)),
                );
                self.container_event(uid, name, true, "Failed", "Error: ErrImagePull");
            }
            self.after(1.0, uid, Step::PullBackOff);
            return;
        }
        for (name, image) in &images {
            let msg = format!(
                "Successfully pulled image \"{image}\" in {:.3}s ({:.3}s including waiting). Image size: 52428800 bytes.",
                t.pull, t.pull
            );
            self.container_event(uid, name, false, "Pulled", &msg);
        }
        self.after(t.start, uid, Step::Start);
    }

    fn start(&mut self, uid: &str, restart: bool) {
        let t = self.timings();
        let Some(mut run) = self.pods.remove(uid) else {
            return;
        };
        if restart {
            self.choose_behaviour(&mut run);
        }
        let images = run.images.clone();
        let (behaviour, start_delay, crash_after) =
            (run.behaviour, run.start_delay, run.crash_after);
        let runs_to_completion = run.restart_policy != "Always";
        let node_ix = NODES.iter().position(|n| *n == run.node).unwrap_or(0);
        let ip = match run.ip.clone() {
            Some(ip) => ip,
            None => self.allocate_ip(uid, node_ix),
        };
        run.ip = Some(ip.clone());
        self.pods.insert(uid.to_string(), run);
        for (name, image) in &images {
            if restart {
                let msg = format!("Container image \"{image}\" already present on machine");
                self.container_event(uid, name, false, "Pulled", &msg);
            }
            self.container_event(
                uid,
                name,
                false,
                "Created",
                &format!("Created container: {name}"),
            );
            self.container_event(
                uid,
                name,
                false,
                "Started",
                &format!("Started container {name}"),
            );
        }
        let uid_owned = uid.to_string();
        self.update(uid, |p| {
            p["status"]["phase"] = json!("Running");
            p["status"]["podIP"] = json!(ip);
            p["status"]["podIPs"] = json!([{"ip": ip}]);
            set_condition(p, "PodReadyToStartContainers", true);
            for_containers(p, |cs, image| {
                cs["state"] = json!({"running": {"startedAt": time::now()}});
                cs["started"] = json!(true);
                cs["ready"] = json!(false);
                cs["containerID"] = json!(format!(
                    "containerd://{:016x}{}",
                    crc(&uid_owned),
                    cs["restartCount"]
                ));
                cs["imageID"] = json!(format!("{image}@sha256:{:064x}", crc(image)));
            });
        });
        if runs_to_completion && behaviour != Behaviour::CrashLoop {
            // A Job's container is ready while it works, then exits 0.
            self.after(t.readiness.min(t.job_run / 2.0), uid, Step::Ready);
            self.after(t.job_run, uid, Step::Complete);
            return;
        }
        match behaviour {
            Behaviour::Healthy => self.after(t.readiness, uid, Step::Ready),
            Behaviour::SlowStart => self.after(start_delay, uid, Step::Ready),
            Behaviour::FailReadiness => self.after(t.readiness, uid, Step::Probe),
            Behaviour::CrashLoop => self.after(crash_after, uid, Step::Crash),
            // A pod that pulled after all (the scenario changed) runs healthily.
            Behaviour::FailPull => self.after(t.readiness, uid, Step::Ready),
        }
    }

    /// A container that exits and is not restarted (`restartPolicy: Never`, or exit 0 of a
    /// run-to-completion pod): the pod ends Succeeded or Failed.
    fn exit(&mut self, uid: &str, code: i64) {
        let (reason, phase) = if code == 0 {
            ("Completed", "Succeeded")
        } else {
            ("Error", "Failed")
        };
        let Some(pod) = self.update(uid, |p| {
            for_containers(p, |cs, _| {
                let started = cs
                    .pointer("/state/running/startedAt")
                    .cloned()
                    .unwrap_or(json!(time::now()));
                cs["state"] = json!({"terminated": {"exitCode": code, "reason": reason,
                    "startedAt": started, "finishedAt": time::now(), "containerID": cs["containerID"]}});
                cs["ready"] = json!(false);
                cs["started"] = json!(false);
            });
            p["status"]["phase"] = json!(phase);
            set_condition(p, "ContainersReady", false);
            set_condition(p, "Ready", false);
        }) else {
            return;
        };
        if code != 0 {
            let names: Vec<String> = self
                .pods
                .get(uid)
                .map(|r| r.images.iter().map(|(n, _)| n.clone()).collect())
                .unwrap_or_default();
            for name in names {
                let msg = format!(
                    "Container {name} in pod {} exited with code {code}",
                    str_at(&pod, "/metadata/name")
                );
                self.container_event(uid, &name, true, "Failed", &msg);
            }
        }
    }

    fn crash(&mut self, uid: &str) {
        let t = self.timings();
        if self
            .pods
            .get(uid)
            .is_some_and(|r| r.restart_policy == "Never")
        {
            self.exit(uid, 1);
            return;
        }
        let Some(run) = self.pods.get_mut(uid) else {
            return;
        };
        run.restarts += 1;
        let restarts = run.restarts;
        let images = run.images.clone();
        let wait = backoff(&t, restarts);
        let Some(pod) = self.update(uid, |p| {
            let (name, ns, uid) = (str_at(p, "/metadata/name").to_string(), str_at(p, "/metadata/namespace").to_string(), uid_of(p).to_string());
            for_containers(p, |cs, _| {
                let started = cs.pointer("/state/running/startedAt").cloned().unwrap_or(json!(time::now()));
                let cname = str_at(cs, "/name").to_string();
                cs["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started,
                    "finishedAt": time::now(), "containerID": cs["containerID"]}});
                cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!(
                    "back-off {} restarting failed container={cname} pod={name}_{ns}({uid})", go_duration(wait))}});
                cs["ready"] = json!(false);
                cs["started"] = json!(false);
                cs["restartCount"] = json!(restarts);
            });
            set_condition(p, "ContainersReady", false);
            set_condition(p, "Ready", false);
        }) else {
            return;
        };
        for (name, _) in &images {
            let msg = format!(
                "Back-off restarting failed container {name} in pod {}_{}({})",
                str_at(&pod, "/metadata/name"),
                str_at(&pod, "/metadata/namespace"),
                uid
            );
            self.container_event(uid, name, true, "BackOff", &msg);
        }
        self.after(wait, uid, Step::Restart);
    }

    fn update(&self, uid: &str, f: impl FnOnce(&mut Value)) -> Option<Obj> {
        let run = self.pods.get(uid)?;
        self.store
            .update(Kind::Pod, &run.key, |p| {
                if uid_of(p) != uid || is_terminating(p) {
                    return Err(StoreError::Invalid("pod replaced or terminating".into()));
                }
                f(p);
                Ok(())
            })
            .ok()
    }

    fn container_event(&self, uid: &str, container: &str, warning: bool, reason: &str, msg: &str) {
        let Some(run) = self.pods.get(uid) else {
            return;
        };
        let Some(pod) = self.store.get(Kind::Pod, &run.key) else {
            return;
        };
        let source = Source {
            component: "kubelet",
            host: &run.node,
        };
        let fp = format!("spec.containers{{{container}}}");
        self.events.record(
            Regarding {
                obj: &pod,
                kind: Kind::Pod,
                field_path: Some(&fp),
            },
            warning,
            reason,
            msg,
            source,
        );
    }
}
