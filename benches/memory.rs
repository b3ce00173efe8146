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

use support::tmux;

use std::time::{Duration, Instant};

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
    let support::seeded::SeededEstate {
        etcd, sim, pods, ..
    } = support::seeded::SeededEstate::start(groups, per_group).await;

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
