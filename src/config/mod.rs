//! The console's configuration: theme and keymap, each a built-in chosen by name (in
//! `config.toml`, or on the command line) with the user's own file laid over it key by key.
//!
//! ```text
//! $XDG_CONFIG_HOME/flightdeck/   (or ~/.config/flightdeck/)
//!   config.toml    theme = "light"   keymap = "vim"
//!   theme.toml     warning = "#ff8800 bold"
//!   keymap.toml    [groups] sort-next = ["o"]
//! ```

pub mod action;
pub(crate) mod error;
pub mod key;
pub mod keymap;
pub mod theme;

use std::path::{Path, PathBuf};

pub use error::ConfigError;
use error::{Source, display_path};
pub use key::Key;
pub use keymap::{Keymap, Mode};
pub use theme::Theme;

/// Loads theme and keymap from the user's config directory. `explicit_*` (from the command
/// line) win over `config.toml`; `NO_COLOR` set to anything non-empty forces `mono`.
pub fn load(
    explicit_theme: Option<&str>,
    explicit_keymap: Option<&str>,
) -> Result<(Theme, Keymap), ConfigError> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (theme, keymap) = load_unadapted(explicit_theme, explicit_keymap, no_color)?;
    // 24-bit colours only where the terminal says it draws them.
    let theme = if theme::truecolor_terminal() {
        theme
    } else {
        theme.without_truecolor()
    };
    Ok((theme, keymap))
}

fn load_unadapted(
    explicit_theme: Option<&str>,
    explicit_keymap: Option<&str>,
    no_color: bool,
) -> Result<(Theme, Keymap), ConfigError> {
    match config_dir() {
        Some(dir) => load_from_dir(&dir, explicit_theme, explicit_keymap, no_color),
        None => {
            let theme = if no_color {
                "mono"
            } else {
                explicit_theme.unwrap_or("default")
            };
            Ok((
                Theme::built_in(theme)?,
                Keymap::built_in(explicit_keymap.unwrap_or("default"))?,
            ))
        }
    }
}

/// `$XDG_CONFIG_HOME/flightdeck`, else `~/.config/flightdeck`.
pub fn config_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    xdg.or_else(|| home().map(|h| h.join(".config")))
        .map(|d| d.join("flightdeck"))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// [`load`] with the directory given, for tests and for `--config-dir`. Missing files are
/// fine; a file that is there must be right.
pub fn load_from_dir(
    dir: &Path,
    explicit_theme: Option<&str>,
    explicit_keymap: Option<&str>,
    no_color: bool,
) -> Result<(Theme, Keymap), ConfigError> {
    let home = home();
    let shown = |name: &str| display_path(&dir.join(name), home.as_deref());

    let mut theme_name = explicit_theme.map(str::to_string);
    let mut keymap_name = explicit_keymap.map(str::to_string);
    if let Some(text) = read(&dir.join("config.toml"), &shown("config.toml"))? {
        let src = Source::new(shown("config.toml"), &text);
        let choice = choices(&src)?;
        theme_name = theme_name.or(choice.theme);
        keymap_name = keymap_name.or(choice.keymap);
    }

    let chosen = theme_name.as_deref().unwrap_or("default");
    let mut theme = Theme::built_in(chosen)?;
    if let Some(text) = read(&dir.join("theme.toml"), &shown("theme.toml"))? {
        theme.apply(&Source::new(shown("theme.toml"), &text))?;
    }
    if no_color {
        // The user's file was still checked above, so a mistake in it does not hide until
        // the day NO_COLOR is unset.
        theme = Theme::built_in("mono")?;
    }

    let mut keymap = Keymap::built_in(keymap_name.as_deref().unwrap_or("default"))?;
    if let Some(text) = read(&dir.join("keymap.toml"), &shown("keymap.toml"))? {
        keymap.apply(&Source::new(shown("keymap.toml"), &text))?;
    }
    Ok((theme, keymap))
}

fn read(path: &Path, shown: &str) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::Read {
            file: shown.to_string(),
            source: e,
        }),
    }
}

#[derive(Default)]
struct Choices {
    theme: Option<String>,
    keymap: Option<String>,
}

/// `theme` and `keymap` from `config.toml`. Other keys belong to other parts of flightdeck
/// (store, context…) and are left to them.
fn choices(src: &Source<'_>) -> Result<Choices, ConfigError> {
    let table = src.parse()?;
    let mut out = Choices::default();
    for (key, value) in table.iter() {
        let name: &str = key.get_ref().as_ref();
        let (built_in, slot) = match name {
            "theme" => (theme::BUILT_IN, &mut out.theme),
            "keymap" => (keymap::BUILT_IN, &mut out.keymap),
            _ => continue,
        };
        let Some(v) = value.get_ref().as_str() else {
            return Err(src.key_error(key.span(), name, "expected a string"));
        };
        if !built_in.contains(&v) {
            return Err(src.key_error(
                key.span(),
                name,
                format!("unknown {name} \"{v}\" (built in: {})", built_in.join(", ")),
            ));
        }
        *slot = Some(v.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
