//! Patch formats: JSON merge patch (RFC 7386), an approximation of strategic merge patch
//! (lists of named items merge by key), and JSON patch (RFC 6902).

use serde_json::{Map, Value};

use super::store::StoreError;

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("just made an object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Keys by which Kubernetes merges lists of objects in a strategic merge patch.
const MERGE_KEYS: [&str; 5] = ["name", "containerPort", "mountPath", "type", "port"];

/// Lists that a strategic merge patch replaces whole although their items carry a merge
/// key: a binding's `subjects` (a subject left out of the patch must lose its grant).
const ATOMIC_LISTS: [&str; 1] = ["subjects"];

/// Strategic merge patch, approximated: like a merge patch, except that lists whose items
/// carry a merge key (containers by `name`, conditions by `type`, …) merge item by item,
/// and `$`-directives are dropped.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("just made an object");
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                t.remove(k);
            }
            Value::Array(items) => {
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                let key = merge_key(items).filter(|_| !ATOMIC_LISTS.contains(&k.as_str()));
                match (slot.as_array_mut(), key) {
                    (Some(existing), Some(key)) => merge_list(existing, items, key),
                    _ => *slot = Value::Array(items.clone()),
                }
            }
            _ => strategic_merge(t.entry(k.clone()).or_insert(Value::Null), v),
        }
    }
}

fn merge_key(items: &[Value]) -> Option<&'static str> {
    let first = items.first()?.as_object()?;
    let key = MERGE_KEYS.into_iter().find(|k| first.contains_key(*k))?;
    items.iter().all(|i| i.get(key).is_some()).then_some(key)
}

fn merge_list(existing: &mut Vec<Value>, items: &[Value], key: &str) {
    for item in items {
        let deleting = item.get("$patch").and_then(Value::as_str) == Some("delete");
        let pos = existing.iter().position(|e| e.get(key) == item.get(key));
        match (pos, deleting) {
            (Some(i), true) => {
                existing.remove(i);
            }
            (Some(i), false) => strategic_merge(&mut existing[i], item),
            (None, false) => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item);
                existing.push(fresh);
            }
            (None, true) => {}
        }
    }
}

/// RFC 6902 JSON patch: add, remove, replace, move, copy, test.
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), StoreError> {
    let bad = |m: &str| StoreError::Invalid(format!("invalid JSON patch: {m}"));
    let ops = ops
        .as_array()
        .ok_or_else(|| bad("not a list of operations"))?;
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing op"))?;
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing path"))?;
        let value = || op.get("value").cloned().ok_or_else(|| bad("missing value"));
        match kind {
            "add" => add(target, path, value()?)?,
            "remove" => {
                remove(target, path)?;
            }
            "replace" => {
                remove(target, path)?;
                add(target, path, value()?)?;
            }
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("missing from"))?;
                let v = if kind == "move" {
                    remove(target, from)?
                } else {
                    target
                        .pointer(from)
                        .cloned()
                        .ok_or_else(|| bad("from not found"))?
                };
                add(target, path, v)?;
            }
            "test" => {
                if target.pointer(path) != Some(&value()?) {
                    return Err(bad(&format!("test failed at {path}")));
                }
            }
            other => return Err(bad(&format!("unknown op {other}"))),
        }
    }
    Ok(())
}

fn split_pointer(path: &str) -> Result<(String, String), StoreError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| StoreError::Invalid(format!("invalid JSON pointer {path}")))?;
    Ok((parent.into(), last.replace("~1", "/").replace("~0", "~")))
}

fn add(target: &mut Value, path: &str, v: Value) -> Result<(), StoreError> {
    if path.is_empty() {
        *target = v;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    let missing = || StoreError::Invalid(format!("JSON patch path not found: {path}"));
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(last, v);
        }
        Value::Array(a) if last == "-" => a.push(v),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i > a.len() {
                return Err(missing());
            }
            a.insert(i, v);
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn remove(target: &mut Value, path: &str) -> Result<Value, StoreError> {
    let (parent, last) = split_pointer(path)?;
    let missing = || StoreError::Invalid(format!("JSON patch path not found: {path}"));
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => m.remove(&last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            (i < a.len()).then(|| a.remove(i)).ok_or_else(missing)
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binding_subjects_are_replaced_not_merged() {
        let mut rb =
            json!({"subjects": [{"kind": "User", "name": "a"}, {"kind": "User", "name": "b"}]});
        strategic_merge(
            &mut rb,
            &json!({"subjects": [{"kind": "User", "name": "a"}]}),
        );
        assert_eq!(rb["subjects"], json!([{"kind": "User", "name": "a"}]));
    }

    #[test]
    fn merge_patch_replaces_and_deletes() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        merge(&mut t, &json!({"b": {"c": null, "e": 4}, "l": [3]}));
        assert_eq!(t, json!({"a": 1, "b": {"d": 3, "e": 4}, "l": [3]}));
    }

    #[test]
    fn strategic_merge_keeps_other_container_fields() {
        let mut t = json!({"spec": {"containers": [
            {"name": "app", "image": "a:1", "imagePullPolicy": "IfNotPresent"},
            {"name": "side", "image": "s:1"}]}});
        strategic_merge(
            &mut t,
            &json!({"spec": {"containers": [{"name": "app", "image": "a:2"}]},
            "$setElementOrder/containers": []}),
        );
        assert_eq!(t["spec"]["containers"][0]["image"], "a:2");
        assert_eq!(
            t["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(t["spec"]["containers"][1]["name"], "side");
    }

    #[test]
    fn json_patch_ops() {
        let mut t = json!({"spec": {"replicas": 1, "l": [1]}});
        json_patch(
            &mut t,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "add", "path": "/spec/l/-", "value": 2},
                {"op": "test", "path": "/spec/replicas", "value": 3}
            ]),
        )
        .unwrap();
        assert_eq!(t, json!({"spec": {"replicas": 3, "l": [1, 2]}}));
        assert!(json_patch(&mut t, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }
}
