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
    let status = if ok { "True" } else { "False" };
    let mut fresh = json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": time::now()});
    if !ok && matches!(ty, "Ready" | "ContainersReady") {
        let names: Vec<&str> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().map(|c| str_at(c, "/name")).collect())
            .unwrap_or_default();
        fresh["reason"] = json!("ContainersNotReady");
        fresh["message"] = json!(format!(
            "containers with unready status: [{}]",
            names.join(" ")
        ));
    }
    if !pod["status"].get("conditions").is_some_and(Value::is_array) {
        pod["status"]["conditions"] = json!([]);
    }
    let Some(conds) = pod["status"]["conditions"].as_array_mut() else {
        return;
    };
    match conds.iter_mut().find(|c| c["type"] == ty) {
        Some(c) if c["status"] == status => {}
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
}
