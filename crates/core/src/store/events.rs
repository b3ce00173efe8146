//! Raw key changes into domain events for the watch stream.

use super::backend::{Kv, RawEvent};
use super::layout::{self, KeyKind};
use super::platform::{decode, versioned};
use super::{Change, StoreError, StoreEvent, Unreadable};

/// `None` for keys nobody follows (audit-head, unknown keys). A value that cannot be read
/// must not stop every console's live view: a bad template, group, release or policy is
/// [`Change::Unreadable`] (the console counts it), a bad revision or audit entry is
/// skipped and logged.
pub(super) fn to_store_event(ev: RawEvent) -> Option<StoreEvent> {
    match ev {
        RawEvent::Compacted { compact_revision } => Some(StoreEvent {
            revision: compact_revision,
            change: Change::Resync,
        }),
        RawEvent::Delete { key, revision } => {
            let change = match layout::parse(&key)? {
                KeyKind::Template(name) => Change::TemplateDeleted(name),
                KeyKind::Group(g) => Change::GroupDeleted(g),
                KeyKind::Release(g) => Change::ReleaseDeleted(g),
                KeyKind::Policy => Change::PolicyDeleted,
                KeyKind::Revision(..) | KeyKind::Audit(_) | KeyKind::AuditHead => return None,
            };
            Some(StoreEvent { revision, change })
        }
        RawEvent::Put(kv) => match put_change(&kv) {
            Ok(change) => Some(StoreEvent {
                revision: kv.mod_revision,
                change: change?,
            }),
            Err(e) => {
                tracing::warn!("store watch skipped a change: {e}");
                let followed = matches!(
                    layout::parse(&kv.key),
                    Some(
                        KeyKind::Template(_)
                            | KeyKind::Group(_)
                            | KeyKind::Release(_)
                            | KeyKind::Policy
                    )
                );
                followed.then(|| StoreEvent {
                    revision: kv.mod_revision,
                    change: Change::Unreadable(Unreadable {
                        detail: match e {
                            StoreError::Corrupt { detail, .. } => detail,
                            other => other.to_string(),
                        },
                        key: kv.key,
                    }),
                })
            }
        },
    }
}

fn put_change(kv: &Kv) -> Result<Option<Change>, StoreError> {
    let Some(kind) = layout::parse(&kv.key) else {
        return Ok(None);
    };
    Ok(Some(match kind {
        KeyKind::Template(_) => Change::TemplatePut(decode(kv)?),
        KeyKind::Group(_) => Change::GroupPut(decode(kv)?),
        KeyKind::Release(_) => Change::ReleasePut(versioned(kv)?),
        KeyKind::Revision(..) => Change::RevisionCreated(decode(kv)?),
        KeyKind::Policy => Change::PolicyPut(decode(kv)?),
        KeyKind::Audit(_) => Change::AuditAppended(decode(kv)?),
        KeyKind::AuditHead => return Ok(None),
    }))
}
