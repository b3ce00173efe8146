//! Keys → actions (through the keymap) → state changes. No key codes are matched here
//! except by the keymap; unbound keys on the input line go to the text input.

use crossterm::event::{Event, KeyEvent, KeyEventKind};
use tui_input::backend::crossterm::EventHandler;

use super::audit::AuditFilter;
use super::dialog::Dialog;
use super::state::{
    AuditState, GroupState, InputKind, InputLine, Pane, Screen, SortKey, StatusKind,
};
use super::{App, Effect};
use crate::authz::Verb;
use crate::config::{Key, Mode};
use crate::domain::GroupKey;
use crate::tui::action::Action;

impl App {
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Effect> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        // The newcomer's line has done its job once someone types.
        self.first_run = false;
        let k = Key::from(&key);
        let key = match self.on_logs_key(key) {
            Ok(effect) => return effect,
            Err(key) => key,
        };
        if self.dialog.is_some() {
            return self.on_dialog_key(key, k);
        }
        if self.input.is_some() {
            return self.on_input_key(key, k);
        }
        if self
            .status
            .as_ref()
            .is_some_and(|s| s.kind == StatusKind::Error)
        {
            self.status = None;
        }
        let action = self.keymap.action(self.mode(), k)?;
        if self.help.is_some() {
            self.on_help_action(action);
            return None;
        }
        self.on_action(action)
    }

    /// The keymap mode of the screen in front.
    pub(crate) fn mode(&self) -> Mode {
        if self.dialog.is_some() {
            return Mode::Dialog;
        }
        match (&self.input, &self.screen) {
            (Some(_), _) => Mode::Input,
            (None, Screen::Groups) => Mode::Groups,
            (None, Screen::Group(_)) => Mode::Group,
            (None, Screen::Audit(_)) => Mode::Audit,
        }
    }

    fn on_action(&mut self, action: Action) -> Option<Effect> {
        if let Some(verb) = action.release_verb() {
            return self.start_release_action(verb);
        }
        match action {
            Action::Quit => return Some(Effect::Quit),
            Action::Help => self.help = Some(0),
            Action::Command => self.open_input(InputKind::Command, String::new()),
            Action::Filter if matches!(self.screen, Screen::Groups) => {
                let current = self.groups.filter.clone();
                self.open_input(InputKind::Filter, current);
            }
            Action::Filter => {
                if let Screen::Audit(a) = &self.screen {
                    let current = a.text.clone();
                    self.open_input(InputKind::Filter, current);
                }
            }
            Action::Audit => self.open_audit(AuditFilter::default()),
            Action::Back => self.back(),
            Action::Logs => return self.open_group_logs(),
            Action::Open => self.open_selected(),
            Action::SortNext => {
                self.groups.sort = self.groups.sort.next();
                // Each column starts in the order people look for first: the most
                // restarts on top, everything else as it reads.
                self.groups.ascending = self.groups.sort != SortKey::Restarts;
                self.invalidate_rows();
            }
            Action::SortReverse => {
                self.groups.ascending = !self.groups.ascending;
                self.invalidate_rows();
            }
            Action::FocusNext => {
                if let Screen::Group(g) = &mut self.screen {
                    g.focus = match g.focus {
                        Pane::Pods => Pane::Events,
                        Pane::Events | Pane::Health | Pane::History | Pane::Instances => Pane::Pods,
                    };
                    g.history.diff = None;
                }
            }
            Action::Health => {
                if let Screen::Group(g) = &mut self.screen {
                    g.focus = if g.focus == Pane::Health {
                        Pane::Pods
                    } else {
                        Pane::Health
                    };
                    g.history.diff = None;
                }
            }
            Action::History => self.toggle_history(),
            Action::Diff => self.open_history_diff(),
            Action::Instances => self.toggle_instances(),
            Action::Up | Action::PageUp | Action::Top => self.move_selection(action),
            // Moving down at the end of the audit view reads the page before it.
            Action::Down | Action::PageDown | Action::Bottom => {
                self.move_selection(action);
                return self.want_older_audit();
            }
            Action::Confirm
            | Action::Cancel
            | Action::Complete
            | Action::NextField
            | Action::NudgeUp
            | Action::NudgeDown => {}
            // Release actions were handled above.
            Action::Deploy
            | Action::Step
            | Action::Weight
            | Action::Pause
            | Action::Resume
            | Action::Promote
            | Action::Abort
            | Action::Rollback
            | Action::Restart
            | Action::Suspend
            | Action::Trigger
            | Action::Kill
            | Action::Drain => {}
            // The log viewer's own: it takes them before the screens do.
            Action::Follow
            | Action::Search
            | Action::NextMatch
            | Action::PreviousMatch
            | Action::Wrap
            | Action::Timestamps
            | Action::PodColumn
            | Action::CycleTrack
            | Action::CyclePod
            | Action::CycleContainer
            | Action::SaveShown
            | Action::SaveAll => {}
        }
        None
    }

    fn on_help_action(&mut self, action: Action) {
        let Some(scroll) = self.help else { return };
        self.help = match action {
            Action::Help | Action::Back | Action::Quit => None,
            Action::Up => Some(scroll.saturating_sub(1)),
            Action::Down => Some(scroll + 1),
            Action::PageUp => Some(scroll.saturating_sub(10)),
            Action::PageDown => Some(scroll + 10),
            Action::Top => Some(0),
            _ => Some(scroll),
        };
    }

    fn back(&mut self) {
        if self.close_history_diff() {
            return;
        }
        match &mut self.screen {
            Screen::Audit(a) if !a.text.is_empty() => a.text.clear(),
            Screen::Audit(_) => {
                if let Screen::Audit(a) = std::mem::replace(&mut self.screen, Screen::Groups) {
                    self.screen = *a.back;
                }
            }
            Screen::Group(_) => self.screen = Screen::Groups,
            Screen::Groups if !self.groups.filter.is_empty() => {
                self.groups.filter.clear();
                self.invalidate_rows();
            }
            Screen::Groups => {}
        }
    }

    fn open_selected(&mut self) {
        if !matches!(self.screen, Screen::Groups) {
            return;
        }
        self.refresh_rows();
        if let Some(key) = self.rows().key_at(self.groups.selected).cloned() {
            self.screen = Screen::Group(GroupState::new(key));
        }
    }

    fn move_selection(&mut self, action: Action) {
        if matches!(self.screen, Screen::Groups) {
            self.refresh_rows();
            let len = self.rows.groups.len();
            let g = &mut self.groups;
            g.selected = moved(g.selected, len, self.pages.groups, action);
            g.selected_key = self.rows.key_at(g.selected).cloned();
            return;
        }
        if matches!(self.screen, Screen::Audit(_)) {
            let len = self.audit_rows().len();
            let page = self.pages.audit;
            if let Screen::Audit(a) = &mut self.screen {
                a.selected = moved(a.selected, len, page, action);
            }
            return;
        }
        if let Screen::Group(g) = &self.screen
            && g.focus == Pane::History
        {
            return self.move_in_history(action);
        }
        if let Screen::Group(g) = &self.screen
            && g.focus == Pane::Instances
        {
            return self.move_in_instances(action);
        }
        if let Screen::Group(g) = &mut self.screen {
            match g.focus {
                Pane::Pods => {
                    let len = self.estate.pods_of(&g.key).len();
                    g.pod = moved(g.pod, len, self.pages.pods, action);
                }
                Pane::Events => {
                    let len = self.estate.events_of(&g.key).len();
                    g.event = moved(g.event, len, self.pages.events, action);
                }
                Pane::Health | Pane::History | Pane::Instances => {}
            }
        }
    }

    fn open_input(&mut self, kind: InputKind, value: String) {
        self.input = Some(InputLine {
            kind,
            input: tui_input::Input::new(value),
        });
    }

    fn on_input_key(&mut self, event: KeyEvent, key: Key) -> Option<Effect> {
        let line = self.input.as_mut()?;
        match (self.keymap.action(Mode::Input, key), line.kind) {
            (Some(Action::Confirm), InputKind::Filter) => self.input = None,
            (Some(Action::Cancel), InputKind::Filter) => {
                self.input = None;
                if let Screen::Audit(a) = &mut self.screen {
                    a.text.clear();
                } else {
                    self.groups.filter.clear();
                    self.invalidate_rows();
                }
            }
            (Some(Action::Confirm), InputKind::Command) => {
                let text = line.input.value().to_string();
                self.input = None;
                return self.run_command(&text);
            }
            (Some(Action::Cancel), InputKind::Command) => self.input = None,
            (Some(Action::Complete), InputKind::Command) => self.complete_command(),
            _ => {
                line.input.handle_event(&Event::Key(event));
                self.after_input_edit();
            }
        }
        None
    }

    /// The filter applies as it is typed.
    pub(super) fn after_input_edit(&mut self) {
        if let (Some(line), Screen::Audit(a)) = (&self.input, &mut self.screen) {
            if line.kind == InputKind::Filter {
                a.text = line.input.value().to_string();
                a.selected = 0;
            }
            return;
        }
        if let Some(line) = &self.input
            && line.kind == InputKind::Filter
            && line.input.value() != self.groups.filter
        {
            self.groups.filter = line.input.value().to_string();
            self.invalidate_rows();
        }
    }
}

impl App {
    /// The group a release key acts on: the open one, or the one selected in the list.
    fn target_group(&mut self) -> Option<GroupKey> {
        match &self.screen {
            Screen::Group(g) => Some(g.key.clone()),
            Screen::Groups => {
                self.refresh_rows();
                self.rows().key_at(self.groups.selected).cloned()
            }
            Screen::Audit(_) => None,
        }
    }

    /// A release key: refused at once with the reason (and the refusal reported for the
    /// audit log), or its dialog opens.
    fn start_release_action(&mut self, verb: Verb) -> Option<Effect> {
        let key = self.target_group()?;
        if let Err(why) = self.gate(&key, verb) {
            self.show_error(why.clone());
            // Not while the policy is still loading: that is a wait, not a refusal.
            return (why != super::gate::CHECKING).then_some(Effect::Refused {
                key,
                verb,
                reason: why,
            });
        }
        if verb == Verb::Drain {
            let (pod, address) = match self.drain_target() {
                Ok(target) => target,
                Err(why) => {
                    self.show_error(why);
                    return None;
                }
            };
            if let Some(entry) = self.estate.group(&key) {
                self.dialog = Some(Dialog::drain(
                    &entry.group,
                    entry.release.as_ref(),
                    &pod,
                    address.as_deref(),
                ));
            }
            return None;
        }
        if let Some(entry) = self.estate.group(&key) {
            let mut dialog = Dialog::new(&entry.group, entry.release.as_ref(), verb);
            // From the history tab, a rollback goes to the revision chosen there.
            if verb == Verb::Rollback
                && let Some((n, tag)) = self.history_target()
            {
                dialog.aim_at(entry.release.as_ref(), n, tag.as_deref());
            }
            self.dialog = Some(dialog);
        }
        None
    }

    fn on_dialog_key(&mut self, event: KeyEvent, key: Key) -> Option<Effect> {
        let action = self.keymap.action(Mode::Dialog, key);
        let dialog = self.dialog.as_mut()?;
        match action {
            Some(Action::Cancel) => self.dialog = None,
            Some(Action::Confirm) => {
                let name = dialog.key.group.clone();
                let (action, reason) = dialog.submit(&name)?;
                let key = dialog.key.clone();
                self.dialog = None;
                self.show_info(format!("{} {}: sent…", action.name(), key.group));
                return Some(Effect::Act {
                    key,
                    action,
                    reason,
                });
            }
            Some(Action::NextField) => dialog.next_field(),
            Some(a @ (Action::NudgeUp | Action::NudgeDown))
                if dialog.nudge(a == Action::NudgeUp) => {}
            _ => {
                if let Some(field) = dialog.focused_mut() {
                    field.input.handle_event(&Event::Key(event));
                }
                dialog.error = None;
            }
        }
        None
    }

    /// Opens the audit log with `filter`, over the screen in front (or replaces the
    /// filter when it is already open).
    pub(super) fn open_audit(&mut self, filter: AuditFilter) {
        if let Screen::Audit(a) = &mut self.screen {
            a.filter = filter;
            a.selected = 0;
            return;
        }
        let back = std::mem::replace(&mut self.screen, Screen::Groups);
        self.screen = Screen::Audit(AuditState {
            filter,
            text: String::new(),
            selected: 0,
            offset: Default::default(),
            back: Box::new(back),
        });
    }
}

pub(super) fn moved(current: usize, len: usize, page: usize, action: Action) -> usize {
    let last = len.saturating_sub(1);
    let page = page.max(1);
    let next = match action {
        Action::Up => current.saturating_sub(1),
        Action::Down => current + 1,
        Action::PageUp => current.saturating_sub(page),
        Action::PageDown => current + page,
        Action::Top => 0,
        Action::Bottom => last,
        _ => current,
    };
    next.min(last)
}
