//! `cargo bench --bench actions` — issue 3's figures: one release action from request to
//! audit committed and cluster patched (the engine's whole path: authorise, etcd
//! transaction with the audit entry, server-side apply, recorded outcome), p50/p99, on a
//! loopback etcd and the simulated cluster; and `flightdeck rollback` wall time from
//! process start to exit (release binary).

#[path = "../tests/support/etcd.rs"]
mod etcd_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use flightdeck::authz::Identity;
use flightdeck::demo::{seed, seed_store};
use flightdeck::domain::GroupKey;
use flightdeck::engine::Action;
use flightdeck::engine::release_engine::{Actor, ReleaseEngine};
use flightdeck::sim::{SimConfig, SimHandle};
use flightdeck::store::{StoreConfig, StoreOptions};

const ACTIONS: usize = 300;
const ROLLBACKS: usize = 15;

#[tokio::main]
async fn main() {
    let etcd = etcd_support::Etcd::start().await;
    let seed = seed("sim", 7, 2).expect("estate");
    let sim = SimHandle::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        scenario: flightdeck::demo::scenario(),
        preload: seed.objects.clone(),
        time_scale: 0.2,
        context: "sim".into(),
    })
    .await
    .expect("simulated cluster");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let store = flightdeck::store::connect(
        &StoreConfig::parse(&etcd.url(), StoreOptions::default()).unwrap(),
    )
    .await
    .unwrap();
    let me = Identity::os();
    seed_store(store.as_ref(), &seed, &me.name)
        .await
        .expect("seed etcd");
    let conn = flightdeck::kube::connect(Some(kubeconfig.clone()), Some("sim".into()))
        .await
        .unwrap();
    let engine = Arc::new(ReleaseEngine::new(
        store.clone(),
        conn,
        Actor::resolve(store.as_ref(), &me),
    ));

    // checkout-web is Paused at 10%: weight changes are allowed at any time.
    let key = GroupKey::new("sim", "checkout", "checkout-web");
    let mut times = Vec::with_capacity(ACTIONS);
    for i in 0..ACTIONS {
        let w = [20u8, 30, 40, 50][i % 4];
        let t = Instant::now();
        let report = engine
            .act(&key, Action::Weight(w), None)
            .await
            .expect("weight");
        times.push(t.elapsed());
        assert!(report.apply_error.is_none(), "{:?}", report.apply_error);
    }
    times.sort();
    let pct = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!("release actions on loopback etcd + the simulated cluster (release build)");
    println!(
        "  weight: audit committed + cluster patched + outcome recorded   p50 {:>6.2} ms   p99 {:>6.2} ms   ({ACTIONS} actions; target p99 < 20 ms)",
        pct(&times, 0.5),
        pct(&times, 0.99)
    );

    // user-info-grpc: give it a second revision, then roll back and forth between the two.
    let grpc = GroupKey::new("sim", "user", "user-info-grpc");
    engine
        .act(
            &grpc,
            Action::Deploy {
                tag: "9.9.9".into(),
                params: Default::default(),
            },
            None,
        )
        .await
        .unwrap();
    engine.act(&grpc, Action::Promote, None).await.unwrap();
    let bin = env!("CARGO_BIN_EXE_flightdeck");
    let mut walls = Vec::with_capacity(ROLLBACKS);
    for i in 0..ROLLBACKS {
        let to = if i % 2 == 0 { "1" } else { "2" };
        let t = Instant::now();
        let out = tokio::process::Command::new(bin)
            .args([
                "rollback",
                "user-info-grpc",
                "--to-revision",
                to,
                "--reason",
                "bench",
            ])
            .args(["--store", &etcd.url(), "--kubeconfig"])
            .arg(&kubeconfig)
            .env("XDG_STATE_HOME", dir.path())
            .output()
            .await
            .unwrap();
        walls.push(t.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    walls.sort();
    println!(
        "  flightdeck rollback, process start to exit                      p50 {:>6.1} ms   max {:>6.1} ms   ({ROLLBACKS} runs; target < 150 ms)",
        pct(&walls, 0.5),
        walls.last().unwrap().as_secs_f64() * 1e3
    );
    sim.shutdown().await;
}
