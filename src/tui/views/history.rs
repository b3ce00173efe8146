//! The History tab: every revision of the group, newest first — its tag, what it changed
//! against the one before, who deployed it and when, how long it ran as stable, how its
//! release ended and the controller's last verdict on it — with the selected one in full
//! at the foot; and, over the list, one revision's rendered diff against the stable one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};

use crate::config::Theme;
use crate::model::history::RevisionHistory;
use crate::tui::app::App;
use crate::tui::app::history::{DiffPane, HistoryTab};
use crate::tui::widgets::age::age;
use crate::tui::widgets::table::{heading, scroll_offset};

/// Below this inner width the verdict has no column and is read at the foot only.
const VERDICT_COLUMN_FROM: u16 = 110;

/// Draws the tab into `area` and returns the rows it scrolls by, for page up/down.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, tab: &HistoryTab) -> usize {
    let t = &app.theme;
    if let Some(d) = &tab.diff {
        return draw_diff(frame, area, t, d);
    }
    let count = tab.rows.as_ref().map(|r| r.lines.len());
    let title = match (count, tab.loading()) {
        (Some(n), true) => format!(" history {n} · reading… "),
        (Some(n), false) => format!(" history {n} "),
        (None, _) => " history ".to_string(),
    };
    let block = block(t, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(rows) = &tab.rows else {
        let (text, style) = match &tab.error {
            Some(e) => (format!("cannot read the history: {e}"), t.error),
            None => ("reading the revisions…".to_string(), t.muted),
        };
        frame.render_widget(
            Paragraph::new(text).style(style).wrap(Wrap { trim: true }),
            inner,
        );
        return inner.height as usize;
    };
    if rows.lines.is_empty() {
        frame.render_widget(
            Paragraph::new("no revisions yet: the group was never deployed").style(t.muted),
            inner,
        );
        return inner.height as usize;
    }
    let [table_area, foot] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(3)]).areas(inner);
    let height = table_area.height.saturating_sub(1) as usize;
    let selected = tab.selected.min(rows.lines.len() - 1);
    let first = scroll_offset(selected, tab.offset.get(), height, rows.lines.len());
    tab.offset.set(first);
    let wide = inner.width >= VERDICT_COLUMN_FROM;
    let body = rows
        .lines
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, h)| {
            let line = row(app, h, wide);
            if i == selected {
                line.style(row_style(t, h).patch(t.selection))
            } else {
                line
            }
        });
    let mut titles = vec!["REV", "TAG", "CHANGED", "BY", "AGE", "STABLE FOR", "ENDED"];
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Fill(2),
        Constraint::Fill(4),
        Constraint::Fill(2),
        Constraint::Length(4),
        Constraint::Length(11),
        Constraint::Fill(4),
    ];
    if wide {
        titles.push("LAST VERDICT");
        widths.push(Constraint::Fill(5));
    }
    frame.render_widget(
        Table::new(body, widths)
            .header(heading(titles.into_iter().map(Line::from), t.header))
            .column_spacing(1),
        table_area,
    );
    let foot_text = match &tab.error {
        Some(e) => vec![Line::from(Span::styled(
            format!("the last read failed: {e}"),
            t.error,
        ))],
        None => details(app, &rows.lines[selected]),
    };
    frame.render_widget(Paragraph::new(foot_text), foot);
    height
}

fn block<'a>(t: &Theme, title: String) -> Block<'a> {
    Block::bordered()
        .border_style(t.accent)
        .title(Span::styled(title, t.accent))
}

/// The running revision in the "ok" colour, one in flight in the canary's.
fn row_style(t: &Theme, h: &RevisionHistory) -> Style {
    if h.is_stable() {
        t.ok
    } else if h
        .ended
        .as_deref()
        .is_some_and(|e| e.starts_with("in flight"))
    {
        t.canary
    } else {
        Style::default()
    }
}

fn row<'a>(app: &App, h: &RevisionHistory, wide: bool) -> Row<'a> {
    let t = &app.theme;
    let dash = || "-".to_string();
    let changed = h.changed_text();
    let ended = h.ended.clone().unwrap_or_else(dash);
    let ended_style = if ended.starts_with("aborted") || ended.starts_with("rolled back") {
        t.warning
    } else {
        Style::default()
    };
    let mut cells = vec![
        Cell::from(format!("r{}", h.number)),
        Cell::from(h.tag.clone().unwrap_or_else(dash)),
        Cell::from(if changed.is_empty() { dash() } else { changed }),
        Cell::from(h.created_by.clone()),
        Cell::from(age(Some(h.created), app.now)),
        Cell::from(h.stable_text(app.now)),
        Cell::from(Span::styled(ended, ended_style)),
    ];
    if wide {
        cells.push(Cell::from(h.analysis.clone().unwrap_or_else(dash)));
    }
    Row::new(cells).style(row_style(t, h))
}

/// The selected revision at the foot, a line for each of what the columns cut: who and
/// when, what changed, how it ended.
fn details(app: &App, h: &RevisionHistory) -> Vec<Line<'static>> {
    let t = &app.theme;
    let label = |s: String| Span::styled(s, t.muted);
    let dash = || "-".to_string();
    let changed = h.changed_text();
    let mut ended = vec![
        label("ended ".into()),
        Span::raw(h.ended.clone().unwrap_or_else(dash)),
    ];
    if let Some(a) = &h.analysis {
        ended.push(label(" · ".into()));
        ended.push(Span::raw(a.clone()));
    }
    vec![
        Line::from(vec![
            Span::styled(format!("r{}", h.number), t.accent),
            label(" tag ".into()),
            Span::raw(h.tag.clone().unwrap_or_else(dash)),
            label(" · deployed by ".into()),
            Span::raw(h.created_by.clone()),
            label(format!(
                " {} ago · stable for ",
                age(Some(h.created), app.now)
            )),
            Span::raw(h.stable_text(app.now)),
        ]),
        Line::from(vec![
            label("changed ".into()),
            Span::raw(if changed.is_empty() {
                "nothing (the first revision, or the same parameters)".to_string()
            } else {
                changed
            }),
        ]),
        Line::from(ended),
    ]
}

fn draw_diff(frame: &mut Frame, area: Rect, t: &Theme, d: &DiffPane) -> usize {
    let what = match &d.tag {
        Some(tag) => format!("r{} ({tag})", d.revision),
        None => format!("r{}", d.revision),
    };
    let against = d
        .stable
        .map_or_else(|| "stable".to_string(), |s| format!("r{s} (stable)"));
    let block = block(t, format!(" diff {against} → {what} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    if let Some(note) = &d.note {
        frame.render_widget(Paragraph::new(note.clone()).style(t.muted), inner);
        return height;
    }
    let scroll = d.scroll.min(d.lines.len().saturating_sub(height));
    let lines: Vec<Line> = d
        .lines
        .iter()
        .skip(scroll)
        .take(height)
        .map(|l| Line::from(Span::styled(l.clone(), diff_style(t, l))))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if d.lines.len() > height {
        let last = (scroll + height).min(d.lines.len());
        let pos = format!(" lines {}–{last} of {} ", scroll + 1, d.lines.len());
        let w = pos.chars().count() as u16;
        if area.width > w + 2 {
            let at = Rect::new(area.right() - w - 1, area.bottom() - 1, w, 1);
            frame.render_widget(Paragraph::new(pos).style(t.muted), at);
        }
    }
    height
}

fn diff_style(t: &Theme, line: &str) -> Style {
    if line.starts_with("+++") || line.starts_with("---") {
        t.header
    } else if line.starts_with('+') {
        t.ok
    } else if line.starts_with('-') {
        t.error
    } else if line.starts_with("@@") {
        t.accent
    } else {
        t.text
    }
}
