//! One group's health, sampled: the pods from the cluster, the metrics from the group's
//! source, both tracks side by side as a [`HealthPoint`].

use std::time::{Duration, Instant};

use futures::future::join_all;
use kube::Client;

use super::cluster::{list_pods, recent_warnings};
use super::config::{HealthConfig, Metric, SourceKind};
use super::prometheus::{PrometheusClient, default_query, rate_query, render};
use super::rates::Delta;
use super::scrape::PodScraper;
use super::{HealthError, HealthPoint, TrackPoint};
use crate::domain::replicas::track_replicas;
use crate::domain::{InstanceGroup, Release, Track};

/// Which group, and how many pods each track should have.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub namespace: String,
    pub group: String,
    pub desired_stable: u32,
    pub desired_canary: u32,
}

impl Target {
    pub fn of(group: &InstanceGroup, release: Option<&Release>) -> Target {
        let live = release.filter(|r| r.phase.in_flight());
        let weight = live.map_or(0, |r| r.weight);
        let (stable, canary) = track_replicas(group, weight, live.is_some());
        Target {
            namespace: group.spec.namespace.clone(),
            group: group.name().to_string(),
            desired_stable: stable,
            desired_canary: canary,
        }
    }
}

enum Source {
    Pods(PodScraper),
    Prometheus {
        client: PrometheusClient,
        window: Duration,
    },
}

pub struct Sampler {
    client: Client,
    config: HealthConfig,
    source: Source,
    last: Option<Instant>,
}

impl Sampler {
    /// `prometheus` is the installation's Prometheus (`--prometheus-url`), needed by groups
    /// whose source is `prometheus`; `window` is the rate window of its queries.
    pub fn new(
        client: Client,
        config: HealthConfig,
        prometheus: Option<&PrometheusClient>,
        window: Duration,
    ) -> Result<Sampler, HealthError> {
        let source = match config.source {
            SourceKind::PodMetrics => Source::Pods(PodScraper::new(client.clone())),
            SourceKind::Prometheus => Source::Prometheus {
                client: prometheus.cloned().ok_or_else(|| {
                    HealthError::BadConfig(
                        "source prometheus needs a Prometheus address (--prometheus-url or FLIGHTDECK_PROMETHEUS_URL)"
                            .into(),
                    )
                })?,
                window,
            },
        };
        Ok(Sampler {
            client,
            config,
            source,
            last: None,
        })
    }

    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    pub async fn sample(&mut self, target: &Target) -> HealthPoint {
        let at = jiff::Timestamp::now();
        let now = Instant::now();
        let since = self.last.replace(now).map(|t| now.duration_since(t));
        let mut point = HealthPoint {
            at,
            stable: TrackPoint {
                desired: target.desired_stable,
                ..TrackPoint::default()
            },
            canary: TrackPoint {
                desired: target.desired_canary,
                ..TrackPoint::default()
            },
            error: None,
            pods_read: false,
        };
        let pods = match list_pods(&self.client, &target.namespace, &target.group).await {
            Ok(p) => p,
            Err(e) => {
                point.error = Some(e.to_string());
                return point;
            }
        };
        point.pods_read = true;
        for p in &pods {
            let t = match p.track {
                Track::Stable => &mut point.stable,
                Track::Canary => &mut point.canary,
            };
            t.restarts += p.restarts;
            t.ready += u32::from(p.ready);
        }
        let (ws, wc) = recent_warnings(&self.client, &target.namespace, &pods).await;
        point.stable.warnings = ws;
        point.canary.warnings = wc;
        let result = match &mut self.source {
            Source::Pods(scraper) => scraper
                .sample(&target.namespace, self.config.port, &pods)
                .await
                .map(|d| {
                    fill_from_delta(&mut point.stable, d.stable.as_ref());
                    fill_from_delta(&mut point.canary, d.canary.as_ref());
                }),
            Source::Prometheus { client, window } => {
                let (client, window) = (client.clone(), *window);
                let (stable, canary) = futures::join!(
                    query_track(&client, &self.config, target, Track::Stable, window, since),
                    query_track(&client, &self.config, target, Track::Canary, window, since),
                );
                stable.and_then(|s| {
                    canary.map(|c| {
                        merge(&mut point.stable, s);
                        merge(&mut point.canary, c);
                    })
                })
            }
        };
        if let Err(e) = result {
            point.error = Some(e.to_string());
        }
        point
    }
}

fn fill_from_delta(t: &mut TrackPoint, d: Option<&(Delta, f64)>) {
    let Some((d, secs)) = d else { return };
    t.requests = Some(d.requests);
    t.rps = (*secs > 0.0).then(|| d.requests / secs);
    t.success_rate = d.success_rate();
    t.latency_p50 = d.quantile(0.5);
    t.latency_p99 = d.quantile(0.99);
}

fn merge(t: &mut TrackPoint, from: TrackPoint) {
    t.requests = from.requests;
    t.rps = from.rps;
    t.success_rate = from.success_rate;
    t.latency_p50 = from.latency_p50;
    t.latency_p99 = from.latency_p99;
}

async fn query_track(
    client: &PrometheusClient,
    config: &HealthConfig,
    target: &Target,
    track: Track,
    window: Duration,
    since: Option<Duration>,
) -> Result<TrackPoint, HealthError> {
    let template = |m: Metric| {
        config
            .checks
            .iter()
            .find(|c| c.metric == m)
            .and_then(|c| c.query.clone())
            .or_else(|| default_query(m))
            .unwrap_or_default()
    };
    let queries = [
        rate_query(),
        template(Metric::SuccessRate),
        template(Metric::LatencyP50),
        template(Metric::LatencyP99),
    ];
    let answers = join_all(queries.iter().map(|q| {
        let promql = render(q, &target.namespace, &target.group, track, window);
        async move { client.query(&promql).await }
    }))
    .await;
    let mut values = Vec::with_capacity(answers.len());
    for a in answers {
        values.push(a?);
    }
    let rps = values[0];
    Ok(TrackPoint {
        rps,
        // The requests this point stands for: its rate over the time since the last one.
        requests: rps.map(|r| r * since.unwrap_or(window).as_secs_f64()),
        success_rate: values[1],
        latency_p50: values[2],
        latency_p99: values[3],
        ..TrackPoint::default()
    })
}
