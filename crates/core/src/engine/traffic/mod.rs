//! Mesh and ingress routers: the cluster objects that give the canary `weight`% of a
//! group's requests (and every request matching a header route), and how to read back what
//! such objects really hold. Pure: the engine applies and fetches them.
//!
//! For a group `g`, every router sends traffic to Services that select one track each:
//! `g-stable` and `g-canary` (made here, with the ports of the template's own Service `g`),
//! except Istio, whose DestinationRule subsets pick the track by label behind Service `g`.
//!
//! | router        | objects                                                          |
//! |---------------|------------------------------------------------------------------|
//! | `istio`       | DestinationRule `g` (subsets stable/canary), VirtualService ROUTE |
//! | `gateway-api` | Services g-stable/g-canary, HTTPRoute ROUTE                      |
//! | `nginx`       | Services, the stable Ingress ROUTE, the canary Ingress ROUTE-canary |
//!
//! ROUTE is `strategy.traffic.route`, the group's name by default. An object of that name
//! that already exists is adopted: server-side apply takes over the fields written here
//! (the route list, the weights) and leaves the rest (an Istio `gateways` list, TLS).

mod gateway_api;
mod istio;
mod nginx;
mod observe;

pub use observe::{expected, observe, unobserved};

use serde_json::{Value, json};

use crate::domain::group::{HeaderRoute, MatchKind};
use crate::domain::{InstanceGroup, TrafficRouter, labels};

/// The name of the route's catch-all rule, which carries the weights.
pub const PRIMARY: &str = "primary";

/// What a router is asked to hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Route<'a> {
    pub group: &'a InstanceGroup,
    pub weight: u8,
    pub header_routes: &'a [HeaderRoute],
    /// `spec.ports` of the template's Service `g` (node ports dropped).
    pub ports: Vec<Value>,
    /// The stable Ingress as it is in the cluster (nginx), to copy its rules.
    pub stable_ingress: Option<Value>,
}

/// The object a router's weights live in, to fetch for the read-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
}

/// What a router object holds, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Held {
    pub weight: Option<u8>,
    pub header_routes: Vec<String>,
    pub problem: Option<String>,
}

/// Whether `g`'s traffic settings are usable by its router, before anything is stored.
pub fn check_traffic(g: &InstanceGroup) -> Result<(), String> {
    let t = &g.spec.strategy.traffic;
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    };
    if let Some(r) = &t.route
        && !name_ok(r)
    {
        return Err(format!(
            "traffic.route '{r}' is not a Kubernetes object name"
        ));
    }
    if let Some(gw) = &t.gateway
        && !gw.split('/').all(name_ok)
    {
        return Err(format!(
            "traffic.gateway '{gw}' is not a name or namespace/name"
        ));
    }
    if let Some(h) = &t.host
        && (h.is_empty() || h.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(format!("traffic.host '{h}' is not a host name"));
    }
    if t.canary_replicas
        .is_some_and(|n| n > g.replicas().max(1) * 10)
    {
        return Err("traffic.canaryReplicas is more than ten times replicas".into());
    }
    if t.router != TrafficRouter::GatewayApi && t.gateway.is_some() {
        return Err(format!(
            "traffic.gateway is for router gateway-api, not {}",
            t.router.as_str()
        ));
    }
    for step in &g.spec.strategy.steps {
        if let crate::domain::Step::SetHeaderRoute(h) = step {
            supports(t.router, h)?;
        }
    }
    Ok(())
}

/// Whether `router` can express header route `h`.
fn supports(router: TrafficRouter, h: &HeaderRoute) -> Result<(), String> {
    h.check()?;
    let cookies = h.matches.iter().filter(|m| m.cookie.is_some()).count();
    if cookies > 1 {
        return Err(format!(
            "header route {}: at most one cookie condition per route",
            h.name
        ));
    }
    match router {
        TrafficRouter::Replicas => Err(format!(
            "header route {}: the replicas router cannot route by header (pods do not see headers); use istio, gateway-api or nginx",
            h.name
        )),
        TrafficRouter::Nginx => nginx::supports(h),
        TrafficRouter::Istio | TrafficRouter::GatewayApi => Ok(()),
    }
}

/// The route's name: `traffic.route`, or the group's.
pub fn route_name(g: &InstanceGroup) -> String {
    g.spec
        .strategy
        .traffic
        .route
        .clone()
        .unwrap_or_else(|| g.name().to_string())
}

pub fn stable_service(g: &InstanceGroup) -> String {
    format!("{}-stable", g.name())
}

pub fn canary_service(g: &InstanceGroup) -> String {
    format!("{}-canary", g.name())
}

/// The objects that make the router hold `route`, in the order to apply them (Services
/// before the routes that name them).
pub fn objects(router: TrafficRouter, route: &Route<'_>) -> Result<Vec<Value>, String> {
    for h in route.header_routes {
        supports(router, h)?;
    }
    match router {
        TrafficRouter::Replicas => Ok(Vec::new()),
        TrafficRouter::Istio => Ok(istio::objects(route)),
        TrafficRouter::GatewayApi => {
            let mut out = track_services(route);
            out.push(gateway_api::http_route(route));
            Ok(out)
        }
        TrafficRouter::Nginx => {
            let mut out = track_services(route);
            out.extend(nginx::ingresses(route)?);
            Ok(out)
        }
    }
}

/// The object whose weights are read back.
pub fn watched(router: TrafficRouter, g: &InstanceGroup) -> Option<Watched> {
    let name = route_name(g);
    match router {
        TrafficRouter::Replicas => None,
        TrafficRouter::Istio => Some(Watched {
            api_version: istio::API_VERSION,
            kind: "VirtualService",
            name,
        }),
        TrafficRouter::GatewayApi => Some(Watched {
            api_version: gateway_api::API_VERSION,
            kind: "HTTPRoute",
            name,
        }),
        TrafficRouter::Nginx => Some(Watched {
            api_version: "networking.k8s.io/v1",
            kind: "Ingress",
            name: nginx::canary_name(&name),
        }),
    }
}

/// What `object` (the [`watched`] one; `None`: it does not exist) holds for group `g`.
pub fn held(router: TrafficRouter, g: &InstanceGroup, object: Option<&Value>) -> Held {
    let Some(o) = object else {
        return Held {
            problem: watched(router, g).map(|w| format!("{} {} does not exist", w.kind, w.name)),
            ..Held::default()
        };
    };
    match router {
        TrafficRouter::Replicas => Held::default(),
        TrafficRouter::Istio => istio::held(g, o),
        TrafficRouter::GatewayApi => gateway_api::held(g, o),
        TrafficRouter::Nginx => nginx::held(o),
    }
}

/// The ports of the template's Service, without what the cluster assigned.
pub fn service_ports(service: &Value) -> Vec<Value> {
    service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| {
                    let mut p = p.as_object()?.clone();
                    p.remove("nodePort");
                    Some(Value::Object(p))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first port's number, which routes name.
fn first_port(route: &Route<'_>) -> Value {
    route
        .ports
        .first()
        .and_then(|p| p.get("port"))
        .cloned()
        .unwrap_or(json!(80))
}

fn meta(route: &Route<'_>, name: &str) -> Value {
    let g = route.group;
    json!({
        "name": name,
        "namespace": g.spec.namespace,
        "labels": {
            labels::GROUP: g.name(),
            labels::APP: g.app(),
            labels::MANAGED_BY: labels::MANAGER,
        },
    })
}

/// `g-stable` and `g-canary`: the template's ports, one track each.
fn track_services(route: &Route<'_>) -> Vec<Value> {
    let g = route.group;
    [("stable", stable_service(g)), ("canary", canary_service(g))]
        .into_iter()
        .map(|(track, name)| {
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta(route, &name),
                "spec": {
                    "selector": { labels::GROUP: g.name(), labels::TRACK: track },
                    "ports": route.ports,
                },
            })
        })
        .collect()
}

/// A regex over the `Cookie` header for cookie `name` whose value matches `kind`/`value`.
fn cookie_regex(name: &str, kind: MatchKind, value: &str) -> String {
    let v = match kind {
        MatchKind::Exact => regex::escape(value),
        MatchKind::Prefix => format!("{}[^;]*", regex::escape(value)),
        MatchKind::Regex => format!("(?:{value})"),
    };
    format!("^(.*?;\\s*)?{}={v}(;.*)?$", regex::escape(name))
}

/// The weights as a percentage of the canary, from the two backends' raw weights.
fn percent(stable: u64, canary: u64) -> Option<u8> {
    let all = stable + canary;
    if all == 0 {
        return None;
    }
    Some(((canary * 100) as f64 / all as f64).round() as u8)
}

#[cfg(test)]
mod tests;
