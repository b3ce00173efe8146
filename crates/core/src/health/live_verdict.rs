//! The verdict a console gives a live canary between (or without) analyses: the group's own
//! checks over the last [`WINDOW`] of points, plus two checks of the canary's pods that need
//! no metrics at all — a crash-looping canary serves no requests, so its metrics say only
//! "no data", but its pods say plenty.
//!
//! * **restarts**: restarts that happened within the window (increases between points,
//!   so a replaced pod does not hide them): one is Marginal, two or more Fail; a count
//!   from before the first sample says nothing about now;
//! * **ready**: fewer ready canary pods than asked for on every point of the last
//!   [`READY_GRACE`] is a Fail; a shorter shortfall is a canary still starting (no data).
//!
//! This is the console's view, not the controller's: the analysis still judges only the
//! group's checks, and its verdict is the one stored with the release.

use jiff::SignedDuration;

use super::config::{Metric, MetricCheck};
use super::judge::{Check, CheckKind, CheckOutcome, Judgement, judge};
use super::{HealthPoint, TrackPoint};

/// How far back the live verdict looks.
pub const WINDOW: SignedDuration = SignedDuration::from_secs(120);
/// How long a canary may be short of ready pods before that is a failure.
pub const READY_GRACE: SignedDuration = SignedDuration::from_secs(30);

/// Judges the recent points (oldest first) with the group's checks and the pod checks.
pub fn live_judgement(checks: &[MetricCheck], points: &[HealthPoint]) -> Judgement {
    let window = recent(points);
    let mut all = judge(checks, window).checks;
    all.extend(pod_checks(window));
    Judgement::of(all)
}

/// The points of the last [`WINDOW`], measured back from the newest.
fn recent(points: &[HealthPoint]) -> &[HealthPoint] {
    let Some(last) = points.last() else {
        return points;
    };
    let from = last.at - WINDOW;
    let start = points.partition_point(|p| p.at < from);
    &points[start..]
}

/// The restart and readiness checks, over the points whose pods were read.
pub fn pod_checks(window: &[HealthPoint]) -> Vec<Check> {
    let read: Vec<&HealthPoint> = window.iter().filter(|p| p.pods_read).collect();
    let (Some(first), Some(last)) = (read.first(), read.last()) else {
        return Vec::new();
    };
    let span = last.at.duration_since(first.at);
    vec![restarts(&read, span), ready(&read)]
}

fn check(metric: Metric, outcome: CheckOutcome, reason: String) -> Check {
    Check {
        metric,
        kind: CheckKind::Pods,
        outcome,
        reason,
    }
}

fn restarts(read: &[&HealthPoint], span: SignedDuration) -> Check {
    if read.len() < 2 {
        return check(
            Metric::Restarts,
            CheckOutcome::NoData,
            "canary pods: restarts are counted from the second sample".into(),
        );
    }
    let grew: u32 = read
        .windows(2)
        .map(|w| w[1].canary.restarts.saturating_sub(w[0].canary.restarts))
        .sum();
    let over = seconds(span);
    let outcome = match grew {
        0 => CheckOutcome::Pass,
        1 => CheckOutcome::Marginal,
        _ => CheckOutcome::Fail,
    };
    let reason = match grew {
        0 => format!("canary pods: no restarts in the last {over}"),
        1 => format!("canary pods restarted once in the last {over}"),
        n => format!("canary pods restarted {n} times in the last {over} (crash loop?)"),
    };
    check(Metric::Restarts, outcome, reason)
}

fn ready(read: &[&HealthPoint]) -> Check {
    let last = read[read.len() - 1];
    let short = |t: &TrackPoint| t.ready < t.desired;
    let shown = |t: &TrackPoint| format!("{}/{}", t.ready, t.desired);
    if !short(&last.canary) {
        return check(
            Metric::Ready,
            CheckOutcome::Pass,
            format!("canary pods {} ready", shown(&last.canary)),
        );
    }
    // The shortfall began at the first point after the last one with every pod ready (or
    // before the window, when no point in it had them all).
    let since = read
        .iter()
        .rposition(|p| !short(&p.canary))
        .map_or(read[0].at, |i| read[i + 1].at);
    let lasted = last.at.duration_since(since);
    let (outcome, reason) = if lasted >= READY_GRACE {
        (
            CheckOutcome::Fail,
            format!(
                "canary pods {} ready for {} (at most {} allowed)",
                shown(&last.canary),
                seconds(lasted),
                seconds(READY_GRACE)
            ),
        )
    } else {
        (
            CheckOutcome::NoData,
            format!(
                "canary pods {} ready for {}: still starting?",
                shown(&last.canary),
                seconds(lasted)
            ),
        )
    };
    check(Metric::Ready, outcome, reason)
}

fn seconds(d: SignedDuration) -> String {
    format!("{}s", d.as_secs().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Verdict;
    use jiff::Timestamp;

    fn point(at: i64, ready: u32, desired: u32, restarts: u32) -> HealthPoint {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        HealthPoint {
            at: t0 + SignedDuration::from_secs(at),
            stable: TrackPoint {
                ready: 3,
                desired: 3,
                ..TrackPoint::default()
            },
            canary: TrackPoint {
                ready,
                desired,
                restarts,
                ..TrackPoint::default()
            },
            error: Some("no data: no pod answered its metrics".into()),
            pods_read: true,
        }
    }

    fn default_checks() -> Vec<MetricCheck> {
        let mut success = MetricCheck::new(Metric::SuccessRate);
        success.min = Some(0.99);
        vec![success, MetricCheck::new(Metric::LatencyP99)]
    }

    #[test]
    fn a_crash_looping_canary_fails_without_any_metrics() {
        let points: Vec<_> = (0..4).map(|i| point(i * 2, 0, 2, i as u32)).collect();
        let j = live_judgement(&default_checks(), &points);
        assert_eq!(j.verdict, Verdict::Fail, "{j:?}");
        assert!(j.reasons().contains("restarted 3 times"), "{}", j.reasons());
    }

    #[test]
    fn a_canary_short_of_ready_pods_fails_only_after_the_grace() {
        let starting: Vec<_> = (0..4).map(|i| point(i * 5, 0, 2, 0)).collect();
        let j = live_judgement(&default_checks(), &starting);
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert!(j.reasons().contains("still starting"), "{}", j.reasons());
        let stuck: Vec<_> = (0..8).map(|i| point(i * 5, 1, 2, 0)).collect();
        let j = live_judgement(&default_checks(), &stuck);
        assert_eq!(j.verdict, Verdict::Fail);
        assert!(j.reasons().contains("1/2 ready for 35s"), "{}", j.reasons());
    }

    #[test]
    fn the_shortfall_counts_from_the_last_point_with_every_pod_ready() {
        let mut points: Vec<_> = (0..10).map(|i| point(i * 5, 2, 2, 0)).collect();
        points.extend((10..13).map(|i| point(i * 5, 1, 2, 0)));
        let checks = pod_checks(&points);
        assert_eq!(checks[1].outcome, CheckOutcome::NoData, "{checks:?}");
        assert!(checks[1].reason.contains("for 10s"), "{checks:?}");
    }

    #[test]
    fn old_restarts_and_points_without_pods_do_not_count() {
        let mut points = vec![point(0, 0, 2, 0)];
        points.extend((0..4).map(|i| point(200 + i * 5, 2, 2, 7)));
        points.push(HealthPoint {
            pods_read: false,
            ..point(220, 0, 0, 0)
        });
        let checks = pod_checks(recent(&points));
        assert_eq!(checks[0].outcome, CheckOutcome::Pass, "{checks:?}");
        assert_eq!(checks[1].outcome, CheckOutcome::Pass, "{checks:?}");
        assert!(pod_checks(&points[5..]).is_empty());
    }
}
