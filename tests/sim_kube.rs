//! The simulated cluster through the real kube-rs client: verbs, watches, conflicts,
//! server-side apply, watch recovery, the controllers and the scenario behaviours.

mod support;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Namespace, Pod, Service};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use support::{Sim, deployment, eventually};

fn service(name: &str, app: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"selector": {"app": app}, "ports": [{"port": 80}]}
    }))
    .unwrap()
}

fn api_status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn list_get_and_selectors() {
    let sim = Sim::start().await;
    let svcs: Api<Service> = Api::namespaced(sim.client().await, "default");
    for (n, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
        svcs.create(&PostParams::default(), &service(n, app))
            .await
            .unwrap();
    }
    let all = svcs.list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 3);
    let web = svcs
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(web.items.len(), 2);
    let not_web = svcs
        .list(&ListParams::default().labels("app notin (web)"))
        .await
        .unwrap();
    assert_eq!(not_web.items[0].metadata.name.as_deref(), Some("c"));
    let by_name = svcs
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let got = svcs.get("a").await.unwrap();
    assert!(
        got.spec.unwrap().cluster_ip.is_some(),
        "clusterIP allocated"
    );
    let missing = api_status(svcs.get("nope").await.unwrap_err());
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    let dup = api_status(
        svcs.create(&PostParams::default(), &service("a", "web"))
            .await
            .unwrap_err(),
    );
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));

    // Paging: three pages of one, one consistent resourceVersion.
    let page1 = svcs.list(&ListParams::default().limit(1)).await.unwrap();
    let token = page1.metadata.continue_.clone().expect("continue token");
    let page2 = svcs
        .list(&ListParams::default().limit(1).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(
        page1.metadata.resource_version,
        page2.metadata.resource_version
    );
    assert_ne!(page1.items[0].metadata.name, page2.items[0].metadata.name);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn watch_sees_changes_in_order() {
    let sim = Sim::start().await;
    let svcs: Api<Service> = Api::namespaced(sim.client().await, "default");
    let rv = svcs
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = svcs
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    svcs.create(&PostParams::default(), &service("w", "web"))
        .await
        .unwrap();
    let patch = json!({"metadata": {"labels": {"tier": "front"}}});
    svcs.patch("w", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    svcs.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Added(s) => seen.push(("ADDED", s)),
            WatchEvent::Modified(s) => seen.push(("MODIFIED", s)),
            WatchEvent::Deleted(s) => seen.push(("DELETED", s)),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
        }
    }
    let kinds: Vec<_> = seen.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    let rvs: Vec<u64> = seen
        .iter()
        .map(|(_, s)| {
            s.metadata
                .resource_version
                .as_ref()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "increasing: {rvs:?}");
    assert_eq!(seen[1].1.metadata.labels.as_ref().unwrap()["tier"], "front");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn stale_resource_version_conflicts() {
    let sim = Sim::start().await;
    let svcs: Api<Service> = Api::namespaced(sim.client().await, "default");
    let created = svcs
        .create(&PostParams::default(), &service("s", "web"))
        .await
        .unwrap();
    let mut first = created.clone();
    first
        .metadata
        .labels
        .get_or_insert_default()
        .insert("v".into(), "1".into());
    svcs.replace("s", &PostParams::default(), &first)
        .await
        .unwrap();
    let mut stale = created.clone();
    stale
        .metadata
        .labels
        .get_or_insert_default()
        .insert("v".into(), "2".into());
    let err = api_status(
        svcs.replace("s", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    // The same through server-side apply.
    let err = api_status(
        svcs.patch("s", &PatchParams::apply("test"), &Patch::Apply(&stale))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_is_idempotent() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let svcs: Api<Service> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("flightdeck").force();
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
    let first = svcs.patch("s", &pp, &Patch::Apply(&svc)).await.unwrap();
    let second = svcs.patch("s", &pp, &Patch::Apply(&svc)).await.unwrap();
    assert_eq!(
        first.metadata.resource_version,
        second.metadata.resource_version
    );

    let deploys: Api<Deployment> = Api::namespaced(client, "default");
    let d = deployment("default", "web", "web:v1", 1);
    let first = deploys.patch("web", &pp, &Patch::Apply(&d)).await.unwrap();
    let second = deploys.patch("web", &pp, &Patch::Apply(&d)).await.unwrap();
    assert_eq!(first.metadata.generation, Some(1));
    assert_eq!(
        second.metadata.generation,
        Some(1),
        "unchanged apply keeps generation"
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn expired_watch_gets_410_and_watcher_relists() {
    let sim = Sim::start().await;
    let svcs: Api<Service> = Api::namespaced(sim.client().await, "default");
    let old_rv = svcs
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    svcs.create(&PostParams::default(), &service("before", "web"))
        .await
        .unwrap();

    let mut seen = watcher(svcs.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), seen.try_next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.unwrap().metadata.name.as_deref(), Some("before"));

    // A change the service watcher does not see moves the global resourceVersion past
    // the watcher's, so once history is forgotten its next watch is too old.
    let namespaces: Api<Namespace> = Api::all(sim.client().await);
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "bump"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    sim.handle.expire_watch_history();
    let mut raw = svcs
        .watch(&WatchParams::default(), &old_rv)
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), raw.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        WatchEvent::Error(s) => assert_eq!((s.code, s.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }

    // Dropping the connection makes the watcher re-watch from a resourceVersion that is
    // now gone: it must relist and carry on.
    sim.handle.restart_api().await.unwrap();
    svcs.create(&PostParams::default(), &service("after", "web"))
        .await
        .unwrap();
    // The watcher reports the 410 on its stream, relists and keeps delivering.
    let (mut saw_410, mut found) = (false, false);
    tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(item) = seen.next().await {
            match item {
                Ok(s) if s.metadata.name.as_deref() == Some("after") => {
                    found = true;
                    return;
                }
                Ok(_) => {}
                Err(watcher::Error::WatchError(s)) => saw_410 |= s.code == 410,
                Err(_) => {}
            }
        }
    })
    .await
    .unwrap();
    assert!(saw_410, "the re-watch was refused with 410");
    assert!(
        found,
        "the watcher delivered the object created after the relist"
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn watcher_resumes_after_api_restart() {
    let sim = Sim::start().await;
    let svcs: Api<Service> = Api::namespaced(sim.client().await, "default");
    let mut seen = watcher(svcs.clone(), watcher::Config::default())
        .default_backoff()
        .touched_objects()
        .boxed();
    svcs.create(&PostParams::default(), &service("one", "web"))
        .await
        .unwrap();
    let next_name = |s: Service| s.metadata.name.unwrap_or_default();
    let first = tokio::time::timeout(Duration::from_secs(5), seen.try_next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next_name(first.unwrap()), "one");
    sim.handle.restart_api().await.unwrap();
    svcs.create(&PostParams::default(), &service("two", "web"))
        .await
        .unwrap();
    let got_two = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(s) = seen.try_next().await.unwrap() {
            if next_name(s) == "two" {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(got_two);
    sim.handle.shutdown().await;
}

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
async fn kubeconfig_is_private_and_points_at_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Sim::start().await;
    let mode = std::fs::metadata(&sim.kubeconfig)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let yaml = std::fs::read_to_string(&sim.kubeconfig).unwrap();
    assert!(yaml.contains(&format!("server: http://{}", sim.handle.addr())));
    assert!(yaml.contains("current-context: sim"));
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
