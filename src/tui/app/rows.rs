//! The rows of the groups list: scoped by `:ctx` and `:ns`, filtered by `/`, grouped under
//! a heading per app (or per cluster, `:by cluster`) and sorted within each. Sorting by name needs nothing but the store's
//! groups; other columns need summaries, computed once per rebuild rather than per row
//! per frame.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

use super::state::{GroupsState, SortKey};
use crate::domain::{GroupKey, Phase, Track};
use crate::model::{Estate, GroupEntry, GroupSummary};

#[derive(Debug, Clone, PartialEq)]
pub enum ListRow {
    App { name: String, groups: usize },
    Group(GroupKey),
}

#[derive(Debug, Default)]
pub struct GroupRows {
    pub rows: Vec<ListRow>,
    /// Where in `rows` each selectable (group) row is.
    pub groups: Vec<usize>,
    /// Summaries the sort needed, as of the build.
    pub summaries: HashMap<GroupKey, GroupSummary>,
    /// Groups in the store before scope and filter, to tell "none match" from "none".
    pub total: usize,
}

impl GroupRows {
    pub fn key_at(&self, selected: usize) -> Option<&GroupKey> {
        match self.rows.get(*self.groups.get(selected)?)? {
            ListRow::Group(k) => Some(k),
            ListRow::App { .. } => None,
        }
    }

    pub fn position_of(&self, key: &GroupKey) -> Option<usize> {
        self.groups
            .iter()
            .position(|&i| matches!(&self.rows[i], ListRow::Group(k) if k == key))
    }
}

pub fn build(estate: &Estate, state: &GroupsState, now: Timestamp) -> GroupRows {
    let needle = state.filter.to_lowercase();
    // Headings in order: apps by name, clusters in the kubeconfig's order.
    let mut by_app: BTreeMap<(usize, &str), Vec<&GroupEntry>> = BTreeMap::new();
    for entry in estate.groups() {
        let key = entry.group.key();
        if state.cluster.as_deref().is_some_and(|c| c != key.cluster) {
            continue;
        }
        if state
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != key.namespace)
        {
            continue;
        }
        if !needle.is_empty() && !matches(estate, entry, &key, &needle) {
            continue;
        }
        let heading = if state.by_cluster {
            cluster_rank(&state.cluster_order, &entry.group.spec.cluster)
        } else {
            (0, entry.group.app())
        };
        by_app.entry(heading).or_default().push(entry);
    }

    let mut summaries = HashMap::new();
    if state.sort != SortKey::Name {
        for entries in by_app.values() {
            for e in entries {
                let key = e.group.key();
                if let Some(s) = estate.summary(&key, now) {
                    summaries.insert(key, s);
                }
            }
        }
    }

    let mut out = GroupRows {
        total: estate.group_count(),
        ..GroupRows::default()
    };
    for ((_, app), mut entries) in by_app {
        entries.sort_by(|a, b| {
            let o = compare(&state.cluster_order, state.sort, a, b, &summaries);
            if state.ascending { o } else { o.reverse() }
        });
        out.rows.push(ListRow::App {
            name: app.to_string(),
            groups: entries.len(),
        });
        for e in entries {
            out.groups.push(out.rows.len());
            out.rows.push(ListRow::Group(e.group.key()));
        }
    }
    out.summaries = summaries;
    out
}

fn matches(estate: &Estate, entry: &GroupEntry, key: &GroupKey, needle: &str) -> bool {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    hit(&key.group)
        || hit(entry.group.app())
        || hit(&key.namespace)
        || hit(&key.cluster)
        || entry.group.tag().is_some_and(hit)
        || [Track::Stable, Track::Canary].into_iter().any(|t| {
            estate
                .deployment(key, t)
                .and_then(|d| d.tag.as_deref())
                .is_some_and(hit)
        })
}

/// Where `cluster` goes among clusters: the kubeconfig's order, then the rest by name.
pub fn cluster_rank<'a>(order: &[String], cluster: &'a str) -> (usize, &'a str) {
    let at = order
        .iter()
        .position(|c| c == cluster)
        .unwrap_or(usize::MAX);
    (at, cluster)
}

fn compare(
    order: &[String],
    sort: SortKey,
    a: &GroupEntry,
    b: &GroupEntry,
    summaries: &HashMap<GroupKey, GroupSummary>,
) -> Ordering {
    // The same app in test, pre and prod reads as neighbours, in the kubeconfig's order.
    let by_name = || {
        let (ra, rb) = (
            cluster_rank(order, &a.group.spec.cluster),
            cluster_rank(order, &b.group.spec.cluster),
        );
        (a.group.name(), ra, &a.group.spec.namespace).cmp(&(
            b.group.name(),
            rb,
            &b.group.spec.namespace,
        ))
    };
    if sort == SortKey::Name {
        return by_name();
    }
    let (sa, sb) = (summaries.get(&a.group.key()), summaries.get(&b.group.key()));
    let (Some(sa), Some(sb)) = (sa, sb) else {
        return sa.is_some().cmp(&sb.is_some()).then_with(by_name);
    };
    let o = match sort {
        SortKey::Name => Ordering::Equal,
        SortKey::Phase => phase_rank(sa.phase).cmp(&phase_rank(sb.phase)),
        // By how complete the group is, then by size: 3/10 before 9/10 before 10/10.
        SortKey::Ready => (u64::from(sa.ready) * u64::from(sb.desired.max(1)))
            .cmp(&(u64::from(sb.ready) * u64::from(sa.desired.max(1))))
            .then(sa.desired.cmp(&sb.desired)),
        SortKey::Restarts => sa.restarts.cmp(&sb.restarts),
        // Youngest first, as ages read: 5s before 3m.
        SortKey::Age => sb.created.cmp(&sa.created),
    };
    o.then_with(by_name)
}

/// The order in which the phases ask for attention: loud ones first.
fn phase_rank(p: Phase) -> u8 {
    match p {
        Phase::Degraded => 0,
        Phase::Progressing => 1,
        Phase::Paused => 2,
        Phase::Aborted => 3,
        Phase::Promoted => 4,
        Phase::Stable => 5,
    }
}
