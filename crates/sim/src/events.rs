//! The event recorder of the built-in components: a repeat of the same event bumps
//! `count` and `lastTimestamp` of the existing Event, as the real recorder does, which is
//! how kubectl shows "(x5 over 2m)".

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::resource::{Kind, ObjectKey, str_at, uid_of};
use super::store::Store;
use super::{objects, time};

/// Who reports an event: `default-scheduler`, `kubelet` on a node, a controller.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub component: &'a str,
    pub host: &'a str,
}

pub const SCHEDULER: Source<'static> = Source {
    component: "default-scheduler",
    host: "",
};
pub const DEPLOYMENT_CONTROLLER: Source<'static> = Source {
    component: "deployment-controller",
    host: "",
};
pub const REPLICASET_CONTROLLER: Source<'static> = Source {
    component: "replicaset-controller",
    host: "",
};

/// The object an event is about; `field_path` names a container
/// (`spec.containers{app}`).
#[derive(Debug, Clone, Copy)]
pub struct Regarding<'a> {
    pub obj: &'a Value,
    pub kind: Kind,
    pub field_path: Option<&'a str>,
}

pub struct EventRecorder {
    store: Arc<Store>,
    seq: AtomicU64,
    /// (object uid, type, reason, message) → the Event that already says it.
    seen: Mutex<HashMap<(String, String, String, String), ObjectKey>>,
}

/// Bounds the dedup map; forgetting only means a repeat makes a new Event.
const SEEN_LIMIT: usize = 200_000;

impl EventRecorder {
    pub fn new(store: Arc<Store>) -> Self {
        EventRecorder {
            store,
            seq: AtomicU64::new(0),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Record an event about an object.
    pub fn record(
        &self,
        about: Regarding<'_>,
        warning: bool,
        reason: &str,
        message: &str,
        source: Source<'_>,
    ) {
        let Regarding {
            obj,
            kind,
            field_path,
        } = about;
        let ty = if warning { "Warning" } else { "Normal" };
        let dedup = (
            uid_of(obj).to_string(),
            ty.to_string(),
            reason.to_string(),
            message.to_string(),
        );
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = seen.get(&dedup) {
            let bumped = self.store.update(Kind::Event, key, |e| {
                let count = e.get("count").and_then(Value::as_i64).unwrap_or(1);
                e["count"] = json!(count + 1);
                e["lastTimestamp"] = json!(time::now());
                Ok(())
            });
            if bumped.is_ok() {
                return;
            }
        }
        if seen.len() > SEEN_LIMIT {
            seen.clear();
        }
        let ns = match str_at(obj, "/metadata/namespace") {
            "" => "default",
            ns => ns,
        };
        let name = format!(
            "{}.{:x}{:04x}",
            str_at(obj, "/metadata/name"),
            jiff::Timestamp::now().as_nanosecond() as u64,
            self.seq.fetch_add(1, Ordering::Relaxed) & 0xffff
        );
        let mut involved = json!({
            "kind": kind.name(),
            "namespace": str_at(obj, "/metadata/namespace"),
            "name": str_at(obj, "/metadata/name"),
            "uid": uid_of(obj),
            "apiVersion": kind.api_version(),
            "resourceVersion": str_at(obj, "/metadata/resourceVersion"),
        });
        if let Some(fp) = field_path {
            involved["fieldPath"] = json!(fp);
        }
        let now = time::now();
        let mut source_json = json!({"component": source.component});
        if !source.host.is_empty() {
            source_json["host"] = json!(source.host);
        }
        let event = json!({
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source_json,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": ty,
            "eventTime": null,
            "reportingComponent": source.component,
            "reportingInstance": source.host,
        });
        // The namespace may be going away under us; losing the event is then right.
        if objects::create(&self.store, Kind::Event, event).is_ok() {
            seen.insert(dedup, ObjectKey::new(ns, name));
        }
    }
}
