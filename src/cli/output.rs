//! How commands print: aligned plain-text tables (like kubectl's) for people, JSON for
//! scripts, and times both ways.

use serde::Serialize;

use super::{CliError, Exit};

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
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
    println!("{text}");
    Ok(())
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
    let s = super::files::one_line(s);
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
}
