//! Pieces of a pod's status as the kubelet writes them: conditions, container states,
//! back-off and the messages a real node prints.

use serde_json::{Value, json};

use crate::resource::str_at;
use crate::scenario::Timings;
use crate::time;

/// Restart back-off in (unscaled) seconds: base, doubling, capped.
pub fn backoff(t: &Timings, n: i64) -> f64 {
    let exp = (n - 1).clamp(0, 20) as i32;
    (t.backoff_base * 2f64.powi(exp)).min(t.backoff_max)
}

/// Go's `time.Duration` printing for whole seconds ("10s", "1m20s", "5m0s").
pub fn go_duration(secs: f64) -> String {
    let s = secs.round() as i64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

pub fn pull_error(image: &str) -> String {
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": not found"
    )
}

pub fn crc(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

pub fn for_containers(pod: &mut Value, mut f: impl FnMut(&mut Value, &str)) {
    if let Some(list) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for cs in list {
            let image = str_at(cs, "/image").to_string();
            f(cs, &image);
        }
    }
}

/// Sets a pod condition; the transition time moves only when the status changes.
pub fn set_condition(pod: &mut Value, ty: &str, ok: bool) {
    let why = (!ok && matches!(ty, "Ready" | "ContainersReady")).then(|| {
        let names: Vec<&str> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().map(|c| str_at(c, "/name")).collect())
            .unwrap_or_default();
        (
            "ContainersNotReady",
            format!("containers with unready status: [{}]", names.join(" ")),
        )
    });
    put_condition(pod, ty, ok, why);
}

/// Sets `Ready` from `ContainersReady` and the pod's readiness gates: ready only when the
/// containers are and every gate's condition (which clients own) is `True`.
pub fn set_ready(pod: &mut Value) {
    if !condition_is_true(pod, "ContainersReady") {
        set_condition(pod, "Ready", false);
        return;
    }
    match unmet_gate(pod) {
        None => put_condition(pod, "Ready", true, None),
        Some(message) => put_condition(
            pod,
            "Ready",
            false,
            Some(("ReadinessGatesNotReady", message)),
        ),
    }
}

/// `Ready` as [`set_ready`] would leave it: whether it needs writing.
pub fn ready_is_current(pod: &Value) -> bool {
    let want = condition_is_true(pod, "ContainersReady") && unmet_gate(pod).is_none();
    condition_is_true(pod, "Ready") == want
}

pub fn has_readiness_gates(pod: &Value) -> bool {
    pod.pointer("/spec/readinessGates")
        .and_then(Value::as_array)
        .is_some_and(|g| !g.is_empty())
}

pub fn condition_is_true(pod: &Value, ty: &str) -> bool {
    condition(pod, ty).is_some_and(|c| c["status"] == "True")
}

fn condition<'a>(pod: &'a Value, ty: &str) -> Option<&'a Value> {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == ty)
}

/// The first readiness gate whose condition is not `True`, said as the kubelet says it.
fn unmet_gate(pod: &Value) -> Option<String> {
    let gates = pod
        .pointer("/spec/readinessGates")
        .and_then(Value::as_array)?;
    gates.iter().find_map(|g| {
        let ty = str_at(g, "/conditionType");
        match condition(pod, ty) {
            None => Some(format!(
                "corresponding condition of pod readiness gate \"{ty}\" does not exist."
            )),
            Some(c) if c["status"] != "True" => Some(format!(
                "the status of pod readiness gate \"{ty}\" is not \"True\", but {}",
                str_at(c, "/status")
            )),
            Some(_) => None,
        }
    })
}

/// Writes one condition; the transition time moves only when the status changes, and a
/// condition already saying the same is left alone (no write, no watch event).
fn put_condition(pod: &mut Value, ty: &str, ok: bool, why: Option<(&str, String)>) {
    let status = if ok { "True" } else { "False" };
    let mut fresh = json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": time::now()});
    if let Some((reason, message)) = &why {
        fresh["reason"] = json!(reason);
        fresh["message"] = json!(message);
    }
    if !pod["status"].get("conditions").is_some_and(Value::is_array) {
        pod["status"]["conditions"] = json!([]);
    }
    let Some(conds) = pod["status"]["conditions"].as_array_mut() else {
        return;
    };
    match conds.iter_mut().find(|c| c["type"] == ty) {
        Some(c) if c["status"] == status => {
            let reason = why.as_ref().map(|(r, _)| *r);
            if c.get("reason").and_then(Value::as_str) != reason {
                fresh["lastTransitionTime"] = c["lastTransitionTime"].clone();
                *c = fresh;
            } else if let Some((_, message)) = why {
                c["message"] = json!(message);
            }
        }
        Some(c) => *c = fresh,
        None => conds.push(fresh),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let t = Timings::default();
        assert_eq!(backoff(&t, 1), 10.0);
        assert_eq!(backoff(&t, 3), 40.0);
        assert_eq!(backoff(&t, 10), 300.0);
        assert_eq!(go_duration(80.0), "1m20s");
    }

    #[test]
    fn conditions_keep_their_transition_time() {
        let mut p = json!({"spec": {"containers": [{"name": "app"}]}, "status": {}});
        set_condition(&mut p, "Ready", false);
        let before = p["status"]["conditions"][0].clone();
        set_condition(&mut p, "Ready", false);
        assert_eq!(p["status"]["conditions"][0], before);
        set_condition(&mut p, "Ready", true);
        assert_eq!(p["status"]["conditions"][0]["status"], "True");
        assert!(p["status"]["conditions"][0].get("reason").is_none());
        set_condition(&mut p, "ContainersReady", false);
        assert_eq!(
            p["status"]["conditions"][1]["message"],
            "containers with unready status: [app]"
        );
    }

    #[test]
    fn a_gated_pod_is_ready_only_when_its_gates_are_true() {
        let mut p = json!({"spec": {"containers": [{"name": "app"}],
            "readinessGates": [{"conditionType": "example.com/lb"}]}, "status": {}});
        set_condition(&mut p, "ContainersReady", true);
        set_ready(&mut p);
        assert!(!condition_is_true(&p, "Ready"));
        assert_eq!(
            condition(&p, "Ready").unwrap()["reason"],
            "ReadinessGatesNotReady"
        );
        assert!(ready_is_current(&p));
        p["status"]["conditions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "example.com/lb", "status": "True"}));
        assert!(!ready_is_current(&p));
        set_ready(&mut p);
        assert!(condition_is_true(&p, "Ready"));
        assert!(condition(&p, "Ready").unwrap().get("reason").is_none());
        // The client's condition is left as it was.
        assert_eq!(
            condition(&p, "example.com/lb").unwrap(),
            &json!({"type": "example.com/lb", "status": "True"})
        );
    }
}
