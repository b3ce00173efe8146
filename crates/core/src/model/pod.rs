use jiff::Timestamp;

use super::sanitize::clean;
use super::slim::SlimPod;
use crate::domain::{Track, labels};

/// One pod as the group view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    /// The instance group (label `flightdeck.dev/group`), if the pod belongs to one.
    pub group: Option<String>,
    pub track: Option<Track>,
    /// The ReplicaSet that owns the pod, to tie its events to the group.
    pub owner: Option<String>,
    /// What `kubectl get pods` calls STATUS: Running, Pending, ContainerCreating,
    /// CrashLoopBackOff, ImagePullBackOff, Terminating, Completed…
    pub status: String,
    pub ready: u32,
    pub containers: u32,
    pub restarts: u32,
    pub created: Option<Timestamp>,
    pub node: Option<String>,
    /// Reason of the last termination (e.g. `Error (exit 1)`, `OOMKilled`).
    pub last_termination: Option<String>,
    /// Image tag of the first container.
    pub tag: Option<String>,
    /// `status.podIP`: where the pod's instance registers (service registration).
    pub ip: Option<String>,
}

impl PodRow {
    /// A pod in trouble: waiting in a back-off or error state, or running but not ready
    /// after its containers started.
    pub fn is_warning(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CrashLoopBackOff"
                | "ImagePullBackOff"
                | "ErrImagePull"
                | "Error"
                | "CreateContainerConfigError"
                | "OOMKilled"
                | "Failed"
        ) || (self.status == "Running" && self.ready < self.containers)
    }

    pub fn is_ready(&self) -> bool {
        self.containers > 0 && self.ready == self.containers && self.status == "Running"
    }
}

impl From<&SlimPod> for PodRow {
    fn from(pod: &SlimPod) -> Self {
        let meta = &pod.metadata;
        let label = |k: &str| {
            meta.labels
                .as_ref()
                .and_then(|l| l.get(k))
                .map(|v| clean(v))
        };
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        let containers = spec.map(|s| s.containers.len()).unwrap_or(statuses.len()) as u32;
        let ready = statuses.iter().filter(|c| c.ready).count() as u32;
        let restarts = statuses.iter().map(|c| c.restart_count.max(0) as u32).sum();
        let last_termination = statuses.iter().find_map(|c| {
            let t = c.last_state.as_ref()?.terminated.as_ref()?;
            let reason = t.reason.as_deref().unwrap_or("Terminated");
            Some(clean(&format!("{reason} (exit {})", t.exit_code)))
        });
        let tag = spec
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.as_deref())
            .and_then(image_tag)
            .map(clean);
        PodRow {
            namespace: clean(meta.namespace.as_deref().unwrap_or_default()),
            name: clean(meta.name.as_deref().unwrap_or_default()),
            group: label(labels::GROUP),
            track: label(labels::TRACK).as_deref().and_then(Track::parse),
            owner: meta
                .owner_references
                .as_ref()
                .and_then(|o| o.first())
                .map(|o| clean(&o.name)),
            status: clean(&display_status(pod)),
            ready,
            containers,
            restarts,
            created: meta.creation_timestamp.as_ref().map(|t| t.0),
            node: spec.and_then(|s| s.node_name.as_deref()).map(clean),
            last_termination,
            tag,
            ip: status.and_then(|s| s.pod_ip.as_deref()).map(clean),
        }
    }
}

/// The tag part of an image reference (`repo/name:tag` or `…@sha256:…`).
pub fn image_tag(image: &str) -> Option<&str> {
    if let Some((_, digest)) = image.split_once('@') {
        return Some(digest);
    }
    let last = image.rsplit('/').next()?;
    last.split_once(':').map(|(_, t)| t)
}

/// The STATUS column of `kubectl get pods`, following kubectl's own order of precedence:
/// terminating, then a container's waiting/terminated reason, then the pod phase.
fn display_status(pod: &SlimPod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    let Some(status) = pod.status.as_ref() else {
        return "Pending".into();
    };
    let mut reason = status
        .reason
        .clone()
        .or_else(|| status.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    for c in status.init_container_statuses.iter().flatten() {
        if let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref())
            && t.exit_code != 0
        {
            return format!("Init:{}", t.reason.as_deref().unwrap_or("Error"));
        }
        if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref())
            && let Some(r) = w.reason.as_deref()
            && r != "PodInitializing"
        {
            return format!("Init:{r}");
        }
    }
    for c in status.container_statuses.iter().flatten().rev() {
        let Some(state) = c.state.as_ref() else {
            continue;
        };
        if let Some(r) = state.waiting.as_ref().and_then(|w| w.reason.clone()) {
            reason = r;
        } else if let Some(t) = state.terminated.as_ref() {
            reason = t.reason.clone().unwrap_or_else(|| {
                if t.exit_code != 0 {
                    format!("ExitCode:{}", t.exit_code)
                } else {
                    "Completed".into()
                }
            });
        }
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> SlimPod {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn crash_looping_pod_shows_the_waiting_reason_and_last_exit() {
        let p = pod(r#"
metadata:
  name: web-canary-5d8f-abcde
  namespace: shop
  labels: { flightdeck.dev/group: web, flightdeck.dev/track: canary }
  ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: web-canary-5d8f, uid: u1 }]
spec:
  nodeName: sim-node-2
  containers: [{ name: app, image: "registry.local/web:2.0-crash" }]
status:
  phase: Running
  containerStatuses:
    - name: app
      ready: false
      restartCount: 4
      image: registry.local/web:2.0-crash
      imageID: ""
      state: { waiting: { reason: CrashLoopBackOff } }
      lastState: { terminated: { exitCode: 1, reason: Error } }
"#);
        let row = PodRow::from(&p);
        assert_eq!(row.status, "CrashLoopBackOff");
        assert_eq!(row.restarts, 4);
        assert_eq!(row.track, Some(Track::Canary));
        assert_eq!(row.group.as_deref(), Some("web"));
        assert_eq!(row.owner.as_deref(), Some("web-canary-5d8f"));
        assert_eq!(row.last_termination.as_deref(), Some("Error (exit 1)"));
        assert_eq!(row.tag.as_deref(), Some("2.0-crash"));
        assert!(row.is_warning());
    }

    #[test]
    fn names_from_the_cluster_are_sanitised() {
        let p = pod("metadata: { name: \"evil\\e[2Jpod\", namespace: ns }\n");
        assert_eq!(PodRow::from(&p).name, "evilpod");
    }

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("registry.local:5000/a/b:v1"), Some("v1"));
        assert_eq!(image_tag("registry.local:5000/a/b"), None);
        assert_eq!(image_tag("b@sha256:abc"), Some("sha256:abc"));
    }
}
