//! The simulated cluster's side of service registration (issue 12, point 3), through
//! kube-rs and kubectl against a real etcd: the registrator beside the kubelet (ready pods
//! registered once, revoked on termination, ghosts when it loses track, a drain's weight
//! kept), readiness gates, the ReplicaSet's pod-deletion-cost, and a rollout held by a gate.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use flightdeck::domain::registration::{DELETION_COST, DRAIN_GATE};
use flightdeck::sim::RegistrationSim;
use flightdeck::store::Registry;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::eventually;
use support::world::World;

const NS: &str = "default";
const PREFIX: &str = "/services";

fn registration(ttl: u64, ghosts: bool) -> RegistrationSim {
    RegistrationSim {
        prefix: PREFIX.into(),
        ttl,
        ghosts,
        groups: Vec::new(),
    }
}

fn pod_spec(tag: &str, gated: bool) -> Value {
    let mut spec = json!({"containers": [{"name": "app", "image": format!("registry.local/web:{tag}"),
        "ports": [{"containerPort": 9090}]}]});
    if gated {
        spec["readinessGates"] = json!([{"conditionType": DRAIN_GATE}]);
    }
    spec
}

fn deployment(name: &str, replicas: i32, tag: &str, gated: bool) -> Deployment {
    let labels = json!({"app": name, "flightdeck.dev/group": name});
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec(tag, gated)},
        }
    }))
    .expect("a Deployment")
}

/// A world and the APIs of its cluster's default namespace that the tests use.
/// Destructuring it, bind `w` (`w: _w` if unused): left to `..` the world stops at once.
struct Cluster {
    w: World,
    deploys: Api<Deployment>,
    sets: Api<ReplicaSet>,
    pods: Api<Pod>,
}

impl Cluster {
    /// Etcd and the cluster, whose kubelet registers ready pods as `registration` says
    /// (`None`: no registrator), with `deployments` created.
    async fn start(registration: Option<RegistrationSim>, deployments: &[Deployment]) -> Cluster {
        let mut builder = World::builder();
        if let Some(r) = registration {
            builder = builder.registration(r);
        }
        let w = builder.start().await;
        let client = w.sim.client().await;
        let deploys: Api<Deployment> = Api::namespaced(client.clone(), NS);
        for d in deployments {
            deploys.create(&PostParams::default(), d).await.unwrap();
        }
        Cluster {
            w,
            deploys,
            sets: Api::namespaced(client.clone(), NS),
            pods: Api::namespaced(client, NS),
        }
    }
}

/// Registered instances under `<prefix>/<service>/`: address → value.
async fn registered(registry: &dyn Registry, service: &str) -> BTreeMap<String, Value> {
    let prefix = format!("{PREFIX}/{service}/");
    let (kvs, _) = registry.list(&prefix).await.expect("list registrations");
    kvs.into_iter()
        .map(|kv| {
            let address = kv.key.strip_prefix(&prefix).unwrap_or(&kv.key).to_string();
            let value = serde_json::from_slice(&kv.value).unwrap_or(Value::Null);
            (address, value)
        })
        .collect()
}

/// Pods that are not terminating, by name.
async fn live_pods(pods: &Api<Pod>, selector: &str) -> Vec<Pod> {
    let mut list: Vec<Pod> = pods
        .list(&ListParams::default().labels(selector))
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    list
}

fn condition(pod: &Pod, ty: &str) -> Option<String> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == ty)
        .map(|c| c.status.clone())
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn address(pod: &Pod) -> Option<String> {
    let ip = pod.status.as_ref()?.pod_ip.clone()?;
    Some(format!("{ip}:9090"))
}

/// The addresses of `want` ready pods of `app`, once exactly those are registered.
async fn wait_registered(
    registry: &dyn Registry,
    pods: &Api<Pod>,
    app: &str,
    want: usize,
) -> Vec<Pod> {
    eventually(
        20,
        &format!("{want} ready pods of {app} registered"),
        || async {
            let ready: Vec<Pod> = live_pods(pods, &format!("app={app}"))
                .await
                .into_iter()
                .filter(|p| condition(p, "ContainersReady").as_deref() == Some("True"))
                .collect();
            let keys = registered(registry, app).await;
            let addresses: Vec<String> = ready.iter().filter_map(address).collect();
            (ready.len() == want
                && keys.len() == want
                && addresses.iter().all(|a| keys.contains_key(a)))
            .then_some(ready)
        },
    )
    .await
}

#[tokio::test]
async fn ready_pods_register_once_and_a_deleted_pods_key_goes() {
    let Cluster { w, pods, .. } = Cluster::start(
        Some(registration(5, false)),
        &[deployment("web", 2, "1.4.0", false)],
    )
    .await;
    let registry = w.registry();
    let ready = wait_registered(registry.as_ref(), &pods, "web", 2).await;
    let keys = registered(registry.as_ref(), "web").await;
    for pod in &ready {
        let value = &keys[&address(pod).unwrap()];
        assert_eq!(value["weight"], 100, "{value}");
        assert_eq!(value["metadata"]["pod"], name(pod).as_str(), "{value}");
        assert_eq!(value["metadata"]["version"], "1.4.0", "{value}");
        let node = pod.spec.as_ref().unwrap().node_name.clone().unwrap();
        assert_eq!(value["metadata"]["node"], node.as_str(), "{value}");
    }
    // A pod without the group label is nobody's instance.
    assert_eq!(registry.list(PREFIX).await.unwrap().0.len(), 2);

    let victim = &ready[0];
    let gone = address(victim).unwrap();
    pods.delete(&name(victim), &DeleteParams::default())
        .await
        .unwrap();
    eventually(20, "the deleted pod's key to go", || async {
        (!registered(registry.as_ref(), "web")
            .await
            .contains_key(&gone))
        .then_some(())
    })
    .await;
    // Its replacement registers in turn.
    let now = wait_registered(registry.as_ref(), &pods, "web", 2).await;
    assert!(now.iter().all(|p| name(p) != name(victim)));
}

#[tokio::test]
async fn with_ghosts_a_deleted_pods_registration_stays_alive() {
    let Cluster { w, pods, .. } = Cluster::start(
        Some(registration(2, true)),
        &[deployment("web", 1, "1.0.0", false)],
    )
    .await;
    let registry = w.registry();
    let ready = wait_registered(registry.as_ref(), &pods, "web", 1).await;
    let ghost = address(&ready[0]).unwrap();
    pods.delete(&name(&ready[0]), &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        20,
        "the pod gone and its replacement registered",
        || async {
            let gone = pods.get_opt(&name(&ready[0])).await.unwrap().is_none();
            let keys = registered(registry.as_ref(), "web").await;
            (gone && keys.len() == 2).then_some(())
        },
    )
    .await;
    // Longer than the lease's ttl: only a keep-alive holds the ghost.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let keys = registered(registry.as_ref(), "web").await;
    assert!(keys.contains_key(&ghost), "ghost kept alive: {keys:?}");
    assert_eq!(keys.len(), 2, "{keys:?}");
}

#[tokio::test]
async fn a_drained_weight_sticks_and_a_removed_key_is_not_put_back() {
    let Cluster { w, pods, .. } = Cluster::start(
        Some(registration(2, false)),
        &[deployment("web", 2, "1.0.0", false)],
    )
    .await;
    let registry = w.registry();
    let ready = wait_registered(registry.as_ref(), &pods, "web", 2).await;
    let (kvs, _) = registry.list(&format!("{PREFIX}/web/")).await.unwrap();
    let (drained, removed) = (&kvs[0], &kvs[1]);
    let mut value: Value = serde_json::from_slice(&drained.value).unwrap();
    value["weight"] = json!(0);
    assert!(
        registry
            .replace(
                &drained.key,
                value.to_string().into_bytes(),
                drained.mod_revision
            )
            .await
            .unwrap()
    );
    assert!(
        registry
            .remove(&removed.key, removed.mod_revision)
            .await
            .unwrap()
    );
    let (after, _) = registry.list(&format!("{PREFIX}/web/")).await.unwrap();
    let written = after[0].mod_revision;
    // Twice the ttl: the lease outlives it only by keep-alives, the value stays the
    // drain's, and the removed key does not come back.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (now, _) = registry.list(&format!("{PREFIX}/web/")).await.unwrap();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].key, drained.key);
    let v: Value = serde_json::from_slice(&now[0].value).unwrap();
    assert_eq!(v["weight"], 0, "{v}");
    assert_eq!(now[0].mod_revision, written, "not written since");
    // Both pods still run: the registrator never touched the pods.
    assert_eq!(live_pods(&pods, "app=web").await.len(), ready.len());
}

fn gated_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "gated"}},
        "spec": pod_spec("1.0.0", true),
    }))
    .unwrap()
}

async fn wait_containers_ready(pods: &Api<Pod>, name: &str) -> Pod {
    eventually(20, &format!("{name}'s containers ready"), || async {
        let p = pods.get(name).await.ok()?;
        (condition(&p, "ContainersReady").as_deref() == Some("True")).then_some(p)
    })
    .await
}

async fn wait_ready(pods: &Api<Pod>, name: &str) -> Pod {
    eventually(20, &format!("{name} Ready"), || async {
        let p = pods.get(name).await.ok()?;
        (condition(&p, "Ready").as_deref() == Some("True")).then_some(p)
    })
    .await
}

// kubectl runs blocking: the cluster needs a worker of its own meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gated_pod_is_ready_once_its_condition_is_patched_true() {
    let Cluster { w, pods, .. } = Cluster::start(None, &[]).await;
    for n in ["strategic", "merge", "json", "kubectl"] {
        pods.create(&PostParams::default(), &gated_pod(n))
            .await
            .unwrap();
    }
    for n in ["strategic", "merge", "json", "kubectl"] {
        let p = wait_containers_ready(&pods, n).await;
        assert_eq!(condition(&p, "Ready").as_deref(), Some("False"), "{n}");
    }
    // Thirty simulated seconds later the gate still holds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = pods.get("strategic").await.unwrap();
    assert_eq!(condition(&p, "Ready").as_deref(), Some("False"));
    let ready = p
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason.as_deref(), Some("ReadinessGatesNotReady"));

    let gate = json!({"type": DRAIN_GATE, "status": "True", "reason": "Drained"});
    let params = PatchParams::default();
    // Strategic merge: conditions merge by type, the kubelet's stay.
    pods.patch_status(
        "strategic",
        &params,
        &Patch::Strategic(json!({"status": {"conditions": [gate]}})),
    )
    .await
    .unwrap();
    // JSON merge patch replaces the list: the client sends it whole.
    let mut conds = serde_json::to_value(
        pods.get("merge")
            .await
            .unwrap()
            .status
            .unwrap()
            .conditions
            .unwrap(),
    )
    .unwrap();
    conds.as_array_mut().unwrap().push(gate.clone());
    pods.patch_status(
        "merge",
        &params,
        &Patch::Merge(json!({"status": {"conditions": conds}})),
    )
    .await
    .unwrap();
    pods.patch_status(
        "json",
        &params,
        &Patch::<()>::Json(
            serde_json::from_value(
                json!([{"op": "add", "path": "/status/conditions/-", "value": gate}]),
            )
            .unwrap(),
        ),
    )
    .await
    .unwrap();
    let (ok, out) = w.sim.kubectl(&[
        "patch",
        "pod",
        "kubectl",
        "--subresource=status",
        "--type=strategic",
        "-p",
        &json!({"status": {"conditions": [{"type": DRAIN_GATE, "status": "True"}]}}).to_string(),
    ]);
    assert!(ok, "kubectl patch --subresource=status: {out}");
    for n in ["strategic", "merge", "json", "kubectl"] {
        let p = wait_ready(&pods, n).await;
        assert_eq!(condition(&p, DRAIN_GATE).as_deref(), Some("True"), "{n}");
        assert_eq!(
            condition(&p, "ContainersReady").as_deref(),
            Some("True"),
            "{n}"
        );
    }
    // The gate closes again: Ready follows.
    pods.patch_status(
        "strategic",
        &params,
        &Patch::Strategic(
            json!({"status": {"conditions": [{"type": DRAIN_GATE, "status": "False"}]}}),
        ),
    )
    .await
    .unwrap();
    eventually(20, "Ready False again", || async {
        let p = pods.get("strategic").await.ok()?;
        (condition(&p, "Ready").as_deref() == Some("False")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_replicaset_scale_down_removes_the_lowest_deletion_cost_first() {
    let Cluster {
        w: _w, sets, pods, ..
    } = Cluster::start(None, &[]).await;
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "costs"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "costs"}},
            "template": {"metadata": {"labels": {"app": "costs"}}, "spec": pod_spec("1.0.0", false)}},
    }))
    .unwrap();
    sets.create(&PostParams::default(), &rs).await.unwrap();
    let ready = eventually(20, "three ready pods", || async {
        let l = live_pods(&pods, "app=costs").await;
        (l.len() == 3
            && l.iter()
                .all(|p| condition(p, "Ready").as_deref() == Some("True")))
        .then_some(l)
    })
    .await;
    let (cheap, costly, plain) = (name(&ready[0]), name(&ready[1]), name(&ready[2]));
    for (pod, cost) in [(&cheap, "-100"), (&costly, "50")] {
        pods.patch(
            pod,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {DELETION_COST: cost}}})),
        )
        .await
        .unwrap();
    }
    let scale = |n: i32| {
        let sets = sets.clone();
        async move {
            sets.patch(
                "costs",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": n}})),
            )
            .await
            .unwrap();
        }
    };
    scale(2).await;
    let left = eventually(20, "one pod removed", || async {
        let l = live_pods(&pods, "app=costs").await;
        (l.len() == 2).then_some(l.iter().map(name).collect::<Vec<_>>())
    })
    .await;
    assert!(!left.contains(&cheap), "the cheapest went first: {left:?}");
    scale(1).await;
    let left = eventually(20, "another pod removed", || async {
        let l = live_pods(&pods, "app=costs").await;
        (l.len() == 1).then_some(l.iter().map(name).collect::<Vec<_>>())
    })
    .await;
    assert_eq!(left, vec![costly], "cost 0 ({plain}) before cost 50");
}

#[tokio::test]
async fn a_rollout_with_max_unavailable_0_waits_for_the_new_pods_gate() {
    let Cluster {
        w: _w,
        deploys,
        pods,
        ..
    } = Cluster::start(None, &[deployment("roll", 2, "1.0.0", true)]).await;
    let open = |pod: String| {
        let pods = pods.clone();
        async move {
            pods.patch_status(
                &pod,
                &PatchParams::default(),
                &Patch::Strategic(
                    json!({"status": {"conditions": [{"type": DRAIN_GATE, "status": "True"}]}}),
                ),
            )
            .await
            .unwrap();
        }
    };
    let version = |p: &Pod| {
        p.spec.as_ref().unwrap().containers[0]
            .image
            .clone()
            .unwrap_or_default()
    };
    for _ in 0..2 {
        let p = eventually(20, "a gated first pod", || async {
            live_pods(&pods, "app=roll").await.into_iter().find(|p| {
                condition(p, "ContainersReady").as_deref() == Some("True")
                    && condition(p, "Ready").as_deref() == Some("False")
            })
        })
        .await;
        open(name(&p)).await;
        wait_ready(&pods, &name(&p)).await;
    }
    eventually(20, "the Deployment available", || async {
        let d = deploys.get("roll").await.ok()?;
        (d.status?.available_replicas == Some(2)).then_some(())
    })
    .await;

    deploys
        .patch(
            "roll",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": pod_spec("2.0.0", true)}}})),
        )
        .await
        .unwrap();
    for step in 0..2 {
        let new = eventually(20, "a new pod with its containers ready", || async {
            live_pods(&pods, "app=roll").await.into_iter().find(|p| {
                version(p).ends_with(":2.0.0")
                    && condition(p, "ContainersReady").as_deref() == Some("True")
                    && condition(p, "Ready").as_deref() == Some("False")
            })
        })
        .await;
        // Forty simulated seconds with the gate shut: no old pod goes.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let old: Vec<Pod> = live_pods(&pods, "app=roll")
            .await
            .into_iter()
            .filter(|p| version(p).ends_with(":1.0.0"))
            .collect();
        assert_eq!(old.len(), 2 - step, "step {step}: old pods kept");
        open(name(&new)).await;
        eventually(20, "an old pod removed once the gate opened", || async {
            let old = live_pods(&pods, "app=roll")
                .await
                .into_iter()
                .filter(|p| version(p).ends_with(":1.0.0"))
                .count();
            (old == 1 - step).then_some(())
        })
        .await;
    }
    eventually(20, "the rollout complete", || async {
        let d = deploys.get("roll").await.ok()?;
        let s = d.status?;
        (s.updated_replicas == Some(2) && s.available_replicas == Some(2)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flightdeck_sim_registers_into_the_etcd_it_is_given() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let etcd = support::etcd::Etcd::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let fd = support::cli::Flightdeck::new(&etcd.url(), &kubeconfig);
    let (url, kc) = (etcd.url(), kubeconfig.display().to_string());
    let mut sim = fd
        .command(&[
            "sim",
            "--kubeconfig-out",
            &kc,
            "--groups",
            "1",
            "--pods",
            "1",
            "--time-scale",
            "0.05",
            "--registry",
            &url,
        ])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let said = tokio::time::timeout(Duration::from_secs(30), async {
        let mut said = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.starts_with("registering ready pods at");
            said.push(line);
            if done {
                return said;
            }
        }
        panic!("sim ended early: {said:?}");
    })
    .await
    .expect("the sim comes up within 30s");
    assert!(
        said[1].contains(&format!("/services/<group>/<ip:port> in {url}")),
        "{said:?}"
    );
    let cfg = flightdeck::store::StoreConfig::parse(&url, Default::default()).unwrap();
    let registry = flightdeck::store::connect_registry(&cfg).await.unwrap();
    let keys = eventually(30, "the demo's ready pods registered", || async {
        let (kvs, _) = registry.list("/services/").await.ok()?;
        (!kvs.is_empty()).then_some(kvs)
    })
    .await;
    let v: Value = serde_json::from_slice(&keys[0].value).unwrap();
    assert_eq!(v["weight"], 100, "{v}");
    sim.kill().await.unwrap();
}
