//! Drawing. Every function here is pure: it reads the app's state (and the clock as of
//! the last tick) and writes into the frame, nothing else.

mod actions;
mod audit;
mod dialog;
mod group;
mod groups;
mod header;
/// The Health tab and the groups list's health mark.
pub mod health;
mod help;
mod hints;
mod history;
mod input;
mod instances;
pub mod logs;
mod status;
mod too_small;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::Block;

use crate::config::Mode;
use crate::tui::app::App;
use crate::tui::app::state::{Pages, Screen};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole screen and reports the heights of the scrolling panes, for paging.
pub fn draw(frame: &mut Frame, app: &App) -> Pages {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small::draw(frame, area, &app.theme);
        return app.pages;
    }
    frame.render_widget(Block::default().style(app.theme.text), area);
    let on_groups = !matches!(app.screen, Screen::Audit(_));
    let [
        head,
        body,
        status_area,
        actions_area,
        hint_area,
        newcomer_area,
    ] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(status::height(app, area.width)),
        Constraint::Length(u16::from(on_groups)),
        Constraint::Length(1),
        Constraint::Length(u16::from(app.first_run)),
    ])
    .areas(area);

    header::draw(frame, head, app);
    let mut pages = app.pages;
    match &app.screen {
        _ if app.logs.is_some() => {
            if let Some(v) = &app.logs {
                logs::draw(frame, body, v, &app.theme, &app.keymap);
            }
        }
        Screen::Groups => {
            pages.groups = groups::draw(frame, body, app);
            if let Some(key) = app.rows().key_at(app.groups.selected) {
                actions::draw(frame, actions_area, app, key, Mode::Groups);
            }
        }
        Screen::Group(g) => {
            (pages.pods, pages.events, pages.history, pages.instances) =
                group::draw(frame, body, app, g);
            actions::draw(frame, actions_area, app, &g.key, Mode::Group);
        }
        Screen::Audit(a) => pages.audit = audit::draw(frame, body, app, a),
    }
    status::draw(frame, status_area, app);
    match &app.input {
        Some(line) => input::draw(frame, hint_area, app, line),
        None => hints::draw(frame, hint_area, app),
    }
    if app.first_run {
        hints::newcomer(frame, newcomer_area, app);
    }
    if let Some(d) = &app.dialog {
        dialog::draw(frame, body, app, d);
    }
    if let Some(scroll) = app.help {
        help::draw(frame, area, app, scroll);
    }
    pages
}
