//! What the store hands in and out besides the domain types themselves.

use serde_json::Value;

use crate::domain::audit::AuditHead;
use crate::domain::{AuditDraft, AuditEntry, GroupKey, InstanceGroup, Release, Revision, Template};

/// A value with the store revision of its last change: the token for compare-and-swap.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub mod_revision: i64,
}

/// One change of a release, written with its audit entry in one transaction.
#[derive(Debug, Clone)]
pub struct ReleaseChange {
    pub key: GroupKey,
    /// The mod_revision the release had when the caller read it; `None` = it must not
    /// exist yet (the group's first release).
    pub expect_mod_revision: Option<i64>,
    pub release: Release,
    /// A new revision to create with it (deploy); create-only.
    pub revision: Option<Revision>,
    pub audit: AuditDraft,
}

/// What a successful [`ReleaseChange`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The release's new mod_revision (expect it in the next change).
    pub mod_revision: i64,
    pub audit: AuditEntry,
}

/// Which audit entries to list; every field narrows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub group: Option<GroupKey>,
    pub user: Option<String>,
    pub since: Option<jiff::Timestamp>,
    /// Keep only the newest `limit` of the matches.
    pub limit: Option<usize>,
}

/// Everything a console shows from the store, read at one revision. Watch from
/// `revision + 1` to follow it without missing or repeating a change.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub revision: i64,
    pub templates: Vec<Template>,
    pub groups: Vec<InstanceGroup>,
    pub releases: Vec<Versioned<Release>>,
    pub policy: Option<Value>,
    pub audit_head: AuditHead,
}

/// A change seen by [`super::Store::watch`], at the store revision that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreEvent {
    pub revision: i64,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    TemplatePut(Template),
    TemplateDeleted(String),
    GroupPut(InstanceGroup),
    GroupDeleted(GroupKey),
    ReleasePut(Versioned<Release>),
    ReleaseDeleted(GroupKey),
    RevisionCreated(Revision),
    PolicyPut(Value),
    PolicyDeleted,
    AuditAppended(AuditEntry),
    /// History since the watch's revision is gone (etcd compacted it): reload with
    /// `snapshot()` and watch again from its revision. This is the stream's last item.
    Resync,
}
