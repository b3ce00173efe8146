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

/// The live pods of `ns` once at least `count` are there and every one is ready.
pub async fn ready_pods(client: &kube::Client, ns: &str, count: usize) -> Vec<Pod> {
    let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), ns);
    crate::support::eventually(60, "every pod ready", || async {
        let list = api.list(&Default::default()).await.ok()?.items;
        let live: Vec<Pod> = list
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        (live.len() >= count && live.iter().all(ready)).then_some(live)
    })
    .await
}
