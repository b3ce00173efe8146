//! Text that came from the cluster (names, messages, logs) may carry terminal control
//! sequences; drawn as is, they could move the cursor, retitle the window or worse. Every
//! string a view model takes from the cluster goes through [`clean`].

/// Remove ANSI escape sequences (CSI, OSC, DCS, two-byte ESC sequences) and every other
/// control character. Tabs become a space; newlines are kept only when `keep_newlines`.
pub fn clean_text(s: &str, keep_newlines: bool) -> String {
    if !s.chars().any(|c| c.is_control()) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI / OSC / DCS introducers: same as their ESC forms.
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => out.push(' '),
            '\n' if keep_newlines => out.push('\n'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// [`clean_text`] for one-line fields (names, reasons, event messages).
/// `s` with every control character written as an escape (`\n`, `\u{1b}`): a parser's
/// message that quotes a key or value holding a newline stays one line and shows it.
pub fn escape_controls(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub fn clean(s: &str) -> String {
    clean_text(s, false)
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // ESC followed by intermediates then a final byte (e.g. ESC ( B).
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI: parameters and intermediates up to a final byte in 0x40..=0x7e.
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS/…: up to BEL or ST (ESC \ or 0x9c).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_osc_and_controls() {
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(clean("a\u{1b}]0;evil title\u{7}b"), "ab");
        assert_eq!(
            clean("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b"),
            "alinkb"
        );
        assert_eq!(clean("bell\u{7}\u{8}back\rcr"), "bellbackcr");
        assert_eq!(clean("tab\there"), "tab here");
        assert_eq!(clean("\u{9b}2Jx"), "x");
        assert_eq!(clean("\u{1b}(Bplain"), "plain");
    }

    #[test]
    fn keeps_plain_text_and_unicode() {
        assert_eq!(clean("pod-7f9c ✓ ünïcode"), "pod-7f9c ✓ ünïcode");
        assert_eq!(clean_text("a\nb", true), "a\nb");
        assert_eq!(clean_text("a\nb", false), "ab");
    }
}
