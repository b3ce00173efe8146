//! The simulated API server through the real kube-rs client: verbs, selectors, paging,
//! watches, conflicts, server-side apply, watch recovery, the kubeconfig.

mod support;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use support::{Sim, deployment};

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
async fn malformed_objects_are_refused_and_nothing_breaks() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let send = |method: &str, path: &str, ct: &str, body: &str| {
        let req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", ct)
            .body(body.as_bytes().to_vec())
            .unwrap();
        let client = client.clone();
        async move { client.request_text(req).await }
    };
    let deploys = "/apis/apps/v1/namespaces/default/deployments";
    let mut bad = deployment("default", "bad", "app:v1", 1);
    bad["spec"]["template"]["metadata"]["labels"] = json!("not a map");
    for (method, path, ct, body) in [
        (
            "POST",
            deploys.to_string(),
            "application/json",
            bad.to_string(),
        ),
        (
            "POST",
            deploys.to_string(),
            "application/json",
            "[1, 2]".to_string(),
        ),
        (
            "POST",
            deploys.to_string(),
            "application/json",
            "{not json".to_string(),
        ),
        (
            "POST",
            "/api/v1/namespaces/default/pods".into(),
            "application/json",
            r#"{"metadata": "x"}"#.into(),
        ),
    ] {
        let err = api_status(send(method, &path, ct, &body).await.unwrap_err());
        assert!(
            matches!(err.code, 400 | 422),
            "{method} {path} {body}: {err:?}"
        );
    }
    let good = deployment("default", "good", "app:v1", 1);
    send("POST", deploys, "application/json", &good.to_string())
        .await
        .unwrap();
    let web = format!("{deploys}/good");
    for (ct, body) in [
        ("application/merge-patch+json", r#"{"metadata": "x"}"#),
        ("application/merge-patch+json", r#""just a string""#),
        (
            "application/json-patch+json",
            r#"[{"op": "replace", "path": "/spec/replicas", "value": "three"}]"#,
        ),
        (
            "application/strategic-merge-patch+json",
            r#"{"spec": {"template": {"spec": {"containers": 5}}}}"#,
        ),
    ] {
        let err = api_status(send("PATCH", &web, ct, body).await.unwrap_err());
        assert_eq!(err.code, 422, "{ct} {body}: {err:?}");
    }
    // The controllers survived: the good deployment still rolls out.
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    support::eventually(10, "good deployment available", || async {
        let d = api.get("good").await.ok()?;
        (d.status?.available_replicas == Some(1)).then_some(())
    })
    .await;
    sim.handle.shutdown().await;
}
