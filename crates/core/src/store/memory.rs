//! The in-memory backend: etcd's data model in a mutex, for the demo and the unit tests.
//! It keeps the full change history (until compacted) so watches can start in the past,
//! exactly like etcd's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;

use super::StoreError;
use super::backend::{Backend, Cond, Fence, Kv, LeaseState, Page, RawEvent, Write};
use super::lease::lease_key;

/// How many live events a slow watcher may fall behind before it is told to resync.
const WATCH_BUFFER: usize = 4096;

#[derive(Default)]
struct State {
    revision: i64,
    compacted: i64,
    keys: BTreeMap<String, Kv>,
    history: Vec<(i64, RawEvent)>,
}

#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    live: broadcast::Sender<(i64, RawEvent)>,
    leases: Arc<super::lease::MemoryLeases>,
    /// One process shares one memory store, so there is one fence: the in-process
    /// controller's (the console only puts leased requests, which are not fenced).
    fence: Arc<Mutex<Option<Fence>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        let (live, _) = broadcast::channel(WATCH_BUFFER);
        MemoryStore {
            state: Arc::new(Mutex::new(State::default())),
            live,
            leases: Arc::default(),
            fence: Arc::default(),
        }
    }

    fn current_fence(&self) -> Option<Fence> {
        self.fence.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_fence(&self, f: Option<Fence>) {
        *self.fence.lock().unwrap_or_else(|p| p.into_inner()) = f;
    }

    /// The transaction itself; `fenced` adds this store's fence as a condition.
    fn apply(
        &self,
        mut when: Vec<Cond>,
        writes: Vec<Write>,
        fence: Option<Fence>,
    ) -> Result<(bool, i64), StoreError> {
        let mut st = self.lock();
        if let Some(f) = &fence {
            when.push(Cond::ModRevision(f.key.clone(), f.mod_revision));
        }
        if !when.iter().all(|c| holds(&st, c)) {
            if let Some(f) = fence
                && !holds(&st, &Cond::ModRevision(f.key.clone(), f.mod_revision))
            {
                return Err(StoreError::Fenced { key: f.key });
            }
            return Ok((false, st.revision));
        }
        // etcd only bumps the revision for a transaction that changes something.
        let changes = writes.iter().any(|w| match w {
            Write::Put(..) => true,
            Write::Delete(k) => st.keys.contains_key(k),
        });
        if !changes {
            return Ok((true, st.revision));
        }
        st.revision += 1;
        let rev = st.revision;
        for w in writes {
            let ev = match w {
                Write::Put(key, value) => {
                    let create_revision = st.keys.get(&key).map_or(rev, |kv| kv.create_revision);
                    let kv = Kv {
                        key: key.clone(),
                        value,
                        create_revision,
                        mod_revision: rev,
                    };
                    st.keys.insert(key, kv.clone());
                    RawEvent::Put(kv)
                }
                Write::Delete(key) => {
                    if st.keys.remove(&key).is_none() {
                        continue;
                    }
                    RawEvent::Delete { key, revision: rev }
                }
            };
            st.history.push((rev, ev.clone()));
            // No receivers is fine: nobody is watching.
            let _ = self.live.send((rev, ev));
        }
        Ok((true, rev))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every change is applied
        // after all checks), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn holds(state: &State, cond: &Cond) -> bool {
    match cond {
        Cond::ModRevision(k, rev) => state.keys.get(k).map_or(0, |kv| kv.mod_revision) == *rev,
        Cond::Absent(k) => !state.keys.contains_key(k),
        Cond::Present(k) => state.keys.contains_key(k),
    }
}

#[async_trait]
impl Backend for MemoryStore {
    fn location(&self) -> String {
        "memory".to_string()
    }

    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError> {
        let before = self.leases.holder(name);
        let now = self.leases.hold(name, holder, ttl);
        let key = lease_key(name);
        let mine = self.current_fence().is_some_and(|f| f.key == key);
        if now == holder && (before.as_deref() != Some(holder) || !mine) {
            // Taken (or taken again after expiry): the key moves, so an older holder's
            // fence no longer matches.
            let (_, rev) = self.apply(
                vec![],
                vec![Write::Put(key.clone(), holder.as_bytes().to_vec())],
                None,
            )?;
            self.set_fence(Some(Fence {
                key,
                mod_revision: rev,
            }));
        }
        Ok(LeaseState {
            holder: now,
            cleared_stale: None,
        })
    }

    async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.leases.holder(name))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        if self.leases.holder(name).as_deref() == Some(holder) {
            self.leases.release(name, holder);
            self.apply(vec![], vec![Write::Delete(lease_key(name))], None)?;
            self.set_fence(None);
        }
        Ok(())
    }

    async fn put_leased(
        &self,
        key: &str,
        value: Vec<u8>,
        _ttl: std::time::Duration,
    ) -> Result<i64, StoreError> {
        // One process: nobody can go away and leave the key behind, so no expiry.
        Ok(self
            .apply(vec![], vec![Write::Put(key.to_string(), value)], None)?
            .1)
    }

    async fn watch_prefix(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError> {
        let prefix = prefix.to_string();
        Ok(self
            .watch_keys(from_revision)
            .await?
            .filter(move |ev| {
                let keep = match ev {
                    RawEvent::Put(kv) => kv.key.starts_with(&prefix),
                    RawEvent::Delete { key, .. } => key.starts_with(&prefix),
                    RawEvent::Compacted { .. } => true,
                };
                std::future::ready(keep)
            })
            .boxed())
    }

    fn fence(&self) -> Option<Fence> {
        self.current_fence()
    }

    async fn get(&self, key: &str) -> Result<Option<Kv>, StoreError> {
        Ok(self.lock().keys.get(key).cloned())
    }

    async fn range(&self, prefix: &str) -> Result<(Vec<Kv>, i64), StoreError> {
        let st = self.lock();
        let kvs = st
            .keys
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, kv)| kv.clone())
            .collect();
        Ok((kvs, st.revision))
    }

    async fn range_view(
        &self,
        prefixes: &[&str],
        keys_only: &[&str],
    ) -> Result<(Vec<Kv>, i64), StoreError> {
        let st = self.lock();
        let under = |p: &str, with_value: bool| {
            st.keys
                .range(p.to_string()..)
                .take_while(move |(k, _)| k.starts_with(p))
                .map(move |(_, kv)| {
                    let mut kv = kv.clone();
                    if !with_value {
                        kv.value.clear();
                    }
                    kv
                })
                .collect::<Vec<_>>()
        };
        let mut kvs = Vec::new();
        for p in prefixes {
            kvs.extend(under(p, true));
        }
        for p in keys_only {
            kvs.extend(under(p, false));
        }
        Ok((kvs, st.revision))
    }

    async fn range_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Page, StoreError> {
        use std::ops::Bound;
        let st = self.lock();
        let end = match prefix_end(prefix) {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        let (lo, hi) = match (after, reverse) {
            (Some(a), false) => (Bound::Excluded(a.to_string()), end),
            (Some(a), true) => (
                Bound::Included(prefix.to_string()),
                Bound::Excluded(a.to_string()),
            ),
            (None, _) => (Bound::Included(prefix.to_string()), end),
        };
        if matches!((&lo, &hi), (Bound::Excluded(a) | Bound::Included(a), Bound::Excluded(b)) if a >= b)
        {
            return Ok(Page {
                kvs: Vec::new(),
                more: false,
                revision: st.revision,
            });
        }
        let within = st
            .keys
            .range((lo, hi))
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, kv)| kv);
        let mut kvs: Vec<Kv> = if reverse {
            within.rev().take(limit + 1).cloned().collect()
        } else {
            within.take(limit + 1).cloned().collect()
        };
        let more = kvs.len() > limit;
        kvs.truncate(limit);
        Ok(Page {
            kvs,
            more,
            revision: st.revision,
        })
    }

    async fn txn(&self, when: Vec<Cond>, writes: Vec<Write>) -> Result<(bool, i64), StoreError> {
        self.apply(when, writes, self.current_fence())
    }

    async fn watch_keys(
        &self,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError> {
        // Subscribing under the lock means no change falls between the history copy and
        // the live feed; the revision filter drops what both contain.
        let (past, live, compacted) = {
            let st = self.lock();
            // Like etcd: 0 (or less) means "from the next change on".
            let from_revision = if from_revision <= 0 {
                st.revision + 1
            } else {
                from_revision
            };
            if from_revision < st.compacted {
                (Vec::new(), None, Some(st.compacted))
            } else {
                let past: Vec<(i64, RawEvent)> = st
                    .history
                    .iter()
                    .filter(|(r, _)| *r >= from_revision)
                    .cloned()
                    .collect();
                (past, Some((self.live.subscribe(), from_revision)), None)
            }
        };
        if let Some(compact_revision) = compacted {
            let ev = RawEvent::Compacted { compact_revision };
            return Ok(futures::stream::iter([ev]).boxed());
        }
        let Some((live, from_revision)) = live else {
            return Ok(futures::stream::empty().boxed());
        };
        let last_past = past.last().map_or(from_revision - 1, |(r, _)| *r);
        let live = futures::stream::unfold(Some(live), move |rx| async move {
            let mut rx = rx?;
            loop {
                match rx.recv().await {
                    Ok((rev, ev)) if rev > last_past => {
                        return Some((ev, Some(rx)));
                    }
                    Ok(_) => continue,
                    // Fell too far behind: the events are gone, like an etcd compaction.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let ev = RawEvent::Compacted {
                            compact_revision: 0,
                        };
                        return Some((ev, None));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(futures::stream::iter(past.into_iter().map(|(_, e)| e))
            .chain(live)
            .boxed())
    }

    async fn compact_history(&self, revision: i64) -> Result<(), StoreError> {
        let mut st = self.lock();
        if revision > st.revision {
            return Err(StoreError::Invalid(format!(
                "cannot compact to revision {revision}: the store is at {}",
                st.revision
            )));
        }
        st.compacted = st.compacted.max(revision);
        st.history.retain(|(r, _)| *r >= revision);
        Ok(())
    }
}

/// The first string after every string starting with `prefix` (None: there is none).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0xFF {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}
