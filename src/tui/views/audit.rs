//! The audit log, newest first: who did what to which group, and how it ended. Denied and
//! failed entries are in the error colour.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use crate::domain::audit::{AuditEntry, Outcome};
use crate::tui::app::App;
use crate::tui::app::audit::action_text;
use crate::tui::app::state::AuditState;
use crate::tui::widgets::columns::{self, Column};
use crate::tui::widgets::table::{heading, scroll_offset};

/// Returns how many rows fit, for page up/down.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, a: &AuditState) -> usize {
    let t = &app.theme;
    let rows = app.audit_rows();
    let mut title = vec![
        Span::styled(" audit ", t.accent),
        Span::styled(
            if rows.len() == app.audit.len() {
                format!("{} ", rows.len())
            } else {
                format!("{} of {} ", rows.len(), app.audit.len())
            },
            t.muted,
        ),
    ];
    for part in a.filter.describe() {
        title.push(Span::styled(format!("· {part} "), t.header));
    }
    if !a.text.is_empty() {
        title.push(Span::styled(format!("· /{} ", a.text), t.header));
    }
    let (footer, failed) = app.audit_footer();
    let footer_style = if failed { t.error } else { t.muted };
    let block = Block::bordered()
        .border_style(t.border)
        .title(Line::from(title))
        .title_bottom(Line::from(Span::styled(
            format!(" {footer} "),
            footer_style,
        )));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height.saturating_sub(1) as usize;
    if rows.is_empty() {
        let (msg, style) = match &app.audit_pages.error {
            Some(e) if app.audit.is_empty() => (format!("cannot read the audit log: {e}"), t.error),
            _ if app.audit.is_empty() => ("no audit entries yet".to_string(), t.muted),
            _ => (
                "no audit entries match (Esc clears the / filter, :audit clears the others)"
                    .to_string(),
                t.muted,
            ),
        };
        frame.render_widget(Paragraph::new(msg).style(style), inner);
        return height;
    }
    let selected = a.selected.min(rows.len() - 1);
    let offset = scroll_offset(selected, a.offset.get(), height, rows.len());
    a.offset.set(offset);
    let widths = audit_widths(&rows[offset..rows.len().min(offset + height)], inner.width);
    let target_width = widths[3].map_or(0, usize::from);
    let reason_width = columns::rest(&widths, inner.width, 1);
    let body = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, e)| {
            let outcome_style = match e.outcome {
                Outcome::Denied | Outcome::Failed => t.error,
                Outcome::Applied => t.ok,
                Outcome::Allowed => t.text,
            };
            let row = Row::new(vec![
                Cell::from(short_time(&e.time)),
                Cell::from(e.user.name.clone()),
                Cell::from(action_text(e)),
                Cell::from(columns::middle(&target(e), target_width)),
                Cell::from(Span::styled(e.outcome.to_string(), outcome_style)),
                Cell::from(columns::end(
                    &crate::model::sanitize::clean(&e.reason),
                    reason_width,
                )),
            ]);
            if i == selected {
                row.style(t.selection)
            } else {
                row
            }
        });
    let head = heading(
        ["TIME", "USER", "ACTION", "TARGET", "OUTCOME", "REASON"].map(Line::from),
        t.header,
    );
    let constraints = columns::constraints(&widths);
    frame.render_widget(
        Table::new(body, constraints).header(head).column_spacing(1),
        inner,
    );
    height
}

/// `namespace/group`: what an entry is about.
fn target(e: &AuditEntry) -> String {
    format!("{}/{}", e.target.namespace, e.target.group)
}

/// The columns' widths for the entries in view: each as wide as its widest cell, the
/// reason at least 16 cells (a refusal says why there), the target cut in the middle
/// when that is not enough, so two groups sharing a prefix stay apart.
fn audit_widths(entries: &[&AuditEntry], total: u16) -> Vec<Option<u16>> {
    let widest =
        |title, cell: fn(&AuditEntry) -> String| columns::widest(entries, title, |e| cell(e));
    let cols = [
        Column::fixed(14),
        Column::fixed(widest("USER", |e| e.user.name.clone()).min(16)),
        Column::fixed(widest("ACTION", action_text).min(24)),
        Column {
            need: widest("TARGET", target),
            drop_rank: None,
            shrinks: true,
            min: 12,
        },
        Column::fixed(8),
        Column::fixed(widest("REASON", |e| crate::model::sanitize::clean(&e.reason)).min(16)),
    ];
    columns::fit(&cols, total, 1)
}

/// `11-23 04:05:06` from `2026-11-23T04:05:06.123Z`: the year and the milliseconds add
/// nothing when reading the last hours.
fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(5..10), rfc3339.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_string(),
    }
}
