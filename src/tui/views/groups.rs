//! Home: the instance groups, under a heading per app. Only the rows in view are built,
//! and only their summaries are computed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use crate::config::Theme;
use crate::domain::Phase;
use crate::model::{Conn, GroupSummary, Part};
use crate::tui::app::App;
use crate::tui::app::rows::ListRow;
use crate::tui::app::state::SortKey;
use crate::tui::widgets::age::age;
use crate::tui::widgets::table::{heading, scroll_offset, sort_title};

/// The warning mark `!`, the health mark (a live canary's verdict), then the columns.
const WIDTHS: [Constraint; 10] = [
    Constraint::Length(1),
    Constraint::Length(1),
    Constraint::Fill(3),
    Constraint::Fill(2),
    Constraint::Length(11),
    Constraint::Fill(2),
    Constraint::Fill(2),
    Constraint::Length(7),
    Constraint::Length(8),
    Constraint::Length(4),
];

/// Returns how many rows fit, for page up/down.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) -> usize {
    let t = &app.theme;
    let rows = app.rows();
    let shown = rows.groups.len();
    let mut title = vec![Span::styled(" instance groups ", t.accent)];
    title.push(Span::styled(
        if shown == rows.total {
            format!("{shown} ")
        } else {
            format!("{shown} of {} ", rows.total)
        },
        t.muted,
    ));
    let block = Block::bordered()
        .border_style(t.border)
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height.saturating_sub(1) as usize;

    if rows.rows.is_empty() {
        frame.render_widget(Paragraph::new(empty_message(app)).style(t.muted), inner);
        return height;
    }

    let g = &app.groups;
    let selected_row = rows.groups.get(g.selected).copied().unwrap_or(0);
    let mut offset = scroll_offset(selected_row, g.offset.get(), height, rows.rows.len());
    if g.selected == 0 {
        // The first group's app heading comes into view with it.
        offset = 0;
    }
    g.offset.set(offset);

    let sorted = |k: SortKey| (g.sort == k).then_some(g.ascending);
    let head = heading(
        [
            Line::from(""),
            Line::from(""),
            sort_title("NAME", sorted(SortKey::Name)),
            Line::from("NAMESPACE"),
            sort_title("PHASE", sorted(SortKey::Phase)),
            Line::from("STABLE"),
            Line::from("CANARY"),
            sort_title("READY", sorted(SortKey::Ready)),
            sort_title("RESTARTS", sorted(SortKey::Restarts)),
            sort_title("AGE", sorted(SortKey::Age)),
        ],
        t.header,
    );

    let window = rows.rows.iter().enumerate().skip(offset).take(height);
    let mut table_rows = Vec::with_capacity(height);
    let mut headings = Vec::new();
    for (i, row) in window {
        match row {
            ListRow::App { name, groups } => {
                headings.push((i - offset, name.as_str(), *groups));
                table_rows.push(Row::new(Vec::<Cell>::new()));
            }
            ListRow::Group(key) => {
                // Fresh for the rows in view; the sort's summaries may be a second old.
                let mut r = match app.estate.summary(key, app.now) {
                    Some(s) => group_row(t, &s, app),
                    None => Row::new(vec![
                        Cell::from(""),
                        Cell::from(""),
                        Cell::from(key.group.clone()),
                    ]),
                };
                if i == selected_row {
                    r = r.style(t.selection);
                }
                table_rows.push(r);
            }
        }
    }
    frame.render_widget(
        Table::new(table_rows, WIDTHS)
            .header(head)
            .column_spacing(1),
        inner,
    );
    for (line, name, count) in headings {
        let y = inner.y + 1 + line as u16;
        let text = Line::from(vec![
            Span::styled(name.to_string(), t.accent),
            Span::styled(
                format!("  {count} group{}", if count == 1 { "" } else { "s" }),
                t.muted,
            ),
        ]);
        frame.render_widget(Paragraph::new(text), Rect::new(inner.x, y, inner.width, 1));
    }
    height
}

fn group_row<'a>(t: &Theme, s: &GroupSummary, app: &App) -> Row<'a> {
    let mark = if app.foreign_clusters.contains_key(&s.key.cluster) {
        // What this console shows of the group comes from another server than the one
        // the controller changes.
        Cell::from(Span::styled("≠", t.error))
    } else if s.has_warnings() {
        Cell::from(Span::styled("!", t.warning))
    } else {
        Cell::from("")
    };
    let mut canary = match (&s.canary_tag, s.phase.in_flight()) {
        (Some(tag), true) => Line::from(vec![
            Span::raw(tag.clone()),
            Span::styled(format!(" {}%", s.weight), t.canary),
        ]),
        (None, true) => Line::from(Span::styled(format!("{}%", s.weight), t.canary)),
        _ => Line::from(""),
    };
    if s.router_drift {
        canary.push_span(Span::styled(
            " ≠router",
            t.error.add_modifier(Modifier::BOLD),
        ));
    }
    let ready_style = if s.ready < s.desired {
        t.warning
    } else {
        Style::default()
    };
    let (health, health_style) = super::health::list_mark(app, s);
    Row::new(vec![
        mark,
        Cell::from(Span::styled(health, health_style)),
        Cell::from(format!("  {}", s.key.group)),
        Cell::from(s.key.namespace.clone()),
        Cell::from(Span::styled(s.phase.as_str(), phase_style(t, s.phase))),
        Cell::from(s.stable_tag.clone().unwrap_or_default()),
        Cell::from(canary),
        Cell::from(Span::styled(
            format!("{}/{}", s.ready, s.desired),
            ready_style,
        )),
        Cell::from(s.restarts.to_string()),
        Cell::from(Span::styled(age(s.created, app.now), t.muted)),
    ])
}

/// Degraded shouts; a release in flight stands out; a settled group is plain.
pub fn phase_style(t: &Theme, p: Phase) -> Style {
    match p {
        Phase::Degraded => t.error.add_modifier(Modifier::BOLD | Modifier::REVERSED),
        Phase::Progressing | Phase::Paused => t.canary,
        Phase::Aborted => t.warning,
        Phase::Promoted => t.ok,
        Phase::Stable => Style::default(),
    }
}

fn empty_message(app: &App) -> String {
    let rows = app.rows();
    if rows.total == 0 {
        return match app.estate.connection(Part::Store) {
            Conn::Connected => {
                "no instance groups in the store yet: flightdeck groups apply -f FILE".into()
            }
            _ => "loading groups from the store…".into(),
        };
    }
    let g = &app.groups;
    let mut why = Vec::new();
    if !g.filter.is_empty() {
        why.push(format!("filter \"{}\"", g.filter));
    }
    if let Some(ns) = &g.namespace {
        why.push(format!("namespace {ns}"));
    }
    format!("no group matches {}", why.join(" in "))
}
