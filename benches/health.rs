//! `cargo bench --bench health`: how fast a canary that goes bad is caught.
//!
//! 1. Time from `SimHandle::set_scenario` turning a running canary bad (8% 5xx) to the
//!    judge's Fail, and to traffic back on stable (canary Deployment at 0 replicas) with
//!    `autoAbort`; target < 2 × the analysis interval + 1 s.
//! 2. Judge CPU per group per interval: one judgement over a full report window.

#[path = "../tests/health_support/mod.rs"]
mod health_support;

use std::time::{Duration, Instant};

use flightdeck::agent::AgentEvent;
use flightdeck::health::config::{Metric, MetricCheck};
use flightdeck::health::{HealthPoint, TrackPoint, Verdict, judge};
use flightdeck::sim::Scenario;
use health_support::{Harness, POD_METRICS, group_yaml};

const INTERVAL: Duration = Duration::from_secs(1);
const RUNS: usize = 3;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut fails = Vec::new();
    let mut stables = Vec::new();
    for _ in 0..RUNS {
        let (f, s) = rt.block_on(one_run());
        fails.push(f);
        stables.push(s);
    }
    let target = INTERVAL * 2 + Duration::from_secs(1);
    let show = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.2}s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let worst = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
    println!(
        "analysis interval {:.0}s, target < {:.1}s",
        INTERVAL.as_secs_f64(),
        target.as_secs_f64()
    );
    println!(
        "bad -> Fail verdict:        {}  (worst {:.2}s, {})",
        show(&fails),
        worst(&fails).as_secs_f64(),
        verdict(worst(&fails) < target)
    );
    println!(
        "bad -> traffic on stable:   {}  (worst {:.2}s, {})",
        show(&stables),
        worst(&stables).as_secs_f64(),
        verdict(worst(&stables) < target)
    );
    judge_cpu();
}

fn verdict(ok: bool) -> &'static str {
    if ok { "within target" } else { "OVER TARGET" }
}

async fn one_run() -> (Duration, Duration) {
    let yaml = group_yaml(POD_METRICS, true).replace("count: 3", "count: 60");
    let h = Harness::start(&yaml).await;
    let (_reports, mut events, stop) = h.spawn_agent(h.agent_config());
    h.deploy("v2-good").await;
    // Let the analysis see a healthy canary for a while, then turn it bad.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let bad = Scenario::from_yaml(
        "rules:\n  - { tag: \"v2-good\", behaviour: healthy, errorRate: 0.08, latencyMs: { p50: 40, p99: 900 } }\n",
    )
    .expect("scenario");
    let t0 = Instant::now();
    h.sim.set_scenario(bad);
    let mut fail_at = None;
    let deadline = t0 + Duration::from_secs(30);
    while fail_at.is_none() && Instant::now() < deadline {
        if let Ok(Ok(AgentEvent::Judged { judgement, .. })) =
            tokio::time::timeout(Duration::from_millis(100), events.recv()).await
            && judgement.verdict == Verdict::Fail
        {
            fail_at = Some(t0.elapsed());
        }
    }
    let mut stable_at = None;
    while stable_at.is_none() && Instant::now() < deadline {
        if h.canary_replicas() == Some(0) {
            stable_at = Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send_replace(true);
    let never = Duration::from_secs(30);
    (fail_at.unwrap_or(never), stable_at.unwrap_or(never))
}

fn judge_cpu() {
    let mut success = MetricCheck::new(Metric::SuccessRate);
    success.min = Some(0.99);
    let checks = vec![
        success,
        MetricCheck::new(Metric::LatencyP99),
        MetricCheck::new(Metric::LatencyP50),
    ];
    let point = |i: usize| {
        let t = |sr: f64, p: f64| TrackPoint {
            requests: Some(50.0),
            rps: Some(50.0),
            success_rate: Some(sr),
            latency_p50: Some(p / 4.0),
            latency_p99: Some(p),
            ..TrackPoint::default()
        };
        let w = (i % 7) as f64 * 0.001;
        HealthPoint {
            at: jiff::Timestamp::now(),
            stable: t(0.999 - w, 0.12 + w),
            canary: t(0.998 - w, 0.125 + w),
            error: None,
            pods_read: true,
        }
    };
    let window: Vec<HealthPoint> = (0..240).map(point).collect();
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(judge(&checks, std::hint::black_box(&window)));
    }
    let each = start.elapsed() / n;
    println!(
        "judge CPU per group per interval (240 points, 3 metrics): {:.1} µs",
        each.as_secs_f64() * 1e6
    );
}
