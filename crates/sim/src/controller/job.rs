//! The Job controller: runs pods to completion — `parallelism` at a time until
//! `completions` have succeeded, giving up after `backoffLimit` failures — and honours
//! `spec.suspend` (active pods are deleted, none are started). Its status carries
//! `startTime`, `completionTime`, `active`/`ready`/`succeeded`/`failed` and the
//! `Complete`, `Failed` and `Suspended` conditions, as kubectl reads them.

use serde_json::{Value, json};

use crate::events::{EventRecorder, Regarding, Source};
use crate::objects::{self, is_terminating};
use crate::resource::{Kind, ObjectKey, i64_at, owner_ref, str_at, uid_of};
use crate::store::{Obj, Store};
use crate::time;

const JOB_CONTROLLER: Source<'static> = Source {
    component: "job-controller",
    host: "",
};

/// The label the API server puts on a Job's pods (and the short one kubectl selects by).
pub const JOB_NAME: &str = "batch.kubernetes.io/job-name";
const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";

/// Whether the Job has finished, for good (`Complete` or `Failed`).
pub fn finished(job: &Value) -> Option<&'static str> {
    let conds = job.pointer("/status/conditions")?.as_array()?;
    ["Complete", "Failed"].into_iter().find(|t| {
        conds
            .iter()
            .any(|c| c["type"] == *t && c["status"] == "True")
    })
}

pub fn sync(store: &Store, events: &EventRecorder, key: &ObjectKey) {
    let Some(job) = store.get(Kind::Job, key) else {
        return;
    };
    if is_terminating(&job) || finished(&job).is_some() {
        return;
    }
    let pods: Vec<Obj> = store
        .owned_by(uid_of(&job), Kind::Pod)
        .into_iter()
        .filter(|p| !is_terminating(p))
        .collect();
    let phase = |p: &Obj| str_at(p, "/status/phase").to_string();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64 + restarts(&pods);
    let mut active: Vec<&Obj> = pods
        .iter()
        .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        .collect();
    let ready = active.iter().filter(|p| is_ready(p)).count();
    let completions = i64_at(&job, "/spec/completions").max(1);
    let parallelism = i64_at(&job, "/spec/parallelism").max(0);
    let backoff = job
        .pointer("/spec/backoffLimit")
        .and_then(Value::as_i64)
        .unwrap_or(6);
    let suspended = job.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    let regarding = Regarding {
        obj: &job,
        kind: Kind::Job,
        field_path: None,
    };

    let mut end: Option<(&str, &str, &str)> = None;
    if suspended {
        for p in active.drain(..) {
            delete_pod(store, events, &job, p);
        }
    } else if failed > backoff {
        for p in active.drain(..) {
            delete_pod(store, events, &job, p);
        }
        end = Some((
            "Failed",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
    } else if succeeded >= completions {
        end = Some(("Complete", "", ""));
    } else {
        let want = parallelism.min(completions - succeeded) as usize;
        for _ in active.len()..want {
            if let Some(pod) = create_pod(store, &job) {
                let msg = format!("Created pod: {}", str_at(&pod, "/metadata/name"));
                events.record(regarding, false, "SuccessfulCreate", &msg, JOB_CONTROLLER);
            }
        }
    }
    let active_now = if suspended || end.is_some() {
        0
    } else {
        store
            .owned_by(uid_of(&job), Kind::Pod)
            .iter()
            .filter(|p| !is_terminating(p))
            .filter(|p| !matches!(str_at(p, "/status/phase"), "Succeeded" | "Failed"))
            .count()
    };
    match end {
        Some(("Complete", ..)) => events.record(
            regarding,
            false,
            "Completed",
            "Job completed",
            JOB_CONTROLLER,
        ),
        Some((_, reason, msg)) => events.record(regarding, true, reason, msg, JOB_CONTROLLER),
        None => {}
    }
    let _ = store.update(Kind::Job, key, |o| {
        let now = time::now();
        let mut conds = o
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        set(
            &mut conds,
            "Suspended",
            suspended,
            if suspended {
                "JobSuspended"
            } else {
                "JobResumed"
            },
            &now,
        );
        if let Some((kind, reason, msg)) = end {
            conds.push(
                json!({"type": kind, "status": "True", "reason": reason, "message": msg,
                "lastProbeTime": now, "lastTransitionTime": now}),
            );
        }
        let status = o
            .as_object_mut()
            .map(|m| m.entry("status").or_insert_with(|| json!({})));
        let Some(status) = status else {
            return Ok(());
        };
        if !suspended && status.get("startTime").is_none() {
            status["startTime"] = json!(now);
        }
        if matches!(end, Some(("Complete", ..))) {
            status["completionTime"] = json!(now);
        }
        status["active"] = json!(active_now);
        status["ready"] = json!(if active_now == 0 { 0 } else { ready });
        status["succeeded"] = json!(succeeded);
        status["failed"] = json!(failed);
        status["conditions"] = json!(conds);
        if conds_empty(status)
            && let Some(m) = status.as_object_mut()
        {
            m.remove("conditions");
        }
        Ok(())
    });
}

fn conds_empty(status: &Value) -> bool {
    status["conditions"].as_array().is_some_and(Vec::is_empty)
}

/// Sets condition `kind` to `on`; an absent condition that would be false stays absent.
fn set(conds: &mut Vec<Value>, kind: &str, on: bool, reason: &str, now: &str) {
    let status = if on { "True" } else { "False" };
    match conds.iter_mut().find(|c| c["type"] == kind) {
        Some(c) if c["status"] != status => {
            *c = json!({"type": kind, "status": status, "reason": reason,
                "lastProbeTime": now, "lastTransitionTime": now});
        }
        Some(_) => {}
        None if on => conds.push(json!({"type": kind, "status": status, "reason": reason,
            "lastProbeTime": now, "lastTransitionTime": now})),
        None => {}
    }
}

/// Container restarts of `OnFailure` pods count as failures toward the backoff limit.
fn restarts(pods: &[Obj]) -> i64 {
    pods.iter()
        .filter_map(|p| {
            p.pointer("/status/containerStatuses")
                .and_then(Value::as_array)
        })
        .flatten()
        .map(|c| i64_at(c, "/restartCount"))
        .sum()
}

fn is_ready(p: &Value) -> bool {
    p.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn delete_pod(store: &Store, events: &EventRecorder, job: &Value, pod: &Value) {
    if objects::delete(store, Kind::Pod, &ObjectKey::of(pod), None, None).is_ok() {
        let msg = format!("Deleted pod: {}", str_at(pod, "/metadata/name"));
        events.record(
            Regarding {
                obj: job,
                kind: Kind::Job,
                field_path: None,
            },
            false,
            "SuccessfulDelete",
            &msg,
            JOB_CONTROLLER,
        );
    }
}

fn create_pod(store: &Store, job: &Value) -> Option<Obj> {
    let template = job.pointer("/spec/template")?;
    let mut meta = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let name = str_at(job, "/metadata/name");
    meta["namespace"] = job["metadata"]["namespace"].clone();
    meta["generateName"] = json!(format!("{name}-"));
    meta["ownerReferences"] = json!([owner_ref(job, Kind::Job)]);
    let labels = &mut meta["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[JOB_NAME] = json!(name);
    labels["job-name"] = json!(name);
    labels[CONTROLLER_UID] = json!(uid_of(job));
    labels["controller-uid"] = json!(uid_of(job));
    let pod = json!({
        "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    objects::create(store, Kind::Pod, pod).ok()
}
