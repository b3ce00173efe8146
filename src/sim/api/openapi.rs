//! A minimal OpenAPI v3 document: no schemas, only each resource's patch operation with
//! its `fieldValidation` parameter. That is what kubectl's client-side validation checks
//! before `kubectl apply`/`create -f` (the server then validates, leniently); without it
//! kubectl refuses to send anything unless told `--validate=false`.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::sim::resource::Kind;

const GROUP_VERSIONS: [(&str, &str); 4] = [
    ("api/v1", ""),
    ("apis/apps/v1", "apps"),
    ("apis/events.k8s.io/v1", "events.k8s.io"),
    (
        "apis/rbac.authorization.k8s.io/v1",
        "rbac.authorization.k8s.io",
    ),
];

pub fn serve(segs: &[&str], _addr: SocketAddr) -> Option<Response> {
    let doc = match segs {
        ["openapi", "v3"] => {
            let paths: Map<String, Value> = GROUP_VERSIONS
                .iter()
                .map(|(gv, _)| {
                    (
                        gv.to_string(),
                        json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash=sim")}),
                    )
                })
                .collect();
            json!({"paths": paths})
        }
        ["openapi", "v3", rest @ ..] => {
            let gv = rest.join("/");
            let (_, group) = GROUP_VERSIONS.iter().find(|(g, _)| *g == gv)?;
            group_version_doc(&gv, group)
        }
        _ => return None,
    };
    Some(super::json_response(StatusCode::OK, &doc))
}

fn group_version_doc(gv: &str, group: &str) -> Value {
    let mut paths = Map::new();
    for kind in Kind::ALL
        .into_iter()
        .filter(|k| Kind::from_path(group, k.plural()) == Some(*k))
    {
        let path = if kind.namespaced() {
            format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", kind.plural())
        } else {
            format!("/{gv}/{}/{{name}}", kind.plural())
        };
        let gvk = json!({"group": group, "version": "v1", "kind": kind.name()});
        let op = |action: &str| {
            json!({
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}],
                "responses": {"200": {"description": "OK"}},
            })
        };
        paths.insert(path, json!({"patch": op("patch"), "put": op("put")}));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (flightdeck sim)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    })
}
