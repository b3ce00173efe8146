//! `groups import` as the controller does it: read what runs with its own credentials,
//! plan the templates and groups (`engine::adopt`), check and authorise all of it, write
//! templates, groups, first revisions and releases in ONE transaction with one audit
//! entry, then re-apply each first revision (which changes no pod) and label the pods
//! that run.
//!
//! Authorised as what it does: templates are global, so `edit-templates`; each group is
//! written (`edit-groups` on its scope) and gets a first revision (`deploy` on it).

use std::collections::BTreeSet;

use serde_json::json;

use super::edits::{
    Edited, Editor, MAX_IMPORT, MAX_REASON_BYTES, Refusal, check_group_renders, check_group_shape,
    check_template_shape, check_template_syntax, cluster_key,
};
use crate::authz::policy::{Decision, Verb};
use crate::domain::audit::AuditTarget;
use crate::domain::group::Workload;
use crate::domain::{Release, Revision};
use crate::engine::adopt::{self, Adoption};
use crate::engine::release_engine::ReleaseEngine;
use crate::kube::apply::ApplyError;
use crate::store::{Cond, Write, layout};

/// The longest label selector an import takes.
pub const MAX_SELECTOR_BYTES: usize = 1024;

fn cluster_refusal(cluster: &str, e: ApplyError) -> Refusal {
    Refusal {
        exit: if e.is_transient() { 3 } else { 1 },
        message: format!("cannot read what runs in cluster {cluster}: {e}"),
    }
}

impl Editor<'_> {
    /// Adopts the Deployments and CronJobs of `namespace` that `selector` picks.
    pub async fn import(
        &mut self,
        engine: &ReleaseEngine,
        cluster: &str,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Edited, Refusal> {
        const ACTION: &str = "groups.import";
        let request = json!({ "cluster": cluster, "namespace": namespace, "selector": selector });
        let target = AuditTarget {
            cluster: cluster.to_string(),
            namespace: namespace.to_string(),
            ..AuditTarget::default()
        };
        let planned = self.plan_import(engine, cluster, namespace, selector).await;
        let adoption = match planned {
            Ok(a) => a,
            Err(r) => return Err(self.refuse(ACTION, target, request, r).await),
        };
        let by = self.actor.user.name.clone();
        let (mut when, mut writes) = (Vec::new(), Vec::new());
        let put = |key: String, value: Vec<u8>, when: &mut Vec<Cond>, writes: &mut Vec<Write>| {
            // Nothing of it may exist by the time it is written.
            when.push(Cond::Absent(key.clone()));
            writes.push(Write::Put(key, value));
        };
        let json = |v: serde_json::Result<Vec<u8>>| v.map_err(|e| Refusal::bad(e.to_string()));
        for t in &adoption.templates {
            put(
                layout::template(&t.metadata.name),
                json(serde_json::to_vec(t))?,
                &mut when,
                &mut writes,
            );
        }
        let mut said = Vec::new();
        let mut adopted = Vec::new();
        for a in &adoption.groups {
            let key = a.group.key();
            put(
                layout::group(&key),
                json(serde_json::to_vec(&a.group))?,
                &mut when,
                &mut writes,
            );
            let revision = Revision {
                number: 1,
                group: key.clone(),
                params: a.first_params.clone(),
                rendered: a.first_objects.clone(),
                created: jiff::Timestamp::now(),
                created_by: by.clone(),
            };
            put(
                layout::revision(&key, 1),
                json(serde_json::to_vec(&revision))?,
                &mut when,
                &mut writes,
            );
            // Desired 1, applied 0: until the re-apply below is recorded, the controller
            // knows to bring the cluster to it (labels on the Deployment only).
            let mut release = Release::stable(key.clone(), 1, &by);
            release.applied = 0;
            release.suspended = a.suspended;
            put(
                layout::release(&key),
                json(serde_json::to_vec(&release))?,
                &mut when,
                &mut writes,
            );
            said.push(format!(
                "{} adopted ({}:{})",
                a.group.name(),
                a.first_params["image"].as_str().unwrap_or(""),
                a.first_params["tag"].as_str().unwrap_or("")
            ));
            adopted.push(json!({
                "group": key.to_string(),
                "kind": if a.group.spec.kind == Workload::Cron { "CronJob" } else { "Deployment" },
                "template": a.group.spec.template,
                "params": a.first_params,
            }));
        }
        let mut reason = said.join("; ");
        if reason.len() > MAX_REASON_BYTES {
            reason = format!(
                "{} groups adopted as they run (each named in the request)",
                adoption.groups.len()
            );
        }
        let templates: Vec<&str> = adoption
            .templates
            .iter()
            .map(|t| t.metadata.name.as_str())
            .collect();
        let detail = json!({
            "cluster": cluster, "namespace": namespace, "selector": selector,
            "templates": templates, "groups": adopted,
        });
        self.commit(ACTION, target, detail, reason, when, writes)
            .await?;
        let mut out = Edited {
            message: format!(
                "{} group(s) adopted in {cluster}/{namespace} ({} template(s)); no pod was restarted",
                adoption.groups.len(),
                adoption.templates.len()
            ),
            lines: templates
                .iter()
                .map(|t| format!("template {t} created"))
                .collect(),
        };
        for a in &adoption.groups {
            let key = a.group.key();
            // The controller's own re-apply of revision 1: labels the object, nothing else.
            let applied = match engine.reapply(&key).await {
                Ok(r) => match r.apply_error {
                    None => "revision 1 applied".to_string(),
                    Some(e) => format!("revision 1 recorded, not applied yet ({e})"),
                },
                Err(e) => format!("revision 1 recorded, not applied yet ({e})"),
            };
            let pods = match a.group.spec.kind {
                Workload::Cron => String::new(),
                Workload::Service => {
                    let selector = &a.first_objects[0]["spec"]["selector"];
                    match engine.label_adopted_pods(&a.group, selector).await {
                        Ok(n) => format!(", {n} running pod(s) labelled"),
                        Err(e) => format!(", its pods not labelled ({e})"),
                    }
                }
            };
            out.lines
                .push(format!("group {key} adopted: {applied}{pods}"));
        }
        // The asker's command prints the lines only: the summary goes last.
        out.lines.push(out.message.clone());
        Ok(out)
    }

    /// Everything an import checks before it writes: the cluster, what runs there, the
    /// plan, clashes with what the store holds, the policy.
    async fn plan_import(
        &self,
        engine: &ReleaseEngine,
        cluster: &str,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Adoption, Refusal> {
        layout::check_segment("cluster", cluster)?;
        layout::check_segment("namespace", namespace)?;
        if let Some(s) = selector
            && (s.len() > MAX_SELECTOR_BYTES || s.chars().any(char::is_control))
        {
            return Err(Refusal::bad(format!(
                "the selector must be one line of at most {MAX_SELECTOR_BYTES} bytes"
            )));
        }
        if self
            .store
            .backend()
            .get(&cluster_key(cluster))
            .await?
            .is_none()
        {
            return Err(Refusal::denied(format!(
                "cluster {cluster} is not registered: an admin registers it with `flightdeck clusters add {cluster} --kubeconfig F`"
            )));
        }
        let policy = self.policy().await?;
        // Templates are everyone's: an import writes some, so it is for template editors.
        self.allow_global(&policy, Verb::EditTemplates)
            .map_err(|r| Refusal::denied(format!("an import writes templates: {}", r.message)))?;
        let objects = engine
            .read_workloads(cluster, namespace, selector)
            .await
            .map_err(|e| cluster_refusal(cluster, e))?;
        let picked = selector.map_or(String::new(), |s| format!(" matching {s:?}"));
        if objects.is_empty() {
            return Err(Refusal::denied(format!(
                "nothing to adopt: no Deployment or CronJob in {cluster}/{namespace}{picked}"
            )));
        }
        if objects.len() > MAX_IMPORT {
            return Err(Refusal::bad(format!(
                "{} Deployments and CronJobs in {cluster}/{namespace}{picked}; an import adopts at most {MAX_IMPORT} (one transaction): narrow it with --selector",
                objects.len()
            )));
        }
        for o in &objects {
            if let Some(why) = adopt::refuse_reason(o) {
                return Err(Refusal::denied(format!(
                    "{why}; leave it out with --selector"
                )));
            }
        }
        let adoption = adopt::plan(cluster, namespace, &objects).map_err(Refusal::bad)?;
        let mut names = BTreeSet::new();
        for t in &adoption.templates {
            check_template_shape(t).map_err(Refusal::bad)?;
            check_template_syntax(t).map_err(Refusal::bad)?;
            if !names.insert(t.metadata.name.clone()) {
                return Err(Refusal::bad(format!("template {} twice", t.metadata.name)));
            }
            if self.store.get_template(&t.metadata.name).await?.is_some() {
                return Err(Refusal::denied(format!(
                    "template {} already exists; nothing was adopted (import the rest with --selector, or remove the template)",
                    t.metadata.name
                )));
            }
        }
        for a in &adoption.groups {
            let g = &a.group;
            check_group_shape(g).map_err(Refusal::bad)?;
            let template = adoption
                .templates
                .iter()
                .find(|t| t.metadata.name == g.spec.template)
                .ok_or_else(|| Refusal::bad(format!("group {}: no template", g.name())))?;
            check_group_renders(g, template).map_err(Refusal::bad)?;
            if self.store.get_group(&g.key()).await?.is_some() {
                return Err(Refusal::denied(format!(
                    "group {} already exists; nothing was adopted (leave {} out with --selector)",
                    g.key(),
                    g.name()
                )));
            }
            self.allow_group(&policy, g)?;
            if let Some(p) = &policy
                && let Decision::Deny { reason } =
                    p.decide(&self.subject(), Verb::Deploy, &g.key(), g.app())
            {
                return Err(Refusal::denied(format!(
                    "an import deploys revision 1 of {}: {reason}",
                    g.name()
                )));
            }
        }
        Ok(adoption)
    }
}
