use serde_json::{Value, json};

use super::*;
use crate::domain::group::RouteMatch;

fn group(router: &str, extra: &str) -> InstanceGroup {
    serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{ name: web, app: shop }}\n\
         spec: {{ cluster: c, namespace: shop, template: t, params: {{ replicas: 10 }},\
         strategy: {{ traffic: {{ router: {router} {extra} }} }} }}"
    ))
    .unwrap()
}

fn beta() -> HeaderRoute {
    HeaderRoute {
        name: "beta".into(),
        matches: vec![RouteMatch {
            header: Some("X-Beta".into()),
            cookie: None,
            exact: Some("1".into()),
            prefix: None,
            regex: None,
        }],
    }
}

fn route<'a>(g: &'a InstanceGroup, weight: u8, routes: &'a [HeaderRoute]) -> Route<'a> {
    Route {
        group: g,
        weight,
        header_routes: routes,
        ports: vec![json!({ "name": "main", "port": 9000, "targetPort": 9000 })],
        stable_ingress: None,
    }
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {objs:#?}"))
}

#[test]
fn istio_splits_by_subset_weights_after_the_header_routes() {
    let g = group("istio", "");
    let routes = [beta()];
    let objs = objects(TrafficRouter::Istio, &route(&g, 33, &routes)).unwrap();
    let dr = find(&objs, "DestinationRule", "web");
    assert_eq!(dr["spec"]["subsets"][1]["labels"][labels::TRACK], "canary");
    let vs = find(&objs, "VirtualService", "web");
    let http = vs["spec"]["http"].as_array().unwrap();
    assert_eq!(http[0]["match"][0]["headers"]["x-beta"]["exact"], "1");
    assert_eq!(http[0]["route"][0]["destination"]["subset"], "canary");
    assert_eq!(http[1]["route"][0]["weight"], 67);
    assert_eq!(http[1]["route"][1]["weight"], 33);
    let held = held(TrafficRouter::Istio, &g, Some(vs));
    assert_eq!(held.weight, Some(33));
    assert_eq!(held.header_routes, ["beta"]);
    assert_eq!(held.problem, None);
}

#[test]
fn gateway_api_weights_the_track_services() {
    let g = group("gateway-api", ", gateway: infra/edge, host: shop.example");
    let objs = objects(TrafficRouter::GatewayApi, &route(&g, 5, &[])).unwrap();
    let canary = find(&objs, "Service", "web-canary");
    assert_eq!(canary["spec"]["selector"][labels::TRACK], "canary");
    assert_eq!(canary["spec"]["ports"][0]["port"], 9000);
    let hr = find(&objs, "HTTPRoute", "web");
    assert_eq!(
        hr["spec"]["parentRefs"][0],
        json!({"name": "edge", "namespace": "infra"})
    );
    assert_eq!(hr["spec"]["hostnames"][0], "shop.example");
    let refs = &hr["spec"]["rules"][0]["backendRefs"];
    assert_eq!(
        (refs[0]["weight"].clone(), refs[1]["weight"].clone()),
        (json!(95), json!(5))
    );
    assert_eq!(
        held(TrafficRouter::GatewayApi, &g, Some(hr)).weight,
        Some(5)
    );
}

#[test]
fn nginx_puts_a_canary_ingress_beside_the_stable_one() {
    let g = group("nginx", "");
    let mut r = route(&g, 50, &[]);
    assert!(
        objects(TrafficRouter::Nginx, &r)
            .unwrap_err()
            .contains("needs the stable Ingress web")
    );
    r.stable_ingress = Some(json!({ "spec": { "ingressClassName": "nginx", "rules": [
        { "host": "shop.example", "http": { "paths": [
            { "path": "/", "pathType": "Prefix",
              "backend": { "service": { "name": "web", "port": { "number": 9000 } } } } ] } } ] } }));
    let routes = [beta()];
    r.header_routes = &routes;
    let objs = objects(TrafficRouter::Nginx, &r).unwrap();
    let stable = find(&objs, "Ingress", "web");
    let path = &stable["spec"]["rules"][0]["http"]["paths"][0];
    assert_eq!(path["backend"]["service"]["name"], "web-stable");
    let canary = find(&objs, "Ingress", "web-canary");
    let notes = &canary["metadata"]["annotations"];
    assert_eq!(notes["nginx.ingress.kubernetes.io/canary-weight"], "50");
    assert_eq!(
        notes["nginx.ingress.kubernetes.io/canary-by-header"],
        "X-Beta"
    );
    assert_eq!(canary["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "web-canary"
    );
    let held = held(TrafficRouter::Nginx, &g, Some(canary));
    assert_eq!((held.weight, held.header_routes.len()), (Some(50), 1));
}

#[test]
fn what_a_router_cannot_say_is_refused_before_anything_is_applied() {
    let g = group("nginx", ", host: shop.example");
    let mut two = beta();
    two.name = "gamma".into();
    let routes = [beta(), two];
    let err = objects(TrafficRouter::Nginx, &route(&g, 10, &routes)).unwrap_err();
    assert!(err.contains("one header route per canary"), "{err}");
    let mut cookie = beta();
    cookie.matches[0] = RouteMatch {
        header: None,
        cookie: Some("tester".into()),
        exact: Some("yes".into()),
        prefix: None,
        regex: None,
    };
    let err = supports(TrafficRouter::Nginx, &cookie).unwrap_err();
    assert!(err.contains("only when its value is \"always\""), "{err}");
    let err = supports(TrafficRouter::Replicas, &beta()).unwrap_err();
    assert!(
        err.contains("replicas router cannot route by header"),
        "{err}"
    );
    assert!(supports(TrafficRouter::Istio, &cookie).is_ok());
}

#[test]
fn a_hand_edited_route_is_read_as_it_is() {
    let g = group("istio", "");
    let vs = json!({ "spec": { "http": [ { "route": [
        { "destination": { "host": "web", "subset": "stable" }, "weight": 60 },
        { "destination": { "host": "web", "subset": "canary" }, "weight": 30 },
        { "destination": { "host": "elsewhere" }, "weight": 10 } ] } ] } });
    let h = held(TrafficRouter::Istio, &g, Some(&vs));
    assert_eq!(h.weight, Some(30));
    assert!(h.problem.unwrap().contains("elsewhere than web's subsets"));
    let gone = held(TrafficRouter::GatewayApi, &g, None);
    assert_eq!(
        gone.problem.as_deref(),
        Some("HTTPRoute web does not exist")
    );
}

#[test]
fn traffic_settings_are_checked() {
    assert!(check_traffic(&group("istio", ", route: Web_VS")).is_err());
    assert!(check_traffic(&group("istio", ", gateway: edge")).is_err());
    assert!(check_traffic(&group("gateway-api", ", gateway: infra/edge")).is_ok());
    assert!(check_traffic(&group("nginx", ", host: \"a b\"")).is_err());
}

#[test]
fn cookie_regexes_match_only_that_cookie() {
    let re = regex::Regex::new(&cookie_regex("beta", MatchKind::Exact, "always")).unwrap();
    assert!(re.is_match("session=1; beta=always; x=2"));
    assert!(re.is_match("beta=always"));
    assert!(!re.is_match("notbeta=always"));
    assert!(!re.is_match("beta=alwaysnot"));
}
