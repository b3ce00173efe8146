use jiff::Timestamp;

use super::pod::image_tag;
use super::sanitize::clean;
use super::slim::SlimDeployment;
use crate::domain::{Track, labels};

/// One track's Deployment, as the groups list needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentRow {
    pub namespace: String,
    pub name: String,
    pub group: Option<String>,
    pub track: Option<Track>,
    pub tag: Option<String>,
    pub desired: u32,
    pub ready: u32,
    pub updated: u32,
    pub available: u32,
    pub created: Option<Timestamp>,
}

impl From<&SlimDeployment> for DeploymentRow {
    fn from(d: &SlimDeployment) -> Self {
        let meta = &d.metadata;
        let label = |k: &str| {
            meta.labels
                .as_ref()
                .and_then(|l| l.get(k))
                .map(|v| clean(v))
        };
        let status = d.status.as_ref();
        let count = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
        DeploymentRow {
            namespace: clean(meta.namespace.as_deref().unwrap_or_default()),
            name: clean(meta.name.as_deref().unwrap_or_default()),
            group: label(labels::GROUP),
            track: label(labels::TRACK).as_deref().and_then(Track::parse),
            tag: d
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref()?.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.as_deref())
                .and_then(image_tag)
                .map(clean),
            desired: count(d.spec.as_ref().and_then(|s| s.replicas)),
            ready: count(status.and_then(|s| s.ready_replicas)),
            updated: count(status.and_then(|s| s.updated_replicas)),
            available: count(status.and_then(|s| s.available_replicas)),
            created: meta.creation_timestamp.as_ref().map(|t| t.0),
        }
    }
}
