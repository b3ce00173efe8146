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
    let t = &app.theme;
    let mut spans = Vec::new();
    for action in Action::RELEASE {
        let (Some(verb), Some(k)) = (action.release_verb(), app.keymap.keys(mode, action).first())
        else {
            continue;
        };
        let allowed = app.gate(key, verb).is_ok();
        let (key_style, word_style) = if allowed {
            (t.accent, t.text)
        } else {
            (disabled(t), disabled(t))
        };
        spans.push(Span::styled(format!(" {k}"), key_style));
        spans.push(Span::styled(format!(" {} ", action.hint()), word_style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
