//! The log viewer's keys, as data: one table gives the bindings, the help lines and the
//! hint line. (The console's keymap files do not have a `logs` section yet; when they do,
//! this table becomes its defaults.)

use crossterm::event::{Event, KeyEvent, KeyEventKind};
use tui_input::backend::crossterm::EventHandler;

use super::{LogsView, Prompt, PromptKind};
use crate::config::Key;

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

/// Key, action, what the help says.
const TABLE: &[(&str, LogKey, &str)] = &[
    ("esc", LogKey::Close, "close the logs"),
    ("q", LogKey::Close, "close the logs"),
    ("up", LogKey::Up, "older line (pauses)"),
    ("k", LogKey::Up, "older line (pauses)"),
    ("down", LogKey::Down, "newer line"),
    ("j", LogKey::Down, "newer line"),
    ("pgup", LogKey::PageUp, "page up (pauses)"),
    ("pgdown", LogKey::PageDown, "page down"),
    ("home", LogKey::Top, "oldest line"),
    ("g", LogKey::Top, "oldest line"),
    ("end", LogKey::End, "jump to the end and follow"),
    ("G", LogKey::End, "jump to the end and follow"),
    ("space", LogKey::Pause, "pause / follow"),
    ("/", LogKey::Search, "search (regex)"),
    ("n", LogKey::Next, "next match"),
    ("N", LogKey::Previous, "previous match"),
    ("f", LogKey::Filter, "only lines that match"),
    ("w", LogKey::Wrap, "wrap long lines"),
    ("t", LogKey::Timestamps, "timestamps"),
    ("c", LogKey::PodColumn, "pod column"),
    ("T", LogKey::Track, "narrow: canary / stable / all"),
    ("p", LogKey::Pod, "narrow: one pod at a time"),
    ("C", LogKey::Container, "narrow: one container at a time"),
    ("s", LogKey::SaveShown, "save the shown lines"),
    ("S", LogKey::SaveAll, "save the whole buffer"),
];

/// `(key, action, description)` for the help overlay and the hint line.
pub fn bindings() -> impl Iterator<Item = (&'static str, LogKey, &'static str)> {
    TABLE.iter().copied()
}

fn action(key: Key) -> Option<LogKey> {
    TABLE
        .iter()
        .find(|(k, _, _)| Key::parse(k).is_ok_and(|k| k == key))
        .map(|(_, a, _)| *a)
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
    pub fn on_key(&mut self, event: KeyEvent) -> LogsOutcome {
        if event.kind == KeyEventKind::Release {
            return LogsOutcome::Consumed;
        }
        let key = Key::from(&event);
        if self.prompt.is_some() {
            self.on_prompt_key(event, key);
            return LogsOutcome::Consumed;
        }
        let Some(a) = action(key) else {
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
