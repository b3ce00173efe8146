//! Cron groups: a template that renders one CronJob `<group>`. A deploy replaces the
//! CronJob's spec (no canary: a run is already a trial); `suspend`/`resume` set
//! `spec.suspend`; `trigger` makes a Job from the CronJob's `jobTemplate` as
//! `kubectl create job --from=cronjob/…` does; `kill` deletes a running Job and its pods.
//! A deploy while a Job runs follows the group's `concurrency` (see [`Concurrency`]).

use serde_json::{Value, json};

use crate::domain::group::Concurrency;
use crate::domain::{InstanceGroup, labels};

/// A Job of the group's CronJob that has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningJob {
    pub name: String,
    pub started: Option<jiff::Timestamp>,
}

impl RunningJob {
    /// `report-29395071 (running 3m)`.
    pub fn describe(&self, now: jiff::Timestamp) -> String {
        match self.started {
            Some(t) => format!(
                "{} (running {})",
                self.name,
                crate::domain::cron::run_span(t, now)
            ),
            None => format!("{} (starting)", self.name),
        }
    }
}

/// The group's concurrency rule (`forbid` when not said).
pub fn concurrency(g: &InstanceGroup) -> Concurrency {
    g.spec.concurrency.unwrap_or_default()
}

/// Whether Job object `job` belongs to cron group `g` (its CronJob owns it) and has not
/// finished.
pub fn running_job(g: &InstanceGroup, job: &Value) -> Option<RunningJob> {
    let owned = job
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["kind"] == "CronJob" && r["name"] == g.name())
        });
    if !owned || job.pointer("/metadata/deletionTimestamp").is_some() {
        return None;
    }
    let done = job
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
            })
        });
    if done {
        return None;
    }
    Some(RunningJob {
        name: job
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        started: job
            .pointer("/status/startTime")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok()),
    })
}

/// The Job a trigger makes from `cronjob` (as it is in the cluster), named for `at`.
pub fn triggered_job(
    g: &InstanceGroup,
    cronjob: &Value,
    at: jiff::Timestamp,
) -> Result<Value, String> {
    let template = cronjob
        .pointer("/spec/jobTemplate")
        .ok_or_else(|| format!("CronJob {} has no jobTemplate", g.name()))?;
    let mut meta = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !meta.is_object() {
        meta = json!({});
    }
    meta["name"] = json!(format!("{}-manual-{}", g.name(), at.as_second()));
    meta["namespace"] = json!(g.spec.namespace);
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    meta["annotations"]["cronjob.kubernetes.io/instantiate"] = json!("manual");
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    meta["labels"][labels::GROUP] = json!(g.name());
    meta["labels"][labels::MANAGED_BY] = json!(labels::MANAGER);
    meta["ownerReferences"] = json!([{
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": g.name(),
        "uid": cronjob.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
        "controller": true,
    }]);
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    }))
}

/// A cron group's template renders exactly one CronJob named after the group, and no
/// Deployment (`objects`: the stable track's render).
pub fn check_cron_render(g: &InstanceGroup, objects: &[Value]) -> Result<(), String> {
    let cronjobs = objects
        .iter()
        .filter(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == g.name())
        .count();
    if cronjobs != 1 {
        return Err(format!(
            "a cron group's template renders one CronJob named {} (found {cronjobs})",
            g.name()
        ));
    }
    if objects.iter().any(|o| o["kind"] == "Deployment") {
        return Err("a cron group's template renders no Deployment".into());
    }
    Ok(())
}
