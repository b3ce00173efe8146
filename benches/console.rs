//! `cargo bench --bench console` — the console's figures on large estates (issues 2 and 13):
//!
//! 1. 300 instance groups / ~6,000 pods, API server near: time to the first frame and to
//!    every group's status, frame render time (p50/p99), peak RSS, CPU while idle with live
//!    watches;
//! 2. the same estate behind a TCP proxy that delays every byte 80 ms each way: key → frame
//!    (p50/p99) while it loads and once loaded, time to the first pod data, peak RSS;
//! 3. 1,000 groups / ~20,000 pods, near: peak RSS.
//!
//! Each estate runs on the simulated cluster in this process with groups in a real etcd
//! of its own, so the process measured is only the console: the release binary in a real
//! terminal (tmux), 200×60. Peak RSS is VmHWM, read once every namespace's pods and every
//! group's status are on screen (the console's `<report>.loaded` marker) and 5 s more.
//! About two minutes in all.

#[path = "../tests/support/mod.rs"]
mod support;

use support::{delay_proxy, etcd as etcd_support, tmux};

use std::path::Path;
use std::time::{Duration, Instant};

use flightdeck::sim::SimHandle;

const PODS_PER_GROUP: u32 = 20;
const IDLE_WINDOW: Duration = Duration::from_secs(10);
/// One-way delay of the far API server (issue 13, point 2).
const FAR_MS: u64 = 80;
/// Keys pressed once loaded, one every `KEY_GAP` (as `cargo bench --bench latency`).
const KEYS_AFTER_LOAD: usize = 40;
const KEY_GAP: Duration = Duration::from_millis(37);
/// A binary that does not mark the load (an older one, for a before/after) is given this long.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// After the load, before peak RSS is read: late watch events and the first ticks.
const SETTLE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() {
    println!(
        "console benchmark: release build, {} cores ({}), terminal 200x60 in tmux, \
         simulated cluster over plain HTTP/1.1, etcd store on loopback",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
    );

    let small = Estate::start(300).await;
    println!(
        "\n{} groups / {} pods in {} namespaces, API server near",
        small.groups, small.pods, small.namespaces
    );
    let near = small.run(None, Keys::None, IDLE_WINDOW).await;
    let renders = sorted(&near.report, "render_us");
    let steady = sorted(&near.report, "steady_render_us");
    let frames = sorted(&near.report, "frame_us");
    println!(
        "  first frame              {:>8.1} ms   (target < 100 ms)",
        ms(&near.report, "first_frame_ms")
    );
    println!(
        "  every group's status     {:>8.1} ms   (target < 1000 ms)",
        ms(&near.report, "all_groups_ms")
    );
    println!(
        "  render p50 / p99         {:>8.2} / {:.2} ms   ({} frames, building the frame; target p99 < 4 ms)",
        pct(&renders, 0.5),
        pct(&renders, 0.99),
        renders.len()
    );
    println!(
        "  render p99 once loaded   {:>8.2} ms   ({} frames)",
        pct(&steady, 0.99),
        steady.len()
    );
    println!(
        "  frame to terminal p99    {:>8.2} ms   (render + diff + write to the pty)",
        pct(&frames, 0.99)
    );
    println!(
        "  peak RSS                 {:>8.1} MB   (target < 60 MB)",
        near.rss_mb
    );
    println!(
        "  idle CPU                 {:>8.2} %    of one core over {} s with live watches (target < 2 %)",
        near.idle_cpu,
        IDLE_WINDOW.as_secs()
    );

    let proxy =
        delay_proxy::DelayProxy::start(small.sim.addr(), Duration::from_millis(FAR_MS)).await;
    let far = small
        .run(Some(&proxy), Keys::WhileLoadingAndAfter, Duration::ZERO)
        .await;
    println!(
        "\n{} groups / {} pods, API server {FAR_MS} ms away each way ({} ms round trip, TCP delay proxy; etcd near)",
        small.groups,
        small.pods,
        2 * FAR_MS
    );
    println!(
        "  first frame with pod data {:>7.0} ms   (target < 600 ms)",
        ms(&far.report, "first_pods_ms")
    );
    println!(
        "  every group's status      {:>7.0} ms",
        ms(&far.report, "all_groups_ms")
    );
    for (what, keys) in [
        ("while loading", &far.keys_loading),
        ("once loaded", &far.keys_loaded),
    ] {
        println!(
            "  key → frame {what:<13} p50 {:>5.1} ms  p99 {:>5.1} ms   ({} keys, one every {} ms; target < 16 ms)",
            pct(keys, 0.5),
            pct(keys, 0.99),
            keys.len(),
            KEY_GAP.as_millis()
        );
    }
    println!("  peak RSS                  {:>7.1} MB", far.rss_mb);
    drop(proxy);
    small.stop().await;

    let large = Estate::start(1_000).await;
    let big = large.run(None, Keys::None, Duration::ZERO).await;
    println!(
        "\n{} groups / {} pods in {} namespaces, API server near",
        large.groups, large.pods, large.namespaces
    );
    println!(
        "  every group's status     {:>8.0} ms",
        ms(&big.report, "all_groups_ms")
    );
    println!(
        "  peak RSS                 {:>8.1} MB   (target < 120 MB)",
        big.rss_mb
    );
    large.stop().await;
}

/// A generated estate on the simulated cluster, its groups in a fresh etcd.
struct Estate {
    etcd: etcd_support::Etcd,
    sim: SimHandle,
    groups: usize,
    pods: u64,
    namespaces: usize,
}

enum Keys {
    None,
    /// Down/Up every `KEY_GAP` from the start until loaded, then `KEYS_AFTER_LOAD` more.
    WhileLoadingAndAfter,
}

struct Run {
    report: serde_json::Value,
    rss_mb: f64,
    idle_cpu: f64,
    keys_loading: Vec<u64>,
    keys_loaded: Vec<u64>,
}

impl Estate {
    async fn start(groups: usize) -> Estate {
        let e = support::seeded::SeededEstate::start(groups, PODS_PER_GROUP).await;
        Estate {
            etcd: e.etcd,
            sim: e.sim,
            groups: e.groups,
            pods: e.pods,
            namespaces: e.namespaces,
        }
    }

    async fn stop(self) {
        self.sim.shutdown().await;
    }

    /// One console from start to quit: through `proxy` when given, pressing `keys`, and
    /// measuring its CPU over `idle` once loaded (none when zero).
    async fn run(
        &self,
        proxy: Option<&delay_proxy::DelayProxy>,
        keys: Keys,
        idle: Duration,
    ) -> Run {
        let t = tmux::Tmux::start("console-bench", 200, 60, "true");
        let kubeconfig = t.home().join("kubeconfig");
        let mut yaml = self.sim.kubeconfig_yaml();
        if let Some(p) = proxy {
            yaml = yaml.replace(&format!("http://{}", self.sim.addr()), &p.url());
        }
        std::fs::write(&kubeconfig, yaml).unwrap();
        let report = t.home().join("report.json");
        let console = tmux::Tmux::start(
            "console-bench-console",
            200,
            60,
            &format!(
                "env FLIGHTDECK_BENCH_REPORT={} {} --kubeconfig {} --store {} --local",
                report.display(),
                tmux::flightdeck().display(),
                kubeconfig.display(),
                self.etcd.url()
            ),
        );
        let loaded = t.home().join("report.json.loaded");
        let start = Instant::now();
        let mut pressed = 0usize;
        while !loaded.exists() && start.elapsed() < LOAD_TIMEOUT {
            if let Keys::WhileLoadingAndAfter = keys {
                console.send(&[if pressed.is_multiple_of(2) {
                    "Down"
                } else {
                    "Up"
                }]);
                pressed += 1;
                tokio::time::sleep(KEY_GAP).await;
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let pid = console.program_pid().expect("console pid");
        let settled = Instant::now();
        if let Keys::WhileLoadingAndAfter = keys {
            for i in 0..KEYS_AFTER_LOAD {
                console.send(&[if i.is_multiple_of(2) { "Down" } else { "Up" }]);
                tokio::time::sleep(KEY_GAP).await;
            }
        }
        tokio::time::sleep(SETTLE.saturating_sub(settled.elapsed())).await;
        let idle_cpu = if idle.is_zero() {
            f64::NAN
        } else {
            let cpu0 = support::cpu_ticks(pid);
            let t0 = Instant::now();
            tokio::time::sleep(idle).await;
            (support::cpu_ticks(pid) - cpu0) as f64
                / support::ticks_per_second()
                / t0.elapsed().as_secs_f64()
                * 100.0
        };
        let rss_mb = support::peak_rss_kb(pid) as f64 / 1024.0;
        console.send(&["q"]);
        let report = read_report(&report).await;
        let keys_us = sorted_keep_order(&report, "key_to_frame_us");
        // The last KEYS_AFTER_LOAD keys (the quit key draws nothing) came once loaded.
        let split = match keys {
            Keys::None => keys_us.len(),
            Keys::WhileLoadingAndAfter => keys_us.len().saturating_sub(KEYS_AFTER_LOAD),
        };
        let (mut keys_loading, mut keys_loaded) =
            (keys_us[..split].to_vec(), keys_us[split..].to_vec());
        keys_loading.sort_unstable();
        keys_loaded.sort_unstable();
        drop(console);
        drop(t);
        Run {
            report,
            rss_mb,
            idle_cpu,
            keys_loading,
            keys_loaded,
        }
    }
}

async fn read_report(path: &Path) -> serde_json::Value {
    let waited = Instant::now();
    while !path.exists() && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Written whole by the console on exit; give it a moment past creation.
    tokio::time::sleep(Duration::from_millis(100)).await;
    serde_json::from_str(&std::fs::read_to_string(path).expect("bench report"))
        .expect("bench report is JSON")
}

fn sorted_keep_order(r: &serde_json::Value, key: &str) -> Vec<u64> {
    r[key]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default()
}

fn sorted(r: &serde_json::Value, key: &str) -> Vec<u64> {
    let mut v = sorted_keep_order(r, key);
    v.sort_unstable();
    v
}

fn ms(r: &serde_json::Value, key: &str) -> f64 {
    r[key].as_f64().unwrap_or(f64::NAN)
}

/// The `p` quantile of sorted microseconds, in milliseconds.
fn pct(v: &[u64], p: f64) -> f64 {
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .map_or(f64::NAN, |us| us as f64 / 1000.0)
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
