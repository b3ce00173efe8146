//! Traffic routers turn a canary weight into cluster objects. The `replicas` router has no
//! mesh: the Service selects both tracks, so the weight is the share of pods.

use crate::domain::InstanceGroup;
use crate::domain::group::StrategyKind;

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

/// The weights the `replicas` router can really give with `total` pods: what the weight
/// dialog shows as its granularity.
pub fn effective_weight(total: u32, weight: u8) -> u8 {
    let (stable, canary) = replica_split(total, weight);
    let all = u64::from(stable) + u64::from(canary);
    if all == 0 {
        return 0;
    }
    ((u64::from(canary) * 100) as f64 / all as f64).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_ceiling_of_the_canary_share() {
        assert_eq!(replica_split(10, 5), (9, 1));
        assert_eq!(replica_split(10, 25), (7, 3));
        assert_eq!(replica_split(10, 50), (5, 5));
        assert_eq!(replica_split(10, 100), (0, 10));
        assert_eq!(replica_split(10, 0), (10, 0));
        assert_eq!(replica_split(1, 5), (1, 1));
    }

    #[test]
    fn effective_weight_shows_the_granularity() {
        assert_eq!(effective_weight(10, 5), 10);
        assert_eq!(effective_weight(4, 30), 50);
        assert_eq!(effective_weight(20, 5), 5);
    }

    #[test]
    fn huge_totals_do_not_overflow() {
        assert_eq!(replica_split(u32::MAX, 100), (0, u32::MAX));
        let (s, c) = replica_split(u32::MAX, 50);
        assert_eq!(u64::from(s) + u64::from(c), u64::from(u32::MAX));
        assert_eq!(effective_weight(u32::MAX, 50), 50);
    }
}
