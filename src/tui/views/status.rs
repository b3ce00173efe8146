use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::App;
use crate::tui::app::state::StatusKind;

/// The lines the status needs at `width`: two when the message does not fit on one (an
/// error that says what to do is no use cut in half), else one.
pub fn height(app: &App, width: u16) -> u16 {
    match &app.status {
        Some(s) if s.text.chars().count() > usize::from(width) => 2,
        _ => 1,
    }
}

/// The last error (until the next key) or an info toast (until it expires), broken
/// between words.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let Some(status) = &app.status else {
        return;
    };
    let style = match status.kind {
        StatusKind::Error => app.theme.error,
        StatusKind::Info => app.theme.ok,
    };
    frame.render_widget(
        Paragraph::new(status.text.as_str())
            .style(style)
            .wrap(Wrap { trim: true }),
        area,
    );
}
