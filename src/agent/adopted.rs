//! The agent's part in adoption (`groups import`): until a deploy of the group's own puts
//! the flightdeck labels in the pod template, a pod its ReplicaSet makes (one died, a node
//! was drained) carries only the labels the team gave it, so consoles, logs and health
//! would not see it. The agent labels such pods (metadata only: nothing restarts), every
//! [`RELABEL_EVERY`] per group.

use std::time::{Duration, Instant};

use super::Agent;
use crate::domain::{InstanceGroup, Release};
use crate::engine::adopt::POD_LABELS;

/// How often an adopted group's pods are looked at for missing labels.
pub(super) const RELABEL_EVERY: Duration = Duration::from_secs(10);

/// Whether `group` runs its adopted first revision, whose pod template lacks the labels.
/// Revision 1 of an adopted group is the object as it ran; the group's own parameters turn
/// the labels on from the first deploy (revision 2) on, and a rollback to 1 turns them off.
fn runs_adopted_revision(group: &InstanceGroup, release: &Release) -> bool {
    group.spec.kind.is_service()
        && release.stable_revision == 1
        && group.spec.params.contains_key(POD_LABELS)
}

impl Agent {
    pub(super) async fn label_adopted(&mut self, group: &InstanceGroup, release: &Release) {
        if !runs_adopted_revision(group, release) {
            return;
        }
        let key = group.key();
        let now = Instant::now();
        if self
            .relabelled_at
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < RELABEL_EVERY)
        {
            return;
        }
        self.relabelled_at.insert(key.clone(), now);
        match self.engine.label_unlabelled_adopted_pods(group).await {
            Ok(n) => {
                tracing::debug!(group = %key, pods = n, "pods of an adopted group carry its labels")
            }
            Err(e) => {
                tracing::warn!(group = %key, error = %e, "labelling an adopted group's pods failed")
            }
        }
    }
}
