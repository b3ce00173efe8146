//! Helpers for the tables: which rows fit, and headings.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

/// First row to show so that `selected` stays visible in `height` rows, moving the window
/// as little as possible from where it was (`previous`), as list views do.
pub fn scroll_offset(selected: usize, previous: usize, height: usize, len: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    let max = len - height;
    let offset = if selected < previous {
        selected
    } else if selected >= previous + height {
        selected + 1 - height
    } else {
        previous
    };
    offset.min(max)
}

pub fn heading<'a>(titles: impl IntoIterator<Item = Line<'a>>, style: Style) -> Row<'a> {
    Row::new(titles.into_iter().map(Cell::from)).style(style)
}

/// A heading cell, with the sort arrow when the table is sorted by it.
pub fn sort_title(title: &'static str, sorted: Option<bool>) -> Line<'static> {
    match sorted {
        Some(true) => Line::from(vec![Span::raw(title), Span::raw("↑")]),
        Some(false) => Line::from(vec![Span::raw(title), Span::raw("↓")]),
        None => Line::from(title),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_selection_lazily() {
        assert_eq!(scroll_offset(0, 0, 10, 5), 0);
        assert_eq!(scroll_offset(9, 0, 10, 100), 0);
        assert_eq!(scroll_offset(10, 0, 10, 100), 1);
        assert_eq!(scroll_offset(50, 45, 10, 100), 45);
        assert_eq!(scroll_offset(3, 45, 10, 100), 3);
        assert_eq!(scroll_offset(99, 0, 10, 100), 90);
        assert_eq!(scroll_offset(5, 95, 10, 100), 5);
    }
}
