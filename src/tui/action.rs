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
    Logs,
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
    (Action::Logs, "logs", "live logs of the group's pods"),
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
            Action::Logs => "logs",
        }
    }
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
