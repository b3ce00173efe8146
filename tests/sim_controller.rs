//! The built-in controllers and kubelet through kube-rs: deployments roll out, scale and
//! are collected; scenarios make pods crash, fail readiness or fail to pull.

mod support;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use support::{Sim, deployment, eventually};

async fn pods_of(pods: &Api<Pod>, app: &str) -> Vec<Pod> {
    pods.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
}

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn warning_events(events: &Api<Event>, pod: &str, reason: &str) -> Vec<Event> {
    let fs = format!("involvedObject.name={pod}");
    events
        .list(&ListParams::default().fields(&fs))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason) && e.type_.as_deref() == Some("Warning"))
        .collect()
}

fn waiting_reason(p: &Pod) -> Option<String> {
    p.status.as_ref()?.container_statuses.as_ref()?[0]
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

#[tokio::test]
async fn deployment_lifecycle_rollout_and_scale_to_zero() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(deployment("default", "web", "web:v1", 3)).unwrap();
    deploys.create(&PostParams::default(), &d).await.unwrap();

    eventually(10, "3 ready pods", || async {
        let ps = pods_of(&pods, "web").await;
        (ps.len() == 3 && ps.iter().all(ready)).then_some(())
    })
    .await;
    let rolled_out = |image: &'static str| {
        let (deploys, pods) = (deploys.clone(), pods.clone());
        async move {
            let d = deploys.get("web").await.unwrap();
            let st = d.status.clone().unwrap_or_default();
            let conds = st.conditions.clone().unwrap_or_default();
            let available = conds
                .iter()
                .any(|c| c.type_ == "Available" && c.status == "True");
            let done = st.observed_generation == d.metadata.generation
                && st.updated_replicas == Some(3)
                && st.available_replicas == Some(3)
                && st.replicas == Some(3)
                && available;
            let ps = pods_of(&pods, "web").await;
            let images_ok = ps.len() == 3
                && ps.iter().all(|p| {
                    p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some(image)
                });
            (done && images_ok).then_some(())
        }
    };
    eventually(10, "deployment available", || rolled_out("web:v1")).await;

    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:v2"}]}}}});
    deploys
        .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap();
    eventually(20, "rolling update to v2", || rolled_out("web:v2")).await;
    let sets = rss
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items;
    assert_eq!(sets.len(), 2, "one ReplicaSet per template");
    let new_rs = sets
        .iter()
        .find(|rs| {
            rs.spec
                .as_ref()
                .unwrap()
                .template
                .as_ref()
                .unwrap()
                .spec
                .as_ref()
                .unwrap()
                .containers[0]
                .image
                .as_deref()
                == Some("web:v2")
        })
        .expect("new ReplicaSet");
    assert_eq!(new_rs.spec.as_ref().unwrap().replicas, Some(3));
    assert!(
        new_rs
            .metadata
            .labels
            .as_ref()
            .unwrap()
            .contains_key("pod-template-hash")
    );
    let d = deploys.get("web").await.unwrap();
    let progressing = d
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert_eq!(
        progressing.reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );

    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await
        .unwrap();
    eventually(10, "no pods left", || async {
        pods_of(&pods, "web").await.is_empty().then_some(())
    })
    .await;

    // Deleting the deployment takes its ReplicaSets with it.
    deploys
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually(10, "ReplicaSets collected", || async {
        rss.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
            .then_some(())
    })
    .await;
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn scenario_behaviours_show_like_a_real_cluster() {
    let preload = vec![
        deployment("demo", "crash", "app:v2-crash", 1),
        deployment("demo", "unready", "app:v2-unready", 1),
        deployment("demo", "badpull", "app:v2-badpull", 1),
    ];
    let sim = Sim::start_with(Sim::sample_scenario(), preload).await;
    let client = sim.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let events: Api<Event> = Api::namespaced(client.clone(), "demo");

    let crashed = eventually(
        15,
        "CrashLoopBackOff with restarts and BackOff event",
        || async {
            let p = pods_of(&pods, "crash").await.into_iter().next()?;
            let restarts = p.status.as_ref()?.container_statuses.as_ref()?[0].restart_count;
            let last = p.status.as_ref()?.container_statuses.as_ref()?[0]
                .last_state
                .clone()?
                .terminated?;
            let name = p.metadata.name.clone()?;
            (waiting_reason(&p).as_deref() == Some("CrashLoopBackOff")
                && restarts > 0
                && last.exit_code == 1
                && !warning_events(&events, &name, "BackOff").await.is_empty())
            .then_some(p)
        },
    )
    .await;
    assert_eq!(
        crashed.status.unwrap().container_statuses.unwrap()[0]
            .last_state
            .clone()
            .unwrap()
            .terminated
            .unwrap()
            .reason
            .as_deref(),
        Some("Error")
    );

    eventually(15, "Running, not ready, Unhealthy event", || async {
        let p = pods_of(&pods, "unready").await.into_iter().next()?;
        let name = p.metadata.name.clone()?;
        let unhealthy = warning_events(&events, &name, "Unhealthy").await;
        let msg_ok = unhealthy.first().and_then(|e| e.message.clone())?
            == "Readiness probe failed: HTTP probe failed with statuscode: 503";
        (p.status.as_ref()?.phase.as_deref() == Some("Running") && !ready(&p) && msg_ok)
            .then_some(())
    })
    .await;

    eventually(15, "ImagePullBackOff", || async {
        let p = pods_of(&pods, "badpull").await.into_iter().next()?;
        (waiting_reason(&p).as_deref() == Some("ImagePullBackOff")).then_some(())
    })
    .await;

    // The same events through events.k8s.io/v1, as newer clients read them.
    let v1: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "demo");
    let name = crashed.metadata.name.unwrap();
    let list = v1
        .list(&ListParams::default().fields(&format!("regarding.name={name}")))
        .await
        .unwrap();
    let backoff = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("BackOff"))
        .expect("BackOff in events.k8s.io");
    assert_eq!(backoff.reporting_controller.as_deref(), Some("kubelet"));
    assert!(
        backoff
            .note
            .as_deref()
            .unwrap()
            .starts_with("Back-off restarting failed container app")
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn scenario_switches_at_run_time_and_bad_files_name_their_line() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let create = |name: &'static str| {
        let deploys = deploys.clone();
        async move {
            let d: Deployment =
                serde_json::from_value(deployment("default", name, "app:v3-crash", 1)).unwrap();
            deploys.create(&PostParams::default(), &d).await.unwrap();
        }
    };
    // No rules: even a "-crash" tag runs healthily.
    create("before").await;
    eventually(10, "healthy pod", || async {
        pods_of(&pods, "before")
            .await
            .first()
            .filter(|p| ready(p))
            .map(|_| ())
    })
    .await;
    sim.handle.set_scenario(Sim::sample_scenario());
    create("after").await;
    eventually(10, "crash loop under the new scenario", || async {
        let p = pods_of(&pods, "after").await.into_iter().next()?;
        (waiting_reason(&p).as_deref() == Some("CrashLoopBackOff")).then_some(())
    })
    .await;

    let bad = sim.dir.path().join("bad.yaml");
    std::fs::write(&bad, "rules:\n  - tag: \"*-x\"\n    behaviour: explode\n").unwrap();
    let err = flightdeck::sim::Scenario::from_file(&bad)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("{}:3:", bad.display())), "{err}");
    sim.handle.shutdown().await;
}
