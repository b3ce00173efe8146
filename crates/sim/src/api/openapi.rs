//! A minimal OpenAPI v3 document: no schemas, only each resource's patch operation with
//! its `fieldValidation` parameter. That is what kubectl's client-side validation checks
//! before `kubectl apply`/`create -f` (the server then validates, leniently); without it
//! kubectl refuses to send anything unless told `--validate=false`. The CRDs' kinds are
//! listed under their group versions like the built-in ones.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::discovery::GROUPS;
use crate::custom;
use crate::resource::Kind;
use crate::store::Store;

/// `(group, version)` of everything served: core, the built-in groups, the CRDs' groups.
fn group_versions(store: &Store) -> Vec<(String, String)> {
    let builtin = std::iter::once("")
        .chain(GROUPS)
        .map(|g| (g.to_string(), "v1".to_string()));
    let custom = custom::groups(store)
        .into_iter()
        .flat_map(|(g, vs)| vs.into_iter().map(move |v| (g.clone(), v)));
    builtin.chain(custom).collect()
}

fn path_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

pub fn serve(segs: &[&str], store: &Store) -> Option<Response> {
    let doc = match segs {
        ["openapi", "v3"] => {
            let paths: Map<String, Value> = group_versions(store)
                .iter()
                .map(|(g, v)| {
                    let gv = path_of(g, v);
                    let url = format!("/openapi/v3/{gv}?hash=sim");
                    (gv, json!({"serverRelativeURL": url}))
                })
                .collect();
            json!({"paths": paths})
        }
        ["openapi", "v3", rest @ ..] => {
            let gv = rest.join("/");
            let (group, version) = group_versions(store)
                .into_iter()
                .find(|(g, v)| path_of(g, v) == gv)?;
            group_version_doc(store, &gv, &group, &version)
        }
        _ => return None,
    };
    Some(super::json_response(StatusCode::OK, &doc))
}

fn kinds_of(store: &Store, group: &str, version: &str) -> Vec<Kind> {
    if version == "v1" && (group.is_empty() || GROUPS.contains(&group)) {
        return Kind::ALL
            .into_iter()
            .filter(|k| Kind::from_path(group, k.plural()) == Some(*k))
            .collect();
    }
    custom::crds_serving(store, group, version)
        .iter()
        .filter_map(|crd| custom::kind_of(crd))
        .collect()
}

fn group_version_doc(store: &Store, gv: &str, group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    for kind in kinds_of(store, group, version) {
        let path = if kind.namespaced() {
            format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", kind.plural())
        } else {
            format!("/{gv}/{}/{{name}}", kind.plural())
        };
        let gvk = json!({"group": group, "version": version, "kind": kind.name()});
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_groups_have_their_paths() {
        assert_eq!(path_of("", "v1"), "api/v1");
        assert_eq!(
            path_of("networking.istio.io", "v1beta1"),
            "apis/networking.istio.io/v1beta1"
        );
        let store = Store::new();
        let kinds = kinds_of(&store, "networking.k8s.io", "v1");
        assert_eq!(kinds, [Kind::Ingress]);
    }
}
