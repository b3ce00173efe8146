//! What a key means. Keys become actions through the keymap (mode → key → action), so the
//! views never look at key codes, and the help overlay and the hint line are generated
//! from the same table the keymap file is checked against.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    Command,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Filter,
    SortNext,
    SortReverse,
    FocusNext,
    Confirm,
    Cancel,
    Complete,
    /// The audit log.
    Audit,
    // Release actions on the selected or open group; each opens its dialog.
    Deploy,
    Step,
    Weight,
    Pause,
    Resume,
    Promote,
    Abort,
    Rollback,
    Restart,
    // A cron group's actions.
    Suspend,
    Trigger,
    Kill,
    // Inside a dialog.
    NextField,
    NudgeUp,
    NudgeDown,
    Logs,
    /// The group view's Health tab (the agent's report), in place of pods and events.
    Health,
    /// The group view's History tab: every revision, in place of pods and events.
    History,
    /// In the History tab: what the selected revision renders differently from the
    /// stable one.
    Diff,
    /// The group view's Instances tab: pods beside their service registrations.
    Instances,
    /// Take the selected pod's instance out of rotation, wait, delete the pod.
    Drain,
    // In the log viewer (`back` closes it; up/down/pages/top/bottom and `filter` move and
    // narrow as elsewhere).
    Follow,
    Search,
    NextMatch,
    PreviousMatch,
    Wrap,
    Timestamps,
    PodColumn,
    CycleTrack,
    CyclePod,
    CycleContainer,
    SaveShown,
    SaveAll,
}

/// Name in keymap files, and the line the help overlay shows.
const TABLE: &[(Action, &str, &str)] = &[
    (Action::Quit, "quit", "quit flightdeck"),
    (Action::Help, "help", "show or hide this help"),
    (
        Action::Command,
        "command",
        "command line (:group, :ns, :ctx, :q)",
    ),
    (Action::Back, "back", "go back, clear the filter"),
    (Action::Up, "up", "move up"),
    (Action::Down, "down", "move down"),
    (Action::PageUp, "page-up", "one page up"),
    (Action::PageDown, "page-down", "one page down"),
    (Action::Top, "top", "first row"),
    (Action::Bottom, "bottom", "last row"),
    (Action::Open, "open", "open the selected group"),
    (
        Action::Filter,
        "filter",
        "filter by name, app, namespace or tag",
    ),
    (Action::SortNext, "sort-next", "sort by the next column"),
    (
        Action::SortReverse,
        "sort-reverse",
        "reverse the sort order",
    ),
    (
        Action::FocusNext,
        "focus-next",
        "switch between pods and events",
    ),
    (
        Action::Confirm,
        "confirm",
        "run the command, keep the filter",
    ),
    (Action::Cancel, "cancel", "leave the input line"),
    (Action::Complete, "complete", "complete a group name"),
    (
        Action::Audit,
        "audit",
        "audit log: who did what (:audit group|user|since)",
    ),
    (
        Action::Deploy,
        "deploy",
        "deploy a new tag (starts a release)",
    ),
    (Action::Step, "step", "advance the release one step"),
    (Action::Weight, "weight", "set the canary weight now"),
    (Action::Pause, "pause", "pause the release"),
    (Action::Resume, "resume", "resume a paused release"),
    (
        Action::Promote,
        "promote",
        "promote: the canary becomes stable",
    ),
    (
        Action::Abort,
        "abort",
        "abort: all traffic back to stable at once",
    ),
    (
        Action::Rollback,
        "rollback",
        "roll back to the previous (or a named) revision",
    ),
    (Action::Restart, "restart", "rolling restart of a track"),
    (
        Action::Suspend,
        "suspend",
        "cron group: no scheduled runs until resume",
    ),
    (Action::Trigger, "trigger", "cron group: run its Job now"),
    (
        Action::Kill,
        "kill",
        "cron group: stop its running Job (and its pods)",
    ),
    (
        Action::NextField,
        "next-field",
        "move to the next field of a dialog",
    ),
    (Action::NudgeUp, "nudge-up", "weight dialog: 5% more"),
    (Action::NudgeDown, "nudge-down", "weight dialog: 5% less"),
    (Action::Logs, "logs", "live logs of the group's pods"),
    (
        Action::Health,
        "health",
        "health tab: canary vs stable, verdict and reasons",
    ),
    (
        Action::History,
        "history",
        "history tab: every revision, who, how it ended",
    ),
    (
        Action::Diff,
        "diff",
        "history tab: diff the revision against stable",
    ),
    (
        Action::Instances,
        "instances",
        "instances tab: pods beside their registrations",
    ),
    (
        Action::Drain,
        "drain",
        "drain the selected pod: weight 0, wait, delete it",
    ),
    (Action::Follow, "follow", "logs: pause / follow the end"),
    (Action::Search, "search", "logs: search (regex)"),
    (Action::NextMatch, "next-match", "logs: next match"),
    (
        Action::PreviousMatch,
        "previous-match",
        "logs: previous match",
    ),
    (Action::Wrap, "wrap", "logs: wrap long lines"),
    (Action::Timestamps, "timestamps", "logs: timestamps"),
    (Action::PodColumn, "pod-column", "logs: pod column"),
    (
        Action::CycleTrack,
        "cycle-track",
        "logs: narrow to canary / stable / all",
    ),
    (
        Action::CyclePod,
        "cycle-pod",
        "logs: narrow to one pod at a time",
    ),
    (
        Action::CycleContainer,
        "cycle-container",
        "logs: narrow to one container at a time",
    ),
    (
        Action::SaveShown,
        "save-shown",
        "logs: save the shown lines",
    ),
    (Action::SaveAll, "save-all", "logs: save the whole buffer"),
];

impl Action {
    pub fn all() -> impl Iterator<Item = Action> {
        TABLE.iter().map(|(a, _, _)| *a)
    }

    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("?")
    }

    pub fn description(self) -> &'static str {
        TABLE
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, _, d)| *d)
            .unwrap_or("")
    }

    pub fn from_name(name: &str) -> Option<Action> {
        TABLE
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(a, _, _)| *a)
    }

    /// A short word for the hint line.
    pub fn hint(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Command => "command",
            Action::Back => "back",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Open => "open",
            Action::Filter => "filter",
            Action::SortNext => "sort",
            Action::SortReverse => "reverse",
            Action::FocusNext => "pods/events",
            Action::Confirm => "run",
            Action::Cancel => "cancel",
            Action::Complete => "complete",
            Action::Audit => "audit",
            Action::Deploy => "deploy",
            Action::Step => "step",
            Action::Weight => "weight",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Promote => "promote",
            Action::Abort => "abort",
            Action::Rollback => "rollback",
            Action::Restart => "restart",
            Action::Suspend => "suspend",
            Action::Trigger => "trigger",
            Action::Kill => "kill",
            Action::NextField => "next field",
            Action::NudgeUp => "+5%",
            Action::NudgeDown => "-5%",
            Action::Logs => "logs",
            Action::Health => "health",
            Action::History => "history",
            Action::Diff => "diff",
            Action::Instances => "instances",
            Action::Drain => "drain",
            Action::Follow => "pause",
            Action::Search => "search",
            Action::NextMatch => "next",
            Action::PreviousMatch => "previous",
            Action::Wrap => "wrap",
            Action::Timestamps => "time",
            Action::PodColumn => "pods",
            Action::CycleTrack => "track",
            Action::CyclePod => "pod",
            Action::CycleContainer => "container",
            Action::SaveShown => "save",
            Action::SaveAll => "save all",
        }
    }

    /// The policy verb of a release action key; `None` for keys that only move around.
    pub fn release_verb(self) -> Option<crate::authz::Verb> {
        use crate::authz::Verb;
        Some(match self {
            Action::Deploy => Verb::Deploy,
            Action::Step => Verb::Step,
            Action::Weight => Verb::Weight,
            Action::Pause => Verb::Pause,
            Action::Resume => Verb::Resume,
            Action::Promote => Verb::Promote,
            Action::Abort => Verb::Abort,
            Action::Rollback => Verb::Rollback,
            Action::Restart => Verb::Restart,
            Action::Suspend => Verb::Suspend,
            Action::Trigger => Verb::Trigger,
            Action::Kill => Verb::Kill,
            Action::Drain => Verb::Drain,
            _ => return None,
        })
    }

    /// The release actions in the order the action bar shows them.
    pub const RELEASE: [Action; 9] = [
        Action::Deploy,
        Action::Step,
        Action::Weight,
        Action::Pause,
        Action::Resume,
        Action::Promote,
        Action::Abort,
        Action::Rollback,
        Action::Restart,
    ];

    /// A cron group's actions in the order the action bar shows them.
    pub const CRON: [Action; 7] = [
        Action::Deploy,
        Action::Trigger,
        Action::Kill,
        Action::Suspend,
        Action::Resume,
        Action::Abort,
        Action::Rollback,
    ];
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_unique_name_that_reads_back() {
        let mut names = std::collections::HashSet::new();
        for a in Action::all() {
            assert!(names.insert(a.name()), "{a:?}");
            assert_eq!(Action::from_name(a.name()), Some(a));
            assert!(!a.description().is_empty());
        }
        assert_eq!(names.len(), TABLE.len());
    }
}
