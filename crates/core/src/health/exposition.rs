//! Reading a pod's Prometheus text exposition (via the `prometheus-parse` crate) into the
//! counters the health checks need: requests by status class and the latency histogram.

use prometheus_parse::{Scrape, Value};

/// The request metrics flightdeck reads, as the app exposes them (client libraries' names).
pub const REQUESTS: &str = "http_requests_total";
pub const DURATION: &str = "http_request_duration_seconds";

/// Counters of one pod at one scrape. Buckets are cumulative, sorted by bound, `+Inf` last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodCounters {
    pub requests: f64,
    /// Requests answered with a 5xx.
    pub errors: f64,
    pub buckets: Vec<(f64, f64)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExpositionError {
    #[error("the metrics text does not parse: {0}")]
    Unreadable(String),
    #[error("the metrics have no {REQUESTS} counter")]
    NoRequests,
}

/// Sums every series of the request counter and the latency histogram (over all label
/// values but `code` and `le`), so an app that adds its own labels (method, route) works.
pub fn parse(text: &str) -> Result<PodCounters, ExpositionError> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = Scrape::parse(lines).map_err(|e| ExpositionError::Unreadable(e.to_string()))?;
    let mut c = PodCounters::default();
    let mut seen_requests = false;
    for s in &scrape.samples {
        match (&s.value, s.metric.as_str()) {
            (Value::Counter(v) | Value::Untyped(v), REQUESTS) if v.is_finite() => {
                seen_requests = true;
                c.requests += v;
                if s.labels
                    .get("code")
                    .is_some_and(|code| code.starts_with('5'))
                {
                    c.errors += v;
                }
            }
            (Value::Histogram(hs), DURATION) => {
                for h in hs {
                    match c.buckets.iter_mut().find(|(le, _)| *le == h.less_than) {
                        Some((_, n)) => *n += h.count,
                        None => c.buckets.push((h.less_than, h.count)),
                    }
                }
            }
            _ => {}
        }
    }
    if !seen_requests {
        return Err(ExpositionError::NoRequests);
    }
    c.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_by_status_class_and_the_histogram() {
        let c = parse(include_str!("../../../../tests/fixtures/pod-metrics.txt")).unwrap();
        assert_eq!(c.requests, 1000.0 + 40.0 + 20.0 + 5.0);
        assert_eq!(c.errors, 60.0);
        assert_eq!(c.buckets.first(), Some(&(0.005, 10.0)));
        assert_eq!(c.buckets.last().map(|b| b.0), Some(f64::INFINITY));
        assert_eq!(c.buckets.last().map(|b| b.1), Some(1065.0));
    }

    #[test]
    fn text_without_the_request_counter_is_an_error_not_zero() {
        assert_eq!(
            parse("# TYPE up gauge\nup 1\n"),
            Err(ExpositionError::NoRequests)
        );
    }
}
