//! `flightdeck history GROUP [--json]` and `flightdeck diff GROUP REV [REV]`: every revision
//! of a group with what it changed, who deployed it, how long it ran as stable and how its
//! release ended; and what two revisions render differently. Read-only: viewers may run them.

use super::context::store_error;
use super::output::{cell, out, print_json, table};
use super::{CliError, Exit, Global};
use crate::domain::Revision;
use crate::model::history::{GroupHistory, RevisionHistory, diff};

pub use super::args::history::{DiffArgs, HistoryArgs};

pub async fn history_run(global: &Global, args: HistoryArgs) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let group = super::target::resolve(store.as_ref(), &args.group).await?;
    let key = group.key();
    let lines = GroupHistory::read(store.as_ref(), &key)
        .await
        .map_err(store_error)?
        .lines();
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
    let changed = h.changed_text();
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
        h.stable_text(now),
        h.ended.clone().unwrap_or_else(|| "-".into()),
        h.analysis.as_deref().map_or("-".into(), |a| cell(a, 60)),
    ]
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
