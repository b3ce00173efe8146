//! Rates from counter deltas, the way Prometheus' `increase()` and `histogram_quantile()`
//! compute them, for the pod-metrics source.

use super::exposition::PodCounters;

/// What a set of pods served between two scrapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    pub requests: f64,
    pub errors: f64,
    /// Cumulative bucket increases, sorted by bound, `+Inf` last.
    pub buckets: Vec<(f64, f64)>,
}

/// A counter's increase: a value lower than before means the process restarted and the
/// counter began again at zero, so all of the new value is increase.
pub fn increase(before: f64, after: f64) -> f64 {
    if after >= before {
        after - before
    } else {
        after
    }
}

impl Delta {
    /// The increase from `before` to `after` for one pod.
    pub fn between(before: &PodCounters, after: &PodCounters) -> Delta {
        // One reset check for the whole scrape: a restart resets every counter at once.
        let reset = after.requests < before.requests;
        let inc = |b: f64, a: f64| if reset { a } else { increase(b, a) };
        let buckets = after
            .buckets
            .iter()
            .map(|(le, a)| {
                let b = before
                    .buckets
                    .iter()
                    .find(|(l, _)| l == le)
                    .map_or(0.0, |x| x.1);
                (*le, inc(b, *a))
            })
            .collect();
        Delta {
            requests: inc(before.requests, after.requests),
            errors: inc(before.errors, after.errors),
            buckets,
        }
    }

    /// Adds another pod's delta (buckets with the same bounds add up).
    pub fn add(&mut self, other: &Delta) {
        self.requests += other.requests;
        self.errors += other.errors;
        for (le, n) in &other.buckets {
            match self.buckets.iter_mut().find(|(l, _)| l == le) {
                Some((_, m)) => *m += n,
                None => self.buckets.push((*le, *n)),
            }
        }
        self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }

    /// Share of requests that were not 5xx; `None` without requests (no traffic is not 100%).
    pub fn success_rate(&self) -> Option<f64> {
        (self.requests > 0.0)
            .then(|| ((self.requests - self.errors) / self.requests).clamp(0.0, 1.0))
    }

    pub fn quantile(&self, q: f64) -> Option<f64> {
        histogram_quantile(q, &self.buckets)
    }
}

/// Prometheus' `histogram_quantile`: find the bucket the rank falls in and interpolate
/// linearly inside it; a rank in the `+Inf` bucket answers the highest finite bound.
/// `None` without observations or without a `+Inf` bucket.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let (last_le, total) = *buckets.last()?;
    if last_le != f64::INFINITY || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let i = buckets.iter().position(|(_, n)| *n >= rank)?;
    if i == buckets.len() - 1 {
        return buckets.len().checked_sub(2).map(|j| buckets[j].0);
    }
    let (end, count) = buckets[i];
    let (start, below) = if i == 0 {
        (0.0_f64.min(end), 0.0)
    } else {
        buckets[i - 1]
    };
    let inside = count - below;
    if inside <= 0.0 {
        return Some(end);
    }
    Some(start + (end - start) * (rank - below) / inside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::exposition::parse;

    fn counters(requests: f64, errors: f64, buckets: &[(f64, f64)]) -> PodCounters {
        PodCounters {
            requests,
            errors,
            buckets: buckets.to_vec(),
        }
    }

    #[test]
    fn increase_treats_a_drop_as_a_reset() {
        assert_eq!(increase(100.0, 130.0), 30.0);
        assert_eq!(increase(100.0, 7.0), 7.0);
    }

    #[test]
    fn deltas_and_success_rate_from_two_scrapes() {
        let a = counters(1000.0, 10.0, &[(0.1, 900.0), (f64::INFINITY, 1000.0)]);
        let b = counters(1200.0, 30.0, &[(0.1, 1050.0), (f64::INFINITY, 1200.0)]);
        let d = Delta::between(&a, &b);
        assert_eq!((d.requests, d.errors), (200.0, 20.0));
        assert_eq!(d.success_rate(), Some(0.9));
        assert_eq!(d.buckets, vec![(0.1, 150.0), (f64::INFINITY, 200.0)]);
        // After a restart the new counters are the whole increase.
        let c = counters(50.0, 0.0, &[(0.1, 50.0), (f64::INFINITY, 50.0)]);
        assert_eq!(Delta::between(&b, &c).requests, 50.0);
        assert_eq!(Delta::default().success_rate(), None);
    }

    #[test]
    fn quantiles_interpolate_like_prometheus() {
        let c = parse(include_str!("../../../../tests/fixtures/pod-metrics.txt")).unwrap();
        // p50: rank 532.5 falls in (0.005, 0.05] holding 590 observations above 10.
        let p50 = histogram_quantile(0.5, &c.buckets).unwrap();
        assert!((p50 - (0.005 + 0.045 * (532.5 - 10.0) / 590.0)).abs() < 1e-9);
        // p99: rank 1054.35 falls in (0.5, 1].
        let p99 = histogram_quantile(0.99, &c.buckets).unwrap();
        assert!((p99 - (0.5 + 0.5 * 4.35 / 10.0)).abs() < 1e-9);
        // A rank in +Inf answers the highest finite bound.
        assert_eq!(histogram_quantile(1.0, &c.buckets), Some(1.0));
        assert_eq!(histogram_quantile(0.5, &[(f64::INFINITY, 0.0)]), None);
    }

    #[test]
    fn pods_add_up() {
        let mut d = Delta {
            requests: 10.0,
            errors: 1.0,
            buckets: vec![(0.1, 10.0), (f64::INFINITY, 10.0)],
        };
        d.add(&Delta {
            requests: 30.0,
            errors: 0.0,
            buckets: vec![(0.1, 20.0), (f64::INFINITY, 30.0)],
        });
        assert_eq!(d.requests, 40.0);
        assert_eq!(d.buckets, vec![(0.1, 30.0), (f64::INFINITY, 40.0)]);
        assert_eq!(d.success_rate(), Some(39.0 / 40.0));
    }
}
