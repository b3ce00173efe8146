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
        // Least useful first: unscheduled, then not ready, then the youngest.
        pods.sort_by_key(|p| {
            (
                !str_at(p, "/spec/nodeName").is_empty(),
                is_ready(p),
                std::cmp::Reverse(str_at(p, "/metadata/creationTimestamp").to_string()),
            )
        });
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
