//! Istio: a DestinationRule whose subsets pick the track by label, and a VirtualService
//! whose last rule splits by weight, after one rule per header route to the canary.

use serde_json::{Map, Value, json};

use super::{Held, PRIMARY, Route, cookie_regex, meta, percent, route_name};
use crate::domain::group::{HeaderRoute, MatchKind};
use crate::domain::{InstanceGroup, labels};

pub const API_VERSION: &str = crate::domain::group::ISTIO_API;

pub fn objects(route: &Route<'_>) -> Vec<Value> {
    let g = route.group;
    let host = g.name();
    let name = route_name(g);
    let dest = |subset: &str| json!({ "host": host, "subset": subset });
    let mut http: Vec<Value> = route
        .header_routes
        .iter()
        .filter(|h| !h.matches.is_empty())
        .map(|h| {
            json!({
                "name": h.name,
                "match": [matches(h)],
                "route": [{ "destination": dest("canary"), "weight": 100 }],
            })
        })
        .collect();
    http.push(json!({
        "name": PRIMARY,
        "route": [
            { "destination": dest("stable"), "weight": 100 - u32::from(route.weight) },
            { "destination": dest("canary"), "weight": u32::from(route.weight) },
        ],
    }));
    let hosts = vec![
        g.spec
            .strategy
            .traffic
            .host
            .clone()
            .unwrap_or_else(|| host.to_string()),
    ];
    vec![
        json!({
            "apiVersion": API_VERSION,
            "kind": "DestinationRule",
            "metadata": meta(route, host),
            "spec": {
                "host": host,
                "subsets": [
                    { "name": "stable", "labels": { labels::TRACK: "stable" } },
                    { "name": "canary", "labels": { labels::TRACK: "canary" } },
                ],
            },
        }),
        json!({
            "apiVersion": API_VERSION,
            "kind": "VirtualService",
            "metadata": meta(route, &name),
            "spec": { "hosts": hosts, "http": http },
        }),
    ]
}

/// One HTTPMatchRequest: every condition must hold.
fn matches(h: &HeaderRoute) -> Value {
    let mut headers = Map::new();
    for m in &h.matches {
        let Ok((cookie, name, kind, value)) = m.parts() else {
            continue;
        };
        let cond = if cookie {
            json!({ "regex": cookie_regex(name, kind, value) })
        } else {
            match kind {
                MatchKind::Exact => json!({ "exact": value }),
                MatchKind::Prefix => json!({ "prefix": value }),
                MatchKind::Regex => json!({ "regex": value }),
            }
        };
        let key = if cookie {
            "cookie".to_string()
        } else {
            name.to_lowercase()
        };
        headers.insert(key, cond);
    }
    json!({ "headers": headers })
}

pub fn held(g: &InstanceGroup, vs: &Value) -> Held {
    let Some(http) = vs.pointer("/spec/http").and_then(Value::as_array) else {
        return Held {
            problem: Some("the VirtualService has no http routes".into()),
            ..Held::default()
        };
    };
    let mut held = Held::default();
    for rule in http {
        let name = rule.get("name").and_then(Value::as_str).unwrap_or("");
        if rule.get("match").is_some() {
            held.header_routes.push(name.to_string());
            continue;
        }
        let (mut stable, mut canary, mut other) = (0, 0, 0);
        for d in rule
            .get("route")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // A single destination without a weight takes all the traffic.
            let w = d.get("weight").and_then(Value::as_u64).unwrap_or(100);
            let host = d.pointer("/destination/host").and_then(Value::as_str);
            match d.pointer("/destination/subset").and_then(Value::as_str) {
                Some("stable") if host == Some(g.name()) => stable += w,
                Some("canary") if host == Some(g.name()) => canary += w,
                _ => other += w,
            }
        }
        held.weight = percent(stable + other, canary);
        if other > 0 {
            held.problem = Some(format!(
                "the VirtualService's default route sends weight {other} elsewhere than {}'s subsets",
                g.name()
            ));
        }
        break;
    }
    if held.weight.is_none() && held.problem.is_none() {
        held.problem = Some("the VirtualService has no default (unmatched) route".into());
    }
    held
}
