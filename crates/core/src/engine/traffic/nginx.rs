//! ingress-nginx: the stable Ingress (adopted, its backends pointed at `g-stable`; or made
//! from `traffic.host`) and a canary Ingress beside it with the same rules, its backends at
//! `g-canary` and the canary annotations. nginx has one header and one cookie condition per
//! canary Ingress, and a cookie routes to the canary only when its value is `always`.

use serde_json::{Value, json};

use super::{Held, Route, canary_service, first_port, meta, route_name, stable_service};
use crate::domain::group::{HeaderRoute, MatchKind};

const CANARY: &str = "nginx.ingress.kubernetes.io/canary";
const WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";
const BY_HEADER: &str = "nginx.ingress.kubernetes.io/canary-by-header";
const BY_HEADER_VALUE: &str = "nginx.ingress.kubernetes.io/canary-by-header-value";
const BY_HEADER_PATTERN: &str = "nginx.ingress.kubernetes.io/canary-by-header-pattern";
const BY_COOKIE: &str = "nginx.ingress.kubernetes.io/canary-by-cookie";

pub fn canary_name(route: &str) -> String {
    format!("{route}-canary")
}

/// What nginx's annotations can say: one header (exact or pattern) and one cookie whose
/// value is `always`, for one route.
pub fn supports(h: &HeaderRoute) -> Result<(), String> {
    let headers = h.matches.iter().filter(|m| m.header.is_some()).count();
    if headers > 1 {
        return Err(format!(
            "header route {}: nginx matches one header per canary (canary-by-header); use istio or gateway-api for more",
            h.name
        ));
    }
    for m in &h.matches {
        if let Ok((true, name, kind, value)) = m.parts()
            && !(kind == MatchKind::Exact && value == "always")
        {
            return Err(format!(
                "header route {}: nginx sends cookie {name} to the canary only when its value is \"always\"",
                h.name
            ));
        }
    }
    Ok(())
}

pub fn ingresses(route: &Route<'_>) -> Result<Vec<Value>, String> {
    let g = route.group;
    let live: Vec<&HeaderRoute> = route
        .header_routes
        .iter()
        .filter(|h| !h.matches.is_empty())
        .collect();
    if live.len() > 1 {
        return Err(format!(
            "nginx holds one header route per canary; {} are set ({})",
            live.len(),
            live.iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let port = first_port(route);
    let rules = match (&route.stable_ingress, &g.spec.strategy.traffic.host) {
        (Some(ing), _) => ing
            .pointer("/spec/rules")
            .cloned()
            .unwrap_or_else(|| json!([])),
        (None, Some(host)) => json!([{
            "host": host,
            "http": { "paths": [{
                "path": "/",
                "pathType": "Prefix",
                "backend": { "service": { "name": stable_service(g), "port": { "number": port } } },
            }] },
        }]),
        (None, None) => {
            return Err(format!(
                "router nginx needs the stable Ingress {} in {} or traffic.host to make one",
                route_name(g),
                g.spec.namespace
            ));
        }
    };
    let stable_rules = retarget(&rules, &stable_service(g));
    let canary_rules = retarget(&rules, &canary_service(g));
    let class = route
        .stable_ingress
        .as_ref()
        .and_then(|i| i.pointer("/spec/ingressClassName").cloned());
    let mut stable_spec = json!({ "rules": stable_rules });
    let mut canary_spec = json!({ "rules": canary_rules });
    if let Some(c) = class {
        stable_spec["ingressClassName"] = c.clone();
        canary_spec["ingressClassName"] = c;
    }
    let name = route_name(g);
    let mut canary_meta = meta(route, &canary_name(&name));
    let mut notes = serde_json::Map::new();
    notes.insert(CANARY.into(), json!("true"));
    notes.insert(WEIGHT.into(), json!(route.weight.to_string()));
    if let Some(h) = live.first() {
        for m in &h.matches {
            match m.parts() {
                Ok((false, header, MatchKind::Exact, v)) => {
                    notes.insert(BY_HEADER.into(), json!(header));
                    notes.insert(BY_HEADER_VALUE.into(), json!(v));
                }
                Ok((false, header, MatchKind::Prefix, v)) => {
                    notes.insert(BY_HEADER.into(), json!(header));
                    notes.insert(
                        BY_HEADER_PATTERN.into(),
                        json!(format!("^{}.*", regex::escape(v))),
                    );
                }
                Ok((false, header, MatchKind::Regex, v)) => {
                    notes.insert(BY_HEADER.into(), json!(header));
                    notes.insert(BY_HEADER_PATTERN.into(), json!(v));
                }
                Ok((true, cookie, _, _)) => {
                    notes.insert(BY_COOKIE.into(), json!(cookie));
                }
                Err(e) => return Err(e),
            }
        }
    }
    canary_meta["annotations"] = Value::Object(notes);
    Ok(vec![
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta(route, &name),
            "spec": stable_spec,
        }),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": canary_meta,
            "spec": canary_spec,
        }),
    ])
}

/// `rules` with every backend Service renamed to `service` (ports kept).
fn retarget(rules: &Value, service: &str) -> Value {
    let mut rules = rules.clone();
    for rule in rules.as_array_mut().into_iter().flatten() {
        for path in rule
            .pointer_mut("/http/paths")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(name) = path.pointer_mut("/backend/service/name") {
                *name = json!(service);
            }
        }
    }
    rules
}

pub fn held(canary: &Value) -> Held {
    let notes = canary.pointer("/metadata/annotations");
    let get = |k: &str| notes.and_then(|n| n.get(k)).and_then(Value::as_str);
    let mut held = Held::default();
    if get(CANARY) != Some("true") {
        held.problem = Some("the canary Ingress is not marked canary: \"true\"".into());
        return held;
    }
    held.weight = match get(WEIGHT) {
        None => Some(0),
        Some(w) => match w.parse::<u8>() {
            Ok(w) if w <= 100 => Some(w),
            _ => {
                held.problem = Some(format!("canary-weight is {w:?}, not 0–100"));
                None
            }
        },
    };
    if let Some(h) = get(BY_HEADER) {
        held.header_routes.push(format!("header {h}"));
    }
    if let Some(c) = get(BY_COOKIE) {
        held.header_routes.push(format!("cookie {c}"));
    }
    held
}
