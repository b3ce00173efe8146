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
    // In the history tab the rollback key goes to the revision chosen there, and comes
    // first: it is what the tab is for, so a narrow bar must not drop it.
    let target = app.rollback_target();
    let mut order = if app.is_cron(key) {
        Action::CRON.to_vec()
    } else {
        Action::RELEASE.to_vec()
    };
    if target.is_some() {
        order.retain(|a| *a != Action::Rollback);
        order.insert(0, Action::Rollback);
    }
    // A group with a registration can drain a pod from the group view; from the
    // instances tab it is what the tab is for, so it comes first.
    if mode == Mode::Group && app.has_registration(key) {
        if app.instances_open() {
            order.insert(0, Action::Drain);
        } else {
            order.push(Action::Drain);
        }
    }
    let items: Vec<(String, String, bool)> = order
        .into_iter()
        .filter_map(|action| {
            let verb = action.release_verb()?;
            let k = app.keymap.keys(mode, action).first()?;
            let word = match target {
                Some(n) if action == Action::Rollback => format!("rollback to r{n}"),
                _ => action.hint().to_string(),
            };
            Some((k.to_string(), word, app.gate(key, verb).is_ok()))
        })
        .collect();
    let line = fit(&app.theme, &items, usize::from(area.width));
    frame.render_widget(Paragraph::new(line), area);
}

/// The widest bar that fits `width`, never a key without its word: first the double
/// spaces go, then keys from the end — those that would be refused anyway first — and a
/// `? more` says that `?` lists them all.
fn fit(t: &Theme, items: &[(String, String, bool)], width: usize) -> Line<'static> {
    for gap in [2, 1] {
        let line = bar(t, items, gap, false);
        if line.width() <= width {
            return line;
        }
    }
    let mut kept: Vec<(String, String, bool)> = items.to_vec();
    // Stable: the allowed keys keep their order ahead of the refused ones.
    kept.sort_by_key(|i| !i.2);
    loop {
        let line = bar(t, &kept, 1, true);
        if line.width() <= width || kept.is_empty() {
            return line;
        }
        kept.pop();
    }
}

/// The bar of `items`, each key with its word; `more`: some keys were left out.
fn bar(t: &Theme, items: &[(String, String, bool)], gap: usize, more: bool) -> Line<'static> {
    let mut spans = Vec::new();
    for (k, word, allowed) in items {
        let (key_style, word_style) = if *allowed {
            (t.accent, t.text)
        } else {
            (disabled(t), disabled(t))
        };
        spans.push(Span::styled(format!("{:gap$}{k}", ""), key_style));
        spans.push(Span::styled(format!(" {word}"), word_style));
    }
    if more {
        spans.push(Span::styled(format!("{:gap$}?", ""), t.accent));
        spans.push(Span::styled(" more", t.muted));
    }
    Line::from(spans)
}
