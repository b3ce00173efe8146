//! The log viewer's keys come from the keymap's `[logs]` section like every other
//! screen's (so `keymap.toml` rebinds them and `?` lists them); this maps those actions
//! onto what the viewer does. Its prompts (search, save) type text.

use crossterm::event::{Event, KeyEvent, KeyEventKind};
use tui_input::backend::crossterm::EventHandler;

use super::{LogsView, Prompt, PromptKind};
use crate::config::Key;
use crate::config::action::Action;
use crate::config::keymap::{Keymap, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKey {
    Close,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    End,
    Pause,
    Search,
    Next,
    Previous,
    Filter,
    Wrap,
    Timestamps,
    PodColumn,
    Track,
    Pod,
    Container,
    SaveShown,
    SaveAll,
}

impl LogKey {
    /// What a keymap action means in the viewer (`None`: not a viewer action, e.g. `?`).
    pub fn of(action: Action) -> Option<LogKey> {
        Some(match action {
            Action::Back => LogKey::Close,
            Action::Up => LogKey::Up,
            Action::Down => LogKey::Down,
            Action::PageUp => LogKey::PageUp,
            Action::PageDown => LogKey::PageDown,
            Action::Top => LogKey::Top,
            Action::Bottom => LogKey::End,
            Action::Follow => LogKey::Pause,
            Action::Search => LogKey::Search,
            Action::NextMatch => LogKey::Next,
            Action::PreviousMatch => LogKey::Previous,
            Action::Filter => LogKey::Filter,
            Action::Wrap => LogKey::Wrap,
            Action::Timestamps => LogKey::Timestamps,
            Action::PodColumn => LogKey::PodColumn,
            Action::CycleTrack => LogKey::Track,
            Action::CyclePod => LogKey::Pod,
            Action::CycleContainer => LogKey::Container,
            Action::SaveShown => LogKey::SaveShown,
            Action::SaveAll => LogKey::SaveAll,
            _ => return None,
        })
    }
}

/// What a key did to the viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogsOutcome {
    Consumed,
    Close,
    /// Not a viewer key; the console may use it (e.g. `?`, `:`).
    Ignored,
}

impl LogsView {
    /// A key, read through `keymap`'s `[logs]` section (and `[global]` behind it).
    pub fn on_key(&mut self, event: KeyEvent, keymap: &Keymap) -> LogsOutcome {
        if event.kind == KeyEventKind::Release {
            return LogsOutcome::Consumed;
        }
        let key = Key::from(&event);
        if self.prompt.is_some() {
            self.on_prompt_key(event, key);
            return LogsOutcome::Consumed;
        }
        let Some(a) = keymap.action(Mode::Logs, key).and_then(LogKey::of) else {
            return LogsOutcome::Ignored;
        };
        let page = self.page.get().max(1);
        match a {
            LogKey::Close => return LogsOutcome::Close,
            LogKey::Up => self.scroll_up(1),
            LogKey::Down => self.scroll_down(1),
            LogKey::PageUp => self.scroll_up(page),
            LogKey::PageDown => self.scroll_down(page),
            LogKey::Top => self.top(),
            LogKey::End => self.follow(),
            LogKey::Pause if self.following() => self.pause(),
            LogKey::Pause => self.follow(),
            LogKey::Search => self.open_prompt(PromptKind::Search),
            LogKey::Next => self.jump_match(false),
            LogKey::Previous => self.jump_match(true),
            LogKey::Filter => self.toggle_filter(),
            LogKey::Wrap => self.wrap = !self.wrap,
            LogKey::Timestamps => self.timestamps = !self.timestamps,
            LogKey::PodColumn => self.pod_column = !self.pod_column,
            LogKey::Track => self.cycle_track(),
            LogKey::Pod => self.cycle_pod(),
            LogKey::Container => self.cycle_container(),
            LogKey::SaveShown => self.open_prompt(PromptKind::SaveShown),
            LogKey::SaveAll => self.open_prompt(PromptKind::SaveAll),
        }
        LogsOutcome::Consumed
    }

    fn open_prompt(&mut self, kind: PromptKind) {
        let value = match kind {
            PromptKind::Search => self
                .search()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            PromptKind::SaveShown | PromptKind::SaveAll => {
                let name: String = self
                    .title
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                format!("{name}.log")
            }
        };
        self.prompt = Some(Prompt {
            kind,
            input: tui_input::Input::new(value),
        });
    }

    fn on_prompt_key(&mut self, event: KeyEvent, key: Key) {
        let Some(prompt) = self.prompt.as_mut() else {
            return;
        };
        if Key::parse("esc").is_ok_and(|k| k == key) || Key::parse("ctrl-c").is_ok_and(|k| k == key)
        {
            self.prompt = None;
            return;
        }
        if Key::parse("enter").is_ok_and(|k| k == key) {
            let value = prompt.input.value().to_string();
            let kind = prompt.kind;
            self.prompt = None;
            match kind {
                PromptKind::Search => self.set_search(&value),
                PromptKind::SaveShown => self.save(std::path::Path::new(&value), false),
                PromptKind::SaveAll => self.save(std::path::Path::new(&value), true),
            }
            return;
        }
        prompt.input.handle_event(&Event::Key(event));
    }

    /// Pasted text goes to an open prompt, one line of it.
    pub fn on_paste(&mut self, text: &str) {
        if let Some(p) = self.prompt.as_mut() {
            for c in text.chars() {
                let c = if c.is_control() { ' ' } else { c };
                p.input.handle(tui_input::InputRequest::InsertChar(c));
            }
        }
    }
}
