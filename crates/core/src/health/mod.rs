//! Canary health (DESIGN.md §1 "Health"): per-track metrics from pod metrics or Prometheus,
//! a judge that compares canary with stable, and the analysis an `analysis` step runs.
//! No terminal here: the console, the agent and the tests all use it as is.

pub mod analysis;
pub mod cluster;
pub mod config;
pub mod exposition;
pub mod judge;
pub mod live;
pub mod live_verdict;
pub mod prometheus;
pub mod rates;
pub mod sampler;
pub mod scrape;
pub mod stats;

use jiff::Timestamp;

pub use analysis::{AnalysisRun, Progress};
pub use config::{HealthConfig, Metric, MetricCheck, SourceKind};
pub use judge::{Check, CheckOutcome, Judgement, Verdict, judge};
pub use live::{LiveHealth, LiveReport, LiveTarget};
pub use sampler::{Sampler, Target};

/// The latest health of each group the controller analyses.
pub type Reports = std::collections::BTreeMap<crate::domain::GroupKey, HealthReport>;

/// One track's health at one sampling moment. `None` is "no data", never a good value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackPoint {
    /// Requests served in the sampling window (the weight of this point's rates).
    pub requests: Option<f64>,
    /// Requests a second over the sampling window.
    pub rps: Option<f64>,
    pub success_rate: Option<f64>,
    /// Seconds.
    pub latency_p50: Option<f64>,
    pub latency_p99: Option<f64>,
    pub restarts: u32,
    pub ready: u32,
    pub desired: u32,
    /// Warning events about the track's pods in the last minutes.
    pub warnings: u32,
}

impl TrackPoint {
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::SuccessRate => self.success_rate,
            Metric::LatencyP50 => self.latency_p50,
            Metric::LatencyP99 => self.latency_p99,
            Metric::Restarts => Some(f64::from(self.restarts)),
            Metric::Ready => Some(f64::from(self.ready)),
        }
    }
}

/// Both tracks at one moment. `error` says why the metrics are missing ("no data: …").
#[derive(Debug, Clone, PartialEq)]
pub struct HealthPoint {
    pub at: Timestamp,
    pub stable: TrackPoint,
    pub canary: TrackPoint,
    pub error: Option<String>,
    /// The group's pods were listed: ready, restarts and warnings are real even when
    /// `error` says the metrics are missing (a crash-looping canary serves none).
    pub pods_read: bool,
}

/// What the console shows for a group: the recent points and the latest judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub points: Vec<HealthPoint>,
    pub judgement: Option<Judgement>,
    /// "analysis 2/6 at step 4", when an analysis is running.
    pub analysis: Option<String>,
}

impl HealthReport {
    /// The mark of the group in the groups list: the latest verdict, if any.
    pub fn verdict(&self) -> Option<Verdict> {
        self.judgement.as_ref().map(|j| j.verdict)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The metrics source did not answer in time or refused: shown as "no data".
    #[error("no data: {0}")]
    NoData(String),
    /// The group's `spec.health` cannot be used as written.
    #[error("spec.health: {0}")]
    BadConfig(String),
}
