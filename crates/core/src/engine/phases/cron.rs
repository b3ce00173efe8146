//! The phase machine for cron groups (see [`crate::engine::cron`]). A deploy goes straight
//! to stable — or, with `concurrency: wait` while a Job runs, waits `Progressing` with the
//! new revision as its canary until the controller sees no Job running and steps it on.

use super::{Machine, Transition, refuse};
use crate::domain::group::Concurrency;
use crate::domain::{Phase, Track};
use crate::engine::action::Action;
use crate::engine::cron::{RunningJob, concurrency};
use crate::engine::phases::{ClusterEffect, Refusal};

impl Machine<'_> {
    pub(super) fn cron(&self, action: &Action) -> Result<Transition, Refusal> {
        let name = self.name();
        let not_here = |what: &str| {
            refuse(format!(
                "cannot {what}: {name} is a cron group (a CronJob, no canary); deploy, suspend, resume, trigger, kill, abort a waiting deploy or roll back"
            ))
        };
        match action {
            Action::Deploy { tag, .. } => self.cron_deploy(tag),
            Action::Step => {
                let revision = self.in_flight_cron("step")?;
                match self.running() {
                    Some(jobs) if !jobs.is_empty() => refuse(format!(
                        "cannot apply r{revision} to {name}: {} still runs",
                        self.jobs_text(jobs)
                    )),
                    _ => Ok(self.cron_apply(revision, "no Job runs any more")),
                }
            }
            Action::Abort => {
                let revision = self.in_flight_cron("abort")?;
                let mut r = self.next(format!("aborted by {}", self.ctx.by));
                r.phase = Phase::Aborted;
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects: vec![],
                    summary: format!(
                        "dropped the waiting deploy of r{revision}: {name} keeps r{}",
                        self.current.stable_revision
                    ),
                })
            }
            Action::Rollback { to_revision } => self.rollback(*to_revision),
            Action::Suspend | Action::Pause => {
                if self.current.suspended {
                    return refuse(format!("cannot suspend: {name} is already suspended"));
                }
                let mut r = self.next(format!("suspended by {}", self.ctx.by));
                r.suspended = true;
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects: vec![ClusterEffect::SuspendCron { suspend: true }],
                    summary: format!(
                        "suspended {name}: no scheduled runs until resume (a running Job goes on; kill stops it)"
                    ),
                })
            }
            Action::Resume => {
                if !self.current.suspended {
                    return refuse(format!("cannot resume: {name} is not suspended"));
                }
                let mut r = self.next(format!("resumed by {}", self.ctx.by));
                r.suspended = false;
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects: vec![ClusterEffect::SuspendCron { suspend: false }],
                    summary: format!("resumed {name}: it runs on its schedule again"),
                })
            }
            Action::Trigger => {
                let also = match self.running() {
                    Some(jobs) if !jobs.is_empty() => {
                        format!(" ({} also runs)", self.jobs_text(jobs))
                    }
                    _ => String::new(),
                };
                let r = self.next(format!("triggered by {}", self.ctx.by));
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects: vec![ClusterEffect::TriggerJob { at: self.ctx.now }],
                    summary: format!(
                        "triggered {name}: Job {name}-manual-{} runs now{also}",
                        self.ctx.now.as_second()
                    ),
                })
            }
            Action::Kill { job } => {
                let running = self.running().unwrap_or(&[]);
                let known = self.running().is_some();
                let targets: Vec<&RunningJob> = match job {
                    Some(j) => running.iter().filter(|r| &r.name == j).collect(),
                    None => running.iter().collect(),
                };
                if known && targets.is_empty() {
                    return refuse(match job {
                        Some(j) => format!("cannot kill: {j} is not a running Job of {name}"),
                        None => format!("cannot kill: no Job of {name} is running"),
                    });
                }
                let r = self.next(format!("Job killed by {}", self.ctx.by));
                let what = if targets.is_empty() {
                    job.clone().unwrap_or_else(|| "every running Job".into())
                } else {
                    self.jobs_text(&targets.into_iter().cloned().collect::<Vec<_>>())
                };
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects: vec![ClusterEffect::KillJobs { job: job.clone() }],
                    summary: format!("killed {what} of {name} (its pods are deleted)"),
                })
            }
            Action::Weight(_) => not_here("set a weight"),
            Action::Promote => not_here("promote"),
            Action::Restart { .. } => not_here("restart"),
            Action::Drain { .. } | Action::FinishDrain { .. } => not_here("drain"),
        }
    }

    fn running(&self) -> Option<&[RunningJob]> {
        self.ctx.jobs
    }

    fn jobs_text(&self, jobs: &[RunningJob]) -> String {
        let names: Vec<String> = jobs.iter().map(|j| j.describe(self.ctx.now)).collect();
        let noun = if jobs.len() == 1 { "Job" } else { "Jobs" };
        format!("{noun} {}", names.join(", "))
    }

    fn in_flight_cron(&self, verb: &str) -> Result<u64, Refusal> {
        if !self.current.phase.in_flight() {
            return self.not_in_flight(verb, "");
        }
        self.canary_revision(verb)
    }

    fn cron_deploy(&self, tag: &str) -> Result<Transition, Refusal> {
        let revision = self.new_revision(tag)?;
        let name = self.name();
        let mut t = match self.running() {
            Some(jobs) if !jobs.is_empty() => match concurrency(self.group) {
                Concurrency::Forbid => {
                    return refuse(format!(
                        "cannot deploy: {} of {name} is running; wait for it, kill it, or set the group's concurrency to wait or replace",
                        self.jobs_text(jobs)
                    ));
                }
                Concurrency::Replace => {
                    let mut t =
                        self.cron_apply(revision, &format!("replaced {}", self.jobs_text(jobs)));
                    t.effects.insert(0, ClusterEffect::KillJobs { job: None });
                    t
                }
                Concurrency::Wait => {
                    let mut r = self.next(format!(
                        "deploy of {tag} by {} waits for {}",
                        self.ctx.by,
                        self.jobs_text(jobs)
                    ));
                    r.phase = Phase::Progressing;
                    r.canary_revision = Some(revision);
                    r.step = 0;
                    Transition {
                        release: r,
                        new_revision: None,
                        effects: vec![],
                        summary: format!(
                            "r{revision} ({tag}) waits: {} of {name} is running; it is applied when no Job runs (abort drops it)",
                            self.jobs_text(jobs)
                        ),
                    }
                }
            },
            _ => self.cron_apply(revision, &format!("deployed {tag}")),
        };
        t.new_revision = Some(revision);
        Ok(t)
    }

    /// `revision`'s CronJob is applied and becomes stable.
    fn cron_apply(&self, revision: u64, why: &str) -> Transition {
        let mut r = self.next(format!("{why}; r{revision} applied by {}", self.ctx.by));
        r.phase = Phase::Promoted;
        r.stable_revision = revision;
        r.canary_revision = None;
        Transition {
            release: r,
            new_revision: None,
            effects: vec![
                ClusterEffect::ApplyRevision {
                    track: Track::Stable,
                    revision,
                    replicas: self.total(),
                },
                ClusterEffect::SuspendCron {
                    suspend: self.current.suspended,
                },
            ],
            summary: format!(
                "{why}: the CronJob {} runs r{revision} from its next run",
                self.name()
            ),
        }
    }
}
