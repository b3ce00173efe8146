//! Traffic routers turn a canary weight into cluster objects. The `replicas` router has no
//! mesh: the Service selects both tracks, so the weight is the share of pods.

pub use crate::domain::replicas::{replica_split, track_replicas};

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
