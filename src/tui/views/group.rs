//! One group: a title with its release, its pods and its events. Tab moves the focus
//! between the two tables; the health key swaps both for the Health tab (live stable vs
//! canary health and the controller's verdict), the history key for the History tab
//! (every revision, a diff, a rollback to one).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::groups::phase_style;
use crate::config::Theme;
use crate::domain::Track;
use crate::model::estate::FoldedEvent;
use crate::model::{EventKind, GroupSummary, PodRow};
use crate::tui::app::App;
use crate::tui::app::state::{GroupState, Pane};
use crate::tui::widgets::age::age;
use crate::tui::widgets::table::{heading, scroll_offset};
use crate::tui::widgets::timeline;

const WAITING: &str = "waiting for cluster…";

/// Returns the heights of the pods and events tables and of the history tab, for page
/// up/down.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, g: &GroupState) -> (usize, usize, usize) {
    let t = &app.theme;
    let Some(summary) = app.estate.summary(&g.key, app.now) else {
        let msg = format!("instance group {} is no longer in the store", g.key);
        frame.render_widget(Paragraph::new(msg).style(t.warning), area);
        return (0, 0, 0);
    };
    let [title, timeline_area, pods_area, events_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(3),
        Constraint::Percentage(55),
        Constraint::Fill(1),
    ])
    .areas(area);
    draw_title(frame, title, app, &summary);
    if let Some(entry) = app.estate.group(&g.key) {
        let router = app.estate.router_live(entry, app.now);
        let lines = if entry.group.spec.kind == crate::domain::group::Workload::Cron {
            let runs = app.estate.cron_runs(&g.key);
            timeline::cron_lines(
                &entry.group,
                entry.release.as_ref(),
                &runs,
                Some(app.now),
                t,
            )
        } else {
            timeline::lines(&entry.group, entry.release.as_ref(), router.as_ref(), t)
        };
        frame.render_widget(Paragraph::new(lines), timeline_area);
    }
    if g.focus == Pane::Health {
        let tab = pods_area.union(events_area);
        let block = pane_block(t, " health ".to_string(), true);
        let inner = block.inner(tab);
        frame.render_widget(block, tab);
        super::health::draw(frame, inner, t, &super::health::HealthTab::of(app, &g.key));
        return (app.pages.pods, app.pages.events, app.pages.history);
    }
    if g.focus == Pane::History {
        let tab = pods_area.union(events_area);
        let page = super::history::draw(frame, tab, app, &g.history);
        return (app.pages.pods, app.pages.events, page);
    }

    let waiting = !app.estate.has_cluster_data(&g.key);
    let pods = if waiting {
        Vec::new()
    } else {
        app.estate.pods_of(&g.key)
    };
    let events = if waiting {
        Vec::new()
    } else {
        app.estate.events_of(&g.key)
    };
    let pod_page = draw_pods(frame, pods_area, app, g, &pods, waiting);
    let event_page = draw_events(frame, events_area, app, g, &events, waiting);
    (pod_page, event_page, app.pages.history)
}

fn draw_title(frame: &mut Frame, area: Rect, app: &App, s: &GroupSummary) {
    let t = &app.theme;
    let label = |x: &'static str| Span::styled(x, t.muted);
    let mut first = vec![
        Span::styled(format!(" {} ", s.key.group), t.accent),
        label(" app "),
        Span::raw(s.app.clone()),
        label("  namespace "),
        Span::raw(s.key.namespace.clone()),
        label("  phase "),
        Span::styled(s.phase.as_str(), phase_style(t, s.phase)),
        label("  stable "),
        Span::styled(s.stable_tag.clone().unwrap_or_else(|| "-".into()), t.stable),
    ];
    if s.phase.in_flight() {
        let tag = s.canary_tag.clone().unwrap_or_else(|| "-".into());
        match &s.stage {
            Some(stage) => {
                first.push(label("  new "));
                first.push(Span::styled(format!("{tag} {stage}"), t.canary));
            }
            None => {
                first.push(label("  canary "));
                first.push(Span::styled(format!("{tag} {}%", s.weight), t.canary));
            }
        }
    }
    let second = vec![
        label(" ready "),
        Span::raw(format!("{}/{}", s.ready, s.desired)),
        label("  restarts "),
        Span::raw(s.restarts.to_string()),
    ];
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

fn pane_block<'a>(t: &Theme, title: String, focused: bool) -> Block<'a> {
    let style = if focused { t.accent } else { t.border };
    Block::bordered().border_style(style).title(Span::styled(
        title,
        if focused { t.accent } else { t.header },
    ))
}

/// Draws a pane's frame and, while the cluster has not answered yet, its waiting line.
/// Otherwise gives the inner area, the rows it holds, the first row to show (remembered in
/// `offset` so the list scrolls only when the selection leaves it) and the selection
/// clamped to `len`. `Err` carries the rows the pane holds, for paging.
#[allow(clippy::too_many_arguments)]
fn open_pane(
    frame: &mut Frame,
    area: Rect,
    t: &Theme,
    title: String,
    focused: bool,
    waiting: bool,
    selected: usize,
    offset: &std::cell::Cell<usize>,
    len: usize,
) -> Result<(Rect, usize, usize, usize), usize> {
    let block = pane_block(t, title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height.saturating_sub(1) as usize;
    if waiting {
        frame.render_widget(Paragraph::new(WAITING).style(t.muted), inner);
        return Err(height);
    }
    let selected = selected.min(len.saturating_sub(1));
    let first = scroll_offset(selected, offset.get(), height, len);
    offset.set(first);
    Ok((inner, height, first, selected))
}

fn draw_pods(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    g: &GroupState,
    pods: &[&PodRow],
    waiting: bool,
) -> usize {
    let t = &app.theme;
    let focused = g.focus == Pane::Pods;
    let title = format!(" pods {} ", pods.len());
    let (inner, height, offset, selected) = match open_pane(
        frame,
        area,
        t,
        title,
        focused,
        waiting,
        g.pod,
        &g.pod_offset,
        pods.len(),
    ) {
        Ok(layout) => layout,
        Err(height) => return height,
    };
    let rows = pods
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, p)| {
            let canary = p.track == Some(Track::Canary);
            let style = if p.is_warning() {
                t.warning
            } else if canary {
                t.canary
            } else {
                t.stable
            };
            let row = Row::new(vec![
                Cell::from(p.name.clone()),
                Cell::from(p.track.map(Track::as_str).unwrap_or("-")),
                Cell::from(p.status.clone()),
                Cell::from(format!("{}/{}", p.ready, p.containers)),
                Cell::from(p.restarts.to_string()),
                Cell::from(age(p.created, app.now)),
                Cell::from(p.node.clone().unwrap_or_default()),
                Cell::from(p.last_termination.clone().unwrap_or_default()),
            ])
            .style(style);
            if focused && i == selected {
                row.style(style.patch(t.selection))
            } else {
                row
            }
        });
    let head = heading(
        [
            "NAME",
            "TRACK",
            "STATUS",
            "READY",
            "RESTARTS",
            "AGE",
            "NODE",
            "LAST TERMINATION",
        ]
        .map(Line::from),
        t.header,
    );
    let widths = [
        Constraint::Fill(4),
        Constraint::Length(6),
        Constraint::Fill(2),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Length(4),
        Constraint::Fill(2),
        Constraint::Fill(2),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(head).column_spacing(1),
        inner,
    );
    height
}

fn draw_events(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    g: &GroupState,
    events: &[FoldedEvent],
    waiting: bool,
) -> usize {
    let t = &app.theme;
    let focused = g.focus == Pane::Events;
    let title = format!(" events {} ", events.len());
    let (inner, height, offset, selected) = match open_pane(
        frame,
        area,
        t,
        title,
        focused,
        waiting,
        g.event,
        &g.event_offset,
        events.len(),
    ) {
        Ok(layout) => layout,
        Err(height) => return height,
    };
    let rows = events
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, e)| {
            let style = match e.kind {
                EventKind::Warning => t.warning,
                EventKind::Normal => Style::default(),
            };
            let reason = if e.count > 1 {
                Line::from(vec![
                    Span::raw(e.reason.clone()),
                    Span::styled(format!(" ×{}", e.count), t.muted),
                ])
            } else {
                Line::from(e.reason.clone())
            };
            let row = Row::new(vec![
                Cell::from(age(e.last_seen, app.now)),
                Cell::from(match e.kind {
                    EventKind::Warning => "Warning",
                    EventKind::Normal => "Normal",
                }),
                Cell::from(reason),
                Cell::from(format!(
                    "{}/{}",
                    e.object_kind.to_lowercase(),
                    e.object_name
                )),
                Cell::from(e.message.clone()),
            ])
            .style(style);
            if focused && i == selected {
                row.style(style.patch(t.selection))
            } else {
                row
            }
        });
    let head = heading(
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"].map(Line::from),
        t.header,
    );
    let widths = [
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Fill(5),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(head).column_spacing(1),
        inner,
    );
    height
}
