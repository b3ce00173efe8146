//! A console's own health sampling: every group whose release has a live canary is sampled
//! read-only with the console's credentials — often for the group that is open, now and
//! then for the rest — and judged live ([`super::live_verdict`]), so every console shows
//! stable vs canary whether or not an analysis runs and whoever holds the controller's
//! lease. Nothing here writes anywhere: reports go out as messages.
//!
//! Each group has one [`Sampler`] (its counters make the rates), moved into the task that
//! samples and handed back with the point, so at most one sample of a group runs at once
//! and at most [`LiveConfig::concurrency`] in all. A sample is bounded by
//! [`LiveConfig::timeout`]; a group whose canary is gone is dropped (a late sample of it is
//! thrown away) and reported [`LiveReport::Gone`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::config::{HealthConfig, SourceKind};
use super::live_verdict::live_judgement;
use super::prometheus::PrometheusClient;
use super::{HealthPoint, HealthReport, Sampler, Target, TrackPoint};
use crate::domain::{GroupKey, InstanceGroup, Release};
use crate::kube::ClusterConn;

/// Points kept per group for the sparklines.
pub const LIVE_POINTS: usize = 240;

#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// How often the open group is sampled…
    pub open_every: Duration,
    /// …and every other group with a live canary.
    pub rest_every: Duration,
    /// Samples running at once, over all groups.
    pub concurrency: usize,
    /// How long one sample may take before it counts as "no data".
    pub timeout: Duration,
    /// The installation's Prometheus (`--prometheus-url`), for groups with that source.
    pub prometheus: Option<PrometheusClient>,
    pub prometheus_window: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            open_every: Duration::from_secs(2),
            rest_every: Duration::from_secs(10),
            concurrency: 4,
            timeout: Duration::from_secs(10),
            prometheus: None,
            prometheus_window: Duration::from_secs(60),
        }
    }
}

/// A group whose release has a live canary, as the store says.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveTarget {
    pub group: InstanceGroup,
    pub release: Release,
}

impl LiveTarget {
    /// The groups of `releases` with a canary in flight.
    pub fn in_flight<'a>(
        groups: impl IntoIterator<Item = &'a InstanceGroup>,
        releases: &HashMap<GroupKey, Release>,
    ) -> Vec<LiveTarget> {
        let mut out: Vec<LiveTarget> = groups
            .into_iter()
            .filter_map(|g| {
                let r = releases.get(&g.key())?;
                (r.phase.in_flight() && r.canary_revision.is_some()).then(|| LiveTarget {
                    group: g.clone(),
                    release: r.clone(),
                })
            })
            .collect();
        out.sort_by_key(|t| t.group.key());
        out
    }
}

/// What a console shows of one live canary.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveHealth {
    /// The points and the live judgement (never an analysis: that is the controller's).
    pub report: HealthReport,
    /// How often this console samples the group now.
    pub every: Duration,
    /// Why the console samples otherwise than the group says (no Prometheus address, a
    /// `spec.health` it cannot read).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiveReport {
    Sampled(GroupKey, Arc<LiveHealth>),
    /// The group has no live canary any more: forget its health.
    Gone(GroupKey),
}

struct Tracked {
    target: LiveTarget,
    checks: Vec<super::MetricCheck>,
    config: HealthConfig,
    note: Option<String>,
    /// `None` while its sample runs (the task holds it) or before the first one.
    sampler: Option<Sampler>,
    busy: bool,
    points: Vec<HealthPoint>,
    due: Instant,
    /// Tells a sample of this canary from one of an earlier canary of the same group.
    generation: u64,
}

type Sampled = (GroupKey, u64, Option<Sampler>, HealthPoint);

/// When the sampling loop has a sample to start: the earliest due of the groups not being
/// sampled — but only with room for one more. With every slot taken, the next start waits
/// for a sample to end, not for a time that has passed (an estate with more overdue groups
/// than slots would otherwise spin a core, waking again at once each time).
fn next_wake(
    tracked: impl Iterator<Item = (bool, Instant)>,
    running: usize,
    concurrency: usize,
) -> Option<Instant> {
    if running >= concurrency {
        return None;
    }
    tracked.filter(|(busy, _)| !busy).map(|(_, due)| due).min()
}

/// Samples until `targets` or `out` closes. `open` is the group the console has open.
pub async fn run<T>(
    cluster: ClusterConn,
    cfg: LiveConfig,
    mut targets: watch::Receiver<Vec<LiveTarget>>,
    mut open: watch::Receiver<Option<GroupKey>>,
    out: mpsc::Sender<T>,
) where
    T: From<LiveReport> + Send + 'static,
{
    let mut live = Live {
        cluster,
        cfg,
        tracked: HashMap::new(),
        clients: HashMap::new(),
        generation: 0,
        open: open.borrow_and_update().clone(),
        running: HashMap::new(),
    };
    let mut tasks: JoinSet<Sampled> = JoinSet::new();
    let mut open_closed = false;
    let first = targets.borrow_and_update().clone();
    for gone in live.reconcile(first) {
        let _ = out.send(LiveReport::Gone(gone).into()).await;
    }
    loop {
        live.start_due(&mut tasks).await;
        let wake = live
            .next_wake(tasks.len())
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            changed = targets.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = targets.borrow_and_update().clone();
                for gone in live.reconcile(now) {
                    if out.send(LiveReport::Gone(gone).into()).await.is_err() {
                        return;
                    }
                }
            }
            changed = open.changed(), if !open_closed => {
                if changed.is_err() {
                    open_closed = true;
                    continue;
                }
                live.open = open.borrow_and_update().clone();
                if let Some(t) = live.open.as_ref().and_then(|k| live.tracked.get_mut(k)) {
                    t.due = Instant::now();
                }
            }
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (key, generation, sampler, point) = match done {
                    Ok((id, sampled)) => {
                        live.running.remove(&id);
                        sampled
                    }
                    Err(e) => match live.panicked(e) {
                        Some(sampled) => sampled,
                        None => continue,
                    },
                };
                if let Some(health) = live.sampled(&key, generation, sampler, point)
                    && out.send(LiveReport::Sampled(key, health).into()).await.is_err()
                {
                    return;
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
    }
}

struct Live {
    cluster: ClusterConn,
    cfg: LiveConfig,
    tracked: HashMap<GroupKey, Tracked>,
    clients: HashMap<String, Result<kube::Client, String>>,
    generation: u64,
    open: Option<GroupKey>,
    /// Which group (and canary) each running sample is of.
    running: HashMap<tokio::task::Id, (GroupKey, u64)>,
}

impl Live {
    fn every(&self, key: &GroupKey) -> Duration {
        if self.open.as_ref() == Some(key) {
            self.cfg.open_every
        } else {
            self.cfg.rest_every
        }
    }

    /// Follows the store: new canaries are tracked (due now), a new canary of a group
    /// starts over, a changed weight only changes the target; gone groups are returned.
    fn reconcile(&mut self, targets: Vec<LiveTarget>) -> Vec<GroupKey> {
        let mut wanted: HashMap<GroupKey, LiveTarget> =
            targets.into_iter().map(|t| (t.group.key(), t)).collect();
        let gone: Vec<GroupKey> = self
            .tracked
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for k in &gone {
            self.tracked.remove(k);
        }
        for (key, target) in wanted.drain() {
            if let Some(t) = self.tracked.get_mut(&key)
                && t.target.group == target.group
                && t.target.release.canary_revision == target.release.canary_revision
            {
                t.target = target;
                continue;
            }
            self.generation += 1;
            let (config, note) = config_for(&target.group, self.cfg.prometheus.is_some());
            self.tracked.insert(
                key,
                Tracked {
                    checks: config.checks.clone(),
                    config,
                    note,
                    target,
                    sampler: None,
                    busy: false,
                    points: Vec::new(),
                    due: Instant::now(),
                    generation: self.generation,
                },
            );
        }
        gone
    }

    fn next_wake(&self, running: usize) -> Option<Instant> {
        next_wake(
            self.tracked.values().map(|t| (t.busy, t.due)),
            running,
            self.cfg.concurrency,
        )
    }

    /// Starts the samples that are due, the longest overdue first, while there is room.
    async fn start_due(&mut self, tasks: &mut JoinSet<Sampled>) {
        if tasks.len() >= self.cfg.concurrency {
            return;
        }
        let now = Instant::now();
        let mut due: Vec<(Instant, GroupKey)> = self
            .tracked
            .iter()
            .filter(|(_, t)| !t.busy && t.due <= now)
            .map(|(k, t)| (t.due, k.clone()))
            .collect();
        due.sort();
        for (_, key) in due {
            if tasks.len() >= self.cfg.concurrency {
                return;
            }
            let cluster = self.tracked[&key].target.group.spec.cluster.clone();
            let client = self.client(&cluster).await;
            let timeout = self.cfg.timeout;
            let (prometheus, window) = (self.cfg.prometheus.clone(), self.cfg.prometheus_window);
            let Some(t) = self.tracked.get_mut(&key) else {
                continue;
            };
            t.busy = true;
            let target = Target::of(&t.target.group, Some(&t.target.release));
            let generation = t.generation;
            let sampler = match (t.sampler.take(), client) {
                (Some(s), _) => Ok(s),
                (None, Ok(client)) => {
                    Sampler::new(client, t.config.clone(), prometheus.as_ref(), window)
                        .map_err(|e| e.to_string())
                }
                (None, Err(e)) => Err(e),
            };
            let running = (key.clone(), generation);
            let handle = tasks.spawn(async move {
                let mut sampler = match sampler {
                    Ok(s) => s,
                    Err(why) => return (key, generation, None, unsampled(&target, why)),
                };
                let point = match tokio::time::timeout(timeout, sampler.sample(&target)).await {
                    Ok(p) => p,
                    Err(_) => unsampled(
                        &target,
                        format!("no data: no answer within {}s", timeout.as_secs()),
                    ),
                };
                (key, generation, Some(sampler), point)
            });
            self.running.insert(handle.id(), running);
        }
    }

    /// Takes a finished sample: its sampler back, its point into the group's history, and
    /// the report to send — `None` when the canary it was taken of is gone.
    fn sampled(
        &mut self,
        key: &GroupKey,
        generation: u64,
        sampler: Option<Sampler>,
        point: HealthPoint,
    ) -> Option<Arc<LiveHealth>> {
        let every = self.every(key);
        let t = self.tracked.get_mut(key)?;
        if t.generation != generation {
            return None;
        }
        t.busy = false;
        t.sampler = sampler;
        t.due = Instant::now() + every;
        t.points.push(point);
        let excess = t.points.len().saturating_sub(LIVE_POINTS);
        t.points.drain(..excess);
        Some(Arc::new(LiveHealth {
            report: HealthReport {
                judgement: Some(live_judgement(&t.checks, &t.points)),
                points: t.points.clone(),
                analysis: None,
            },
            every,
            note: t.note.clone(),
        }))
    }

    /// A sample that panicked: a point that says so; the group is sampled again with a new
    /// sampler.
    fn panicked(&mut self, e: tokio::task::JoinError) -> Option<Sampled> {
        let (key, generation) = self.running.remove(&e.id())?;
        let t = self.tracked.get(&key)?;
        let target = Target::of(&t.target.group, Some(&t.target.release));
        let point = unsampled(&target, format!("no data: the sample failed: {e}"));
        Some((key, generation, None, point))
    }

    /// The client for the group's cluster: the kubeconfig context of that name.
    async fn client(&mut self, cluster: &str) -> Result<kube::Client, String> {
        if let Some(c) = self.clients.get(cluster) {
            return c.clone();
        }
        let client = match self.cluster.for_context(cluster).await {
            Some(Ok(conn)) => Ok(conn.client),
            Some(Err(e)) => Err(format!("no data: context {cluster}: {e}")),
            None => Err(format!(
                "no data: your kubeconfig has no context {cluster} for this group's cluster"
            )),
        };
        self.clients.insert(cluster.to_string(), client.clone());
        client
    }
}

/// The group's health config as this console can sample it, and why it differs when it
/// does: the pods tell ready, restarts and warnings whatever the metrics source.
fn config_for(group: &InstanceGroup, has_prometheus: bool) -> (HealthConfig, Option<String>) {
    match HealthConfig::for_group(group) {
        Ok(mut c) if c.source == SourceKind::Prometheus && !has_prometheus => {
            c.source = SourceKind::PodMetrics;
            (
                c,
                Some(
                    "this console has no Prometheus address (--prometheus-url): the pods' own metrics instead"
                        .into(),
                ),
            )
        }
        Ok(c) => (c, None),
        Err(e) => {
            let mut fallback = group.clone();
            fallback.spec.health = None;
            // Without `spec.health` there is nothing to misread.
            let c = HealthConfig::for_group(&fallback).expect("the default health config");
            (c, Some(format!("{e}: sampled with the default checks")))
        }
    }
}

/// A point with nothing but why: what to show when the group could not be sampled.
fn unsampled(target: &Target, why: String) -> HealthPoint {
    HealthPoint {
        at: jiff::Timestamp::now(),
        stable: TrackPoint {
            desired: target.desired_stable,
            ..TrackPoint::default()
        },
        canary: TrackPoint {
            desired: target.desired_canary,
            ..TrackPoint::default()
        },
        error: Some(why),
        pods_read: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_every_slot_taken_the_loop_waits_for_a_sample_to_end() {
        let overdue = Instant::now() - Duration::from_secs(5);
        let later = Instant::now() + Duration::from_secs(5);
        let groups = [(false, overdue), (true, overdue), (false, later)];
        assert_eq!(next_wake(groups.into_iter(), 4, 4), None);
        assert_eq!(next_wake(groups.into_iter(), 3, 4), Some(overdue));
        // A group being sampled is not due again until its sample ends.
        assert_eq!(
            next_wake([(true, overdue), (false, later)].into_iter(), 0, 4),
            Some(later)
        );
        assert_eq!(next_wake(std::iter::empty(), 0, 4), None);
    }
}
