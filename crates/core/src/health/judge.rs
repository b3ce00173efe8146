//! The judge: canary against absolute bounds and against stable over a window of points,
//! combined into Pass / Marginal / Fail (or Inconclusive without enough data) and a score
//! from 0 to 100, every check with its reason.
//!
//! * **Bounds** (`min`/`max`) look at the canary over the whole window. The success rate
//!   fails only when even the optimistic end of its 95% interval (Wilson, one-sided) is
//!   below `min`: a single error in fifty requests is not a failing canary. Latency and
//!   restarts compare the request-weighted mean / the latest value with the bound.
//! * **Comparison** takes the canary's and stable's points and asks the Mann–Whitney test
//!   whether the canary is worse; it fails when it is both significantly worse (p < 0.05)
//!   and worse by more than the tolerance, and is marginal when only one of those holds
//!   with an effect over half the tolerance.
//! * **Verdict**: any Fail → Fail; else any check without data → Inconclusive (never Pass);
//!   else any Marginal → Marginal; else Pass. Score: Pass 1, Marginal ½, others 0, averaged.

use super::config::{Metric, MetricCheck};
use super::stats::{mann_whitney_greater, median};
use super::{HealthPoint, TrackPoint};
use crate::domain::release::AnalysisVerdict;

/// Below this many points a side the comparison has no data.
pub const MIN_SAMPLES: usize = 4;
const ALPHA: f64 = 0.05;
/// One-sided 95% normal quantile.
const Z95: f64 = 1.645;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
    /// Too few samples, or no data: never a pass.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "Pass",
            Verdict::Marginal => "Marginal",
            Verdict::Fail => "Fail",
            Verdict::Inconclusive => "Inconclusive",
        }
    }
}

impl From<Verdict> for AnalysisVerdict {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Pass => AnalysisVerdict::Pass,
            Verdict::Marginal => AnalysisVerdict::Marginal,
            Verdict::Fail => AnalysisVerdict::Fail,
            Verdict::Inconclusive => AnalysisVerdict::Inconclusive,
        }
    }
}

impl From<AnalysisVerdict> for Verdict {
    fn from(v: AnalysisVerdict) -> Self {
        match v {
            AnalysisVerdict::Pass => Verdict::Pass,
            AnalysisVerdict::Marginal => Verdict::Marginal,
            AnalysisVerdict::Fail => Verdict::Fail,
            AnalysisVerdict::Inconclusive => Verdict::Inconclusive,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Pass,
    Marginal,
    Fail,
    NoData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    Bound,
    Comparison,
    /// What the canary's pods say without any metrics: restarts, readiness (live only).
    Pods,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub metric: Metric,
    pub kind: CheckKind,
    pub outcome: CheckOutcome,
    /// "canary success-rate 91.80% (≤ 94.10% at 95%) is below min 99.00%".
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub score: u8,
    pub checks: Vec<Check>,
}

impl Judgement {
    /// The verdict and score of these checks (the rule in the module's comment).
    pub fn of(checks: Vec<Check>) -> Judgement {
        let has = |o: CheckOutcome| checks.iter().any(|c| c.outcome == o);
        let verdict = if has(CheckOutcome::Fail) {
            Verdict::Fail
        } else if has(CheckOutcome::NoData) {
            Verdict::Inconclusive
        } else if has(CheckOutcome::Marginal) {
            Verdict::Marginal
        } else {
            Verdict::Pass
        };
        let points: f64 = checks
            .iter()
            .map(|c| match c.outcome {
                CheckOutcome::Pass => 1.0,
                CheckOutcome::Marginal => 0.5,
                _ => 0.0,
            })
            .sum();
        let score = (100.0 * points / checks.len().max(1) as f64).round() as u8;
        Judgement {
            verdict,
            score,
            checks,
        }
    }

    /// The reasons behind the verdict, one line: failing checks for a Fail, checks without
    /// data for Inconclusive, marginal ones for Marginal, every check for a Pass.
    pub fn reasons(&self) -> String {
        self.reason_lines().join("; ")
    }

    /// [`Self::reasons`], one check a line.
    pub fn reason_lines(&self) -> Vec<String> {
        let wanted = match self.verdict {
            Verdict::Fail => Some(CheckOutcome::Fail),
            Verdict::Inconclusive => Some(CheckOutcome::NoData),
            Verdict::Marginal => Some(CheckOutcome::Marginal),
            Verdict::Pass => None,
        };
        self.checks
            .iter()
            .filter(|c| wanted.is_none_or(|w| c.outcome == w))
            .map(|c| c.reason.clone())
            .collect()
    }

    /// "Fail (score 25): canary success-rate …".
    pub fn summary(&self) -> String {
        format!(
            "{} (score {}): {}",
            self.verdict.as_str(),
            self.score,
            self.reasons()
        )
    }
}

/// Judges the canary over `window` (oldest first) with the group's checks.
pub fn judge(checks: &[MetricCheck], window: &[HealthPoint]) -> Judgement {
    let mut out = Vec::new();
    let errors: Vec<&str> = window.iter().filter_map(|p| p.error.as_deref()).collect();
    for c in checks {
        if c.min.is_some() || c.max.is_some() {
            out.push(bound(c, window));
        }
        if c.compare {
            out.push(compare(c, window));
        }
    }
    if out.is_empty() {
        out.push(Check {
            metric: Metric::SuccessRate,
            kind: CheckKind::Bound,
            outcome: CheckOutcome::NoData,
            reason: "no health checks configured".into(),
        });
    }
    // Say why the data is missing when the source said so.
    if let Some(last) = errors.last() {
        for c in out.iter_mut().filter(|c| c.outcome == CheckOutcome::NoData) {
            c.reason = format!("{} ({last})", c.reason);
        }
    }
    Judgement::of(out)
}

fn canary_points(window: &[HealthPoint]) -> impl Iterator<Item = &TrackPoint> {
    window
        .iter()
        .filter(|p| p.error.is_none())
        .map(|p| &p.canary)
}

fn bound(c: &MetricCheck, window: &[HealthPoint]) -> Check {
    let m = c.metric;
    let make = |outcome, reason| Check {
        metric: m,
        kind: CheckKind::Bound,
        outcome,
        reason,
    };
    let no_data = || {
        make(
            CheckOutcome::NoData,
            format!("no canary {} data yet", m.name()),
        )
    };
    match m {
        Metric::SuccessRate => {
            let (mut n, mut ok) = (0.0, 0.0);
            for p in canary_points(window) {
                if let (Some(sr), Some(req)) = (p.success_rate, p.requests) {
                    n += req;
                    ok += sr * req;
                }
            }
            if n < 1.0 {
                return no_data();
            }
            let rate = ok / n;
            let upper = wilson_upper(rate, n);
            let min = c.min.unwrap_or(0.0);
            let max = c.max.unwrap_or(1.0);
            let shown = |v| m.format(v);
            if upper < min {
                make(
                    CheckOutcome::Fail,
                    format!(
                        "canary {} {} over {n:.0} requests (at best {} at 95%) is below min {}",
                        m.name(),
                        shown(rate),
                        shown(upper),
                        shown(min)
                    ),
                )
            } else if rate < min {
                make(
                    CheckOutcome::Marginal,
                    format!(
                        "canary {} {} over {n:.0} requests is below min {}, not yet significantly",
                        m.name(),
                        shown(rate),
                        shown(min)
                    ),
                )
            } else if rate > max {
                make(
                    CheckOutcome::Fail,
                    format!(
                        "canary {} {} is above max {}",
                        m.name(),
                        shown(rate),
                        shown(max)
                    ),
                )
            } else {
                make(
                    CheckOutcome::Pass,
                    format!(
                        "canary {} {} over {n:.0} requests (min {})",
                        m.name(),
                        shown(rate),
                        shown(min)
                    ),
                )
            }
        }
        Metric::LatencyP50 | Metric::LatencyP99 | Metric::Restarts | Metric::Ready => {
            let value = if matches!(m, Metric::Restarts | Metric::Ready) {
                canary_points(window).last().and_then(|p| p.value(m))
            } else {
                weighted_mean(canary_points(window), m)
            };
            let Some(v) = value else {
                return no_data();
            };
            let verdict = match (c.min, c.max) {
                (Some(min), _) if v < min => Some(format!("below min {}", m.format(min))),
                (_, Some(max)) if v > max => Some(format!("above max {}", m.format(max))),
                _ => None,
            };
            match verdict {
                Some(why) => make(
                    CheckOutcome::Fail,
                    format!("canary {} {} is {why}", m.name(), m.format(v)),
                ),
                None => make(
                    CheckOutcome::Pass,
                    format!("canary {} {} within bounds", m.name(), m.format(v)),
                ),
            }
        }
    }
}

/// Request-weighted mean of a metric over points that have it (plain mean without counts).
fn weighted_mean<'a>(points: impl Iterator<Item = &'a TrackPoint>, m: Metric) -> Option<f64> {
    let (mut w, mut s) = (0.0, 0.0);
    for p in points {
        if let Some(v) = p.value(m) {
            let weight = p.requests.unwrap_or(1.0).max(0.0);
            w += weight;
            s += v * weight;
        }
    }
    (w > 0.0).then(|| s / w)
}

/// The upper end of the one-sided 95% Wilson interval of a proportion.
fn wilson_upper(p: f64, n: f64) -> f64 {
    let z2 = Z95 * Z95;
    let centre = p + z2 / (2.0 * n);
    let spread = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre + spread) / (1.0 + z2 / n)).min(1.0)
}

fn compare(c: &MetricCheck, window: &[HealthPoint]) -> Check {
    let m = c.metric;
    let make = |outcome, reason| Check {
        metric: m,
        kind: CheckKind::Comparison,
        outcome,
        reason,
    };
    let series = |stable: bool| -> Vec<f64> {
        window
            .iter()
            .filter(|p| p.error.is_none())
            .filter_map(|p| if stable { &p.stable } else { &p.canary }.value(m))
            .filter(|v| v.is_finite())
            .collect()
    };
    let (canary, stable) = (series(false), series(true));
    if canary.len() < MIN_SAMPLES || stable.len() < MIN_SAMPLES {
        return make(
            CheckOutcome::NoData,
            format!(
                "{}: too few samples to compare ({} canary, {} stable; {MIN_SAMPLES} needed)",
                m.name(),
                canary.len(),
                stable.len()
            ),
        );
    }
    let (Some(cm), Some(sm)) = (median(&canary), median(&stable)) else {
        return make(CheckOutcome::NoData, format!("{}: no values", m.name()));
    };
    // How much worse the canary is, in the tolerance's terms (positive = worse).
    let worse_by = if m.higher_is_worse() {
        cm - sm
    } else {
        sm - cm
    };
    let effect = if m.relative_tolerance() {
        if sm > 0.0 { worse_by / sm } else { 0.0 }
    } else {
        worse_by
    };
    let p = if m.higher_is_worse() {
        mann_whitney_greater(&canary, &stable)
    } else {
        mann_whitney_greater(&stable, &canary)
    }
    .unwrap_or(1.0);
    let significant = p < ALPHA;
    let tol = c.tolerance;
    let shown = if m.relative_tolerance() {
        format!("{:+.0}%", effect * 100.0)
    } else {
        format!(
            "{:+.4}",
            -worse_by * if m.higher_is_worse() { -1.0 } else { 1.0 }
        )
    };
    let detail = format!(
        "{}: canary {} vs stable {} ({shown}, tolerance {tol}, Mann–Whitney p={p:.3}, n={}/{})",
        m.name(),
        m.format(cm),
        m.format(sm),
        canary.len(),
        stable.len()
    );
    let outcome = if significant && effect > tol {
        CheckOutcome::Fail
    } else if effect > tol || (significant && effect > tol / 2.0) {
        CheckOutcome::Marginal
    } else {
        CheckOutcome::Pass
    };
    make(outcome, detail)
}
