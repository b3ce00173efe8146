//! The agent: what moves releases on without a person (DESIGN.md §6 `flightdeck agent`).
//! Every poll it reads the groups and releases and
//!
//! * steps past a timed `pause: {duration}` once its time is up, and past a switched
//!   blue-green release's `scaleDownDelay`;
//! * promotes a rolling release (or finishes a blue-green one) once every pod of the
//!   stable Deployment runs the new revision, and switches an `autoPromote` preview once
//!   it is ready;
//! * runs an `analysis` step: samples health, judges every interval, then steps on a Pass,
//!   aborts on a Fail when the strategy has `autoAbort` (pauses otherwise), and pauses on
//!   a Marginal or Inconclusive end — with the judge's reasons in the audit entry;
//! * re-applies a release whose applied generation has lagged its desired one for longer
//!   than [`AgentConfig::reapply_after`] (a crash between commit and apply).
//!
//! Every action goes through the release engine as `system:agent`, so the policy must bind
//! that user (deployer for step/pause/abort, releaser when a last step promotes).
//!
//! **One agent at a time** per store: the agent acts only while it holds the store lease
//! [`LEASE`]. `flightdeck agent` and every open console run this same loop and compete for
//! the one lease; whoever holds it drives every group, the others only wait. So a console
//! moves its releases on by itself when no agent runs, and never as a second driver.

mod adopted;
mod analysis;
mod drains;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::domain::group::StrategyKind;
use crate::domain::{GroupKey, InstanceGroup, Phase, Release, Step};
use crate::engine::release_engine::ReleaseEngine;
use crate::engine::strategy::{self, Stage};
use crate::engine::{Action, pause_ends_at};
use crate::health::Judgement;
use crate::health::prometheus::PrometheusClient;
use crate::kube::ClusterConn;
use crate::kube::apply::Deadline;
use crate::model::sanitize::clean;
use crate::store::{Scope, StoreError, Unreadable};

pub use analysis::{REPORT_POINTS, RunId};

/// The store lease the controller replicas compete for.
pub const LEASE: &str = "controller";
/// The user the agent acts as, in the policy and the audit log.
pub use crate::domain::user::AGENT_USER;

pub use crate::health::Reports;

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// How often groups and releases are read.
    pub poll: Duration,
    /// How long desired ≠ applied may last before the agent re-applies (an action in
    /// progress has them apart for a moment).
    pub reapply_after: Duration,
    pub lease_ttl: Duration,
    /// This process in the lease: unique per process ("agent@host:pid").
    pub holder: String,
    /// The installation's Prometheus, for groups with `source: prometheus`.
    pub prometheus: Option<PrometheusClient>,
    /// The rate window of the Prometheus queries.
    pub prometheus_window: Duration,
    pub scope: Scope,
}

impl AgentConfig {
    pub fn new(holder: impl Into<String>) -> AgentConfig {
        AgentConfig {
            poll: Duration::from_secs(1),
            reapply_after: Duration::from_secs(10),
            lease_ttl: Duration::from_secs(15),
            holder: holder.into(),
            prometheus: None,
            prometheus_window: Duration::from_secs(60),
            scope: Scope::all(),
        }
    }

    /// "agent@host:pid", unique enough for the lease.
    pub fn default_holder(kind: &str) -> String {
        let host = crate::authz::Identity::os().host;
        format!("{kind}@{host}:{}", std::process::id())
    }
}

/// What the agent did, for the console's toasts, the logs and the benchmark's clock.
#[derive(Debug, Clone)]
pub enum AgentEvent {
    Leader {
        holder: String,
        mine: bool,
    },
    /// A lease key that no live lease kept was in the way and was removed.
    StaleLease {
        was: String,
    },
    /// The lease could not be taken or renewed (the store is down, or refuses this user).
    LeaseTrouble {
        error: String,
    },
    Judged {
        key: GroupKey,
        judgement: Judgement,
    },
    Acted {
        key: GroupKey,
        action: String,
        reason: String,
        outcome: String,
    },
    /// A group or release under the agent's scope cannot be decoded: it is skipped (the
    /// rest of the estate goes on). Sent once per key and value.
    Unreadable {
        key: String,
        detail: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Store(#[from] StoreError),
}

struct Running {
    id: RunId,
    task: JoinHandle<()>,
}

pub struct Agent {
    engine: Arc<ReleaseEngine>,
    cluster: ClusterConn,
    cfg: AgentConfig,
    clients: HashMap<String, kube::Client>,
    runs: HashMap<GroupKey, Running>,
    /// When each group may be tried again after a failed reapply or timed step.
    retry_at: HashMap<GroupKey, (Instant, Duration)>,
    reports: watch::Sender<Reports>,
    events: broadcast::Sender<AgentEvent>,
    /// Whether this process holds the lease, for the request server beside it.
    leading: Arc<watch::Sender<bool>>,
    leader: bool,
    /// Unreadable keys (with why) seen by the last pass, so each is logged once.
    unreadable: HashSet<(String, String)>,
    /// When each adopted group's pods were last looked at for missing labels.
    relabelled_at: HashMap<GroupKey, Instant>,
}

impl Agent {
    /// `engine` must act as [`AGENT_USER`].
    pub fn new(engine: Arc<ReleaseEngine>, cluster: ClusterConn, cfg: AgentConfig) -> Agent {
        let (reports, _) = watch::channel(Reports::new());
        let (events, _) = broadcast::channel(256);
        let (leading, _) = watch::channel(false);
        let leading = Arc::new(leading);
        Agent {
            leading,
            engine,
            cluster,
            cfg,
            clients: HashMap::new(),
            runs: HashMap::new(),
            retry_at: HashMap::new(),
            reports,
            events,
            leader: false,
            unreadable: HashSet::new(),
            relabelled_at: HashMap::new(),
        }
    }

    pub fn reports(&self) -> watch::Receiver<Reports> {
        self.reports.subscribe()
    }

    pub fn events(&self) -> broadcast::Receiver<AgentEvent> {
        self.events.subscribe()
    }

    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// True while this process holds the lease.
    pub fn leader(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Runs until `stop` turns true, then lets the lease go.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        // The lease is kept on its own clock: a pass that waits on a slow cluster (an
        // apply bounded at 12 s) must not let a 3 s lease lapse.
        let election = tokio::spawn(keep_lease(
            self.engine.store().clone(),
            self.cfg.holder.clone(),
            self.cfg.lease_ttl,
            self.events.clone(),
            self.leading.clone(),
            stop.clone(),
        ));
        loop {
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "agent pass failed; trying again");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        self.stop_runs();
        // The election lets the lease go when it sees `stop`.
        let _ = election.await;
    }

    /// One pass: keep (or seek) the lease, then look at every release.
    pub async fn tick(&mut self) -> Result<(), AgentError> {
        let leading = *self.leading.borrow();
        if leading != self.leader {
            if !leading {
                self.stop_runs();
            }
            self.leader = leading;
        }
        if !self.leader {
            return Ok(());
        }
        let store = self.engine.store().clone();
        // One undecodable value never stops the pass: it is reported and skipped.
        let groups = store.read_groups(&self.cfg.scope).await?;
        let releases = store.read_releases(&self.cfg.scope).await?;
        self.report_unreadable(groups.unreadable.iter().chain(&releases.unreadable));
        let groups: HashMap<GroupKey, InstanceGroup> =
            groups.items.into_iter().map(|g| (g.key(), g)).collect();
        let releases = releases.items;
        self.runs.retain(|_, r| !r.task.is_finished());
        let now = Instant::now();
        for v in releases {
            let release = v.value;
            let key = release.group.clone();
            let Some(group) = groups.get(&key) else {
                continue;
            };
            self.follow_analysis(group, &release).await;
            self.label_adopted(group, &release).await;
            if self.retry_at.get(&key).is_some_and(|(t, _)| *t > now) {
                continue;
            }
            if let Some(ends) = pause_ends_at(group, &release)
                && ends <= jiff::Timestamp::now()
            {
                let why = if strategy::switch_ends_at(group, &release).is_some() {
                    format!(
                        "the scale-down delay ({}) after the switch is over",
                        strategy::blue_green(group).delay_text()
                    )
                } else {
                    format!(
                        "timed pause at step {} is over ({})",
                        release.step,
                        pause_text(group, &release)
                    )
                };
                self.act(&key, Action::Step, why).await;
                continue;
            }
            if let Some((action, why)) = self.drain_move(group, &release).await {
                self.act(&key, action, why).await;
                continue;
            }
            if let Some((action, why)) = self.rollout_move(group, &release).await {
                self.act(&key, action, why).await;
                continue;
            }
            let lagging = release.desired != release.applied
                && jiff::Timestamp::now()
                    .duration_since(release.updated_at)
                    .as_secs_f64()
                    >= self.cfg.reapply_after.as_secs_f64();
            if lagging {
                let outcome = self.engine.reapply(&key).await;
                let ok = matches!(&outcome, Ok(r) if r.apply_error.is_none());
                let text = match &outcome {
                    Ok(r) => r.apply_error.clone().unwrap_or_else(|| r.summary.clone()),
                    Err(e) => e.to_string(),
                };
                self.note_outcome(&key, ok);
                let _ = self.events.send(AgentEvent::Acted {
                    key,
                    action: "reapply".into(),
                    reason: format!(
                        "applied generation {} lags desired {}",
                        release.applied, release.desired
                    ),
                    outcome: text,
                });
            }
        }
        Ok(())
    }

    /// Logs each unreadable key once (per value: a key rewritten badly is told again),
    /// and forgets those that are readable again.
    fn report_unreadable<'a>(&mut self, now: impl Iterator<Item = &'a Unreadable>) {
        let now: HashSet<(String, String)> =
            now.map(|u| (u.key.clone(), u.detail.clone())).collect();
        for (key, detail) in now.difference(&self.unreadable) {
            tracing::warn!(%key, %detail, "skipped an unreadable key; the rest of the estate goes on");
            let _ = self.events.send(AgentEvent::Unreadable {
                key: clean(key),
                detail: clean(detail),
            });
        }
        self.unreadable = now;
    }

    fn stop_runs(&mut self) {
        for (_, r) in self.runs.drain() {
            r.task.abort();
        }
    }

    /// Starts the analysis of a release at an analysis step, stops one whose release moved on.
    async fn follow_analysis(&mut self, group: &InstanceGroup, release: &Release) {
        let key = group.key();
        let step = match group.spec.strategy.steps.get(release.step) {
            Some(Step::Analysis(a)) if release.phase == Phase::Progressing => Some(a.clone()),
            _ => None,
        };
        let id = RunId::of(release);
        if let Some(r) = self.runs.get(&key)
            && (step.is_none() || r.id != id)
        {
            // A run still judging is moot; one that is acting finishes its action in a
            // task of its own (see `AnalysisTask::finish_detached`).
            r.task.abort();
            self.runs.remove(&key);
        }
        let Some(step) = step else { return };
        if self.runs.contains_key(&key) {
            return;
        }
        let client = match self.client_for(&group.spec.cluster).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(group = %key, error = %e, "no cluster for the analysis");
                return;
            }
        };
        self.reports.send_modify(|all| {
            all.remove(&key);
        });
        let task = analysis::AnalysisTask {
            engine: self.engine.clone(),
            client,
            group: group.clone(),
            release: release.clone(),
            step,
            prometheus: self.cfg.prometheus.clone(),
            window: self.cfg.prometheus_window,
            reports: self.reports.clone(),
            events: self.events.clone(),
        };
        self.runs.insert(
            key,
            Running {
                id,
                task: tokio::spawn(task.run()),
            },
        );
    }

    /// The move a blue-green or rolling release makes once its Deployments are there:
    /// a rolling release (or a blue-green one replacing its old version) is promoted when
    /// every pod runs the new revision; an `autoPromote` preview switches once ready.
    async fn rollout_move(
        &self,
        group: &InstanceGroup,
        release: &Release,
    ) -> Option<(Action, String)> {
        if release.desired != release.applied {
            return None;
        }
        let revision = release.canary_revision?;
        if group.spec.kind == crate::domain::group::Workload::Cron {
            if release.phase != Phase::Progressing {
                return None;
            }
            let jobs = self
                .engine
                .running_jobs(group, Deadline::after(Duration::from_secs(3)))
                .await
                .ok()?;
            return jobs.is_empty().then(|| {
                (
                    Action::Step,
                    format!(
                        "no Job of {} runs any more: r{revision} is applied",
                        group.name()
                    ),
                )
            });
        }
        let (action, on_preview) = match (group.spec.strategy.kind(), release.phase) {
            (StrategyKind::Rolling, Phase::Progressing) => (Action::Step, false),
            (StrategyKind::BlueGreen, phase) => match (phase, Stage::of(group, release)) {
                (Phase::Progressing, Stage::Replacing) => (Action::Step, false),
                (Phase::Paused, Stage::Preview) if strategy::blue_green(group).auto_promote => {
                    (Action::Promote, true)
                }
                _ => return None,
            },
            _ => return None,
        };
        let tracks = self
            .engine
            .tracks(group, Deadline::after(Duration::from_secs(3)))
            .await
            .ok()?;
        let facts = if on_preview {
            tracks.canary
        } else {
            tracks.stable
        }?;
        if !facts.done(revision) {
            return None;
        }
        Some(match action {
            Action::Promote => (
                action,
                format!("the preview r{revision} is ready (autoPromote)"),
            ),
            _ => (
                action,
                format!(
                    "r{revision} runs on every pod of {}",
                    group.stable_deployment()
                ),
            ),
        })
    }

    async fn client_for(&mut self, cluster: &str) -> Result<kube::Client, String> {
        if let Some(c) = self.clients.get(cluster) {
            return Ok(c.clone());
        }
        let client = if cluster == self.cluster.context {
            self.cluster.client.clone()
        } else {
            self.cluster
                .switch(cluster)
                .await
                .map_err(|e| e.to_string())?
                .client
        };
        self.clients.insert(cluster.to_string(), client.clone());
        Ok(client)
    }

    async fn act(&mut self, key: &GroupKey, action: Action, why: String) {
        let name = action.name().to_string();
        let result = self.engine.act(key, action, Some(why.clone())).await;
        if let Err(crate::engine::release_engine::EngineError::Store(StoreError::Fenced {
            ..
        })) = &result
        {
            // Another controller took over: it acts now, not us.
            self.leader = false;
            self.leading.send_replace(false);
            self.stop_runs();
        }
        let ok = matches!(&result, Ok(r) if r.apply_error.is_none());
        let outcome = match &result {
            Ok(r) => r.apply_error.clone().unwrap_or_else(|| r.summary.clone()),
            Err(e) => format!("refused: {e}"),
        };
        tracing::info!(group = %key, action = %name, %outcome, reason = %why, "agent acted");
        self.note_outcome(key, ok);
        let _ = self.events.send(AgentEvent::Acted {
            key: key.clone(),
            action: name,
            reason: why,
            outcome,
        });
    }

    /// Failures back off (10s doubling to 10 minutes) so a refused action is not retried
    /// into the audit log every poll.
    fn note_outcome(&mut self, key: &GroupKey, ok: bool) {
        if ok {
            self.retry_at.remove(key);
            return;
        }
        let next = self
            .retry_at
            .get(key)
            .map_or(Duration::from_secs(10), |(_, d)| {
                (*d * 2).min(Duration::from_secs(600))
            });
        self.retry_at
            .insert(key.clone(), (Instant::now() + next, next));
    }
}

fn pause_text(group: &InstanceGroup, release: &Release) -> String {
    match group.spec.strategy.steps.get(release.step) {
        Some(Step::Pause(p)) => format!("pause {}", p.duration.as_deref().unwrap_or("")),
        _ => "pause".into(),
    }
}

/// Takes and renews the lease every third of its time until `stop`, saying who holds it
/// through `leading` and `events`; gives it back on the way out.
async fn keep_lease(
    store: Arc<dyn crate::store::Store>,
    holder: String,
    ttl: Duration,
    events: broadcast::Sender<AgentEvent>,
    leading: Arc<watch::Sender<bool>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut leader = false;
    let mut announced = false;
    loop {
        match store.hold_lease(LEASE, &holder, ttl).await {
            Ok(state) => {
                if let Some(was) = state.cleared_stale {
                    tracing::warn!(%was, "removed a lease key that no live lease kept");
                    let _ = events.send(AgentEvent::StaleLease { was });
                }
                let mine = state.holder == holder;
                if mine != leader || !announced {
                    tracing::info!(holder = %state.holder, mine, "agent lease");
                    let _ = events.send(AgentEvent::Leader {
                        holder: state.holder,
                        mine,
                    });
                }
                announced = true;
                leader = mine;
                leading.send_if_modified(|l| std::mem::replace(l, mine) != mine);
            }
            Err(e) => {
                let _ = events.send(AgentEvent::LeaseTrouble {
                    error: e.to_string(),
                });
                // Without the store we cannot know we still lead: stop acting.
                leader = false;
                leading.send_if_modified(|l| std::mem::replace(l, false));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(ttl / 3) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    leading.send_replace(false);
    if leader {
        let _ = store.release_lease(LEASE, &holder).await;
    }
}

/// A running agent.
pub struct AgentHandle {
    pub task: JoinHandle<()>,
    pub reports: watch::Receiver<Reports>,
    pub events: broadcast::Receiver<AgentEvent>,
    /// True while it holds the lease.
    pub leader: watch::Receiver<bool>,
    /// `true` ends it (and lets the lease go).
    pub stop: watch::Sender<bool>,
}

/// Starts an agent in the background.
pub fn spawn(engine: Arc<ReleaseEngine>, cluster: ClusterConn, cfg: AgentConfig) -> AgentHandle {
    let agent = Agent::new(engine, cluster, cfg);
    let reports = agent.reports();
    let events = agent.events();
    let leader = agent.leader();
    let (stop, stop_rx) = watch::channel(false);
    AgentHandle {
        task: tokio::spawn(agent.run(stop_rx)),
        reports,
        events,
        leader,
        stop,
    }
}
