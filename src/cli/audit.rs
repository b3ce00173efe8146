//! `flightdeck audit [--group G] [--user U] [--since 10m|RFC3339] [--json]` and
//! `flightdeck audit verify` (DESIGN.md §4).

use super::context::store_error;
use super::output::{cell, print_json, table};
use super::{CliError, Exit, Global};
use crate::domain::{AuditEntry, GroupKey};
use crate::store::{AuditFilter, StoreError};

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only entries about this group (name or cluster/namespace/name).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Only entries by this user.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only entries since this long ago (30s, 10m, 2h, 1d) or this RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only the newest N entries.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and name the first entry that does not belong.
    Verify,
}

pub async fn run(global: &Global, args: AuditArgs) -> Result<(), CliError> {
    if let Some(AuditCommand::Verify) = args.command {
        return verify(global).await;
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
    print!("{}", table(&HEADER, entries.iter().map(row).collect()));
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

async fn verify(global: &Global) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    match store.verify_audit().await {
        Ok(n) => {
            println!("{n} entries, chain intact");
            Ok(())
        }
        Err(e @ StoreError::ChainBroken { .. }) => Err(CliError::new(Exit::Refused, e.to_string())),
        Err(e) => Err(store_error(e)),
    }
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
