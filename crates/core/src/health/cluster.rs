//! What the cluster says about a group's tracks, whatever the metrics source: its pods
//! (ready, restarts, and where to scrape them) and recent warning events.

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::ListParams;
use kube::{Api, Client};

use super::HealthError;
use crate::domain::{Track, labels};

/// Warning events newer than this count as "recent".
pub const RECENT_WARNINGS_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq)]
pub struct PodInfo {
    pub name: String,
    pub track: Track,
    /// The container is running, so the pod proxy can reach it.
    pub running: bool,
    pub ready: bool,
    pub restarts: u32,
}

/// The group's pods, both tracks, by the group label.
pub async fn list_pods(
    client: &Client,
    namespace: &str,
    group: &str,
) -> Result<Vec<PodInfo>, HealthError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().labels(&format!("{}={group}", labels::GROUP));
    let pods = api
        .list(&lp)
        .await
        .map_err(|e| HealthError::NoData(format!("listing pods of {group}: {e}")))?;
    Ok(pods
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            let track = p
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::TRACK))
                .and_then(|t| Track::parse(t))?;
            let status = p.status.as_ref();
            let containers = status
                .and_then(|s| s.container_statuses.as_deref())
                .unwrap_or(&[]);
            let running = status.and_then(|s| s.phase.as_deref()) == Some("Running")
                && containers
                    .first()
                    .and_then(|c| c.state.as_ref())
                    .is_some_and(|s| s.running.is_some());
            let ready = status
                .and_then(|s| s.conditions.as_deref())
                .unwrap_or(&[])
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let restarts = containers
                .iter()
                .map(|c| c.restart_count.max(0) as u32)
                .sum();
            Some(PodInfo {
                name: p.metadata.name.clone()?,
                track,
                running,
                ready,
                restarts,
            })
        })
        .collect())
}

/// Recent Warning events about the group's pods, counted per track (stable, canary).
/// Events are best effort: a failed list counts none rather than hiding the metrics.
pub async fn recent_warnings(client: &Client, namespace: &str, pods: &[PodInfo]) -> (u32, u32) {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let Ok(list) = api
        .list(&ListParams::default().fields("type=Warning"))
        .await
    else {
        return (0, 0);
    };
    let now = jiff::Timestamp::now().as_second();
    let (mut stable, mut canary) = (0, 0);
    for e in list.items {
        let Some(name) = e.involved_object.name.as_deref() else {
            continue;
        };
        let Some(pod) = pods.iter().find(|p| p.name == name) else {
            continue;
        };
        let last = e
            .last_timestamp
            .as_ref()
            .map(|t| t.0.as_second())
            .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()));
        if last.is_some_and(|t| now - t > RECENT_WARNINGS_SECS) {
            continue;
        }
        let n = e.count.unwrap_or(1).max(1) as u32;
        match pod.track {
            Track::Stable => stable += n,
            Track::Canary => canary += n,
        }
    }
    (stable, canary)
}
