//! flightdeck's own watchers (kube/watch.rs) against the simulated cluster: they list the
//! groups' namespaces, follow changes, and after a restarted API server or an expired
//! watch (410) resume on their own — the header's cluster state says `reconnecting`
//! meanwhile and `connected` after.

mod support;

use std::time::{Duration, Instant};

use flightdeck::domain::GroupKey;
use flightdeck::kube::spawn_watchers;
use flightdeck::model::{Conn, Estate, Part, Update};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use support::Sim;
use tokio::sync::mpsc;

fn group_deployment(name: &str, replicas: i64) -> serde_json::Value {
    let labels = json!({"flightdeck.dev/group": name, "flightdeck.dev/track": "stable", "flightdeck.dev/app": "shop"});
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": "registry.local/web:1.0"}]}}}
    })
}

fn group(name: &str) -> flightdeck::domain::InstanceGroup {
    serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{name: {name}, app: shop}}\n\
         spec: {{cluster: sim, namespace: shop, template: t, params: {{tag: '1.0', replicas: 2}}}}"
    ))
    .unwrap()
}

/// Applies updates until `done` holds for the estate, recording connection states seen.
async fn pump(
    rx: &mut mpsc::Receiver<Update>,
    estate: &mut Estate,
    seen: &mut Vec<Conn>,
    what: &str,
    done: impl Fn(&Estate) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(estate) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(u)) => {
                if let Update::Connection {
                    part: Part::Cluster(_),
                    state,
                } = &u
                {
                    seen.push(state.clone());
                }
                estate.apply(u);
            }
            _ => panic!("timed out waiting for {what}; connection states seen: {seen:?}"),
        }
    }
}

fn ready_pods(e: &Estate, key: &GroupKey) -> usize {
    e.pods_of(key).iter().filter(|p| p.is_ready()).count()
}

#[tokio::test]
async fn watchers_follow_changes_and_recover_from_restart_and_410() {
    let sim = Sim::start_with(
        Default::default(),
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
            group_deployment("web", 2),
        ],
    )
    .await;
    let client = sim.client().await;
    let (tx, mut rx) = mpsc::channel(1024);
    let _watchers = spawn_watchers(client.clone(), "sim", &["shop".to_string()], tx);
    let mut estate = Estate::new();
    estate.apply(Update::StoreReloaded {
        groups: vec![group("web")],
        releases: vec![],
    });
    let key = GroupKey::new("sim", "shop", "web");
    let mut seen = Vec::new();

    pump(&mut rx, &mut estate, &mut seen, "2 ready pods", |e| {
        ready_pods(e, &key) == 2
    })
    .await;
    assert_eq!(estate.cluster_connection("sim"), Conn::Connected);
    assert!(estate.all_groups_have_status());
    pump(&mut rx, &mut estate, &mut seen, "the group's events", |e| {
        !e.events_of(&key).is_empty()
    })
    .await;

    // The API server goes away for a while and comes back: the watchers notice, retry
    // with back-off, and resume.
    sim.handle.stop_api().await;
    pump(&mut rx, &mut estate, &mut seen, "reconnecting", |e| {
        matches!(e.cluster_connection("sim"), Conn::Reconnecting(_))
    })
    .await;
    sim.handle.start_api().expect("listen again");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .expect("scale after restart");
    pump(
        &mut rx,
        &mut estate,
        &mut seen,
        "4 ready pods after the restart",
        |e| ready_pods(e, &key) == 4,
    )
    .await;
    assert_eq!(estate.cluster_connection("sim"), Conn::Connected);

    // History expires (a 410 for the next watch): the watchers relist and keep going.
    sim.handle.expire_watch_history();
    sim.handle.restart_api().await.expect("restart");
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}})),
        )
        .await
        .expect("scale after expiry");
    pump(
        &mut rx,
        &mut estate,
        &mut seen,
        "1 pod after the 410",
        |e| e.pods_of(&key).len() == 1 && ready_pods(e, &key) == 1,
    )
    .await;
    pump(&mut rx, &mut estate, &mut seen, "connected", |e| {
        e.cluster_connection("sim") == Conn::Connected
    })
    .await;
    assert!(
        !seen
            .iter()
            .any(|c| matches!(c, Conn::Reconnecting(m) if m.contains("Expired"))),
        "an expired watch is routine, not an outage: {seen:?}"
    );
}
