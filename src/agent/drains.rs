//! The agent's part in drains: ending each drain when its time is up, and in a rollout of
//! a group with `registration.drainOnRollout`, draining an old pod for every new one that
//! waits at the drain gate.
//!
//! For a new pod G waiting at the gate (its containers ready):
//! * a drain already runs for G: wait for it;
//! * G is not registered and in rotation yet: wait (draining an old pod now would take
//!   capacity away before the new one serves);
//! * an old pod (another pod-template-hash) that is not draining: drain it for G;
//! * none: G replaces nobody (first pods, a scale-up, a pod that died) — open its gate.
//!
//! Only pods of the Deployment's newest ReplicaSet drain others; a pod of an older one
//! waiting at the gate is let in at once (see `drain_move`).

use std::time::Duration;

use super::Agent;
use crate::domain::group::StrategyKind;
use crate::domain::registration;
use crate::domain::{InstanceGroup, Release};
use crate::engine::Action;
use crate::engine::release_engine::GroupPod;
use crate::kube::apply::Deadline;

const READ: Duration = Duration::from_secs(3);

impl Agent {
    /// What the agent does next about `group`'s drains, if anything.
    pub(super) async fn drain_move(
        &mut self,
        group: &InstanceGroup,
        release: &Release,
    ) -> Option<(Action, String)> {
        let reg = group.spec.registration.as_ref()?;
        let now = jiff::Timestamp::now();
        if let Some(d) = release.drains.iter().find(|d| d.until <= now) {
            // Still in rotation (the registry refused the write, or a registrator wrote
            // the weight back): the re-apply of the release takes it out again first.
            if self.address_serves(group, &d.address).await {
                return None;
            }
            return Some((
                Action::FinishDrain { pod: d.pod.clone() },
                format!(
                    "{} has been out of rotation for {}",
                    d.pod,
                    reg.drain_for_text()
                ),
            ));
        }
        if !reg.drain_on_rollout || group.spec.strategy.kind() != StrategyKind::Rolling {
            return None;
        }
        let deadline = Deadline::after(READ);
        let pods = self.engine.group_pods(group, deadline).await.ok()?;
        let waiting: Vec<&GroupPod> = pods
            .iter()
            .filter(|p| p.gated && p.ready && !p.terminating)
            .collect();
        if waiting.is_empty() {
            return None;
        }
        // Which revision is rolling in is read only when a pod waits (not on every pass).
        let current = self
            .engine
            .current_template_hash(group, deadline)
            .await
            .ok()?;
        // A pod of an older revision at the gate (its ReplicaSet replaced one that died, or
        // it came up just before the rollout began) brings back capacity the rollout counts
        // on and replaces nobody: it goes in at once. Only the new revision's pods drain
        // old ones — never the other way round.
        if let Some(old) = waiting
            .iter()
            .find(|p| current.is_some() && p.template_hash != current)
        {
            self.admit(group, &old.name).await;
            return None;
        }
        let waiting = waiting.into_iter().next()?;
        if release
            .drains
            .iter()
            .any(|d| d.for_pod.as_deref() == Some(waiting.name.as_str()))
        {
            return None;
        }
        let victim = pods
            .iter()
            .filter(|p| {
                !p.terminating
                    && p.name != waiting.name
                    && p.template_hash != waiting.template_hash
                    && !release.drains.iter().any(|d| d.pod == p.name)
            })
            // One that serves nobody goes first.
            .min_by_key(|p| (p.ready, p.name.clone()));
        let Some(victim) = victim else {
            self.admit(group, &waiting.name).await;
            return None;
        };
        if !self.serves(group, waiting).await {
            return None;
        }
        Some((
            Action::Drain {
                pod: victim.name.clone(),
                for_pod: Some(waiting.name.clone()),
            },
            format!(
                "rollout: {} is ready and registered, {} is drained before it goes",
                waiting.name, victim.name
            ),
        ))
    }

    /// Opens `pod`'s drain gate: the agent's own bookkeeping, no action on the release.
    async fn admit(&self, group: &InstanceGroup, pod: &str) {
        if let Err(e) = self.engine.admit(group, pod, Deadline::after(READ)).await {
            tracing::warn!(%pod, error = %e, "opening a drain gate failed");
        }
    }

    /// Whether `pod`'s instance is registered with a weight.
    async fn serves(&self, group: &InstanceGroup, pod: &GroupPod) -> bool {
        let (Some(reg), Some(ip)) = (&group.spec.registration, &pod.ip) else {
            return false;
        };
        let address = registration::address(ip, reg.port(&group.spec.params));
        self.address_serves(group, &address).await
    }

    /// Whether the instance at `address` is registered with a weight (a registry that
    /// cannot be read counts as yes: nothing is deleted on a guess).
    async fn address_serves(&self, group: &InstanceGroup, address: &str) -> bool {
        let Some(reg) = &group.spec.registration else {
            return false;
        };
        match self.engine.registered(group, reg).await {
            Ok(list) => list.iter().any(|i| i.address == address && i.in_rotation()),
            Err(_) => true,
        }
    }
}
