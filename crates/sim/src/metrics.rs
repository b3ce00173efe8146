//! Simulated traffic and the pods' Prometheus metrics, served through the API server's pod
//! proxy (`/api/v1/namespaces/NS/pods/NAME[:PORT]/proxy/metrics`), as a real app behind a
//! real API server would serve them.
//!
//! Each Service receives [`SERVICE_RPS`] requests a second (the scenario's `traffic.rps`),
//! split evenly over the ready pods it selects — so with the `replicas` router the canary's
//! share is its share of the pods — unless a traffic router (VirtualService, HTTPRoute,
//! canary Ingress) decides, as [`super::routers`] describes. A pod that no Service selects
//! gets [`LONE_POD_RPS`]. The scenario rule for the pod's
//! image tag sets the error rate and the latency distribution, read at every scrape, so a
//! `set_scenario` turns a running canary bad at once.
//!
//! Traffic is accounted lazily: a scrape adds the requests of the time since the pod's last
//! scrape. Every scraper (flightdeck, Prometheus) reads the same monotonic counters, which
//! start from zero when the container (re)starts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use super::resource::{Kind, ObjectKey, str_at};
use super::scenario::Scenario;
use super::store::Store;

/// Requests a second that one Service receives, shared by its ready pods.
pub const SERVICE_RPS: f64 = 200.0;
/// Requests a second of a ready pod that no Service selects.
pub const LONE_POD_RPS: f64 = 50.0;
/// Error rate and latency of a pod whose rule does not say.
const DEFAULT_ERROR_RATE: f64 = 0.001;
const DEFAULT_P50_MS: f64 = 25.0;
const DEFAULT_P99_MS: f64 = 120.0;
/// Longest stretch one scrape accounts for; older traffic is not simulated.
const MAX_GAP: Duration = Duration::from_secs(60);
/// Counters of pods not scraped for this long are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Histogram bucket bounds in seconds (finer than the client libraries' defaults around
/// the latencies the scenarios use, so quantiles interpolate well).
pub const BUCKETS: [f64; 18] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
    10.0,
];

/// A rule's `latencyMs`: `{p50: 40, p99: 900}`, or one number for the median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LatencyMs {
    Median(f64),
    Quantiles { p50: f64, p99: f64 },
}

impl LatencyMs {
    pub fn validate(&self) -> Result<(), String> {
        let (p50, p99) = self.quantiles();
        if !(p50 > 0.0 && p50.is_finite() && p99.is_finite()) {
            return Err(format!(
                "p50 {p50} must be a positive number of milliseconds"
            ));
        }
        if p99 < p50 {
            return Err(format!("p99 {p99} is below p50 {p50}"));
        }
        Ok(())
    }

    /// (p50, p99) in milliseconds; a lone median keeps the default spread.
    pub fn quantiles(&self) -> (f64, f64) {
        match *self {
            LatencyMs::Median(m) => (m, m * DEFAULT_P99_MS / DEFAULT_P50_MS),
            LatencyMs::Quantiles { p50, p99 } => (p50, p99),
        }
    }
}

/// The counters one container has served since it started.
#[derive(Debug, Clone, Default)]
struct Counters {
    ok: u64,
    e500: u64,
    e503: u64,
    buckets: [u64; BUCKETS.len()],
    sum: f64,
}

struct PodTraffic {
    uid: String,
    restarts: i64,
    last: Instant,
    counters: Counters,
}

/// The traffic of every pod, shared by the proxy route.
pub struct Traffic {
    store: Arc<Store>,
    scenario: watch::Receiver<Arc<Scenario>>,
    pods: Mutex<HashMap<ObjectKey, PodTraffic>>,
}

impl Traffic {
    pub fn new(store: Arc<Store>, scenario: watch::Receiver<Arc<Scenario>>) -> Arc<Self> {
        Arc::new(Traffic {
            store,
            scenario,
            pods: Mutex::new(HashMap::new()),
        })
    }

    /// The exposition text of a pod, or why the proxy cannot reach it.
    fn scrape(&self, key: &ObjectKey) -> Result<String, (StatusCode, String)> {
        let pod = self.store.get(Kind::Pod, key).ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                format!("pods \"{}\" not found", key.name),
            )
        })?;
        if !container_running(&pod) {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "error trying to reach service: dial tcp {}: connect: connection refused",
                    str_at(&pod, "/status/podIP")
                ),
            ));
        }
        let scenario = self.scenario.borrow().clone();
        let rate = if is_ready(&pod) {
            super::routers::pod_rate(&self.store, &scenario.traffic, &pod)
        } else {
            0.0
        };
        let image = str_at(&pod, "/spec/containers/0/image").to_string();
        let rule = scenario.rule_for(&image).cloned();
        let error_rate = rule
            .as_ref()
            .and_then(|r| r.error_rate)
            .unwrap_or(DEFAULT_ERROR_RATE);
        let (p50, p99) = rule
            .as_ref()
            .and_then(|r| r.latency_ms.as_ref())
            .map(LatencyMs::quantiles)
            .unwrap_or((DEFAULT_P50_MS, DEFAULT_P99_MS));
        let uid = str_at(&pod, "/metadata/uid").to_string();
        let restarts = pod
            .pointer("/status/containerStatuses/0/restartCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);

        let now = Instant::now();
        let mut pods = self.pods.lock().unwrap_or_else(|e| e.into_inner());
        pods.retain(|_, p| now.duration_since(p.last) < FORGET_AFTER);
        let entry = pods.entry(key.clone()).or_insert_with(|| PodTraffic {
            uid: uid.clone(),
            restarts,
            last: now,
            counters: Counters::default(),
        });
        if entry.uid != uid || entry.restarts != restarts {
            // A new pod under the same name, or the container restarted: counters reset.
            *entry = PodTraffic {
                uid,
                restarts,
                last: now,
                counters: Counters::default(),
            };
        }
        let gap = now.duration_since(entry.last).min(MAX_GAP);
        entry.last = now;
        serve(
            &mut entry.counters,
            rate * gap.as_secs_f64(),
            error_rate,
            p50,
            p99,
        );
        Ok(exposition(&entry.counters))
    }
}

/// A Service's equality selector (`spec.selector`) against a pod's labels; an empty
/// selector selects nothing, as for a Service.
pub(super) fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let Some(sel) = selector.as_object().filter(|m| !m.is_empty()) else {
        return false;
    };
    sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn container_running(pod: &Value) -> bool {
    str_at(pod, "/status/phase") == "Running"
        && pod
            .pointer("/status/containerStatuses/0/state/running")
            .is_some()
        && pod.pointer("/metadata/deletionTimestamp").is_none()
}

pub(super) fn is_ready(pod: &Value) -> bool {
    container_running(pod)
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| str_at(c, "/type") == "Ready" && str_at(c, "/status") == "True")
            })
}

/// Adds `expected` requests (Poisson-distributed) to the counters.
fn serve(c: &mut Counters, expected: f64, error_rate: f64, p50_ms: f64, p99_ms: f64) {
    let n = poisson(expected);
    let mu = (p50_ms / 1000.0).ln();
    // 2.326 is the standard normal's 99th percentile.
    let sigma = ((p99_ms / p50_ms).ln() / 2.326).max(0.0);
    for _ in 0..n {
        if rand::random::<f64>() < error_rate {
            if rand::random::<f64>() < 0.7 {
                c.e500 += 1;
            } else {
                c.e503 += 1;
            }
        } else {
            c.ok += 1;
        }
        let seconds = (mu + sigma * standard_normal()).exp();
        c.sum += seconds;
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            c.buckets[i] += 1;
        }
    }
}

fn standard_normal() -> f64 {
    // Box–Muller; 1 - u keeps the logarithm finite.
    let u1: f64 = 1.0 - rand::random::<f64>();
    let u2: f64 = rand::random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn poisson(lambda: f64) -> u64 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * standard_normal())
            .round()
            .max(0.0) as u64;
    }
    // Knuth's method for small means.
    let limit = (-lambda).exp();
    let (mut k, mut p) = (0u64, 1.0f64);
    loop {
        p *= rand::random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

fn exposition(c: &Counters) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str("# HELP http_requests_total Requests served, by HTTP status code.\n");
    out.push_str("# TYPE http_requests_total counter\n");
    for (code, n) in [("200", c.ok), ("500", c.e500), ("503", c.e503)] {
        let _ = writeln!(out, "http_requests_total{{code=\"{code}\"}} {n}");
    }
    out.push_str("# HELP http_request_duration_seconds Time to answer a request.\n");
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    let mut cumulative = 0;
    for (bound, n) in BUCKETS.iter().zip(c.buckets) {
        cumulative += n;
        let _ = writeln!(
            out,
            "http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let total = c.ok + c.e500 + c.e503;
    let _ = writeln!(
        out,
        "http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
    );
    let _ = writeln!(out, "http_request_duration_seconds_sum {}", c.sum);
    let _ = writeln!(out, "http_request_duration_seconds_count {total}");
    out
}

/// The pod proxy route, merged into the API server's router.
pub fn routes(traffic: Arc<Traffic>) -> Router {
    Router::new().route(
        "/api/v1/namespaces/{namespace}/pods/{target}/proxy/{*path}",
        get(proxy).with_state(traffic),
    )
}

/// `[scheme:]name[:port]`, as the API server reads a proxy target.
fn pod_name(target: &str) -> &str {
    let parts: Vec<&str> = target.split(':').collect();
    match parts.as_slice() {
        [scheme, name, _] if matches!(*scheme, "http" | "https") => name,
        [name, ..] => name,
        [] => target,
    }
}

async fn proxy(
    State(traffic): State<Arc<Traffic>>,
    Path((namespace, target, path)): Path<(String, String, String)>,
) -> Response {
    let key = ObjectKey::new(namespace, pod_name(&target));
    let answer = match path.trim_end_matches('/') {
        "metrics" => traffic.scrape(&key),
        "healthz" | "readyz" => traffic.scrape(&key).map(|_| "ok\n".to_string()),
        other => Err((
            StatusCode::NOT_FOUND,
            format!("404 page not found: /{other}"),
        )),
    };
    match answer {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err((code, message)) => {
            let reason = if code == StatusCode::NOT_FOUND {
                "NotFound"
            } else {
                "ServiceUnavailable"
            };
            super::api::status::ApiError::new(code.as_u16(), reason, message).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_targets_name_the_pod() {
        assert_eq!(pod_name("web-1:9000"), "web-1");
        assert_eq!(pod_name("http:web-1:9000"), "web-1");
        assert_eq!(pod_name("web-1"), "web-1");
    }

    #[test]
    fn traffic_follows_the_error_rate_and_latency() {
        let mut c = Counters::default();
        serve(&mut c, 20_000.0, 0.08, 40.0, 900.0);
        let total = (c.ok + c.e500 + c.e503) as f64;
        let errors = (c.e500 + c.e503) as f64 / total;
        assert!((errors - 0.08).abs() < 0.01, "{errors}");
        let text = exposition(&c);
        assert!(text.contains("http_requests_total{code=\"500\"}"));
        assert!(text.contains("http_request_duration_seconds_bucket{le=\"+Inf\"}"));
        // Half the requests take at most about 40 ms.
        let under_50ms: u64 = c.buckets[..4].iter().sum();
        assert!((under_50ms as f64 / total) > 0.5);
    }

    #[test]
    fn latency_accepts_a_number_or_quantiles() {
        let one: LatencyMs = serde_norway::from_str("40").unwrap();
        assert_eq!(one.quantiles().0, 40.0);
        let two: LatencyMs = serde_norway::from_str("{p50: 40, p99: 900}").unwrap();
        assert_eq!(two.quantiles(), (40.0, 900.0));
        assert!(
            LatencyMs::Quantiles {
                p50: 50.0,
                p99: 10.0
            }
            .validate()
            .is_err()
        );
    }
}
