//! Lists: selectors, `limit`/`continue` paging over a snapshot, and fast serialisation.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::Obj;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::status::ApiError;
use super::{Api, ResourceRequest, bytes_response, table};
use crate::resource::ObjectKey;
use crate::selectors::{FieldSelector, LabelSelector};

/// Pages of a paged list come from one snapshot taken at the first page, so a client
/// paging through sees one consistent resourceVersion, like etcd's paged reads.
#[derive(Default)]
pub struct PageCache {
    next: AtomicU64,
    pages: Mutex<HashMap<u64, Snapshot>>,
}

struct Snapshot {
    taken: Instant,
    items: Arc<Vec<Obj>>,
    rv: u64,
}

const SNAPSHOT_TTL: Duration = Duration::from_secs(300);

impl PageCache {
    fn put(&self, items: Arc<Vec<Obj>>, rv: u64) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.retain(|_, s| s.taken.elapsed() < SNAPSHOT_TTL);
        pages.insert(
            id,
            Snapshot {
                taken: Instant::now(),
                items,
                rv,
            },
        );
        id
    }

    fn get(&self, id: u64) -> Option<(Arc<Vec<Obj>>, u64)> {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.get(&id).map(|s| (s.items.clone(), s.rv))
    }
}

pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn from_request(rr: &ResourceRequest) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(rr.param("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let aliases: &[(&str, &str)] = if rr.events_v1() {
            &[
                ("regarding.", "involvedObject."),
                ("reportingController", "source.component"),
            ]
        } else {
            &[]
        };
        let fields = FieldSelector::parse(rr.param("fieldSelector").unwrap_or(""), aliases)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(Selectors { labels, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

/// Current objects matching the request's namespace and selectors.
pub fn matching(api: &Api, rr: &ResourceRequest, sel: &Selectors) -> (Vec<Obj>, u64) {
    let ns = rr.namespace.as_deref();
    // A name selector (kubectl rollout status, kubectl delete --wait) is a point read.
    if let (Some(name), Some(ns)) = (
        sel.fields.name(),
        ns.or((!rr.kind.namespaced()).then_some("")),
    ) {
        let rv = api.store.current_rv();
        let items = api
            .store
            .get(rr.kind, &ObjectKey::new(ns, name))
            .filter(|o| sel.matches(o))
            .into_iter()
            .collect();
        return (items, rv);
    }
    let (mut items, rv) = api.store.list(rr.kind, ns);
    if !sel.labels.is_empty() || !sel.fields.is_empty() {
        items.retain(|o| sel.matches(o));
    }
    (items, rv)
}

pub fn list(api: &Api, rr: &ResourceRequest) -> Result<Response, ApiError> {
    let limit: usize = rr
        .param("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let (items, rv, offset) = match rr.param("continue") {
        Some(token) => {
            let expired = || {
                ApiError::new(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                )
            };
            let (id, offset) = token
                .split_once('-')
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<usize>().ok()?)))
                .ok_or_else(|| ApiError::bad_request(format!("invalid continue token {token}")))?;
            let (items, rv) = api.pages.get(id).ok_or_else(expired)?;
            (items, rv, offset)
        }
        None => {
            let sel = Selectors::from_request(rr)?;
            let (items, rv) = matching(api, rr, &sel);
            (Arc::new(items), rv, 0)
        }
    };
    let start = offset.min(items.len());
    let end = start.saturating_add(limit).min(items.len());
    let page = &items[start..end];
    let mut meta = serde_json::json!({"resourceVersion": rv.to_string()});
    if end < items.len() {
        let id = if offset == 0 {
            api.pages.put(items.clone(), rv)
        } else {
            rr.param("continue")
                .and_then(|t| t.split_once('-'))
                .and_then(|(a, _)| a.parse().ok())
                .unwrap_or_default()
        };
        meta["continue"] = format!("{id}-{end}").into();
        meta["remainingItemCount"] = (items.len() - end).into();
    }
    if rr.wants_table() {
        let t = table::table(rr, page, meta);
        return Ok(super::json_response(StatusCode::OK, &t));
    }
    Ok(bytes_response(
        StatusCode::OK,
        serialize_list(rr, page, &meta).into(),
    ))
}

/// Writes the list without building one big `Value` (6,000 pods would mean copying each).
fn serialize_list(rr: &ResourceRequest, items: &[Obj], meta: &Value) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 + items.len() * 2048);
    buf.extend_from_slice(
        format!(
            r#"{{"kind":"{}","apiVersion":"{}","metadata":{},"items":["#,
            rr.list_kind(),
            rr.api_version(),
            meta
        )
        .as_bytes(),
    );
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        // `Display` of a Value is compiled inside serde_json, hence optimised even in a
        // debug build of ours, where a generic `to_writer` is several times slower.
        let written = if rr.converts() {
            write!(buf, "{}", rr.outgoing(item))
        } else {
            buf.write_all(item.json().as_bytes())
        };
        // Writing into a Vec cannot fail; keep the output valid if it ever did.
        if written.is_err() {
            buf.extend_from_slice(b"{}");
        }
    }
    buf.extend_from_slice(b"]}");
    buf
}
