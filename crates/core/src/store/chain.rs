//! The audit chain in the store: appending (alone or inside the release transaction),
//! listing and verifying. Appends serialise on `audit-head`'s mod_revision, so two
//! consoles appending at once cannot both take the same sequence number.

use std::time::Duration;

use serde_json::Value;

use crate::domain::audit::{self, AuditHead, Proof, PublicKey, Trusted};
use crate::domain::user::ControllerRecord;
use crate::domain::{AuditDraft, AuditEntry, Release};

use super::backend::{Backend, Cond, Write};
use super::platform::{decode, encode};
use super::{AuditFilter, Committed, ReleaseChange, Store, StoreError, layout};

/// Appends lost to other appends before giving up. Each loss means another entry was
/// written, so this only runs out under a storm of concurrent actions.
const MAX_ATTEMPTS: u32 = 32;

pub(super) async fn commit_release<B: Backend + ?Sized>(
    b: &B,
    change: ReleaseChange,
    also: Vec<Write>,
) -> Result<Committed, StoreError> {
    layout::check_group(&change.key)?;
    if change.release.group != change.key {
        return Err(StoreError::Invalid(format!(
            "release of {} cannot be stored under {}",
            change.release.group, change.key
        )));
    }
    let release_key = layout::release(&change.key);
    let mut when = vec![Cond::ModRevision(
        release_key.clone(),
        change.expect_mod_revision.unwrap_or(0),
    )];
    let mut writes = vec![Write::Put(
        release_key.clone(),
        encode(&release_key, &change.release)?,
    )];
    if let Some(r) = &change.revision {
        if r.group != change.key {
            return Err(StoreError::Invalid(format!(
                "revision of {} cannot be stored with the release of {}",
                r.group, change.key
            )));
        }
        let key = layout::revision(&r.group, r.number);
        when.push(Cond::Absent(key.clone()));
        writes.push(Write::Put(key.clone(), encode(&key, r)?));
    }
    writes.extend(also);
    let (audit, mod_revision) =
        append_guarded(b, change.audit.clone(), when, writes, Some(&change)).await?;
    Ok(Committed {
        mod_revision,
        audit,
    })
}

pub(super) async fn append<B: Backend + ?Sized>(
    b: &B,
    draft: AuditDraft,
    when: Vec<Cond>,
    writes: Vec<Write>,
) -> Result<AuditEntry, StoreError> {
    Ok(append_guarded(b, draft, when, writes, None).await?.0)
}

/// One transaction: the caller's guards and writes plus the next audit entry and the
/// new head. Returns the entry and the revision it was written at.
async fn append_guarded<B: Backend + ?Sized>(
    b: &B,
    draft: AuditDraft,
    when: Vec<Cond>,
    writes: Vec<Write>,
    release: Option<&ReleaseChange>,
) -> Result<(AuditEntry, i64), StoreError> {
    for attempt in 0..MAX_ATTEMPTS {
        let (head, head_rev) = match b.get(layout::AUDIT_HEAD).await? {
            Some(kv) => (decode::<AuditHead>(&kv)?, kv.mod_revision),
            None => (AuditHead::default(), 0),
        };
        let seq = head.seq + 1;
        let entry = AuditEntry::seal(draft.clone(), seq, &head.hash, jiff::Timestamp::now());
        let entry_key = layout::audit(seq);
        let new_head = AuditHead {
            seq,
            hash: entry.hash.clone(),
        };
        let mut all_when = when.clone();
        all_when.push(Cond::ModRevision(layout::AUDIT_HEAD.to_string(), head_rev));
        all_when.push(Cond::Absent(entry_key.clone()));
        let mut all_writes = writes.clone();
        all_writes.push(Write::Put(entry_key.clone(), encode(&entry_key, &entry)?));
        all_writes.push(Write::Put(
            layout::AUDIT_HEAD.to_string(),
            encode(layout::AUDIT_HEAD, &new_head)?,
        ));
        let (done, rev) = b.txn(all_when, all_writes).await?;
        if done {
            return Ok((entry, rev));
        }
        if let Some(change) = release {
            refused_by_release(b, change).await?;
        } else if let Some(key) = first_failing(b, &when).await? {
            return Err(StoreError::Conflict {
                key,
                by: "someone".to_string(),
                at: "the same moment".to_string(),
                mod_revision: 0,
            });
        }
        let head_now = b
            .get(layout::AUDIT_HEAD)
            .await?
            .map_or(0, |kv| kv.mod_revision);
        if head_now == head_rev {
            // Nothing else moved, so the entry's key was taken: written around flightdeck.
            return Err(StoreError::ChainBroken {
                seq,
                reason: "an entry already exists past audit-head; run `flightdeck audit verify`"
                    .to_string(),
            });
        }
        // Only the audit head moved: another append won the race. Try again after it.
        let jitter = rand::random::<u64>() % 5 + u64::from(attempt.min(10));
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
    Err(StoreError::Contended {
        attempts: MAX_ATTEMPTS,
    })
}

/// The first of the caller's own conditions that no longer holds, if any.
async fn first_failing<B: Backend + ?Sized>(
    b: &B,
    when: &[Cond],
) -> Result<Option<String>, StoreError> {
    for c in when {
        let (key, holds) = match c {
            Cond::ModRevision(k, rev) => {
                (k, b.get(k).await?.map_or(0, |kv| kv.mod_revision) == *rev)
            }
            Cond::Absent(k) => (k, b.get(k).await?.is_none()),
            Cond::Present(k) => (k, b.get(k).await?.is_some()),
        };
        if !holds {
            return Ok(Some(key.clone()));
        }
    }
    Ok(None)
}

/// After a failed commit: an error if the release or the revision is why, `Ok` if it
/// was only the audit head.
async fn refused_by_release<B: Backend + ?Sized>(
    b: &B,
    change: &ReleaseChange,
) -> Result<(), StoreError> {
    let key = layout::release(&change.key);
    let current = b.get(&key).await?;
    let actual = current.as_ref().map_or(0, |kv| kv.mod_revision);
    if actual != change.expect_mod_revision.unwrap_or(0) {
        let (by, at) = match &current {
            Some(kv) => {
                let r: Release = decode(kv)?;
                (r.updated_by, audit::format_time(r.updated_at))
            }
            None => (
                "someone".to_string(),
                "an unknown time (it was deleted)".to_string(),
            ),
        };
        return Err(StoreError::Conflict {
            key: change.key.to_string(),
            by,
            at,
            mod_revision: actual,
        });
    }
    if let Some(r) = &change.revision
        && b.get(&layout::revision(&r.group, r.number))
            .await?
            .is_some()
    {
        return Err(StoreError::AlreadyExists {
            what: format!("revision {} of {}", r.number, r.group),
        });
    }
    Ok(())
}

pub(super) async fn list<B: Backend + ?Sized>(
    b: &B,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, StoreError> {
    let wanted = |e: &AuditEntry| {
        filter
            .group
            .as_ref()
            .is_none_or(|g| e.target.group_key() == *g)
            && filter.user.as_ref().is_none_or(|u| e.user.name == *u)
            && filter
                .since
                .is_none_or(|since| e.timestamp().is_some_and(|t| t >= since))
            && filter.before.is_none_or(|before| e.seq < before)
    };
    let Some(limit) = filter.limit else {
        let (kvs, _) = b.range(layout::AUDIT).await?;
        let mut out = Vec::new();
        for kv in &kvs {
            let e: AuditEntry = decode(kv)?;
            if wanted(&e) {
                out.push(e);
            }
        }
        return Ok(out);
    };
    // The newest `limit` matches: read from the newest end, a window of sequence numbers at
    // a time (keys are `audit/<seq:020>`, so a window is a plain ascending range — etcd
    // sorts a descending range only after reading all of it), and stop as soon as there
    // are enough (or the entries are older than `since`), so the tail of a 100,000-entry
    // log costs what the tail costs.
    let head: AuditHead = match b.get(layout::AUDIT_HEAD).await? {
        Some(kv) => decode(&kv)?,
        None => AuditHead::default(),
    };
    let mut upper = filter
        .before
        .map_or(head.seq + 1, |before| before.min(head.seq + 1));
    let mut out = Vec::new();
    'windows: while out.len() < limit && upper > 1 {
        let lower = upper.saturating_sub(AUDIT_PAGE as u64).max(1);
        let after = layout::audit(lower - 1);
        let page = b
            .range_page(layout::AUDIT, Some(&after), (upper - lower) as usize, false)
            .await?;
        for kv in page.kvs.iter().rev() {
            let e: AuditEntry = decode(kv)?;
            if e.seq >= upper {
                continue;
            }
            if filter
                .since
                .is_some_and(|since| e.timestamp().is_some_and(|t| t < since))
            {
                break 'windows;
            }
            if wanted(&e) {
                out.push(e);
                if out.len() == limit {
                    break 'windows;
                }
            }
        }
        upper = lower;
    }
    out.reverse();
    Ok(out)
}

/// Entries per page when the audit log is read from its newest end.
const AUDIT_PAGE: usize = 256;

pub(super) async fn verify<B: Backend + ?Sized>(b: &B) -> Result<u64, StoreError> {
    // "audit" without the slash covers both `audit/…` and `audit-head`, so the entries
    // and the head come from one read at one revision.
    let (kvs, _) = b.range("audit").await?;
    let mut entries = Vec::new();
    let mut head = None;
    for kv in &kvs {
        match layout::parse(&kv.key) {
            Some(layout::KeyKind::AuditHead) => head = Some(decode::<AuditHead>(kv)?),
            Some(layout::KeyKind::Audit(seq)) => {
                let value: Value =
                    serde_json::from_slice(&kv.value).map_err(|e| StoreError::ChainBroken {
                        seq,
                        reason: format!("is not JSON: {e}"),
                    })?;
                entries.push((seq, value));
            }
            _ => {}
        }
    }
    audit::verify_chain(&entries, head.as_ref()).map_err(|b| StoreError::ChainBroken {
        seq: b.seq,
        reason: b.reason,
    })
}

/// What `audit verify` found: the verdict and the key checkpoints were checked with.
#[derive(Debug, Clone)]
pub struct AuditProof {
    /// The proof, or one line naming what is wrong (an entry, a checkpoint, the head).
    pub verdict: Result<Proof, String>,
    /// The key the checkpoints were checked with, if there was one.
    pub key: Option<PublicKey>,
    /// Whether that key came from the store's controller record (which someone with etcd
    /// root could replace) rather than from the verifier.
    pub key_from_store: bool,
}

/// The newest audit entry's seq and hash (`0:` for an empty log) and the public key in the
/// controller record, for `flightdeck audit head`.
pub async fn audit_head(store: &dyn Store) -> Result<(AuditHead, Option<String>), StoreError> {
    let b = store.backend();
    let (kvs, _) = b
        .range_many(&[layout::AUDIT_HEAD, layout::CONTROLLER])
        .await?;
    let mut head = AuditHead::default();
    let mut key = None;
    for kv in &kvs {
        if kv.key == layout::AUDIT_HEAD {
            head = decode(kv)?;
        } else if kv.key == layout::CONTROLLER {
            key = decode::<ControllerRecord>(kv)?.public_key;
        }
    }
    Ok((head, key))
}

/// The whole of `flightdeck audit verify` (DESIGN.md §4): the chain, the signed checkpoints
/// with `key` (else the key in the controller record), the head exported earlier, and an
/// empty log only for a store without history. Entries, head, checkpoints and the record
/// are read at one revision. [`Store::verify_audit`] is the chain walk alone.
pub async fn prove_audit(
    store: &dyn Store,
    key: Option<PublicKey>,
    expect_head: Option<AuditHead>,
) -> Result<AuditProof, StoreError> {
    let b = store.backend();
    // "audit" covers `audit/…`, `audit-head` and `audit-checkpoints/…`.
    let (kvs, _) = b.range_many(&["audit", layout::CONTROLLER]).await?;
    let mut entries = Vec::new();
    let mut checkpoints = Vec::new();
    let mut head = None;
    let mut recorded = None;
    let fail = |why: String| AuditProof {
        verdict: Err(why),
        key,
        key_from_store: false,
    };
    for kv in &kvs {
        let json = || serde_json::from_slice::<Value>(&kv.value);
        if kv.key == layout::AUDIT_HEAD {
            match serde_json::from_slice::<AuditHead>(&kv.value) {
                Ok(h) => head = Some(h),
                Err(e) => return Ok(fail(format!("audit-head is not a head: {e}"))),
            }
        } else if kv.key == layout::CONTROLLER {
            recorded = serde_json::from_slice::<ControllerRecord>(&kv.value)
                .ok()
                .and_then(|r| r.public_key);
        } else if let Some(rest) = kv.key.strip_prefix(layout::AUDIT_CHECKPOINTS) {
            let Ok(seq) = rest.parse::<u64>() else {
                return Ok(fail(format!(
                    "{} is not a checkpoint key (audit-checkpoints/<seq>)",
                    kv.key
                )));
            };
            match json() {
                Ok(v) => checkpoints.push((seq, v)),
                Err(e) => return Ok(fail(format!("checkpoint {seq} is not JSON: {e}"))),
            }
        } else if let Some(layout::KeyKind::Audit(seq)) = layout::parse(&kv.key) {
            match json() {
                Ok(v) => entries.push((seq, v)),
                Err(e) => {
                    return Ok(fail(format!(
                        "audit chain broken at entry {seq}: is not JSON: {e}"
                    )));
                }
            }
        }
    }
    let (key, key_from_store) = match (key, &recorded) {
        (Some(k), _) => (Some(k), false),
        (None, Some(text)) => match PublicKey::parse(text) {
            Ok(k) => (Some(k), true),
            Err(e) => {
                return Ok(AuditProof {
                    verdict: Err(format!("the controller record's public key: {e}")),
                    key: None,
                    key_from_store: true,
                });
            }
        },
        (None, None) => (None, false),
    };
    let mut history = Vec::new();
    if entries.is_empty() && head.as_ref().is_none_or(|h| h.seq == 0) {
        history = history_of(b).await?;
        if recorded.is_some() {
            history.push("a recorded public key".to_string());
        }
    }
    let trusted = Trusted {
        key: key.as_ref(),
        expect_head: expect_head.as_ref(),
        history,
    };
    let verdict = audit::verify_log(&entries, head.as_ref(), &checkpoints, &trusted);
    Ok(AuditProof {
        verdict,
        key,
        key_from_store,
    })
}

/// What the store holds that is only written together with an audit entry.
async fn history_of(b: &dyn Backend) -> Result<Vec<String>, StoreError> {
    let kinds = [
        (layout::RELEASES, "release"),
        (layout::REVISIONS, "revision"),
        (layout::GROUPS, "group"),
        (layout::TEMPLATES, "template"),
    ];
    let (kvs, _) = b
        .range_many(&[
            layout::RELEASES,
            layout::REVISIONS,
            layout::GROUPS,
            layout::TEMPLATES,
            layout::POLICY,
        ])
        .await?;
    let mut out = Vec::new();
    for (prefix, what) in kinds {
        let n = kvs.iter().filter(|kv| kv.key.starts_with(prefix)).count() as u64;
        if n > 0 {
            out.push(audit::plural(n, what));
        }
    }
    if kvs.iter().any(|kv| kv.key == layout::POLICY) {
        out.push("a policy".to_string());
    }
    Ok(out)
}
