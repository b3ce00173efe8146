//! The audit record of DESIGN.md §4 and its hash chain.
//!
//! Every entry carries the hash of the entry before it, so an entry edited, removed or
//! inserted behind flightdeck's back breaks the chain at a place `audit verify` can name.
//!
//! # The hashed bytes
//!
//! `hash = lowercase_hex(sha256(prev ‖ canonical))` where
//! - `prev` is the UTF-8 bytes of the previous entry's `hash` (64 lowercase hex digits), or
//!   no bytes at all for entry 1;
//! - `canonical` is the entry as a JSON object **without its `hash` member**, written with
//!   object members sorted by the byte order of their UTF-8 keys (at every depth), no
//!   whitespace anywhere, strings escaped as `serde_json` escapes them (only `"`, `\` and
//!   control characters; other characters as UTF-8), numbers as `serde_json` writes them
//!   (integers in plain decimal, floats in shortest round-trip form), and absent
//!   optional fields written as `null` — except `request_id` and `via`, which are left
//!   out when empty (entries from before the release controller have neither).
//!
//! Verification recomputes this from the stored JSON *value*, not from the Rust struct, so
//! a member added by hand is caught as well as a member changed.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::GroupKey;

/// Who did it. `source` says how the name was learnt: `etcd-auth` (the store's
/// authenticated user) or `os` (the process owner's passwd name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditUser {
    pub name: String,
    pub source: String,
    pub uid: Option<u32>,
    pub host: Option<String>,
    /// `$SSH_CLIENT`'s address and port, when the console runs over SSH.
    pub ssh: Option<String>,
}

impl AuditUser {
    pub fn named(name: impl Into<String>, source: impl Into<String>) -> Self {
        AuditUser {
            name: name.into(),
            source: source.into(),
            uid: None,
            host: None,
            ssh: None,
        }
    }
}

/// What it was done to. Actions on policy or templates leave `group` fields empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuditTarget {
    pub cluster: String,
    pub namespace: String,
    pub group: String,
}

impl From<&GroupKey> for AuditTarget {
    fn from(k: &GroupKey) -> Self {
        AuditTarget {
            cluster: k.cluster.clone(),
            namespace: k.namespace.clone(),
            group: k.group.clone(),
        }
    }
}

impl AuditTarget {
    pub fn group_key(&self) -> GroupKey {
        GroupKey::new(&self.cluster, &self.namespace, &self.group)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Permitted and written as desired state; not yet applied to the cluster.
    Allowed,
    /// Refused by policy or by the phase.
    Denied,
    /// Applied to the cluster.
    Applied,
    /// Applying to the cluster failed.
    Failed,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Applied => "applied",
            Outcome::Failed => "failed",
        })
    }
}

/// What the caller knows about an action; the store adds the sequence number, id, time
/// and the chain links when it appends the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditDraft {
    pub user: AuditUser,
    pub action: String,
    pub target: AuditTarget,
    pub request: Value,
    pub before: Value,
    pub after: Value,
    pub outcome: Outcome,
    pub reason: String,
    /// The request this entry answers (`requests/<user>/<id>`), when a person asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Which controller instance wrote it (`controller@host:pid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl AuditDraft {
    pub fn new(user: AuditUser, action: impl Into<String>, target: AuditTarget) -> Self {
        AuditDraft {
            user,
            action: action.into(),
            target,
            request: Value::Null,
            before: Value::Null,
            after: Value::Null,
            outcome: Outcome::Allowed,
            reason: String::new(),
            request_id: None,
            via: None,
        }
    }
}

/// `/flightdeck/audit/<seq:020>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub id: String,
    /// RFC 3339 UTC with milliseconds, kept as the exact string that was hashed.
    pub time: String,
    pub user: AuditUser,
    pub action: String,
    pub target: AuditTarget,
    pub request: Value,
    pub before: Value,
    pub after: Value,
    pub outcome: Outcome,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub prev: String,
    pub hash: String,
}

impl AuditEntry {
    /// Seals a draft as entry `seq` after the entry whose hash is `prev` ("" for the first).
    pub fn seal(draft: AuditDraft, seq: u64, prev: &str, now: jiff::Timestamp) -> AuditEntry {
        let mut entry = AuditEntry {
            seq,
            id: ulid(now),
            time: format_time(now),
            user: draft.user,
            action: draft.action,
            target: draft.target,
            request: draft.request,
            before: draft.before,
            after: draft.after,
            outcome: draft.outcome,
            reason: draft.reason,
            request_id: draft.request_id,
            via: draft.via,
            prev: prev.to_string(),
            hash: String::new(),
        };
        // Serialising a struct of strings, numbers and JSON values cannot fail.
        let value = serde_json::to_value(&entry).unwrap_or(Value::Null);
        entry.hash = entry_hash(&value);
        entry
    }

    pub fn timestamp(&self) -> Option<jiff::Timestamp> {
        self.time.parse().ok()
    }
}

/// `/flightdeck/audit-head`: where the next append continues the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// The hash an entry should carry, computed from its stored JSON (its `prev` member and
/// every member but `hash`; see the module documentation for the exact bytes).
pub fn entry_hash(entry: &Value) -> String {
    let prev = entry.get("prev").and_then(Value::as_str).unwrap_or("");
    let mut body = entry.clone();
    if let Value::Object(map) = &mut body {
        map.remove("hash");
    }
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(canonical_json(&body).as_bytes());
    hex::encode(hasher.finalize())
}

/// JSON with sorted keys and no whitespace. Written here rather than relying on
/// `serde_json::Map` ordering, which a dependency enabling `preserve_order` would change.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `2026-11-23T04:05:06.123Z`.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID: 48 bits of milliseconds since the epoch and 80 random bits, 26 Crockford
/// base-32 characters, so ids sort by time.
pub fn ulid(now: jiff::Timestamp) -> String {
    let ms = (now.as_millisecond().max(0) as u128) & ((1u128 << 48) - 1);
    let random = rand::random::<u128>() & ((1u128 << 80) - 1);
    let value = (ms << 80) | random;
    (0..26)
        .rev()
        .map(|i| CROCKFORD[((value >> (i * 5)) & 0x1f) as usize] as char)
        .collect()
}

/// The first place where a sequence of stored entries stops being a valid chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: u64,
    pub reason: String,
}

/// Walks stored entries (key sequence number and raw JSON, in key order) and the stored
/// head; returns how many entries are sound or the first that is not.
pub fn verify_chain(entries: &[(u64, Value)], head: Option<&AuditHead>) -> Result<u64, ChainBreak> {
    let mut prev_hash = String::new();
    let mut expected_seq = 1u64;
    for (key_seq, value) in entries {
        let brk = |reason: String| ChainBreak {
            seq: *key_seq,
            reason,
        };
        if *key_seq != expected_seq {
            return Err(ChainBreak {
                seq: expected_seq,
                reason: format!("entry {expected_seq} is missing (next stored is {key_seq})"),
            });
        }
        let seq = value.get("seq").and_then(Value::as_u64);
        if seq != Some(*key_seq) {
            return Err(brk(format!(
                "stored under seq {key_seq} but says seq {}",
                seq.map_or("nothing".to_string(), |s| s.to_string())
            )));
        }
        let prev = value.get("prev").and_then(Value::as_str).unwrap_or("");
        if prev != prev_hash {
            return Err(brk(format!(
                "prev {} does not match the hash of entry {} ({})",
                short(prev),
                key_seq - 1,
                short(&prev_hash)
            )));
        }
        let stored = value.get("hash").and_then(Value::as_str).unwrap_or("");
        let computed = entry_hash(value);
        if stored != computed {
            return Err(brk(format!(
                "content was changed after it was written (hash {} but content hashes to {})",
                short(stored),
                short(&computed)
            )));
        }
        if serde_json::from_value::<AuditEntry>(value.clone()).is_err() {
            return Err(brk("is not a well-formed audit entry".to_string()));
        }
        prev_hash = computed;
        expected_seq += 1;
    }
    let count = expected_seq - 1;
    match head {
        None if count == 0 => Ok(0),
        None => Err(ChainBreak {
            seq: count,
            reason: "audit-head is missing".to_string(),
        }),
        Some(h) if h.seq != count => Err(ChainBreak {
            seq: h.seq.max(count),
            reason: format!("audit-head says seq {} but the log ends at {count}", h.seq),
        }),
        Some(h) if h.hash != prev_hash => Err(ChainBreak {
            seq: count,
            reason: "audit-head hash does not match the last entry".to_string(),
        }),
        Some(_) => Ok(count),
    }
}

fn short(h: &str) -> &str {
    if h.is_empty() {
        "(none)"
    } else {
        &h[..h.len().min(12)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> (Vec<(u64, Value)>, AuditHead) {
        let mut prev = String::new();
        let mut out = Vec::new();
        for seq in 1..=n {
            let draft = AuditDraft::new(
                AuditUser::named("alice", "os"),
                "weight",
                AuditTarget::default(),
            );
            let e = AuditEntry::seal(draft, seq, &prev, jiff::Timestamp::now());
            prev = e.hash.clone();
            out.push((seq, serde_json::to_value(&e).unwrap()));
        }
        (out, AuditHead { seq: n, hash: prev })
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_without_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": 1, "a": { "z": [1, "x"], "y": null } }"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":{"y":null,"z":[1,"x"]},"b":1}"#);
    }

    #[test]
    fn hash_is_sha256_of_prev_then_canonical_body() {
        let v: Value = serde_json::from_str(r#"{"seq":1,"prev":"ab","hash":"zz"}"#).unwrap();
        let mut h = Sha256::new();
        h.update(b"ab{\"prev\":\"ab\",\"seq\":1}");
        assert_eq!(entry_hash(&v), hex::encode(h.finalize()));
    }

    #[test]
    fn a_sound_chain_verifies_and_counts_its_entries() {
        let (entries, head) = chain(3);
        assert_eq!(verify_chain(&entries, Some(&head)), Ok(3));
        assert_eq!(verify_chain(&[], None), Ok(0));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let (mut entries, head) = chain(3);
        entries[1].1["reason"] = Value::String("nothing to see".into());
        let err = verify_chain(&entries, Some(&head)).unwrap_err();
        assert_eq!(err.seq, 2);
        assert!(err.reason.contains("changed"), "{}", err.reason);
    }

    #[test]
    fn a_gap_a_wrong_prev_and_a_stale_head_are_named() {
        let (entries, head) = chain(3);
        let gap = vec![entries[0].clone(), entries[2].clone()];
        assert_eq!(verify_chain(&gap, Some(&head)).unwrap_err().seq, 2);

        let (other, _) = chain(2);
        let mixed = vec![entries[0].clone(), other[1].clone()];
        let err = verify_chain(&mixed, None).unwrap_err();
        assert_eq!(err.seq, 2);
        assert!(err.reason.contains("prev"), "{}", err.reason);

        let stale = AuditHead { seq: 2, ..head };
        assert!(verify_chain(&entries, Some(&stale)).is_err());
    }

    #[test]
    fn ulids_are_26_crockford_characters_and_sort_by_time() {
        let a = ulid(jiff::Timestamp::from_millisecond(1_000).unwrap());
        let b = ulid(jiff::Timestamp::from_millisecond(2_000).unwrap());
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|c| CROCKFORD.contains(&c)));
        assert!(a < b);
    }

    #[test]
    fn time_has_milliseconds_and_z() {
        let t: jiff::Timestamp = "2026-11-23T04:05:06.123456Z".parse().unwrap();
        assert_eq!(format_time(t), "2026-11-23T04:05:06.123Z");
    }
}
