//! The release engine's orchestration, the one code path for the console, the command line
//! and the agent. For every action:
//!
//! 1. **authorise** against the store's policy — a denial is audited and returned;
//! 2. **decide** with the pure phase machine — a refusal is audited and returned;
//! 3. **commit** one store transaction: compare the release's mod_revision (two operators
//!    cannot both win), write the new release (and the new revision for a deploy) and the
//!    `allowed` audit entry;
//! 4. **apply** the effects to the cluster by server-side apply;
//! 5. **record** the outcome (`applied`, or `failed` with the API's message) as another
//!    audited commit, moving `applied` up to `desired`.
//!
//! A crash between 3 and 5 leaves desired ≠ applied, which every console shows and
//! [`ReleaseEngine::reapply`] repairs.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::Mutex;

use super::action::Action;
use super::objects::{ReadBack, check_group};
use super::phases::{ClusterEffect, Context, desired_effects, transition};
use super::render::render;
use crate::authz::policy::{Decision, Policy, Role, Subject, Verb};
use crate::domain::audit::{AuditDraft, AuditTarget, AuditUser, Outcome};
use crate::domain::group::StrategyKind;
use crate::domain::release::AnalysisRecord;
use crate::domain::{GroupKey, InstanceGroup, Phase, Release, Revision, Track};
use crate::kube::ClusterConn;
use crate::kube::apply::{Applier, ApplyError, Deadline};
use crate::store::{ReleaseChange, Store, StoreError, Versioned, Write};

mod cluster;
mod drain;

pub use drain::GroupPod;

/// How many earlier stable revisions a release remembers for rollback.
const STABLE_HISTORY: usize = 20;

/// How long an action waits for the group's Deployments to be read.
const TRACKS_READ: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Cluster(String),
}

impl EngineError {
    /// DESIGN.md §6: 1 refused, 2 bad input, 3 unreachable.
    pub fn exit_code(&self) -> u8 {
        match self {
            EngineError::Denied(_) | EngineError::Refused(_) | EngineError::Conflict(_) => 1,
            EngineError::NotFound(_) | EngineError::BadInput(_) => 2,
            EngineError::Store(StoreError::Unavailable { .. } | StoreError::NoSpace { .. })
            | EngineError::Cluster(_) => 3,
            EngineError::Store(StoreError::Conflict { .. }) => 1,
            EngineError::Store(_) => 1,
        }
    }
}

/// Who is acting, as the policy and the audit log see them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: AuditUser,
    pub groups: Vec<String>,
}

impl Actor {
    /// An internal actor such as `system:agent`.
    pub fn system(name: &str) -> Actor {
        Actor {
            user: AuditUser::named(name, "system"),
            groups: Vec::new(),
        }
    }
}

/// Where an action came from, for the audit log, and what else its first write carries.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// The request id (`requests/<user>/<id>`), or a fresh id for the controller's own acts.
    pub request_id: Option<String>,
    /// The controller instance that acted.
    pub via: Option<String>,
    /// Written in the same transaction as the action's first audit entry (allowed or
    /// denied): the controller's "accepted" answer, which makes a request happen once.
    pub also: Vec<Write>,
    /// Writes made from the finished report in the same transaction as the recorded
    /// outcome: the controller's final answer (one etcd write fewer per action).
    pub finish: Option<Finish>,
    /// The controller's analysis verdict that led to this action: stored with the new
    /// release in the action's own commit. Only the controller's own acts carry one.
    pub analysis: Option<AnalysisRecord>,
}

/// Turns a finished action's report into writes that go with its recorded outcome.
#[derive(Clone)]
pub struct Finish(pub Arc<FinishFn>);

/// What a [`Finish`] runs.
pub type FinishFn = dyn Fn(&ActionReport) -> Vec<Write> + Send + Sync;

impl std::fmt::Debug for Finish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Finish(..)")
    }
}

/// What an action did.
#[derive(Debug, Clone)]
pub struct ActionReport {
    pub release: Release,
    pub summary: String,
    /// The cluster error, when the desired state was committed but could not be applied.
    pub apply_error: Option<String>,
}

pub struct ReleaseEngine {
    store: Arc<dyn Store>,
    cluster: ClusterConn,
    appliers: Mutex<HashMap<String, Arc<Applier>>>,
    actor: Actor,
    /// The controller instance this engine runs in, for every audit entry's `via`.
    via: Option<String>,
    /// Where groups with a `registration` register their instances (drains write there).
    registry: Option<Arc<dyn crate::store::Registry>>,
}

impl ReleaseEngine {
    pub fn new(store: Arc<dyn Store>, cluster: ClusterConn, actor: Actor) -> Self {
        ReleaseEngine {
            store,
            cluster,
            appliers: Mutex::new(HashMap::new()),
            actor,
            via: None,
            registry: None,
        }
    }

    /// The service registry drains take instances out of rotation in.
    pub fn with_registry(mut self, registry: Arc<dyn crate::store::Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Names the controller instance in every audit entry this engine writes.
    pub fn with_via(mut self, via: impl Into<String>) -> Self {
        self.via = Some(via.into());
        self
    }

    pub fn via(&self) -> Option<&str> {
        self.via.as_deref()
    }

    /// A trace for the engine's own actor (the controller's timed steps, re-applies):
    /// a fresh request id, this instance as `via`.
    fn own_trace(&self) -> Trace {
        Trace {
            request_id: Some(crate::domain::audit::ulid(jiff::Timestamp::now())),
            via: self.via.clone(),
            also: Vec::new(),
            finish: None,
            analysis: None,
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the actor may do `action` on `group`: the line the console shows on a
    /// greyed-out action.
    pub async fn check(&self, group: &InstanceGroup, action: &Action) -> Result<(), EngineError> {
        let policy = self.policy().await?;
        match decide(&policy, &self.actor, action, group) {
            Decision::Allow { .. } => Ok(()),
            Decision::Deny { reason } => Err(EngineError::Denied(reason)),
        }
    }

    /// Acts as the engine's own actor.
    pub async fn act(
        &self,
        key: &GroupKey,
        action: Action,
        reason: Option<String>,
    ) -> Result<ActionReport, EngineError> {
        let actor = self.actor.clone();
        self.act_as(&actor, key, action, reason, self.own_trace())
            .await
    }

    /// Acts as the engine's own actor on the verdict of an analysis, which is stored with
    /// the release in the same commit.
    pub async fn act_on_analysis(
        &self,
        key: &GroupKey,
        action: Action,
        reason: String,
        analysis: AnalysisRecord,
    ) -> Result<ActionReport, EngineError> {
        let actor = self.actor.clone();
        let trace = Trace {
            analysis: Some(analysis),
            ..self.own_trace()
        };
        self.act_as(&actor, key, action, Some(reason), trace).await
    }

    /// Acts for `actor` (the user a request came from), with `trace` in the audit log.
    pub async fn act_as(
        &self,
        actor: &Actor,
        key: &GroupKey,
        action: Action,
        reason: Option<String>,
        mut trace: Trace,
    ) -> Result<ActionReport, EngineError> {
        if trace.via.is_none() {
            trace.via = self.via.clone();
        }
        let also = std::mem::take(&mut trace.also);
        let view = self.store.action_view(key).await?;
        let group = view.group.ok_or_else(|| {
            EngineError::NotFound(format!(
                "unknown group {key} (see `flightdeck groups list`)"
            ))
        })?;
        let reason = reason.unwrap_or_default();
        let mut request = action.request_json();
        if !reason.is_empty()
            && let Value::Object(m) = &mut request
        {
            m.insert("reason".into(), json!(reason));
        }
        let draft = |outcome: Outcome, why: String| AuditDraft {
            user: actor.user.clone(),
            action: action.name().to_string(),
            target: AuditTarget::from(key),
            request: request.clone(),
            before: Value::Null,
            after: Value::Null,
            outcome,
            reason: why,
            request_id: trace.request_id.clone(),
            via: trace.via.clone(),
        };

        // 1. authorise
        let policy = decode_policy(view.policy)?;
        if let Decision::Deny { reason: why } = decide(&policy, actor, &action, &group) {
            self.store
                .append_audit_with(draft(Outcome::Denied, why.clone()), vec![], also)
                .await?;
            return Err(EngineError::Denied(why));
        }

        // 2. decide
        let current = view.release;
        let (release, expect) = match &current {
            Some(v) => (v.value.clone(), Some(v.mod_revision)),
            None => (Release::stable(key.clone(), 0, &actor.user.name), None),
        };
        let revisions = view.revisions;
        let never_deployed = current.is_none();
        // Blue-green and rolling moves wait on the Deployments: read them first.
        let tracks = if group.spec.strategy.kind() != StrategyKind::Canary
            && release.phase.in_flight()
            && matches!(action, Action::Step | Action::Promote)
        {
            match self.tracks(&group, Deadline::after(TRACKS_READ)).await {
                Ok(t) => Some(t),
                Err(e) => {
                    return Err(EngineError::Cluster(format!(
                        "cannot {} {}: its Deployments could not be read: {e}",
                        action.verb().phrase(),
                        group.name()
                    )));
                }
            }
        } else {
            None
        };
        // A cron group's deploy, step, trigger and kill depend on the Jobs running.
        let jobs = if group.spec.kind == crate::domain::group::Workload::Cron
            && matches!(
                action,
                Action::Deploy { .. } | Action::Step | Action::Trigger | Action::Kill { .. }
            )
            && !never_deployed
        {
            match self
                .running_jobs(&group, Deadline::after(TRACKS_READ))
                .await
            {
                Ok(j) => Some(j),
                Err(e) => {
                    return Err(EngineError::Cluster(format!(
                        "cannot {} {}: its Jobs could not be read: {e}",
                        action.verb().phrase(),
                        group.name()
                    )));
                }
            }
        } else {
            None
        };
        // A drain needs the group's pods and its service's registrations.
        let instances = if matches!(action, Action::Drain { .. } | Action::FinishDrain { .. })
            && group.spec.registration.is_some()
        {
            match self.instances(&group, Deadline::after(TRACKS_READ)).await {
                Ok(i) => Some(i),
                Err(e) => {
                    return Err(EngineError::Cluster(format!(
                        "cannot drain in {}: {e}",
                        group.name()
                    )));
                }
            }
        } else {
            None
        };
        let ctx = Context {
            now: jiff::Timestamp::now(),
            by: &actor.user.name,
            revisions: &revisions,
            previous_stable: release.stable_history.last().copied(),
            tracks: tracks.as_ref(),
            jobs: jobs.as_deref(),
            instances: instances.as_ref(),
        };
        let mut tr = if let Err(why) = check_group(&group) {
            Err(why)
        } else if never_deployed {
            first_deploy(&group, &release, &action, &ctx)
        } else {
            transition(&group, &release, &action, &ctx).map_err(|r| r.reason)
        };
        if let Ok(t) = &mut tr {
            // A verdict belongs to one canary: a new one starts without.
            if matches!(action, Action::Deploy { .. }) {
                t.release.analysis = None;
            }
            if let Some(a) = &trace.analysis {
                t.release.analysis = Some(a.clone());
            }
        }
        if let Ok(t) = &mut tr
            && t.release.stable_revision != release.stable_revision
            && release.stable_revision != 0
        {
            t.release.stable_history.push(release.stable_revision);
            let excess = t
                .release
                .stable_history
                .len()
                .saturating_sub(STABLE_HISTORY);
            t.release.stable_history.drain(..excess);
        }
        let tr = match tr {
            Ok(t) => t,
            Err(why) => {
                let mut d = draft(Outcome::Denied, why.clone());
                d.before = state_json(&release);
                self.store.append_audit_with(d, vec![], also).await?;
                return Err(EngineError::Refused(why));
            }
        };

        // 2b. authorise by effect: what the transition amounts to may need more than the
        // action's own verb (a step that finishes the strategy is a promote).
        let by_effect = match image_effect(&group, &action) {
            Err(why) => Some(why),
            Ok(image) => effect_verb(&action, &tr, never_deployed)
                .into_iter()
                .chain(image)
                .find_map(|(verb, what)| {
                    match policy.decide(&subject(actor), verb, key, group.app()) {
                        Decision::Deny { reason: denial } => {
                            Some(format!("{what}, which needs {}: {denial}", verb.phrase()))
                        }
                        Decision::Allow { .. } => None,
                    }
                }),
        };
        if let Some(why) = by_effect {
            let mut d = draft(Outcome::Denied, why.clone());
            d.before = state_json(&release);
            d.after = state_json(&tr.release);
            self.store.append_audit_with(d, vec![], also).await?;
            return Err(EngineError::Denied(why));
        }

        // 3. commit, with the new revision of a deploy
        let revision = match tr.new_revision {
            Some(n) => match self.new_revision(&group, &action, n, actor).await {
                Ok(r) => Some(r),
                Err(e) => {
                    // A template that renders nothing usable (or out of bounds) is a
                    // refusal like any other: audited, with nothing stored.
                    if let EngineError::BadInput(m) | EngineError::NotFound(m) = e {
                        let mut d = draft(Outcome::Denied, m.clone());
                        d.before = state_json(&release);
                        self.store.append_audit_with(d, vec![], also).await?;
                        // Audited here: bad input, not an unknown group for the caller to audit.
                        return Err(EngineError::BadInput(m));
                    }
                    return Err(e);
                }
            },
            None => None,
        };
        let mut d = draft(
            Outcome::Allowed,
            if reason.is_empty() {
                tr.summary.clone()
            } else {
                reason.clone()
            },
        );
        d.before = state_json(&release);
        d.after = state_json(&tr.release);
        let committed = match self
            .store
            .commit_release_with(
                ReleaseChange {
                    key: key.clone(),
                    expect_mod_revision: expect,
                    release: tr.release.clone(),
                    revision: revision.clone(),
                    audit: d,
                },
                also.clone(),
            )
            .await
        {
            Ok(c) => c,
            // Lost to another operator: nothing of ours was written; the attempt is
            // audited all the same, with who won.
            Err(e @ StoreError::Conflict { .. }) => {
                let why = e.to_string();
                let mut d = draft(Outcome::Denied, format!("lost a race: {why}"));
                d.before = state_json(&release);
                self.store.append_audit_with(d, vec![], also).await?;
                return Err(EngineError::Conflict(why));
            }
            Err(other) => return Err(EngineError::Store(other)),
        };

        // 4. apply (bounded: one deadline for every call of this action), 5. record
        let deadline = Deadline::action();
        let applied = self
            .apply_bounded(&group, &tr.effects, revision.as_ref(), deadline)
            .await;
        let mut asked = tr.effects.clone();
        // A trigger or a kill changes no desired state: failing it is no verdict on the
        // release, and nothing is left to re-apply.
        let one_off = !tr.effects.is_empty()
            && tr.effects.iter().all(|e| {
                matches!(
                    e,
                    ClusterEffect::TriggerJob { .. } | ClusterEffect::KillJobs { .. }
                )
            });
        // Someone committed after us: their apply may have reached the cluster before ours
        // and been overwritten by it. Converge the cluster on the newest desired state.
        if applied.is_ok()
            && let Ok(Some(latest)) = self.store.get_release(key).await
            && latest.mod_revision != committed.mod_revision
        {
            tracing::info!(group = %key, "release changed during apply; re-applying the newest desired state");
            let newest = desired_effects(&group, &latest.value);
            if let Err(e) = self.apply_bounded(&group, &newest, None, deadline).await {
                tracing::warn!(group = %key, error = %e, "re-applying the newest desired state failed");
            }
            asked = newest;
        }
        let applied = match applied {
            Ok(()) => Ok(self.read_back(&group, &asked, deadline).await),
            Err(e) => Err(e),
        };
        self.record(
            actor,
            &trace,
            key,
            tr.release,
            committed.mod_revision,
            action.name(),
            applied,
            tr.summary,
            one_off,
        )
        .await
    }

    /// Bring the cluster to the release's desired state (after a crash between commit and
    /// apply, or to retry a Degraded group), audited as `reapply`.
    pub async fn reapply(&self, key: &GroupKey) -> Result<ActionReport, EngineError> {
        let group = self
            .store
            .get_group(key)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("unknown group {key}")))?;
        let Some(Versioned {
            value: release,
            mod_revision,
        }) = self.store.get_release(key).await?
        else {
            return Err(EngineError::Refused(format!(
                "{} has never been deployed",
                key.group
            )));
        };
        let effects = match check_group(&group) {
            Ok(()) => desired_effects(&group, &release),
            Err(why) => return Err(EngineError::Refused(why)),
        };
        let deadline = Deadline::action();
        let applied = match self.apply_bounded(&group, &effects, None, deadline).await {
            Ok(()) => Ok(self.read_back(&group, &effects, deadline).await),
            Err(e) => Err(e),
        };
        let summary = format!("re-applied desired generation {}", release.desired);
        let mut release = release;
        if release.phase == Phase::Degraded && applied.is_ok() {
            release.phase = if release.canary_revision.is_some() && release.weight > 0 {
                Phase::Paused
            } else {
                Phase::Stable
            };
        }
        let actor = self.actor.clone();
        let trace = self.own_trace();
        self.record(
            &actor,
            &trace,
            key,
            release,
            mod_revision,
            "reapply",
            applied,
            summary,
            false,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        actor: &Actor,
        trace: &Trace,
        key: &GroupKey,
        mut release: Release,
        mod_revision: i64,
        action: &str,
        applied: Result<Option<ReadBack>, ApplyError>,
        mut summary: String,
        one_off: bool,
    ) -> Result<ActionReport, EngineError> {
        let before = state_json(&release);
        let (outcome, why, apply_error) = match &applied {
            Err(e) if one_off => {
                release.applied = release.desired;
                let m = format!("{action} failed: {e}");
                release.message = Some(m.clone());
                (Outcome::Failed, m, Some(e.to_string()))
            }
            Ok(read) => {
                release.applied = release.desired;
                release.message = None;
                if let Some(read) = read {
                    summary = format!("{summary} — {}", read.text);
                    if read.mismatch {
                        release.message = Some(read.text.clone());
                    }
                    if let Some(state) = &read.router {
                        release.router = Some(state.clone());
                    }
                }
                (Outcome::Applied, summary.clone(), None)
            }
            Err(e) if e.is_transient() => {
                // A blip (timeouts, connection errors, 429, 5xx) is not a verdict on the
                // release: it keeps its phase and desired stays ahead of applied, to be
                // re-applied.
                let m = format!("not applied yet, re-applied later: {e}");
                release.message = Some(m.clone());
                (Outcome::Failed, m, Some(e.to_string()))
            }
            Err(e) => {
                // The API refused the objects: the release cannot go on as it is.
                release.phase = Phase::Degraded;
                release.message = Some(e.to_string());
                (Outcome::Failed, e.to_string(), Some(e.to_string()))
            }
        };
        let draft = AuditDraft {
            user: actor.user.clone(),
            action: action.to_string(),
            target: AuditTarget::from(key),
            request: json!({ "generation": release.desired }),
            before,
            after: state_json(&release),
            outcome,
            reason: why,
            request_id: trace.request_id.clone(),
            via: trace.via.clone(),
        };
        let report = ActionReport {
            release,
            summary,
            apply_error,
        };
        let also = trace
            .finish
            .as_ref()
            .map(|f| (f.0)(&report))
            .unwrap_or_default();
        match self
            .store
            .commit_release_with(
                ReleaseChange {
                    key: key.clone(),
                    expect_mod_revision: Some(mod_revision),
                    release: report.release.clone(),
                    revision: None,
                    audit: draft.clone(),
                },
                also.clone(),
            )
            .await
        {
            Ok(_) => {}
            // Someone acted after our commit: their state wins; our outcome is still audited.
            Err(StoreError::Conflict { .. }) => {
                self.store.append_audit_with(draft, vec![], also).await?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(report)
    }

    async fn policy(&self) -> Result<Policy, EngineError> {
        decode_policy(self.store.get_policy().await?.map(|v| v.value))
    }

    async fn new_revision(
        &self,
        group: &InstanceGroup,
        action: &Action,
        number: u64,
        actor: &Actor,
    ) -> Result<Revision, EngineError> {
        let mut params = group.spec.params.clone();
        if let Action::Deploy { tag, params: extra } = action {
            params.insert("tag".into(), json!(tag));
            params.extend(extra.clone());
        }
        let template = self
            .store
            .get_template(&group.spec.template)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "template {} (used by {}) is not in the store",
                    group.spec.template,
                    group.name()
                ))
            })?;
        let mut rendered = Vec::new();
        for track in [Track::Stable, Track::Canary] {
            rendered.extend(
                render(&template, group, track, &params, group.replicas())
                    .map_err(|e| EngineError::BadInput(e.to_string()))?,
            );
        }
        Ok(Revision {
            number,
            group: group.key(),
            params,
            rendered,
            created: jiff::Timestamp::now(),
            created_by: actor.user.name.clone(),
        })
    }
}

/// The stored policy, or refuse every action: deny by default, no policy no actions.
fn decode_policy(stored: Option<Value>) -> Result<Policy, EngineError> {
    match stored {
        Some(v) => serde_json::from_value::<Policy>(v).map_err(|e| {
            EngineError::Refused(format!(
                "the store's policy is unreadable ({e}); nobody may act until an admin fixes it"
            ))
        }),
        None => Ok(Policy::new(Vec::new())),
    }
}

fn subject(actor: &Actor) -> Subject<'_> {
    Subject {
        user: &actor.user.name,
        groups: &actor.groups,
    }
}

fn decide(policy: &Policy, actor: &Actor, action: &Action, group: &InstanceGroup) -> Decision {
    policy.decide(&subject(actor), action.verb(), &group.key(), group.app())
}

/// A deploy of another image than the group's: refused when the group's image policy
/// does not allow that image, else the verb its `change` role stands for (if above deploy).
fn image_effect(group: &InstanceGroup, action: &Action) -> Result<Option<(Verb, String)>, String> {
    let Action::Deploy { params, .. } = action else {
        return Ok(None);
    };
    let (Some(policy), Some(image)) = (&group.spec.image_policy, params.get("image")) else {
        return Ok(None);
    };
    if group.spec.params.get("image") == Some(image) {
        return Ok(None);
    }
    let text = image.as_str().unwrap_or_default();
    if !policy.allowed.is_empty()
        && !policy
            .allowed
            .iter()
            .any(|p| crate::authz::policy::glob(p, text))
    {
        return Err(format!(
            "image {text:?} is not allowed for {} (its image policy allows {})",
            group.name(),
            policy.allowed.join(", ")
        ));
    }
    let verb = match policy.change {
        Some(Role::Admin) => Verb::EditGroups,
        Some(Role::Releaser) => Verb::Promote,
        _ => return Ok(None),
    };
    Ok(Some((
        verb,
        format!(
            "this deploy changes the image of {} to {text:?}",
            group.name()
        ),
    )))
}

/// A verb the transition amounts to beyond the action's own, and what makes it so. A
/// group's first deploy goes straight to stable by design and is only a deploy.
fn effect_verb(
    action: &Action,
    tr: &super::Transition,
    first_deploy: bool,
) -> Option<(Verb, String)> {
    let finishes = tr.release.phase == Phase::Promoted
        && !first_deploy
        && !matches!(action, Action::Promote | Action::Rollback { .. });
    finishes.then(|| {
        (
            Verb::Promote,
            format!(
                "this {} finishes the release (the canary becomes stable)",
                action.name()
            ),
        )
    })
}

/// The part of a release the audit log's before/after shows.
fn state_json(r: &Release) -> Value {
    json!({
        "phase": r.phase.as_str(),
        "weight": r.weight,
        "step": r.step,
        "stable_revision": r.stable_revision,
        "canary_revision": r.canary_revision,
    })
}

/// A group's very first deploy has nothing to compare a canary with: like Argo Rollouts,
/// the first revision goes straight to stable.
fn first_deploy(
    group: &InstanceGroup,
    release: &Release,
    action: &Action,
    ctx: &Context<'_>,
) -> Result<super::Transition, String> {
    match action {
        Action::Deploy { tag, .. } => {
            let n = ctx.next_revision(release);
            let mut r = release.clone();
            r.stable_revision = n;
            r.phase = Phase::Stable;
            r.desired = release.desired + 1;
            r.updated_by = ctx.by.to_string();
            r.updated_at = ctx.now;
            Ok(super::Transition {
                release: r,
                new_revision: Some(n),
                effects: {
                    let mut e = vec![ClusterEffect::ApplyRevision {
                        track: Track::Stable,
                        revision: n,
                        replicas: group.replicas(),
                    }];
                    // Blue-green: the active Service selects the stable track from the start.
                    if group.spec.strategy.kind() == crate::domain::group::StrategyKind::BlueGreen {
                        e.push(ClusterEffect::SwitchServices {
                            active: Track::Stable,
                        });
                    }
                    e
                },
                summary: format!(
                    "first deploy of {}: {tag} as stable (revision {n})",
                    group.name()
                ),
            })
        }
        other => Err(format!(
            "cannot {}: {} has never been deployed; deploy first",
            other.name(),
            group.name()
        )),
    }
}
