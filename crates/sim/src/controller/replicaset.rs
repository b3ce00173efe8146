//! The ReplicaSet controller: keeps `spec.replicas` pods alive and reports their state.

use serde_json::{Value, json};

use crate::events::{EventRecorder, REPLICASET_CONTROLLER, Regarding};
use crate::objects::{self, is_terminating};
use crate::resource::{Kind, ObjectKey, i64_at, owner_ref, str_at, uid_of};
use crate::store::{Obj, Store};

pub fn sync(store: &Store, events: &EventRecorder, key: &ObjectKey) {
    let Some(rs) = store.get(Kind::ReplicaSet, key) else {
        return;
    };
    if is_terminating(&rs) {
        return;
    }
    let mut pods: Vec<Obj> = store
        .owned_by(uid_of(&rs), Kind::Pod)
        .into_iter()
        .filter(|p| {
            !is_terminating(p) && !matches!(str_at(p, "/status/phase"), "Failed" | "Succeeded")
        })
        .collect();
    let want = i64_at(&rs, "/spec/replicas").max(0) as usize;
    if pods.len() < want {
        for _ in pods.len()..want {
            match create_pod(store, &rs) {
                Some(pod) => {
                    let msg = format!("Created pod: {}", str_at(&pod, "/metadata/name"));
                    events.record(
                        Regarding {
                            obj: &rs,
                            kind: Kind::ReplicaSet,
                            field_path: None,
                        },
                        false,
                        "SuccessfulCreate",
                        &msg,
                        REPLICASET_CONTROLLER,
                    );
                    pods.push(pod);
                }
                None => break,
            }
        }
    } else if pods.len() > want {
        pods.sort_by_key(|p| deletion_rank(p));
        let excess = pods.len() - want;
        for pod in pods.drain(..excess) {
            if objects::delete(store, Kind::Pod, &ObjectKey::of(&pod), None, None).is_ok() {
                let msg = format!("Deleted pod: {}", str_at(&pod, "/metadata/name"));
                events.record(
                    Regarding {
                        obj: &rs,
                        kind: Kind::ReplicaSet,
                        field_path: None,
                    },
                    false,
                    "SuccessfulDelete",
                    &msg,
                    REPLICASET_CONTROLLER,
                );
            }
        }
    }
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let generation = rs["metadata"]["generation"].clone();
    // The object may have been deleted meanwhile; then there is no status to write.
    let _ = store.update(Kind::ReplicaSet, key, |o| {
        o["status"] = json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": generation,
        });
        Ok(())
    });
}

/// Which pods a scale-down removes first, in Kubernetes' order (`ActivePodsWithRanks`):
/// unscheduled, then pending, then not ready, then the lowest `pod-deletion-cost`, then
/// the youngest. Readiness ranks above the cost, as in Kubernetes: a cost never keeps a
/// pod that cannot serve over one that can.
fn deletion_rank(pod: &Value) -> impl Ord + use<> {
    (
        !str_at(pod, "/spec/nodeName").is_empty(),
        str_at(pod, "/status/phase") == "Running",
        is_ready(pod),
        deletion_cost(pod),
        std::cmp::Reverse(str_at(pod, "/metadata/creationTimestamp").to_string()),
    )
}

/// The pod's `controller.kubernetes.io/pod-deletion-cost`: an int32, 0 when absent or
/// unreadable (as the ReplicaSet controller reads it).
fn deletion_cost(pod: &Value) -> i32 {
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(flightdeck_core::domain::registration::DELETION_COST))
        .and_then(Value::as_str)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn create_pod(store: &Store, rs: &Value) -> Option<Obj> {
    let template = rs.pointer("/spec/template")?;
    let mut meta = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let base = str_at(rs, "/metadata/name");
    meta["namespace"] = rs["metadata"]["namespace"].clone();
    meta["generateName"] = json!(format!("{base}-"));
    meta["ownerReferences"] = json!([owner_ref(rs, Kind::ReplicaSet)]);
    let pod = json!({
        "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    objects::create(store, Kind::Pod, pod).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, created: &str, cost: Option<&str>, ready: bool) -> Value {
        let mut p = json!({"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": "n"},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
        if let Some(c) = cost {
            p["metadata"]["annotations"] = json!({DELETION: c});
        }
        p
    }

    const DELETION: &str = flightdeck_core::domain::registration::DELETION_COST;

    #[test]
    fn the_cheapest_ready_pod_goes_first_and_unready_before_any() {
        let mut pods = vec![
            pod("old-default", "2024-01-01T00:00:00Z", None, true),
            pod("new-default", "2024-01-02T00:00:00Z", Some("junk"), true),
            pod("marked", "2024-01-01T00:00:00Z", Some("-100"), true),
            pod("costly", "2024-01-03T00:00:00Z", Some("50"), true),
            pod("unready", "2024-01-01T00:00:00Z", Some("1000"), false),
        ];
        pods.sort_by_key(deletion_rank);
        let names: Vec<&str> = pods.iter().map(|p| str_at(p, "/metadata/name")).collect();
        assert_eq!(
            names,
            ["unready", "marked", "new-default", "old-default", "costly"]
        );
    }
}
