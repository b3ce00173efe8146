//! `cargo bench --bench latency` — issue 13, point 2: the console with a far API server.
//!
//! The release binary runs in a real terminal (tmux) on 300 groups / ~6,000 pods (the
//! simulated cluster in this process, groups in a real etcd on loopback). Between the
//! console and the cluster's API server sits a TCP proxy that delays every byte by the
//! one-way delay in each direction (and a new connection by a handshake's round trip);
//! the store stays near. Each condition (no delay, 80 ms each way) is run
//! `FLIGHTDECK_BENCH_RUNS` times (default 3). While the console starts and loads, and for a
//! while after, the bench presses Down/Up every 37 ms; the console records, for each key,
//! the time from reading it to the end of writing the frame that shows it, and the time
//! from its start to the first frame with pod data, to the first frame with every
//! namespace's pods and to the first frame with every group's status.
//!
//! `FLIGHTDECK_BENCH_DELAYS_MS=0,80` picks the one-way delays.

#[path = "../tests/support/mod.rs"]
mod support;

use support::{delay_proxy, etcd as etcd_support, tmux};

use std::time::{Duration, Instant};

use flightdeck::sim::SimHandle;

const GROUPS: usize = 300;
const PODS: u32 = 20;
/// Keys pressed after every group's status is shown.
const KEYS_AFTER_LOAD: usize = 40;
const KEY_GAP: Duration = Duration::from_millis(37);
/// A binary that does not mark the load (an older one, for a before/after) is given this long.
const LOAD_TIMEOUT: Duration = Duration::from_secs(20);

struct Run {
    first_frame: f64,
    first_pods: f64,
    all_pods: f64,
    all_groups: f64,
    keys_loading: Vec<u64>,
    keys_loaded: Vec<u64>,
    rss_mb: f64,
}

#[tokio::main]
async fn main() {
    let runs: usize = env_or("FLIGHTDECK_BENCH_RUNS", "3").parse().expect("runs");
    let delays: Vec<u64> = env_or("FLIGHTDECK_BENCH_DELAYS_MS", "0,80")
        .split(',')
        .map(|d| d.trim().parse().expect("delay in ms"))
        .collect();

    let support::seeded::SeededEstate {
        etcd,
        sim,
        pods,
        namespaces,
        ..
    } = support::seeded::SeededEstate::start(GROUPS, PODS).await;

    println!(
        "console with a far API server: {GROUPS} groups / {pods} pods in {namespaces} namespaces \
         (simulated cluster over plain HTTP/1.1 through a delay proxy; etcd near), release build, \
         {} cores ({}), {runs} runs per delay",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
    );
    for delay_ms in delays {
        let one_way = Duration::from_millis(delay_ms);
        let mut results = Vec::new();
        for _ in 0..runs {
            let proxy = delay_proxy::DelayProxy::start(sim.addr(), one_way).await;
            results.push(run_console(&sim, &proxy, &etcd).await);
        }
        report(delay_ms, &results);
    }
    sim.shutdown().await;
}

async fn run_console(
    sim: &SimHandle,
    proxy: &delay_proxy::DelayProxy,
    etcd: &etcd_support::Etcd,
) -> Run {
    let t = tmux::Tmux::start("latency", 200, 60, "true");
    let kubeconfig = t.home().join("kubeconfig");
    let yaml = sim
        .kubeconfig_yaml()
        .replace(&format!("http://{}", sim.addr()), &proxy.url());
    std::fs::write(&kubeconfig, yaml).unwrap();
    let report = t.home().join("report.json");
    let console = tmux::Tmux::start(
        "latency-console",
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
    // Keys while it loads, until every namespace's pods and every group's status are on
    // screen (the console writes `report.json.loaded` then)…
    let loaded = t.home().join("report.json.loaded");
    let start = Instant::now();
    let mut pressed = 0usize;
    while !loaded.exists() && start.elapsed() < LOAD_TIMEOUT {
        console.send(&[if pressed.is_multiple_of(2) {
            "Down"
        } else {
            "Up"
        }]);
        pressed += 1;
        tokio::time::sleep(KEY_GAP).await;
    }
    let pid = console.program_pid().expect("console pid");
    // …and once loaded.
    for i in 0..KEYS_AFTER_LOAD {
        console.send(&[if i.is_multiple_of(2) { "Down" } else { "Up" }]);
        tokio::time::sleep(KEY_GAP).await;
    }
    let rss_mb = support::peak_rss_kb(pid) as f64 / 1024.0;
    console.send(&["q"]);
    let waited = Instant::now();
    while !report.exists() && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("bench report")).unwrap();
    let ms = |key: &str| r[key].as_f64().unwrap_or(f64::NAN);
    let keys: Vec<u64> = r["key_to_frame_us"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default();
    // The last KEYS_AFTER_LOAD keys (and the quit key, which draws nothing) came after the
    // load; the ones before, while it loaded.
    let split = keys.len().saturating_sub(KEYS_AFTER_LOAD);
    Run {
        first_frame: ms("first_frame_ms"),
        first_pods: ms("first_pods_ms"),
        all_pods: ms("all_pods_ms"),
        all_groups: ms("all_groups_ms"),
        keys_loading: keys[..split].to_vec(),
        keys_loaded: keys[split..].to_vec(),
        rss_mb,
    }
}

fn report(delay_ms: u64, runs: &[Run]) {
    let figures = |f: fn(&Run) -> f64| {
        runs.iter()
            .map(|r| format!("{:.0}", f(r)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let mut loading: Vec<u64> = runs.iter().flat_map(|r| r.keys_loading.clone()).collect();
    let mut loaded: Vec<u64> = runs.iter().flat_map(|r| r.keys_loaded.clone()).collect();
    loading.sort_unstable();
    loaded.sort_unstable();
    println!(
        "\n  {delay_ms} ms each way ({} ms round trip)",
        2 * delay_ms
    );
    println!(
        "    first frame                 {:>18} ms",
        figures(|r| r.first_frame)
    );
    println!(
        "    first frame with pod data   {:>18} ms   (target < 600 ms at 80 ms each way)",
        figures(|r| r.first_pods)
    );
    println!(
        "    every namespace's pods      {:>18} ms",
        figures(|r| r.all_pods)
    );
    println!(
        "    every group's status        {:>18} ms",
        figures(|r| r.all_groups)
    );
    println!(
        "    console peak RSS            {:>18} MB",
        figures(|r| r.rss_mb)
    );
    println!(
        "    key → frame while loading   p50 {:>5.1} ms  p99 {:>5.1} ms  max {:>5.1} ms  ({} keys; target < 16 ms)",
        pct(&loading, 0.5),
        pct(&loading, 0.99),
        pct(&loading, 1.0),
        loading.len()
    );
    println!(
        "    key → frame once loaded     p50 {:>5.1} ms  p99 {:>5.1} ms  max {:>5.1} ms  ({} keys)",
        pct(&loaded, 0.5),
        pct(&loaded, 0.99),
        pct(&loaded, 1.0),
        loaded.len()
    );
}

fn pct(v: &[u64], p: f64) -> f64 {
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0) as f64
        / 1000.0
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".to_string())
}
