//! One key press as keymap files write it: `q`, `ctrl-c`, `enter`, `shift-g`, `?`, `pgdown`.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, normalised so that what a terminal sends and what a file says
/// compare equal: letters carry their case instead of SHIFT (`shift-g` is `G`), and SHIFT
/// is dropped from punctuation (`?` arrives as shift-/ on some terminals, plain on others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) => {
                let c = if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c
                };
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            // Terminals report shift-tab as BackTab, sometimes with SHIFT as well.
            KeyCode::BackTab | KeyCode::Tab
                if code == KeyCode::BackTab || mods.contains(KeyModifiers::SHIFT) =>
            {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    pub fn parse(text: &str) -> Result<Key, String> {
        let bad = || format!("cannot read key \"{text}\"");
        if text.chars().count() == 1 {
            let c = text.chars().next().ok_or_else(bad)?;
            return Ok(Key::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            rest = &rest[len..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "" => return Err(bad()),
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdown" | "pgdn" | "pagedown" => KeyCode::PageDown,
            "space" => KeyCode::Char(' '),
            "minus" => KeyCode::Char('-'),
            f if f.starts_with('f') && f.len() > 1 => KeyCode::F(
                f[1..]
                    .parse()
                    .ok()
                    .filter(|n| (1..=24).contains(n))
                    .ok_or_else(bad)?,
            ),
            _ if rest.chars().count() == 1 => KeyCode::Char(rest.chars().next().ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        Ok(Key::new(code, mods))
    }
}

impl From<&KeyEvent> for Key {
    fn from(k: &KeyEvent) -> Key {
        Key::new(k.code, k.modifiers)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> Key {
        Key::from(&KeyEvent::new(code, mods))
    }

    #[test]
    fn file_names_and_terminal_events_agree() {
        assert_eq!(
            Key::parse("q").unwrap(),
            ev(KeyCode::Char('q'), KeyModifiers::NONE)
        );
        assert_eq!(
            Key::parse("ctrl-c").unwrap(),
            ev(KeyCode::Char('c'), KeyModifiers::CONTROL)
        );
        assert_eq!(
            Key::parse("shift-g").unwrap(),
            ev(KeyCode::Char('G'), KeyModifiers::SHIFT)
        );
        assert_eq!(Key::parse("G").unwrap(), Key::parse("shift-g").unwrap());
        assert_eq!(
            Key::parse("?").unwrap(),
            ev(KeyCode::Char('?'), KeyModifiers::SHIFT)
        );
        assert_eq!(
            Key::parse("pgdown").unwrap(),
            ev(KeyCode::PageDown, KeyModifiers::NONE)
        );
        assert_eq!(
            Key::parse("shift-tab").unwrap(),
            ev(KeyCode::BackTab, KeyModifiers::SHIFT)
        );
        assert_eq!(
            Key::parse("f1").unwrap(),
            ev(KeyCode::F(1), KeyModifiers::NONE)
        );
    }

    #[test]
    fn nonsense_is_refused_with_the_text() {
        for bad in ["ctrl-", "hyper-x", "f99", "enterr", ""] {
            assert_eq!(
                Key::parse(bad).unwrap_err(),
                format!("cannot read key \"{bad}\"")
            );
        }
    }

    #[test]
    fn keys_print_as_people_write_them() {
        assert_eq!(Key::parse("ctrl-d").unwrap().to_string(), "ctrl-d");
        assert_eq!(Key::parse("shift-g").unwrap().to_string(), "G");
        assert_eq!(Key::parse("enter").unwrap().to_string(), "enter");
    }
}
