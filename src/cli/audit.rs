//! `flightdeck audit [--group G] [--user U] [--since 10m|RFC3339] [--json]`,
//! `flightdeck audit head [--json]` and
//! `flightdeck audit verify [--expect-head SEQ:HASH] [--public-key FILE]` (DESIGN.md §4).

use super::context::store_error;
use super::output::{cell, line, print_json, table};
use super::{CliError, Exit, Global};
use crate::domain::audit::{AuditHead, PublicKey};
use crate::domain::{AuditEntry, GroupKey};
use crate::store::{AuditFilter, audit_head, prove_audit};

pub use super::args::audit::{AuditArgs, AuditCommand, VerifyArgs};

pub async fn run(global: &Global, args: AuditArgs) -> Result<(), CliError> {
    match args.command {
        Some(AuditCommand::Verify(v)) => return verify(global, v).await,
        Some(AuditCommand::Head { json }) => return head(global, json).await,
        None => {}
    }
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, jiff::Timestamp::now()))
        .transpose()?;
    let store = global.connect_store().await?;
    // A group that no longer exists still has its history: a name the store does not know
    // is matched against the entries' targets instead.
    let (group, name_only) = match args.group.as_deref() {
        None => (None, None),
        Some(g) => match super::target::resolve(store.as_ref(), g).await {
            Ok(found) => (Some(found.key()), None),
            Err(e) if e.exit == Exit::BadInput && !e.message.contains("ambiguous") => {
                match g.split('/').collect::<Vec<_>>().as_slice() {
                    [c, n, name] => (Some(GroupKey::new(*c, *n, *name)), None),
                    _ => (None, Some(g.to_string())),
                }
            }
            Err(e) => return Err(e),
        },
    };
    let filter = AuditFilter {
        group,
        user: args.user.clone(),
        since,
        before: None,
        limit: if name_only.is_some() {
            None
        } else {
            args.limit
        },
    };
    let mut entries = store.list_audit(&filter).await.map_err(store_error)?;
    if let Some(name) = &name_only {
        entries.retain(|e| &e.target.group == name);
        if let Some(n) = args.limit {
            let excess = entries.len().saturating_sub(n);
            entries.drain(..excess);
        }
    }
    if args.json {
        return print_json(&entries);
    }
    super::output::out(&table(&HEADER, entries.iter().map(row).collect()))?;
    Ok(())
}

const HEADER: [&str; 7] = [
    "SEQ", "TIME", "USER", "ACTION", "TARGET", "OUTCOME", "REASON",
];

fn row(e: &AuditEntry) -> Vec<String> {
    let t = &e.target;
    let target = if t.group.is_empty() {
        "-".to_string()
    } else {
        format!("{}/{}/{}", t.cluster, t.namespace, t.group)
    };
    vec![
        e.seq.to_string(),
        e.time.clone(),
        e.user.name.clone(),
        e.action.clone(),
        target,
        e.outcome.to_string(),
        cell(&e.reason, 100),
    ]
}

async fn head(global: &Global, json: bool) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let (head, key) = audit_head(store.as_ref()).await.map_err(store_error)?;
    // The record is the store's word; a malformed key is shown as such, not trusted.
    let key = key.map(|k| PublicKey::parse(&k).map_err(|_| k));
    if json {
        return print_json(&serde_json::json!({
            "seq": head.seq,
            "hash": head.hash,
            "head": head.export(),
            "publicKey": match &key {
                Some(Ok(k)) => Some(k.hex()),
                _ => None,
            },
        }));
    }
    line(&head.export())?;
    match key {
        Some(Ok(k)) => line(&format!("public key {k}")),
        Some(Err(bad)) => line(&format!(
            "public key unreadable in the store: {}",
            cell(&bad, 80)
        )),
        None => line("no public key recorded"),
    }
}

async fn verify(global: &Global, args: VerifyArgs) -> Result<(), CliError> {
    let expect = args
        .expect_head
        .as_deref()
        .map(AuditHead::parse_export)
        .transpose()
        .map_err(|e| CliError::new(Exit::BadInput, format!("--expect-head: {e}")))?;
    let key = match &args.public_key {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                CliError::new(
                    Exit::BadInput,
                    format!("--public-key: cannot read {}: {e}", file.display()),
                )
            })?;
            Some(PublicKey::parse(&text).map_err(|e| {
                CliError::new(
                    Exit::BadInput,
                    format!("--public-key {}: {e}", file.display()),
                )
            })?)
        }
        None => None,
    };
    let store = global.connect_store().await?;
    let proof = prove_audit(store.as_ref(), key, expect)
        .await
        .map_err(store_error)?;
    let p = proof
        .verdict
        .map_err(|why| CliError::new(Exit::Refused, cell(&why, 400)))?;
    line(&format!("{} entries, chain intact", p.entries))?;
    line(&format!("head {}", p.head.export()))?;
    let by = match (&proof.key, proof.key_from_store) {
        (Some(k), true) => {
            format!("{k} (the key the store records; pass --public-key for one it cannot replace)")
        }
        (Some(k), false) => format!("{k} (--public-key)"),
        (None, _) => "no key".to_string(),
    };
    let covered = match p.last_checkpoint {
        Some(s) if s < p.entries => format!("; entries after {s} are not checkpointed yet"),
        _ => String::new(),
    };
    line(&format!(
        "{} verified with {by}{covered}",
        crate::domain::audit::plural(p.checkpoints, "checkpoint")
    ))?;
    if args.expect_head.is_some() {
        line("expected head found")?;
    }
    Ok(())
}

/// `30s`, `10m`, `2h`, `1d` ago, or an RFC 3339 time.
fn parse_since(s: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, CliError> {
    let bad = || {
        CliError::new(
            Exit::BadInput,
            format!("--since {s:?} is neither a duration (30s, 10m, 2h, 1d) nor an RFC 3339 time"),
        )
    };
    let t = s.trim();
    if let Ok(at) = t.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    now.checked_sub(jiff::SignedDuration::from_secs(secs))
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_times() {
        let now: jiff::Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let at = |s: &str| parse_since(s, now).unwrap().to_string();
        assert_eq!(at("10m"), "2026-01-01T11:50:00Z");
        assert_eq!(at("1d"), "2025-12-31T12:00:00Z");
        assert_eq!(at("2026-01-01T10:00:00Z"), "2026-01-01T10:00:00Z");
        for bad in ["", "10", "m", "10x", "yesterday"] {
            assert_eq!(
                parse_since(bad, now).unwrap_err().exit,
                Exit::BadInput,
                "{bad}"
            );
        }
    }
}
