//! Traffic routers turn a canary weight into cluster objects. The `replicas` router has no
//! mesh: the Service selects both tracks, so the weight is the share of pods.

/// Replicas per track for `weight`% of `total`: canary = ceil(total × w / 100), stable keeps
/// the rest but never drops to zero while the canary takes less than all traffic.
pub fn replica_split(total: u32, weight: u8) -> (u32, u32) {
    let w = weight.min(100) as u32;
    let canary = (total * w).div_ceil(100);
    let stable = total - canary.min(total);
    if w < 100 && stable == 0 && total > 0 {
        return (1, canary.saturating_sub(1).max(1));
    }
    (stable, canary)
}

/// The weights the `replicas` router can really give with `total` pods: what the weight
/// dialog shows as its granularity.
pub fn effective_weight(total: u32, weight: u8) -> u8 {
    let (stable, canary) = replica_split(total, weight);
    if stable + canary == 0 {
        return 0;
    }
    ((canary * 100) as f64 / (stable + canary) as f64).round() as u8
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
}
