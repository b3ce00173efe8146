//! One running `analysis` step: sample both tracks every tick, judge at the end of every
//! interval, and act through the release engine (as `system:agent`) when the analysis is
//! over — step on a Pass, abort on a Fail with `autoAbort` (else pause), pause when the
//! verdict stays Marginal or Inconclusive. The judge's reasons go into the audit reason,
//! and the verdict is stored with the release in the same commit (`Release::analysis`).

use std::sync::Arc;
use std::time::Instant;

use kube::Client;
use tokio::sync::watch;

use super::{AgentEvent, Reports};
use crate::domain::group::AnalysisStep;
use crate::domain::release::{AnalysisRecord, AnalysisVerdict};
use crate::domain::{InstanceGroup, Phase, Release};
use crate::engine::Action;
use crate::engine::release_engine::ReleaseEngine;
use crate::health::prometheus::PrometheusClient;
use crate::health::{
    AnalysisRun, HealthConfig, HealthPoint, HealthReport, Progress, Sampler, SourceKind, Target,
};

/// Points a report keeps for the sparklines.
pub const REPORT_POINTS: usize = 240;

/// Identifies the analysis a task runs, so the loop can tell when the release moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId {
    pub canary_revision: Option<u64>,
    pub step: usize,
    pub desired: u64,
}

impl RunId {
    pub fn of(r: &Release) -> RunId {
        RunId {
            canary_revision: r.canary_revision,
            step: r.step,
            desired: r.desired,
        }
    }
}

pub struct AnalysisTask {
    pub engine: Arc<ReleaseEngine>,
    pub client: Client,
    pub group: InstanceGroup,
    pub release: Release,
    pub step: AnalysisStep,
    pub prometheus: Option<PrometheusClient>,
    pub window: std::time::Duration,
    pub reports: watch::Sender<Reports>,
    pub events: tokio::sync::broadcast::Sender<AgentEvent>,
}

impl AnalysisTask {
    pub async fn run(self) {
        let key = self.group.key();
        let id = RunId::of(&self.release);
        let prepared = HealthConfig::for_group(&self.group).and_then(|cfg| {
            let run = AnalysisRun::new(&self.step, Instant::now())?;
            let sampler = Sampler::new(
                self.client.clone(),
                cfg,
                self.prometheus.as_ref(),
                self.window,
            )?;
            Ok((run, sampler))
        });
        let (mut run, mut sampler) = match prepared {
            Ok(x) => x,
            Err(e) => {
                let why = format!("analysis at step {} cannot run: {e}", id.step);
                self.finish_detached(id, Action::Pause, why, None).await;
                return;
            }
        };
        let target = Target::of(&self.group, Some(&self.release));
        let checks = sampler.config().checks.clone();
        let tick = run.tick();
        // Prometheus' rate window still covers the previous canary's series (an aborted
        // one's errors) for one window after the new canary starts: the judge skips it.
        let warm_up = match sampler.config().source {
            SourceKind::Prometheus => self.window,
            SourceKind::PodMetrics => std::time::Duration::ZERO,
        };
        let started = Instant::now();
        loop {
            let point = sampler.sample(&target).await;
            self.publish(&point, &run);
            // A failed sample is kept either way: it tells the verdict why data is missing.
            if started.elapsed() >= warm_up || point.error.is_some() {
                run.push(point);
            }
            let now = Instant::now();
            if now < run.next_judgement_at() {
                let wake = (now + tick).min(run.next_judgement_at());
                tokio::time::sleep_until(wake.into()).await;
                continue;
            }
            let progress = run.judge(&checks);
            self.publish_judgement(&run);
            let (action, why, verdict) = match progress {
                Progress::Continue(j) => {
                    let _ = self.events.send(AgentEvent::Judged {
                        key: key.clone(),
                        judgement: j,
                    });
                    tokio::time::sleep(tick).await;
                    continue;
                }
                Progress::Passed(j) => (
                    Action::Step,
                    format!("analysis at step {} passed: {}", id.step, j.summary()),
                    j,
                ),
                Progress::Failed(j) if self.group.spec.strategy.auto_abort => (
                    Action::Abort,
                    format!(
                        "analysis at step {} failed, autoAbort: {}",
                        id.step,
                        j.summary()
                    ),
                    j,
                ),
                Progress::Failed(j) => (
                    Action::Pause,
                    format!(
                        "analysis at step {} failed (autoAbort is off, a person decides): {}",
                        id.step,
                        j.summary()
                    ),
                    j,
                ),
                Progress::Undecided(j) => (
                    Action::Pause,
                    format!(
                        "analysis at step {} ended {}, a person decides: {}",
                        id.step,
                        j.verdict.as_str(),
                        j.summary()
                    ),
                    j,
                ),
            };
            let _ = self.events.send(AgentEvent::Judged {
                key: key.clone(),
                judgement: verdict.clone(),
            });
            self.finish_detached(id, action, why, Some(verdict)).await;
            return;
        }
    }

    /// [`Self::finish`] in a task of its own: the agent loop stops the analysis of a release
    /// that moved on, and this action is what moves it on — stopped halfway, between its
    /// commit and its recorded outcome, the cluster would wait for a re-apply and nobody
    /// would hear what the analysis did.
    async fn finish_detached(
        self,
        id: RunId,
        action: Action,
        why: String,
        verdict: Option<crate::health::Judgement>,
    ) {
        let acting = tokio::spawn(async move { self.finish(&id, action, why, verdict).await });
        let _ = acting.await;
    }

    /// Acts, unless the release has moved on since the analysis began (a person stepped,
    /// paused or aborted meanwhile): then the analysis is moot.
    async fn finish(
        &self,
        id: &RunId,
        action: Action,
        why: String,
        verdict: Option<crate::health::Judgement>,
    ) {
        let key = self.group.key();
        let store = self.engine.store().clone();
        match store.get_release(&key).await {
            Ok(Some(v)) if v.value.phase == Phase::Progressing && RunId::of(&v.value) == *id => {}
            Ok(_) => {
                tracing::info!(group = %key, "release moved on during its analysis; not acting");
                return;
            }
            Err(e) => {
                tracing::warn!(group = %key, error = %e, "cannot re-read the release; not acting");
                return;
            }
        }
        let name = action.name();
        let record = AnalysisRecord {
            verdict: verdict
                .as_ref()
                .map_or(AnalysisVerdict::Inconclusive, |j| j.verdict.into()),
            score: verdict.as_ref().map(|j| j.score),
            // Without a judgement the analysis could not run: `why` says so.
            reasons: verdict.map_or_else(|| vec![why.clone()], |j| j.reason_lines()),
            step: id.step,
            canary_revision: id.canary_revision,
            action: name.to_string(),
            at: jiff::Timestamp::now(),
        };
        let result = self
            .engine
            .act_on_analysis(&key, action, why.clone(), record)
            .await;
        let outcome = match &result {
            Ok(r) => r.summary.clone(),
            Err(e) => format!("refused: {e}"),
        };
        tracing::info!(group = %key, action = name, %outcome, reason = %why, "agent acted");
        let _ = self.events.send(AgentEvent::Acted {
            key,
            action: name.to_string(),
            reason: why,
            outcome,
        });
    }

    fn publish(&self, point: &HealthPoint, run: &AnalysisRun) {
        let key = self.group.key();
        self.reports.send_modify(|all| {
            let r = all.entry(key).or_insert_with(|| HealthReport {
                points: Vec::new(),
                judgement: None,
                analysis: None,
            });
            r.points.push(point.clone());
            let excess = r.points.len().saturating_sub(REPORT_POINTS);
            r.points.drain(..excess);
            r.analysis = Some(format!("{} at step {}", run.describe(), self.release.step));
        });
    }

    fn publish_judgement(&self, run: &AnalysisRun) {
        let key = self.group.key();
        self.reports.send_modify(|all| {
            if let Some(r) = all.get_mut(&key) {
                r.judgement = run.last.clone();
                r.analysis = Some(format!("{} at step {}", run.describe(), self.release.step));
            }
        });
    }
}
