//! `cargo bench --bench routers` — a weight change through a mesh router, end to end: the
//! request to the controller (a `flightdeck agent` process) → the VirtualService updated by
//! server-side apply and read back → the answer → the new split seen in the pods' own
//! request counters; and an abort → 100 % stable confirmed by the read-back in its answer.
//! Real etcd on loopback, the simulated cluster (its clients at 5,000 requests/s).

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/support/traffic.rs"]
mod traffic;

use std::time::{Duration, Instant};

use flightdeck::domain::GroupKey;
use flightdeck::engine::Action;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use support::cli::*;
use support::world::World;

const WEIGHTS: [u8; 4] = [10, 30, 50, 20];
const ROUNDS: usize = 8;
const ABORTS: usize = 6;
/// Requests counted after a change before its split is judged.
const WINDOW: u64 = 1_000;

const GROUP: &str = r#"apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: web, app: shop }
spec:
  cluster: sim
  namespace: shop
  template: service
  params: { image: registry.local/shop/web, tag: "1.0.0", replicas: 10, port: 8080 }
  strategy:
    traffic: { router: istio }
    steps: [ { setWeight: 10 }, { pause: {} } ]
"#;

#[tokio::main]
async fn main() {
    let scenario = flightdeck::sim::Scenario::from_yaml("traffic: { rps: 5000 }\n").unwrap();
    let world = World::builder()
        .scenario(scenario)
        .controller()
        .start()
        .await;
    let fd = &world.fd;
    let p = fd.file("policy.yaml", &policy(&[&me(), "system:agent"], &[]));
    fd.run(&["policy", "apply", "-f", &p]).await.expect(0);
    fd.run(&["clusters", "add", "sim"]).await.expect(0);
    let t = fd.file("t.yaml", include_str!("../assets/templates/service.yaml"));
    fd.run(&["templates", "apply", "-f", &t]).await.expect(0);
    let g = fd.file("g.yaml", GROUP);
    fd.run(&["groups", "apply", "-f", &g]).await.expect(0);
    fd.run(&["deploy", "web", "--tag", "1.0.0"]).await.expect(0);

    let key = GroupKey::new("sim", NAMESPACE, "web");
    let ask = |action: Action| world.ask(&key, action);
    let client = world.sim.client().await;

    let mut answered = Vec::new();
    let mut observed = Vec::new();
    for round in 0..ROUNDS {
        ask(Action::Deploy {
            tag: format!("1.{}.0", round + 1),
            params: Default::default(),
        })
        .await;
        traffic::ready_pods(&client, NAMESPACE, 11).await;
        for w in WEIGHTS {
            let before = counts(&client).await;
            let t = Instant::now();
            let said = ask(Action::Weight(w)).await;
            answered.push(t.elapsed());
            assert!(said.contains(&format!("router: canary {w}%")), "{said}");
            // Seen when the requests since the answer split as asked (±3 points); pods
            // that came with the change count from zero.
            loop {
                let (mut stable, mut canary) = (0u64, 0u64);
                for (name, (is_canary, n)) in counts(&client).await {
                    let since = n.saturating_sub(before.get(&name).map_or(0, |b| b.1));
                    if is_canary {
                        canary += since;
                    } else {
                        stable += since;
                    }
                }
                let total = stable + canary;
                let share = canary as f64 * 100.0 / total.max(1) as f64;
                if total >= WINDOW && (share - f64::from(w)).abs() <= 3.0 {
                    observed.push(t.elapsed());
                    break;
                }
                assert!(t.elapsed() < Duration::from_secs(30), "split never seen");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        ask(Action::Promote).await;
    }
    let mut aborts = Vec::new();
    for round in 0..ABORTS {
        ask(Action::Deploy {
            tag: format!("2.{round}.0"),
            params: Default::default(),
        })
        .await;
        ask(Action::Weight(50)).await;
        let t = Instant::now();
        let said = ask(Action::Abort).await;
        aborts.push(t.elapsed());
        assert!(said.contains("router: canary 0%"), "{said}");
    }
    let pct = |v: &mut Vec<Duration>, q: f64| {
        v.sort();
        v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3
    };
    println!(
        "mesh router (istio VirtualService) through the request path: etcd {} on loopback, the simulated cluster (time scale {}, clients 5,000 requests/s, 10 stable pods), flightdeck agent in its own process (release build)",
        world.etcd.url(),
        support::TIME_SCALE
    );
    println!(
        "  weight → VirtualService applied and read back → answer          p50 {:>6.1} ms   p99 {:>6.1} ms   ({} changes)",
        pct(&mut answered.clone(), 0.5),
        pct(&mut answered.clone(), 0.99),
        answered.len()
    );
    println!(
        "  weight → split seen in the pods' counters (≥ {WINDOW} requests, ±3 points) p50 {:>6.1} ms   p99 {:>6.1} ms",
        pct(&mut observed.clone(), 0.5),
        pct(&mut observed.clone(), 0.99)
    );
    println!(
        "  abort → 100 % stable confirmed by the read-back in the answer   p50 {:>6.1} ms   max {:>6.1} ms   ({ABORTS} aborts; target < 1 s)",
        pct(&mut aborts.clone(), 0.5),
        aborts.iter().max().unwrap().as_secs_f64() * 1e3
    );
    world.sim.handle.shutdown().await;
}

/// Every live pod's requests served so far, and whether it is a canary pod.
async fn counts(client: &kube::Client) -> std::collections::HashMap<String, (bool, u64)> {
    let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let pods: Vec<Pod> = api
        .list(&Default::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && traffic::ready(p))
        .collect();
    let mut out = std::collections::HashMap::new();
    for p in pods {
        let (stable, canary) =
            traffic::served(client, NAMESPACE, 8080, std::slice::from_ref(&p)).await;
        let name = p.metadata.name.clone().unwrap_or_default();
        out.insert(name, (is_canary(&p), stable + canary));
    }
    out
}

fn is_canary(p: &Pod) -> bool {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("flightdeck.dev/track"))
        .is_some_and(|t| t == "canary")
}
