//! Signed audit checkpoints (DESIGN.md §4): while this controller leads, it signs the
//! audit head with its ed25519 key whenever the log has grown by [`EVERY`] entries, or
//! when the oldest entry no checkpoint covers is [`AFTER`] old. The key is read from a file
//! and never enters the store; only its public half is recorded (`controller`).
//!
//! The controller signs only what links to what it signed before: it walks the entries
//! from its last checkpoint to the head (prev links and hashes) first, so a history
//! rewritten behind its back is never signed, and a head that moved backwards is reported.
//! Writes go through the store connection that holds the lease, so they are fenced on it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use super::Trust;
use crate::domain::audit::{
    self, AuditDraft, AuditHead, AuditTarget, AuditUser, Outcome, PublicKey, SigningKey,
};
use crate::domain::user::{CONTROLLER_USER, ControllerRecord};
use crate::store::{Backend, Cond, Store, StoreError, Write, layout};

/// A checkpoint at least every this many entries.
pub const EVERY: u64 = 100;
/// …and once the oldest entry without one is this old.
pub const AFTER: Duration = Duration::from_secs(60);
/// How often the head is looked at.
const TICK: Duration = Duration::from_secs(1);
/// Entries per read when the chain since the last checkpoint is checked.
const LINK_PAGE: usize = 500;

/// How a controller signs checkpoints.
#[derive(Debug, Clone)]
pub struct Checkpointing {
    pub key: Arc<SigningKey>,
    pub every: u64,
    pub after: Duration,
    pub tick: Duration,
}

impl Checkpointing {
    /// The production cadence: every [`EVERY`] entries and after [`AFTER`].
    pub fn new(key: SigningKey) -> Checkpointing {
        Checkpointing {
            key: Arc::new(key),
            every: EVERY,
            after: AFTER,
            tick: TICK,
        }
    }

    /// Another cadence (tests use a few entries and a second).
    pub fn with_cadence(mut self, every: u64, after: Duration) -> Checkpointing {
        self.every = every.max(1);
        self.after = after;
        self.tick = TICK.min(after.max(Duration::from_millis(50)));
        self
    }
}

/// What [`adopt_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adopted {
    /// The controller record already names this key.
    Matches,
    /// The record had none and the store has no auth: this key is recorded now (audited).
    Recorded { seq: u64 },
}

/// Checks this controller's public key against the `controller` record before it starts.
/// A different recorded key is a refusal (its checkpoints would not verify); no recorded
/// key is recorded on a store without auth, and is a refusal on one with auth, where only
/// `flightdeck admin init --signing-key-file` (as etcd root) records it.
pub async fn adopt_key(
    store: &dyn Store,
    key: &PublicKey,
    trust: Trust,
    via: &str,
) -> Result<Result<Adopted, String>, StoreError> {
    for _ in 0..3 {
        let current = store.backend().get(layout::CONTROLLER).await?;
        let (record, rev) = match &current {
            Some(kv) => match serde_json::from_slice::<ControllerRecord>(&kv.value) {
                Ok(r) => (Some(r), kv.mod_revision),
                Err(e) => {
                    return Ok(Err(format!(
                        "the store's controller record is unreadable ({e}); refusing to sign checkpoints with an unknown key"
                    )));
                }
            },
            None => (None, 0),
        };
        match record.as_ref().and_then(|r| r.public_key.as_deref()) {
            Some(recorded) => {
                return Ok(match PublicKey::parse(recorded) {
                    Ok(k) if k == *key => Ok(Adopted::Matches),
                    Ok(k) => Err(format!(
                        "this controller's signing key is {key} but the store records {k}: refusing to start (use the key `flightdeck admin init --signing-key-file` recorded)"
                    )),
                    Err(e) => Err(format!("the store's controller record: {e}")),
                });
            }
            None if trust == Trust::EtcdAuth => {
                return Ok(Err(format!(
                    "the store records no public key for the controller: record {key} with `flightdeck admin init --signing-key-file FILE` (as etcd root) first"
                )));
            }
            None => {}
        }
        let new = ControllerRecord {
            user: record.map_or_else(|| CONTROLLER_USER.to_string(), |r| r.user),
            public_key: Some(key.hex()),
        };
        let mut draft = AuditDraft::new(
            AuditUser::named(crate::agent::AGENT_USER, "os"),
            "controller.key",
            AuditTarget::default(),
        );
        draft.request = serde_json::json!({ "publicKey": key.hex() });
        draft.outcome = Outcome::Applied;
        draft.reason = "audit checkpoints will be signed with this key".to_string();
        draft.via = Some(via.to_string());
        let body = serde_json::to_vec(&new).expect("plain data serialises");
        match store
            .append_audit_with(
                draft,
                vec![Cond::ModRevision(layout::CONTROLLER.to_string(), rev)],
                vec![Write::Put(layout::CONTROLLER.to_string(), body)],
            )
            .await
        {
            Ok(entry) => return Ok(Ok(Adopted::Recorded { seq: entry.seq })),
            // Another controller recorded its key at the same moment: look again.
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Err(
        "the controller record keeps changing; refusing to start".to_string(),
    ))
}

/// Signs checkpoints while `leader` is true, until the controller stops.
pub(super) async fn run(
    store: Arc<dyn Store>,
    cfg: Checkpointing,
    mut leader: watch::Receiver<bool>,
) {
    loop {
        while !*leader.borrow_and_update() {
            if leader.changed().await.is_err() {
                return;
            }
        }
        if let Err(e) = lead(store.as_ref(), &cfg, &mut leader).await {
            tracing::warn!(error = %e, "audit checkpoints interrupted; starting over");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Checkpoints until the lease is lost (Ok) or the store fails (Err).
async fn lead(
    store: &dyn Store,
    cfg: &Checkpointing,
    leader: &mut watch::Receiver<bool>,
) -> Result<(), StoreError> {
    let b = store.backend();
    let mut last = last_checkpoint(b).await?;
    let mut pending_since: Option<Instant> = None;
    let mut refused: Option<String> = None;
    let mut tick = tokio::time::interval(cfg.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = leader.changed() => {
                if changed.is_err() || !*leader.borrow() {
                    return Ok(());
                }
                continue;
            }
        }
        let Some(kv) = b.get(layout::AUDIT_HEAD).await? else {
            continue;
        };
        let Ok(head) = serde_json::from_slice::<AuditHead>(&kv.value) else {
            say_once(
                &mut refused,
                "audit-head is not a head; no checkpoint signed".into(),
            );
            continue;
        };
        if head.seq <= last.seq {
            if head.seq < last.seq {
                say_once(
                    &mut refused,
                    format!(
                        "audit-head moved back to {} behind checkpoint {}: the log was truncated; no checkpoint signed",
                        head.seq, last.seq
                    ),
                );
            }
            pending_since = None;
            continue;
        }
        let since = match pending_since {
            Some(s) => s,
            None => {
                let age = age_of(b, last.seq + 1).await?.min(cfg.after);
                let s = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
                *pending_since.insert(s)
            }
        };
        if head.seq - last.seq < cfg.every && since.elapsed() < cfg.after {
            continue;
        }
        if let Err(why) = links(b, &last, &head).await? {
            say_once(&mut refused, format!("{why}; no checkpoint signed"));
            continue;
        }
        let cp = cfg
            .key
            .checkpoint(head.seq, &head.hash, jiff::Timestamp::now());
        let key = layout::audit_checkpoint(head.seq);
        let body = serde_json::to_vec(&cp).expect("plain data serialises");
        let (done, _) = b
            .txn(vec![Cond::Absent(key.clone())], vec![Write::Put(key, body)])
            .await?;
        if done {
            tracing::info!(seq = head.seq, "audit checkpoint signed");
            last = head;
        } else {
            // Written before a failover: take the store's word for where it stands.
            last = last_checkpoint(b).await?;
        }
        pending_since = None;
        refused = None;
    }
}

/// Logs a refusal to sign once, not every tick.
fn say_once(said: &mut Option<String>, why: String) {
    if said.as_deref() != Some(why.as_str()) {
        tracing::error!("audit checkpoint: {why}");
        *said = Some(why);
    }
}

/// The newest checkpoint's seq and hash (0 and "" for none).
async fn last_checkpoint(b: &dyn Backend) -> Result<AuditHead, StoreError> {
    // The newest few: one that does not decode is passed over, not trusted.
    let page = b
        .range_page(layout::AUDIT_CHECKPOINTS, None, 16, true)
        .await?;
    Ok(page
        .kvs
        .iter()
        .find_map(|kv| serde_json::from_slice::<audit::Checkpoint>(&kv.value).ok())
        .map(|cp| AuditHead {
            seq: cp.seq,
            hash: cp.hash,
        })
        .unwrap_or_default())
}

/// How long ago entry `seq` was written (zero if it cannot be read).
async fn age_of(b: &dyn Backend, seq: u64) -> Result<Duration, StoreError> {
    let written = b
        .get(&layout::audit(seq))
        .await?
        .and_then(|kv| serde_json::from_slice::<audit::AuditEntry>(&kv.value).ok())
        .and_then(|e| e.timestamp());
    Ok(written
        .and_then(|t| Duration::try_from(jiff::Timestamp::now().duration_since(t)).ok())
        .unwrap_or_default())
}

/// Whether entries `from.seq + 1 ..= to.seq` continue the chain from `from` to `to`.
async fn links(
    b: &dyn Backend,
    from: &AuditHead,
    to: &AuditHead,
) -> Result<Result<(), String>, StoreError> {
    // Just the entries after the checkpoint, a page at a time, however long the log
    // before it.
    let mut by_seq = std::collections::BTreeMap::new();
    let mut after = layout::audit(from.seq);
    loop {
        let page = b
            .range_page(layout::AUDIT, Some(&after), LINK_PAGE, false)
            .await?;
        let mut past_head = false;
        for kv in &page.kvs {
            match layout::parse(&kv.key) {
                Some(layout::KeyKind::Audit(s)) if s > to.seq => past_head = true,
                Some(layout::KeyKind::Audit(s)) if s > from.seq => {
                    by_seq.insert(s, kv.value.clone());
                }
                _ => {}
            }
        }
        match page.kvs.last() {
            Some(last) if page.more && !past_head => after = last.key.clone(),
            _ => break,
        }
    }
    let values: Vec<(u64, Option<Vec<u8>>)> = (from.seq + 1..=to.seq)
        .map(|s| (s, by_seq.remove(&s)))
        .collect();
    let mut prev = from.hash.clone();
    for (seq, raw) in values {
        let Some(value) = raw.and_then(|r| serde_json::from_slice::<Value>(&r).ok()) else {
            return Ok(Err(format!("audit entry {seq} is missing or not JSON")));
        };
        let says_prev = value.get("prev").and_then(Value::as_str).unwrap_or("");
        let says_hash = value.get("hash").and_then(Value::as_str).unwrap_or("");
        if says_prev != prev {
            return Ok(Err(format!(
                "audit entry {seq} does not follow the entry before it (the last checkpoint is at {})",
                from.seq
            )));
        }
        if audit::entry_hash(&value) != says_hash {
            return Ok(Err(format!(
                "audit entry {seq} was changed after it was written"
            )));
        }
        prev = says_hash.to_string();
    }
    if prev != to.hash {
        return Ok(Err(format!("audit-head's hash is not entry {}'s", to.seq)));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    async fn append(store: &dyn Store, n: usize) {
        for _ in 0..n {
            let draft = AuditDraft::new(
                AuditUser::named("alice", "os"),
                "weight",
                AuditTarget::default(),
            );
            store.append_audit(draft).await.unwrap();
        }
    }

    async fn checkpoints(store: &dyn Store) -> Vec<u64> {
        let (kvs, _) = store
            .backend()
            .range(layout::AUDIT_CHECKPOINTS)
            .await
            .unwrap();
        kvs.iter()
            .map(|kv| {
                serde_json::from_slice::<audit::Checkpoint>(&kv.value)
                    .unwrap()
                    .seq
            })
            .collect()
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    #[tokio::test]
    async fn every_n_entries_only_while_leading_and_never_over_a_rewritten_history() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let key = SigningKey::generate().unwrap().0;
        let public = key.public_key();
        let mut cfg = Checkpointing::new(key).with_cadence(3, Duration::from_secs(3600));
        cfg.tick = Duration::from_millis(20);
        let (leader, rx) = watch::channel(false);
        let task = tokio::spawn(run(store.clone(), cfg, rx));

        append(store.as_ref(), 3).await;
        settle().await;
        assert_eq!(checkpoints(store.as_ref()).await, Vec::<u64>::new());
        leader.send_replace(true);
        settle().await;
        assert_eq!(checkpoints(store.as_ref()).await, vec![3]);
        append(store.as_ref(), 2).await;
        settle().await;
        assert_eq!(checkpoints(store.as_ref()).await, vec![3], "2 < N");
        append(store.as_ref(), 1).await;
        settle().await;
        assert_eq!(checkpoints(store.as_ref()).await, vec![3, 6]);

        // An entry the checkpoint would cover is edited behind the controller's back.
        append(store.as_ref(), 2).await;
        let k = layout::audit(7);
        let mut v: Value =
            serde_json::from_slice(&store.backend().get(&k).await.unwrap().unwrap().value).unwrap();
        v["reason"] = Value::String("nothing to see".into());
        store
            .backend()
            .txn(vec![], vec![Write::Put(k, serde_json::to_vec(&v).unwrap())])
            .await
            .unwrap();
        append(store.as_ref(), 1).await;
        settle().await;
        assert_eq!(checkpoints(store.as_ref()).await, vec![3, 6]);

        // With its key, verify names the edited entry.
        let proof = crate::store::prove_audit(store.as_ref(), Some(public), None)
            .await
            .unwrap();
        let err = proof.verdict.unwrap_err();
        assert!(err.contains("entry 7"), "{err}");
        leader.send_replace(false);
        drop(leader);
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }

    #[tokio::test]
    async fn a_key_is_recorded_once_and_another_is_refused() {
        let store = MemoryStore::new();
        let a = SigningKey::generate().unwrap().0.public_key();
        let b = SigningKey::generate().unwrap().0.public_key();
        let first = adopt_key(&store, &a, Trust::Local, "controller@test:1")
            .await
            .unwrap();
        assert!(
            matches!(first, Ok(Adopted::Recorded { seq: 1 })),
            "{first:?}"
        );
        assert_eq!(
            adopt_key(&store, &a, Trust::Local, "x").await.unwrap(),
            Ok(Adopted::Matches)
        );
        let refused = adopt_key(&store, &b, Trust::Local, "x")
            .await
            .unwrap()
            .unwrap_err();
        assert!(refused.contains("refusing to start"), "{refused}");
        let empty = MemoryStore::new();
        let refused = adopt_key(&empty, &a, Trust::EtcdAuth, "x")
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            refused.contains("admin init --signing-key-file"),
            "{refused}"
        );
    }
}
