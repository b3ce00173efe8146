//! How commands print: aligned plain-text tables (like kubectl's) for people, JSON for
//! scripts, and times both ways.
//!
//! Every command writes its output through [`out`], [`line`] or [`print_json`], never
//! `println!`:
//! - **Sanitised.** Text goes through [`crate::model::sanitize`] on the way out, so a
//!   string from the store or a cluster (a reason, a user, a group name, a message) can
//!   never move the cursor, retitle the window, clear the screen or set the clipboard.
//!   JSON stays JSON: serde escapes C0 controls, and the C1 controls and DEL it leaves
//!   raw are escaped here as `\u0080`… (still the same string to a JSON reader).
//! - **A closed stdout is not a crash.** Rust ignores SIGPIPE, so `println!` panics when
//!   the reader has gone (`flightdeck audit | head -1`). These writers turn `BrokenPipe`
//!   into [`CliError::closed`]: the command stops writing and the process exits **0**
//!   with nothing on stderr — the reader chose to stop reading, and whatever the command
//!   changed it had already committed before printing. (We pick 0, not a shell's 141,
//!   so `set -o pipefail` scripts do not read a finished `apply` as a failure.) A
//!   refusal still exits with its own code. `main` also installs a last-resort panic
//!   hook that exits the same way if a stray `println!` meets a closed pipe.

use std::io::Write;

use serde::Serialize;

use super::{CliError, Exit};
use crate::model::sanitize::{clean, clean_text};

/// Writes `text` to stdout as it is composed (tables, detail views), cleaned of control
/// sequences (newlines kept).
pub fn out(text: &str) -> Result<(), CliError> {
    write_stdout(clean_text(text, true).as_bytes())
}

/// One line of output: `text` cleaned to a single line, then a newline.
pub fn line(text: &str) -> Result<(), CliError> {
    let mut s = clean(text);
    s.push('\n');
    write_stdout(s.as_bytes())
}

/// One line on stderr (`flightdeck: skipped …`), cleaned; a closed stderr is ignored.
pub fn warn(text: &str) {
    let mut s = clean(text);
    s.push('\n');
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// Says on stderr which keys a list left out because their values cannot be read: one
/// line each, `skipped groups/sim/shop/bad: unreadable (…)`.
pub fn report_unreadable(skipped: &[crate::store::Unreadable]) {
    for u in skipped {
        warn(&format!("skipped {u}"));
    }
}

pub(super) fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(io_error)
}

/// A failed write to stdout: a closed pipe ends the command quietly, anything else
/// (a full disk) is reported.
pub fn io_error(e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::closed()
    } else {
        CliError::new(Exit::Refused, format!("cannot write the output: {e}"))
    }
}

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
/// Every cell is cleaned to one line without control sequences (cells hold store and
/// cluster text).
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(Exit::Refused, format!("cannot write JSON: {e}")))?;
    let mut text = json_safe(&text);
    text.push('\n');
    write_stdout(text.as_bytes())
}

/// serde_json escapes the C0 controls inside strings but leaves DEL and the C1 controls
/// (U+0080–U+009F, which some terminals obey as CSI/OSC) raw; they can only occur inside
/// strings, where `\uXXXX` means the same character.
pub fn json_safe(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `2026-11-23 04:05:06Z (3m ago)`.
pub fn when(t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    format!("{} ({})", t.strftime("%Y-%m-%d %H:%M:%SZ"), ago(t, now))
}

/// `12s ago`, `3m ago`, `5h ago`, `2d ago`.
pub fn ago(t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let secs = now.as_second() - t.as_second();
    if secs < 0 {
        return "in the future".into();
    }
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// A cell for text that may be long or span lines: one line, cut at `max` characters.
pub fn cell(s: &str, max: usize) -> String {
    let s = clean(&super::files::one_line(s));
    if s.chars().count() <= max {
        return s;
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_do_not_pad_the_last_column() {
        let t = table(
            &["A", "BB", "C"],
            vec![
                vec!["xxx".into(), "y".into(), "z".into()],
                vec!["1".into(), "2".into(), "".into()],
            ],
        );
        assert_eq!(t, "A    BB  C\nxxx  y   z\n1    2\n");
    }

    #[test]
    fn ages_read_like_kubectl() {
        let now: jiff::Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(ago(at("2026-01-01T11:59:50Z"), now), "10s ago");
        assert_eq!(ago(at("2026-01-01T11:57:00Z"), now), "3m ago");
        assert_eq!(ago(at("2025-12-30T12:00:00Z"), now), "2d ago");
        assert_eq!(cell("a\nb c", 3), "a …");
    }

    #[test]
    fn tables_and_cells_drop_terminal_sequences() {
        let evil = "ok\u{1b}]52;c;aGk=\u{7}\u{1b}]0;title\u{7}\u{1b}[2Jdone\u{9b}31m";
        let t = table(&["R"], vec![vec![evil.into()]]);
        assert!(!t.contains('\u{1b}') && !t.contains('\u{9b}'), "{t:?}");
        assert!(t.contains("okdone"), "{t:?}");
        assert!(!cell(evil, 100).contains('\u{1b}'));
    }

    #[test]
    fn json_stays_json_without_raw_controls() {
        let v = serde_json::json!({ "reason": "a\u{1b}]0;t\u{7}b\u{9b}2J\u{7f}" });
        let text = json_safe(&serde_json::to_string_pretty(&v).unwrap());
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn a_closed_pipe_is_a_quiet_end() {
        let e = io_error(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(e.is_closed());
        assert_eq!(e.exit, Exit::Done);
        assert!(!io_error(std::io::Error::other("disk full")).is_closed());
    }
}
