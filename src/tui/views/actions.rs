//! The action bar: the release keys for the selected or open group, each in full colour
//! when it would go through and dimmed when the policy or the phase says no (pressing a
//! dimmed one says why).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::{Mode, Theme};
use crate::domain::GroupKey;
use crate::tui::action::Action;
use crate::tui::app::App;

/// How a release key the user may not use is drawn.
pub fn disabled(t: &Theme) -> Style {
    t.muted.add_modifier(Modifier::DIM)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, key: &GroupKey, mode: Mode) {
    let items: Vec<(String, &'static str, bool)> = Action::RELEASE
        .into_iter()
        .filter_map(|action| {
            let verb = action.release_verb()?;
            let k = app.keymap.keys(mode, action).first()?;
            Some((k.to_string(), action.hint(), app.gate(key, verb).is_ok()))
        })
        .collect();
    // On a narrow terminal the bar first loses its double spaces, then the words of the
    // keys that would be refused anyway (pressing one still says why).
    let width = usize::from(area.width);
    let line = [(2, true), (1, true), (1, false)]
        .into_iter()
        .map(|(gap, words)| bar(&app.theme, &items, gap, words))
        .find(|l| l.width() <= width)
        .unwrap_or_else(|| bar(&app.theme, &items, 1, false));
    frame.render_widget(Paragraph::new(line), area);
}

fn bar(
    t: &Theme,
    items: &[(String, &'static str, bool)],
    gap: usize,
    words: bool,
) -> Line<'static> {
    let mut spans = Vec::new();
    for (k, word, allowed) in items {
        let (key_style, word_style) = if *allowed {
            (t.accent, t.text)
        } else {
            (disabled(t), disabled(t))
        };
        spans.push(Span::styled(format!("{:gap$}{k}", ""), key_style));
        if *allowed || words {
            spans.push(Span::styled(format!(" {word}"), word_style));
        }
    }
    Line::from(spans)
}
