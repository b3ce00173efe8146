//! The Deployment controller: one ReplicaSet per pod template (label
//! `pod-template-hash`) and rolling updates within maxSurge/maxUnavailable. What it
//! reports back is written by `status.rs`.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::status;
use crate::events::{DEPLOYMENT_CONTROLLER, EventRecorder, Regarding};
use crate::objects::{self, is_terminating};
use crate::resource::{Kind, ObjectKey, i64_at, owner_ref, str_at, uid_of};
use crate::store::{Obj, Store, Stored};

const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH_LABEL: &str = "pod-template-hash";

/// Syncs one Deployment; returns when to look again if its rollout could miss its
/// progress deadline meanwhile.
pub fn sync(
    store: &Store,
    events: &EventRecorder,
    key: &ObjectKey,
    time_scale: f64,
) -> Option<Duration> {
    let d = store.get(Kind::Deployment, key)?;
    if is_terminating(&d) {
        return None;
    }
    let hash = template_hash(d.pointer("/spec/template").unwrap_or(&Value::Null));
    let mut all = store.owned_by(uid_of(&d), Kind::ReplicaSet);
    all.sort_by_key(|rs| revision(rs));
    let replicas = i64_at(&d, "/spec/replicas").max(0);
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    let (surge, unavailable) = limits(&d, replicas);
    let max_revision = all.iter().map(|rs| revision(rs)).max().unwrap_or(0);

    let mut created = false;
    let template = d.pointer("/spec/template").cloned().unwrap_or(Value::Null);
    let new_rs = match all.iter().find(|rs| same_template(rs, &template)) {
        Some(rs) => {
            // A rollback to an older template makes its ReplicaSet the newest revision.
            if revision(rs) < max_revision {
                set_revision(store, rs, max_revision + 1);
            }
            Some(rs.clone())
        }
        None if paused => None,
        None => {
            let old_total: i64 = all.iter().map(|rs| spec_replicas(rs)).sum();
            let initial = if all.is_empty() {
                replicas
            } else if d.pointer("/spec/strategy/type") == Some(&json!("Recreate")) {
                0
            } else {
                (replicas + surge - old_total).clamp(0, replicas)
            };
            let rs = create_rs(store, &d, &hash, max_revision + 1, initial);
            if let Some(rs) = &rs {
                created = true;
                if initial > 0 {
                    scaled(events, &d, rs, 0, initial);
                }
            }
            rs
        }
    };
    let olds: Vec<Obj> = all
        .iter()
        .filter(|rs| Some(uid_of(rs)) != new_rs.as_ref().map(|n| uid_of(n)))
        .cloned()
        .collect();

    if let (Some(new_rs), false, false) = (&new_rs, paused, created) {
        if d.pointer("/spec/strategy/type") == Some(&json!("Recreate")) {
            recreate(store, events, &d, new_rs, &olds, replicas);
        } else {
            rolling(
                store,
                events,
                &d,
                new_rs,
                &olds,
                replicas,
                surge,
                unavailable,
            );
        }
    }
    let new_rs = new_rs.and_then(|rs| store.get(Kind::ReplicaSet, &ObjectKey::of(&rs)));
    let rollout = status::Rollout {
        new_rs: new_rs.as_deref().map(Stored::value),
        replicas,
        max_unavailable: unavailable,
        created,
        paused,
        deadline: progress_deadline(&d, time_scale),
    };
    status::write(store, &d, &rollout)
}

/// `progressDeadlineSeconds`, on the simulation's clock.
fn progress_deadline(d: &Value, time_scale: f64) -> Duration {
    let secs = d
        .pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(600)
        .max(1);
    Duration::from_secs_f64(secs as f64 * time_scale)
}

fn recreate(
    store: &Store,
    events: &EventRecorder,
    d: &Value,
    new_rs: &Value,
    olds: &[Obj],
    replicas: i64,
) {
    let mut old_pods = 0;
    for rs in olds {
        if spec_replicas(rs) > 0 {
            scale(store, events, d, rs, 0);
        }
        old_pods += store.owned_by(uid_of(rs), Kind::Pod).len();
    }
    if old_pods == 0 && spec_replicas(new_rs) != replicas {
        scale(store, events, d, new_rs, replicas);
    }
}

#[allow(clippy::too_many_arguments)]
fn rolling(
    store: &Store,
    events: &EventRecorder,
    d: &Value,
    new_rs: &Value,
    olds: &[Obj],
    replicas: i64,
    surge: i64,
    unavailable: i64,
) {
    let active_olds: Vec<&Obj> = olds.iter().filter(|rs| spec_replicas(rs) > 0).collect();
    let new_spec = spec_replicas(new_rs);
    if active_olds.is_empty() {
        if new_spec != replicas {
            scale(store, events, d, new_rs, replicas);
        }
        return;
    }
    // Scale up the new ReplicaSet as far as the surge allows; the next sync scales down.
    let total: i64 = new_spec + active_olds.iter().map(|rs| spec_replicas(rs)).sum::<i64>();
    let max_total = replicas + surge;
    if new_spec < replicas && total < max_total {
        let target = (new_spec + max_total - total).min(replicas);
        scale(store, events, d, new_rs, target);
        return;
    }
    if new_spec > replicas {
        scale(store, events, d, new_rs, replicas);
        return;
    }
    // Scale down old ReplicaSets as far as availability allows: first pods that are not
    // available anyway, then available ones down to the minimum.
    let min_available = replicas - unavailable;
    let new_unavailable = (new_spec - i64_at(new_rs, "/status/availableReplicas")).max(0);
    let mut budget = total - min_available - new_unavailable;
    let mut shrink: Vec<(Obj, i64)> = active_olds
        .iter()
        .map(|rs| ((*rs).clone(), spec_replicas(rs)))
        .collect();
    for (rs, target) in shrink.iter_mut() {
        let unhealthy = (*target - i64_at(rs, "/status/availableReplicas")).max(0);
        let cut = unhealthy.min(budget.max(0));
        *target -= cut;
        budget -= cut;
    }
    let all_available: i64 = i64_at(new_rs, "/status/availableReplicas")
        + shrink
            .iter()
            .map(|(rs, target)| i64_at(rs, "/status/availableReplicas").min(*target))
            .sum::<i64>();
    let mut can = (all_available - min_available).max(0);
    for (_, target) in shrink.iter_mut() {
        let cut = (*target).min(can);
        *target -= cut;
        can -= cut;
    }
    for (rs, target) in shrink {
        if target != spec_replicas(&rs) {
            scale(store, events, d, &rs, target);
        }
    }
}

fn scale(store: &Store, events: &EventRecorder, d: &Value, rs: &Value, to: i64) {
    let from = spec_replicas(rs);
    let replicas = i64_at(d, "/spec/replicas");
    let updated = store.update(Kind::ReplicaSet, &ObjectKey::of(rs), |o| {
        o["spec"]["replicas"] = json!(to);
        o["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
            json!(replicas.to_string());
        Ok(())
    });
    if updated.is_ok() && from != to {
        scaled(events, d, rs, from, to);
    }
}

fn scaled(events: &EventRecorder, d: &Value, rs: &Value, from: i64, to: i64) {
    let dir = if to > from { "up" } else { "down" };
    let msg = format!(
        "Scaled {dir} replica set {} from {from} to {to}",
        str_at(rs, "/metadata/name")
    );
    events.record(
        Regarding {
            obj: d,
            kind: Kind::Deployment,
            field_path: None,
        },
        false,
        "ScalingReplicaSet",
        &msg,
        DEPLOYMENT_CONTROLLER,
    );
}

fn create_rs(store: &Store, d: &Value, hash: &str, revision: i64, replicas: i64) -> Option<Obj> {
    let mut template = d
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = d
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut labels = template["metadata"]["labels"].clone();
    labels[HASH_LABEL] = json!(hash);
    let d_replicas = i64_at(d, "/spec/replicas");
    let surge = limits(d, d_replicas).0;
    let rs = json!({
        "metadata": {
            "name": format!("{}-{hash}", str_at(d, "/metadata/name")),
            "namespace": d["metadata"]["namespace"],
            "labels": labels,
            "annotations": {
                REVISION: revision.to_string(),
                "deployment.kubernetes.io/desired-replicas": d_replicas.to_string(),
                "deployment.kubernetes.io/max-replicas": (d_replicas + surge).to_string(),
            },
            "ownerReferences": [owner_ref(d, Kind::Deployment)],
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template},
    });
    let rs = objects::create(store, Kind::ReplicaSet, rs).ok()?;
    // The deployment carries the revision of its newest ReplicaSet.
    let _ = store.update(Kind::Deployment, &ObjectKey::of(d), |o| {
        o["metadata"]["annotations"][REVISION] = json!(revision.to_string());
        Ok(())
    });
    Some(rs)
}

fn set_revision(store: &Store, rs: &Value, revision: i64) {
    let _ = store.update(Kind::ReplicaSet, &ObjectKey::of(rs), |o| {
        o["metadata"]["annotations"][REVISION] = json!(revision.to_string());
        Ok(())
    });
}

/// The ReplicaSet runs this template (its own copy carries the hash label on top).
fn same_template(rs: &Value, template: &Value) -> bool {
    let Some(mut t) = rs.pointer("/spec/template").cloned() else {
        return false;
    };
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    let mut want = template.clone();
    if want.pointer("/metadata/labels").is_none() {
        want["metadata"]["labels"] = json!({});
    }
    t == want
}

fn spec_replicas(rs: &Value) -> i64 {
    i64_at(rs, "/spec/replicas")
}

fn revision(rs: &Value) -> i64 {
    str_at(
        rs,
        &format!("/metadata/annotations/{}", REVISION.replace('/', "~1")),
    )
    .parse()
    .unwrap_or(0)
}

/// maxSurge (rounded up) and maxUnavailable (rounded down); both zero would stall, so
/// maxUnavailable becomes 1 then, as in Kubernetes.
fn limits(d: &Value, replicas: i64) -> (i64, i64) {
    let ru = d.pointer("/spec/strategy/rollingUpdate");
    let get = |k: &str, up: bool| -> i64 {
        match ru.and_then(|r| r.get(k)) {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(Value::String(s)) => {
                let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(25.0);
                let v = replicas as f64 * pct / 100.0;
                if up {
                    v.ceil() as i64
                } else {
                    v.floor() as i64
                }
            }
            _ => {
                let v = replicas as f64 * 0.25;
                if up {
                    v.ceil() as i64
                } else {
                    v.floor() as i64
                }
            }
        }
    };
    let (surge, unavailable) = (get("maxSurge", true), get("maxUnavailable", false));
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// A stable short hash of the pod template, spelled with the alphabet Kubernetes uses
/// for `pod-template-hash` (no vowels, no confusable digits).
pub fn template_hash(template: &Value) -> String {
    let mut canon = String::new();
    canonical(template, &mut canon);
    let digest = Sha256::digest(canon.as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    n.to_string()
        .bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// JSON with object keys sorted, so the hash does not depend on key order.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&json!(k).to_string());
                out.push(':');
                canonical(&m[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical(x, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_key_order_and_uses_the_safe_alphabet() {
        let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}});
        let b = json!({"spec": {"x": 1}, "metadata": {"labels": {"b": "2", "a": "1"}}});
        assert_eq!(template_hash(&a), template_hash(&b));
        assert!(
            template_hash(&a)
                .chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
        );
        assert_ne!(template_hash(&a), template_hash(&json!({"spec": {"x": 2}})));
    }

    #[test]
    fn surge_rounds_up_and_unavailable_down() {
        let d = json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
        assert_eq!(limits(&d, 3), (1, 0));
        assert_eq!(limits(&d, 10), (3, 2));
        let z =
            json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}}});
        assert_eq!(limits(&z, 3), (0, 1));
    }
}
