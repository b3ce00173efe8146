//! A timer queue: the kubelet keeps one heap of due steps instead of a task or a poll per
//! pod.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Duration;

use tokio::time::Instant;

pub struct TimerQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

struct Entry<T> {
    at: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed: the heap pops the earliest deadline first, ties in insertion order.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        TimerQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> TimerQueue<T> {
    pub fn push(&mut self, after: Duration, item: T) {
        self.seq += 1;
        self.heap.push(Entry {
            at: Instant::now() + after,
            seq: self.seq,
            item,
        });
    }

    pub fn pop_due(&mut self) -> Option<T> {
        if self.heap.peek()?.at <= Instant::now() {
            self.heap.pop().map(|e| e.item)
        } else {
            None
        }
    }

    /// The earliest deadline, for `sleep_until` (a copy, so the queue stays free to change
    /// while the caller waits).
    pub fn deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.at)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// Sleeps until `deadline`, forever when there is none.
pub async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pops_in_deadline_order() {
        let mut q = TimerQueue::default();
        q.push(Duration::from_millis(20), "late");
        q.push(Duration::from_millis(10), "early");
        assert_eq!(q.pop_due(), None);
        sleep_until(q.deadline()).await;
        assert_eq!(q.pop_due(), Some("early"));
        sleep_until(q.deadline()).await;
        assert_eq!(q.pop_due(), Some("late"));
        assert!(q.is_empty());
    }
}
