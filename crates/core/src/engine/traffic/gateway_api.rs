//! Gateway API: an HTTPRoute whose last rule splits between the `g-stable` and `g-canary`
//! Services by weight, after one rule per header route to the canary.

use serde_json::{Value, json};

use super::{
    Held, Route, canary_service, cookie_regex, first_port, meta, percent, route_name,
    stable_service,
};
use crate::domain::InstanceGroup;
use crate::domain::group::{HeaderRoute, MatchKind};

pub const API_VERSION: &str = crate::domain::group::GATEWAY_API;

pub fn http_route(route: &Route<'_>) -> Value {
    let g = route.group;
    let port = first_port(route);
    let backend =
        |name: String, weight: u32| json!({ "name": name, "port": port, "weight": weight });
    let mut rules: Vec<Value> = route
        .header_routes
        .iter()
        .filter(|h| !h.matches.is_empty())
        .map(|h| {
            json!({
                "matches": [{ "headers": headers(h) }],
                "backendRefs": [backend(canary_service(g), 1)],
            })
        })
        .collect();
    let w = u32::from(route.weight);
    rules.push(json!({
        "backendRefs": [
            backend(stable_service(g), 100 - w),
            backend(canary_service(g), w),
        ],
    }));
    let t = &g.spec.strategy.traffic;
    let mut spec = json!({ "rules": rules });
    if let Some(gw) = &t.gateway {
        let parent = match gw.split_once('/') {
            Some((ns, name)) => json!({ "name": name, "namespace": ns }),
            None => json!({ "name": gw }),
        };
        spec["parentRefs"] = json!([parent]);
    }
    if let Some(h) = &t.host {
        spec["hostnames"] = json!([h]);
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": meta(route, &route_name(g)),
        "spec": spec,
    })
}

fn headers(h: &HeaderRoute) -> Vec<Value> {
    h.matches
        .iter()
        .filter_map(|m| m.parts().ok())
        .map(|(cookie, name, kind, value)| {
            if cookie {
                return json!({
                    "name": "Cookie",
                    "type": "RegularExpression",
                    "value": cookie_regex(name, kind, value),
                });
            }
            match kind {
                MatchKind::Exact => json!({ "name": name, "type": "Exact", "value": value }),
                MatchKind::Prefix => json!({
                    "name": name,
                    "type": "RegularExpression",
                    "value": format!("^{}.*", regex::escape(value)),
                }),
                MatchKind::Regex => {
                    json!({ "name": name, "type": "RegularExpression", "value": value })
                }
            }
        })
        .collect()
}

pub fn held(g: &InstanceGroup, route: &Value) -> Held {
    let Some(rules) = route.pointer("/spec/rules").and_then(Value::as_array) else {
        return Held {
            problem: Some("the HTTPRoute has no rules".into()),
            ..Held::default()
        };
    };
    let mut held = Held::default();
    let (stable_name, canary_name) = (stable_service(g), canary_service(g));
    for (i, rule) in rules.iter().enumerate() {
        let refs = rule
            .get("backendRefs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let matched = rule
            .get("matches")
            .and_then(Value::as_array)
            .is_some_and(|m| !m.is_empty());
        if matched {
            held.header_routes.push(format!("rule {i}"));
            continue;
        }
        let (mut stable, mut canary, mut other) = (0, 0, 0);
        for r in &refs {
            let w = r.get("weight").and_then(Value::as_u64).unwrap_or(1);
            match r.get("name").and_then(Value::as_str) {
                Some(n) if n == stable_name => stable += w,
                Some(n) if n == canary_name => canary += w,
                _ => other += w,
            }
        }
        held.weight = percent(stable + other, canary);
        if other > 0 {
            held.problem = Some(format!(
                "the HTTPRoute's default rule sends weight {other} to other backends than {stable_name} and {canary_name}"
            ));
        }
        break;
    }
    if held.weight.is_none() && held.problem.is_none() {
        held.problem = Some("the HTTPRoute has no default (unmatched) rule".into());
    }
    held
}
