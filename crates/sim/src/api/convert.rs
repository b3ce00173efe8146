//! Conversions between stored objects and other shapes the API serves: events.k8s.io/v1
//! Events (stored as core/v1 Events) and autoscaling/v1 Scale.

use serde_json::{Map, Value, json};

use crate::resource::str_at;

/// core/v1 Event → events.k8s.io/v1 Event.
pub fn core_event_to_v1(e: &Value) -> Value {
    let first = e.get("firstTimestamp").filter(|v| !v.is_null());
    let event_time = e
        .get("eventTime")
        .filter(|v| !v.is_null())
        .or(first)
        .cloned()
        .unwrap_or_else(|| e["metadata"]["creationTimestamp"].clone());
    let count = e.get("count").and_then(Value::as_i64).unwrap_or(1);
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("events.k8s.io/v1"));
    out.insert("kind".into(), json!("Event"));
    let mut put = |k: &str, v: Option<&Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            out.insert(k.into(), v.clone());
        }
    };
    put("metadata", e.get("metadata"));
    put("eventTime", Some(&event_time));
    put("reason", e.get("reason"));
    put("note", e.get("message"));
    put("type", e.get("type"));
    put("regarding", e.get("involvedObject"));
    put("related", e.get("related"));
    put("action", e.get("action").or(e.get("reason")));
    put(
        "reportingController",
        e.get("reportingComponent")
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .or(e.pointer("/source/component")),
    );
    put(
        "reportingInstance",
        e.get("reportingInstance")
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .or(e.pointer("/source/host")),
    );
    put("deprecatedSource", e.get("source"));
    put("deprecatedFirstTimestamp", first);
    put("deprecatedLastTimestamp", e.get("lastTimestamp"));
    put("deprecatedCount", e.get("count"));
    if count > 1 {
        out.insert(
            "series".into(),
            json!({"count": count, "lastObservedTime": e.get("lastTimestamp").cloned().unwrap_or(event_time)}),
        );
    }
    Value::Object(out)
}

/// events.k8s.io/v1 Event → core/v1 Event (what the store keeps).
pub fn v1_event_to_core(e: Value) -> Value {
    let mut out = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": e.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "involvedObject": e.get("regarding").cloned().unwrap_or_else(|| json!({})),
        "reason": e.get("reason").cloned().unwrap_or(Value::Null),
        "message": e.get("note").cloned().unwrap_or(Value::Null),
        "type": e.get("type").cloned().unwrap_or_else(|| json!("Normal")),
        "eventTime": e.get("eventTime").cloned().unwrap_or(Value::Null),
        "reportingComponent": e.get("reportingController").cloned().unwrap_or_else(|| json!("")),
        "reportingInstance": e.get("reportingInstance").cloned().unwrap_or_else(|| json!("")),
        "action": e.get("action").cloned().unwrap_or(Value::Null),
    });
    let count = e
        .pointer("/series/count")
        .or(e.get("deprecatedCount"))
        .cloned()
        .unwrap_or(json!(1));
    out["count"] = count;
    let first = e
        .get("deprecatedFirstTimestamp")
        .or(e.get("eventTime"))
        .cloned()
        .unwrap_or(Value::Null);
    out["firstTimestamp"] = first.clone();
    out["lastTimestamp"] = e
        .pointer("/series/lastObservedTime")
        .or(e.get("deprecatedLastTimestamp"))
        .cloned()
        .unwrap_or(first);
    if let Some(src) = e.get("deprecatedSource") {
        out["source"] = src.clone();
    } else {
        out["source"] = json!({"component": str_at(&e, "/reportingController")});
    }
    out
}

/// The autoscaling/v1 Scale of a Deployment or ReplicaSet.
pub fn scale_of(obj: &Value) -> Value {
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "uid": obj["metadata"]["uid"],
            "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_events_v1() {
        let core = json!({
            "metadata": {"name": "p.1", "namespace": "d"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "d"},
            "reason": "BackOff", "message": "Back-off restarting failed container",
            "type": "Warning", "count": 5,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:02:00Z",
            "source": {"component": "kubelet", "host": "sim-node-1"},
        });
        let v1 = core_event_to_v1(&core);
        assert_eq!(v1["regarding"]["name"], "p");
        assert_eq!(v1["note"], "Back-off restarting failed container");
        assert_eq!(v1["reportingController"], "kubelet");
        assert_eq!(v1["series"]["count"], 5);
        assert_eq!(v1["eventTime"], "2026-01-01T00:00:00Z");
        let back = v1_event_to_core(v1);
        for k in [
            "involvedObject",
            "reason",
            "message",
            "type",
            "count",
            "firstTimestamp",
            "lastTimestamp",
        ] {
            assert_eq!(back[k], core[k], "{k}");
        }
    }
}
