//! Legacy discovery documents. kubectl asks for aggregated discovery first and falls back
//! to these when the answer is plain `application/json`. The groups the CRDs add follow
//! the built-in ones, as on a real server.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Api;
use crate::custom;
use crate::resource::Kind;

/// The built-in API groups besides the core one, in discovery order; all serve only v1.
pub const GROUPS: [&str; 6] = [
    "apps",
    "batch",
    "events.k8s.io",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
];

pub fn serve(segs: &[&str], api: &Api) -> Option<Response> {
    let doc = match segs {
        ["version"] => version(),
        ["api"] => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": api.addr.to_string()}],
        }),
        ["apis"] => {
            let builtin = GROUPS.map(|g| group(g, &["v1".to_string()]));
            let custom = custom::groups(&api.store)
                .into_iter()
                .map(|(g, versions)| group(&g, &versions));
            json!({
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": builtin.into_iter().chain(custom).collect::<Vec<_>>(),
            })
        }
        ["apis", g] => {
            let mut doc = if GROUPS.contains(g) {
                group(g, &["v1".to_string()])
            } else {
                let (name, versions) = custom::groups(&api.store)
                    .into_iter()
                    .find(|(name, _)| name == g)?;
                group(&name, &versions)
            };
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        ["api", "v1"] => resources("v1", group_entries("")),
        ["apis", "events.k8s.io", "v1"] => {
            resources("events.k8s.io/v1", vec![Kind::Event.discovery_entry()])
        }
        ["apis", g, "v1"] if GROUPS.contains(g) => resources(&format!("{g}/v1"), group_entries(g)),
        ["apis", g, v] => {
            let crds = custom::crds_serving(&api.store, g, v);
            if crds.is_empty() {
                return None;
            }
            let entries = crds
                .iter()
                .flat_map(|crd| custom::discovery_entries(crd, v))
                .collect();
            resources(&format!("{g}/{v}"), entries)
        }
        _ => return None,
    };
    Some(super::json_response(StatusCode::OK, &doc))
}

/// Every kind of a group with its subresources.
fn group_entries(group: &str) -> Vec<Value> {
    Kind::ALL
        .into_iter()
        .filter(|k| k.group() == group)
        .flat_map(entries)
        .collect()
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-flightdeck-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// A group with its versions, the preferred one first.
fn group(name: &str, versions: &[String]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": gvs, "preferredVersion": gvs.first()})
}

fn resources(group_version: &str, list: Vec<Value>) -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list})
}

/// A kind's entry plus its subresources.
fn entries(kind: Kind) -> Vec<Value> {
    let mut out = vec![kind.discovery_entry()];
    let sub = |name: &str, k: &str, verbs: &[&str]| {
        json!({"name": format!("{}/{name}", kind.plural()), "singularName": "", "namespaced": kind.namespaced(),
               "kind": k, "verbs": verbs})
    };
    if kind.has_status() {
        out.push(sub("status", kind.name(), &["get", "patch", "update"]));
    }
    match kind {
        Kind::Pod => out.push(sub("log", "Pod", &["get"])),
        Kind::Deployment | Kind::ReplicaSet => {
            let mut s = sub("scale", "Scale", &["get", "patch", "update"]);
            s["group"] = json!("autoscaling");
            s["version"] = json!("v1");
            out.push(s);
        }
        _ => {}
    }
    out
}
