//! The small key-value seam under the store: what etcd and the in-memory map both do,
//! with etcd's semantics (one global revision, per-key create/mod revisions, compare-and-
//! swap transactions, ordered watch history). Everything flightdeck-specific — layout,
//! the release transaction, the audit chain — is written once above it, so the two
//! backends cannot drift apart.

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::StoreError;

/// One stored key (relative to the store prefix) with its etcd revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    pub key: String,
    pub value: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
}

/// A guard of a transaction; all must hold for the writes to happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// The key's mod_revision equals this (0: the key does not exist).
    ModRevision(String, i64),
    /// The key does not exist.
    Absent(String),
    /// The key exists.
    Present(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put(String, Vec<u8>),
    Delete(String),
}

/// A change seen by a watch, in revision order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEvent {
    Put(Kv),
    Delete {
        key: String,
        revision: i64,
    },
    /// The requested start revision was compacted away: history is lost, reload.
    Compacted {
        compact_revision: i64,
    },
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Where this store is, for messages ("etcd at h1:2379", "memory").
    fn location(&self) -> String;

    /// The etcd user this connection logged in as, when etcd auth is on.
    fn login(&self) -> Option<String> {
        None
    }

    async fn get(&self, key: &str) -> Result<Option<Kv>, StoreError>;

    /// Every key under `prefix` in key order, and the store revision of the read.
    async fn range(&self, prefix: &str) -> Result<(Vec<Kv>, i64), StoreError>;

    /// Every key under any of `prefixes`, all read at one store revision.
    async fn range_many(&self, prefixes: &[&str]) -> Result<(Vec<Kv>, i64), StoreError>;

    /// Applies `writes` at one new revision if every condition holds. Returns whether
    /// it did and the store revision after the call.
    async fn txn(&self, when: Vec<Cond>, writes: Vec<Write>) -> Result<(bool, i64), StoreError>;

    /// Changes at `from_revision` and later, for ever (the stream reconnects by itself);
    /// ends after a `Compacted`.
    async fn watch_keys(
        &self,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError>;

    /// Drops history before `revision`; watches from earlier get `Compacted`.
    async fn compact_history(&self, revision: i64) -> Result<(), StoreError>;

    /// Takes the lease `name` for `holder` when it is free, renews it when `holder` has it;
    /// answers who holds it now. A holder that stops calling loses it after `ttl`.
    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<String, StoreError>;

    /// Who holds the lease `name`, if anyone.
    async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Lets go of the lease `name` if this process holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
