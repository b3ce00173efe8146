//! The HTTP face of the simulated cluster: routes Kubernetes API paths to the verbs.

mod convert;
mod discovery;
mod list;
mod openapi;
mod printer;
mod protobuf;
pub mod status;
mod table;
mod verbs;
mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::custom;
use super::resource::Kind;
use super::store::{Obj, Store};
use status::ApiError;

pub use convert::core_event_to_v1;

/// Shared state of the request handlers.
pub struct Api {
    pub store: Arc<Store>,
    pub addr: SocketAddr,
    pub logs: Arc<crate::logs::LogHub>,
    pages: list::PageCache,
}

impl Api {
    pub fn new(store: Arc<Store>, addr: SocketAddr, logs: Arc<crate::logs::LogHub>) -> Arc<Self> {
        Arc::new(Api {
            store,
            addr,
            logs,
            pages: list::PageCache::default(),
        })
    }
}

pub fn router(api: Arc<Api>) -> Router {
    Router::new().fallback(handle).with_state(api)
}

/// One request against a resource path, parsed.
pub struct ResourceRequest {
    pub kind: Kind,
    /// The API group in the path; `events.k8s.io` converts Events on the way in and out.
    pub group: String,
    /// The version in the path, and for a custom kind its CRD.
    pub version: String,
    pub crd: Option<Obj>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
}

impl ResourceRequest {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn events_v1(&self) -> bool {
        self.group == "events.k8s.io"
    }

    /// Whether objects differ on the wire from how they are stored: Events in
    /// `events.k8s.io`, a custom kind asked for in another version than its stored one.
    pub fn converts(&self) -> bool {
        self.events_v1() || self.other_version()
    }

    fn other_version(&self) -> bool {
        matches!(self.kind, Kind::Custom(c) if c.def.storage_version != self.version)
    }

    /// kubectl's human output asks for a server-side Table.
    pub fn wants_table(&self) -> bool {
        self.headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next()
            .is_some_and(|first| first.contains("as=Table"))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
    }

    /// The object as the client's API group and version spell it. Custom kinds have no
    /// schema change between versions (a CRD's `None` conversion).
    pub fn outgoing(&self, obj: &Value) -> Value {
        if self.events_v1() {
            convert::core_event_to_v1(obj)
        } else if self.other_version() {
            let mut out = obj.clone();
            out["apiVersion"] = json!(self.api_version());
            out
        } else {
            obj.clone()
        }
    }

    pub fn incoming(&self, obj: Value) -> Value {
        if self.events_v1() {
            convert::v1_event_to_core(obj)
        } else {
            obj
        }
    }

    pub fn list_kind(&self) -> String {
        self.kind.list_kind()
    }

    pub fn api_version(&self) -> String {
        if self.events_v1() {
            "events.k8s.io/v1".into()
        } else if self.other_version() {
            format!("{}/{}", self.group, self.version)
        } else {
            self.kind.api_version().into()
        }
    }
}

async fn handle(State(api): State<Arc<Api>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().trim_end_matches('/').to_string();
    let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if parts.method == Method::GET
        && let Some(resp) =
            discovery::serve(&segs, &api).or_else(|| openapi::serve(&segs, &api.store))
    {
        return resp;
    }
    let Some(rr) = parse_resource(&segs, query, parts.headers, &api.store) else {
        return ApiError::not_found(format!(
            "the server could not find the requested resource ({path})"
        ))
        .into_response();
    };
    let body = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(format!("reading body: {e}")).into_response(),
    };
    let result = verbs::dispatch(&api, &parts.method, rr, body).await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `/api/v1/...` or `/apis/{group}/{version}/...` into a resource request. Built-in kinds
/// are found without looking at the store; anything else among the CRDs.
fn parse_resource(
    segs: &[&str],
    query: HashMap<String, String>,
    headers: HeaderMap,
    store: &Store,
) -> Option<ResourceRequest> {
    let (group, version, rest) = match segs {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some(ns.to_string()), *plural, tail.first(), tail.get(1))
        }
        [plural, tail @ ..] => (None, *plural, tail.first(), tail.get(1)),
        [] => return None,
    };
    if rest.len() > 5 {
        return None;
    }
    let (kind, crd) = match Kind::from_path(group, plural).filter(|_| version == "v1") {
        Some(kind) => (kind, None),
        None => {
            let served = custom::by_path(store, group, version, plural)?;
            (served.kind, Some(served.crd))
        }
    };
    Some(ResourceRequest {
        kind,
        group: group.to_string(),
        version: version.to_string(),
        crd,
        namespace,
        name: name.map(|s| s.to_string()),
        sub: sub.map(|s| s.to_string()),
        query,
        headers,
    })
}

pub fn json_response(code: StatusCode, v: &Value) -> Response {
    // `Display` runs serde_json's own (optimised) code, see `list::serialize_list`.
    bytes_response(code, v.to_string().into())
}

pub fn bytes_response(code: StatusCode, body: Bytes) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Option<ResourceRequest> {
        let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        parse_resource(&segs, HashMap::new(), HeaderMap::new(), &Store::new())
    }

    #[test]
    fn paths_map_to_resources() {
        let r = parse("/apis/apps/v1/namespaces/demo/deployments/web/scale").unwrap();
        assert_eq!(r.kind, Kind::Deployment);
        assert_eq!(r.namespace.as_deref(), Some("demo"));
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.sub.as_deref(), Some("scale"));
        let r = parse("/api/v1/namespaces/demo").unwrap();
        assert_eq!((r.kind, r.name.as_deref()), (Kind::Namespace, Some("demo")));
        let r = parse("/api/v1/namespaces/demo/status").unwrap();
        assert_eq!(r.sub.as_deref(), Some("status"));
        let r = parse("/api/v1/pods").unwrap();
        assert_eq!((r.kind, r.namespace), (Kind::Pod, None));
        assert!(parse("/apis/apps/v1/namespaces/demo/pods").is_none());
        assert!(parse("/api/v1/widgets").is_none());
    }
}
