//! The cluster and registry side of a drain (see [`crate::engine::phases`]'s drain rules):
//! reading the group's pods and registrations before one, and its four effects.

use super::ReleaseEngine;
use crate::domain::registration::{DELETION_COST, DrainMode, Instance, PodAddress, Registration};
use crate::domain::{InstanceGroup, labels};
use crate::engine::phases::Instances;
use crate::kube::apply::{Applier, ApplyError, Deadline};

/// The deletion cost of a drained pod: far below any a person would set by hand.
const DRAINED_COST: &str = "-2147483000";

/// How often a drain's registry write is tried again when the registrator wrote between
/// its read and its write.
const CAS_TRIES: usize = 5;

/// One pod of a group, as a drain and a rollout's drains read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPod {
    pub name: String,
    pub ip: Option<String>,
    /// Every container ready and not being deleted (the readiness gate aside).
    pub ready: bool,
    pub terminating: bool,
    /// `pod-template-hash`: which ReplicaSet (so which revision of the template) made it.
    pub template_hash: Option<String>,
    /// It carries the drain gate and the gate is not `True` yet.
    pub gated: bool,
}

impl GroupPod {
    pub fn from_json(pod: &serde_json::Value) -> Option<GroupPod> {
        let name = pod.pointer("/metadata/name")?.as_str()?.to_string();
        let terminating = pod.pointer("/metadata/deletionTimestamp").is_some();
        let conditions = pod
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        let condition = |t: &str| {
            conditions.iter().any(|c| {
                c.get("type").and_then(|v| v.as_str()) == Some(t)
                    && c.get("status").and_then(|v| v.as_str()) == Some("True")
            })
        };
        let has_gate = pod
            .pointer("/spec/readinessGates")
            .and_then(|g| g.as_array())
            .is_some_and(|g| {
                g.iter().any(|x| {
                    x.get("conditionType").and_then(|v| v.as_str())
                        == Some(crate::domain::registration::DRAIN_GATE)
                })
            });
        let running = pod.pointer("/status/phase").and_then(|p| p.as_str()) == Some("Running");
        Some(GroupPod {
            name,
            ip: pod
                .pointer("/status/podIP")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            ready: running && !terminating && condition("ContainersReady"),
            terminating,
            template_hash: pod
                .pointer("/metadata/labels/pod-template-hash")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            gated: has_gate && !condition(crate::domain::registration::DRAIN_GATE),
        })
    }
}

impl ReleaseEngine {
    /// The objects of one kind in the group's namespace that carry its group label.
    async fn list_of_group(
        &self,
        group: &InstanceGroup,
        api_version: &str,
        kind: &str,
        deadline: Deadline,
    ) -> Result<Vec<serde_json::Value>, ApplyError> {
        let applier = self.applier(&group.spec.cluster).await?;
        let selector = format!("{}={}", labels::GROUP, group.name());
        applier
            .list_selected(
                api_version,
                kind,
                &group.spec.namespace,
                Some(&selector),
                deadline,
            )
            .await
    }

    /// The group's pods (by its group label), in name order.
    pub async fn group_pods(
        &self,
        group: &InstanceGroup,
        deadline: Deadline,
    ) -> Result<Vec<GroupPod>, ApplyError> {
        let pods = self.list_of_group(group, "v1", "Pod", deadline).await?;
        let mut pods: Vec<GroupPod> = pods.iter().filter_map(GroupPod::from_json).collect();
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(pods)
    }

    /// The `pod-template-hash` of the group's Deployment's newest ReplicaSet (the highest
    /// `deployment.kubernetes.io/revision`): which pods a rollout is bringing in. `None`
    /// when the Deployment has no ReplicaSet yet.
    pub async fn current_template_hash(
        &self,
        group: &InstanceGroup,
        deadline: Deadline,
    ) -> Result<Option<String>, ApplyError> {
        let sets = self
            .list_of_group(group, "apps/v1", "ReplicaSet", deadline)
            .await?;
        let deployment = group.stable_deployment();
        Ok(sets
            .iter()
            .filter(|rs| {
                rs.pointer("/metadata/ownerReferences")
                    .and_then(|o| o.as_array())
                    .is_some_and(|o| {
                        o.iter()
                            .any(|r| r["kind"] == "Deployment" && r["name"] == deployment.as_str())
                    })
            })
            .filter_map(|rs| {
                let revision: u64 = rs
                    .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")?
                    .as_str()?
                    .parse()
                    .ok()?;
                let hash = rs.pointer("/metadata/labels/pod-template-hash")?.as_str()?;
                Some((revision, hash.to_string()))
            })
            .max()
            .map(|(_, hash)| hash))
    }

    /// The registrations under the group's service, or why they cannot be read.
    pub async fn registered(
        &self,
        group: &InstanceGroup,
        reg: &Registration,
    ) -> Result<Vec<Instance>, String> {
        let Some(registry) = &self.registry else {
            return Err("this controller has no service registry to read".into());
        };
        let prefix = reg.service_prefix(group.name());
        let (kvs, _) = registry
            .list(&prefix)
            .await
            .map_err(|e| format!("the registry did not answer: {e}"))?;
        Ok(kvs
            .iter()
            .filter_map(|kv| Instance::parse(&prefix, &kv.key, &kv.value, kv.mod_revision))
            .collect())
    }

    /// What a drain decides on: the group's pods (not those going already) and its
    /// registrations.
    pub(super) async fn instances(
        &self,
        group: &InstanceGroup,
        deadline: Deadline,
    ) -> Result<Instances, String> {
        let Some(reg) = &group.spec.registration else {
            return Ok(Instances::default());
        };
        let pods = self
            .group_pods(group, deadline)
            .await
            .map_err(|e| format!("its pods could not be read: {e}"))?;
        let registered = self.registered(group, reg).await?;
        Ok(Instances {
            pods: pods
                .into_iter()
                .filter(|p| !p.terminating)
                .map(|p| PodAddress {
                    name: p.name,
                    ip: p.ip,
                    ready: p.ready,
                })
                .collect(),
            registered,
            port: reg.port(&group.spec.params),
        })
    }

    /// Takes the instance at `address` out of rotation: weight 0 keeping its lease, or
    /// removed. Compares on what it read, so a registrator's write in between is seen and
    /// the write tried again on the new value.
    pub(super) async fn deregister(
        &self,
        group: &InstanceGroup,
        address: &str,
    ) -> Result<(), ApplyError> {
        let Some(reg) = &group.spec.registration else {
            return Ok(());
        };
        let refused = |reason: String| ApplyError::Transient {
            what: format!("the registration of {address}"),
            reason,
        };
        let Some(registry) = &self.registry else {
            return Err(refused("this controller has no service registry".into()));
        };
        let key = reg.key(group.name(), address);
        for _ in 0..CAS_TRIES {
            let (kvs, _) = registry
                .list(&key)
                .await
                .map_err(|e| refused(e.to_string()))?;
            let Some(kv) = kvs.into_iter().find(|kv| kv.key == key) else {
                return Ok(()); // not registered: nothing takes traffic there
            };
            let done = match reg.drain {
                DrainMode::Remove => registry
                    .remove(&key, kv.mod_revision)
                    .await
                    .map_err(|e| refused(e.to_string()))?,
                DrainMode::Zero => {
                    let mut value: serde_json::Value =
                        serde_json::from_slice(&kv.value).unwrap_or(serde_json::json!({}));
                    if !value.is_object() {
                        value = serde_json::json!({});
                    }
                    if value.get("weight").and_then(|w| w.as_u64()) == Some(0) {
                        return Ok(());
                    }
                    value["weight"] = serde_json::json!(0);
                    let bytes = serde_json::to_vec(&value).unwrap_or_default();
                    registry
                        .replace(&key, bytes, kv.mod_revision)
                        .await
                        .map_err(|e| refused(e.to_string()))?
                }
            };
            if done {
                return Ok(());
            }
        }
        Err(refused(format!(
            "{key} kept changing under the drain ({CAS_TRIES} tries)"
        )))
    }

    /// A drain's end: the pod goes, then whatever is left of its registration.
    pub(super) async fn delete_drained(
        &self,
        applier: &Applier,
        group: &InstanceGroup,
        pod: &str,
        address: &str,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        applier
            .delete("v1", "Pod", &group.spec.namespace, pod, deadline)
            .await?;
        let (Some(reg), Some(registry)) = (&group.spec.registration, &self.registry) else {
            return Ok(());
        };
        let key = reg.key(group.name(), address);
        if let Ok((kvs, _)) = registry.list(&key).await
            && let Some(kv) = kvs.into_iter().find(|kv| kv.key == key)
            && !Instance::parse(&reg.service_prefix(group.name()), &kv.key, &kv.value, 0)
                .is_some_and(|i| i.in_rotation())
        {
            // Only a registration still out of rotation: a new pod that got the same
            // address and registered meanwhile is left alone.
            let _ = registry.remove(&key, kv.mod_revision).await;
        }
        Ok(())
    }

    /// Opens a new pod's drain gate with nothing to drain for it (the first pods of a
    /// group, a scale-up, a pod that replaced one that died): the controller's own
    /// bookkeeping, not an action on the release.
    pub async fn admit(
        &self,
        group: &InstanceGroup,
        pod: &str,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let applier = self.applier(&group.spec.cluster).await?;
        applier
            .set_pod_condition(
                &group.spec.namespace,
                pod,
                crate::domain::registration::DRAIN_GATE,
                deadline,
            )
            .await
    }

    pub(super) async fn mark_for_removal(
        &self,
        applier: &Applier,
        group: &InstanceGroup,
        pod: &str,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        applier
            .merge_patch(
                "v1",
                "Pod",
                &group.spec.namespace,
                pod,
                &serde_json::json!({ "metadata": { "annotations": { DELETION_COST: DRAINED_COST } } }),
                deadline,
            )
            .await
    }
}
