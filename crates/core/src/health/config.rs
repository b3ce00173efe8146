//! A group's `spec.health`, read into typed checks:
//!
//! ```yaml
//! health:
//!   source: pod-metrics            # or prometheus
//!   metrics:
//!     - { name: success-rate, min: 0.99 }
//!     - { name: latency-p99, max: 500ms, tolerance: 0.3 }
//!     - { name: latency-p50, compare: false, query: 'histogram_quantile(0.5, …)' }
//! ```
//!
//! `min`/`max` are absolute bounds on the canary; every metric is also compared with the
//! stable track unless `compare: false`, within `tolerance` (success rate: an absolute drop,
//! default 0.01; latency: a relative rise, default 0.2; restarts: a count, default 1).
//! Latency bounds are durations ("500ms", "1.5s"); a bare number is milliseconds, as in
//! Flagger. `query` replaces the default PromQL for the `prometheus` source.
//! Without `spec.health`: pod metrics, success rate ≥ 0.99, and both compared with stable.

use serde_json::Value;

use super::HealthError;
use crate::domain::InstanceGroup;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    PodMetrics,
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    SuccessRate,
    LatencyP50,
    LatencyP99,
    Restarts,
    /// Ready pods of the track: judged only live (a canary short of ready pods), never
    /// named in `spec.health`.
    Ready,
}

impl Metric {
    /// The metrics `spec.health.metrics` may name.
    pub const ALL: [Metric; 4] = [
        Metric::SuccessRate,
        Metric::LatencyP50,
        Metric::LatencyP99,
        Metric::Restarts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::SuccessRate => "success-rate",
            Metric::LatencyP50 => "latency-p50",
            Metric::LatencyP99 => "latency-p99",
            Metric::Restarts => "restarts",
            Metric::Ready => "ready",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether a higher value is worse (latency, restarts) or better (success rate).
    pub fn higher_is_worse(self) -> bool {
        !matches!(self, Metric::SuccessRate | Metric::Ready)
    }

    /// Whether the tolerance is relative to the stable value.
    pub fn relative_tolerance(self) -> bool {
        matches!(self, Metric::LatencyP50 | Metric::LatencyP99)
    }

    pub fn default_tolerance(self) -> f64 {
        match self {
            Metric::SuccessRate => 0.01,
            Metric::LatencyP50 | Metric::LatencyP99 => 0.2,
            Metric::Restarts | Metric::Ready => 1.0,
        }
    }

    /// A value as people read it: "99.2%", "412ms", "3".
    pub fn format(self, v: f64) -> String {
        match self {
            Metric::SuccessRate => format!("{:.2}%", v * 100.0),
            Metric::LatencyP50 | Metric::LatencyP99 if v < 1.0 => format!("{:.0}ms", v * 1000.0),
            Metric::LatencyP50 | Metric::LatencyP99 => format!("{v:.2}s"),
            Metric::Restarts | Metric::Ready => format!("{v:.0}"),
        }
    }
}

/// One entry of `spec.health.metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricCheck {
    pub metric: Metric,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub compare: bool,
    pub tolerance: f64,
    pub query: Option<String>,
}

impl MetricCheck {
    pub fn new(metric: Metric) -> Self {
        MetricCheck {
            metric,
            min: None,
            max: None,
            compare: true,
            tolerance: metric.default_tolerance(),
            query: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    pub source: SourceKind,
    pub checks: Vec<MetricCheck>,
    /// The pods' metrics port for the pod proxy: `params.metricsPort`, else `params.port`.
    pub port: u16,
}

const DEFAULT_PORT: u16 = 8080;

impl HealthConfig {
    pub fn for_group(group: &InstanceGroup) -> Result<HealthConfig, HealthError> {
        let port = ["metricsPort", "port"]
            .iter()
            .find_map(|k| group.spec.params.get(*k).and_then(Value::as_u64))
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(DEFAULT_PORT);
        let Some(spec) = &group.spec.health else {
            let mut success = MetricCheck::new(Metric::SuccessRate);
            success.min = Some(0.99);
            return Ok(HealthConfig {
                source: SourceKind::PodMetrics,
                checks: vec![success, MetricCheck::new(Metric::LatencyP99)],
                port,
            });
        };
        let source = match spec.source.as_str() {
            "pod-metrics" | "" => SourceKind::PodMetrics,
            "prometheus" => SourceKind::Prometheus,
            other => {
                return Err(HealthError::BadConfig(format!(
                    "source {other:?} is not pod-metrics or prometheus"
                )));
            }
        };
        let checks = spec
            .metrics
            .iter()
            .enumerate()
            .map(|(i, v)| {
                check(v).map_err(|m| HealthError::BadConfig(format!("metrics[{i}]: {m}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let checks = if checks.is_empty() {
            vec![
                MetricCheck::new(Metric::SuccessRate),
                MetricCheck::new(Metric::LatencyP99),
            ]
        } else {
            checks
        };
        Ok(HealthConfig {
            source,
            checks,
            port,
        })
    }
}

fn check(v: &Value) -> Result<MetricCheck, String> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or("has no name (success-rate, latency-p50, latency-p99, restarts)")?;
    let metric = Metric::parse(name).ok_or_else(|| {
        format!("unknown metric {name:?} (success-rate, latency-p50, latency-p99, restarts)")
    })?;
    let mut c = MetricCheck::new(metric);
    let bound = |key: &str| -> Result<Option<f64>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(b) if metric.relative_tolerance() => latency_seconds(b)
                .map(Some)
                .ok_or_else(|| format!("{name} {key} {b} is not a duration like 500ms")),
            Some(b) => b
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("{name} {key} {b} is not a number")),
        }
    };
    c.min = bound("min")?;
    c.max = bound("max")?;
    if let Some(t) = v.get("tolerance") {
        c.tolerance = t
            .as_f64()
            .filter(|t| *t >= 0.0)
            .ok_or_else(|| format!("{name} tolerance {t} is not a number ≥ 0"))?;
    }
    if let Some(b) = v.get("compare") {
        c.compare = b
            .as_bool()
            .ok_or_else(|| format!("{name} compare {b} is not true or false"))?;
    }
    c.query = v.get("query").and_then(Value::as_str).map(str::to_string);
    Ok(c)
}

/// "500ms", "1.5s", "2m" or a number of milliseconds, in seconds.
fn latency_seconds(v: &Value) -> Option<f64> {
    if let Some(ms) = v.as_f64() {
        return Some(ms / 1000.0);
    }
    let s = v.as_str()?.trim();
    let (number, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = number.trim().parse().ok()?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => return None,
    };
    Some(n * scale).filter(|x| x.is_finite() && *x >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(health: Value) -> InstanceGroup {
        serde_json::from_value(json!({
            "apiVersion": "flightdeck/v1", "kind": "InstanceGroup",
            "metadata": {"name": "web", "app": "web"},
            "spec": {"cluster": "sim", "namespace": "demo", "template": "service",
                     "params": {"port": 9000}, "health": health}
        }))
        .unwrap()
    }

    #[test]
    fn reads_the_design_example() {
        let cfg = HealthConfig::for_group(&group(json!({
            "source": "prometheus",
            "metrics": [{"name": "success-rate", "min": 0.99}, {"name": "latency-p99", "max": "500ms"}]
        })))
        .unwrap();
        assert_eq!(cfg.source, SourceKind::Prometheus);
        assert_eq!(cfg.port, 9000);
        assert_eq!(cfg.checks[0].min, Some(0.99));
        assert_eq!(cfg.checks[1].max, Some(0.5));
        assert!(cfg.checks[1].compare);
    }

    #[test]
    fn bad_entries_name_the_index_and_the_field() {
        let err = |h| HealthConfig::for_group(&group(h)).unwrap_err().to_string();
        assert!(err(json!({"source": "datadog"})).contains("datadog"));
        let e = err(
            json!({"source": "pod-metrics", "metrics": [{"name": "latency-p99", "max": "fast"}]}),
        );
        assert!(e.contains("metrics[0]") && e.contains("fast"), "{e}");
        assert!(
            err(json!({"source": "pod-metrics", "metrics": [{"name": "cpu"}]})).contains("cpu")
        );
    }

    #[test]
    fn latency_bounds_read_durations_and_milliseconds() {
        assert_eq!(latency_seconds(&json!("1.5s")), Some(1.5));
        assert_eq!(latency_seconds(&json!(250)), Some(0.25));
        assert_eq!(latency_seconds(&json!("soon")), None);
    }
}
