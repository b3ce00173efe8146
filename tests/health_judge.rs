//! The judge on synthetic series: a clear pass, a clear fail, a marginal canary and too
//! few samples — each verdict with reasons that carry the numbers.

use flightdeck::health::config::{Metric, MetricCheck};
use flightdeck::health::{CheckOutcome, HealthPoint, TrackPoint, Verdict, judge};

fn track(success: f64, p99: f64, requests: f64) -> TrackPoint {
    TrackPoint {
        requests: Some(requests),
        rps: Some(requests),
        success_rate: Some(success),
        latency_p50: Some(p99 / 4.0),
        latency_p99: Some(p99),
        ready: 1,
        desired: 1,
        ..TrackPoint::default()
    }
}

/// `n` points; the canary's value at point i comes from `canary(i)`.
fn series(n: usize, canary: impl Fn(usize) -> (f64, f64)) -> Vec<HealthPoint> {
    (0..n)
        .map(|i| {
            let wobble = (i % 3) as f64 * 0.0005;
            let (sr, p99) = canary(i);
            HealthPoint {
                at: jiff::Timestamp::now(),
                stable: track(0.999 - wobble, 0.120 + wobble, 200.0),
                canary: track(sr, p99, 60.0),
                error: None,
                pods_read: true,
            }
        })
        .collect()
}

fn checks() -> Vec<MetricCheck> {
    let mut success = MetricCheck::new(Metric::SuccessRate);
    success.min = Some(0.99);
    let mut p99 = MetricCheck::new(Metric::LatencyP99);
    p99.max = Some(0.5);
    vec![success, p99]
}

#[test]
fn a_clear_pass() {
    let j = judge(
        &checks(),
        &series(12, |i| {
            (
                0.999 - (i % 2) as f64 * 0.0005,
                0.118 + (i % 4) as f64 * 0.001,
            )
        }),
    );
    assert_eq!(j.verdict, Verdict::Pass, "{}", j.summary());
    assert_eq!(j.score, 100);
    assert!(j.reasons().contains("success-rate"), "{}", j.reasons());
}

#[test]
fn a_clear_fail_names_the_metric_and_the_numbers() {
    let j = judge(
        &checks(),
        &series(12, |i| (0.92 - (i % 3) as f64 * 0.01, 0.9)),
    );
    assert_eq!(j.verdict, Verdict::Fail, "{}", j.summary());
    let reasons = j.reasons();
    assert!(reasons.contains("canary success-rate 91.00%"), "{reasons}");
    assert!(reasons.contains("below min 99.00%"), "{reasons}");
    assert!(
        reasons.contains("latency-p99 900ms is above max 500ms"),
        "{reasons}"
    );
    assert!(reasons.contains("Mann–Whitney p="), "{reasons}");
    assert!(j.score < 50, "{}", j.score);
}

#[test]
fn a_canary_somewhat_slower_than_stable_is_marginal() {
    // 15% slower than stable: over half the 20% tolerance, significant, within the bound.
    let j = judge(
        &checks(),
        &series(12, |i| (0.999, 0.138 + (i % 3) as f64 * 0.0005)),
    );
    assert_eq!(j.verdict, Verdict::Marginal, "{}", j.summary());
    let marginal: Vec<_> = j
        .checks
        .iter()
        .filter(|c| c.outcome == CheckOutcome::Marginal)
        .collect();
    assert_eq!(marginal.len(), 1);
    assert_eq!(marginal[0].metric, Metric::LatencyP99);
    assert!(j.score > 50 && j.score < 100, "{}", j.score);
}

#[test]
fn too_few_samples_is_inconclusive_never_pass() {
    let j = judge(&checks(), &series(2, |_| (0.999, 0.12)));
    assert_eq!(j.verdict, Verdict::Inconclusive, "{}", j.summary());
    assert!(j.reasons().contains("too few samples"), "{}", j.reasons());
    // No data at all (the source was down): also inconclusive, with the source's reason.
    let down: Vec<HealthPoint> = (0..8)
        .map(|_| HealthPoint {
            at: jiff::Timestamp::now(),
            stable: TrackPoint::default(),
            canary: TrackPoint::default(),
            error: Some("no data: prometheus at http://127.0.0.1:9/: connection refused".into()),
            pods_read: false,
        })
        .collect();
    let j = judge(&checks(), &down);
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert!(
        j.reasons().contains("connection refused"),
        "{}",
        j.reasons()
    );
    assert_eq!(j.score, 0);
}
