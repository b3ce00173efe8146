//! A release action's dialog, centred over the screen: what the action will do, its
//! fields, the weight's real granularity, and the error of the last Enter in place.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::config::Mode;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::app::dialog::{Dialog, FieldKind};

const LABEL: usize = 12;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, d: &Dialog) {
    let t = &app.theme;
    let width = area.width.saturating_sub(8).min(76);
    let inner_width = width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = wrap_words(&d.about, inner_width)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, t.muted)))
        .collect();
    lines.push(Line::from(""));
    let mut cursor = None;
    for (i, f) in d.fields.iter().enumerate() {
        let focused = i == d.focus;
        let label_style = if focused { t.accent } else { t.header };
        let room = inner_width.saturating_sub(LABEL + 2).max(1);
        let scroll = f.input.visual_scroll(room.saturating_sub(1));
        let value = if f.input.value().is_empty() {
            Span::styled(f.kind.placeholder(), t.muted)
        } else {
            Span::styled(
                f.input.value().chars().skip(scroll).collect::<String>(),
                t.text,
            )
        };
        let marker = if focused { "›" } else { " " };
        lines.push(Line::from(vec![
            Span::styled(format!("{marker}{:<LABEL$} ", f.kind.label()), label_style),
            value,
        ]));
        if focused {
            let x = (LABEL + 2 + f.input.visual_cursor().saturating_sub(scroll)).min(inner_width);
            cursor = Some((x as u16, lines.len() as u16 - 1));
        }
        if f.kind == FieldKind::Weight
            && let Some(split) = d.split_line()
        {
            lines.push(Line::from(Span::styled(
                format!("{:LABEL$}  {split}", ""),
                t.canary,
            )));
        }
    }
    lines.push(Line::from(""));
    match &d.error {
        Some(e) => lines.extend(
            wrap_words(e, inner_width)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.error))),
        ),
        None => lines.push(Line::from("")),
    }
    lines.push(keys_line(app, d));

    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
    );
    let block = Block::bordered()
        .border_style(t.accent)
        .style(t.text)
        .title(Span::styled(format!(" {} ", d.title()), t.accent));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
    if let Some((x, y)) = cursor {
        frame.set_cursor_position((popup.x + 1 + x, popup.y + 1 + y));
    }
}

/// `text` in lines of at most `width` characters, broken between words (a word longer
/// than a line is cut), so a sentence never loses its end at the dialog's border.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let n = line.chars().count();
        if n > 0 && n + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

fn keys_line(app: &App, d: &Dialog) -> Line<'static> {
    let t = &app.theme;
    let mut spans = Vec::new();
    let has_weight = d.fields.iter().any(|f| f.kind == FieldKind::Weight);
    for (action, word) in [
        (Action::Confirm, "confirm"),
        (Action::NextField, "next field"),
        (Action::NudgeDown, "-5%"),
        (Action::NudgeUp, "+5%"),
        (Action::Cancel, "cancel"),
    ] {
        let nudge = matches!(action, Action::NudgeUp | Action::NudgeDown);
        if (nudge && !has_weight) || (action == Action::NextField && d.fields.len() < 2) {
            continue;
        }
        if let Some(k) = app.keymap.keys(Mode::Dialog, action).first() {
            spans.push(Span::styled(format!("{k}"), t.accent));
            spans.push(Span::styled(format!(" {word}  "), t.muted));
        }
    }
    Line::from(spans)
}
