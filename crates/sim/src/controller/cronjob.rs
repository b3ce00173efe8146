//! The CronJob controller: at each scheduled minute it creates a Job from `jobTemplate`
//! (named `<cronjob>-<minutes since the epoch>`, like the real one), following
//! `concurrencyPolicy` (Allow, Forbid: skip while one runs, Replace: delete the running
//! one), skipping while `suspend`, and keeping `successfulJobsHistoryLimit` /
//! `failedJobsHistoryLimit` finished Jobs. Its status lists the active Jobs and the last
//! schedule and success times.
//!
//! Schedules run on the simulation's clock: with a time scale of 0.05 a minute of schedule
//! passes in 3 s, counted from when the simulated cluster started; the times written are
//! the wall-clock times things happened, so ages read right.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::job::finished;
use crate::events::{EventRecorder, Regarding, Source};
use crate::objects::{self, is_terminating};
use crate::resource::{Kind, ObjectKey, i64_at, owner_ref, str_at, uid_of};
use crate::store::Store;
use crate::time;
use flightdeck_core::domain::cron::Schedule;

const CRONJOB_CONTROLLER: Source<'static> = Source {
    component: "cronjob-controller",
    host: "",
};

/// The simulation's clock: wall-clock time stretched by the time scale from `origin`.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    pub origin: Timestamp,
    pub scale: f64,
}

impl SimClock {
    pub fn to_sim(self, real: Timestamp) -> Timestamp {
        let secs = real.duration_since(self.origin).as_secs_f64() / self.scale.max(1e-6);
        self.origin
            .checked_add(jiff::SignedDuration::from_secs_f64(secs))
            .unwrap_or(real)
    }

    pub fn to_real(self, sim: Timestamp) -> Timestamp {
        let secs = sim.duration_since(self.origin).as_secs_f64() * self.scale;
        self.origin
            .checked_add(jiff::SignedDuration::from_secs_f64(secs))
            .unwrap_or(sim)
    }
}

/// Syncs one CronJob; returns how long until its next scheduled run (`None`: none).
pub fn sync(
    store: &Store,
    events: &EventRecorder,
    key: &ObjectKey,
    clock: SimClock,
) -> Option<Duration> {
    let cj = store.get(Kind::CronJob, key)?;
    if is_terminating(&cj) {
        return None;
    }
    let regarding = Regarding {
        obj: &cj,
        kind: Kind::CronJob,
        field_path: None,
    };
    let mut jobs = store.owned_by(uid_of(&cj), Kind::Job);
    jobs.sort_by(|a, b| {
        str_at(a, "/metadata/creationTimestamp").cmp(str_at(b, "/metadata/creationTimestamp"))
    });
    let running: Vec<&Value> = jobs
        .iter()
        .map(|j| j.value())
        .filter(|j| finished(j).is_none() && !is_terminating(j))
        .collect();
    prune(store, &jobs, &cj);

    let schedule = match Schedule::parse(str_at(&cj, "/spec/schedule")) {
        Ok(s) => s,
        Err(e) => {
            events.record(regarding, true, "InvalidSchedule", &e, CRONJOB_CONTROLLER);
            return None;
        }
    };
    let now = Timestamp::now();
    let sim_now = clock.to_sim(now);
    // The last time it was scheduled, or its creation: runs missed before that are not made up.
    let since = time::parse(str_at(&cj, "/status/lastScheduleTime"))
        .or_else(|| time::parse(str_at(&cj, "/metadata/creationTimestamp")))
        .map_or(sim_now, |t| clock.to_sim(t));
    let suspended = cj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    let mut last_schedule = None;
    if !suspended && let Some(due) = latest_due(&schedule, since, sim_now) {
        let policy = str_at(&cj, "/spec/concurrencyPolicy");
        match (policy, running.is_empty()) {
            ("Forbid", false) => {
                events.record(
                    regarding,
                    false,
                    "JobAlreadyActive",
                    "Not starting job because prior execution is running and concurrency policy is Forbid",
                    CRONJOB_CONTROLLER,
                );
            }
            (p, _) => {
                if p == "Replace" {
                    for j in &running {
                        let _ = objects::delete(store, Kind::Job, &ObjectKey::of(j), None, None);
                        let msg = format!("Deleted job {}", str_at(j, "/metadata/name"));
                        events.record(
                            regarding,
                            false,
                            "SuccessfulDelete",
                            &msg,
                            CRONJOB_CONTROLLER,
                        );
                    }
                }
                if let Some(job) = create_job(store, &cj, due) {
                    let msg = format!("Created job {}", str_at(&job, "/metadata/name"));
                    events.record(
                        regarding,
                        false,
                        "SuccessfulCreate",
                        &msg,
                        CRONJOB_CONTROLLER,
                    );
                }
            }
        }
        last_schedule = Some(time::format_time(now));
    }
    let jobs = store.owned_by(uid_of(&cj), Kind::Job);
    let active: Vec<Value> = jobs
        .iter()
        .filter(|j| finished(j).is_none() && !is_terminating(j))
        .map(|j| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "name": str_at(j, "/metadata/name"),
                "namespace": str_at(j, "/metadata/namespace"), "uid": uid_of(j)})
        })
        .collect();
    let last_success = jobs
        .iter()
        .filter(|j| finished(j) == Some("Complete"))
        .map(|j| str_at(j, "/status/completionTime").to_string())
        .max();
    let _ = store.update(Kind::CronJob, key, |o| {
        let status = &mut o["status"];
        if !status.is_object() {
            *status = json!({});
        }
        if let Some(t) = &last_schedule {
            status["lastScheduleTime"] = json!(t);
        }
        if let Some(t) = &last_success {
            status["lastSuccessfulTime"] = json!(t);
        }
        match active.is_empty() {
            true => {
                if let Some(m) = status.as_object_mut() {
                    m.remove("active");
                }
            }
            false => status["active"] = json!(active),
        }
        Ok(())
    });
    if suspended {
        return None;
    }
    let next = schedule.next_after(sim_now)?;
    let wait = clock.to_real(next).duration_since(now);
    // A moment after the minute, so it is due when looked at.
    Some(Duration::try_from(wait).unwrap_or_default() + Duration::from_millis(20))
}

/// The latest scheduled minute in (`since`, `now`], if any.
fn latest_due(schedule: &Schedule, since: Timestamp, now: Timestamp) -> Option<Timestamp> {
    let mut due = None;
    let mut t = since;
    // Only the latest missed run is made (like startingDeadlineSeconds unset); the walk
    // is bounded so a long pause of the simulation does not spin.
    for _ in 0..10_000 {
        match schedule.next_after(t) {
            Some(n) if n <= now => {
                due = Some(n);
                t = n;
            }
            _ => break,
        }
    }
    due
}

/// Finished Jobs beyond the history limits go, oldest first.
fn prune(store: &Store, jobs: &[crate::store::Obj], cj: &Value) {
    for (kind, limit) in [
        ("Complete", i64_at(cj, "/spec/successfulJobsHistoryLimit")),
        ("Failed", i64_at(cj, "/spec/failedJobsHistoryLimit")),
    ] {
        let done: Vec<_> = jobs
            .iter()
            .filter(|j| finished(j) == Some(kind) && !is_terminating(j))
            .collect();
        let excess = done.len().saturating_sub(limit.max(0) as usize);
        for j in done.into_iter().take(excess) {
            let _ = objects::delete(store, Kind::Job, &ObjectKey::of(j), None, None);
        }
    }
}

fn create_job(store: &Store, cj: &Value, due: Timestamp) -> Option<crate::store::Obj> {
    let template = cj.pointer("/spec/jobTemplate")?;
    let mut meta = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let name = str_at(cj, "/metadata/name");
    meta["name"] = json!(format!("{name}-{}", due.as_second() / 60));
    meta["namespace"] = cj["metadata"]["namespace"].clone();
    meta["ownerReferences"] = json!([owner_ref(cj, Kind::CronJob)]);
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    meta["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
        json!(time::format_time(due));
    let job = json!({
        "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    objects::create(store, Kind::Job, job).ok()
}
