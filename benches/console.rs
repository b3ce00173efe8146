//! `cargo bench --bench console` — issue 2's figures for the console on a large estate:
//! 300 instance groups / ~6,000 pods on the simulated cluster, groups in a real etcd.
//!
//! The simulated cluster runs in this process and etcd in its own, so the console process
//! measured is only the console: time from its start to the first frame and to the first
//! frame showing every group's status, frame render time (p50/p99), peak RSS, and CPU while
//! idle with live watches. It runs the release binary in a real terminal (tmux).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::world::World;

const GROUPS: usize = 300;
const PODS: u32 = 20;
const IDLE_WINDOW: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
    let w = World::builder()
        .demo(GROUPS, PODS)
        .demo_admin("bench")
        .time_scale(0.2)
        .start()
        .await;
    let pods: u64 = w
        .seed
        .as_ref()
        .expect("the sample estate")
        .objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .filter_map(|o| o["spec"]["replicas"].as_u64())
        .sum();
    // Let the kubelet bring every pod up, so "idle" means idle.
    tokio::time::sleep(Duration::from_secs(8)).await;

    let report_dir = tempfile::tempdir().expect("temp dir");
    let report = report_dir.path().join("report.json");
    let console = w
        .console("bench-console")
        .size(200, 60)
        .env("FLIGHTDECK_BENCH_REPORT", &report.display().to_string())
        .start();
    console.wait_for("the groups list", Duration::from_secs(30), |s| {
        s.contains("instance groups 300") && s.contains("20/20")
    });
    let pid = console.program_pid().expect("console pid");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle_cpu =
        (cpu_ticks(pid) - cpu0) as f64 / ticks_per_second() / t0.elapsed().as_secs_f64() * 100.0;
    let rss_mb = support::peak_rss_kb(pid) as f64 / 1024.0;
    console.send(&["q"]);
    let start = Instant::now();
    while !report.exists() && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("bench report")).unwrap();
    let sorted = |key: &str| {
        let mut v: Vec<u64> = r[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    };
    let renders = sorted("render_us");
    let steady = sorted("steady_render_us");
    let frames = sorted("frame_us");
    let pct = |v: &[u64], p: f64| {
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };

    println!(
        "console on {GROUPS} groups / {pods} pods (simulated cluster, etcd store, release build)"
    );
    println!(
        "  first frame           {:>8.1} ms   (target < 100 ms)",
        r["first_frame_ms"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "  all groups' status    {:>8.1} ms   (target < 1000 ms)",
        r["all_groups_ms"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "  render p50            {:>8.2} ms   ({} frames, building the frame)",
        pct(&renders, 0.5),
        renders.len()
    );
    println!(
        "  render p99            {:>8.2} ms   (target < 4 ms; includes frames during the initial load)",
        pct(&renders, 0.99)
    );
    println!(
        "  render p99, loaded    {:>8.2} ms   ({} frames after every group's status is shown)",
        pct(&steady, 0.99),
        steady.len()
    );
    println!(
        "  frame to terminal p99 {:>8.2} ms   (render + diff + write to the pty)",
        pct(&frames, 0.99)
    );
    println!(
        "  peak RSS              {:>8.1} MB   (target < 80 MB)",
        rss_mb
    );
    println!(
        "  idle CPU              {:>8.2} %    of one core over {}s (target < 2 %)",
        idle_cpu,
        IDLE_WINDOW.as_secs()
    );
    drop(console);
    w.sim.handle.shutdown().await;
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}
