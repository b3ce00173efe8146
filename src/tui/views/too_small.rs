use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::widgets::{Paragraph, Wrap};

use super::{MIN_HEIGHT, MIN_WIDTH};
use crate::config::Theme;

/// Below 80×24 the tables would lie by omission; say so instead of drawing them.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = format!(
        "flightdeck needs at least {MIN_WIDTH}×{MIN_HEIGHT} (now {}×{})",
        area.width, area.height
    );
    let lines = if area.width == 0 {
        1
    } else {
        (text.chars().count() as u16).div_ceil(area.width).max(1)
    };
    let y = area.y + area.height.saturating_sub(lines) / 2;
    let middle = Rect::new(area.x, y, area.width, lines.min(area.height));
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.warning)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        middle,
    );
}
