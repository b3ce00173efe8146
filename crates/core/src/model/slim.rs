//! What the watchers decode: Pods, Deployments and Events with only the fields the rows
//! read. A full k8s-openapi `Pod` is kilobytes of struct even when its fields are empty,
//! plus managed fields, annotations and every label; decoding pages of them, many lists
//! at once, was most of the console's peak memory. serde skips what is not named here
//! without keeping it.
//!
//! Each type is the real kind to kube-rs (its API path and kind are the k8s-openapi
//! type's), so `Api<SlimPod>` lists and watches exactly what `Api<Pod>` would.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use serde::{Deserialize, Deserializer};

use crate::domain::labels;

/// A Pod: what `PodRow` shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SlimPod {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    pub spec: Option<PodSpec>,
    pub status: Option<PodStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub containers: Vec<Container>,
    pub node_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Container {
    pub image: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: Option<String>,
    pub reason: Option<String>,
    #[serde(rename = "podIP")]
    pub pod_ip: Option<String>,
    pub container_statuses: Option<Vec<ContainerStatus>>,
    pub init_container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    pub state: Option<ContainerState>,
    pub last_state: Option<ContainerState>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerState {
    pub waiting: Option<Waiting>,
    pub terminated: Option<Terminated>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Waiting {
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terminated {
    #[serde(default)]
    pub exit_code: i32,
    pub reason: Option<String>,
}

/// A Deployment: what `DeploymentRow` shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SlimDeployment {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    pub spec: Option<DeploymentSpec>,
    pub status: Option<DeploymentStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeploymentSpec {
    pub replicas: Option<i32>,
    pub template: Option<PodTemplate>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodTemplate {
    pub spec: Option<PodSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    pub ready_replicas: Option<i32>,
    pub updated_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
}

/// An Event (core/v1): what `EventRow` shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimEvent {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(default)]
    pub involved_object: InvolvedObject,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub count: Option<i32>,
    pub series: Option<EventSeries>,
    pub first_timestamp: Option<Time>,
    pub last_timestamp: Option<Time>,
    pub event_time: Option<MicroTime>,
    pub source: Option<EventSource>,
    pub reporting_component: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InvolvedObject {
    pub kind: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventSeries {
    pub count: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventSource {
    pub component: Option<String>,
}

/// The metadata the rows and the watcher read: identity, the resource version the watch
/// resumes from, times, owners and the group and track labels. Annotations, managed fields
/// and other labels are skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    #[serde(default, deserialize_with = "our_labels")]
    labels: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<Owner>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Owner {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: String,
    controller: Option<bool>,
}

fn slim_meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let Some(m) = Option::<Meta>::deserialize(d)? else {
        return Ok(ObjectMeta::default());
    };
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        labels: m.labels,
        owner_references: m.owner_references.map(|owners| {
            owners
                .into_iter()
                .map(|o| OwnerReference {
                    api_version: o.api_version,
                    kind: o.kind,
                    name: o.name,
                    uid: o.uid,
                    controller: o.controller,
                    block_owner_deletion: None,
                })
                .collect()
        }),
        ..ObjectMeta::default()
    })
}

/// Only the group and track labels: the rest (often many on a real cluster) say nothing
/// the console shows.
fn our_labels<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    let Some(all) = Option::<BTreeMap<String, String>>::deserialize(d)? else {
        return Ok(None);
    };
    Ok(Some(
        all.into_iter()
            .filter(|(k, _)| k == labels::GROUP || k == labels::TRACK)
            .collect(),
    ))
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Each slim type is its kind to kube-rs, with the k8s-openapi type's names and path.
macro_rules! same_kind_as {
    ($slim:ty, $full:ty) => {
        impl k8s_openapi::Resource for $slim {
            const API_VERSION: &'static str = <$full as k8s_openapi::Resource>::API_VERSION;
            const GROUP: &'static str = <$full as k8s_openapi::Resource>::GROUP;
            const KIND: &'static str = <$full as k8s_openapi::Resource>::KIND;
            const VERSION: &'static str = <$full as k8s_openapi::Resource>::VERSION;
            const URL_PATH_SEGMENT: &'static str =
                <$full as k8s_openapi::Resource>::URL_PATH_SEGMENT;
            type Scope = <$full as k8s_openapi::Resource>::Scope;
        }

        impl k8s_openapi::Metadata for $slim {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

same_kind_as!(SlimPod, Pod);
same_kind_as!(SlimDeployment, Deployment);
same_kind_as!(SlimEvent, Event);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Track;
    use crate::model::{DeploymentRow, EventKind, EventRow, PodRow};

    /// A pod as a real API server sends it: managed fields, annotations and labels
    /// nobody here reads.
    const POD: &str = r#"{
      "apiVersion": "v1", "kind": "Pod",
      "metadata": {
        "name": "web-canary-5d8f-abcde", "namespace": "shop", "uid": "u-1",
        "resourceVersion": "4711", "creationTimestamp": "2026-01-02T03:04:05Z",
        "labels": {"flightdeck.dev/group": "web", "flightdeck.dev/track": "canary",
                   "pod-template-hash": "5d8f", "team": "payments"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"huge\": true}"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                             "name": "web-canary-5d8f", "uid": "rs-1", "controller": true}],
        "managedFields": [{"manager": "kubelet", "operation": "Update",
                           "fieldsV1": {"f:status": {"f:phase": {}}}}]
      },
      "spec": {"nodeName": "sim-node-2", "restartPolicy": "Always",
               "containers": [{"name": "app", "image": "registry.local/web:2.0-crash",
                               "env": [{"name": "A", "value": "1"}]}]},
      "status": {"phase": "Running", "podIP": "10.0.0.7",
                 "conditions": [{"type": "Ready", "status": "False"}],
                 "containerStatuses": [{"name": "app", "ready": false, "restartCount": 4,
                   "image": "registry.local/web:2.0-crash", "imageID": "",
                   "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                   "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
    }"#;

    #[test]
    fn a_pod_keeps_only_what_its_row_and_the_watch_need() {
        let pod: SlimPod = serde_json::from_str(POD).unwrap();
        let m = &pod.metadata;
        // The watch resumes from the resource version.
        assert_eq!(m.resource_version.as_deref(), Some("4711"));
        assert!(m.annotations.is_none() && m.managed_fields.is_none());
        let labels: Vec<&str> = m.labels.iter().flatten().map(|(k, _)| k.as_str()).collect();
        assert_eq!(labels, [labels::GROUP, labels::TRACK]);

        let row = PodRow::from(&pod);
        assert_eq!(row.name, "web-canary-5d8f-abcde");
        assert_eq!(row.group.as_deref(), Some("web"));
        assert_eq!(row.track, Some(Track::Canary));
        assert_eq!(row.owner.as_deref(), Some("web-canary-5d8f"));
        assert_eq!(row.status, "CrashLoopBackOff");
        assert_eq!((row.ready, row.containers, row.restarts), (0, 1, 4));
        assert_eq!(row.last_termination.as_deref(), Some("Error (exit 1)"));
        assert_eq!(row.tag.as_deref(), Some("2.0-crash"));
        assert_eq!(row.node.as_deref(), Some("sim-node-2"));
        assert_eq!(row.created, Some("2026-01-02T03:04:05Z".parse().unwrap()));
        assert_eq!(row.ip.as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn nulls_and_missing_parts_are_empty_not_errors() {
        let pod: SlimPod = serde_json::from_str(
            r#"{"metadata": {"name": "p", "labels": null, "ownerReferences": null},
                "spec": {"containers": null}, "status": null}"#,
        )
        .unwrap();
        let row = PodRow::from(&pod);
        assert_eq!((row.name.as_str(), row.status.as_str()), ("p", "Pending"));
        assert_eq!((row.group, row.containers), (None, 0));
        let bare: SlimPod = serde_json::from_str("{}").unwrap();
        assert_eq!(PodRow::from(&bare).name, "");
    }

    #[test]
    fn a_deployment_row_reads_replicas_and_the_first_image() {
        let d: SlimDeployment = serde_json::from_str(
            r#"{"metadata": {"name": "web", "namespace": "shop",
                             "labels": {"flightdeck.dev/group": "web", "flightdeck.dev/track": "stable"},
                             "annotations": {"flightdeck.dev/revision": "3"}},
                "spec": {"replicas": 4, "selector": {"matchLabels": {"a": "b"}},
                         "template": {"metadata": {"labels": {"a": "b"}},
                                      "spec": {"containers": [{"name": "app", "image": "r/web:1.4"}]}}},
                "status": {"replicas": 4, "readyReplicas": 3, "updatedReplicas": 4,
                           "availableReplicas": 2, "observedGeneration": 7}}"#,
        )
        .unwrap();
        let row = DeploymentRow::from(&d);
        assert_eq!(row.group.as_deref(), Some("web"));
        assert_eq!(row.track, Some(Track::Stable));
        assert_eq!(row.tag.as_deref(), Some("1.4"));
        assert_eq!(
            (row.desired, row.ready, row.updated, row.available),
            (4, 3, 4, 2)
        );
    }

    #[test]
    fn an_event_row_reads_its_object_reason_and_times() {
        let e: SlimEvent = serde_json::from_str(
            "{\"metadata\": {\"name\": \"p.17\", \"namespace\": \"shop\", \"uid\": \"e-1\"},
              \"involvedObject\": {\"kind\": \"Pod\", \"name\": \"web-abc\", \"uid\": \"x\"},
              \"type\": \"Warning\", \"reason\": \"BackOff\",
              \"message\": \"Back-off \\u001b[2Jrestarting\", \"count\": 3,
              \"firstTimestamp\": \"2026-01-02T03:00:00Z\",
              \"lastTimestamp\": \"2026-01-02T03:04:00Z\",
              \"source\": {\"component\": \"kubelet\", \"host\": \"n1\"}}",
        )
        .unwrap();
        let row = EventRow::from(&e);
        assert_eq!(row.uid, "e-1");
        assert_eq!(row.kind, EventKind::Warning);
        assert_eq!(
            (row.object_kind.as_str(), row.object_name.as_str()),
            ("Pod", "web-abc")
        );
        // Outside text is sanitised like every other string from the cluster.
        assert_eq!(row.message, "Back-off restarting");
        assert_eq!((row.count, row.source.as_str()), (3, "kubelet"));
        assert_eq!(
            row.first_seen,
            Some("2026-01-02T03:00:00Z".parse().unwrap())
        );
        assert_eq!(row.last_seen, Some("2026-01-02T03:04:00Z".parse().unwrap()));

        // events.k8s.io-style: a series and an event time instead of count and timestamps.
        let e: SlimEvent = serde_json::from_str(
            r#"{"metadata": {"name": "p.18"}, "involvedObject": {},
                "eventTime": "2026-01-02T03:05:00.123456Z", "series": {"count": 9},
                "reportingComponent": "flightdeck"}"#,
        )
        .unwrap();
        let row = EventRow::from(&e);
        assert_eq!(
            (row.uid.as_str(), row.kind, row.count),
            ("p.18", EventKind::Normal, 9)
        );
        assert_eq!(row.source, "flightdeck");
        assert_eq!(
            row.last_seen,
            Some("2026-01-02T03:05:00.123456Z".parse().unwrap())
        );
    }
}
