//! The verbs: get, list, watch, create, update, patch, apply, delete, and the `scale` and
//! `status` subresources.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::status::ApiError;
use super::{Api, ResourceRequest, convert, json_response, list, protobuf, table, watch};
use crate::resource::{Kind, ObjectKey, str_at};
use crate::store::{Obj, StoreError};
use crate::{defaults, objects, patch};

pub async fn dispatch(
    api: &Arc<Api>,
    method: &Method,
    rr: ResourceRequest,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sub = rr.sub.as_deref();
    if sub == Some("status") && !rr.kind.has_status() {
        return Err(ApiError::not_found(format!(
            "{} have no status subresource",
            rr.kind.plural()
        )));
    }
    match (method.as_str(), rr.name.is_some(), sub) {
        ("GET", false, _) if matches!(rr.param("watch"), Some("true" | "1")) => {
            watch::serve(api.clone(), rr)
        }
        ("GET", false, _) => list::list(api, &rr),
        ("GET", true, None | Some("status")) => get(api, &rr),
        ("GET", true, Some("scale")) if scalable(rr.kind) => {
            Ok(ok(&convert::scale_of(&*current(api, &rr)?)))
        }
        ("GET", true, Some("log")) if rr.kind == Kind::Pod => {
            crate::logs::serve(&api.logs, &api.store, &rr)
        }
        ("POST", false, None) => create(api, &rr, &body),
        ("PUT", true, None | Some("status")) => replace(api, &rr, &body),
        ("PUT", true, Some("scale")) if scalable(rr.kind) => replace_scale(api, &rr, &body),
        ("PATCH", true, None | Some("status")) => patch_object(api, &rr, &body),
        ("PATCH", true, Some("scale")) if scalable(rr.kind) => patch_scale(api, &rr, &body),
        ("DELETE", true, None) => delete(api, &rr, &body),
        ("DELETE", false, None) => delete_collection(api, &rr, &body),
        _ => Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on this resource"
        ))),
    }
}

fn scalable(kind: Kind) -> bool {
    matches!(kind, Kind::Deployment | Kind::ReplicaSet)
}

fn ok(v: &Value) -> Response {
    json_response(StatusCode::OK, v)
}

fn key(rr: &ResourceRequest) -> ObjectKey {
    let ns = if rr.kind.namespaced() {
        rr.namespace.clone().unwrap_or_else(|| "default".into())
    } else {
        String::new()
    };
    ObjectKey::new(ns, rr.name.clone().unwrap_or_default())
}

fn not_found(rr: &ResourceRequest) -> ApiError {
    StoreError::NotFound {
        kind: rr.kind.plural(),
        name: rr.name.clone().unwrap_or_default(),
    }
    .into()
}

fn current(api: &Api, rr: &ResourceRequest) -> Result<Obj, ApiError> {
    api.store
        .get(rr.kind, &key(rr))
        .ok_or_else(|| not_found(rr))
}

fn get(api: &Api, rr: &ResourceRequest) -> Result<Response, ApiError> {
    let obj = current(api, rr)?;
    if rr.wants_table() {
        let meta = json!({"resourceVersion": str_at(&obj, "/metadata/resourceVersion")});
        return Ok(ok(&table::table(rr, &[obj], meta)));
    }
    Ok(ok(&rr.outgoing(&obj)))
}

fn parse_body(rr: &ResourceRequest, body: &Bytes) -> Result<Value, ApiError> {
    // Typed client-go commands send protobuf. The simple objects (`kubectl create
    // namespace`, `create configmap`…) are read; for the rest, say what to do instead of
    // "invalid JSON".
    if rr.content_type().contains("protobuf") {
        return protobuf::decode(body).map_err(|why| {
            ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("{why}: the simulated cluster reads protobuf for namespaces, configmaps, secrets and serviceaccounts only (not `kubectl create job --from`); use `kubectl apply -f` (e.g. `kubectl create deployment ... --dry-run=client -o yaml | kubectl apply -f -`)"),
            )
        });
    }
    let v: Value = if rr.content_type().contains("yaml") {
        let text = std::str::from_utf8(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        serde_norway::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("invalid YAML: {e}")))?
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?
    };
    Ok(v)
}

/// Sets the request's namespace on the object, refusing a body that names another one.
fn place(rr: &ResourceRequest, obj: &mut Value) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(
            StoreError::Invalid(format!("{} must be a JSON object", rr.kind.name())).into(),
        );
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    if !rr.kind.namespaced() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        return Ok(());
    }
    let ns = rr.namespace.clone().unwrap_or_else(|| "default".into());
    let body_ns = str_at(obj, "/metadata/namespace");
    if !body_ns.is_empty() && body_ns != ns {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    obj["metadata"]["namespace"] = json!(ns);
    Ok(())
}

fn create(api: &Api, rr: &ResourceRequest, body: &Bytes) -> Result<Response, ApiError> {
    let mut obj = rr.incoming(parse_body(rr, body)?);
    place(rr, &mut obj)?;
    let created = objects::create(&api.store, rr.kind, obj)?;
    Ok(json_response(StatusCode::CREATED, &rr.outgoing(&created)))
}

/// Checks an explicit `metadata.resourceVersion` against the stored one.
fn precondition(rr: &ResourceRequest, sent: &Value, stored: &Value) -> Result<(), StoreError> {
    let want = str_at(sent, "/metadata/resourceVersion");
    if !want.is_empty() && want != str_at(stored, "/metadata/resourceVersion") {
        return Err(StoreError::Conflict {
            plural: rr.kind.plural(),
            name: rr.name.clone().unwrap_or_default(),
        });
    }
    Ok(())
}

/// Puts together the stored object and an edited one: the main resource ignores status
/// changes and the status subresource ignores everything else.
fn finish(rr: &ResourceRequest, stored: &Value, mut edited: Value) -> Result<Value, StoreError> {
    if !edited.get("metadata").is_some_and(Value::is_object) {
        return Err(StoreError::Invalid(format!(
            "{} must be an object with metadata",
            rr.kind.name()
        )));
    }
    match rr.sub.as_deref() {
        Some("status") => {
            let mut out = stored.clone();
            out["status"] = edited.get("status").cloned().unwrap_or(Value::Null);
            objects::validate(rr.kind, &out)?;
            Ok(out)
        }
        _ => {
            // Kinds without a status drop one sent to them, as the API server drops
            // fields its types do not have.
            match stored.get("status").filter(|_| rr.kind.has_status()) {
                Some(s) => edited["status"] = s.clone(),
                None => {
                    if let Some(m) = edited.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            // Deletion is the server's business, not the client's.
            for f in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
                match stored["metadata"].get(f) {
                    Some(v) => edited["metadata"][f] = v.clone(),
                    None => {
                        if let Some(m) = edited["metadata"].as_object_mut() {
                            m.remove(f);
                        }
                    }
                }
            }
            defaults::apply(rr.kind, &mut edited);
            objects::validate(rr.kind, &edited)?;
            objects::check_update(rr.kind, stored, &edited)?;
            Ok(edited)
        }
    }
}

fn replace(api: &Api, rr: &ResourceRequest, body: &Bytes) -> Result<Response, ApiError> {
    let mut sent = rr.incoming(parse_body(rr, body)?);
    place(rr, &mut sent)?;
    if str_at(&sent, "/metadata/name") != rr.name.as_deref().unwrap_or("") {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    let updated = api.store.update(rr.kind, &key(rr), |obj| {
        precondition(rr, &sent, obj)?;
        *obj = finish(rr, obj, sent.clone())?;
        Ok(())
    })?;
    Ok(ok(&rr.outgoing(&updated)))
}

#[derive(Clone, Copy)]
enum PatchKind {
    Merge,
    Strategic,
    Json,
    Apply,
}

fn patch_kind(rr: &ResourceRequest) -> Result<PatchKind, ApiError> {
    let ct = rr.content_type();
    let base = ct.split(';').next().unwrap_or("").trim();
    match base {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        // Custom kinds have no patch strategies (kubectl knows and sends a merge patch).
        "application/strategic-merge-patch+json" if matches!(rr.kind, Kind::Custom(_)) => {
            Err(ApiError::unsupported_media(base))
        }
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchKind::Apply),
        other => Err(ApiError::unsupported_media(other)),
    }
}

fn apply_patch(kind: &PatchKind, target: &mut Value, p: &Value) -> Result<(), StoreError> {
    match kind {
        PatchKind::Merge => patch::merge(target, p),
        PatchKind::Strategic | PatchKind::Apply => patch::strategic_merge(target, p),
        PatchKind::Json => patch::json_patch(target, p)?,
    }
    Ok(())
}

fn patch_object(api: &Api, rr: &ResourceRequest, body: &Bytes) -> Result<Response, ApiError> {
    let kind = patch_kind(rr)?;
    let merge = match kind {
        // Without a schema every list of a custom object is atomic, as in a merge patch.
        PatchKind::Apply if matches!(rr.kind, Kind::Custom(_)) => PatchKind::Merge,
        _ => kind,
    };
    let p = parse_body(rr, body)?;
    if matches!(kind, PatchKind::Apply) {
        if rr.param("fieldManager").is_none() {
            return Err(ApiError::bad_request(
                "PATCH: fieldManager is required for apply patch",
            ));
        }
        if api.store.get(rr.kind, &key(rr)).is_none() {
            let mut obj = rr.incoming(p);
            if !str_at(&obj, "/metadata/resourceVersion").is_empty() {
                return Err(not_found(rr));
            }
            place(rr, &mut obj)?;
            obj["metadata"]["name"] = json!(rr.name.clone().unwrap_or_default());
            let created = objects::create(&api.store, rr.kind, obj)?;
            return Ok(json_response(StatusCode::CREATED, &rr.outgoing(&created)));
        }
    }
    let p = if rr.events_v1() && !matches!(kind, PatchKind::Json) {
        convert::v1_event_to_core(p)
    } else {
        p
    };
    let updated = api.store.update(rr.kind, &key(rr), |obj| {
        let mut work = obj.clone();
        apply_patch(&merge, &mut work, &p)?;
        precondition(rr, &work, obj)?;
        *obj = finish(rr, obj, work)?;
        Ok(())
    })?;
    Ok(ok(&rr.outgoing(&updated)))
}

fn set_replicas(api: &Api, rr: &ResourceRequest, scale: &Value) -> Result<Response, ApiError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .filter(|r| *r >= 0)
        .ok_or_else(|| {
            StoreError::Invalid(
                "spec.replicas: Invalid value: must be greater than or equal to 0".into(),
            )
        })?;
    let updated = api.store.update(rr.kind, &key(rr), |obj| {
        precondition(rr, scale, obj)?;
        obj["spec"]["replicas"] = json!(replicas);
        Ok(())
    })?;
    Ok(ok(&convert::scale_of(&updated)))
}

fn replace_scale(api: &Api, rr: &ResourceRequest, body: &Bytes) -> Result<Response, ApiError> {
    let scale = parse_body(rr, body)?;
    set_replicas(api, rr, &scale)
}

fn patch_scale(api: &Api, rr: &ResourceRequest, body: &Bytes) -> Result<Response, ApiError> {
    let kind = patch_kind(rr)?;
    let p = parse_body(rr, body)?;
    let mut scale = convert::scale_of(&*current(api, rr)?);
    apply_patch(&kind, &mut scale, &p)?;
    // A scale patch carries the resourceVersion only when the client asked for a check.
    if p.pointer("/metadata/resourceVersion").is_none()
        && let Some(m) = scale["metadata"].as_object_mut()
    {
        m.remove("resourceVersion");
    }
    set_replicas(api, rr, &scale)
}

struct DeleteOptions {
    grace: Option<i64>,
    uid: Option<String>,
    rv: Option<String>,
}

fn delete_options(rr: &ResourceRequest, body: &Bytes) -> DeleteOptions {
    let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |p: &str| opts.pointer(p).and_then(Value::as_str).map(str::to_string);
    DeleteOptions {
        grace: opts
            .get("gracePeriodSeconds")
            .and_then(Value::as_i64)
            .or_else(|| rr.param("gracePeriodSeconds").and_then(|g| g.parse().ok())),
        uid: s("/preconditions/uid"),
        rv: s("/preconditions/resourceVersion"),
    }
}

fn delete(api: &Api, rr: &ResourceRequest, body: &Bytes) -> Result<Response, ApiError> {
    let opts = delete_options(rr, body);
    let obj = current(api, rr)?;
    if opts
        .rv
        .as_deref()
        .is_some_and(|rv| rv != str_at(&obj, "/metadata/resourceVersion"))
    {
        return Err(StoreError::Conflict {
            plural: rr.kind.plural(),
            name: rr.name.clone().unwrap_or_default(),
        }
        .into());
    }
    let gone = objects::delete(
        &api.store,
        rr.kind,
        &key(rr),
        opts.grace,
        opts.uid.as_deref(),
    )?;
    Ok(ok(&rr.outgoing(&gone)))
}

fn delete_collection(api: &Api, rr: &ResourceRequest, body: &Bytes) -> Result<Response, ApiError> {
    let opts = delete_options(rr, body);
    let sel = list::Selectors::from_request(rr)?;
    let (items, rv) = list::matching(api, rr, &sel);
    let mut out = Vec::new();
    for o in items {
        if let Ok(gone) = objects::delete(&api.store, rr.kind, &ObjectKey::of(&o), opts.grace, None)
        {
            out.push(rr.outgoing(&gone));
        }
    }
    Ok(ok(&json!({
        "kind": rr.list_kind(),
        "apiVersion": rr.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": out,
    })))
}
