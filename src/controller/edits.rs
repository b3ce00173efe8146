//! Edits of the estate — groups, templates, the policy, registered clusters — as the
//! controller makes them: checked in full (never trusting the asker's own checks),
//! authorised, then each written in one transaction with its audit entry.
//!
//! The shape checks are public so the command line can run them first and name the
//! file's line; the controller runs them again because a request can be hand-made.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::request::ClusterRecord;
use crate::authz::policy::{Decision, Policy, Subject, Verb};
use crate::domain::audit::{AuditDraft, AuditTarget, Outcome};
use crate::domain::{InstanceGroup, Step, Template, Track};
use crate::engine::release_engine::{Actor, Trace};
use crate::engine::render::render;
use crate::store::{Cond, Store, StoreError, Write, layout};

/// Where registered clusters live (DESIGN.md §3).
pub use crate::store::layout::CLUSTERS;

/// The most a `--reason` may hold: it is copied into the audit log, which everyone reads.
pub const MAX_REASON_BYTES: usize = 1024;
/// The most a template's body may hold.
pub const MAX_TEMPLATE_BODY_BYTES: usize = 64 * 1024;
/// The most documents a group or template file may hold: a file is written in one etcd
/// transaction, and etcd allows 128 operations in one (`--max-txn-ops`), a few of which
/// are the audit entry, its head and the controller's answer.
pub const MAX_DOCUMENTS: usize = 100;
/// The most groups one import adopts: each is a group, a revision and a release in the
/// import's one transaction (with its templates, under etcd's 128 operations).
pub const MAX_IMPORT: usize = 30;
/// Above this size an edit's audit entry names what changed without the parameters.
const AUDIT_DETAIL_BYTES: usize = 64 * 1024;

/// A file's number of documents fits one transaction.
pub fn check_document_count(kind: &str, n: usize) -> Result<(), String> {
    if n > MAX_DOCUMENTS {
        return Err(format!(
            "{n} {kind} in one file; a file holds at most {MAX_DOCUMENTS} (it is written as one transaction): split it"
        ));
    }
    Ok(())
}

/// Where an edit of several groups is audited: the one group, or the cluster and
/// namespace they share, or nothing more precise.
fn common_target(keys: &[crate::domain::GroupKey]) -> AuditTarget {
    match keys {
        [] => AuditTarget::default(),
        [one] => AuditTarget::from(one),
        [first, rest @ ..] => AuditTarget {
            cluster: if rest.iter().all(|k| k.cluster == first.cluster) {
                first.cluster.clone()
            } else {
                String::new()
            },
            namespace: if rest
                .iter()
                .all(|k| k.cluster == first.cluster && k.namespace == first.namespace)
            {
                first.namespace.clone()
            } else {
                String::new()
            },
            ..AuditTarget::default()
        },
    }
}

/// A reason fits the audit log (checked by the command line first, by the controller
/// again: a request can be hand-made).
pub fn check_reason(reason: Option<&str>) -> Result<(), String> {
    match reason {
        Some(r) if r.len() > MAX_REASON_BYTES => Err(format!(
            "the reason is {} bytes long; a reason holds at most {MAX_REASON_BYTES} bytes (1 KiB)",
            r.len()
        )),
        _ => Ok(()),
    }
}

pub use crate::store::layout::cluster_key;

/// An edit that was not made: exit code and one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub exit: u8,
    pub message: String,
}

impl Refusal {
    pub(super) fn denied(message: impl Into<String>) -> Refusal {
        Refusal {
            exit: 1,
            message: message.into(),
        }
    }

    pub(super) fn bad(message: impl Into<String>) -> Refusal {
        Refusal {
            exit: 2,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        let exit = match &e {
            StoreError::Unavailable { .. } | StoreError::NoSpace { .. } => 3,
            StoreError::Invalid(_) => 2,
            _ => 1,
        };
        Refusal {
            exit,
            message: e.to_string(),
        }
    }
}

/// What an edit did: the summary and one line per thing written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edited {
    pub message: String,
    pub lines: Vec<String>,
}

/// Who edits, and how the audit entries are traced.
pub struct Editor<'a> {
    pub store: &'a dyn Store,
    pub actor: &'a Actor,
    pub trace: Trace,
    /// A store without etcd auth (the demo, `--local`): the first policy may come from
    /// anyone, since anyone could write it anyway.
    pub local: bool,
}

impl Editor<'_> {
    pub(super) fn subject(&self) -> Subject<'_> {
        Subject {
            user: &self.actor.user.name,
            groups: &self.actor.groups,
        }
    }

    fn draft(&self, action: &str, target: AuditTarget, request: Value) -> AuditDraft {
        let mut d = AuditDraft::new(self.actor.user.clone(), action, target);
        d.request = request;
        d.request_id = self.trace.request_id.clone();
        d.via = self.trace.via.clone();
        d
    }

    /// Audits a refusal (with the accepted marker, so the request is not taken twice)
    /// and returns it.
    pub async fn refuse(
        &mut self,
        action: &str,
        target: AuditTarget,
        request: Value,
        refusal: Refusal,
    ) -> Refusal {
        let mut d = self.draft(action, target, request);
        d.outcome = Outcome::Denied;
        d.reason = refusal.message.clone();
        let also = std::mem::take(&mut self.trace.also);
        match self.store.append_audit_with(d, vec![], also).await {
            Ok(_) => refusal,
            Err(e) => e.into(),
        }
    }

    /// Writes `writes` if `when` holds, with an `applied` audit entry, in one transaction.
    pub(super) async fn commit(
        &mut self,
        action: &str,
        target: AuditTarget,
        request: Value,
        reason: String,
        when: Vec<Cond>,
        mut writes: Vec<Write>,
    ) -> Result<(), Refusal> {
        let mut d = self.draft(action, target, request);
        d.outcome = Outcome::Applied;
        d.reason = reason;
        writes.append(&mut self.trace.also);
        self.store.append_audit_with(d, when, writes).await?;
        Ok(())
    }

    pub(super) async fn policy(&self) -> Result<Option<Policy>, Refusal> {
        match self.store.get_policy().await? {
            Some(v) => serde_json::from_value::<Policy>(v.value).map(Some).map_err(|e| {
                Refusal::denied(format!(
                    "the store's policy is unreadable ({e}); nobody may edit until an admin fixes it"
                ))
            }),
            None => Ok(None),
        }
    }

    fn no_policy() -> Refusal {
        Refusal::denied(
            "the store has no policy yet: `flightdeck admin init --admin NAME` writes the first one",
        )
    }

    pub(super) fn allow_global(&self, policy: &Option<Policy>, verb: Verb) -> Result<(), Refusal> {
        match policy {
            Some(p) => match p.decide_global(&self.subject(), verb) {
                Decision::Allow { .. } => Ok(()),
                Decision::Deny { reason } => Err(Refusal::denied(reason)),
            },
            None => Err(Self::no_policy()),
        }
    }

    pub(super) fn allow_group(
        &self,
        policy: &Option<Policy>,
        g: &InstanceGroup,
    ) -> Result<(), Refusal> {
        match policy {
            Some(p) => match p.decide(&self.subject(), Verb::EditGroups, &g.key(), g.app()) {
                Decision::Allow { .. } => Ok(()),
                Decision::Deny { reason } => Err(Refusal::denied(reason)),
            },
            None => Err(Self::no_policy()),
        }
    }

    /// Writes every group of a file, or none: each is checked (shape, template, a trial
    /// render of both tracks) and authorised where it will live *and* where it lives
    /// now; then all of them are written in ONE transaction with one audit entry naming
    /// each, so an asker who disappears (or a controller that dies) never leaves a file
    /// half applied.
    pub async fn apply_groups(
        &mut self,
        groups: &[InstanceGroup],
        file: Option<&str>,
    ) -> Result<Edited, Refusal> {
        const ACTION: &str = "groups.apply";
        let request = json!({ "file": file, "groups": groups.iter().map(|g| g.key().to_string()).collect::<Vec<_>>() });
        let target = |g: Option<&InstanceGroup>| {
            g.map_or_else(AuditTarget::default, |g| AuditTarget::from(&g.key()))
        };
        if let Err(m) = check_document_count("groups", groups.len()) {
            return Err(self
                .refuse(ACTION, target(None), request, Refusal::bad(m))
                .await);
        }
        let mut seen = BTreeSet::new();
        let mut checked = Vec::new();
        for g in groups {
            let pre = async {
                check_group_shape(g).map_err(Refusal::bad)?;
                if !seen.insert(g.key()) {
                    return Err(Refusal::bad(format!("group {} appears twice", g.key())));
                }
                let template = self.store.get_template(&g.spec.template).await?.ok_or_else(|| {
                    Refusal::bad(format!(
                        "group {}: unknown template {:?} (apply it first with `flightdeck templates apply -f FILE`)",
                        g.name(),
                        g.spec.template
                    ))
                })?;
                check_group_renders(g, &template).map_err(Refusal::bad)?;
                let kv = self.store.backend().get(&layout::group(&g.key())).await?;
                // A release in flight is read by its strategy's stages: another strategy
                // would misread it (a canary's step 3 is a blue-green "replacing").
                if let Some(old) = kv
                    .as_ref()
                    .and_then(|kv| serde_json::from_slice::<InstanceGroup>(&kv.value).ok())
                    && (old.spec.strategy.kind() != g.spec.strategy.kind()
                        || old.spec.kind != g.spec.kind)
                    && let Some(r) = self.store.get_release(&g.key()).await?
                    && r.value.phase.in_flight()
                {
                    let what = |x: &InstanceGroup| match x.spec.kind {
                        crate::domain::group::Workload::Cron => "kind cron".to_string(),
                        crate::domain::group::Workload::Service => {
                            x.spec.strategy.kind().as_str().to_string()
                        }
                    };
                    return Err(Refusal::bad(format!(
                        "group {}: cannot change the strategy from {} to {} while a release is in flight ({}); promote or abort it first",
                        g.name(),
                        what(&old),
                        what(g),
                        r.value.phase
                    )));
                }
                Ok::<_, Refusal>(kv)
            }
            .await;
            match pre {
                Ok(kv) => checked.push((g, kv)),
                Err(r) => return Err(self.refuse(ACTION, target(Some(g)), request, r).await),
            }
        }
        let policy = match self.policy().await {
            Ok(p) => p,
            Err(r) => return Err(self.refuse(ACTION, target(None), request, r).await),
        };
        for (g, kv) in &checked {
            let mut allowed = self.allow_group(&policy, g);
            // Moving a group out of someone else's scope is an edit of theirs too.
            if allowed.is_ok()
                && let Some(kv) = kv
                && let Ok(old) = serde_json::from_slice::<InstanceGroup>(&kv.value)
            {
                allowed = self.allow_group(&policy, &old).map_err(|r| {
                    Refusal::denied(format!(
                        "{} (as the group is now: app {})",
                        r.message,
                        old.app()
                    ))
                });
            }
            if let Err(r) = allowed {
                return Err(self.refuse(ACTION, target(Some(g)), request, r).await);
            }
        }
        let mut out = Edited::default();
        let (mut when, mut writes) = (Vec::new(), Vec::new());
        let (mut keys, mut changes, mut said) = (Vec::new(), Vec::new(), Vec::new());
        for (g, kv) in checked {
            let key = g.key();
            let old = kv
                .as_ref()
                .and_then(|kv| serde_json::from_slice::<InstanceGroup>(&kv.value).ok());
            if old.as_ref() == Some(g) {
                out.lines.push(format!("group {key} unchanged"));
                continue;
            }
            let verb = if kv.is_some() { "updated" } else { "created" };
            let store_key = layout::group(&key);
            let value = serde_json::to_vec(g).map_err(|e| Refusal::bad(e.to_string()))?;
            // Each group must still be as it was checked, or nothing is written.
            when.push(Cond::ModRevision(
                store_key.clone(),
                kv.as_ref().map_or(0, |kv| kv.mod_revision),
            ));
            writes.push(Write::Put(store_key, value));
            changes.push(json!({
                "group": key.to_string(),
                "change": verb,
                "template": g.spec.template,
                "params": g.spec.params,
            }));
            said.push(format!("group {} {verb}", g.name()));
            out.lines.push(format!("group {key} {verb}"));
            keys.push(key);
        }
        if !writes.is_empty() {
            let mut request = json!({ "file": file, "groups": changes });
            if request.to_string().len() > AUDIT_DETAIL_BYTES {
                for c in changes.iter_mut() {
                    if let Some(o) = c.as_object_mut() {
                        o.remove("params");
                    }
                }
                request = json!({ "file": file, "groups": changes, "paramsOmitted": true });
            }
            let mut reason = said.join("; ");
            if reason.len() > MAX_REASON_BYTES {
                reason = format!(
                    "{} groups created or updated (each named in the request)",
                    keys.len()
                );
            }
            self.commit(ACTION, common_target(&keys), request, reason, when, writes)
                .await?;
        }
        out.message = format!("{} group(s) applied", groups.len());
        Ok(out)
    }

    /// Writes every template of a file, or none: each checked for shape and syntax and
    /// rendered for every group that uses it, then all written in one transaction with
    /// one audit entry naming each.
    pub async fn apply_templates(
        &mut self,
        templates: &[Template],
        file: Option<&str>,
    ) -> Result<Edited, Refusal> {
        const ACTION: &str = "templates.apply";
        let names: Vec<&str> = templates.iter().map(|t| t.metadata.name.as_str()).collect();
        let request = json!({ "templates": names, "file": file });
        let checked = async {
            check_document_count("templates", templates.len()).map_err(Refusal::bad)?;
            // An unreadable group cannot be rendered for; it is logged and left out.
            let groups = self.store.list_groups(&crate::store::Scope::all()).await?;
            let mut seen = BTreeSet::new();
            for t in templates {
                check_template_shape(t).map_err(Refusal::bad)?;
                if !seen.insert(&t.metadata.name) {
                    return Err(Refusal::bad(format!(
                        "template {} appears twice",
                        t.metadata.name
                    )));
                }
                check_template_syntax(t).map_err(Refusal::bad)?;
                for g in groups.iter().filter(|g| g.spec.template == t.metadata.name) {
                    for track in [Track::Stable, Track::Canary] {
                        render(t, g, track, &g.spec.params, g.replicas()).map_err(|e| {
                            Refusal::bad(format!(
                                "template {} does not render for group {}: {e}",
                                t.metadata.name,
                                g.key()
                            ))
                        })?;
                    }
                }
            }
            let policy = self.policy().await?;
            self.allow_global(&policy, Verb::EditTemplates)
        }
        .await;
        if let Err(r) = checked {
            return Err(self
                .refuse(ACTION, AuditTarget::default(), request, r)
                .await);
        }
        let mut out = Edited::default();
        let mut writes = Vec::new();
        for t in templates {
            let key = layout::template(&t.metadata.name);
            let value = serde_json::to_vec(t).map_err(|e| Refusal::bad(e.to_string()))?;
            writes.push(Write::Put(key, value));
            out.lines
                .push(format!("template {} applied", t.metadata.name));
        }
        if !writes.is_empty() {
            let said: Vec<String> = names
                .iter()
                .map(|n| format!("template {n} written"))
                .collect();
            let mut reason = said.join("; ");
            if reason.len() > MAX_REASON_BYTES {
                reason = format!(
                    "{} templates written (each named in the request)",
                    names.len()
                );
            }
            self.commit(
                ACTION,
                AuditTarget::default(),
                json!({ "templates": names, "file": file }),
                reason,
                vec![],
                writes,
            )
            .await?;
        }
        out.message = format!("{} template(s) applied", templates.len());
        Ok(out)
    }

    /// Replaces the policy (admins only; on a store with no policy yet, only where there
    /// is no etcd auth to say who may — elsewhere `admin init` writes the first one).
    pub async fn apply_policy(
        &mut self,
        policy: &Policy,
        file: Option<&str>,
    ) -> Result<Edited, Refusal> {
        const ACTION: &str = "policy.apply";
        let request = json!({ "file": file, "bindings": policy.bindings.len() });
        let current = match self.store.backend().get(layout::POLICY).await {
            Ok(kv) => kv,
            Err(e) => {
                return Err(self
                    .refuse(ACTION, AuditTarget::default(), request, e.into())
                    .await);
            }
        };
        let first = current.is_none();
        if !(first && self.local) {
            let checked = async {
                let p = self.policy().await?;
                self.allow_global(&p, Verb::EditPolicy)
            }
            .await;
            if let Err(r) = checked {
                return Err(self
                    .refuse(ACTION, AuditTarget::default(), request, r)
                    .await);
            }
        }
        let value = serde_json::to_vec(policy).map_err(|e| Refusal::bad(e.to_string()))?;
        if current.as_ref().is_some_and(|kv| {
            serde_json::from_slice::<Policy>(&kv.value).ok().as_ref() == Some(policy)
        }) {
            return Ok(Edited {
                message: format!("policy unchanged ({} bindings)", policy.bindings.len()),
                lines: vec![],
            });
        }
        let message = if first {
            format!(
                "first policy of the store ({} bindings)",
                policy.bindings.len()
            )
        } else {
            format!("policy replaced ({} bindings)", policy.bindings.len())
        };
        self.commit(
            ACTION,
            AuditTarget::default(),
            request,
            message.clone(),
            vec![Cond::ModRevision(
                layout::POLICY.to_string(),
                current.map_or(0, |kv| kv.mod_revision),
            )],
            vec![Write::Put(layout::POLICY.to_string(), value)],
        )
        .await?;
        Ok(Edited {
            message,
            lines: vec![],
        })
    }

    /// Registers (or re-registers) a cluster: its API server URL and CA fingerprint.
    pub async fn add_cluster(&mut self, cluster: &ClusterRecord) -> Result<Edited, Refusal> {
        const ACTION: &str = "clusters.add";
        let request = json!({ "cluster": cluster.name, "server": cluster.server, "caSha256": cluster.ca_sha256 });
        let target = AuditTarget {
            cluster: cluster.name.clone(),
            ..AuditTarget::default()
        };
        let checked = async {
            layout::check_segment("cluster", &cluster.name)?;
            check_cluster(cluster).map_err(Refusal::bad)?;
            let p = self.policy().await?;
            self.allow_global(&p, Verb::EditPolicy).map_err(|r| {
                Refusal::denied(format!(
                    "registering a cluster is for admins ({})",
                    r.message
                ))
            })
        }
        .await;
        if let Err(r) = checked {
            return Err(self.refuse(ACTION, target, request, r).await);
        }
        let key = cluster_key(&cluster.name);
        let value = serde_json::to_vec(cluster).map_err(|e| Refusal::bad(e.to_string()))?;
        let message = format!("cluster {} registered at {}", cluster.name, cluster.server);
        self.commit(
            ACTION,
            target,
            request,
            message.clone(),
            vec![],
            vec![Write::Put(key, value)],
        )
        .await?;
        Ok(Edited {
            message,
            lines: vec![],
        })
    }
}

/// The public facts of a cluster must look like what they claim to be.
pub fn check_cluster(c: &ClusterRecord) -> Result<(), String> {
    let url_ok = (c.server.starts_with("https://") || c.server.starts_with("http://"))
        && c.server.len() < 2048
        && !c
            .server
            .chars()
            .any(|ch| ch.is_control() || ch.is_whitespace());
    if !url_ok {
        return Err(format!(
            "cluster {}: server {:?} is not an http(s) URL",
            c.name, c.server
        ));
    }
    let fp_ok = c.ca_sha256.is_empty()
        || (c.ca_sha256.len() == 64 && c.ca_sha256.bytes().all(|b| b.is_ascii_hexdigit()));
    if !fp_ok {
        return Err(format!(
            "cluster {}: CA fingerprint is not a sha256 in hex",
            c.name
        ));
    }
    Ok(())
}

/// An InstanceGroup document as flightdeck can run it.
pub fn check_group_shape(g: &InstanceGroup) -> Result<(), String> {
    if g.kind != "InstanceGroup" {
        return Err(format!("kind is {:?}, expected \"InstanceGroup\"", g.kind));
    }
    if g.api_version != "flightdeck/v1" {
        return Err(format!(
            "apiVersion is {:?}, expected \"flightdeck/v1\"",
            g.api_version
        ));
    }
    layout::check_group(&g.key()).map_err(|e| e.to_string())?;
    if g.app().trim().is_empty() {
        return Err(format!("group {}: metadata.app is empty", g.name()));
    }
    for (k, v) in [
        ("image", "a string"),
        ("tag", "a string (quote versions such as \"2.10\")"),
    ] {
        if !g.spec.params.get(k).is_some_and(|p| p.is_string()) {
            return Err(format!("group {}: params.{k} must be {v}", g.name()));
        }
    }
    if let Some(r) = g.spec.params.get("replicas")
        && !r.is_u64()
    {
        return Err(format!(
            "group {}: params.replicas must be a whole number, not {r}",
            g.name()
        ));
    }
    crate::engine::traffic::check_traffic(g).map_err(|e| format!("group {}: {e}", g.name()))?;
    crate::engine::strategy::check_strategy(g).map_err(|e| format!("group {}: {e}", g.name()))?;
    if let Some(reg) = &g.spec.registration {
        reg.check(g.name(), crate::store::DEFAULT_PREFIX)
            .map_err(|e| format!("group {}: {e}", g.name()))?;
        if reg.drain_on_rollout
            && g.spec.strategy.kind() != crate::domain::group::StrategyKind::Rolling
        {
            return Err(format!(
                "group {}: registration.drainOnRollout needs the rolling strategy (a canary or blue-green release replaces pods by tracks)",
                g.name()
            ));
        }
    }
    for (i, step) in g.spec.strategy.steps.iter().enumerate() {
        let bad = |what: &str, v: &str| {
            format!(
                "group {}: step {} has {what} {v:?}, expected a duration such as 30s or 5m",
                g.name(),
                i + 1
            )
        };
        match step {
            Step::Pause(p) => {
                if let Some(d) = &p.duration
                    && d.parse::<jiff::SignedDuration>().is_err()
                {
                    return Err(bad("pause duration", d));
                }
            }
            Step::Analysis(a) => {
                if a.interval.parse::<jiff::SignedDuration>().is_err() {
                    return Err(bad("analysis interval", &a.interval));
                }
            }
            Step::SetWeight(_) => {}
            Step::SetHeaderRoute(h) => {
                h.check()
                    .map_err(|e| format!("group {}: step {}: {e}", g.name(), i + 1))?;
                if !g.spec.strategy.traffic.router.splits_by_weight() {
                    return Err(format!(
                        "group {}: step {} sets a header route, which the replicas router cannot do (pods do not see headers); use router: istio, gateway-api or nginx",
                        g.name(),
                        i + 1
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Both tracks of `g` render with `template` (a trial render; nothing is stored).
pub fn check_group_renders(g: &InstanceGroup, template: &Template) -> Result<(), String> {
    for track in [Track::Stable, Track::Canary] {
        let objects = render(template, g, track, &g.spec.params, g.replicas())
            .map_err(|e| format!("group {}: {e}", g.name()))?;
        if g.spec.kind == crate::domain::group::Workload::Cron {
            if track == Track::Stable {
                crate::engine::cron::check_cron_render(g, &objects).map_err(|e| {
                    format!(
                        "group {} (kind cron), template {}: {e}",
                        g.name(),
                        template.metadata.name
                    )
                })?;
            }
            continue;
        }
        // A canary or a preview is a second Deployment beside `<g>`: with a selector that
        // does not tell the tracks apart (an adopted Deployment keeps the one it ran
        // with, as a selector cannot change), each would take the other's pods.
        if track == Track::Stable
            && g.spec.strategy.kind() != crate::domain::group::StrategyKind::Rolling
            && let Some(d) = objects
                .iter()
                .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == g.name())
            && d.pointer("/spec/selector/matchLabels")
                .and_then(serde_json::Value::as_object)
                .is_some_and(|m| !m.contains_key(crate::domain::labels::TRACK))
        {
            return Err(format!(
                "group {}: strategy {} runs a second Deployment beside {}, but its selector {} does not select by {} (an adopted Deployment keeps the selector it ran with); use strategy rolling: {{}}",
                g.name(),
                g.spec.strategy.kind().as_str(),
                g.name(),
                d.pointer("/spec/selector").cloned().unwrap_or_default(),
                crate::domain::labels::TRACK
            ));
        }
        // Blue-green switches the template's Service `<g>`: without one it has no traffic
        // to switch, which is better said now than by a Degraded release later.
        let blue_green = g.spec.strategy.kind() == crate::domain::group::StrategyKind::BlueGreen;
        if blue_green
            && track == Track::Stable
            && !objects
                .iter()
                .any(|o| o["kind"] == "Service" && o["metadata"]["name"] == g.name())
        {
            return Err(format!(
                "group {}: strategy blueGreen needs the template {} to render a Service named {} (the active Service)",
                g.name(),
                template.metadata.name,
                g.name()
            ));
        }
    }
    Ok(())
}

/// A Template document as flightdeck can use it.
pub fn check_template_shape(t: &Template) -> Result<(), String> {
    if t.kind != "Template" {
        return Err(format!("kind is {:?}, expected \"Template\"", t.kind));
    }
    if t.api_version != "flightdeck/v1" {
        return Err(format!(
            "apiVersion is {:?}, expected \"flightdeck/v1\"",
            t.api_version
        ));
    }
    layout::check_segment("template", &t.metadata.name).map_err(|e| e.to_string())?;
    if t.spec.body.trim().is_empty() {
        return Err(format!(
            "template {} has an empty spec.body",
            t.metadata.name
        ));
    }
    if t.spec.body.len() > MAX_TEMPLATE_BODY_BYTES {
        return Err(format!(
            "template {}: spec.body is {} bytes long; a template body holds at most {} KiB",
            t.metadata.name,
            t.spec.body.len(),
            MAX_TEMPLATE_BODY_BYTES / 1024
        ));
    }
    Ok(())
}

/// Checks the declared kinds and compiles the body, so a template no group uses yet is
/// still checked.
pub fn check_template_syntax(t: &Template) -> Result<(), String> {
    crate::engine::render::check_template(t).map_err(|e| e.to_string())
}
