//! The few protobuf bodies typed kubectl commands send: `kubectl create namespace`,
//! `create configmap`, `create secret generic` and `create serviceaccount` encode their
//! object as Kubernetes protobuf (client-go's clientset prefers it and has no fallback to
//! JSON), whatever the server says in discovery. This decodes the `runtime.Unknown`
//! envelope and those four kinds into the JSON the rest of the server speaks; any field it
//! does not know makes the body refused rather than half-read.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// Every protobuf body starts with these four bytes.
const MAGIC: &[u8] = b"k8s\0";

/// The object in a protobuf body, or why it cannot be read.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let msg = body
        .strip_prefix(MAGIC)
        .ok_or("not a Kubernetes protobuf body (no k8s magic)")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for field in Fields::new(msg) {
        match field? {
            (1, Wire::Len(type_meta)) => {
                for f in Fields::new(type_meta) {
                    match f? {
                        (1, Wire::Len(b)) => api_version = text(b)?,
                        (2, Wire::Len(b)) => kind = text(b)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Len(b)) => raw = Some(b),
            (3 | 4, Wire::Len(b))
                if !b.is_empty() && b != b"application/vnd.kubernetes.protobuf" =>
            {
                return Err(format!("unsupported protobuf content {:?}", text(b)?));
            }
            _ => {}
        }
    }
    let raw = raw.ok_or("protobuf envelope without an object")?;
    let mut obj = match kind.as_str() {
        "Namespace" => namespace(raw)?,
        "ConfigMap" => config_map(raw)?,
        "Secret" => secret(raw)?,
        "ServiceAccount" => service_account(raw)?,
        other => return Err(format!("protobuf {other} bodies are not understood")),
    };
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

fn namespace(raw: &[u8]) -> Result<Value, String> {
    let mut obj = json!({});
    for f in Fields::new(raw) {
        match f? {
            (1, Wire::Len(b)) => obj["metadata"] = object_meta(b)?,
            (2, Wire::Len(b)) => {
                let mut finalizers = Vec::new();
                for f in Fields::new(b) {
                    match f? {
                        (1, Wire::Len(s)) => finalizers.push(json!(text(s)?)),
                        other => return Err(unknown("NamespaceSpec", &other)),
                    }
                }
                if !finalizers.is_empty() {
                    obj["spec"] = json!({"finalizers": finalizers});
                }
            }
            // Status is the server's.
            (3, _) => {}
            other => return Err(unknown("Namespace", &other)),
        }
    }
    Ok(obj)
}

fn config_map(raw: &[u8]) -> Result<Value, String> {
    let mut obj = json!({});
    for f in Fields::new(raw) {
        match f? {
            (1, Wire::Len(b)) => obj["metadata"] = object_meta(b)?,
            (2, Wire::Len(b)) => insert_entry(&mut obj, "data", b, false)?,
            (3, Wire::Len(b)) => insert_entry(&mut obj, "binaryData", b, true)?,
            (4, Wire::Varint(v)) => obj["immutable"] = json!(v != 0),
            other => return Err(unknown("ConfigMap", &other)),
        }
    }
    Ok(obj)
}

fn secret(raw: &[u8]) -> Result<Value, String> {
    let mut obj = json!({});
    for f in Fields::new(raw) {
        match f? {
            (1, Wire::Len(b)) => obj["metadata"] = object_meta(b)?,
            (2, Wire::Len(b)) => insert_entry(&mut obj, "data", b, true)?,
            (3, Wire::Len(b)) if !b.is_empty() => obj["type"] = json!(text(b)?),
            (3, Wire::Len(_)) => {}
            (4, Wire::Len(b)) => insert_entry(&mut obj, "stringData", b, false)?,
            (5, Wire::Varint(v)) => obj["immutable"] = json!(v != 0),
            other => return Err(unknown("Secret", &other)),
        }
    }
    Ok(obj)
}

fn service_account(raw: &[u8]) -> Result<Value, String> {
    let mut obj = json!({});
    for f in Fields::new(raw) {
        match f? {
            (1, Wire::Len(b)) => obj["metadata"] = object_meta(b)?,
            (4, Wire::Varint(v)) => obj["automountServiceAccountToken"] = json!(v != 0),
            other => return Err(unknown("ServiceAccount", &other)),
        }
    }
    Ok(obj)
}

/// The fields of ObjectMeta a client may set; the server's own ones (uid, timestamps,
/// managed fields) are dropped as the server would overwrite them anyway. Go writes every
/// string field, empty or not; empty means unset, as in JSON.
fn object_meta(raw: &[u8]) -> Result<Value, String> {
    let mut meta = Map::new();
    let mut maps: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut finalizers = Vec::new();
    let mut put = |k: &str, b: &[u8]| -> Result<(), String> {
        if !b.is_empty() {
            meta.insert(k.into(), json!(text(b)?));
        }
        Ok(())
    };
    for f in Fields::new(raw) {
        match f? {
            (1, Wire::Len(b)) => put("name", b)?,
            (2, Wire::Len(b)) => put("generateName", b)?,
            (3, Wire::Len(b)) => put("namespace", b)?,
            (6, Wire::Len(b)) => put("resourceVersion", b)?,
            (n @ (11 | 12), Wire::Len(b)) => {
                let (k, v) = entry(b, false)?;
                let which = if n == 11 { "labels" } else { "annotations" };
                maps.entry(which).or_default().insert(k, v);
            }
            (14, Wire::Len(b)) => finalizers.push(json!(text(b)?)),
            (13, _) => return Err("protobuf ownerReferences are not understood".into()),
            _ => {}
        }
    }
    for (k, m) in maps {
        meta.insert(k.into(), Value::Object(m));
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), json!(finalizers));
    }
    Ok(Value::Object(meta))
}

/// One `map<string, string|bytes>` entry added to `obj[field]`; bytes become base64, as
/// in JSON.
fn insert_entry(obj: &mut Value, field: &str, b: &[u8], bytes: bool) -> Result<(), String> {
    let (k, v) = entry(b, bytes)?;
    if !obj.get(field).is_some_and(Value::is_object) {
        obj[field] = json!({});
    }
    obj[field][k] = v;
    Ok(())
}

fn entry(b: &[u8], bytes: bool) -> Result<(String, Value), String> {
    let (mut k, mut v) = (String::new(), json!(""));
    for f in Fields::new(b) {
        match f? {
            (1, Wire::Len(s)) => k = text(s)?,
            (2, Wire::Len(s)) if bytes => {
                v = serde_json::to_value(k8s_openapi::ByteString(s.to_vec()))
                    .map_err(|e| e.to_string())?;
            }
            (2, Wire::Len(s)) => v = json!(text(s)?),
            other => return Err(unknown("map entry", &other)),
        }
    }
    Ok((k, v))
}

fn text(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "a protobuf string is not UTF-8".to_string())
}

fn unknown(what: &str, field: &(u64, Wire)) -> String {
    format!("protobuf {what} field {} is not understood", field.0)
}

/// A field's value by wire type (groups and fixed widths never occur in these messages).
#[derive(Debug)]
enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
}

/// The fields of one message, in order.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(msg: &'a [u8]) -> Self {
        Fields { rest: msg }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for (i, byte) in self.rest.iter().enumerate().take(10) {
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.rest = &self.rest[i + 1..];
                return Ok(v);
            }
        }
        Err("truncated protobuf varint".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.rest.len() {
            return Err("truncated protobuf field".into());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = (|| {
            let key = self.varint()?;
            let wire = match key & 7 {
                0 => Wire::Varint(self.varint()?),
                1 => self.take(8).map(|_| Wire::Fixed)?,
                2 => {
                    let n = usize::try_from(self.varint()?).map_err(|e| e.to_string())?;
                    Wire::Len(self.take(n)?)
                }
                5 => self.take(4).map(|_| Wire::Fixed)?,
                other => return Err(format!("protobuf wire type {other} is not understood")),
            };
            Ok((key >> 3, wire))
        })();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_field(n: u64, b: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, b.len() as u8];
        out.extend_from_slice(b);
        out
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [
            len_field(1, api_version.as_bytes()),
            len_field(2, kind.as_bytes()),
        ]
        .concat();
        [
            MAGIC.to_vec(),
            len_field(1, &type_meta),
            len_field(2, raw),
            len_field(3, b""),
            len_field(4, b""),
        ]
        .concat()
    }

    #[test]
    fn a_namespace_is_read_from_its_envelope() {
        let meta = [
            len_field(1, b"extra"),
            len_field(11, &[len_field(1, b"team"), len_field(2, b"a")].concat()),
        ]
        .concat();
        let raw = [len_field(1, &meta), len_field(2, b""), len_field(3, b"")].concat();
        let obj = decode(&envelope("v1", "Namespace", &raw)).unwrap();
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": "extra", "labels": {"team": "a"}}})
        );
    }

    #[test]
    fn what_kubectl_create_namespace_sends() {
        // Captured from `kubectl -v=8 create namespace extra` (v1.32).
        let body = b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09Namespace\x12\x1d\x0a\x15\x0a\x05extra\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x00\x1a\x02\x0a\x00\x1a\x00\x22\x00";
        assert_eq!(
            decode(body).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "extra"}})
        );
    }

    #[test]
    fn secret_data_is_bytes_and_config_map_data_text() {
        let kv = |k: &[u8], v: &[u8]| [len_field(1, k), len_field(2, v)].concat();
        let meta = len_field(1, b"s");
        let raw = [
            len_field(1, &meta),
            len_field(2, &kv(b"pw", b"hi")),
            len_field(3, b"Opaque"),
        ]
        .concat();
        let obj = decode(&envelope("v1", "Secret", &raw)).unwrap();
        assert_eq!(obj["data"], json!({"pw": "aGk="}));
        assert_eq!(obj["type"], "Opaque");
        let raw = [len_field(1, &meta), len_field(2, &kv(b"k", b"v"))].concat();
        let obj = decode(&envelope("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(obj["data"], json!({"k": "v"}));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(decode(b"{}").is_err());
        assert!(decode(&envelope("apps/v1", "Deployment", b"")).is_err());
        let raw = [len_field(1, &len_field(1, b"x")), len_field(9, b"?")].concat();
        assert!(decode(&envelope("v1", "Namespace", &raw)).is_err());
        let mut truncated = envelope("v1", "Namespace", &len_field(1, &len_field(1, b"x")));
        truncated.truncate(truncated.len() - 12);
        assert!(decode(&truncated).is_err());
    }
}
