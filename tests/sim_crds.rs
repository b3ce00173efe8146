//! CustomResourceDefinitions, ConfigMaps, Ingresses and the watch/replace semantics of the
//! simulated API server, through the real kube-rs client.

mod support;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::discovery::{Discovery, Scope};
use kube::runtime::watcher;
use serde_json::{Value, json};
use support::Sim;

fn api_status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other}"),
    }
}

fn dynamic(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("a dynamic object")
}

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": true, "storage": true,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                 "subresources": {"status": {}}},
                {"name": "v1beta1", "served": true, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}
            ]
        }
    }))
    .unwrap()
}

fn widget_resource(version: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", version, "Widget"),
        "widgets",
    )
}

fn widget(name: &str, size: i64) -> DynamicObject {
    dynamic(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": size, "parts": ["a", "b"]}
    }))
}

#[tokio::test]
async fn the_routers_crds_are_installed_and_discovered() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names: Vec<String> = crds
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| {
            let established = c
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            assert!(established, "{:?}", c.metadata.name);
            c.metadata.name.unwrap()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "destinationrules.networking.istio.io",
            "gateways.gateway.networking.k8s.io",
            "httproutes.gateway.networking.k8s.io",
            "virtualservices.networking.istio.io",
        ]
    );
    let discovery = Discovery::new(client).run().await.unwrap();
    let find = |group: &str, kind: &str| {
        discovery
            .groups()
            .find(|g| g.name() == group)
            .and_then(|g| {
                g.recommended_resources()
                    .into_iter()
                    .find(|(ar, _)| ar.kind == kind)
            })
            .unwrap_or_else(|| panic!("{group} {kind} discovered"))
    };
    let (vs, caps) = find("networking.istio.io", "VirtualService");
    assert_eq!(
        (vs.version.as_str(), vs.plural.as_str()),
        ("v1", "virtualservices")
    );
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps.subresources.iter().any(|(s, _)| s.plural == "status"));
    let (route, _) = find("gateway.networking.k8s.io", "HTTPRoute");
    assert_eq!(route.plural, "httproutes");
    find("networking.istio.io", "DestinationRule");
    find("gateway.networking.k8s.io", "Gateway");
    let (ingress, _) = find("networking.k8s.io", "Ingress");
    assert_eq!(ingress.version, "v1");
    find("", "ConfigMap");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_crd_registered_at_run_time_serves_its_kind() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let widgets =
        Api::<DynamicObject>::namespaced_with(client.clone(), "default", &widget_resource("v1"));
    // Not served before its CRD exists.
    let err = api_status(widgets.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(err.code, 404);

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &widget_crd())
        .await
        .unwrap();
    let created = widgets
        .create(&PostParams::default(), &widget("w1", 1))
        .await
        .unwrap();
    assert_eq!(
        created.types.as_ref().unwrap().api_version,
        "example.com/v1"
    );
    assert!(created.metadata.uid.is_some());
    let rv1 = created.metadata.resource_version.clone().unwrap();

    // Create again: 409 AlreadyExists.
    let err = api_status(
        widgets
            .create(&PostParams::default(), &widget("w1", 1))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));

    // A watch from the creation sees the later changes, in order.
    let mut events = widgets
        .watch(&WatchParams::default().timeout(10), &rv1)
        .await
        .unwrap()
        .boxed();

    // Merge patch; lists are replaced whole.
    let patched = widgets
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2, "parts": ["c"]}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data["spec"], json!({"size": 2, "parts": ["c"]}));
    assert_eq!(patched.metadata.generation, Some(2));

    // Server-side apply: created, then idempotent.
    let pp = PatchParams::apply("flightdeck").force();
    let applied = widgets
        .patch("w2", &pp, &Patch::Apply(widget("w2", 5)))
        .await
        .unwrap();
    let again = widgets
        .patch("w2", &pp, &Patch::Apply(widget("w2", 5)))
        .await
        .unwrap();
    assert_eq!(
        applied.metadata.resource_version,
        again.metadata.resource_version
    );

    // A replace carrying a stale resourceVersion conflicts; the current one goes through.
    let mut stale = created.clone();
    stale.data["spec"]["size"] = json!(9);
    let err = api_status(
        widgets
            .replace("w1", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(
        err.message.contains("the object has been modified"),
        "{}",
        err.message
    );
    let mut fresh = widgets.get("w1").await.unwrap();
    fresh.data["spec"]["size"] = json!(3);
    let replaced = widgets
        .replace("w1", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(replaced.data["spec"]["size"], 3);

    // Status is a subresource: the main resource ignores it.
    let mut with_status = replaced.clone();
    with_status.data["status"] = json!({"phase": "Ready"});
    let kept = widgets
        .replace("w1", &PostParams::default(), &with_status)
        .await
        .unwrap();
    assert!(kept.data.get("status").is_none());
    let status = widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(status.data["status"]["phase"], "Ready");

    // The other served version shows the same object under its apiVersion.
    let beta = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        "default",
        &widget_resource("v1beta1"),
    );
    let w1 = beta.get("w1").await.unwrap();
    assert_eq!(
        w1.types.as_ref().unwrap().api_version,
        "example.com/v1beta1"
    );
    assert_eq!(
        beta.list(&ListParams::default()).await.unwrap().items.len(),
        2
    );

    let mut seen = Vec::new();
    while let Some(ev) = events.try_next().await.unwrap() {
        if let WatchEvent::Added(o) | WatchEvent::Modified(o) = ev {
            seen.push(o.metadata.name.unwrap());
        }
        if seen.len() == 4 {
            break;
        }
    }
    // The patch, w2's creation, the replace and the status patch; the idempotent apply
    // and the ignored status changed nothing.
    assert_eq!(seen, ["w1", "w2", "w1", "w1"]);

    // Too old a resourceVersion: 410 Gone on the watch.
    sim.handle.expire_watch_history();
    let mut expired = widgets
        .watch(&WatchParams::default(), &rv1)
        .await
        .unwrap()
        .boxed();
    match expired.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => panic!("expected a 410, got {other:?}"),
    }

    widgets
        .delete("w2", &DeleteParams::default())
        .await
        .unwrap();
    let err = api_status(widgets.get("w2").await.unwrap_err());
    assert_eq!(err.code, 404);

    // Deleting the CRD takes its kind and objects with it.
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_status(widgets.get("w1").await.unwrap_err()).code, 404);
    crds.create(&PostParams::default(), &widget_crd())
        .await
        .unwrap();
    assert!(
        widgets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn invalid_crds_are_refused() {
    let sim = Sim::start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(sim.client().await);
    let mut misnamed = widget_crd();
    misnamed.metadata.name = Some("widget.example.com".into());
    let err = api_status(
        crds.create(&PostParams::default(), &misnamed)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422, "{}", err.message);
    let mut no_storage = widget_crd();
    for v in &mut no_storage.spec.versions {
        v.storage = false;
    }
    let err = api_status(
        crds.create(&PostParams::default(), &no_storage)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422, "{}", err.message);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn namespaces_take_their_custom_objects_with_them() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("networking.istio.io", "v1", "VirtualService"),
        "virtualservices",
    );
    let vss = Api::<DynamicObject>::namespaced_with(client, "team", &ar);
    let vs = dynamic(json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "web"},
        "spec": {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}}]}]}
    }));
    vss.create(&PostParams::default(), &vs).await.unwrap();
    namespaces
        .delete("team", &DeleteParams::default())
        .await
        .unwrap();
    assert!(sim.handle.store().count(flightdeck::sim::Kind::Namespace) > 0);
    let (left, _) = sim.handle.store().list(
        flightdeck::sim::custom::by_kind(
            sim.handle.store(),
            "networking.istio.io/v1",
            "VirtualService",
        )
        .unwrap()
        .kind,
        None,
    );
    assert!(left.is_empty());
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn config_maps_secrets_and_ingresses_have_full_crud() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "settings", "labels": {"app": "web"}},
        "data": {"LOG_LEVEL": "info"}
    }))
    .unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    assert_eq!(created.data.as_ref().unwrap()["LOG_LEVEL"], "info");
    let listed = cms
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let pp = PatchParams::apply("flightdeck").force();
    let applied = cms
        .patch(
            "settings",
            &pp,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings"}, "data": {"LOG_LEVEL": "debug"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.as_ref().unwrap()["LOG_LEVEL"], "debug");
    // A stale replace conflicts; one without a resourceVersion replaces unconditionally.
    let err = api_status(
        cms.replace("settings", &PostParams::default(), &created)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    let mut blind = created.clone();
    blind.metadata.resource_version = None;
    blind.data = Some([("LOG_LEVEL".to_string(), "warn".to_string())].into());
    let replaced = cms
        .replace("settings", &PostParams::default(), &blind)
        .await
        .unwrap();
    assert_eq!(replaced.data.unwrap()["LOG_LEVEL"], "warn");
    // Values must be strings: 422.
    let bad = cms
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"n": 1}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_status(bad).code, 422);
    cms.delete("settings", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_status(cms.get("settings").await.unwrap_err()).code, 404);

    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": "token"}, "stringData": {"t": "x"}}))
            .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let got = secrets.get("token").await.unwrap();
    assert_eq!(got.data.unwrap()["t"].0, b"x");

    let ingresses: Api<Ingress> = Api::namespaced(client, "default");
    let ing: Ingress = serde_json::from_value(json!({
        "metadata": {"name": "web", "annotations": {"nginx.ingress.kubernetes.io/canary": "false"}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "web.local", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    }))
    .unwrap();
    let created = ingresses
        .create(&PostParams::default(), &ing)
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let patched = ingresses
        .patch("web", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"annotations": {"nginx.ingress.kubernetes.io/canary-weight": "10"}}})))
        .await
        .unwrap();
    assert_eq!(
        patched.metadata.annotations.unwrap()["nginx.ingress.kubernetes.io/canary-weight"],
        "10"
    );
    let mut no_path_type = serde_json::to_value(&ing).unwrap();
    no_path_type["metadata"]["name"] = json!("broken");
    no_path_type["spec"]["rules"][0]["http"]["paths"][0]
        .as_object_mut()
        .unwrap()
        .remove("pathType");
    let err = ingresses
        .create(
            &PostParams::default(),
            &serde_json::from_value(no_path_type).unwrap_or(ing),
        )
        .await;
    // k8s-openapi itself may refuse to build the object; the server refuses it if sent.
    if let Err(e) = err {
        assert_eq!(api_status(e).code, 422);
    }
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_watch_without_resource_version_starts_with_every_object() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for n in ["a", "b", "c"] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": n, "labels": {"set": "x"}}}))
                .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let other: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "z"}})).unwrap();
    cms.create(&PostParams::default(), &other).await.unwrap();
    for rv in ["", "0"] {
        let mut stream = cms
            .watch(&WatchParams::default().labels("set=x").timeout(5), rv)
            .await
            .unwrap()
            .boxed();
        let mut added = Vec::new();
        for _ in 0..3 {
            match tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await {
                Ok(Ok(Some(WatchEvent::Added(o)))) => added.push(o.metadata.name.unwrap()),
                other => panic!("rv {rv:?}: expected ADDED, got {other:?}"),
            }
        }
        added.sort();
        assert_eq!(added, ["a", "b", "c"], "rv {rv:?}");
        // Then live events.
        let d: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("d{}", rv.len()), "labels": {"set": "x"}}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &d).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await {
            Ok(Ok(Some(WatchEvent::Added(o)))) => {
                assert!(o.metadata.name.unwrap().starts_with('d'))
            }
            other => panic!("expected the live ADDED, got {other:?}"),
        }
        cms.delete(&format!("d{}", rv.len()), &DeleteParams::default())
            .await
            .unwrap();
    }

    // The streaming-list watcher gets the same objects, then its initial-events bookmark.
    let cfg = watcher::Config::default().labels("set=x").streaming_lists();
    let mut stream = watcher(cms.clone(), cfg).boxed();
    let mut names = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await {
            Ok(Ok(Some(watcher::Event::InitApply(o)))) => names.push(o.metadata.name.unwrap()),
            Ok(Ok(Some(watcher::Event::InitDone))) => break,
            Ok(Ok(Some(_))) => {}
            other => panic!("streaming list: {other:?}"),
        }
    }
    names.sort();
    assert_eq!(names, ["a", "b", "c"]);
    sim.handle.shutdown().await;
}
