//! The group view's History tab: every revision of the open group as `model::history`
//! tells it, the diff of one of them against the stable revision, and the revision a
//! rollback from the tab aims at. The store is never read here: the tab says what it
//! wants ([`App::history_ask`], published by the event loop to the history loader in
//! `tui/feeds.rs`) and the answer comes back as `Update::HistoryLoaded`.

use std::cell::Cell;
use std::sync::Arc;

use super::App;
use super::state::{Pane, Screen};
use crate::domain::GroupKey;
use crate::model::history::HistoryRows;
use crate::model::sanitize::clean;
use crate::tui::action::Action;

/// The read the open history tab wants: its group, and how many times it has asked (a
/// new number each time it opens or the group's audit log grows, so an answer to an
/// older ask is never taken for a fresh one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryAsk {
    pub key: GroupKey,
    pub generation: u64,
}

/// The History tab of one open group.
#[derive(Debug, Default)]
pub struct HistoryTab {
    /// The generation of the latest ask.
    pub wanted: u64,
    /// The generation of the latest answer.
    pub answered: u64,
    pub rows: Option<Arc<HistoryRows>>,
    /// Why the latest read failed (the rows of an earlier one stay).
    pub error: Option<String>,
    /// Index among the rows, newest first.
    pub selected: usize,
    pub offset: Cell<usize>,
    /// The diff of the selected revision, over the list while open.
    pub diff: Option<DiffPane>,
}

impl HistoryTab {
    /// A read is under way.
    pub fn loading(&self) -> bool {
        self.answered < self.wanted
    }

    /// The revision selected in the list, and its tag.
    pub fn selected_revision(&self) -> Option<(u64, Option<String>)> {
        let line = self.rows.as_ref()?.lines.get(self.selected)?;
        Some((line.number, line.tag.clone()))
    }

    /// What a rollback from the tab goes to: the revision in the diff, else the selected one.
    pub fn target(&self) -> Option<(u64, Option<String>)> {
        match &self.diff {
            Some(d) => Some((d.revision, d.tag.clone())),
            None => self.selected_revision(),
        }
    }
}

/// One revision's rendered objects against the stable revision's, as a unified diff
/// (`-` stable, `+` the revision), one cleaned line each.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffPane {
    pub revision: u64,
    pub tag: Option<String>,
    pub stable: Option<u64>,
    pub lines: Vec<String>,
    /// Why there are no lines ("render the same objects", a revision that is gone).
    pub note: Option<String>,
    /// First line shown.
    pub scroll: usize,
}

impl DiffPane {
    fn of(rows: &HistoryRows, revision: u64, tag: Option<String>) -> DiffPane {
        let stable = rows.source.stable();
        let (lines, note) = match (stable, rows.source.diff_with_stable(revision)) {
            (_, Some(text)) if !text.is_empty() => (text.lines().map(clean).collect(), None),
            (Some(s), Some(_)) if s == revision => (
                Vec::new(),
                Some(format!("r{revision} is the stable revision running now")),
            ),
            (Some(s), Some(_)) => (
                Vec::new(),
                Some(format!("r{revision} and r{s} render the same objects")),
            ),
            (None, _) => (
                Vec::new(),
                Some("the group has no stable revision to compare with".to_string()),
            ),
            (Some(s), None) => (
                Vec::new(),
                Some(format!("r{revision} or r{s} is not in the store")),
            ),
        };
        DiffPane {
            revision,
            tag,
            stable,
            lines,
            note,
            scroll: 0,
        }
    }
}

impl App {
    /// The read the history tab on screen wants; `None` when no history tab is open.
    pub fn history_ask(&self) -> Option<HistoryAsk> {
        match &self.screen {
            Screen::Group(g) if g.focus == Pane::History => Some(HistoryAsk {
                key: g.key.clone(),
                generation: g.history.wanted,
            }),
            _ => None,
        }
    }

    /// The history key: opens the tab (and asks for a fresh read) or closes it.
    pub(super) fn toggle_history(&mut self) {
        if let Screen::Group(g) = &mut self.screen {
            if g.focus == Pane::History {
                g.focus = Pane::Pods;
                g.history.diff = None;
            } else {
                g.focus = Pane::History;
                g.history.wanted += 1;
            }
        }
    }

    /// The diff key in the history tab: the selected revision against the stable one.
    pub(super) fn open_history_diff(&mut self) {
        if let Screen::Group(g) = &mut self.screen
            && g.focus == Pane::History
            && g.history.diff.is_none()
            && let (Some(rows), Some((n, tag))) =
                (g.history.rows.clone(), g.history.selected_revision())
        {
            g.history.diff = Some(DiffPane::of(&rows, n, tag));
        }
    }

    /// Esc in an open diff closes it (back to the list); `false` when none was open.
    pub(super) fn close_history_diff(&mut self) -> bool {
        match &mut self.screen {
            Screen::Group(g) if g.history.diff.is_some() => {
                g.history.diff = None;
                true
            }
            _ => false,
        }
    }

    /// Up, down, pages: the selection in the list, or the diff's scroll while it is open.
    pub(super) fn move_in_history(&mut self, action: Action) {
        let page = self.pages.history;
        let Screen::Group(g) = &mut self.screen else {
            return;
        };
        let tab = &mut g.history;
        if let Some(d) = &mut tab.diff {
            // Scrolled so that the last page stays full.
            let last = d.lines.len().saturating_sub(page.max(1));
            d.scroll = super::keys::moved(d.scroll, last + 1, page, action);
            return;
        }
        let len = tab.rows.as_ref().map_or(0, |r| r.lines.len());
        tab.selected = super::keys::moved(tab.selected, len, page, action);
    }

    /// The revision the rollback key goes to from the history tab on screen.
    pub fn rollback_target(&self) -> Option<u64> {
        self.history_target().map(|(n, _)| n)
    }

    /// The revision a rollback opened from the history tab aims at, and its tag.
    pub(super) fn history_target(&self) -> Option<(u64, Option<String>)> {
        match &self.screen {
            Screen::Group(g) if g.focus == Pane::History => g.history.target(),
            _ => None,
        }
    }

    pub(super) fn history_loaded(
        &mut self,
        key: GroupKey,
        generation: u64,
        rows: Result<Arc<HistoryRows>, String>,
    ) {
        let Screen::Group(g) = &mut self.screen else {
            return;
        };
        if g.key != key || generation < g.history.answered || generation > g.history.wanted {
            return;
        }
        let tab = &mut g.history;
        tab.answered = generation;
        match rows {
            Ok(rows) => {
                // The selection stays on its revision when a new one comes on top.
                let was = tab.selected_revision().map(|(n, _)| n);
                if let Some(i) = was.and_then(|n| rows.lines.iter().position(|l| l.number == n)) {
                    tab.selected = i;
                }
                tab.selected = tab.selected.min(rows.lines.len().saturating_sub(1));
                tab.rows = Some(rows);
                tab.error = None;
            }
            Err(why) => tab.error = Some(why),
        }
    }

    /// Something happened to `key` (its audit log grew, the store was reloaded): an open
    /// history tab of it reads again.
    pub(super) fn history_stale(&mut self, key: Option<&GroupKey>) {
        if let Screen::Group(g) = &mut self.screen
            && g.focus == Pane::History
            && key.is_none_or(|k| *k == g.key)
        {
            g.history.wanted += 1;
        }
    }
}
