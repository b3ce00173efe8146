//! What the console shows and where the user is in it. Plain data; the key handling in
//! `keys.rs` changes it and the views read it.

use std::cell::Cell;

use jiff::Timestamp;
use tui_input::Input;

use crate::domain::GroupKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Phase,
    Ready,
    Restarts,
    Age,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Name => SortKey::Phase,
            SortKey::Phase => SortKey::Ready,
            SortKey::Ready => SortKey::Restarts,
            SortKey::Restarts => SortKey::Age,
            SortKey::Age => SortKey::Name,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "NAME",
            SortKey::Phase => "PHASE",
            SortKey::Ready => "READY",
            SortKey::Restarts => "RESTARTS",
            SortKey::Age => "AGE",
        }
    }
}

/// The groups list: order, scope, filter and selection.
#[derive(Debug)]
pub struct GroupsState {
    pub sort: SortKey,
    pub ascending: bool,
    /// `:ctx NAME`; `None` is every cluster.
    pub cluster: Option<String>,
    /// `:ns NAME`; `None` is every namespace.
    pub namespace: Option<String>,
    /// `:by cluster`: a heading per cluster instead of per app.
    pub by_cluster: bool,
    /// The kubeconfig's contexts in its order (test before prod, as people write them):
    /// clusters are listed in this order, others after by name.
    pub cluster_order: Vec<String>,
    /// Text of `/`; empty is no filter.
    pub filter: String,
    /// Index among the group rows (app headings are not selectable).
    pub selected: usize,
    /// The selected group, to keep the selection on it when rows move.
    pub selected_key: Option<GroupKey>,
    pub offset: Cell<usize>,
}

impl Default for GroupsState {
    fn default() -> Self {
        GroupsState {
            sort: SortKey::Name,
            ascending: true,
            cluster: None,
            namespace: None,
            by_cluster: false,
            cluster_order: Vec::new(),
            filter: String::new(),
            selected: 0,
            selected_key: None,
            offset: Cell::new(0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Pods,
    Events,
    /// The Health tab: the agent's report in place of both tables.
    Health,
    /// The History tab: every revision of the group in place of both tables.
    History,
    /// The Instances tab: the group's pods beside its service registrations.
    Instances,
}

/// One group opened.
#[derive(Debug)]
pub struct GroupState {
    pub key: GroupKey,
    pub focus: Pane,
    pub pod: usize,
    pub event: usize,
    pub pod_offset: Cell<usize>,
    pub event_offset: Cell<usize>,
    pub history: super::history::HistoryTab,
    /// Boxed: the tab is open on few screens, and the screen enum stays small.
    pub instances: Box<super::instances::InstancesTab>,
}

impl GroupState {
    pub fn new(key: GroupKey) -> Self {
        GroupState {
            key,
            focus: Pane::Pods,
            pod: 0,
            event: 0,
            pod_offset: Cell::new(0),
            event_offset: Cell::new(0),
            history: Default::default(),
            instances: Default::default(),
        }
    }
}

#[derive(Debug)]
pub enum Screen {
    Groups,
    Group(GroupState),
    /// The audit log, over the screen it was opened from (Esc goes back to it).
    Audit(AuditState),
}

/// The audit view: its filters and where the user is in it.
#[derive(Debug)]
pub struct AuditState {
    pub filter: super::audit::AuditFilter,
    /// Text of `/` in the audit view; matches user, action, target and reason.
    pub text: String,
    /// Index among the shown entries, newest first.
    pub selected: usize,
    pub offset: Cell<usize>,
    pub back: Box<Screen>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Command,
}

/// The line at the bottom where `/` and `:` type.
#[derive(Debug)]
pub struct InputLine {
    pub kind: InputKind,
    pub input: Input,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Error,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub kind: StatusKind,
    pub text: String,
    /// Info toasts go at this time; errors stay until the next key.
    pub until: Option<Timestamp>,
}

/// Heights of the scrolling panes at the last draw, for page up/down.
#[derive(Debug, Clone, Copy)]
pub struct Pages {
    pub groups: usize,
    pub audit: usize,
    pub pods: usize,
    pub events: usize,
    /// The history tab's list, or its diff while one is open.
    pub history: usize,
    /// The instances tab's table.
    pub instances: usize,
}

impl Default for Pages {
    fn default() -> Self {
        Pages {
            groups: 20,
            audit: 20,
            pods: 10,
            events: 10,
            history: 10,
            instances: 10,
        }
    }
}
