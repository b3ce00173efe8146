//! Counting the simulated clients' requests each track's pods served, from the pods' own
//! metrics through the API server's pod proxy, as a scraper would.
#![allow(dead_code)]

use k8s_openapi::api::core::v1::Pod;

/// The sum of `http_requests_total` in a Prometheus exposition.
pub fn requests_in(exposition: &str) -> u64 {
    exposition
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

pub fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Requests served so far by (stable, canary) pods of `pods` in `ns`, metrics on `port`.
pub async fn served(client: &kube::Client, ns: &str, port: u16, pods: &[Pod]) -> (u64, u64) {
    let (mut stable, mut canary) = (0, 0);
    for p in pods {
        let name = p.metadata.name.as_deref().unwrap();
        let req = http::Request::get(format!(
            "/api/v1/namespaces/{ns}/pods/{name}:{port}/proxy/metrics"
        ))
        .body(Vec::new())
        .unwrap();
        let n = requests_in(&client.request_text(req).await.expect("metrics"));
        let track = p
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("flightdeck.dev/track"))
            .map(String::as_str);
        match track {
            Some("canary") => canary += n,
            _ => stable += n,
        }
    }
    (stable, canary)
}
