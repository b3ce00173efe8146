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
use crate::tui::widgets::columns::{self, Column};
use crate::tui::widgets::table::{heading, scroll_offset, sort_title};

/// The columns after the two marks (`!` warnings, a live canary's health verdict), with what each
/// needs at least and when it goes on a narrow terminal: AGE first, then RESTARTS,
/// NAMESPACE, STABLE and CLUSTER; NAME, PHASE, CANARY and READY stay (NAME shrinks last).
/// CLUSTER is there only when the groups live in more than one cluster.
const TITLES: [&str; 9] = [
    "NAME",
    "CLUSTER",
    "NAMESPACE",
    "PHASE",
    "STABLE",
    "CANARY",
    "READY",
    "RESTARTS",
    "AGE",
];
const DROP_RANKS: [Option<u8>; 9] = [
    None,
    Some(4),
    Some(2),
    None,
    Some(3),
    None,
    None,
    Some(1),
    Some(0),
];
const CLUSTER_COLUMN: usize = 1;
/// The indent of a group's name under its app heading.
const INDENT: usize = 2;

fn chars(s: &str) -> u16 {
    u16::try_from(s.chars().count()).unwrap_or(u16::MAX)
}

/// The canary cell: tag and weight while in flight, and the router's drift mark.
fn canary_line(t: &Theme, s: &GroupSummary) -> Line<'static> {
    // Blue-green and rolling releases say their stage where a canary says its weight.
    let amount = match &s.stage {
        Some(stage) => stage.clone(),
        None => format!("{}%", s.weight),
    };
    let mut canary = match (&s.canary_tag, s.phase.in_flight()) {
        (Some(tag), true) => Line::from(vec![
            Span::raw(tag.clone()),
            Span::styled(format!(" {amount}"), t.canary),
        ]),
        (None, true) => Line::from(Span::styled(amount, t.canary)),
        _ => Line::from(""),
    };
    if s.router_drift {
        canary.push_span(Span::styled(
            " ≠router",
            t.error.add_modifier(Modifier::BOLD),
        ));
    }
    canary
}

/// Each column's width for the rows in view (`None`: dropped on this width, or the
/// cluster column of a single-cluster estate).
fn widths(
    t: &Theme,
    summaries: &[&GroupSummary],
    total: u16,
    show_cluster: bool,
) -> Vec<Option<u16>> {
    let widest = |f: &dyn Fn(&GroupSummary) -> u16, title: &str| {
        summaries
            .iter()
            .map(|s| f(s))
            .max()
            .unwrap_or(0)
            .max(chars(title) + 2)
    };
    let needs: [u16; 9] = [
        widest(&|s| chars(&s.key.group) + INDENT as u16, TITLES[0]),
        widest(&|s| chars(&s.key.cluster), TITLES[1]),
        widest(&|s| chars(&s.key.namespace), TITLES[2]),
        11,
        widest(&|s| chars(s.stable_tag.as_deref().unwrap_or("")), TITLES[4]).min(24),
        widest(
            &|s| u16::try_from(canary_line(t, s).width()).unwrap_or(u16::MAX),
            TITLES[5],
        )
        .min(28),
        widest(&|s| chars(&format!("{}/{}", s.ready, s.desired)), TITLES[6]),
        8,
        4,
    ];
    let mut cols = vec![
        Column {
            need: 1,
            drop_rank: None,
            shrinks: false,
            min: 1,
        };
        2
    ];
    for (i, need) in needs.into_iter().enumerate() {
        if i == CLUSTER_COLUMN && !show_cluster {
            continue;
        }
        cols.push(Column {
            need,
            drop_rank: DROP_RANKS[i],
            shrinks: i == 0,
            min: 10,
        });
    }
    let mut fitted = columns::fit(&cols, total, 1);
    if !show_cluster {
        // The two marks come first.
        fitted.insert(2 + CLUSTER_COLUMN, None);
    }
    fitted
}

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

    // The summaries of the rows in view: their widest cells decide the columns.
    let window: Vec<(usize, &ListRow, Option<GroupSummary>)> = rows
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, row)| {
            let summary = match row {
                ListRow::Group(key) => app.estate.summary(key, app.now),
                ListRow::App { .. } => None,
            };
            (i, row, summary)
        })
        .collect();
    let in_view: Vec<&GroupSummary> = window.iter().filter_map(|(_, _, s)| s.as_ref()).collect();
    // One cluster needs no column; narrowed to one by `:ctx`, neither.
    let show_cluster = app.groups.cluster.is_none() && app.estate.clusters().len() > 1;
    let widths = widths(t, &in_view, inner.width, show_cluster);
    let keep = |cells: Vec<Cell<'static>>| -> Vec<Cell<'static>> {
        cells
            .into_iter()
            .zip(&widths)
            .filter(|(_, w)| w.is_some())
            .map(|(c, _)| c)
            .collect()
    };
    let name_width = widths[2].map_or(0, |w| usize::from(w).saturating_sub(INDENT));

    let sorted = |k: SortKey| (g.sort == k).then_some(g.ascending);
    let titles = [
        Line::from(""),
        Line::from(""),
        sort_title(TITLES[0], sorted(SortKey::Name)),
        Line::from(TITLES[1]),
        Line::from(TITLES[2]),
        sort_title(TITLES[3], sorted(SortKey::Phase)),
        Line::from(TITLES[4]),
        Line::from(TITLES[5]),
        sort_title(TITLES[6], sorted(SortKey::Ready)),
        sort_title(TITLES[7], sorted(SortKey::Restarts)),
        sort_title(TITLES[8], sorted(SortKey::Age)),
    ];
    let head = heading(
        titles
            .into_iter()
            .zip(&widths)
            .filter(|(_, w)| w.is_some())
            .map(|(l, _)| l),
        t.header,
    );

    let mut table_rows = Vec::with_capacity(height);
    let mut headings = Vec::new();
    for (i, row, summary) in window {
        match row {
            ListRow::App { name, groups } => {
                headings.push((i - offset, name.as_str(), *groups));
                table_rows.push(Row::new(Vec::<Cell>::new()));
            }
            ListRow::Group(key) => {
                // Fresh for the rows in view; the sort's summaries may be a second old.
                let mut r = match &summary {
                    Some(s) => Row::new(keep(group_cells(t, s, app, name_width))),
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
    let constraints: Vec<Constraint> = widths
        .iter()
        .flatten()
        .map(|w| Constraint::Length(*w))
        .collect();
    frame.render_widget(
        Table::new(table_rows, constraints)
            .header(head)
            .column_spacing(1),
        inner,
    );
    for (line, name, count) in headings {
        let y = inner.y + 1 + line as u16;
        let mut text = Line::from(vec![
            Span::styled(name.to_string(), t.accent),
            Span::styled(
                format!("  {count} group{}", if count == 1 { "" } else { "s" }),
                t.muted,
            ),
        ]);
        if app.groups.by_cluster {
            // A heading per cluster says whether what is under it is live.
            text.push_span(Span::raw("  "));
            text.push_span(super::header::short(
                t,
                &app.estate.cluster_connection(name),
            ));
        }
        frame.render_widget(Paragraph::new(text), Rect::new(inner.x, y, inner.width, 1));
    }
    height
}

/// Every cell of a group's row (the caller drops the columns that do not fit); the name
/// is cut in the middle to `name_width`.
fn group_cells(t: &Theme, s: &GroupSummary, app: &App, name_width: usize) -> Vec<Cell<'static>> {
    let cluster = app.estate.cluster_connection(&s.key.cluster);
    let cluster_style = match cluster {
        Conn::Failed(_) => t.error,
        Conn::Reconnecting(_) => t.warning,
        Conn::Connected | Conn::Connecting => Style::default(),
    };
    let mark = if app.foreign_clusters.contains_key(&s.key.cluster) {
        // What this console shows of the group comes from another server than the one
        // the controller changes.
        Cell::from(Span::styled("≠", t.error))
    } else if matches!(cluster, Conn::Failed(_) | Conn::Reconnecting(_)) {
        // Its pods are what the cluster last said: not live.
        Cell::from(Span::styled("?", cluster_style))
    } else if s.has_warnings() {
        Cell::from(Span::styled("!", t.warning))
    } else {
        Cell::from("")
    };
    let canary = canary_line(t, s);
    let ready_style = if s.ready < s.desired {
        t.warning
    } else {
        Style::default()
    };
    let (health, health_style) = super::health::list_mark(app, s);
    vec![
        mark,
        Cell::from(Span::styled(health, health_style)),
        Cell::from(format!(
            "{:INDENT$}{}",
            "",
            columns::middle(&s.key.group, name_width)
        )),
        Cell::from(Span::styled(s.key.cluster.clone(), cluster_style)),
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
    ]
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
        return match app.estate.connection(&Part::Store) {
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
