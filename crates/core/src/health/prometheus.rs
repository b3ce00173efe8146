//! The `prometheus` source: the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`)
//! with per-track PromQL in Flagger's shape. Series must carry `namespace`, `group` and
//! `track` labels (in Kubernetes service discovery: relabel `__meta_kubernetes_namespace`,
//! `__meta_kubernetes_pod_label_flightdeck_dev_group` and `…_flightdeck_dev_track`).
//! A timeout, an error or an empty answer is "no data", never a healthy value.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::HealthError;
use super::config::Metric;
use crate::domain::Track;

pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

const SELECTOR: &str = r#"namespace="{namespace}",group="{group}",track="{track}""#;

/// The default query of a metric, with `{namespace}`, `{group}`, `{track}` and `{window}`
/// left to fill in. Overrides (`spec.health.metrics[].query`) use the same placeholders.
pub fn default_query(metric: Metric) -> Option<String> {
    let q = match metric {
        Metric::SuccessRate => format!(
            r#"sum(rate(http_requests_total{{{SELECTOR},code!~"5.."}}[{{window}}])) / sum(rate(http_requests_total{{{SELECTOR}}}[{{window}}]))"#
        ),
        Metric::LatencyP50 | Metric::LatencyP99 => format!(
            "histogram_quantile({}, sum by (le) (rate(http_request_duration_seconds_bucket{{{SELECTOR}}}[{{window}}])))",
            if metric == Metric::LatencyP50 {
                "0.5"
            } else {
                "0.99"
            }
        ),
        // Restarts come from the pods themselves, not from Prometheus.
        Metric::Restarts | Metric::Ready => return None,
    };
    Some(q)
}

/// Requests a second of a track.
pub fn rate_query() -> String {
    format!("sum(rate(http_requests_total{{{SELECTOR}}}[{{window}}]))")
}

/// Fills a query template's placeholders.
pub fn render(
    template: &str,
    namespace: &str,
    group: &str,
    track: Track,
    window: Duration,
) -> String {
    template
        .replace("{namespace}", namespace)
        .replace("{group}", group)
        .replace("{track}", track.as_str())
        .replace("{window}", &promql_duration(window))
}

/// A PromQL duration: whole milliseconds, or seconds when they are whole.
pub fn promql_duration(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[derive(Debug, Clone)]
pub struct PrometheusClient {
    http: reqwest::Client,
    base: Url,
}

#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    data: Option<ApiData>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiData {
    result_type: String,
    result: Vec<ApiSeries>,
}

#[derive(Deserialize)]
struct ApiSeries {
    #[serde(default)]
    value: Option<(f64, String)>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

impl PrometheusClient {
    /// `base` is Prometheus' address, e.g. `http://127.0.0.1:9090`.
    pub fn new(base: &str) -> Result<Self, HealthError> {
        let base = Url::parse(base)
            .map_err(|e| HealthError::BadConfig(format!("prometheus URL {base:?}: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(QUERY_TIMEOUT)
            .build()
            .map_err(|e| HealthError::BadConfig(format!("HTTP client: {e}")))?;
        Ok(PrometheusClient { http, base })
    }

    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    async fn call(&self, path: &str, params: &[(&str, String)]) -> Result<ApiData, HealthError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| HealthError::BadConfig(format!("prometheus URL: {e}")))?;
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        let no_data = |e: String| HealthError::NoData(format!("prometheus at {}: {e}", self.base));
        let resp = self.http.get(url).send().await.map_err(|e| {
            no_data(if e.is_timeout() {
                "timed out".into()
            } else {
                e.to_string()
            })
        })?;
        let code = resp.status();
        let body: ApiResponse = resp
            .json()
            .await
            .map_err(|e| no_data(format!("HTTP {code}, unreadable answer: {e}")))?;
        if body.status != "success" {
            return Err(no_data(
                body.error.unwrap_or_else(|| format!("HTTP {code}")),
            ));
        }
        body.data
            .ok_or_else(|| no_data("answer without data".into()))
    }

    /// An instant query's single value; `None` when the vector is empty or the value is
    /// not a number (NaN from 0/0: no traffic).
    pub async fn query(&self, promql: &str) -> Result<Option<f64>, HealthError> {
        let data = self
            .call("api/v1/query", &[("query", promql.to_string())])
            .await?;
        if data.result_type != "vector" && data.result_type != "scalar" {
            return Err(HealthError::NoData(format!(
                "prometheus answered a {} where a vector was expected",
                data.result_type
            )));
        }
        Ok(data
            .result
            .first()
            .and_then(|s| s.value.as_ref())
            .and_then(|(_, v)| v.parse::<f64>().ok())
            .filter(|v| v.is_finite()))
    }

    /// A range query's first series as (unix seconds, value) pairs, NaNs dropped.
    pub async fn query_range(
        &self,
        promql: &str,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
        step: Duration,
    ) -> Result<Vec<(f64, f64)>, HealthError> {
        let secs = |t: jiff::Timestamp| format!("{:.3}", t.as_millisecond() as f64 / 1000.0);
        let data = self
            .call(
                "api/v1/query_range",
                &[
                    ("query", promql.to_string()),
                    ("start", secs(start)),
                    ("end", secs(end)),
                    ("step", format!("{:.3}", step.as_secs_f64().max(0.001))),
                ],
            )
            .await?;
        Ok(data
            .result
            .first()
            .map(|s| {
                s.values
                    .iter()
                    .filter_map(|(t, v)| {
                        v.parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .map(|v| (*t, v))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_queries_have_flaggers_shape() {
        let q = render(
            &default_query(Metric::SuccessRate).unwrap(),
            "user",
            "web",
            Track::Canary,
            Duration::from_secs(60),
        );
        assert_eq!(
            q,
            r#"sum(rate(http_requests_total{namespace="user",group="web",track="canary",code!~"5.."}[60s])) / sum(rate(http_requests_total{namespace="user",group="web",track="canary"}[60s]))"#
        );
        let p99 = render(
            &default_query(Metric::LatencyP99).unwrap(),
            "user",
            "web",
            Track::Stable,
            Duration::from_millis(1500),
        );
        assert_eq!(
            p99,
            r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="user",group="web",track="stable"}[1500ms])))"#
        );
    }
}
