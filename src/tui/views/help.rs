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

pub fn draw(frame: &mut Frame, area: Rect, app: &App, scroll: usize) {
    let t = &app.theme;
    let lines = lines(&app.keymap, t);
    let width = area.width.saturating_sub(8).min(76);
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
