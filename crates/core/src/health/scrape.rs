//! The `pod-metrics` source: each running pod's `/metrics` through the API server's pod
//! proxy (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/metrics`) with the operator's own
//! kube client, parsed, and turned into per-track rates from counter deltas.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use kube::Client;

use super::HealthError;
use super::cluster::PodInfo;
use super::exposition::{PodCounters, parse};
use super::rates::Delta;
use crate::domain::Track;

/// How long one scrape may take before the pod counts as "no data".
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);

/// What both tracks served since the previous scrape. `None`: no earlier scrape to
/// compare with, or no pod of the track could be scraped.
#[derive(Debug, Clone, Default)]
pub struct TrackDeltas {
    pub stable: Option<(Delta, f64)>,
    pub canary: Option<(Delta, f64)>,
}

/// Remembers each pod's last counters, so the next scrape gives a delta.
pub struct PodScraper {
    client: Client,
    last: HashMap<String, (Instant, PodCounters)>,
}

impl PodScraper {
    pub fn new(client: Client) -> Self {
        PodScraper {
            client,
            last: HashMap::new(),
        }
    }

    /// Scrapes the running pods; the delta of a track sums its pods' deltas, and its
    /// seconds are the longest gap between two scrapes of one of them.
    pub async fn sample(
        &mut self,
        namespace: &str,
        port: u16,
        pods: &[PodInfo],
    ) -> Result<TrackDeltas, HealthError> {
        let running: Vec<&PodInfo> = pods.iter().filter(|p| p.running).collect();
        let scrapes = join_all(running.iter().map(|p| {
            let path = format!(
                "/api/v1/namespaces/{namespace}/pods/{}:{port}/proxy/metrics",
                p.name
            );
            scrape(&self.client, path)
        }))
        .await;
        let now = Instant::now();
        self.last
            .retain(|name, _| pods.iter().any(|p| &p.name == name));
        let mut out = TrackDeltas::default();
        let mut failures = Vec::new();
        for (pod, result) in running.iter().zip(scrapes) {
            let counters = match result {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!("{}: {e}", pod.name));
                    continue;
                }
            };
            let previous = self.last.insert(pod.name.clone(), (now, counters.clone()));
            let Some((then, before)) = previous else {
                continue;
            };
            let delta = Delta::between(&before, &counters);
            let secs = now.duration_since(then).as_secs_f64();
            let slot = match pod.track {
                Track::Stable => &mut out.stable,
                Track::Canary => &mut out.canary,
            };
            match slot {
                Some((d, s)) => {
                    d.add(&delta);
                    *s = s.max(secs);
                }
                None => *slot = Some((delta, secs)),
            }
        }
        if !running.is_empty() && failures.len() == running.len() {
            return Err(HealthError::NoData(format!(
                "no pod answered its metrics ({})",
                failures.join("; ")
            )));
        }
        if !failures.is_empty() {
            tracing::debug!(failures = %failures.join("; "), "some pods did not answer their metrics");
        }
        Ok(out)
    }
}

async fn scrape(client: &Client, path: String) -> Result<PodCounters, String> {
    let req = http::Request::get(&path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let text = tokio::time::timeout(SCRAPE_TIMEOUT, client.request_text(req))
        .await
        .map_err(|_| format!("no answer within {}s", SCRAPE_TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    parse(&text).map_err(|e| e.to_string())
}
