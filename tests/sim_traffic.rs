//! The simulated clients' traffic splits by the active router (Istio VirtualService,
//! Gateway API HTTPRoute, ingress-nginx canary Ingress): weights and header matches, seen
//! in the pods' own metrics over at least 10,000 requests, within ±3 points.

mod support;
#[path = "support/traffic.rs"]
mod traffic;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};
use support::{Sim, eventually};
use traffic::{ready, served};

const NS: &str = "shop";
const GROUP: &str = "web";
/// Requests a second per router: 10,000 requests take two seconds.
const RPS: f64 = 5000.0;
const REQUESTS: u64 = 10_000;

/// A track's Deployment, labelled as flightdeck's templates label them.
fn track(track: &str, replicas: i64) -> Value {
    let name = if track == "stable" {
        GROUP.to_string()
    } else {
        format!("{GROUP}-{track}")
    };
    let labels = json!({"flightdeck.dev/group": GROUP, "flightdeck.dev/track": track});
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": "app", "image": format!("registry.local/{GROUP}:{track}"), "ports": [{"containerPort": 9000}]}]}}
        }
    })
}

fn service(name: &str, track: Option<&str>) -> Value {
    let mut selector = json!({"flightdeck.dev/group": GROUP});
    if let Some(t) = track {
        selector["flightdeck.dev/track"] = json!(t);
    }
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 9000}]}
    })
}

/// Both tracks, the stable Service (both tracks) and a canary Service (canary track), as
/// the engine makes them for every router.
fn group(stable: i64, canary: i64) -> Vec<Value> {
    vec![
        track("stable", stable),
        track("canary", canary),
        service(GROUP, None),
        service(&format!("{GROUP}-canary"), Some("canary")),
    ]
}

fn scenario(headers: &str) -> flightdeck::sim::Scenario {
    let yaml = format!("traffic:\n  rps: {RPS}\n  headers: {headers}\n");
    flightdeck::sim::Scenario::from_yaml(&yaml).expect("scenario")
}

/// The canary's share of the requests the group's pods serve over at least 10,000.
async fn canary_share(headers: &str, objects: Vec<Value>, pods_expected: usize) -> f64 {
    let sim = Sim::start_with(scenario(headers), objects).await;
    let client = sim.client().await;
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let pods = eventually(30, "every pod ready", || async {
        let list = api.list(&ListParams::default()).await.ok()?.items;
        (list.len() == pods_expected && list.iter().all(ready)).then_some(list)
    })
    .await;
    let before = served(&client, NS, 9000, &pods).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = served(&client, NS, 9000, &pods).await;
        if now.0 + now.1 - before.0 - before.1 >= REQUESTS {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "only {now:?} requests since {before:?}"
        );
    };
    sim.handle.shutdown().await;
    let canary = (after.1 - before.1) as f64;
    let total = (after.0 + after.1 - before.0 - before.1) as f64;
    canary / total
}

fn assert_near(share: f64, want: f64) {
    assert!(
        (share - want).abs() <= 0.03,
        "canary share {:.3}, expected {want} ± 0.03",
        share
    );
}

fn destination_rule() -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": GROUP, "namespace": NS},
        "spec": {"host": GROUP, "subsets": [
            {"name": "stable", "labels": {"flightdeck.dev/track": "stable"}},
            {"name": "canary", "labels": {"flightdeck.dev/track": "canary"}}]}
    })
}

fn virtual_service(http: Value) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": GROUP, "namespace": NS},
        "spec": {"hosts": [GROUP], "http": http}
    })
}

fn weighted(stable: i64, canary: i64) -> Value {
    json!({"route": [
        {"destination": {"host": GROUP, "subset": "stable"}, "weight": stable},
        {"destination": {"host": GROUP, "subset": "canary"}, "weight": canary}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_router_traffic_follows_the_ready_pods() {
    let share = canary_share("[]", group(3, 1), 4).await;
    assert_near(share, 0.25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_weights_split_whatever_the_pod_counts() {
    // Half the pods are canaries; the VirtualService gives them 10 %.
    let mut objects = group(3, 3);
    objects.push(destination_rule());
    objects.push(virtual_service(json!([weighted(90, 10)])));
    assert_near(canary_share("[]", objects, 6).await, 0.10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_header_and_cookie_matches_send_their_share() {
    let mut objects = group(2, 2);
    objects.push(destination_rule());
    objects.push(virtual_service(json!([
        {"match": [{"headers": {"x-canary": {"exact": "always"}}},
                   {"headers": {"cookie": {"regex": ".*canary=always.*"}}}],
         "route": [{"destination": {"host": GROUP, "subset": "canary"}}]},
        weighted(100, 0),
    ])));
    let headers = "[{name: x-canary, value: always, share: 0.1}, {name: cookie, value: \"session=1; canary=always\", share: 0.05}, {name: x-canary, value: never, share: 0.2}]";
    assert_near(canary_share(headers, objects, 4).await, 0.15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_api_weights_and_header_matches() {
    let mut objects = group(2, 2);
    objects.push(service(&format!("{GROUP}-stable"), Some("stable")));
    objects.push(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": GROUP, "namespace": NS},
        "spec": {"parentRefs": [{"name": "public"}], "rules": [
            {"backendRefs": [{"name": format!("{GROUP}-stable"), "port": 80, "weight": 80},
                             {"name": format!("{GROUP}-canary"), "port": 80, "weight": 20}]},
            {"matches": [{"headers": [{"name": "X-Canary", "value": "always"}]}],
             "backendRefs": [{"name": format!("{GROUP}-canary"), "port": 80}]}]}
    }));
    // 10 % by header, and 20 % of the other 90 %.
    let share = canary_share("[{name: x-canary, value: always, share: 0.1}]", objects, 4).await;
    assert_near(share, 0.1 + 0.9 * 0.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_canary_ingress_by_weight_and_header() {
    let ingress = |name: &str, backend: &str, notes: Value| {
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": NS, "annotations": notes},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "web.local", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]}
        })
    };
    let mut objects = group(1, 3);
    objects.push(service(&format!("{GROUP}-stable"), Some("stable")));
    objects.push(ingress(GROUP, &format!("{GROUP}-stable"), json!({})));
    objects.push(ingress(
        &format!("{GROUP}-canary"),
        &format!("{GROUP}-canary"),
        json!({
            "nginx.ingress.kubernetes.io/canary": "true",
            "nginx.ingress.kubernetes.io/canary-weight": "30",
            "nginx.ingress.kubernetes.io/canary-by-header": "x-canary",
        }),
    ));
    let headers =
        "[{name: x-canary, value: always, share: 0.1}, {name: x-canary, value: never, share: 0.1}]";
    assert_near(canary_share(headers, objects, 4).await, 0.1 + 0.8 * 0.3);
}
