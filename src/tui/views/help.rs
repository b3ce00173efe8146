//! `?`: every binding of the active keymap, by mode, generated from the keymap itself so
//! that it can never disagree with what the keys do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::config::{Keymap, Mode, Theme};
use crate::tui::app::App;

fn title(mode: Mode) -> &'static str {
    match mode {
        Mode::Global => "everywhere",
        Mode::Groups => "instance groups",
        Mode::Group => "one group",
        Mode::Audit => "audit log",
        Mode::Input => "filter and command line",
        Mode::Dialog => "release dialogs",
        Mode::Logs => "log viewer",
    }
}

/// The help text, one line per binding, also used by tests and `--help-keys` style output.
pub fn lines<'a>(keymap: &Keymap, t: &Theme) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    for mode in Mode::ALL {
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        out.push(Line::from(vec![
            Span::styled(title(mode), t.accent),
            Span::styled(format!("  [{mode}]"), t.muted),
        ]));
        for (action, keys) in keymap.bindings(mode) {
            let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
            out.push(Line::from(vec![
                Span::styled(format!("  {:<22}", keys.join(" ")), t.header),
                Span::raw(action.description()),
            ]));
        }
    }
    out.push(Line::from(""));
    out.push(Line::from(Span::styled(
        "commands  :group NAME   :ns NAME|all   :ctx NAME   :help   :q",
        t.muted,
    )));
    out.push(Line::from(Span::styled(
        "          :audit [group NAME] [user NAME] [since 10m|2h|1d]",
        t.muted,
    )));
    out
}

/// `line` broken between words into lines of at most `width` cells; the lines after the
/// first are indented under its second span (a binding's description, a command list).
fn fit(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    if line.width() <= width || line.spans.is_empty() {
        return vec![line];
    }
    let (lead, text) = if line.spans.len() == 2 {
        (line.spans[0].clone(), line.spans[1].clone())
    } else {
        let first = line.spans[0].clone();
        let content = first.content.to_string();
        let split = content.find("  ").map_or(0, |i| i + 2);
        (
            Span::styled(content[..split].to_string(), first.style),
            Span::styled(content[split..].to_string(), first.style),
        )
    };
    let indent = lead.width();
    let room = width.saturating_sub(indent).max(1);
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut Vec<Line<'static>>| {
        let head = if out.is_empty() {
            lead.clone()
        } else {
            Span::raw(" ".repeat(indent))
        };
        out.push(Line::from(vec![
            head,
            Span::styled(std::mem::take(current), text.style),
        ]));
    };
    for word in text.content.split_whitespace() {
        let n = current.chars().count();
        if n > 0 && n + 1 + word.chars().count() > room {
            flush(&mut current, &mut out);
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() || out.is_empty() {
        flush(&mut current, &mut out);
    }
    out
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, scroll: usize) {
    let t = &app.theme;
    let width = area.width.saturating_sub(8).min(76);
    let inner = usize::from(width.saturating_sub(2));
    let lines: Vec<Line> = lines(&app.keymap, t)
        .into_iter()
        .flat_map(|l| fit(l, inner))
        .collect();
    let height = area.height.saturating_sub(4).min(lines.len() as u16 + 2);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let max_scroll = lines
        .len()
        .saturating_sub(height.saturating_sub(2) as usize);
    let scroll = scroll.min(max_scroll) as u16;
    let block = Block::bordered()
        .border_style(t.accent)
        .style(t.text)
        .title(Span::styled(
            format!(" help · keymap {} ", app.keymap.name),
            t.accent,
        ));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((scroll, 0)),
        popup,
    );
}
