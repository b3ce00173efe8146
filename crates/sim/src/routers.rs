//! How the simulated clients' requests reach pods: through the traffic routers when a
//! namespace has them (Istio VirtualService, Gateway API HTTPRoute, ingress-nginx canary
//! Ingress), else by Services alone. Pod metrics ([`super::metrics`]) ask for a pod's
//! share at every scrape, so a weight change shows in the next one.
//!
//! The rules, with standard upstream semantics (flightdeck's engine writes these objects):
//!
//! - **Entries.** Every router receives `traffic.rps` requests a second (200 unless the
//!   scenario says): a VirtualService, an HTTPRoute, an Ingress that is not a canary (with
//!   its canary Ingress). Requests are split into classes by the scenario's
//!   `traffic.headers` shares (each class carries one header; the rest none); each class
//!   is routed on its own.
//! - **Destinations.** Routed traffic for a Service goes evenly to the ready pods that
//!   Service selects, narrowed by an Istio subset's labels. A backend Service is taken
//!   literally: with an HTTPRoute or a stable Ingress whose backend Service `<g>` selects
//!   both tracks, canary pods also get their pod-share of the "stable" weight, exactly as
//!   on a real cluster. For a clean split the stable backend must be a Service that
//!   selects only the stable track (e.g. `<g>-stable` with `flightdeck.dev/track:
//!   stable`); Istio does not need one, its subsets narrow `<g>` by labels.
//! - **Istio.** VirtualService `spec.http[]` rules in order; the first whose `match[]`
//!   (any of them; a rule without `match` takes everything) fits the request routes it by
//!   `route[].weight` (a lone destination gets all; weights are normalised) to
//!   `destination.host` (a Service of the namespace: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc…`)
//!   and `subset` (a DestinationRule of that host, `spec.subsets[].labels`). A match's
//!   `headers` must all fit (`exact`, `prefix`, `regex` — whole value, like RE2 in Envoy)
//!   and its `withoutHeaders` must not; other conditions (uri, method…) are taken as met.
//!   The VirtualService takes over the traffic of the Services in its `hosts`.
//! - **Gateway API.** HTTPRoute `spec.rules[]`: of the rules with a `matches[]` entry that
//!   fits (no `matches` means one that fits everything), the one whose entry has the most
//!   header matches wins, earlier rules on a tie (the spec's precedence, paths taken as
//!   equal). Header matches are `Exact` (default) or `RegularExpression` (whole value).
//!   `backendRefs[].weight` (default 1) split over the Services named.
//! - **nginx.** An Ingress with `nginx.ingress.kubernetes.io/canary: "true"` is the canary
//!   of the non-canary Ingress with the same first host. Per request: `canary-by-header`
//!   (with `canary-by-header-value`, or `canary-by-header-pattern`, or the values
//!   `always`/`never`), then `canary-by-cookie` (`always`/`never`), then `canary-weight`
//!   out of `canary-weight-total` (100). A backend is the first path's
//!   `backend.service.name` (or `defaultBackend`).
//! - **Who is routed.** A pod that a Service named by a router (host, destination or
//!   backend) selects gets only routed traffic — nothing when its weight is 0. Other pods
//!   keep the plain rule: the first Service (by name) that selects the pod shares `rps`
//!   evenly over its ready pods; a pod no Service selects gets [`LONE_POD_RPS`]. Without
//!   router objects this is all there is.
//! - Traffic a rule sends nowhere (no such Service, no ready pod, no rule fits) is lost,
//!   as the 404s and 503s of a real proxy are.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use serde_json::{Map, Value};

use super::custom;
use super::metrics::{LONE_POD_RPS, SERVICE_RPS, is_ready, selector_matches};
use super::resource::{Kind, str_at};
use super::scenario::TrafficSpec;
use super::store::{Obj, Store};

const NGINX: &str = "nginx.ingress.kubernetes.io/";

/// One class of requests: the header it carries, if any.
type Header<'a> = Option<(&'a str, &'a str)>;

/// Requests a second the (ready) `pod` receives.
pub fn pod_rate(store: &Store, spec: &TrafficSpec, pod: &Value) -> f64 {
    let rps = spec.rps.unwrap_or(SERVICE_RPS);
    let ns = str_at(pod, "/metadata/namespace");
    let labels = pod.pointer("/metadata/labels").unwrap_or(&Value::Null);
    let services = store.list(Kind::Service, Some(ns)).0;
    let routers = routers_in(store, ns);
    let governed: HashSet<&str> = routers.iter().flat_map(Router::services).collect();
    let mut split = Split {
        services: &services,
        pods: store.list(Kind::Pod, Some(ns)).0,
        counts: HashMap::new(),
    };
    let routed = services.iter().any(|s| {
        governed.contains(str_at(s, "/metadata/name"))
            && s.pointer("/spec/selector")
                .is_some_and(|sel| selector_matches(sel, labels))
    });
    if !routed {
        let Some(first) = services.iter().find(|s| {
            s.pointer("/spec/selector")
                .is_some_and(|sel| selector_matches(sel, labels))
        }) else {
            return LONE_POD_RPS;
        };
        let dest = Dest::to(str_at(first, "/metadata/name"));
        return rps / split.ready(&dest).max(1) as f64;
    }
    let mut rate = 0.0;
    for (share, header) in classes(spec) {
        for router in &routers {
            for (dest, fraction) in router.route(header) {
                if split.reaches(&dest, labels) {
                    rate += rps * share * fraction / split.ready(&dest).max(1) as f64;
                }
            }
        }
    }
    rate
}

/// The request classes: each header share, then the rest without headers.
fn classes(spec: &TrafficSpec) -> Vec<(f64, Header<'_>)> {
    let mut out: Vec<(f64, Header<'_>)> = spec
        .headers
        .iter()
        .map(|h| (h.share, Some((h.name.as_str(), h.value.as_str()))))
        .collect();
    let rest = 1.0 - spec.headers.iter().map(|h| h.share).sum::<f64>();
    if rest > 0.0 {
        out.push((rest, None));
    }
    out
}

/// Where routed traffic goes: the ready pods a Service selects that also carry `labels`.
/// `service: None` is nowhere (an unknown subset).
#[derive(Debug, Clone, PartialEq)]
struct Dest {
    service: Option<String>,
    labels: Map<String, Value>,
}

impl Dest {
    fn to(service: &str) -> Dest {
        Dest {
            service: Some(service.to_string()),
            labels: Map::new(),
        }
    }

    fn nowhere() -> Dest {
        Dest {
            service: None,
            labels: Map::new(),
        }
    }
}

/// The namespace's Services and pods, with the ready-pod count of each destination.
struct Split<'a> {
    services: &'a [Obj],
    /// Every pod of the namespace, ready or not (readiness is checked per destination).
    pods: Vec<Obj>,
    counts: HashMap<String, usize>,
}

impl Split<'_> {
    /// The selector of `dest`'s Service, if there is such a Service.
    fn selector(&self, dest: &Dest) -> Option<&Value> {
        let name = dest.service.as_deref()?;
        self.services
            .iter()
            .find(|s| str_at(s, "/metadata/name") == name)?
            .pointer("/spec/selector")
    }

    fn reaches(&self, dest: &Dest, labels: &Value) -> bool {
        self.selector(dest)
            .is_some_and(|selector| lands(selector, dest, labels))
    }

    fn ready(&mut self, dest: &Dest) -> usize {
        let key = format!("{:?}/{:?}", dest.service, dest.labels);
        if let Some(n) = self.counts.get(&key) {
            return *n;
        }
        // The Service is looked up once, not once per pod: a namespace of a large estate
        // has hundreds of Services and thousands of pods, and every scrape asks.
        let n = self.selector(dest).map_or(0, |selector| {
            self.pods
                .iter()
                .filter(|p| {
                    let labels = p.pointer("/metadata/labels").unwrap_or(&Value::Null);
                    // Readiness is read only for the pods the destination selects.
                    lands(selector, dest, labels) && is_ready(p)
                })
                .count()
        });
        self.counts.insert(key, n);
        n
    }
}

/// Whether a pod with `labels` is one `dest` sends to, given its Service's `selector`.
fn lands(selector: &Value, dest: &Dest, labels: &Value) -> bool {
    selector_matches(selector, labels) && dest.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A routing rule: the match conditions as the object spells them (none: everything) and
/// the weighted destinations.
struct Rule {
    matches: Vec<Value>,
    dests: Vec<(Dest, f64)>,
}

enum Router {
    Istio {
        hosts: Vec<String>,
        rules: Vec<Rule>,
    },
    Gateway {
        rules: Vec<Rule>,
    },
    Nginx {
        stable: Dest,
        canary: Option<(Dest, Map<String, Value>)>,
    },
}

impl Router {
    /// The Services whose traffic this router decides.
    fn services(&self) -> Vec<&str> {
        fn dests(rules: &[Rule]) -> Vec<&str> {
            rules
                .iter()
                .flat_map(|r| r.dests.iter().filter_map(|(d, _)| d.service.as_deref()))
                .collect()
        }
        match self {
            Router::Istio { hosts, rules } => {
                let mut out: Vec<&str> = hosts.iter().map(String::as_str).collect();
                out.extend(dests(rules));
                out
            }
            Router::Gateway { rules } => dests(rules),
            Router::Nginx { stable, canary } => stable
                .service
                .iter()
                .chain(canary.iter().filter_map(|(d, _)| d.service.as_ref()))
                .map(String::as_str)
                .collect(),
        }
    }

    /// Where one class of requests goes, as fractions of it.
    fn route(&self, header: Header<'_>) -> Vec<(Dest, f64)> {
        match self {
            Router::Istio { rules, .. } => rules
                .iter()
                .find(|r| r.matches.is_empty() || r.matches.iter().any(|m| istio_match(m, header)))
                .map(|r| normalised(&r.dests))
                .unwrap_or_default(),
            Router::Gateway { rules } => {
                let best = rules
                    .iter()
                    .enumerate()
                    .filter_map(|(i, rule)| {
                        let fits = if rule.matches.is_empty() {
                            Some(0)
                        } else {
                            rule.matches
                                .iter()
                                .filter(|m| gateway_match(m, header))
                                .map(|m| {
                                    m.get("headers")
                                        .and_then(Value::as_array)
                                        .map_or(0, Vec::len)
                                })
                                .max()
                        };
                        fits.map(|n| (n, std::cmp::Reverse(i), &rule.dests))
                    })
                    .max_by_key(|(n, i, _)| (*n, *i));
                best.map(|(_, _, dests)| normalised(dests))
                    .unwrap_or_default()
            }
            Router::Nginx { stable, canary } => {
                let Some((to, notes)) = canary else {
                    return vec![(stable.clone(), 1.0)];
                };
                let p = nginx_canary_share(notes, header);
                vec![(to.clone(), p), (stable.clone(), 1.0 - p)]
            }
        }
    }
}

fn normalised(dests: &[(Dest, f64)]) -> Vec<(Dest, f64)> {
    let total: f64 = dests.iter().map(|(_, w)| w.max(0.0)).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    dests
        .iter()
        .map(|(d, w)| (d.clone(), w.max(0.0) / total))
        .collect()
}

/// The routers of a namespace, from the objects stored there.
fn routers_in(store: &Store, ns: &str) -> Vec<Router> {
    let list = |api_version: &str, kind: &str| -> Vec<Obj> {
        custom::by_kind(store, api_version, kind)
            .map(|s| store.list(s.kind, Some(ns)).0)
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let rules = list("networking.istio.io/v1", "DestinationRule");
    for vs in list("networking.istio.io/v1", "VirtualService") {
        out.push(istio(&vs, ns, &rules));
    }
    for route in list("gateway.networking.k8s.io/v1", "HTTPRoute") {
        out.push(gateway(&route, ns));
    }
    out.extend(nginx(&store.list(Kind::Ingress, Some(ns)).0));
    out
}

/// The Service of the namespace an Istio host names.
fn local_service(host: &str, ns: &str) -> Option<String> {
    let short = host
        .strip_suffix(".cluster.local")
        .unwrap_or(host)
        .trim_end_matches(".svc");
    match short.split_once('.') {
        None if !short.contains('*') && !short.is_empty() => Some(short.to_string()),
        Some((name, their_ns)) if their_ns == ns => Some(name.to_string()),
        _ => None,
    }
}

fn array<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn istio(vs: &Value, ns: &str, destination_rules: &[Obj]) -> Router {
    let subset = |service: &str, name: &str| -> Option<Map<String, Value>> {
        destination_rules
            .iter()
            .filter(|dr| local_service(str_at(dr, "/spec/host"), ns).as_deref() == Some(service))
            .flat_map(|dr| array(dr, "/spec/subsets"))
            .find(|s| str_at(s, "/name") == name)
            .map(|s| {
                s.get("labels")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            })
    };
    let rules = array(vs, "/spec/http")
        .iter()
        .map(|rule| {
            let route = array(rule, "/route");
            let dests = route
                .iter()
                .map(|r| {
                    let service = local_service(str_at(r, "/destination/host"), ns);
                    let dest = match (service, str_at(r, "/destination/subset")) {
                        (Some(s), "") => Dest::to(&s),
                        (Some(s), name) => match subset(&s, name) {
                            Some(labels) => Dest {
                                service: Some(s),
                                labels,
                            },
                            None => Dest::nowhere(),
                        },
                        (None, _) => Dest::nowhere(),
                    };
                    let weight = match r.get("weight").and_then(Value::as_f64) {
                        Some(w) => w,
                        None if route.len() == 1 => 100.0,
                        None => 0.0,
                    };
                    (dest, weight)
                })
                .collect();
            Rule {
                matches: array(rule, "/match").to_vec(),
                dests,
            }
        })
        .collect();
    let hosts = array(vs, "/spec/hosts")
        .iter()
        .filter_map(|h| local_service(h.as_str()?, ns))
        .collect();
    Router::Istio { hosts, rules }
}

/// A header the request carries, by case-insensitive name.
fn header_value<'a>(header: Header<'a>, name: &str) -> Option<&'a str> {
    header
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A regular expression that must match the whole value; an invalid one matches nothing.
fn full_match(pattern: &str, value: &str) -> bool {
    Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
}

/// Istio's StringMatch (`exact`, `prefix`, `regex`).
fn string_match(m: &Value, value: &str) -> bool {
    if let Some(e) = m.get("exact").and_then(Value::as_str) {
        value == e
    } else if let Some(p) = m.get("prefix").and_then(Value::as_str) {
        value.starts_with(p)
    } else if let Some(r) = m.get("regex").and_then(Value::as_str) {
        full_match(r, value)
    } else {
        // An empty StringMatch asks only that the header be present.
        true
    }
}

fn istio_match(m: &Value, header: Header<'_>) -> bool {
    let headers_fit = m
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(name, sm)| header_value(header, name).is_some_and(|v| string_match(sm, v)));
    let without_fits = m
        .get("withoutHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(name, sm)| !header_value(header, name).is_some_and(|v| string_match(sm, v)));
    headers_fit && without_fits
}

fn gateway(route: &Value, ns: &str) -> Router {
    let rules = array(route, "/spec/rules")
        .iter()
        .map(|rule| {
            let dests = array(rule, "/backendRefs")
                .iter()
                .map(|b| {
                    let kind = b.get("kind").and_then(Value::as_str).unwrap_or("Service");
                    let their_ns = b.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                    let dest =
                        if kind == "Service" && str_at(b, "/group").is_empty() && their_ns == ns {
                            Dest::to(str_at(b, "/name"))
                        } else {
                            Dest::nowhere()
                        };
                    (dest, b.get("weight").and_then(Value::as_f64).unwrap_or(1.0))
                })
                .collect();
            Rule {
                matches: array(rule, "/matches").to_vec(),
                dests,
            }
        })
        .collect();
    Router::Gateway { rules }
}

fn gateway_match(m: &Value, header: Header<'_>) -> bool {
    array(m, "/headers").iter().all(|h| {
        header_value(header, str_at(h, "/name")).is_some_and(|v| {
            let want = str_at(h, "/value");
            match h.get("type").and_then(Value::as_str).unwrap_or("Exact") {
                "RegularExpression" => full_match(want, v),
                _ => v == want,
            }
        })
    })
}

fn annotation<'a>(ing: &'a Value, key: &str) -> Option<&'a str> {
    ing.pointer("/metadata/annotations")?
        .get(format!("{NGINX}{key}"))?
        .as_str()
}

/// The Service an Ingress sends its traffic to.
fn ingress_backend(ing: &Value) -> Dest {
    let name = ing
        .pointer("/spec/rules/0/http/paths/0/backend/service/name")
        .or_else(|| ing.pointer("/spec/defaultBackend/service/name"))
        .and_then(Value::as_str);
    name.map_or_else(Dest::nowhere, Dest::to)
}

fn nginx(ingresses: &[Obj]) -> Vec<Router> {
    let is_canary = |i: &Value| annotation(i, "canary") == Some("true");
    let host = |i: &Value| str_at(i, "/spec/rules/0/host").to_string();
    ingresses
        .iter()
        .filter(|i| !is_canary(i))
        .map(|main| {
            let canary = ingresses
                .iter()
                .find(|c| is_canary(c) && host(c) == host(main))
                .map(|c| {
                    let notes = c
                        .pointer("/metadata/annotations")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    (ingress_backend(c), notes)
                });
            Router::Nginx {
                stable: ingress_backend(main),
                canary,
            }
        })
        .collect()
}

/// The fraction of one class of requests ingress-nginx sends to the canary.
fn nginx_canary_share(notes: &Map<String, Value>, header: Header<'_>) -> f64 {
    let note = |k: &str| notes.get(&format!("{NGINX}{k}")).and_then(Value::as_str);
    if let Some(name) = note("canary-by-header")
        && let Some(v) = header_value(header, name)
    {
        if let Some(want) = note("canary-by-header-value") {
            if v == want {
                return 1.0;
            }
        } else if let Some(pattern) = note("canary-by-header-pattern") {
            if Regex::new(pattern).is_ok_and(|re| re.is_match(v)) {
                return 1.0;
            }
        } else if v == "always" {
            return 1.0;
        } else if v == "never" {
            return 0.0;
        }
    }
    if let Some(name) = note("canary-by-cookie")
        && let Some(cookies) = header_value(header, "cookie")
    {
        let value = cookies
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v);
        match value {
            Some("always") => return 1.0,
            Some("never") => return 0.0,
            _ => {}
        }
    }
    let number = |k: &str, default: f64| {
        note(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(default)
    };
    let total = number("canary-weight-total", 100.0);
    if total <= 0.0 {
        return 0.0;
    }
    (number("canary-weight", 0.0) / total).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shares(router: &Router, header: Header<'_>) -> Vec<(String, f64)> {
        router
            .route(header)
            .into_iter()
            .map(|(d, f)| {
                let track = d
                    .labels
                    .get("flightdeck.dev/track")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                (
                    format!(
                        "{}{}",
                        d.service.unwrap_or_default(),
                        if track.is_empty() {
                            String::new()
                        } else {
                            format!("/{track}")
                        }
                    ),
                    f,
                )
            })
            .collect()
    }

    #[test]
    fn istio_routes_by_first_matching_rule_and_weights() {
        let dr: Obj = std::sync::Arc::new(crate::store::Stored::new(
            json!({"spec": {"host": "web", "subsets": [
            {"name": "stable", "labels": {"flightdeck.dev/track": "stable"}},
            {"name": "canary", "labels": {"flightdeck.dev/track": "canary"}}]}}),
        ));
        let vs = json!({"spec": {"hosts": ["web.demo.svc.cluster.local"], "http": [
            {"match": [{"headers": {"x-canary": {"exact": "always"}}}, {"headers": {"cookie": {"regex": ".*canary=always.*"}}}],
             "route": [{"destination": {"host": "web", "subset": "canary"}}]},
            {"route": [{"destination": {"host": "web", "subset": "stable"}, "weight": 90},
                       {"destination": {"host": "web.demo", "subset": "canary"}, "weight": 10}]}]}});
        let r = istio(&vs, "demo", &[dr]);
        assert_eq!(r.services(), ["web", "web", "web", "web"]);
        assert_eq!(
            shares(&r, None),
            [("web/stable".into(), 0.9), ("web/canary".into(), 0.1)]
        );
        assert_eq!(
            shares(&r, Some(("X-Canary", "always"))),
            [("web/canary".into(), 1.0)]
        );
        assert_eq!(
            shares(&r, Some(("cookie", "a=b; canary=always"))),
            [("web/canary".into(), 1.0)]
        );
        assert_eq!(shares(&r, Some(("x-canary", "nope"))).len(), 2);
    }

    #[test]
    fn gateway_prefers_the_rule_with_most_header_matches() {
        let route = json!({"spec": {"rules": [
            {"backendRefs": [{"name": "web-stable", "port": 80, "weight": 75}, {"name": "web-canary", "port": 80, "weight": 25}]},
            {"matches": [{"headers": [{"name": "x-canary", "value": "alw.*", "type": "RegularExpression"}]}],
             "backendRefs": [{"name": "web-canary", "port": 80}]}]}});
        let r = gateway(&route, "demo");
        assert_eq!(
            shares(&r, None),
            [("web-stable".into(), 0.75), ("web-canary".into(), 0.25)]
        );
        assert_eq!(
            shares(&r, Some(("x-canary", "always"))),
            [("web-canary".into(), 1.0)]
        );
    }

    #[test]
    fn nginx_canary_by_header_then_cookie_then_weight() {
        let notes = |extra: Value| -> Map<String, Value> {
            let mut m = json!({"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "20"});
            for (k, v) in extra.as_object().unwrap() {
                m[format!("{NGINX}{k}")] = v.clone();
            }
            m.as_object().unwrap().clone()
        };
        let plain = notes(json!({}));
        assert_eq!(nginx_canary_share(&plain, None), 0.2);
        let by_header = notes(json!({"canary-by-header": "x-canary"}));
        assert_eq!(
            nginx_canary_share(&by_header, Some(("x-canary", "always"))),
            1.0
        );
        assert_eq!(
            nginx_canary_share(&by_header, Some(("x-canary", "never"))),
            0.0
        );
        assert_eq!(
            nginx_canary_share(&by_header, Some(("x-canary", "maybe"))),
            0.2
        );
        let by_value =
            notes(json!({"canary-by-header": "x-canary", "canary-by-header-value": "yes"}));
        assert_eq!(
            nginx_canary_share(&by_value, Some(("x-canary", "yes"))),
            1.0
        );
        assert_eq!(
            nginx_canary_share(&by_value, Some(("x-canary", "always"))),
            0.2
        );
        let by_cookie = notes(json!({"canary-by-cookie": "canary"}));
        assert_eq!(
            nginx_canary_share(&by_cookie, Some(("Cookie", "a=1; canary=always"))),
            1.0
        );
        let total = notes(json!({"canary-weight-total": "1000", "canary-weight": "5"}));
        assert_eq!(nginx_canary_share(&total, None), 0.005);
    }

    #[test]
    fn hosts_name_services_of_the_namespace() {
        assert_eq!(local_service("web", "demo").as_deref(), Some("web"));
        assert_eq!(
            local_service("web.demo.svc.cluster.local", "demo").as_deref(),
            Some("web")
        );
        assert_eq!(local_service("web.other", "demo"), None);
        assert_eq!(local_service("*.example.com", "demo"), None);
    }
}
