//! The bottom line: the few keys that matter on the screen in front, named from the
//! keymap so that a rebinding shows up here at once.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::Mode;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::app::state::{InputKind, Pane, Screen};

/// (mode, action, word) for the screen in front.
fn hints(app: &App) -> Vec<(Mode, Action, &'static str)> {
    use Action::*;
    if app.help.is_some() {
        return vec![
            (Mode::Global, Help, "close"),
            (Mode::Groups, Down, "scroll"),
        ];
    }
    if app.dialog.is_some() {
        return vec![
            (Mode::Dialog, Confirm, "confirm"),
            (Mode::Dialog, NextField, "next field"),
            (Mode::Dialog, Cancel, "cancel"),
        ];
    }
    if let Some(line) = &app.input {
        return match line.kind {
            InputKind::Filter => vec![
                (Mode::Input, Confirm, "keep"),
                (Mode::Input, Cancel, "clear"),
            ],
            InputKind::Command => vec![
                (Mode::Input, Confirm, "run"),
                (Mode::Input, Complete, "complete"),
                (Mode::Input, Cancel, "cancel"),
            ],
        };
    }
    match app.screen {
        Screen::Groups => vec![
            (Mode::Groups, Open, "open"),
            (Mode::Groups, Filter, "filter"),
            (Mode::Groups, SortNext, "sort"),
            (Mode::Groups, SortReverse, "reverse"),
            (Mode::Global, Audit, "audit"),
            (Mode::Global, Command, "command"),
            (Mode::Global, Help, "help"),
            (Mode::Global, Quit, "quit"),
        ],
        Screen::Group(ref g) if g.history.diff.is_some() => vec![
            (Mode::Group, Down, "scroll"),
            (Mode::Group, PageDown, "page"),
            (Mode::Global, Back, "close diff"),
            (Mode::Global, Help, "help"),
            (Mode::Global, Quit, "quit"),
        ],
        Screen::Group(ref g) if g.focus == Pane::History => vec![
            (Mode::Group, Diff, "diff"),
            (Mode::Group, FocusNext, "pods/events"),
            (Mode::Group, Health, "health"),
            (Mode::Global, Back, "back"),
            (Mode::Global, Audit, "audit"),
            (Mode::Global, Help, "help"),
            (Mode::Global, Quit, "quit"),
            (Mode::Global, Command, "command"),
        ],
        Screen::Group(ref g) if g.focus == Pane::Instances => vec![
            (Mode::Group, Drain, "drain"),
            (Mode::Group, FocusNext, "pods/events"),
            (Mode::Group, History, "history"),
            (Mode::Global, Back, "back"),
            (Mode::Global, Help, "help"),
            (Mode::Global, Quit, "quit"),
            (Mode::Global, Audit, "audit"),
            (Mode::Global, Command, "command"),
        ],
        // The instances tab is only worth a hint where the group registers instances.
        Screen::Group(ref g) if app.has_registration(&g.key) => vec![
            (Mode::Group, FocusNext, "pods/events"),
            (Mode::Group, Instances, "instances"),
            (Mode::Group, Health, "health"),
            (Mode::Group, History, "history"),
            (Mode::Global, Back, "back"),
            (Mode::Global, Audit, "audit"),
            (Mode::Global, Help, "help"),
            (Mode::Global, Quit, "quit"),
            (Mode::Global, Command, "command"),
        ],
        Screen::Group(_) => vec![
            (Mode::Group, FocusNext, "pods/events"),
            (Mode::Group, Health, "health"),
            (Mode::Group, History, "history"),
            (Mode::Global, Back, "back"),
            (Mode::Global, Audit, "audit"),
            (Mode::Global, Help, "help"),
            (Mode::Global, Quit, "quit"),
            (Mode::Global, Command, "command"),
        ],
        Screen::Audit(_) => vec![
            (Mode::Audit, Filter, "filter"),
            (Mode::Global, Back, "back"),
            (Mode::Global, Command, "command"),
            (Mode::Global, Help, "help"),
            (Mode::Global, Quit, "quit"),
        ],
    }
}

fn line<'a>(app: &App, items: &[(Mode, Action, &'static str)], lead: &'a str) -> Line<'a> {
    let t = &app.theme;
    let mut spans = vec![Span::styled(lead, t.muted)];
    for (mode, action, word) in items {
        // Only the first key, to keep the line short; `?` lists them all.
        let Some(key) = app
            .keymap
            .keys(*mode, *action)
            .first()
            .or_else(|| app.keymap.keys(Mode::Global, *action).first())
        else {
            continue;
        };
        spans.push(Span::styled(format!(" {key}"), t.accent));
        spans.push(Span::styled(format!(" {word} "), t.muted));
    }
    Line::from(spans)
}

/// The hints of the screen in front, as many as fit whole: the last ones go first.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let mut items = hints(app);
    let mut hint = line(app, &items, "");
    while hint.width() > usize::from(area.width) && items.pop().is_some() {
        hint = line(app, &items, "");
    }
    frame.render_widget(Paragraph::new(hint), area);
}

/// The hints for the screen in front, as one line (all of them, however wide).
pub fn current(app: &App) -> Line<'static> {
    line(app, &hints(app), "")
}

/// The extra line on a first run, for someone who has never seen the console.
pub fn newcomer(frame: &mut Frame, area: Rect, app: &App) {
    use Action::*;
    let items = [
        (Mode::Global, Help, "help"),
        (Mode::Global, Command, "commands"),
        (Mode::Groups, Filter, "filter"),
        (Mode::Groups, Open, "open"),
        (Mode::Global, Quit, "quit"),
    ];
    frame.render_widget(Paragraph::new(line(app, &items, "new here?")), area);
}
