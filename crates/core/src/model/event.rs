use jiff::Timestamp;

use super::sanitize::clean;
use super::slim::SlimEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Normal,
    Warning,
}

/// One Kubernetes event about an object.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub namespace: String,
    pub uid: String,
    pub kind: EventKind,
    /// Kind of the object it is about: Pod, ReplicaSet, Deployment…
    pub object_kind: String,
    pub object_name: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub source: String,
}

impl From<&SlimEvent> for EventRow {
    fn from(e: &SlimEvent) -> Self {
        let last_seen = e
            .last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or_else(|| e.event_time.as_ref().map(|t| t.0))
            .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0));
        let first_seen = e.first_timestamp.as_ref().map(|t| t.0).or(last_seen);
        let count = e
            .count
            .or_else(|| e.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1)
            .max(1) as u32;
        EventRow {
            namespace: clean(e.metadata.namespace.as_deref().unwrap_or_default()),
            uid: e
                .metadata
                .uid
                .clone()
                .unwrap_or_else(|| e.metadata.name.clone().unwrap_or_default()),
            kind: if e.type_.as_deref() == Some("Warning") {
                EventKind::Warning
            } else {
                EventKind::Normal
            },
            object_kind: clean(e.involved_object.kind.as_deref().unwrap_or_default()),
            object_name: clean(e.involved_object.name.as_deref().unwrap_or_default()),
            reason: clean(e.reason.as_deref().unwrap_or_default()),
            message: clean(e.message.as_deref().unwrap_or_default()),
            count,
            first_seen,
            last_seen,
            source: clean(
                e.source
                    .as_ref()
                    .and_then(|s| s.component.as_deref())
                    .or(e.reporting_component.as_deref())
                    .unwrap_or_default(),
            ),
        }
    }
}
