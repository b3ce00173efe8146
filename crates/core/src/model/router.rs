//! A router object (VirtualService, HTTPRoute, Ingress) as the console's watch saw it: kept
//! whole (they are few and small) so the group view can read what it holds against what
//! the release asks, and mark a route someone edited by hand.

use kube::api::DynamicObject;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct RouterRow {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// The object as JSON (spec and annotations are what matter), managed fields dropped.
    pub object: Value,
}

impl RouterRow {
    pub fn of(kind: &str, obj: &DynamicObject) -> RouterRow {
        let mut object = serde_json::to_value(obj).unwrap_or(Value::Null);
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
        RouterRow {
            namespace: obj.metadata.namespace.clone().unwrap_or_default(),
            kind: kind.to_string(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            object,
        }
    }
}
