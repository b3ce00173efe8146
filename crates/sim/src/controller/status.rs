//! A Deployment's status and conditions, as `kubectl rollout status` and flightdeck read
//! them, including the progress deadline: a rollout that makes no progress for
//! `progressDeadlineSeconds` gets `Progressing=False, ProgressDeadlineExceeded`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::resource::{Kind, ObjectKey, i64_at, str_at, uid_of};
use crate::store::Store;
use crate::time;

pub struct Rollout<'a> {
    pub new_rs: Option<&'a Value>,
    pub replicas: i64,
    pub max_unavailable: i64,
    /// The new ReplicaSet was created by this sync.
    pub created: bool,
    pub paused: bool,
    pub deadline: Duration,
}

/// Writes the status; returns when the deadline would pass for a rollout still running.
pub fn write(store: &Store, d: &Value, r: &Rollout<'_>) -> Option<Duration> {
    let all = store.owned_by(uid_of(d), Kind::ReplicaSet);
    let sum = |p: &str| all.iter().map(|rs| i64_at(rs, p)).sum::<i64>();
    let (total, ready, available) = (
        sum("/status/replicas"),
        sum("/status/readyReplicas"),
        sum("/status/availableReplicas"),
    );
    let updated = r.new_rs.map_or(0, |rs| i64_at(rs, "/status/replicas"));
    let new_name = r
        .new_rs
        .map(|rs| str_at(rs, "/metadata/name"))
        .unwrap_or("");
    let new_available = r
        .new_rs
        .map_or(0, |rs| i64_at(rs, "/status/availableReplicas"));
    let complete = r.new_rs.is_some()
        && updated == r.replicas
        && total == r.replicas
        && new_available >= r.replicas;
    let counts = [total, updated, ready, available];
    let before = [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ]
    .map(|f| i64_at(d, &format!("/status/{f}")));
    let progressed = r.created || counts != before;

    let previous = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"))
        .cloned();
    let since_progress = previous
        .as_ref()
        .and_then(|c| time::seconds_since(str_at(c, "/lastUpdateTime")))
        .map(|s| Duration::from_secs(s.max(0) as u64))
        .unwrap_or_default();
    let exceeded = !complete && !progressed && !r.paused && since_progress >= r.deadline;

    let progressing = if complete {
        Condition::yes(
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{new_name}\" has successfully progressed."),
        )
    } else if r.paused {
        Condition::unknown("DeploymentPaused", "Deployment is paused".into())
    } else if exceeded {
        Condition::no(
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{new_name}\" has timed out progressing."),
        )
    } else if r.created {
        Condition::yes(
            "NewReplicaSetCreated",
            format!("Created new replica set \"{new_name}\""),
        )
    } else {
        Condition::yes(
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{new_name}\" is progressing."),
        )
    };
    let available_cond = if available >= r.replicas - r.max_unavailable {
        Condition::yes(
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
        )
    } else {
        Condition::no(
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
        )
    };
    let generation = d["metadata"]["generation"].clone();
    let replicas = r.replicas;
    let _ = store.update(Kind::Deployment, &ObjectKey::of(d), |o| {
        let mut conds = o
            .pointer("/status/conditions")
            .cloned()
            .unwrap_or_else(|| json!([]));
        set_condition(&mut conds, "Available", &available_cond, false);
        // Progress moves the clock of the deadline even when the reason stays the same.
        set_condition(
            &mut conds,
            "Progressing",
            &progressing,
            progressed && !complete,
        );
        let mut status = json!({
            "observedGeneration": generation,
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": conds,
        });
        if replicas - available > 0 {
            status["unavailableReplicas"] = json!(replicas - available);
        }
        o["status"] = status;
        Ok(())
    });
    let running = !complete && !exceeded && !r.paused;
    running.then(|| {
        let waited = if progressed {
            Duration::ZERO
        } else {
            since_progress
        };
        // A second more, as timestamps have whole seconds.
        r.deadline.saturating_sub(waited) + Duration::from_secs(1)
    })
}

struct Condition {
    status: &'static str,
    reason: &'static str,
    message: String,
}

impl Condition {
    fn yes(reason: &'static str, message: String) -> Self {
        Condition {
            status: "True",
            reason,
            message,
        }
    }
    fn no(reason: &'static str, message: String) -> Self {
        Condition {
            status: "False",
            reason,
            message,
        }
    }
    fn unknown(reason: &'static str, message: String) -> Self {
        Condition {
            status: "Unknown",
            reason,
            message,
        }
    }
}

/// Sets a condition; timestamps move only when something about it changes (or `touch`),
/// otherwise every sync would write and wake every watcher.
fn set_condition(conds: &mut Value, ty: &str, want: &Condition, touch: bool) {
    let Some(list) = conds.as_array_mut() else {
        return;
    };
    let now = time::now();
    match list.iter_mut().find(|c| c["type"] == ty) {
        Some(c)
            if c["status"] == want.status
                && c["reason"] == want.reason
                && c["message"] == want.message.as_str() =>
        {
            if touch {
                c["lastUpdateTime"] = json!(now);
            }
        }
        Some(c) => {
            if c["status"] != want.status {
                c["lastTransitionTime"] = json!(now);
            }
            c["status"] = json!(want.status);
            c["reason"] = json!(want.reason);
            c["message"] = json!(want.message);
            c["lastUpdateTime"] = json!(now);
        }
        None => list.push(
            json!({"type": ty, "status": want.status, "reason": want.reason,
            "message": want.message, "lastUpdateTime": now, "lastTransitionTime": now}),
        ),
    }
}
