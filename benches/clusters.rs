//! `cargo bench --bench clusters` — issue 12's figures for one console over several
//! clusters: ~1,000 instance groups / ~20,000 pods in one simulated cluster, then the same
//! spread over three (`test`, `pre`, `prod`, each its own API server with a third of the
//! groups), groups in a real etcd. For each: start → first frame, start → first frame with
//! every group's status, peak RSS and idle CPU of the console process (the release binary
//! in a real terminal, tmux), side by side.
//!
//! The simulated clusters run in this process at time scale 0.2 and share the machine with
//! the console, so on a small machine the figures include their load.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::world::World;

const GROUPS: usize = 1_000;
const PODS: u32 = 20;
const IDLE_WINDOW: Duration = Duration::from_secs(10);

struct Figures {
    clusters: usize,
    groups: usize,
    pods: u64,
    first_frame_ms: f64,
    all_groups_ms: f64,
    rss_mb: f64,
    idle_cpu: f64,
}

async fn measure(clusters: &[&str]) -> Figures {
    let per_cluster = GROUPS.div_ceil(clusters.len());
    let w = World::builder()
        .clusters(clusters)
        .demo(per_cluster, PODS)
        .demo_admin("bench")
        .time_scale(0.2)
        .start()
        .await;
    let seed = w.seed.as_ref().expect("the sample estate");
    let groups = seed.groups.len() * clusters.len();
    let pods: u64 = seed
        .objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .filter_map(|o| o["spec"]["replicas"].as_u64())
        .sum::<u64>()
        * clusters.len() as u64;
    // Let the kubelets bring every pod up, so "idle" means idle.
    tokio::time::sleep(Duration::from_secs(15)).await;

    let report_dir = tempfile::tempdir().expect("temp dir");
    let report = report_dir.path().join("report.json");
    let console = w
        .console(&format!("bench-clusters-{}", clusters.len()))
        .size(200, 60)
        .env("FLIGHTDECK_BENCH_REPORT", &report.display().to_string())
        .start();
    let up = if clusters.len() == 1 {
        "cluster connected".to_string()
    } else {
        let mut s = "clusters".to_string();
        for c in clusters {
            s.push_str(&format!(" {c} up"));
        }
        s
    };
    console.wait_for("the groups list", Duration::from_secs(120), |s| {
        s.contains(&format!("instance groups {groups}")) && s.contains(&up)
    });
    let pid = console.program_pid().expect("console pid");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let cpu0 = support::cpu_ticks(pid);
    let t0 = Instant::now();
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle_cpu = (support::cpu_ticks(pid) - cpu0) as f64
        / support::ticks_per_second()
        / t0.elapsed().as_secs_f64()
        * 100.0;
    let rss_mb = support::peak_rss_kb(pid) as f64 / 1024.0;
    console.send(&["q"]);
    let start = Instant::now();
    while !report.exists() && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("bench report")).unwrap();
    drop(console);
    let World { sim, more, .. } = w;
    for sim in std::iter::once(sim).chain(more) {
        sim.handle.shutdown().await;
    }
    Figures {
        clusters: clusters.len(),
        groups,
        pods,
        first_frame_ms: r["first_frame_ms"].as_f64().unwrap_or(f64::NAN),
        all_groups_ms: r["all_groups_ms"].as_f64().unwrap_or(f64::NAN),
        rss_mb,
        idle_cpu,
    }
}

#[tokio::main]
async fn main() {
    let one = measure(&["sim"]).await;
    let three = measure(&["test", "pre", "prod"]).await;
    println!(
        "console over one and three simulated clusters (release build, etcd store, time scale 0.2, \
         {} cores shared with the clusters)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  {:<28} {:>16} {:>16}",
        "",
        format!("{} cluster", one.clusters),
        format!("{} clusters", three.clusters)
    );
    let row = |what: &str, a: String, b: String| println!("  {what:<28} {a:>16} {b:>16}");
    row(
        "groups / pods",
        format!("{} / {}", one.groups, one.pods),
        format!("{} / {}", three.groups, three.pods),
    );
    row(
        "first frame",
        format!("{:.1} ms", one.first_frame_ms),
        format!("{:.1} ms", three.first_frame_ms),
    );
    row(
        "every group's status",
        format!("{:.0} ms", one.all_groups_ms),
        format!("{:.0} ms", three.all_groups_ms),
    );
    row(
        "peak RSS",
        format!("{:.1} MB", one.rss_mb),
        format!("{:.1} MB", three.rss_mb),
    );
    row(
        &format!("idle CPU ({}s)", IDLE_WINDOW.as_secs()),
        format!("{:.2} %", one.idle_cpu),
        format!("{:.2} %", three.idle_cpu),
    );
}
