//! Mesh and ingress routers end to end (issue 11): the release binary, a controller in its
//! own process, a real etcd and the simulated cluster, whose Istio and Gateway API CRDs
//! and Ingress kind are served like a real API server's. Each router's objects after a
//! deploy, weights 5/33/50 exact, a header route, promote and abort read back at 100 %
//! stable, and drift when someone edits the route by hand.

mod support;
#[path = "support/traffic.rs"]
mod traffic;

use flightdeck::domain::{GroupKey, Release};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use support::cli::*;
use support::groups::*;
use support::world::World;

fn group_yaml(router: &str, extra: &str) -> String {
    web_group(
        10,
        &format!(
            r#"  strategy:
    traffic: {{ router: {router} {extra} }}
    steps:
      - setWeight: 5
      - pause: {{}}
      - setHeaderRoute: {{ name: beta, match: [ {{ header: x-beta, exact: "1" }} ] }}
      - pause: {{}}
"#
        ),
    )
}

/// The shared world with the shop's `web` behind `router`, deployed once, and a client
/// on its cluster.
struct Routed {
    w: World,
    client: kube::Client,
}

impl std::ops::Deref for Routed {
    type Target = World;
    fn deref(&self) -> &World {
        &self.w
    }
}

async fn world(router: &str, extra: &str, preload: Vec<Value>) -> Routed {
    world_with(router, extra, preload, Default::default()).await
}

async fn world_with(
    router: &str,
    extra: &str,
    preload: Vec<Value>,
    scenario: flightdeck::sim::Scenario,
) -> Routed {
    let w = World::builder()
        .scenario(scenario)
        .objects(preload)
        .controller()
        .start()
        .await;
    w.apply_estate(SERVICE_TEMPLATE, Some(&group_yaml(router, extra)))
        .await;
    w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    let client = w.sim.client().await;
    Routed { w, client }
}

impl Routed {
    async fn release(&self) -> Release {
        let key = GroupKey::new("sim", NAMESPACE, "web");
        self.store.get_release(&key).await.unwrap().unwrap().value
    }

    fn api(&self, api_version: &str, kind: &str) -> Api<DynamicObject> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        Api::namespaced_with(self.client.clone(), NAMESPACE, &ar)
    }

    async fn get(&self, api_version: &str, kind: &str, name: &str) -> Value {
        let o = self
            .api(api_version, kind)
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("{kind} {name}: {e}"));
        serde_json::to_value(o).unwrap()
    }

    async fn replicas(&self, name: &str) -> i64 {
        let d = self.get("apps/v1", "Deployment", name).await;
        d["spec"]["replicas"].as_i64().unwrap()
    }
}

/// The canary's share of the VirtualService's default route.
fn istio_weight(vs: &Value) -> (i64, i64) {
    let http = vs["spec"]["http"].as_array().unwrap();
    let primary = http.iter().find(|r| r["name"] == "primary").unwrap();
    let w = |i: usize| primary["route"][i]["weight"].as_i64().unwrap();
    (w(0), w(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_weights_are_exact_header_routes_apply_and_abort_reads_back_all_stable() {
    let w = world("istio", "", vec![]).await;
    let out =
        w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
            .await
            .expect(0);
    assert!(said(&out).contains("exact through istio"), "{out:?}");
    let dr = w
        .get("networking.istio.io/v1", "DestinationRule", "web")
        .await;
    assert_eq!(
        dr["spec"]["subsets"][1]["labels"]["flightdeck.dev/track"],
        "canary"
    );
    let vs = w
        .get("networking.istio.io/v1", "VirtualService", "web")
        .await;
    assert_eq!(istio_weight(&vs), (95, 5));
    // 5 % of 10 pods: the canary gets one pod, stable keeps all ten.
    assert_eq!(
        (w.replicas("web").await, w.replicas("web-canary").await),
        (10, 1)
    );

    for weight in [33, 50] {
        let out =
            w.fd.run(&["weight", "web", &weight.to_string()])
                .await
                .expect(0);
        assert!(
            said(&out).contains(&format!("router: canary {weight}%")),
            "{out:?}"
        );
        let vs = w
            .get("networking.istio.io/v1", "VirtualService", "web")
            .await;
        assert_eq!(istio_weight(&vs), (100 - weight, weight));
        let r = w.release().await;
        assert_eq!(r.router.as_ref().and_then(|s| s.weight), Some(weight as u8));
    }

    // The next step sets the header route.
    w.fd.run(&["step", "web"]).await.expect(0);
    let vs = w
        .get("networking.istio.io/v1", "VirtualService", "web")
        .await;
    let beta = &vs["spec"]["http"][0];
    assert_eq!(beta["name"], "beta");
    assert_eq!(beta["match"][0]["headers"]["x-beta"]["exact"], "1");
    assert_eq!(beta["route"][0]["destination"]["subset"], "canary");

    // Someone sets 80 % by hand: status says so, loudly.
    let mut edited = vs.clone();
    let n = edited["spec"]["http"].as_array().unwrap().len();
    edited["spec"]["http"][n - 1]["route"][0]["weight"] = json!(20);
    edited["spec"]["http"][n - 1]["route"][1]["weight"] = json!(80);
    let patch = json!({ "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": { "name": "web" }, "spec": edited["spec"] });
    w.api("networking.istio.io/v1", "VirtualService")
        .patch(
            "web",
            &PatchParams::apply("someone").force(),
            &Patch::Apply(&patch),
        )
        .await
        .unwrap();
    let out = w.fd.run(&["status", "web"]).await.expect(0);
    assert!(
        out.stdout
            .contains("MISMATCH — istio holds canary 80% but 50% was asked for"),
        "{out:?}"
    );

    // Abort: all traffic back on stable, read back, header route gone.
    let out = w.fd.run(&["abort", "web"]).await.expect(0);
    assert!(said(&out).contains("router: canary 0%"), "{out:?}");
    let vs = w
        .get("networking.istio.io/v1", "VirtualService", "web")
        .await;
    assert_eq!(istio_weight(&vs), (100, 0));
    assert_eq!(vs["spec"]["http"].as_array().unwrap().len(), 1);
    assert_eq!(w.replicas("web-canary").await, 0);
    let r = w.release().await;
    let state = r.router.expect("read back");
    assert_eq!((state.weight, state.note), (Some(0), None));
    drop(w);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_api_splits_between_the_track_services_and_promote_clears_it() {
    let w = world("gateway-api", ", gateway: edge, host: shop.example", vec![]).await;
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    let canary = w.get("v1", "Service", "web-canary").await;
    assert_eq!(canary["spec"]["selector"]["flightdeck.dev/track"], "canary");
    assert_eq!(canary["spec"]["ports"][0]["port"], 8080);
    w.fd.run(&["weight", "web", "33"]).await.expect(0);
    let route = w
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "web")
        .await;
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "edge");
    let refs = &route["spec"]["rules"][0]["backendRefs"];
    assert_eq!(
        (refs[0]["name"].clone(), refs[0]["weight"].clone()),
        (json!("web-stable"), json!(67))
    );
    assert_eq!(
        (refs[1]["name"].clone(), refs[1]["weight"].clone()),
        (json!("web-canary"), json!(33))
    );

    let out = w.fd.run(&["promote", "web"]).await.expect(0);
    assert!(said(&out).contains("router: canary 0%"), "{out:?}");
    let route = w
        .get("gateway.networking.k8s.io/v1", "HTTPRoute", "web")
        .await;
    assert_eq!(route["spec"]["rules"][0]["backendRefs"][1]["weight"], 0);
    assert_eq!(w.release().await.stable_revision, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_adds_a_canary_ingress_beside_the_stable_one() {
    let stable = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": { "name": "web", "namespace": NAMESPACE },
        "spec": { "ingressClassName": "nginx", "rules": [ { "host": "shop.example", "http": {
            "paths": [ { "path": "/", "pathType": "Prefix", "backend": {
                "service": { "name": "web", "port": { "number": 8080 } } } } ] } } ] }
    });
    let w = world("nginx", "", vec![stable]).await;
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    w.fd.run(&["weight", "web", "50"]).await.expect(0);
    let canary = w.get("networking.k8s.io/v1", "Ingress", "web-canary").await;
    let notes = &canary["metadata"]["annotations"];
    assert_eq!(notes["nginx.ingress.kubernetes.io/canary"], "true");
    assert_eq!(notes["nginx.ingress.kubernetes.io/canary-weight"], "50");
    assert_eq!(canary["spec"]["rules"][0]["host"], "shop.example");
    let stable = w.get("networking.k8s.io/v1", "Ingress", "web").await;
    let backend = &stable["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"];
    assert_eq!(
        backend, "web-stable",
        "stable traffic reaches stable pods only"
    );
    w.fd.run(&["step", "web"]).await.expect(0);
    let canary = w.get("networking.k8s.io/v1", "Ingress", "web-canary").await;
    assert_eq!(
        canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-by-header"],
        "x-beta"
    );
    w.fd.run(&["abort", "web"]).await.expect(0);
    let canary = w.get("networking.k8s.io/v1", "Ingress", "web-canary").await;
    assert_eq!(
        canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"],
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_router_cannot_do_is_refused_when_the_group_is_applied() {
    let w = World::builder()
        .controller()
        .shop(&[&me(), "system:agent"], &[])
        .start()
        .await;
    let g = w.fd.file("bad.yaml", &group_yaml("replicas", ""));
    let out = w.fd.run(&["groups", "apply", "-f", &g]).await;
    assert_ne!(out.code, 0);
    assert!(said(&out).contains("replicas router cannot"), "{out:?}");
    assert_eq!(said(&out).trim().lines().count(), 1, "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_watch_sees_the_router_and_its_hand_edit() {
    use flightdeck::model::Update;
    let w = world("istio", "", vec![]).await;
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let _watch = flightdeck::kube::watch::spawn_watchers(
        w.client.clone(),
        "sim",
        &[NAMESPACE.to_string()],
        tx,
    );
    let listed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(Update::RoutersListed { kind, rows, .. }) = rx.recv().await
                && kind == "VirtualService"
            {
                return rows;
            }
        }
    })
    .await
    .expect("the VirtualService watch lists");
    assert_eq!(listed.len(), 1);
    assert_eq!(istio_weight(&listed[0].object), (95, 5));

    let vs = w
        .get("networking.istio.io/v1", "VirtualService", "web")
        .await;
    let mut spec = vs["spec"].clone();
    spec["http"][0]["route"][0]["weight"] = json!(40);
    spec["http"][0]["route"][1]["weight"] = json!(60);
    let patch = json!({ "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": { "name": "web" }, "spec": spec });
    w.api("networking.istio.io/v1", "VirtualService")
        .patch(
            "web",
            &PatchParams::apply("someone").force(),
            &Patch::Apply(&patch),
        )
        .await
        .unwrap();
    let edited = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(Update::RouterApplied { row, .. }) = rx.recv().await
                && row.kind == "VirtualService"
            {
                return row;
            }
        }
    })
    .await
    .expect("the edit is seen");
    assert_eq!(istio_weight(&edited.object), (40, 60));
}

/// The canary's share of at least 10,000 requests served by the group's pods from now on.
async fn observed_share(w: &Routed) -> f64 {
    use std::time::{Duration, Instant};
    let pods = traffic::ready_pods(&w.client, NAMESPACE, 11).await;
    let before = traffic::served(&w.client, NAMESPACE, 8080, &pods).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = traffic::served(&w.client, NAMESPACE, 8080, &pods).await;
        let total = now.0 + now.1 - before.0 - before.1;
        if total >= 10_000 {
            return (now.1 - before.1) as f64 / total as f64;
        }
        assert!(Instant::now() < deadline, "only {total} requests");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_flightdecks_istio_objects_ask_for_is_the_split_the_pods_serve() {
    let scenario = flightdeck::sim::Scenario::from_yaml("traffic: { rps: 5000 }\n").unwrap();
    let w = world_with("istio", "", vec![], scenario).await;
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    w.fd.run(&["weight", "web", "33"]).await.expect(0);
    let share = observed_share(&w).await;
    assert!(
        (share - 0.33).abs() <= 0.03,
        "canary share {share:.3}, asked 33%"
    );
}
