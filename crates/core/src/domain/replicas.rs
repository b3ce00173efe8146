//! How many pods each track runs: the one rule the engine applies and the console and the
//! health sampler expect (the `replicas` router splits the pods by weight; a mesh or an
//! ingress keeps stable whole; blue-green runs a whole preview; rolling has one track).

use super::InstanceGroup;
use super::group::StrategyKind;

/// Replicas per track for `weight`% of `total`: canary = ceil(total × w / 100), stable keeps
/// the rest but never drops to zero while the canary takes less than all traffic.
pub fn replica_split(total: u32, weight: u8) -> (u32, u32) {
    let w = u64::from(weight.min(100));
    // In u64: total × 100 does not fit a u32 for huge totals. canary ≤ total.
    let canary = u32::try_from((u64::from(total) * w).div_ceil(100)).unwrap_or(total);
    let stable = total - canary.min(total);
    if w < 100 && stable == 0 && total > 0 {
        return (1, canary.saturating_sub(1).max(1));
    }
    (stable, canary)
}

/// The (stable, canary) replicas of `group` with the canary at `weight`% (`live`: the
/// canary runs; otherwise it has none). The `replicas` router splits the pods by weight;
/// behind a mesh or ingress the weight is the router's, so stable keeps all its pods and
/// the canary has `traffic.canaryReplicas`, or the weight's share with a floor of 1 (a
/// header route needs a pod to reach even at 0%).
pub fn track_replicas(group: &InstanceGroup, weight: u8, live: bool) -> (u32, u32) {
    let total = group.replicas();
    let traffic = &group.spec.strategy.traffic;
    // Blue-green runs a whole preview beside the active version; rolling has one track.
    match group.spec.strategy.kind() {
        StrategyKind::BlueGreen if live => {
            let preview = group
                .spec
                .strategy
                .blue_green
                .as_ref()
                .and_then(|b| b.preview_replicas)
                .unwrap_or(total);
            return (total, preview);
        }
        StrategyKind::BlueGreen | StrategyKind::Rolling => return (total, 0),
        StrategyKind::Canary => {}
    }
    if !traffic.router.splits_by_weight() {
        return replica_split(total, if live { weight } else { 0 });
    }
    if !live {
        return (total, 0);
    }
    let canary = traffic
        .canary_replicas
        .unwrap_or_else(|| replica_split(total, weight).1.max(1));
    (total, canary)
}
