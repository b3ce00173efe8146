use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::app::state::{InputKind, InputLine};

/// The `/` or `:` line, scrolled so the cursor stays in view, with the terminal cursor on
/// it; its keys (run, complete, cancel…) at the right while the text leaves room for them.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, line: &InputLine) {
    let prompt = match line.kind {
        InputKind::Filter => "/",
        InputKind::Command => ":",
    };
    let hint = super::hints::current(app);
    let typed = line.input.value().chars().count() + 1;
    let area = if typed + 2 + hint.width() <= usize::from(area.width) {
        let w = hint.width() as u16;
        let right = Rect::new(area.x + area.width - w, area.y, w, 1);
        frame.render_widget(Paragraph::new(hint), right);
        Rect::new(area.x, area.y, area.width - w - 2, 1)
    } else {
        area
    };
    let width = area.width.saturating_sub(1) as usize;
    let scroll = line.input.visual_scroll(width.saturating_sub(1));
    let visible: String = line.input.value().chars().skip(scroll).collect();
    let text = Line::from(vec![
        Span::styled(prompt, app.theme.accent),
        Span::styled(visible, app.theme.text),
    ]);
    frame.render_widget(Paragraph::new(text), area);
    let cursor = (line.input.visual_cursor().saturating_sub(scroll)) as u16;
    frame.set_cursor_position((
        area.x + 1 + cursor.min(area.width.saturating_sub(2)),
        area.y,
    ));
}
