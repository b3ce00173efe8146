//! `cargo bench --bench memory` — issue 13, point 3: the console's peak RSS on estates of
//! ~6,000 and ~20,000 pods (targets < 60 MB and < 120 MB).
//!
//! For each estate the simulated cluster runs in this process and etcd in its own; the
//! release binary runs in a real terminal (tmux) until every namespace's pods and every
//! group's status are on screen (the console's `<report>.loaded` marker; 30 s at most),
//! then 5 s more,
//! and the bench reads its peak RSS (VmHWM) before it quits.

#[path = "../tests/support/mod.rs"]
mod support;

use support::{etcd as etcd_support, tmux};

use std::time::{Duration, Instant};

use flightdeck::demo::{seed, seed_store};
use flightdeck::sim::{SimConfig, SimHandle};
use flightdeck::store::{StoreConfig, StoreOptions};

/// (groups, pods per group)
const ESTATES: [(usize, u32); 2] = [(300, 20), (1_000, 20)];

#[tokio::main]
async fn main() {
    println!(
        "console peak RSS (release build, {} cores, simulated cluster with no delay, etcd store)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (groups, per_group) in ESTATES {
        let (pods, rss_mb, load) = measure(groups, per_group).await;
        let target = if pods <= 8_000 { 60 } else { 120 };
        println!(
            "  {groups:>5} groups / {pods:>6} pods   peak RSS {rss_mb:>6.1} MB   (target < {target} MB; loaded in {:.1} s)",
            load.as_secs_f64()
        );
    }
}

async fn measure(groups: usize, per_group: u32) -> (u64, f64, Duration) {
    let etcd = etcd_support::Etcd::start().await;
    let seed = seed("sim", groups, per_group).expect("estate");
    let pods: u64 = seed
        .objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .filter_map(|o| o["spec"]["replicas"].as_u64())
        .sum();
    let sim = SimHandle::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        scenario: flightdeck::demo::scenario(),
        preload: seed.objects.clone(),
        time_scale: 0.2,
        context: "sim".into(),
    })
    .await
    .expect("simulated cluster");
    let store = flightdeck::store::connect(
        &StoreConfig::parse(&etcd.url(), StoreOptions::default()).unwrap(),
    )
    .await
    .unwrap();
    seed_store(store.as_ref(), &seed, "bench")
        .await
        .expect("seed etcd");
    // Let the kubelet bring every pod up.
    tokio::time::sleep(Duration::from_secs(8)).await;

    let t = tmux::Tmux::start("memory", 200, 60, "true");
    let kubeconfig = t.home().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let report = t.home().join("report.json");
    let console = tmux::Tmux::start(
        "memory-console",
        200,
        60,
        &format!(
            "env FLIGHTDECK_BENCH_REPORT={} {} --kubeconfig {} --store {} --local",
            report.display(),
            tmux::flightdeck().display(),
            kubeconfig.display(),
            etcd.url()
        ),
    );
    let loaded = t.home().join("report.json.loaded");
    let start = Instant::now();
    // A build without the marker (an older one, for a before/after) is given 30 s.
    while !loaded.exists() && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let load = start.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = console.program_pid().expect("console pid");
    let rss_mb = support::peak_rss_kb(pid) as f64 / 1024.0;
    console.send(&["q"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(console);
    drop(t);
    sim.shutdown().await;
    (pods, rss_mb, load)
}
