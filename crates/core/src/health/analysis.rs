//! The state of one `analysis: {interval, count}` step: points sampled a few times per
//! interval, a judgement at the end of every interval over everything sampled so far.
//! A Fail at any interval ends it at once (Argo's failureLimit 0, which is what makes an
//! automatic abort quick); after `count` intervals a Pass lets the release go on, and a
//! Marginal or Inconclusive verdict stops it for a person.

use std::time::{Duration, Instant};

use jiff::SignedDuration;

use super::config::MetricCheck;
use super::judge::{Judgement, Verdict, judge};
use super::{HealthError, HealthPoint};
use crate::domain::group::AnalysisStep;

/// Samples per interval: enough points for the rank test after one or two intervals.
const SAMPLES_PER_INTERVAL: u32 = 4;
const MIN_TICK: Duration = Duration::from_millis(200);
const MAX_TICK: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Keep sampling; the judgement so far.
    Continue(Judgement),
    Passed(Judgement),
    Failed(Judgement),
    /// All intervals done without a Pass or a Fail: a person decides.
    Undecided(Judgement),
}

#[derive(Debug, Clone)]
pub struct AnalysisRun {
    pub interval: Duration,
    pub count: u32,
    started: Instant,
    pub points: Vec<HealthPoint>,
    /// Intervals judged so far.
    pub judged: u32,
    pub last: Option<Judgement>,
}

/// "30s", "1m", "500ms", as the engine reads pause durations.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let d: SignedDuration = s.trim().parse().ok()?;
    Duration::try_from(d).ok().filter(|d| !d.is_zero())
}

impl AnalysisRun {
    pub fn new(step: &AnalysisStep, started: Instant) -> Result<AnalysisRun, HealthError> {
        let interval = parse_duration(&step.interval).ok_or_else(|| {
            HealthError::BadConfig(format!(
                "analysis interval {:?} is not a duration like 30s",
                step.interval
            ))
        })?;
        Ok(AnalysisRun {
            interval,
            count: step.count.max(1),
            started,
            points: Vec::new(),
            judged: 0,
            last: None,
        })
    }

    /// How often to sample.
    pub fn tick(&self) -> Duration {
        (self.interval / SAMPLES_PER_INTERVAL).clamp(MIN_TICK, MAX_TICK)
    }

    pub fn push(&mut self, p: HealthPoint) {
        self.points.push(p);
    }

    /// When the current interval ends.
    pub fn next_judgement_at(&self) -> Instant {
        self.started + self.interval * (self.judged + 1)
    }

    /// "analysis 2/6": where the run stands.
    pub fn describe(&self) -> String {
        format!("analysis {}/{}", self.judged, self.count)
    }

    /// Judges the interval that just ended (call at [`Self::next_judgement_at`]).
    pub fn judge(&mut self, checks: &[MetricCheck]) -> Progress {
        self.judged += 1;
        let j = judge(checks, &self.points);
        self.last = Some(j.clone());
        match j.verdict {
            Verdict::Fail => Progress::Failed(j),
            _ if self.judged < self.count => Progress::Continue(j),
            Verdict::Pass => Progress::Passed(j),
            Verdict::Marginal | Verdict::Inconclusive => Progress::Undecided(j),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_like_pause_durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn ticks_sample_four_times_an_interval_within_limits() {
        let run = |i: &str| {
            AnalysisRun::new(
                &AnalysisStep {
                    interval: i.into(),
                    count: 3,
                },
                Instant::now(),
            )
            .unwrap()
        };
        assert_eq!(run("1s").tick(), Duration::from_millis(250));
        assert_eq!(run("100ms").tick(), MIN_TICK);
        assert_eq!(run("5m").tick(), MAX_TICK);
    }

    #[test]
    fn no_data_until_the_end_is_undecided_not_passed() {
        let mut run = AnalysisRun::new(
            &AnalysisStep {
                interval: "1s".into(),
                count: 2,
            },
            Instant::now(),
        )
        .unwrap();
        let checks = [MetricCheck::new(crate::health::Metric::SuccessRate)];
        assert!(matches!(run.judge(&checks), Progress::Continue(_)));
        match run.judge(&checks) {
            Progress::Undecided(j) => assert_eq!(j.verdict, Verdict::Inconclusive),
            other => panic!("{other:?}"),
        }
    }
}
