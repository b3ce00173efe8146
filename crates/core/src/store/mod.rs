//! The platform store (DESIGN.md §3): groups, templates, revisions, releases, policy and
//! the audit chain, in etcd (production) or in memory (the demo and unit tests).
//!
//! [`Store`] is what the rest of flightdeck uses, as `Arc<dyn Store>` from [`connect`].
//! Both backends implement the small key-value seam [`Backend`]; the store's meaning —
//! key layout, the one release transaction, the audit chain, watch decoding — is written
//! once on top of it (`platform.rs`, `chain.rs`, `events.rs`).

mod backend;
mod chain;
mod config;
mod error;
mod etcd;
mod events;
pub mod layout;
pub mod lease;
mod memory;
mod platform;
pub mod registry;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde_json::Value;

use crate::domain::{AuditDraft, AuditEntry, GroupKey, InstanceGroup, Release, Revision, Template};

pub use backend::{Backend, Cond, Fence, Kv, LeaseState, RawEvent, Write};
pub use chain::{AuditProof, audit_head, prove_audit};
pub use config::{Backend as BackendKind, DEFAULT_PREFIX, StoreConfig, StoreOptions};
pub use error::StoreError;
pub use etcd::{
    Access, EtcdAdmin, EtcdStore, ROOT, cert_common_name, group_of_role, group_role, user_role,
};
pub use layout::Scope;
pub use memory::MemoryStore;
pub use registry::{MemoryRegistry, Registry, connect_registry};
pub use types::{
    ActionView, AuditFilter, Change, Committed, Listed, ReleaseChange, Snapshot, StoreEvent,
    Unreadable, Versioned,
};

/// Opens the store a config names. For etcd this logs in when a user is given, so a
/// wrong password fails here; without a login the connection is made lazily, so a store
/// that is down shows as `Unavailable` on the first request (and a console can start and
/// wait for it).
pub async fn connect(cfg: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match &cfg.backend {
        BackendKind::Memory => Ok(Arc::new(MemoryStore::new())),
        BackendKind::Etcd { .. } => Ok(Arc::new(EtcdStore::connect(cfg).await?)),
    }
}

/// The platform store. Every backend gets it from [`Backend`]; callers hold `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync {
    /// Where the store is, for messages: "etcd at h1:2379", "memory".
    fn describe(&self) -> String;
    /// The etcd user this store logged in as (the audit identity), when etcd auth is on.
    fn authenticated_user(&self) -> Option<String>;

    async fn put_template(&self, template: &Template) -> Result<i64, StoreError>;
    async fn get_template(&self, name: &str) -> Result<Option<Template>, StoreError>;
    /// Every template that can be read; unreadable ones are skipped (and logged).
    async fn list_templates(&self) -> Result<Vec<Template>, StoreError> {
        Ok(self.read_templates().await?.logged("template"))
    }
    /// Every template, and the keys under `templates/` that could not be decoded.
    async fn read_templates(&self) -> Result<Listed<Template>, StoreError>;
    async fn delete_template(&self, name: &str) -> Result<(), StoreError>;

    async fn put_group(&self, group: &InstanceGroup) -> Result<i64, StoreError>;
    async fn get_group(&self, key: &GroupKey) -> Result<Option<InstanceGroup>, StoreError>;
    /// The groups in `scope` that can be read; unreadable ones are skipped (and logged),
    /// so one bad value never stops the estate.
    async fn list_groups(&self, scope: &Scope) -> Result<Vec<InstanceGroup>, StoreError> {
        Ok(self.read_groups(scope).await?.logged("group"))
    }
    /// The groups in `scope`, and the keys there that could not be decoded.
    async fn read_groups(&self, scope: &Scope) -> Result<Listed<InstanceGroup>, StoreError>;
    async fn delete_group(&self, key: &GroupKey) -> Result<(), StoreError>;

    /// One more than the highest revision number the group has (1 for none).
    async fn next_revision_number(&self, key: &GroupKey) -> Result<u64, StoreError>;
    /// Writes a revision once; a second write of the same number is `AlreadyExists`.
    async fn create_revision(&self, revision: &Revision) -> Result<i64, StoreError>;
    async fn get_revision(&self, key: &GroupKey, n: u64) -> Result<Option<Revision>, StoreError>;
    async fn list_revisions(&self, key: &GroupKey) -> Result<Vec<Revision>, StoreError>;

    async fn get_release(&self, key: &GroupKey) -> Result<Option<Versioned<Release>>, StoreError>;
    /// The group, the policy, the release and the revision numbers an action decides on,
    /// in one read.
    async fn action_view(&self, key: &GroupKey) -> Result<ActionView, StoreError>;
    /// The releases in `scope` that can be read; unreadable ones are skipped (and logged).
    async fn list_releases(&self, scope: &Scope) -> Result<Vec<Versioned<Release>>, StoreError> {
        Ok(self.read_releases(scope).await?.logged("release"))
    }
    /// The releases in `scope`, and the keys there that could not be decoded.
    async fn read_releases(&self, scope: &Scope) -> Result<Listed<Versioned<Release>>, StoreError>;

    /// THE transaction (DESIGN.md §2): if the release is still at the expected
    /// mod_revision, write it, the revision (if any) and the audit entry, and move the
    /// audit head — all or nothing. A release changed meanwhile is `Conflict` naming who
    /// changed it and when. Recording an outcome is just another commit.
    ///
    /// `Unavailable` means the answer was lost, not necessarily the write: re-read the
    /// release (its `updated_by`/mod_revision tell) before trying again.
    async fn commit_release(&self, change: ReleaseChange) -> Result<Committed, StoreError> {
        self.commit_release_with(change, Vec::new()).await
    }
    /// [`Store::commit_release`] with more writes in the same transaction (the
    /// controller's answer to the request that asked for it).
    async fn commit_release_with(
        &self,
        change: ReleaseChange,
        also: Vec<Write>,
    ) -> Result<Committed, StoreError>;
    /// Appends an entry on its own (denied attempts, policy edits).
    async fn append_audit(&self, draft: AuditDraft) -> Result<AuditEntry, StoreError> {
        self.append_audit_with(draft, Vec::new(), Vec::new()).await
    }
    /// Appends an entry together with `writes`, all or nothing, if `when` holds (an edit
    /// of a group, template or policy; an answer to a request).
    async fn append_audit_with(
        &self,
        draft: AuditDraft,
        when: Vec<Cond>,
        writes: Vec<Write>,
    ) -> Result<AuditEntry, StoreError>;
    /// Matching entries, oldest first.
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
    /// Walks the whole chain; the number of sound entries or `ChainBroken` at the first
    /// one that is not (edited, wrong prev, missing, or the head disagrees).
    async fn verify_audit(&self) -> Result<u64, StoreError>;

    /// Roles and bindings; opaque to the store.
    async fn get_policy(&self) -> Result<Option<Versioned<Value>>, StoreError>;
    async fn put_policy(&self, policy: &Value) -> Result<i64, StoreError>;

    async fn snapshot(&self) -> Result<Snapshot, StoreError>;
    /// Every change from `from_revision` (inclusive) on. The stream survives store
    /// restarts on its own; it ends with [`Change::Resync`] if that history was compacted.
    async fn watch(&self, from_revision: i64)
    -> Result<BoxStream<'static, StoreEvent>, StoreError>;
    /// Drops history before `revision` (maintenance; tests use it to force a resync).
    async fn compact(&self, revision: i64) -> Result<(), StoreError>;

    /// Leader election: takes the lease `name` for `holder` when free, renews it when
    /// `holder` already has it, and answers who holds it now (`holder` means "you do").
    /// Call it every third of `ttl`; a holder that stops loses the lease after `ttl`.
    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError>;
    /// Who holds the lease `name` now, if anyone.
    async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Lets the lease go at once (on a clean shutdown) if `holder` has it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// The key-value seam underneath, for the request path's own keys (requests,
    /// responses) that are not domain objects.
    fn backend(&self) -> &dyn Backend;
}
