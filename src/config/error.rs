use std::path::{Path, PathBuf};

/// Why the user's configuration was refused. Every message names the file, and where a
/// line and a key are known, those too, so the fix is one edit away.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// Not valid TOML at all.
    #[error("{file} line {line}: {}", one_line(.message))]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    /// Valid TOML, but one key's value is wrong.
    // Key and message escaped: a quoted TOML key or a value quoted in the message may hold
    // a newline (found by tests/fuzz_parsers.rs).
    #[error("{file} line {line}: key {key:?}: {}", one_line(.message))]
    Key {
        file: String,
        line: usize,
        key: String,
        message: String,
    },
    /// `--theme NAME` that is not built in.
    #[error("unknown theme \"{0}\" (built in: {list})", list = super::theme::BUILT_IN.join(", "))]
    UnknownTheme(String),
    /// `--keymap NAME` that is not built in.
    #[error("unknown keymap \"{0}\" (built in: {list})", list = super::keymap::BUILT_IN.join(", "))]
    UnknownKeymap(String),
}

/// A TOML text and the name to show for it: a user's path with `~` for the home
/// directory, or `built-in theme "light"` for an embedded one.
pub(crate) struct Source<'a> {
    pub file: String,
    pub text: &'a str,
}

impl<'a> Source<'a> {
    pub fn new(file: impl Into<String>, text: &'a str) -> Self {
        Source {
            file: file.into(),
            text,
        }
    }

    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        // An offset inside a multi-byte character still counts the lines before it.
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    pub fn parse(&self) -> Result<toml::de::DeTable<'a>, ConfigError> {
        toml::de::DeTable::parse(self.text)
            .map(|t| t.into_inner())
            .map_err(|e| ConfigError::Syntax {
                file: self.file.clone(),
                line: self.line(e.span().map(|s| s.start).unwrap_or(0)),
                message: e.message().trim().to_string(),
            })
    }

    pub fn key_error(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Key {
            file: self.file.clone(),
            line: self.line(span.start),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Control characters (a newline in a key or value the message quotes) escaped, so that a
/// refusal stays one line.
fn one_line(s: &str) -> String {
    crate::domain::sanitize::escape_controls(s)
}

/// How a path is shown in messages: `~/.config/flightdeck/theme.toml` rather than the
/// full home path, as people type it.
pub(crate) fn display_path(path: &Path, home: Option<&Path>) -> String {
    if let Some(home) = home
        && let Ok(rest) = path.strip_prefix(home)
    {
        return PathBuf::from("~").join(rest).display().to_string();
    }
    path.display().to_string()
}
