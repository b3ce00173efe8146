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
    /// Only entries older than this seq (the page before one already shown).
    pub before: Option<u64>,
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
    /// Keys whose values could not be decoded (written by hand or by another version):
    /// left out of the lists above, never fatal for the rest.
    pub unreadable: Vec<Unreadable>,
}

/// A key whose value flightdeck cannot decode. Lists skip it and name it; a `get` of
/// exactly that key still fails with [`super::StoreError::Corrupt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The key relative to the store's prefix (`groups/sim/shop/bad`).
    pub key: String,
    /// Why it could not be decoded (the decoder's message).
    pub detail: String,
}

impl std::fmt::Display for Unreadable {
    /// `groups/sim/shop/bad: unreadable (expected value at line 1 column 1)`, cleaned of
    /// anything a terminal would act on (the key and the decoder's words may quote the value).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::domain::sanitize::clean;
        write!(
            f,
            "{}: unreadable ({})",
            clean(&self.key),
            clean(&self.detail)
        )
    }
}

/// What a list read: the values it could decode, and the keys it skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub unreadable: Vec<Unreadable>,
}

impl<T> Listed<T> {
    /// The items, with every skipped key logged (for callers with nobody to tell).
    pub fn logged(self, what: &str) -> Vec<T> {
        for u in &self.unreadable {
            tracing::warn!(key = %u.key, detail = %u.detail, "skipped an unreadable {what}");
        }
        self.items
    }
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
    /// A template, group, release or policy was written with a value flightdeck cannot
    /// decode: nothing else changed, and a console counts it as unreadable.
    Unreadable(Unreadable),
    /// History since the watch's revision is gone (etcd compacted it): reload with
    /// `snapshot()` and watch again from its revision. This is the stream's last item.
    Resync,
}

/// What one release action needs to read, read at one store revision in one round trip.
#[derive(Debug, Clone, Default)]
pub struct ActionView {
    pub group: Option<InstanceGroup>,
    /// The policy as stored (the engine decodes it).
    pub policy: Option<Value>,
    pub release: Option<Versioned<Release>>,
    /// The numbers of the group's revisions (their values are not read).
    pub revisions: Vec<u64>,
}
