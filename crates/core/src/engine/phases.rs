//! The release state machine (DESIGN.md §1, with Argo Rollouts' canary semantics where the
//! design is silent). Pure: it reads the group, the current release and a [`Context`], and
//! answers with the new release, the cluster effects that realise it and a one-line summary
//! — or a [`Refusal`] that says why not. Storing, auditing and applying are the caller's.
//!
//! # Rules
//! `step` below is the index into the group's steps, as stored and shown ("Paused at step 1").
//!
//! * **Running the strategy forward** (deploy, step, resume): `setWeight` steps apply at once;
//!   the release stops at the first `pause` (phase `Paused`, for a person or, with a duration,
//!   for the agent's timer) or `analysis` (phase `Progressing` while the judge decides; the
//!   agent steps on a pass or aborts on a fail). Running past the last step promotes.
//! * **deploy** — from `Stable`, `Promoted` or `Aborted`; refused while a release is in
//!   flight. Creates revision [`Context::next_revision`] as the canary, then runs the strategy
//!   forward from step 0. A strategy with no step that waits (none at all, or only
//!   `setWeight`s) promotes at once, as Argo does with an empty step list: the new revision
//!   goes straight to stable at full replicas.
//! * **step** — from `Paused` or `Progressing`: skips the current step (a pause or an
//!   analysis) and runs forward from the next one.
//! * **weight N** — from `Paused` or `Progressing`: sets the canary weight now; phase and step
//!   stay, so the next `step` continues the strategy from where it was.
//! * **pause** — `Progressing` → `Paused`. **resume** — `Paused` → continue: at a `pause`
//!   step that means skipping it (like `step`); after a manual pause at an analysis step it
//!   means running that analysis again (`Progressing` at the same step).
//! * **promote** — from `Paused` or `Progressing`: the remaining steps are skipped, the canary
//!   revision becomes stable at full replicas, the canary goes to 0 pods.
//! * **abort** — from any in-flight phase, `Degraded` included: weight 0, stable at full
//!   replicas (re-applied, in case the failure touched it), canary to 0 pods. The canary
//!   revision and the step stay in the release so the console can show what was aborted.
//! * **rollback** — from any phase. Goes to `to_revision`, or else to
//!   [`Context::previous_stable`]; refused when there is none, when the revision does not
//!   exist, or when it is already the stable one. In flight it aborts and rolls back in one
//!   go (an incident needs one keystroke, not two); to only drop the canary, abort. No new
//!   revision is created: the old one is re-applied as stable and the phase becomes `Stable`.
//! * **restart** — from any phase but `Degraded`, for a track that has pods.
//! * **Degraded** (an apply failed): only abort, rollback and re-apply
//!   ([`desired_effects`]) are allowed.
//!
//! Replica counts always come from [`replica_split`]; meshes and ingresses get the weight
//! too ([`ClusterEffect::RouteTraffic`]).

use jiff::{SignedDuration, Timestamp};

use super::action::Action;
use super::router::{effective_weight, track_replicas};
use super::strategy::{self, Tracks};
use crate::domain::group::HeaderRoute;
use crate::domain::group::{StrategyKind, Workload};
use crate::domain::{InstanceGroup, Phase, Release, Step, Track, TrafficRouter};

mod cron;
mod drain;
mod effects;
mod switch;

pub use drain::Instances;
use effects::shift;
pub use effects::{ClusterEffect, desired_effects};

/// What the caller knows besides the release: the clock, who acts, and the group's revisions.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: Timestamp,
    /// Who acts, as recorded in `updated_by` and in messages ("paused by alice").
    pub by: &'a str,
    /// Numbers of the revisions the store holds for the group, in any order.
    pub revisions: &'a [u64],
    /// The revision that was stable before the current stable one, from the group's
    /// history: where a rollback without a named revision goes. `None` when the group has
    /// never had another stable revision (aborted canaries do not count).
    pub previous_stable: Option<u64>,
    /// The group's Deployments as read just before the action, for the blue-green and
    /// rolling moves that wait on them (`None`: not read).
    pub tracks: Option<&'a Tracks>,
    /// A cron group's running Jobs as read just before the action (`None`: not read).
    pub jobs: Option<&'a [crate::engine::cron::RunningJob]>,
    /// The group's pods and its service's registrations as read just before a drain
    /// (`None`: not read).
    pub instances: Option<&'a drain::Instances>,
}

impl Context<'_> {
    /// The number a deploy gives its revision: one above every number in use (`u64::MAX`,
    /// which a deploy refuses, when the numbers are used up).
    pub fn next_revision(&self, current: &Release) -> u64 {
        let highest = self.revisions.iter().copied().max().unwrap_or(0);
        highest
            .max(current.stable_revision)
            .max(current.canary_revision.unwrap_or(0))
            .saturating_add(1)
    }
}

/// The outcome of an allowed action.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The new release state: `desired` is one more, `updated_by`/`updated_at` are set.
    pub release: Release,
    /// The revision the caller must store before applying (only deploy creates one).
    pub new_revision: Option<u64>,
    pub effects: Vec<ClusterEffect>,
    /// One line for the toast, the command line and the audit log.
    pub summary: String,
}

/// Why an action does not fit the release's phase, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    pub reason: String,
}

fn refuse<T>(reason: String) -> Result<T, Refusal> {
    Err(Refusal { reason })
}

/// Applies `action` to `current`, the release of `group`. See the module's rules.
pub fn transition(
    group: &InstanceGroup,
    current: &Release,
    action: &Action,
    ctx: &Context<'_>,
) -> Result<Transition, Refusal> {
    let name = group.name();
    if current.group != group.key() {
        return refuse(format!(
            "the release of {} does not belong to {}",
            current.group,
            group.key()
        ));
    }
    // Numbers from the store are outside data: a generation or step at the end of its
    // range is refused rather than overflowed.
    if current.desired == u64::MAX || current.step == usize::MAX {
        return refuse(format!(
            "cannot {}: the release of {name} is at the end of its counters (generation {}, step {}); an admin must repair it",
            action.verb().phrase(),
            current.desired,
            current.step
        ));
    }
    // Stopping a cron group's runs is an emergency brake, allowed whatever the release.
    let allowed_when_degraded = matches!(
        action,
        Action::Abort | Action::Rollback { .. } | Action::Suspend | Action::Kill { .. }
    );
    if current.phase == Phase::Degraded && !allowed_when_degraded {
        return refuse(format!(
            "cannot {}: {name} is Degraded (the last apply failed); only abort, rollback or re-apply are allowed",
            action.verb().phrase()
        ));
    }
    let m = Machine {
        group,
        current,
        ctx,
    };
    if group.spec.kind == Workload::Cron {
        return m.cron(action);
    }
    if matches!(action, Action::Drain { .. } | Action::FinishDrain { .. }) {
        return m.drain(action);
    }
    if matches!(
        action,
        Action::Suspend | Action::Trigger | Action::Kill { .. }
    ) {
        return refuse(format!(
            "cannot {}: {name} is not a cron group",
            action.verb().phrase()
        ));
    }
    match group.spec.strategy.kind() {
        StrategyKind::Canary => {}
        StrategyKind::BlueGreen => return m.blue_green(action),
        StrategyKind::Rolling => return m.rolling(action),
    }
    match action {
        Action::Deploy { tag, .. } => m.deploy(tag),
        Action::Step => m.step(),
        Action::Weight(w) => m.weight(*w),
        Action::Pause => m.pause(),
        Action::Resume => m.resume(),
        Action::Promote => m.promote(),
        Action::Abort => m.abort(),
        Action::Rollback { to_revision } => m.rollback(*to_revision),
        Action::Restart { track } => m.restart(*track),
        // Refused above for groups that are not cron groups.
        Action::Suspend | Action::Trigger | Action::Kill { .. } => refuse(format!(
            "cannot {}: {name} is not a cron group",
            action.verb().phrase()
        )),
        Action::Drain { .. } | Action::FinishDrain { .. } => m.drain(action),
    }
}

/// When a timed pause at the release's current step is over, counted from the release's
/// last change (or a switched blue-green release's scale-down delay). `None` when the
/// release does not wait on a timer (a person's pause, an analysis, not paused) or the
/// duration cannot be read (then a person has to step).
pub fn pause_ends_at(group: &InstanceGroup, release: &Release) -> Option<Timestamp> {
    if let Some(at) = strategy::switch_ends_at(group, release) {
        return Some(at);
    }
    if release.phase != Phase::Paused {
        return None;
    }
    let Some(Step::Pause(p)) = group.spec.strategy.steps.get(release.step) else {
        return None;
    };
    let duration: SignedDuration = p.duration.as_deref()?.parse().ok()?;
    release.updated_at.checked_add(duration).ok()
}

/// Where running the strategy forward stops.
enum Stop {
    /// At `step`, waiting in `phase` with the canary at `weight` and these header routes.
    At {
        step: usize,
        weight: u8,
        phase: Phase,
        routes: Vec<HeaderRoute>,
    },
    /// Past the last step: promote.
    Done,
}

fn run_forward(steps: &[Step], from: usize, mut weight: u8, mut routes: Vec<HeaderRoute>) -> Stop {
    let mut i = from;
    while let Some(s) = steps.get(i) {
        match s {
            Step::SetWeight(w) => weight = (*w).min(100),
            // Like setWeight, a route is set at once; one without matches removes its name.
            Step::SetHeaderRoute(h) => {
                routes.retain(|r| r.name != h.name);
                if !h.matches.is_empty() {
                    routes.push(h.clone());
                }
            }
            Step::Pause(_) => {
                return Stop::At {
                    step: i,
                    weight,
                    phase: Phase::Paused,
                    routes,
                };
            }
            Step::Analysis(_) => {
                return Stop::At {
                    step: i,
                    weight,
                    phase: Phase::Progressing,
                    routes,
                };
            }
        }
        i += 1;
    }
    Stop::Done
}

struct Machine<'a> {
    group: &'a InstanceGroup,
    current: &'a Release,
    ctx: &'a Context<'a>,
}

impl Machine<'_> {
    fn name(&self) -> &str {
        self.group.name()
    }

    fn total(&self) -> u32 {
        self.group.replicas()
    }

    fn steps(&self) -> &[Step] {
        &self.group.spec.strategy.steps
    }

    fn router(&self) -> TrafficRouter {
        self.group.spec.strategy.traffic.router
    }

    /// The current release with this change's bookkeeping done.
    fn next(&self, message: String) -> Release {
        let mut r = self.current.clone();
        r.desired = self.current.desired + 1;
        r.updated_by = self.ctx.by.to_string();
        r.updated_at = self.ctx.now;
        r.message = Some(message);
        r
    }

    /// "Paused at step 2, 25%": where an in-flight release stands.
    fn standing(&self) -> String {
        let c = self.current;
        format!("{} at step {}, {}%", c.phase, c.step, c.weight)
    }

    fn not_in_flight<T>(&self, verb: &str, hint: &str) -> Result<T, Refusal> {
        refuse(format!(
            "cannot {verb}: {} is {} (no release in flight){hint}",
            self.name(),
            self.current.phase
        ))
    }

    /// "1 of 10 pods canary", with the weight the pods really give when that differs; or,
    /// behind a mesh or ingress, the exact weight and the pods of each track.
    fn split_text(&self, weight: u8) -> String {
        let total = self.total();
        let router = self.router();
        let (stable, canary) = track_replicas(self.group, weight, true);
        if router.splits_by_weight() {
            return format!(
                "exact through {}: canary {canary}, stable {stable} pods",
                router.as_str()
            );
        }
        let pods = if total == 1 { "pod" } else { "pods" };
        let effective = effective_weight(total, weight);
        if effective != weight {
            format!("{canary} of {total} {pods} canary, {effective}% effective")
        } else {
            format!("{canary} of {total} {pods} canary")
        }
    }

    /// Traffic from `from`% to `to`% with the canary live and `routes` set.
    fn shift(&self, from: u8, to: u8, routes: &[HeaderRoute]) -> Vec<ClusterEffect> {
        shift(self.group, from, to, true, routes)
    }

    /// `revision` runs on the stable track at full replicas and the canary is emptied.
    fn settle_on(&self, revision: u64) -> Vec<ClusterEffect> {
        let apply = ClusterEffect::ApplyRevision {
            track: Track::Stable,
            revision,
            replicas: self.total(),
        };
        let scale = ClusterEffect::ScaleTracks {
            stable: self.total(),
            canary: 0,
        };
        if self.group.spec.kind == Workload::Cron {
            return vec![
                apply,
                ClusterEffect::SuspendCron {
                    suspend: self.current.suspended,
                },
            ];
        }
        match self.group.spec.strategy.kind() {
            StrategyKind::Canary => {}
            // The active Service goes back to the stable Deployment first, at once.
            StrategyKind::BlueGreen => {
                return vec![
                    ClusterEffect::SwitchServices {
                        active: Track::Stable,
                    },
                    apply,
                    scale,
                ];
            }
            StrategyKind::Rolling => {
                return vec![apply, ClusterEffect::PauseRollout { paused: false }, scale];
            }
        }
        let mut effects = vec![apply];
        // The canary is gone: no pods, no weight, no header routes.
        effects.extend(shift(self.group, self.current.weight, 0, false, &[]));
        effects
    }

    fn canary_revision(&self, verb: &str) -> Result<u64, Refusal> {
        match self.current.canary_revision {
            Some(n) => Ok(n),
            None => refuse(format!(
                "cannot {verb}: {} is {} but has no canary revision; abort or roll back",
                self.name(),
                self.current.phase
            )),
        }
    }

    /// The canary `revision` becomes stable.
    fn promoted(&self, revision: u64, message: String, summary: String) -> Transition {
        let mut r = self.next(message);
        r.phase = Phase::Promoted;
        r.stable_revision = revision;
        r.canary_revision = None;
        r.weight = 0;
        r.header_routes.clear();
        r.step = self.steps().len();
        Transition {
            release: r,
            new_revision: None,
            effects: self.settle_on(revision),
            summary,
        }
    }

    /// Runs the strategy forward from step `from` (shared by deploy, step and resume).
    fn advance(&self, from: usize, revision: u64, message: String, lead: &str) -> Transition {
        match run_forward(
            self.steps(),
            from,
            self.current.weight,
            self.current.header_routes.clone(),
        ) {
            Stop::At {
                step,
                weight,
                phase,
                routes,
            } => {
                let mut r = self.next(message);
                r.phase = phase;
                r.step = step;
                r.weight = weight;
                r.canary_revision = Some(revision);
                let effects = self.shift(self.current.weight, weight, &routes);
                r.header_routes = routes;
                let waiting = if phase == Phase::Paused {
                    "Paused"
                } else {
                    "analysis running"
                };
                Transition {
                    release: r,
                    new_revision: None,
                    effects,
                    summary: format!(
                        "{lead}: weight {weight}% ({}), {waiting} at step {step}",
                        self.split_text(weight)
                    ),
                }
            }
            Stop::Done => {
                let summary = format!(
                    "{lead}: the last step is done, r{revision} promoted to stable ({} pods)",
                    self.total()
                );
                self.promoted(revision, format!("promoted by {}", self.ctx.by), summary)
            }
        }
    }

    /// The current release as a new deploy starts from: a fresh canary at 0%, step 0 and
    /// no header routes, whatever the last release left behind.
    fn fresh(&self) -> Release {
        Release {
            weight: 0,
            step: 0,
            header_routes: Vec::new(),
            ..self.current.clone()
        }
    }

    /// The number a deploy of `tag` gets, or why there is no deploy now.
    fn new_revision(&self, tag: &str) -> Result<u64, Refusal> {
        if self.current.phase.in_flight() {
            return refuse(format!(
                "cannot deploy: a release is in flight on {} ({}); promote or abort it first",
                self.name(),
                self.standing()
            ));
        }
        if tag.trim().is_empty() {
            return refuse("cannot deploy: the tag is empty".to_string());
        }
        let revision = self.ctx.next_revision(self.current);
        if revision == u64::MAX {
            return refuse(format!(
                "cannot deploy: {} has used up its revision numbers",
                self.name()
            ));
        }
        Ok(revision)
    }

    fn deploy(&self, tag: &str) -> Result<Transition, Refusal> {
        let revision = self.new_revision(tag)?;
        let by = self.ctx.by;
        let mut t = if self.steps().is_empty() {
            let summary = format!(
                "deployed r{revision} ({tag}) straight to stable ({} pods): the strategy has no steps",
                self.total()
            );
            self.promoted(revision, format!("deployed {tag} by {by}"), summary)
        } else {
            let fresh = self.fresh();
            let m = Machine {
                current: &fresh,
                ..*self
            };
            let mut t = m.advance(
                0,
                revision,
                format!("deployed {tag} by {by}"),
                &format!("deployed r{revision} ({tag})"),
            );
            if t.release.phase != Phase::Promoted {
                let (_, canary) = track_replicas(self.group, t.release.weight, true);
                t.effects.insert(
                    0,
                    ClusterEffect::ApplyRevision {
                        track: Track::Canary,
                        revision,
                        replicas: canary,
                    },
                );
            }
            t
        };
        t.new_revision = Some(revision);
        Ok(t)
    }

    fn step(&self) -> Result<Transition, Refusal> {
        if !self.current.phase.in_flight() {
            return self.not_in_flight("step", "; deploy first");
        }
        let revision = self.canary_revision("step")?;
        let at = self.current.step;
        Ok(self.advance(
            at + 1,
            revision,
            format!("stepped by {}", self.ctx.by),
            &format!("stepped past step {at}"),
        ))
    }

    fn weight(&self, weight: u8) -> Result<Transition, Refusal> {
        if weight > 100 {
            return refuse(format!("cannot set weight {weight}%: the weight is 0–100"));
        }
        if !self.current.phase.in_flight() {
            return self.not_in_flight("set the weight", "; deploy first");
        }
        let mut r = self.next(format!("weight {weight}% set by {}", self.ctx.by));
        r.weight = weight;
        Ok(Transition {
            release: r,
            new_revision: None,
            effects: self.shift(self.current.weight, weight, &self.current.header_routes),
            summary: format!("set weight {weight}% ({})", self.split_text(weight)),
        })
    }

    fn pause(&self) -> Result<Transition, Refusal> {
        match self.current.phase {
            Phase::Progressing => {
                let mut r = self.next(format!("paused by {}", self.ctx.by));
                r.phase = Phase::Paused;
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects: vec![],
                    summary: format!(
                        "paused at step {} ({}%)",
                        self.current.step, self.current.weight
                    ),
                })
            }
            Phase::Paused => refuse(format!(
                "cannot pause: {} is already {}",
                self.name(),
                self.standing()
            )),
            _ => self.not_in_flight("pause", ""),
        }
    }

    fn resume(&self) -> Result<Transition, Refusal> {
        match self.current.phase {
            Phase::Paused => {
                let revision = self.canary_revision("resume")?;
                let at = self.current.step;
                // Resuming a pause step passes it; a person's pause elsewhere (during an
                // analysis) picks up that step again.
                let from = match self.steps().get(at) {
                    Some(Step::Pause(_)) => at + 1,
                    _ => at,
                };
                Ok(self.advance(
                    from,
                    revision,
                    format!("resumed by {}", self.ctx.by),
                    "resumed",
                ))
            }
            Phase::Progressing => refuse(format!(
                "cannot resume: {} is not paused ({})",
                self.name(),
                self.standing()
            )),
            _ => self.not_in_flight("resume", ""),
        }
    }

    fn promote(&self) -> Result<Transition, Refusal> {
        if !self.current.phase.in_flight() {
            return self.not_in_flight("promote", "");
        }
        let revision = self.canary_revision("promote")?;
        let summary = format!(
            "promoted r{revision} to stable ({} pods), canary scaled to 0",
            self.total()
        );
        Ok(self.promoted(revision, format!("promoted by {}", self.ctx.by), summary))
    }

    fn abort(&self) -> Result<Transition, Refusal> {
        if !self.current.phase.in_flight() {
            return self.not_in_flight("abort", "");
        }
        let stable = self.current.stable_revision;
        let mut r = self.next(format!("aborted by {}", self.ctx.by));
        r.phase = Phase::Aborted;
        r.weight = 0;
        r.header_routes.clear();
        let canary = self
            .current
            .canary_revision
            .map(|n| format!("r{n}"))
            .unwrap_or_else(|| "the canary".into());
        Ok(Transition {
            release: r,
            new_revision: None,
            effects: self.settle_on(stable),
            summary: format!(
                "aborted {canary}: all traffic to stable r{stable} ({} pods), canary scaled to 0",
                self.total()
            ),
        })
    }

    fn rollback(&self, to_revision: Option<u64>) -> Result<Transition, Refusal> {
        let name = self.name();
        let stable = self.current.stable_revision;
        let in_flight = self.current.phase.in_flight();
        let target = match to_revision.or(self.ctx.previous_stable) {
            Some(n) => n,
            None => {
                return refuse(format!(
                    "cannot roll back: {name} has no stable revision before r{stable}; name a revision to go to"
                ));
            }
        };
        if target == stable {
            let hint = if in_flight {
                "; to drop the canary, abort"
            } else {
                ""
            };
            return refuse(format!(
                "cannot roll back: r{target} is already the stable revision of {name}{hint}"
            ));
        }
        if !self.ctx.revisions.contains(&target) {
            let latest = self.ctx.revisions.iter().max().copied().unwrap_or(stable);
            return refuse(format!(
                "cannot roll back: {name} has no revision r{target} (the latest is r{latest})"
            ));
        }
        let mut r = self.next(format!("rolled back to r{target} by {}", self.ctx.by));
        r.phase = Phase::Stable;
        r.stable_revision = target;
        r.canary_revision = None;
        r.weight = 0;
        r.step = 0;
        r.header_routes.clear();
        let summary = match (in_flight, self.current.canary_revision) {
            (true, Some(canary)) => format!(
                "aborted r{canary} and rolled back to r{target} ({} pods)",
                self.total()
            ),
            _ => format!(
                "rolled back to r{target} (was r{stable}; {} pods)",
                self.total()
            ),
        };
        Ok(Transition {
            release: r,
            new_revision: None,
            effects: self.settle_on(target),
            summary,
        })
    }

    fn restart(&self, track: Track) -> Result<Transition, Refusal> {
        let in_flight = self.current.phase.in_flight();
        let weight = if in_flight { self.current.weight } else { 0 };
        let (stable, canary) = track_replicas(self.group, weight, in_flight);
        let pods = match track {
            Track::Stable => stable,
            Track::Canary => canary,
        };
        if pods == 0 {
            return refuse(format!(
                "cannot restart the {track} track: {} has no {track} pods ({})",
                self.name(),
                self.current.phase
            ));
        }
        let r = self.next(format!("{track} restarted by {}", self.ctx.by));
        let noun = if pods == 1 { "pod" } else { "pods" };
        Ok(Transition {
            release: r,
            new_revision: None,
            effects: vec![ClusterEffect::RestartTrack {
                track,
                at: self.ctx.now,
            }],
            summary: format!("rolling restart of the {track} track ({pods} {noun})"),
        })
    }
}

#[cfg(test)]
mod tests;
