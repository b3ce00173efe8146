//! Drawing. Every function here is pure: it reads the app's state (and the clock as of
//! the last tick) and writes into the frame, nothing else.

mod group;
mod groups;
mod header;
/// The Health tab and the groups list's health mark (issue 5); not wired into the app yet.
pub mod health;
mod help;
mod hints;
mod input;
mod status;
mod too_small;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::Block;

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
    let [head, body, status_area, hint_area, newcomer_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(u16::from(app.first_run)),
    ])
    .areas(area);

    header::draw(frame, head, app);
    let mut pages = app.pages;
    match &app.screen {
        Screen::Groups => pages.groups = groups::draw(frame, body, app),
        Screen::Group(g) => (pages.pods, pages.events) = group::draw(frame, body, app, g),
    }
    status::draw(frame, status_area, app);
    match &app.input {
        Some(line) => input::draw(frame, hint_area, app, line),
        None => hints::draw(frame, hint_area, app),
    }
    if app.first_run {
        hints::newcomer(frame, newcomer_area, app);
    }
    if let Some(scroll) = app.help {
        help::draw(frame, area, app, scroll);
    }
    pages
}
