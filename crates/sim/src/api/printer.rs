//! The Table of a custom kind: a Name column, then the CRD version's
//! `additionalPrinterColumns` (an Age column when it has none), each cell found by the
//! column's JSONPath, as the API server's CRD table convertor makes them.

use serde_json::{Value, json};

use crate::custom;
use crate::resource::str_at;
use crate::time;

/// The column definitions and each item's cells.
pub fn columns_and_cells(
    crd: &Value,
    version: &str,
    items: &[&Value],
) -> (Vec<Value>, Vec<Vec<Value>>) {
    let defs = printer_columns(crd, version);
    let mut columns = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace.",
    })];
    columns.extend(defs.iter().map(|c| {
        json!({
            "name": str_at(c, "/name"),
            "type": str_at(c, "/type"),
            "format": str_at(c, "/format"),
            "description": str_at(c, "/description"),
            "priority": c.get("priority").and_then(Value::as_i64).unwrap_or(0),
        })
    }));
    let rows = items
        .iter()
        .map(|o| {
            let mut cells = vec![json!(str_at(o, "/metadata/name"))];
            cells.extend(defs.iter().map(|c| {
                let found = first(o, str_at(c, "/jsonPath"));
                found.map_or(Value::Null, |v| cell(str_at(c, "/type"), v))
            }));
            cells
        })
        .collect();
    (columns, rows)
}

fn printer_columns(crd: &Value, version: &str) -> Vec<Value> {
    let defined = custom::version(crd, version)
        .and_then(|v| v.get("additionalPrinterColumns"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if defined.is_empty() {
        vec![json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})]
    } else {
        defined
    }
}

/// A cell the way the convertor types it: strings printed like kubectl's JSONPath printer
/// (lists and maps as JSON), dates as an age, numbers and booleans as they are.
fn cell(ty: &str, v: &Value) -> Value {
    match (ty, v) {
        ("string", Value::String(s)) => json!(s),
        ("string", other) => json!(other.to_string()),
        ("date", Value::String(s)) => json!(time::age(s)),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(_)) | ("boolean", Value::Bool(_)) => v.clone(),
        _ => Value::Null,
    }
}

/// The first value a simple JSONPath finds: `.a.b`, `.a[0]`, `.a[*].b` and
/// `.a[?(@.k=="v")].b`, the forms printer columns use.
pub fn first<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let steps = parse(path)?;
    walk(obj, &steps)
}

#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter { field: String, value: String },
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            steps.push(if inner == "*" {
                Step::All
            } else if let Some(f) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, value) = f.split_once("==")?;
                Step::Filter {
                    field: field.trim().to_string(),
                    value: value.trim().trim_matches(['"', '\'']).to_string(),
                }
            } else {
                Step::Index(inner.parse().ok()?)
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn walk<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(v);
    };
    match step {
        Step::Field(f) => walk(v.get(f)?, rest),
        Step::Index(i) => walk(v.get(i)?, rest),
        Step::All => v.as_array()?.iter().find_map(|x| walk(x, rest)),
        Step::Filter { field, value } => v
            .as_array()?
            .iter()
            .filter(|x| x.get(field).and_then(Value::as_str) == Some(value))
            .find_map(|x| walk(x, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_paths_find_their_values() {
        let gw = json!({"spec": {"hosts": ["a", "b"]}, "status": {
            "addresses": [{"value": "10.0.0.1"}, {"value": "10.0.0.2"}],
            "conditions": [{"type": "Accepted", "status": "True"}, {"type": "Programmed", "status": "False"}]}});
        assert_eq!(first(&gw, ".spec.hosts"), Some(&json!(["a", "b"])));
        assert_eq!(first(&gw, ".spec.hosts[1]"), Some(&json!("b")));
        assert_eq!(
            first(&gw, ".status.addresses[*].value"),
            Some(&json!("10.0.0.1"))
        );
        assert_eq!(
            first(&gw, r#".status.conditions[?(@.type=="Programmed")].status"#),
            Some(&json!("False"))
        );
        assert_eq!(first(&gw, ".spec.gateways"), None);
        assert_eq!(cell("string", &json!(["a", "b"])), json!(r#"["a","b"]"#));
    }
}
