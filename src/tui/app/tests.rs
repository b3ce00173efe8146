use jiff::Timestamp;

use super::rows::{self, ListRow};
use super::state::{GroupsState, SortKey};
use crate::domain::InstanceGroup;
use crate::model::{Estate, Update};

fn group(name: &str, app: &str) -> InstanceGroup {
    serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{name: {name}, app: {app}}}\n\
         spec: {{cluster: c, namespace: ns, template: t, params: {{tag: v1}}}}"
    ))
    .unwrap()
}

fn estate(n: usize) -> Estate {
    let mut e = Estate::new();
    e.apply(Update::StoreReloaded {
        groups: (0..n)
            .map(|i| group(&format!("g{i:03}"), &format!("app{}", i % 3)))
            .collect(),
        releases: vec![],
    });
    e
}

#[test]
fn sorting_by_name_computes_no_summaries() {
    let e = estate(300);
    let state = GroupsState::default();
    let rows = rows::build(&e, &state, Timestamp::UNIX_EPOCH);
    assert!(rows.summaries.is_empty());
    assert_eq!(rows.groups.len(), 300);
    assert_eq!(rows.rows.len(), 303, "one heading per app");
    let state = GroupsState {
        sort: SortKey::Restarts,
        ..GroupsState::default()
    };
    assert_eq!(
        rows::build(&e, &state, Timestamp::UNIX_EPOCH)
            .summaries
            .len(),
        300
    );
}

#[test]
fn headings_come_before_their_groups_and_are_not_selectable() {
    let e = estate(4);
    let rows = rows::build(&e, &GroupsState::default(), Timestamp::UNIX_EPOCH);
    assert_eq!(
        rows.rows[0],
        ListRow::App {
            name: "app0".into(),
            groups: 2
        }
    );
    assert_eq!(rows.key_at(0).map(|k| k.group.as_str()), Some("g000"));
    assert_eq!(rows.key_at(1).map(|k| k.group.as_str()), Some("g003"));
    assert_eq!(rows.key_at(2).map(|k| k.group.as_str()), Some("g001"));
    assert_eq!(rows.position_of(&rows.key_at(3).unwrap().clone()), Some(3));
}
