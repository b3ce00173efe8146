//! The Instances tab: the group's pods beside the registrations of its service — pod,
//! address, ready, registered, weight and how the two agree — with a summary line on top.
//! Ghosts (registered, no ready pod) and strays (ready, not registered) carry a `!` and
//! the theme's colour, so they read without colour too; a pod being drained says until
//! when. Everything shown from the registry was cleaned when it was read.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};

use crate::config::Theme;
use crate::domain::registration::{InstanceRow, Standing};
use crate::tui::app::App;
use crate::tui::app::instances::{InstancesTab, InstancesView};
use crate::tui::widgets::columns::{self, Column};
use crate::tui::widgets::table::{heading, scroll_offset};

const TITLES: [&str; 6] = ["POD", "ADDRESS", "READY", "REGISTERED", "WEIGHT", "STATE"];
/// On a narrow terminal REGISTERED goes first (STATE says it), then WEIGHT, then READY;
/// POD, ADDRESS and STATE stay.
const DROP_RANKS: [Option<u8>; 6] = [None, None, Some(2), Some(0), Some(1), None];
/// The room STATE keeps before other columns go (a drain's end fits whole).
const STATE_MIN: u16 = 34;
/// `255.255.255.255:65535` and a little more; a longer key is cut in the middle.
const ADDRESS_MAX: u16 = 24;

/// Draws the tab into `area` and returns the rows it scrolls by, for page up/down.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    tab: &InstancesTab,
    view: Option<&InstancesView>,
) -> usize {
    let t = &app.theme;
    let title = match view {
        Some(v) => format!(" instances · {} ", v.prefix),
        None => " instances ".to_string(),
    };
    let block = Block::bordered()
        .border_style(t.accent)
        .title(Span::styled(title, t.accent));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(view) = view else {
        frame.render_widget(
            Paragraph::new(
                "this group has no registration: add `registration: { prefix: /services }` to it",
            )
            .style(t.muted)
            .wrap(Wrap { trim: true }),
            inner,
        );
        return inner.height as usize;
    };
    let [summary_area, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let summary = match (&tab.error, &tab.instances) {
        (Some(e), None) => Line::from(Span::styled(format!("registry: {e}"), t.error)),
        (None, None) => Line::from(Span::styled("reading the registry…", t.muted)),
        (Some(e), Some(_)) => Line::from(vec![
            Span::styled(format!("registry: {e}"), t.error),
            Span::styled(" · as last read: ", t.muted),
            Span::raw(view.summary()),
        ]),
        (None, Some(_)) => {
            let mut spans = vec![Span::raw(view.summary())];
            if tab.more > 0 {
                spans.push(Span::styled(
                    format!(" · {} more keys not shown", tab.more),
                    t.warning,
                ));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(summary), summary_area);
    let height = table_area.height.saturating_sub(1) as usize;
    if tab.instances.is_none() {
        // Without a read, every pod would look like a stray: show nothing rather than that.
        return height;
    }
    let rows = &view.rows;
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new("no pods and no registrations").style(t.muted),
            table_area,
        );
        return height;
    }
    let selected = tab.selected.min(rows.len() - 1);
    let first = scroll_offset(selected, tab.offset.get(), height, rows.len());
    tab.offset.set(first);
    let in_view = &rows[first.min(rows.len())..(first + height).min(rows.len())];
    let widths = widths(in_view, view, app.now, table_area.width);
    let pod_width = widths[0].map_or(0, usize::from);
    let state_width = columns::rest(&widths, table_area.width, 1);
    let body = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, r)| {
            let style = row_style(t, r, view);
            let cells = cells(r, view, app.now, pod_width, state_width);
            let row = Row::new(columns::kept(cells, &widths)).style(style);
            if i == selected {
                row.style(style.patch(t.selection))
            } else {
                row
            }
        });
    let constraints = columns::constraints(&widths);
    frame.render_widget(
        Table::new(body, constraints)
            .header(heading(
                columns::kept(TITLES.map(Line::from), &widths),
                t.header,
            ))
            .column_spacing(1),
        table_area,
    );
    height
}

/// The STATE cell: how pod and registration agree, with `!` on what needs a look, and
/// a drain's end.
fn state_text(r: &InstanceRow, view: &InstancesView, now: Timestamp) -> String {
    if let Some(until) = r.pod.as_ref().and_then(|p| view.draining.get(p)) {
        let left = until.duration_since(now).as_secs().max(0);
        return format!(
            "draining until {} ({left}s)",
            until.strftime("%H:%M:%S UTC")
        );
    }
    match (r.standing, &r.note) {
        (Standing::Unreadable, Some(note)) => format!("! unreadable: {note}"),
        (Standing::Ghost, _) => "! ghost: registered, no ready pod".to_string(),
        (Standing::Stray, _) => "! stray: ready, not registered".to_string(),
        (s, _) if s.is_problem() => format!("! {}", s.as_str()),
        (s, _) => s.as_str().to_string(),
    }
}

fn cells(
    r: &InstanceRow,
    view: &InstancesView,
    now: Timestamp,
    pod_width: usize,
    state_width: usize,
) -> Vec<Cell<'static>> {
    let dash = || "-".to_string();
    vec![
        Cell::from(columns::middle(
            r.pod.as_deref().unwrap_or("(no pod)"),
            pod_width,
        )),
        Cell::from(columns::middle(
            r.address.as_deref().unwrap_or("-"),
            usize::from(ADDRESS_MAX),
        )),
        Cell::from(match (&r.pod, r.ready) {
            (None, _) => "-",
            (Some(_), true) => "yes",
            (Some(_), false) => "no",
        }),
        Cell::from(if r.registered { "yes" } else { "no" }),
        Cell::from(r.weight.map_or_else(dash, |w| w.to_string())),
        Cell::from(columns::end(&state_text(r, view, now), state_width)),
    ]
}

fn row_style(t: &Theme, r: &InstanceRow, view: &InstancesView) -> Style {
    if r.pod
        .as_ref()
        .is_some_and(|p| view.draining.contains_key(p))
    {
        return t.canary;
    }
    match r.standing {
        Standing::Serving => t.ok,
        Standing::Drained | Standing::Down => t.muted,
        Standing::Ghost | Standing::Unreadable => t.error,
        Standing::Stray | Standing::NotReady => t.warning,
    }
}

fn widths(
    rows: &[InstanceRow],
    view: &InstancesView,
    now: Timestamp,
    total: u16,
) -> Vec<Option<u16>> {
    let cols = [
        Column {
            need: columns::widest(rows, TITLES[0], |r| {
                r.pod.clone().unwrap_or_else(|| "(no pod)".into())
            }),
            drop_rank: None,
            shrinks: true,
            min: 12,
        },
        Column::fixed(
            columns::widest(rows, TITLES[1], |r| r.address.clone().unwrap_or_default())
                .min(ADDRESS_MAX),
        ),
        Column {
            need: 5,
            drop_rank: DROP_RANKS[2],
            shrinks: false,
            min: 5,
        },
        Column {
            need: 10,
            drop_rank: DROP_RANKS[3],
            shrinks: false,
            min: 10,
        },
        Column {
            need: 6,
            drop_rank: DROP_RANKS[4],
            shrinks: false,
            min: 6,
        },
        Column::fixed(
            columns::widest(rows, TITLES[5], |r| state_text(r, view, now)).min(STATE_MIN),
        ),
    ];
    columns::fit(&cols, total, 1)
}
