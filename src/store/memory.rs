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
use super::backend::{Backend, Cond, Kv, RawEvent, Write};

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
        }
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
    ) -> Result<String, StoreError> {
        Ok(self.leases.hold(name, holder, ttl))
    }

    async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.leases.holder(name))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.leases.release(name, holder);
        Ok(())
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

    async fn range_many(&self, prefixes: &[&str]) -> Result<(Vec<Kv>, i64), StoreError> {
        let st = self.lock();
        let kvs = prefixes
            .iter()
            .flat_map(|p| {
                st.keys
                    .range(p.to_string()..)
                    .take_while(move |(k, _)| k.starts_with(p))
                    .map(|(_, kv)| kv.clone())
            })
            .collect();
        Ok((kvs, st.revision))
    }

    async fn txn(&self, when: Vec<Cond>, writes: Vec<Write>) -> Result<(bool, i64), StoreError> {
        let mut st = self.lock();
        if !when.iter().all(|c| holds(&st, c)) {
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
