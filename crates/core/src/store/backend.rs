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

/// One page of a [`Backend::range_page`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub kvs: Vec<Kv>,
    /// Whether keys remain beyond this page.
    pub more: bool,
    /// The store revision of the read.
    pub revision: i64,
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

/// The guard a lease holder's every transaction carries (DESIGN.md §2: "every commit is
/// fenced on that lease"): the lease key must still be the one this process wrote. A
/// controller that lost the lease — paused, partitioned, killed and late — then writes
/// nothing, even if it does not know yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub key: String,
    pub mod_revision: i64,
}

/// What taking a lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// Who holds it now (the caller's own name when the caller does).
    pub holder: String,
    /// A lease key that no live lease kept (written by hand, or left by a crash) was in
    /// the way and has been removed: its value, to be reported.
    pub cleared_stale: Option<String>,
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
    async fn range_many(&self, prefixes: &[&str]) -> Result<(Vec<Kv>, i64), StoreError> {
        self.range_view(prefixes, &[]).await
    }

    /// Like [`Backend::range_many`], plus the keys (values left empty) under each of
    /// `keys_only`: one revision for all, and a long list of keys (a group's thousand
    /// revisions) costs its names, not its values.
    async fn range_view(
        &self,
        prefixes: &[&str],
        keys_only: &[&str],
    ) -> Result<(Vec<Kv>, i64), StoreError>;

    /// At most `limit` keys under `prefix` in key order (descending when `reverse`),
    /// strictly after `after` in that order: one page of a long list (the audit log read
    /// from its newest end).
    async fn range_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Page, StoreError>;

    /// Applies `writes` at one new revision if every condition holds. Returns whether
    /// it did and the store revision after the call. While this connection holds a lease,
    /// the lease's [`Fence`] is one more condition, and its failure is
    /// [`StoreError::Fenced`] rather than `false`.
    async fn txn(&self, when: Vec<Cond>, writes: Vec<Write>) -> Result<(bool, i64), StoreError>;

    /// Puts `key` bound to a lease of `ttl`, so it vanishes by itself if nobody deletes it
    /// (a request whose asker gave up). Not fenced: it is how people write their requests.
    async fn put_leased(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: std::time::Duration,
    ) -> Result<i64, StoreError>;

    /// Changes under `prefix` from `from_revision` on (0: from now), like
    /// [`Backend::watch_keys`] narrowed to one prefix.
    async fn watch_prefix(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError>;

    /// The fence this connection's writes carry, if it took a lease.
    fn fence(&self) -> Option<Fence>;

    /// Changes at `from_revision` and later, for ever (the stream reconnects by itself);
    /// ends after a `Compacted`.
    async fn watch_keys(
        &self,
        from_revision: i64,
    ) -> Result<BoxStream<'static, RawEvent>, StoreError>;

    /// Drops history before `revision`; watches from earlier get `Compacted`.
    async fn compact_history(&self, revision: i64) -> Result<(), StoreError>;

    /// Takes the lease `name` for `holder` when it is free, renews it when `holder` has it;
    /// answers who holds it now. A holder that stops calling loses it after `ttl`. Taking
    /// it sets this connection's [`Fence`].
    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError>;

    /// Who holds the lease `name`, if anyone.
    async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Lets go of the lease `name` if this process holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// An alarm that keeps the store from taking any write (etcd's NOSPACE), as the
    /// error such a write gets; `None` when there is none or the store cannot say. For
    /// telling why nobody could answer: the one who would have is refused writes too.
    async fn write_alarm(&self) -> Option<StoreError> {
        None
    }
}
