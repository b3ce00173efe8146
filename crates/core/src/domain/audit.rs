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
//!
//! # The signed bytes of a checkpoint
//!
//! A chain alone proves nothing to someone who can rewrite all of it: whoever has etcd root
//! can edit an entry and re-hash every later one and the head, drop the newest entries and
//! move the head back, or delete the log. So the leading controller signs checkpoints
//! (`audit-checkpoints/<seq:020>`, [`Checkpoint`]) with an ed25519 key that never enters
//! the store. The signature (RFC 8032 ed25519, 64 bytes, stored as lowercase hex) is over
//! exactly
//!
//! ```text
//! b"flightdeck audit checkpoint v1\n" ‖ seq as ASCII decimal ‖ b"\n" ‖ hash
//! ```
//!
//! where `hash` is the UTF-8 bytes of entry `seq`'s `hash` (64 lowercase hex digits), with
//! no trailing newline ([`checkpoint_message`]). The public key is the raw 32 bytes, shown
//! as lowercase hex (`ed25519:<hex>` where a prefix helps). [`verify_log`] checks the chain,
//! every checkpoint against the key and against the entry at its seq, that no checkpoint
//! is past the head, and a head exported earlier (`SEQ:HASH`).

use std::fmt;

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
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
        // By characters: a hash written by hand may hold anything.
        h.char_indices().nth(12).map_or(h, |(i, _)| &h[..i])
    }
}

impl AuditHead {
    /// `SEQ:HASH`, the form `flightdeck audit head` prints for export.
    pub fn export(&self) -> String {
        format!("{}:{}", self.seq, self.hash)
    }

    /// Reads `SEQ:HASH` (as [`AuditHead::export`] writes it; `0:` is the empty log).
    pub fn parse_export(s: &str) -> Result<AuditHead, String> {
        let s = s.trim();
        let bad = |why: &str| Err(format!("'{s}' is not a head SEQ:HASH ({why})"));
        let Some((seq, hash)) = s.split_once(':') else {
            return bad("no ':'");
        };
        let Ok(seq) = seq.parse::<u64>() else {
            return bad("SEQ is not a number");
        };
        let hash = hash.to_ascii_lowercase();
        let hex_ok = hash.len() == 64 && hash.bytes().all(|c| c.is_ascii_hexdigit());
        match (seq, hash.is_empty()) {
            (0, true) => Ok(AuditHead::default()),
            (0, false) => bad("seq 0 is the empty log and has no hash"),
            (_, _) if !hex_ok => bad("HASH must be 64 hex digits"),
            _ => Ok(AuditHead { seq, hash }),
        }
    }
}

/// The context string every checkpoint signature starts with (see the module docs).
pub const CHECKPOINT_CONTEXT: &[u8] = b"flightdeck audit checkpoint v1\n";

/// The exact bytes a checkpoint of entry `seq` with hash `hash` signs.
pub fn checkpoint_message(seq: u64, hash: &str) -> Vec<u8> {
    let mut m = CHECKPOINT_CONTEXT.to_vec();
    m.extend_from_slice(seq.to_string().as_bytes());
    m.push(b'\n');
    m.extend_from_slice(hash.as_bytes());
    m
}

/// `/flightdeck/audit-checkpoints/<seq:020>`: the controller's signature over entry
/// `seq`'s hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    /// ed25519 signature over [`checkpoint_message`], lowercase hex.
    pub signature: String,
    /// The signer's public key, lowercase hex. Informational: verification uses a key
    /// the verifier trusts, never this one.
    pub public_key: String,
    pub time: String,
}

impl Checkpoint {
    /// Whether `key` signed exactly this seq and hash.
    pub fn verify(&self, key: &PublicKey) -> Result<(), String> {
        let sig = hex::decode(&self.signature)
            .map_err(|_| format!("checkpoint {}: the signature is not hex", self.seq))?;
        UnparsedPublicKey::new(&ED25519, key.0)
            .verify(&checkpoint_message(self.seq, &self.hash), &sig)
            .map_err(|_| {
                format!(
                    "checkpoint {}: the signature does not verify with {key} (forged, altered, or signed by another key)",
                    self.seq
                )
            })
    }
}

/// An ed25519 public key (the raw 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Lowercase hex, no prefix (as stored in the controller record and checkpoints).
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// 64 hex digits, with or without `ed25519:`; also the whole line `flightdeck audit
    /// head` prints ("public key ed25519:<hex>"), so its output can be saved as it is.
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let token = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or("");
        let hex_part = token.strip_prefix("ed25519:").unwrap_or(token);
        let bytes = hex::decode(hex_part.to_ascii_lowercase())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                format!("'{token}' is not an ed25519 public key (64 hex digits, optionally after 'ed25519:')")
            })?;
        Ok(PublicKey(bytes))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ed25519:{}", self.hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The controller's private key (PKCS#8, ed25519). Lives in a file only the controller
/// reads; never in the store, never logged (its `Debug` shows the public half).
pub struct SigningKey(Ed25519KeyPair);

impl SigningKey {
    /// A new key and its PKCS#8 (v2) document, to be written to a private file.
    pub fn generate() -> Result<(SigningKey, Vec<u8>), String> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| "cannot generate an ed25519 key: no system randomness".to_string())?;
        let bytes = doc.as_ref().to_vec();
        Ok((SigningKey::from_pkcs8(&bytes)?, bytes))
    }

    /// Reads a PKCS#8 ed25519 key (DER; v2 as `generate` writes, or v1 as
    /// `openssl genpkey -algorithm ed25519 -outform DER` does).
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(SigningKey)
            .map_err(|e| format!("not a PKCS#8 ed25519 private key (DER): {e}"))
    }

    pub fn public_key(&self) -> PublicKey {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(self.0.public_key().as_ref());
        PublicKey(raw)
    }

    /// Signs entry `seq` whose hash is `hash`.
    pub fn checkpoint(&self, seq: u64, hash: &str, now: jiff::Timestamp) -> Checkpoint {
        let sig = self.0.sign(&checkpoint_message(seq, hash));
        Checkpoint {
            seq,
            hash: hash.to_string(),
            signature: hex::encode(sig.as_ref()),
            public_key: self.public_key().hex(),
            time: format_time(now),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public_key())
    }
}

/// What a successful [`verify_log`] proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// Sound entries (the head's seq).
    pub entries: u64,
    pub head: AuditHead,
    /// Checkpoints whose signature verified and whose hash is the entry's.
    pub checkpoints: u64,
    /// The newest of them, if any: entries after it are covered by the chain only.
    pub last_checkpoint: Option<u64>,
}

/// What `verify_log` is given besides the stored log.
#[derive(Debug, Clone, Default)]
pub struct Trusted<'a> {
    /// The key checkpoints must verify with (from the verifier's own file, else the store).
    pub key: Option<&'a PublicKey>,
    /// A head exported earlier, which must still be in the log with the same hash.
    pub expect_head: Option<&'a AuditHead>,
    /// What the store holds that only exists with history (releases, revisions…), said
    /// as "3 releases"; an empty log is a deleted log if any is here.
    pub history: Vec<String>,
}

/// The whole check of `flightdeck audit verify`: the chain ([`verify_chain`]), then every
/// checkpoint (key seq, raw JSON) — signed by the trusted key, not past the head, equal to
/// the entry at its seq — then the exported head. The error is one line naming what.
pub fn verify_log(
    entries: &[(u64, Value)],
    head: Option<&AuditHead>,
    checkpoints: &[(u64, Value)],
    trusted: &Trusted<'_>,
) -> Result<Proof, String> {
    if entries.is_empty() && head.is_none_or(|h| h.seq == 0) {
        let mut history = trusted.history.clone();
        if !checkpoints.is_empty() {
            history.insert(0, plural(checkpoints.len() as u64, "signed checkpoint"));
        }
        if !history.is_empty() {
            return Err(format!(
                "the audit log is empty but the store has {}: the log was deleted",
                history.join(", ")
            ));
        }
        if let Some(x) = trusted.expect_head.filter(|x| x.seq > 0) {
            return Err(format!(
                "the audit log is empty but head {} was exported from it earlier",
                x.export()
            ));
        }
        return Ok(Proof {
            entries: 0,
            head: AuditHead::default(),
            checkpoints: 0,
            last_checkpoint: None,
        });
    }
    let count = verify_chain(entries, head)
        .map_err(|b| format!("audit chain broken at entry {}: {}", b.seq, b.reason))?;
    // The chain is sound, so entry n is at index n - 1 and its stored hash is its hash.
    let hash_of = |seq: u64| hash_at(entries, seq);
    let head_now = AuditHead {
        seq: count,
        hash: hash_of(count).to_string(),
    };
    if !checkpoints.is_empty() && trusted.key.is_none() {
        return Err(format!(
            "{} but no public key to check them: the controller record has none (pass --public-key FILE)",
            plural(checkpoints.len() as u64, "checkpoint")
        ));
    }
    let mut last = None;
    for (key_seq, value) in checkpoints {
        let cp: Checkpoint = serde_json::from_value(value.clone())
            .map_err(|_| format!("checkpoint {key_seq} is not a well-formed checkpoint"))?;
        if cp.seq != *key_seq {
            return Err(format!(
                "checkpoint {key_seq} is stored under seq {key_seq} but says seq {}",
                cp.seq
            ));
        }
        if let Some(key) = trusted.key {
            cp.verify(key)?;
        }
        if cp.seq == 0 {
            return Err("checkpoint 0 names no entry (entries start at 1)".to_string());
        }
        if cp.seq > count {
            return Err(format!(
                "checkpoint {} is past the head {}: signed entries were removed (the log was truncated)",
                cp.seq,
                head_now.export()
            ));
        }
        let actual = hash_of(cp.seq);
        if actual != cp.hash {
            return Err(format!(
                "checkpoint {} does not match entry {} (signed hash {}, the entry's is {}): history was rewritten",
                cp.seq,
                cp.seq,
                short(&cp.hash),
                short(actual)
            ));
        }
        last = Some(cp.seq);
    }
    if let Some(x) = trusted.expect_head.filter(|x| x.seq > 0) {
        if x.seq > count {
            return Err(format!(
                "head {} exported earlier is past the log's head {}: entries were removed",
                x.export(),
                head_now.export()
            ));
        }
        let actual = hash_of(x.seq);
        if actual != x.hash {
            return Err(format!(
                "head {} exported earlier does not match entry {} (its hash is {}): history was rewritten",
                x.export(),
                x.seq,
                short(actual)
            ));
        }
    }
    Ok(Proof {
        entries: count,
        head: head_now,
        checkpoints: checkpoints.len() as u64,
        last_checkpoint: last,
    })
}

fn hash_at(entries: &[(u64, Value)], seq: u64) -> &str {
    entries[(seq - 1) as usize]
        .1
        .get("hash")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// "1 release", "3 releases".
pub fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
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
    fn signed(key: &SigningKey, entries: &[(u64, Value)], seq: u64) -> (u64, Value) {
        let hash = entries[(seq - 1) as usize].1["hash"].as_str().unwrap();
        let cp = key.checkpoint(seq, hash, jiff::Timestamp::now());
        (seq, serde_json::to_value(cp).unwrap())
    }

    #[test]
    fn the_signed_bytes_are_the_documented_ones() {
        assert_eq!(
            checkpoint_message(42, "ab01"),
            b"flightdeck audit checkpoint v1\n42\nab01".to_vec()
        );
        let (key, der) = SigningKey::generate().unwrap();
        let again = SigningKey::from_pkcs8(&der).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        let cp = key.checkpoint(7, "abc", jiff::Timestamp::now());
        let v = serde_json::to_value(&cp).unwrap();
        assert_eq!(v["publicKey"], key.public_key().hex());
        let sig = hex::decode(&cp.signature).unwrap();
        UnparsedPublicKey::new(&ED25519, key.public_key().0)
            .verify(&checkpoint_message(7, "abc"), &sig)
            .unwrap();
        assert!(cp.verify(&key.public_key()).is_ok());
        let other = SigningKey::generate().unwrap().0;
        assert!(cp.verify(&other.public_key()).is_err());
        let moved = Checkpoint { seq: 8, ..cp };
        assert!(moved.verify(&key.public_key()).is_err());
        assert!(format!("{key:?}").starts_with("SigningKey(ed25519:"));
    }

    #[test]
    fn public_keys_and_heads_parse_as_they_are_printed() {
        let k = SigningKey::generate().unwrap().0.public_key();
        for text in [
            k.hex(),
            k.to_string(),
            format!("public key {k}\n"),
            format!("\n  {}  \n", k.hex().to_uppercase()),
        ] {
            assert_eq!(PublicKey::parse(&text), Ok(k), "{text}");
        }
        for bad in ["", "ed25519:", "ed25519:abcd", &"zz".repeat(32)] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
        let h = AuditHead {
            seq: 12,
            hash: "a".repeat(64),
        };
        assert_eq!(AuditHead::parse_export(&h.export()), Ok(h.clone()));
        assert_eq!(AuditHead::parse_export("0:"), Ok(AuditHead::default()));
        for bad in [
            "12",
            "x:aa",
            "12:abc",
            "0:aa",
            &format!("1:{}", "g".repeat(64)),
        ] {
            assert!(AuditHead::parse_export(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_log_with_checkpoints_proves_itself_and_each_attack_is_named() {
        let key = SigningKey::generate().unwrap().0;
        let pk = key.public_key();
        let (entries, head) = chain(6);
        let cps = vec![signed(&key, &entries, 3), signed(&key, &entries, 6)];
        let trusted = Trusted {
            key: Some(&pk),
            expect_head: Some(&head),
            history: vec![],
        };
        let proof = verify_log(&entries, Some(&head), &cps, &trusted).unwrap();
        assert_eq!((proof.entries, proof.checkpoints), (6, 2));
        assert_eq!(proof.head, head);
        assert_eq!(proof.last_checkpoint, Some(6));

        // Truncated: the last two entries dropped and the head moved back.
        let short_head = AuditHead {
            seq: 4,
            hash: entries[3].1["hash"].as_str().unwrap().to_string(),
        };
        let no_expect = Trusted {
            expect_head: None,
            ..trusted.clone()
        };
        let err = verify_log(&entries[..4], Some(&short_head), &cps, &no_expect).unwrap_err();
        assert!(err.contains("checkpoint 6 is past the head 4:"), "{err}");
        // …and with the checkpoint deleted too, the exported head still tells.
        let err = verify_log(&entries[..4], Some(&short_head), &cps[..1], &trusted).unwrap_err();
        assert!(
            err.contains(&format!("head {} exported", head.export())),
            "{err}"
        );

        // Rewritten: another chain of the same length, re-hashed throughout.
        let (other, other_head) = chain(6);
        let err = verify_log(&other, Some(&other_head), &cps, &no_expect).unwrap_err();
        assert!(err.contains("checkpoint 3 does not match entry 3"), "{err}");
        let err = verify_log(&other, Some(&other_head), &[], &trusted).unwrap_err();
        assert!(err.contains("does not match entry 6"), "{err}");

        // Deleted: nothing left but what only exists with history.
        let err = verify_log(&[], None, &cps, &trusted).unwrap_err();
        assert!(
            err.contains("empty but the store has 2 signed checkpoints"),
            "{err}"
        );
        let history = Trusted {
            history: vec!["1 release".into()],
            ..Trusted::default()
        };
        let err = verify_log(&[], None, &[], &history).unwrap_err();
        assert!(err.contains("empty but the store has 1 release"), "{err}");
        assert_eq!(
            verify_log(&[], None, &[], &Trusted::default())
                .unwrap()
                .entries,
            0
        );

        // Forged: an altered hash, another key's signature, or no key to check with.
        let mut altered = cps.clone();
        altered[1].1["hash"] = Value::String("0".repeat(64));
        let err = verify_log(&entries, Some(&head), &altered, &trusted).unwrap_err();
        assert!(
            err.contains("checkpoint 6: the signature does not verify"),
            "{err}"
        );
        let mallory = SigningKey::generate().unwrap().0;
        let forged = vec![cps[0].clone(), signed(&mallory, &entries, 6)];
        let err = verify_log(&entries, Some(&head), &forged, &trusted).unwrap_err();
        assert!(err.contains("checkpoint 6: the signature"), "{err}");
        let keyless = Trusted {
            key: None,
            ..Trusted::default()
        };
        let err = verify_log(&entries, Some(&head), &cps, &keyless).unwrap_err();
        assert!(err.contains("no public key"), "{err}");
    }
}
