//! The service registry: the platform etcd's keys *outside* flightdeck's prefix where a
//! registrator records each instance (see [`crate::domain::registration`]). Absolute keys,
//! leases as a registrator uses them (grant, keep alive, revoke), and the two writes a
//! drain makes — a new value that keeps the key's lease, or a delete — each only if the key
//! is still what the drain read.
//!
//! The etcd registry is a second connection with the same credentials and no prefix; the
//! in-memory one serves the demo, where the simulated kubelet registers its pods.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::backend::{Backend, Cond, Kv, RawEvent, Write};
use super::config::{Backend as BackendKind, StoreConfig};
use super::{EtcdStore, MemoryStore, StoreError};

#[async_trait]
pub trait Registry: Send + Sync + 'static {
    /// Where the registry is, for messages.
    fn location(&self) -> String;
    /// Every key under `prefix` (absolute), and the store revision of the read.
    async fn list(&self, prefix: &str) -> Result<(Vec<Kv>, i64), StoreError>;
    /// Changes under `prefix` from `from_revision` on.
    async fn watch(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError>;
    /// Sets `key` to `value`, keeping the lease it is bound to, if its mod_revision is still
    /// `mod_revision`. Whether it did.
    async fn replace(
        &self,
        key: &str,
        value: Vec<u8>,
        mod_revision: i64,
    ) -> Result<bool, StoreError>;
    /// Deletes `key` if its mod_revision is still `mod_revision`. Whether it did.
    async fn remove(&self, key: &str, mod_revision: i64) -> Result<bool, StoreError>;
    /// A registrator's put: `key` bound to a new lease of `ttl`; the lease's id.
    async fn register(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<i64, StoreError>;
    /// Keeps a lease alive for another ttl; `false` when it has expired already.
    async fn keep_alive(&self, lease: i64) -> Result<bool, StoreError>;
    /// Ends a lease: its keys go.
    async fn revoke(&self, lease: i64) -> Result<(), StoreError>;
}

impl std::fmt::Debug for dyn Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({})", self.location())
    }
}

/// The registry next to the store `cfg` names: for etcd a connection without the prefix;
/// for `mem://`, a fresh in-memory one (one process: the demo wires its own).
pub async fn connect_registry(cfg: &StoreConfig) -> Result<Arc<dyn Registry>, StoreError> {
    match &cfg.backend {
        BackendKind::Memory => Ok(Arc::new(MemoryRegistry::new())),
        BackendKind::Etcd { .. } => {
            let mut cfg = cfg.clone();
            cfg.options.prefix = String::new();
            Ok(Arc::new(EtcdRegistry {
                store: EtcdStore::connect(&cfg).await?,
            }))
        }
    }
}

/// An etcd registry (absolute keys).
pub struct EtcdRegistry {
    pub(super) store: EtcdStore,
}

/// The in-memory registry: etcd's data model, with leases that expire.
#[derive(Clone)]
pub struct MemoryRegistry {
    keys: MemoryStore,
    leases: Arc<Mutex<Leases>>,
}

#[derive(Default)]
struct Leases {
    next: i64,
    live: HashMap<i64, MemoryLease>,
}

struct MemoryLease {
    ttl: Duration,
    until: Instant,
    keys: Vec<String>,
}

impl Default for MemoryRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRegistry {
    pub fn new() -> MemoryRegistry {
        MemoryRegistry {
            keys: MemoryStore::new(),
            leases: Arc::default(),
        }
    }

    /// Deletes the keys of leases that ran out (done before every call: nothing in one
    /// process can see an expired key as live).
    async fn expire(&self) {
        let gone: Vec<String> = {
            let mut l = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let dead: Vec<i64> = l
                .live
                .iter()
                .filter(|(_, v)| v.until <= now)
                .map(|(k, _)| *k)
                .collect();
            dead.into_iter()
                .filter_map(|id| l.live.remove(&id))
                .flat_map(|v| v.keys)
                .collect()
        };
        if !gone.is_empty() {
            let _ = self
                .keys
                .txn(vec![], gone.into_iter().map(Write::Delete).collect())
                .await;
        }
    }

    fn spawn_expiry(&self) {
        let weak = Arc::downgrade(&self.leases);
        let keys = self.keys.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let Some(leases) = weak.upgrade() else { return };
                    let me = MemoryRegistry {
                        keys: keys.clone(),
                        leases,
                    };
                    me.expire().await;
                }
            });
        }
    }
}

#[async_trait]
impl Registry for MemoryRegistry {
    fn location(&self) -> String {
        "memory".into()
    }

    async fn list(&self, prefix: &str) -> Result<(Vec<Kv>, i64), StoreError> {
        self.expire().await;
        self.keys.range(prefix).await
    }

    async fn watch(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError> {
        self.keys.watch_prefix(prefix, from_revision).await
    }

    async fn replace(
        &self,
        key: &str,
        value: Vec<u8>,
        mod_revision: i64,
    ) -> Result<bool, StoreError> {
        self.expire().await;
        let (done, _) = self
            .keys
            .txn(
                vec![Cond::ModRevision(key.to_string(), mod_revision)],
                vec![Write::Put(key.to_string(), value)],
            )
            .await?;
        Ok(done)
    }

    async fn remove(&self, key: &str, mod_revision: i64) -> Result<bool, StoreError> {
        self.expire().await;
        let (done, _) = self
            .keys
            .txn(
                vec![Cond::ModRevision(key.to_string(), mod_revision)],
                vec![Write::Delete(key.to_string())],
            )
            .await?;
        Ok(done)
    }

    async fn register(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<i64, StoreError> {
        self.expire().await;
        let (id, first) = {
            let mut l = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            let first = l.next == 0;
            l.next += 1;
            let id = l.next;
            // A key moves to its newest lease, as in etcd.
            for lease in l.live.values_mut() {
                lease.keys.retain(|k| k != key);
            }
            l.live.insert(
                id,
                MemoryLease {
                    ttl,
                    until: Instant::now() + ttl,
                    keys: vec![key.to_string()],
                },
            );
            (id, first)
        };
        if first {
            self.spawn_expiry();
        }
        self.keys
            .txn(vec![], vec![Write::Put(key.to_string(), value)])
            .await?;
        Ok(id)
    }

    async fn keep_alive(&self, lease: i64) -> Result<bool, StoreError> {
        let mut l = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        Ok(match l.live.get_mut(&lease) {
            Some(v) if v.until > now => {
                v.until = now + v.ttl;
                true
            }
            _ => false,
        })
    }

    async fn revoke(&self, lease: i64) -> Result<(), StoreError> {
        let keys = {
            let mut l = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            l.live.remove(&lease).map(|v| v.keys).unwrap_or_default()
        };
        if !keys.is_empty() {
            self.keys
                .txn(vec![], keys.into_iter().map(Write::Delete).collect())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_drain_keeps_the_lease_and_changes_only_what_it_read() {
        let r = MemoryRegistry::new();
        let lease = r
            .register(
                "/s/web/10.0.0.1:80",
                br#"{"weight":100}"#.to_vec(),
                Duration::from_millis(300),
            )
            .await
            .unwrap();
        let (kvs, _) = r.list("/s/web/").await.unwrap();
        let rev = kvs[0].mod_revision;
        assert!(
            r.replace(&kvs[0].key, br#"{"weight":0}"#.to_vec(), rev)
                .await
                .unwrap()
        );
        // Stale read: refused.
        assert!(!r.replace(&kvs[0].key, b"{}".to_vec(), rev).await.unwrap());
        assert!(r.keep_alive(lease).await.unwrap());
        tokio::time::sleep(Duration::from_millis(450)).await;
        // The replaced value still belongs to the lease, which ran out.
        assert!(r.list("/s/web/").await.unwrap().0.is_empty());
        assert!(!r.keep_alive(lease).await.unwrap());
    }

    #[tokio::test]
    async fn revoking_a_lease_removes_its_key() {
        let r = MemoryRegistry::new();
        let lease = r
            .register("/s/web/a", b"{}".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        r.revoke(lease).await.unwrap();
        assert!(r.list("/s/").await.unwrap().0.is_empty());
    }
}
