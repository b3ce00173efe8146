//! Big stores, written around flightdeck with a plain etcd client in batches: a long audit
//! chain (sealed exactly as the store seals entries, so it verifies) and a group with many
//! revisions. What takes an estate years to grow takes seconds here.
#![allow(dead_code)]

use etcd_client::{Client, Txn, TxnOp};
use flightdeck::domain::audit::{AuditHead, AuditUser};
use flightdeck::domain::{AuditDraft, AuditEntry, GroupKey, Outcome, Revision};

/// etcd's default limit of operations in one transaction is 128.
const BATCH: usize = 100;

/// Appends `n` sealed entries after the current audit head (weight changes on `target`
/// by `user`, each with a 200-byte reason) and moves the head; returns the new head.
pub async fn extend_audit(
    c: &mut Client,
    prefix: &str,
    target: &GroupKey,
    user: &str,
    n: u64,
) -> AuditHead {
    let head_key = format!("{prefix}audit-head");
    let mut head: AuditHead = match c.get(head_key.as_str(), None).await.unwrap().kvs().first() {
        Some(kv) => serde_json::from_slice(kv.value()).unwrap(),
        None => AuditHead::default(),
    };
    let reason = "r".repeat(200);
    let mut ops = Vec::with_capacity(BATCH);
    for _ in 0..n {
        let mut draft = AuditDraft::new(AuditUser::named(user, "os"), "weight", target.into());
        draft.request = serde_json::json!({ "weight": 10 });
        draft.outcome = Outcome::Allowed;
        draft.reason = reason.clone();
        let entry = AuditEntry::seal(draft, head.seq + 1, &head.hash, jiff::Timestamp::now());
        head = AuditHead {
            seq: entry.seq,
            hash: entry.hash.clone(),
        };
        ops.push(TxnOp::put(
            format!("{prefix}audit/{:020}", entry.seq),
            serde_json::to_vec(&entry).unwrap(),
            None,
        ));
        if ops.len() == BATCH {
            c.txn(Txn::new().and_then(std::mem::take(&mut ops)))
                .await
                .unwrap();
        }
    }
    ops.push(TxnOp::put(
        head_key,
        serde_json::to_vec(&head).unwrap(),
        None,
    ));
    c.txn(Txn::new().and_then(ops)).await.unwrap();
    head
}

/// Copies revision `from` of `group` as revisions `from + 1 ..= to` (a long history of
/// the same objects); returns how many were written.
pub async fn extend_revisions(
    c: &mut Client,
    prefix: &str,
    group: &GroupKey,
    from: u64,
    to: u64,
) -> u64 {
    let base = format!(
        "{prefix}revisions/{}/{}/{}/",
        group.cluster, group.namespace, group.group
    );
    let resp = c.get(format!("{base}{from:010}"), None).await.unwrap();
    let mut revision: Revision =
        serde_json::from_slice(resp.kvs().first().expect("revision to copy").value()).unwrap();
    let mut ops = Vec::with_capacity(BATCH);
    for n in from + 1..=to {
        revision.number = n;
        ops.push(TxnOp::put(
            format!("{base}{n:010}"),
            serde_json::to_vec(&revision).unwrap(),
            None,
        ));
        if ops.len() == BATCH {
            c.txn(Txn::new().and_then(std::mem::take(&mut ops)))
                .await
                .unwrap();
        }
    }
    if !ops.is_empty() {
        c.txn(Txn::new().and_then(ops)).await.unwrap();
    }
    to - from
}
