//! Legacy discovery documents. kubectl asks for aggregated discovery first and falls back
//! to these when the answer is plain `application/json`.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::sim::resource::Kind;

/// The API groups served besides the core one, in discovery order.
const GROUPS: [&str; 3] = ["apps", "events.k8s.io", "rbac.authorization.k8s.io"];

pub fn serve(segs: &[&str], addr: SocketAddr) -> Option<Response> {
    let doc = match segs {
        ["version"] => version(),
        ["api"] => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}],
        }),
        ["apis"] => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": GROUPS.map(group),
        }),
        ["apis", g] if GROUPS.contains(g) => {
            let mut g = group(g);
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            g
        }
        ["api", "v1"] => resources("v1", group_entries("")),
        ["apis", "events.k8s.io", "v1"] => {
            resources("events.k8s.io/v1", vec![Kind::Event.discovery_entry()])
        }
        ["apis", g, "v1"] if GROUPS.contains(g) => resources(&format!("{g}/v1"), group_entries(g)),
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

fn group(name: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
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
