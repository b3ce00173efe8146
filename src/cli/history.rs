//! `flightdeck history GROUP [--json]` and `flightdeck diff GROUP REV [REV]`: every revision
//! of a group with what it changed, who deployed it, how long it ran as stable and how its
//! release ended; and what two revisions render differently. Read-only: viewers may run them.

use serde_json::Value;

use super::context::store_error;
use super::output::{cell, out, print_json, table};
use super::{CliError, Exit, Global};
use crate::domain::Revision;
use crate::model::history::{RevisionHistory, diff, history};
use crate::store::AuditFilter;

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Name (unique across the store) or cluster/namespace/name.
    pub group: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    pub group: String,
    /// The revision to look at.
    pub revision: u64,
    /// The one to compare it with (default: the stable revision running now).
    pub against: Option<u64>,
}

pub async fn history_run(global: &Global, args: HistoryArgs) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let group = super::target::resolve(store.as_ref(), &args.group).await?;
    let key = group.key();
    let revisions = store.list_revisions(&key).await.map_err(store_error)?;
    let filter = AuditFilter {
        group: Some(key.clone()),
        ..AuditFilter::default()
    };
    let audit = store.list_audit(&filter).await.map_err(store_error)?;
    let release = store
        .get_release(&key)
        .await
        .map_err(store_error)?
        .map(|v| v.value);
    let lines = history(&revisions, &audit, release.as_ref());
    if args.json {
        return print_json(&lines);
    }
    if lines.is_empty() {
        return out(&format!("{key} has no revisions yet (never deployed)\n"));
    }
    let now = jiff::Timestamp::now();
    let rows = lines.iter().map(|h| row(h, now)).collect();
    out(&table(
        &[
            "REV",
            "TAG",
            "CHANGED",
            "BY",
            "CREATED",
            "STABLE FOR",
            "ENDED",
            "ANALYSIS",
        ],
        rows,
    ))
}

fn row(h: &RevisionHistory, now: jiff::Timestamp) -> Vec<String> {
    let changed = h
        .changed
        .iter()
        .map(|(name, was, is)| format!("{name} {}→{}", value(was), value(is)))
        .collect::<Vec<_>>()
        .join(", ");
    let stable = match (h.stable_for(now), h.stable_until) {
        (Some(d), None) => format!("{} (now)", span(d)),
        (Some(d), Some(_)) => span(d),
        (None, _) => "-".into(),
    };
    vec![
        format!("r{}", h.number),
        h.tag.clone().unwrap_or_else(|| "-".into()),
        if changed.is_empty() {
            "-".into()
        } else {
            cell(&changed, 48)
        },
        h.created_by.clone(),
        super::output::ago(h.created, now),
        stable,
        h.ended.clone().unwrap_or_else(|| "-".into()),
        h.analysis.as_deref().map_or("-".into(), |a| cell(a, 60)),
    ]
}

fn value(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `3d 4h`, `2h 5m`, `7m`, `12s`: the two largest units.
fn span(d: jiff::SignedDuration) -> String {
    let s = d.as_secs().max(0);
    let (days, hours, mins) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

pub async fn diff_run(global: &Global, args: DiffArgs) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let group = super::target::resolve(store.as_ref(), &args.group).await?;
    let key = group.key();
    let against = match args.against {
        Some(n) => n,
        None => store
            .get_release(&key)
            .await
            .map_err(store_error)?
            .map(|v| v.value.stable_revision)
            .ok_or_else(|| CliError::new(Exit::BadInput, format!("{key} was never deployed")))?,
    };
    let get = |n: u64| {
        let (store, key) = (store.clone(), key.clone());
        async move {
            store
                .get_revision(&key, n)
                .await
                .map_err(store_error)?
                .ok_or_else(|| CliError::new(Exit::BadInput, format!("{key} has no revision r{n}")))
        }
    };
    let (from, to): (Revision, Revision) = (get(against).await?, get(args.revision).await?);
    let text = diff(&from, &to);
    if text.is_empty() {
        return out(&format!(
            "r{} and r{} render the same objects\n",
            from.number, to.number
        ));
    }
    out(&text)
}
