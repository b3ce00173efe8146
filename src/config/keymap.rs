//! Which key does what, per mode, as data: `keymaps/*.toml` are embedded; a user's
//! `keymap.toml` replaces the keys of only the actions it names.
//!
//! ```toml
//! [groups]
//! sort-next = ["s", "f2"]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::action::Action;
use super::error::{ConfigError, Source};
use super::key::Key;

pub const BUILT_IN: &[&str] = &["default", "vim"];

fn embedded(name: &str) -> Option<&'static str> {
    Some(match name {
        "default" => include_str!("../../keymaps/default.toml"),
        "vim" => include_str!("../../keymaps/vim.toml"),
        _ => return None,
    })
}

/// Where a key applies. Screen modes fall back to `global`; the input line does not, so
/// typing `q` into a filter types a `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Global,
    Groups,
    Group,
    /// The audit log.
    Audit,
    Input,
    /// A release action's dialog: typed keys go to its fields, as on the input line.
    Dialog,
    /// The log viewer.
    Logs,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::Global,
        Mode::Groups,
        Mode::Group,
        Mode::Audit,
        Mode::Logs,
        Mode::Input,
        Mode::Dialog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::Groups => "groups",
            Mode::Group => "group",
            Mode::Audit => "audit",
            Mode::Input => "input",
            Mode::Dialog => "dialog",
            Mode::Logs => "logs",
        }
    }

    /// Screen modes fall back to `[global]`; modes where keys type text do not.
    pub fn falls_back(self) -> bool {
        !matches!(self, Mode::Input | Mode::Dialog)
    }

    fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The actions that mean something in this mode; binding others is a mistake worth
    /// telling the user about.
    pub fn actions(self) -> &'static [Action] {
        use Action::*;
        match self {
            Mode::Global => &[Quit, Help, Command, Back, Audit],
            Mode::Groups => &[
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
                Deploy,
                Step,
                Weight,
                Pause,
                Resume,
                Promote,
                Abort,
                Rollback,
                Restart,
                Suspend,
                Trigger,
                Kill,
            ],
            Mode::Group => &[
                Up, Down, PageUp, PageDown, Top, Bottom, FocusNext, Deploy, Step, Weight, Pause,
                Resume, Promote, Abort, Rollback, Restart, Suspend, Trigger, Kill, Logs, Health,
                History, Diff, Instances, Drain,
            ],
            Mode::Audit => &[Up, Down, PageUp, PageDown, Top, Bottom, Filter],
            Mode::Input => &[Confirm, Cancel, Complete],
            Mode::Dialog => &[Confirm, Cancel, NextField, NudgeUp, NudgeDown],
            Mode::Logs => &[
                Back,
                Up,
                Down,
                PageUp,
                PageDown,
                Top,
                Bottom,
                Filter,
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
            ],
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Keys of one action in one mode, and the line of the file that set them (for errors).
#[derive(Debug, Clone, PartialEq)]
struct Binding {
    keys: Vec<Key>,
    origin: Option<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub name: String,
    bindings: BTreeMap<(Mode, Action), Binding>,
    lookup: HashMap<(Mode, Key), Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::built_in("default").unwrap_or_else(|_| Keymap {
            name: "default".into(),
            bindings: BTreeMap::new(),
            lookup: HashMap::new(),
        })
    }
}

impl Keymap {
    pub fn built_in(name: &str) -> Result<Keymap, ConfigError> {
        let text = embedded(name).ok_or_else(|| ConfigError::UnknownKeymap(name.to_string()))?;
        let mut km = Keymap {
            name: name.to_string(),
            bindings: BTreeMap::new(),
            lookup: HashMap::new(),
        };
        km.apply(&Source::new(format!("built-in keymap \"{name}\""), text))?;
        Ok(km)
    }

    /// What a key does in a mode: the mode's own binding first, then (except on the input
    /// line and in dialogs, where keys type text) the global one.
    pub fn action(&self, mode: Mode, key: Key) -> Option<Action> {
        self.lookup.get(&(mode, key)).copied().or_else(|| {
            mode.falls_back()
                .then(|| self.lookup.get(&(Mode::Global, key)).copied())
                .flatten()
        })
    }

    pub fn keys(&self, mode: Mode, action: Action) -> &[Key] {
        self.bindings
            .get(&(mode, action))
            .map(|b| b.keys.as_slice())
            .unwrap_or(&[])
    }

    /// The keys of an action as the hint line and help show them: `j/↓`.
    pub fn keys_label(&self, mode: Mode, action: Action) -> String {
        let keys = self.keys(mode, action);
        let keys = if keys.is_empty() && mode.falls_back() {
            self.keys(Mode::Global, action)
        } else {
            keys
        };
        keys.iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Every bound action of a mode with its keys, in the order of the action table.
    pub fn bindings(&self, mode: Mode) -> impl Iterator<Item = (Action, &[Key])> + '_ {
        self.bindings
            .range((mode, Action::Quit)..)
            .take_while(move |((m, _), _)| *m == mode)
            .filter(|(_, b)| !b.keys.is_empty())
            .map(|((_, a), b)| (*a, b.keys.as_slice()))
    }

    /// Lays a keymap file over this one: each action it names gets exactly the keys given.
    pub(crate) fn apply(&mut self, src: &Source<'_>) -> Result<(), ConfigError> {
        let table = src.parse()?;
        for (mode_key, section) in table.iter() {
            let mode_name: &str = mode_key.get_ref().as_ref();
            let Some(mode) = Mode::parse(mode_name) else {
                let known: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
                return Err(src.key_error(
                    mode_key.span(),
                    mode_name,
                    format!("unknown mode (known: {})", known.join(", ")),
                ));
            };
            let Some(section) = section.get_ref().as_table() else {
                return Err(src.key_error(
                    mode_key.span(),
                    mode_name,
                    "expected a table of action = [\"key\", …]",
                ));
            };
            for (action_key, keys) in section.iter() {
                let name: &str = action_key.get_ref().as_ref();
                let err = |m: String| src.key_error(action_key.span(), name, m);
                let action = Action::from_name(name).ok_or_else(|| {
                    err(format!(
                        "unknown action (known in [{mode}]: {})",
                        mode.actions()
                            .iter()
                            .map(|a| a.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
                if !mode.actions().contains(&action) {
                    return Err(err(format!("action not available in [{mode}]")));
                }
                let list = keys.get_ref().as_array().ok_or_else(|| {
                    err("expected a list of keys, e.g. [\"q\", \"ctrl-c\"]".into())
                })?;
                let mut parsed = Vec::new();
                for k in list.iter() {
                    let text = k.get_ref().as_str().ok_or_else(|| {
                        err("expected a list of keys, e.g. [\"q\", \"ctrl-c\"]".into())
                    })?;
                    parsed.push(Key::parse(text).map_err(err)?);
                }
                let line = src.line(action_key.span().start);
                self.bindings.insert(
                    (mode, action),
                    Binding {
                        keys: parsed,
                        origin: Some((src.file.clone(), line)),
                    },
                );
            }
        }
        self.rebuild_lookup()
    }

    /// Rebuilds key → action, refusing one key bound to two actions in the same mode and
    /// naming the file and line that did it.
    fn rebuild_lookup(&mut self) -> Result<(), ConfigError> {
        let mut lookup: HashMap<(Mode, Key), Action> = HashMap::new();
        for (&(mode, action), binding) in &self.bindings {
            for &key in &binding.keys {
                if let Some(&other) = lookup.get(&(mode, key))
                    && other != action
                {
                    // Blame the user's own edit rather than the built-in it collides with;
                    // between two of the user's lines, the later one.
                    let other_origin = self.bindings[&(mode, other)].origin.clone();
                    let rank = |o: &Option<(String, usize)>| match o {
                        Some((f, l)) if !f.starts_with("built-in ") => (1, *l),
                        _ => (0, 0),
                    };
                    let (blamed, partner, origin) = if rank(&binding.origin) >= rank(&other_origin)
                    {
                        (action, other, binding.origin.clone())
                    } else {
                        (other, action, other_origin)
                    };
                    let (file, line) = origin.unwrap_or_else(|| ("keymap".to_string(), 0));
                    return Err(ConfigError::Key {
                        file,
                        line,
                        key: blamed.name().to_string(),
                        message: format!("\"{key}\" is already bound to \"{partner}\" in [{mode}]"),
                    });
                }
                lookup.insert((mode, key), action);
            }
        }
        self.lookup = lookup;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    #[test]
    fn every_built_in_keymap_parses_and_binds_every_action_of_every_mode() {
        for name in BUILT_IN {
            let km = Keymap::built_in(name).unwrap();
            for mode in Mode::ALL {
                for &a in mode.actions() {
                    assert!(!km.keys(mode, a).is_empty(), "{name}: [{mode}] {a} unbound");
                }
            }
        }
    }

    #[test]
    fn screen_modes_fall_back_to_global_but_the_input_line_does_not() {
        let km = Keymap::built_in("default").unwrap();
        assert_eq!(km.action(Mode::Groups, key("q")), Some(Action::Quit));
        assert_eq!(km.action(Mode::Input, key("q")), None);
        assert_eq!(km.action(Mode::Input, key("esc")), Some(Action::Cancel));
        assert_eq!(km.action(Mode::Groups, key("enter")), Some(Action::Open));
    }

    #[test]
    fn vim_adds_hjkl_and_half_pages() {
        let km = Keymap::built_in("vim").unwrap();
        assert_eq!(km.action(Mode::Groups, key("j")), Some(Action::Down));
        assert_eq!(km.action(Mode::Groups, key("k")), Some(Action::Up));
        assert_eq!(
            km.action(Mode::Group, key("ctrl-d")),
            Some(Action::PageDown)
        );
        assert_eq!(
            km.action(Mode::Groups, key("shift-g")),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(
                Mode::Groups,
                Key::new(KeyCode::Char('G'), KeyModifiers::SHIFT)
            ),
            Some(Action::Bottom)
        );
        assert_eq!(km.action(Mode::Groups, key("down")), Some(Action::Down));
    }
}
