//! Step 4 of the engine: applying a transition's effects to the cluster within one
//! deadline, and reading back what the cluster then holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::ReleaseEngine;
use crate::domain::group::HeaderRoute;
use crate::domain::release::RouterState;
use crate::domain::{InstanceGroup, Revision, Track, TrafficRouter, labels};
use crate::engine::cron::{self, RunningJob};
use crate::engine::objects::{ReadBack, asked_replicas, asked_route, objects_for};
use crate::engine::phases::ClusterEffect;
use crate::engine::strategy::{self, DeploymentFacts, Tracks};
use crate::engine::traffic;
use crate::kube::apply::{ACTION_TIMEOUT, Applier, ApplyError, Deadline};

/// `deadline`, or `least` from now if that is later: a read-back gets a moment to look
/// even when the action used its time up.
fn at_least(deadline: Deadline, least: std::time::Duration) -> Deadline {
    if deadline.remaining() < least {
        Deadline::after(least)
    } else {
        deadline
    }
}

impl ReleaseEngine {
    pub(super) async fn applier(&self, cluster: &str) -> Result<Arc<Applier>, ApplyError> {
        let mut map = self.appliers.lock().await;
        if let Some(a) = map.get(cluster) {
            return Ok(a.clone());
        }
        let conn = if cluster == self.cluster.context {
            self.cluster.clone()
        } else {
            self.cluster
                .switch(cluster)
                .await
                .map_err(|e| ApplyError::Transient {
                    what: format!("a connection to cluster {cluster}"),
                    reason: e.to_string(),
                })?
        };
        // The registered facts are the contract: never change a server other than the one
        // the cluster's name was registered for.
        if let Ok(Some(kv)) = self
            .store
            .backend()
            .get(&crate::store::layout::cluster_key(cluster))
            .await
            && let Ok(rec) =
                serde_json::from_slice::<crate::kube::connect::ClusterRecord>(&kv.value)
            && rec.mismatch(&conn).is_some()
        {
            return Err(ApplyError::Refused {
                kind: "cluster".into(),
                namespace: String::new(),
                name: cluster.into(),
                reason: format!(
                    "cluster {cluster} is registered at {}, but this controller's context {} reaches {}",
                    rec.server, conn.context, conn.server
                ),
            });
        }
        let a = Arc::new(Applier::new(conn.apply_client));
        map.insert(cluster.to_string(), a.clone());
        Ok(a)
    }

    /// [`Self::apply_effects`] within `deadline` (every cluster call has it too; this also
    /// bounds the store reads in between).
    pub(super) async fn apply_bounded(
        &self,
        group: &InstanceGroup,
        effects: &[ClusterEffect],
        fresh: Option<&Revision>,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let limit = deadline.remaining() + std::time::Duration::from_secs(1);
        match tokio::time::timeout(limit, self.apply_effects(group, effects, fresh, deadline)).await
        {
            Ok(r) => r,
            Err(_) => Err(ApplyError::Transient {
                what: format!("the changes to {}", group.name()),
                reason: format!("not done within {}s", ACTION_TIMEOUT.as_secs()),
            }),
        }
    }

    /// What the two Deployments' `spec.replicas` really are, and what the router's object
    /// holds, after an apply of `effects`. Reading back is best effort: a cluster that does
    /// not answer is said, not failed.
    pub(super) async fn read_back(
        &self,
        group: &InstanceGroup,
        effects: &[ClusterEffect],
        deadline: Deadline,
    ) -> Option<ReadBack> {
        let replicas = self
            .read_back_replicas(group, asked_replicas(effects), deadline)
            .await;
        let Some((router, weight, routes)) = asked_route(effects) else {
            return replicas;
        };
        let state = self
            .read_back_router(group, router, weight, routes.len(), deadline)
            .await;
        let base = replicas.unwrap_or(ReadBack {
            text: String::new(),
            mismatch: false,
            router: None,
        });
        Some(base.with_router(state))
    }

    /// What the router object of `group` holds against `weight`% and `routes` header routes.
    async fn read_back_router(
        &self,
        group: &InstanceGroup,
        router: TrafficRouter,
        weight: u8,
        routes: usize,
        deadline: Deadline,
    ) -> RouterState {
        let deadline = at_least(deadline, std::time::Duration::from_secs(2));
        match self.applier(&group.spec.cluster).await {
            Ok(applier) => {
                traffic::observe(&applier, group, router, weight, routes, deadline).await
            }
            Err(e) => traffic::unobserved(router, &e),
        }
    }

    /// The two Deployments' `spec.replicas` against `asked` (stable, canary).
    async fn read_back_replicas(
        &self,
        group: &InstanceGroup,
        asked: Option<(u32, u32)>,
        deadline: Deadline,
    ) -> Option<ReadBack> {
        let asked = asked?;
        // Even an action that used its time up gets a moment to look.
        let deadline = at_least(deadline, std::time::Duration::from_secs(2));
        let applier = match self.applier(&group.spec.cluster).await {
            Ok(a) => a,
            Err(e) => return Some(ReadBack::unread(&e)),
        };
        let ns = &group.spec.namespace;
        let (stable, canary) = (group.stable_deployment(), group.canary_deployment());
        let (s, c) = tokio::join!(
            applier.replicas(ns, &stable, deadline),
            applier.replicas(ns, &canary, deadline),
        );
        Some(match (s, c) {
            (Ok(s), Ok(c)) => ReadBack::compare(asked, (s, c)),
            (Err(e), _) | (_, Err(e)) => ReadBack::unread(&e),
        })
    }

    /// What runs in `namespace` of `cluster` that an import may adopt: its Deployments
    /// and CronJobs (those `selector` picks), read with the controller's own credentials
    /// (so what a revision records is the cluster's word, not the asker's).
    pub async fn read_workloads(
        &self,
        cluster: &str,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, ApplyError> {
        let applier = self.applier(cluster).await?;
        let deadline = Deadline::action();
        let (d, c) = tokio::join!(
            applier.list_selected("apps/v1", "Deployment", namespace, selector, deadline),
            applier.list_selected("batch/v1", "CronJob", namespace, selector, deadline),
        );
        let mut out = d?;
        out.extend(c?);
        Ok(out)
    }

    /// Labels the pods of an adopted group's Deployment that do not carry the group's
    /// labels yet: those its ReplicaSet made after the adoption (a pod that died, a node
    /// drained) and before a deploy of the group's own put the labels in the pod template.
    /// Reads the Deployment's selector from the cluster; `Ok(0)` when there is none.
    pub async fn label_unlabelled_adopted_pods(
        &self,
        group: &InstanceGroup,
    ) -> Result<usize, ApplyError> {
        let applier = self.applier(&group.spec.cluster).await?;
        let deployment = applier
            .get(
                "apps/v1",
                "Deployment",
                &group.spec.namespace,
                &group.stable_deployment(),
                Deadline::action(),
            )
            .await?;
        let Some(selector) = deployment
            .as_ref()
            .and_then(|d| d.pointer("/spec/selector"))
        else {
            return Ok(0);
        };
        self.label_adopted_pods(group, selector).await
    }

    /// Labels the pods of an adopted Deployment (a metadata patch: no restart), so the
    /// consoles, logs and health see them before the first deploy gives new pods the
    /// labels. The Deployment's pods are those of its ReplicaSets (`<deployment>-<hash>`);
    /// returns how many were labelled.
    pub async fn label_adopted_pods(
        &self,
        group: &InstanceGroup,
        selector: &serde_json::Value,
    ) -> Result<usize, ApplyError> {
        let applier = self.applier(&group.spec.cluster).await?;
        let deadline = Deadline::action();
        let ns = &group.spec.namespace;
        let picked = selector
            .get("matchLabels")
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|s| !s.is_empty());
        let pods = applier
            .list_selected("v1", "Pod", ns, picked.as_deref(), deadline)
            .await?;
        let prefix = format!("{}-", group.stable_deployment());
        let patch = serde_json::json!({ "metadata": { "labels": {
            labels::GROUP: group.name(),
            labels::APP: group.app(),
            labels::TRACK: Track::Stable.as_str(),
        } } });
        let group_label = format!("/metadata/labels/{}", labels::GROUP.replace('/', "~1"));
        let mut n = 0;
        for pod in &pods {
            let labelled = pod
                .pointer(&group_label)
                .and_then(serde_json::Value::as_str)
                == Some(group.name());
            let owned = pod
                .pointer("/metadata/ownerReferences")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|o| {
                    o.iter().any(|r| {
                        r["kind"] == "ReplicaSet"
                            && r["name"].as_str().is_some_and(|n| n.starts_with(&prefix))
                    })
                });
            let Some(name) = pod.pointer("/metadata/name").and_then(|v| v.as_str()) else {
                continue;
            };
            // Counted whether this pass or an earlier one (the agent's) put the labels on.
            if owned {
                if !labelled {
                    applier
                        .merge_patch("v1", "Pod", ns, name, &patch, deadline)
                        .await?;
                }
                n += 1;
            }
        }
        Ok(n)
    }

    /// The running Jobs of cron group `group`.
    pub async fn running_jobs(
        &self,
        group: &InstanceGroup,
        deadline: Deadline,
    ) -> Result<Vec<RunningJob>, ApplyError> {
        let applier = self.applier(&group.spec.cluster).await?;
        let jobs = applier
            .list("batch/v1", "Job", &group.spec.namespace, deadline)
            .await?;
        let mut running: Vec<RunningJob> = jobs
            .iter()
            .filter_map(|j| cron::running_job(group, j))
            .collect();
        running.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(running)
    }

    /// What the group's two Deployments report (`None` in a field: it does not exist).
    pub async fn tracks(
        &self,
        group: &InstanceGroup,
        deadline: Deadline,
    ) -> Result<Tracks, ApplyError> {
        let applier = self.applier(&group.spec.cluster).await?;
        let ns = &group.spec.namespace;
        let (stable, canary) = (group.stable_deployment(), group.canary_deployment());
        let (s, c) = tokio::join!(
            applier.get("apps/v1", "Deployment", ns, &stable, deadline),
            applier.get("apps/v1", "Deployment", ns, &canary, deadline),
        );
        Ok(Tracks {
            stable: s?.as_ref().map(DeploymentFacts::from_object),
            canary: c?.as_ref().map(DeploymentFacts::from_object),
        })
    }

    /// Blue-green: points the active Service at `active`'s pods and the preview Service
    /// (made from the active one's ports) at the canary's.
    async fn switch_services(
        &self,
        applier: &Applier,
        group: &InstanceGroup,
        active: Track,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let ns = &group.spec.namespace;
        let service = applier
            .get("v1", "Service", ns, group.name(), deadline)
            .await?
            .ok_or_else(|| ApplyError::Refused {
                kind: "Service".into(),
                namespace: ns.clone(),
                name: group.name().into(),
                reason: format!(
                    "blue-green needs the Service {} (rendered by the template): it is the active Service",
                    group.name()
                ),
            })?;
        let preview = strategy::preview_object(group, &service);
        applier.apply(&preview, deadline).await?;
        applier
            .merge_patch(
                "v1",
                "Service",
                ns,
                group.name(),
                &serde_json::json!({ "spec": { "selector": { labels::TRACK: active.as_str() } } }),
                deadline,
            )
            .await
    }

    /// Makes the router's objects hold `weight`% and `header_routes`.
    async fn route(
        &self,
        applier: &Applier,
        group: &InstanceGroup,
        router: TrafficRouter,
        weight: u8,
        header_routes: &[HeaderRoute],
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let ns = &group.spec.namespace;
        let refused = |reason: String| ApplyError::Refused {
            kind: "TrafficRouter".into(),
            namespace: ns.clone(),
            name: group.name().into(),
            reason,
        };
        let service = applier
            .get("v1", "Service", ns, group.name(), deadline)
            .await?
            .ok_or_else(|| {
                refused(format!(
                    "router {} needs the Service {} (rendered by the template) for its ports",
                    router.as_str(),
                    group.name()
                ))
            })?;
        let stable_ingress = if router == TrafficRouter::Nginx {
            applier
                .get(
                    "networking.k8s.io/v1",
                    "Ingress",
                    ns,
                    &traffic::route_name(group),
                    deadline,
                )
                .await?
        } else {
            None
        };
        let route = traffic::Route {
            group,
            weight,
            header_routes,
            ports: traffic::service_ports(&service),
            stable_ingress,
        };
        for obj in traffic::objects(router, &route).map_err(refused)? {
            applier.apply(&obj, deadline).await?;
        }
        Ok(())
    }

    async fn apply_effects(
        &self,
        group: &InstanceGroup,
        effects: &[ClusterEffect],
        fresh: Option<&Revision>,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let applier = self.applier(&group.spec.cluster).await?;
        let ns = &group.spec.namespace;
        let mut cache: BTreeMap<u64, Revision> = BTreeMap::new();
        if let Some(r) = fresh {
            cache.insert(r.number, r.clone());
        }
        for effect in effects {
            match effect {
                ClusterEffect::ApplyRevision {
                    track,
                    revision,
                    replicas,
                } => {
                    if !cache.contains_key(revision) {
                        let r = self
                            .store
                            .get_revision(&group.key(), *revision)
                            .await
                            // The store not answering is no verdict on the release.
                            .map_err(|e| ApplyError::Transient {
                                what: format!("revision {revision} of {}", group.name()),
                                reason: e.to_string(),
                            })?
                            .ok_or_else(|| ApplyError::Refused {
                                kind: "Revision".into(),
                                namespace: ns.clone(),
                                name: revision.to_string(),
                                reason: format!(
                                    "revision {revision} of {} is not in the store",
                                    group.name()
                                ),
                            })?;
                        cache.insert(*revision, r);
                    }
                    let Some(r) = cache.get(revision) else {
                        continue;
                    };
                    for obj in objects_for(r, *track, *replicas).map_err(ApplyError::Malformed)? {
                        applier.apply(&obj, deadline).await?;
                    }
                }
                ClusterEffect::ScaleTracks { stable, canary } => {
                    applier
                        .scale(ns, &group.stable_deployment(), *stable, deadline)
                        .await?;
                    applier
                        .scale(ns, &group.canary_deployment(), *canary, deadline)
                        .await?;
                }
                ClusterEffect::RouteTraffic {
                    router,
                    weight,
                    header_routes,
                } => {
                    self.route(&applier, group, *router, *weight, header_routes, deadline)
                        .await?;
                }
                ClusterEffect::SwitchServices { active } => {
                    self.switch_services(&applier, group, *active, deadline)
                        .await?;
                }
                ClusterEffect::PauseRollout { paused } => {
                    applier
                        .merge_patch(
                            "apps/v1",
                            "Deployment",
                            ns,
                            &group.stable_deployment(),
                            &serde_json::json!({ "spec": { "paused": paused } }),
                            deadline,
                        )
                        .await?;
                }
                ClusterEffect::SuspendCron { suspend } => {
                    applier
                        .merge_patch(
                            "batch/v1",
                            "CronJob",
                            ns,
                            group.name(),
                            &serde_json::json!({ "spec": { "suspend": suspend } }),
                            deadline,
                        )
                        .await?;
                }
                ClusterEffect::TriggerJob { at } => {
                    let cronjob = applier
                        .get("batch/v1", "CronJob", ns, group.name(), deadline)
                        .await?
                        .ok_or_else(|| ApplyError::Refused {
                            kind: "CronJob".into(),
                            namespace: ns.clone(),
                            name: group.name().into(),
                            reason: format!(
                                "the CronJob {} does not exist; deploy the group first",
                                group.name()
                            ),
                        })?;
                    let job =
                        cron::triggered_job(group, &cronjob, *at).map_err(ApplyError::Malformed)?;
                    applier.apply(&job, deadline).await?;
                }
                ClusterEffect::KillJobs { job } => {
                    for running in self.running_jobs(group, deadline).await? {
                        if job.as_ref().is_none_or(|j| *j == running.name) {
                            applier
                                .delete("batch/v1", "Job", ns, &running.name, deadline)
                                .await?;
                        }
                    }
                }
                ClusterEffect::Deregister { address } => {
                    self.deregister(group, address).await?;
                }
                ClusterEffect::MarkForRemoval { pod } => {
                    self.mark_for_removal(&applier, group, pod, deadline)
                        .await?;
                }
                ClusterEffect::DeletePod { pod, address } => {
                    self.delete_drained(&applier, group, pod, address, deadline)
                        .await?;
                }
                ClusterEffect::AdmitPod { pod } => {
                    applier
                        .set_pod_condition(
                            ns,
                            pod,
                            crate::domain::registration::DRAIN_GATE,
                            deadline,
                        )
                        .await?;
                }
                ClusterEffect::RestartTrack { track, at } => {
                    let name = match track {
                        Track::Stable => group.stable_deployment(),
                        Track::Canary => group.canary_deployment(),
                    };
                    applier
                        .restart(ns, &name, &at.to_string(), deadline)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
