use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::app::state::StatusKind;

/// One line: the last error (until the next key) or an info toast (until it expires).
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let Some(status) = &app.status else {
        return;
    };
    let style = match status.kind {
        StatusKind::Error => app.theme.error,
        StatusKind::Info => app.theme.ok,
    };
    frame.render_widget(Paragraph::new(status.text.as_str()).style(style), area);
}
