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
use crate::tui::widgets::columns::{self, Column};
use crate::tui::widgets::table::{heading, scroll_offset};
use crate::tui::widgets::timeline;

const WAITING: &str = "waiting for cluster…";

/// Returns the heights of the pods and events tables and of the history tab, for page
/// up/down.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    g: &GroupState,
) -> (usize, usize, usize, usize) {
    let t = &app.theme;
    let Some(summary) = app.estate.summary(&g.key, app.now) else {
        let msg = format!("instance group {} is no longer in the store", g.key);
        frame.render_widget(Paragraph::new(msg).style(t.warning), area);
        return (0, 0, 0, 0);
    };
    let timeline = app.estate.group(&g.key).map(|entry| {
        if entry.group.spec.kind == crate::domain::group::Workload::Cron {
            let runs = app.estate.cron_runs(&g.key);
            return timeline::cron_lines(
                &entry.group,
                entry.release.as_ref(),
                &runs,
                Some(app.now),
                t,
            );
        }
        let router = app.estate.router_live(entry, app.now);
        timeline::lines(
            &entry.group,
            entry.release.as_ref(),
            router.as_ref(),
            t,
            area.width,
        )
    });
    let timeline_height = timeline.as_ref().map_or(3, Vec::len) as u16;
    let [title, timeline_area, pods_area, events_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(timeline_height),
        Constraint::Percentage(55),
        Constraint::Fill(1),
    ])
    .areas(area);
    draw_title(frame, title, app, &summary);
    if let Some(lines) = timeline {
        frame.render_widget(Paragraph::new(lines), timeline_area);
    }
    if g.focus == Pane::Health {
        let tab = pods_area.union(events_area);
        let block = pane_block(t, " health ".to_string(), true);
        let inner = block.inner(tab);
        frame.render_widget(block, tab);
        super::health::draw(frame, inner, t, &super::health::HealthTab::of(app, &g.key));
        return (
            app.pages.pods,
            app.pages.events,
            app.pages.history,
            app.pages.instances,
        );
    }
    if g.focus == Pane::History {
        let tab = pods_area.union(events_area);
        let page = super::history::draw(frame, tab, app, &g.history);
        return (app.pages.pods, app.pages.events, page, app.pages.instances);
    }
    if g.focus == Pane::Instances {
        let tab = pods_area.union(events_area);
        let view = app.instances_view(g);
        let page = super::instances::draw(frame, tab, app, &g.instances, view.as_ref());
        return (app.pages.pods, app.pages.events, app.pages.history, page);
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
    (pod_page, event_page, app.pages.history, app.pages.instances)
}

/// Two lines: the group and its release, then its pods. Where the first does not fit, the
/// app and namespace move to the end of the second, so the release stays whole.
fn draw_title(frame: &mut Frame, area: Rect, app: &App, s: &GroupSummary) {
    let t = &app.theme;
    let label = |x: &'static str| Span::styled(x, t.muted);
    let name = Span::styled(format!(" {} ", s.key.group), t.accent);
    let mut place = vec![label(" app "), Span::raw(s.app.clone())];
    // Which cluster matters when there are several (the same app in test and prod).
    if app.estate.clusters().len() > 1 {
        place.push(label("  cluster "));
        place.push(Span::raw(s.key.cluster.clone()));
    }
    place.push(label("  namespace "));
    place.push(Span::raw(s.key.namespace.clone()));
    let mut release = vec![
        label("  phase "),
        Span::styled(s.phase.as_str(), phase_style(t, s.phase)),
        label("  stable "),
        Span::styled(s.stable_tag.clone().unwrap_or_else(|| "-".into()), t.stable),
    ];
    if s.phase.in_flight() {
        let tag = s.canary_tag.clone().unwrap_or_else(|| "-".into());
        match &s.stage {
            Some(stage) => {
                release.push(label("  new "));
                release.push(Span::styled(format!("{tag} {stage}"), t.canary));
            }
            None => {
                release.push(label("  canary "));
                release.push(Span::styled(format!("{tag} {}%", s.weight), t.canary));
            }
        }
    }
    let mut second = vec![
        label(" ready "),
        Span::raw(format!("{}/{}", s.ready, s.desired)),
        label("  restarts "),
        Span::raw(s.restarts.to_string()),
    ];
    // What this view shows of pods and events is what the cluster last said.
    match app.estate.cluster_connection(&s.key.cluster) {
        crate::model::Conn::Failed(why) => second.push(Span::styled(
            format!("  cluster {} down: {why}", s.key.cluster),
            t.error,
        )),
        crate::model::Conn::Reconnecting(why) => second.push(Span::styled(
            format!("  cluster {} reconnecting: {why}", s.key.cluster),
            t.warning,
        )),
        crate::model::Conn::Connected | crate::model::Conn::Connecting => {}
    }
    let mut first = vec![name.clone()];
    first.extend(place.clone());
    first.extend(release.clone());
    if Line::from(first.clone()).width() > usize::from(area.width) {
        release[0] = label(" phase ");
        first = vec![name];
        first.extend(release);
        second.push(Span::raw(" "));
        second.extend(place);
    }
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
    let in_view = &pods[offset.min(pods.len())..(offset + height).min(pods.len())];
    let widths = pod_widths(in_view, app, inner.width);
    let name_width = widths[0].map_or(0, usize::from);
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
            let row = Row::new(columns::kept(pod_cells(p, app, name_width), &widths)).style(style);
            if focused && i == selected {
                row.style(style.patch(t.selection))
            } else {
                row
            }
        });
    let head = heading(columns::kept(POD_TITLES.map(Line::from), &widths), t.header);
    let constraints: Vec<Constraint> = widths
        .iter()
        .flatten()
        .map(|w| Constraint::Length(*w))
        .collect();
    frame.render_widget(
        Table::new(rows, constraints).header(head).column_spacing(1),
        inner,
    );
    height
}

/// The pods table's columns. On a narrow terminal NODE goes first, then AGE, LAST
/// TERMINATION and RESTARTS; NAME, TRACK, STATUS and READY stay, and NAME is cut in the
/// middle only when that is not enough, so two pods of one ReplicaSet stay apart.
const POD_TITLES: [&str; 8] = [
    "NAME",
    "TRACK",
    "STATUS",
    "READY",
    "RESTARTS",
    "AGE",
    "NODE",
    "LAST TERMINATION",
];
const POD_DROP_RANKS: [Option<u8>; 8] =
    [None, None, None, None, Some(3), Some(1), Some(0), Some(2)];

fn pod_cells(p: &PodRow, app: &App, name_width: usize) -> Vec<Cell<'static>> {
    vec![
        Cell::from(columns::middle(&p.name, name_width)),
        Cell::from(p.track.map(Track::as_str).unwrap_or("-")),
        Cell::from(p.status.clone()),
        Cell::from(format!("{}/{}", p.ready, p.containers)),
        Cell::from(p.restarts.to_string()),
        Cell::from(age(p.created, app.now)),
        Cell::from(p.node.clone().unwrap_or_default()),
        Cell::from(p.last_termination.clone().unwrap_or_default()),
    ]
}

/// Each pod column's width for the pods in view (`None`: dropped on this width).
fn pod_widths(pods: &[&PodRow], app: &App, total: u16) -> Vec<Option<u16>> {
    let widest = |i: usize, cell: &dyn Fn(&PodRow) -> String| {
        columns::widest(pods, POD_TITLES[i], |p| cell(p))
    };
    let needs = [
        widest(0, &|p| p.name.clone()),
        6,
        widest(2, &|p| p.status.clone()),
        5,
        8,
        widest(5, &|p| age(p.created, app.now)).max(4),
        widest(6, &|p| p.node.clone().unwrap_or_default()),
        widest(7, &|p| p.last_termination.clone().unwrap_or_default()),
    ];
    let cols: Vec<Column> = needs
        .into_iter()
        .zip(POD_DROP_RANKS)
        .enumerate()
        .map(|(i, (need, drop_rank))| Column {
            need,
            drop_rank,
            shrinks: i == 0,
            min: 12,
        })
        .collect();
    columns::fit(&cols, total, 1)
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
    let in_view = &events[offset.min(events.len())..(offset + height).min(events.len())];
    let widths = event_widths(in_view, inner.width);
    let object_width = widths[3].map_or(0, usize::from);
    let message_width = columns::rest(&widths, inner.width, 1);
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
                Cell::from(columns::middle(&object(e), object_width)),
                Cell::from(columns::end(&e.message, message_width)),
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
    let constraints = columns::constraints(&widths);
    frame.render_widget(
        Table::new(rows, constraints).header(head).column_spacing(1),
        inner,
    );
    height
}

/// `pod/web-aaa`: the event's object.
fn object(e: &FoldedEvent) -> String {
    format!("{}/{}", e.object_kind.to_lowercase(), e.object_name)
}

/// The events table's widths for the events in view: the message keeps at least 30 cells
/// (it is what says what happened); the object is cut in the middle to make room.
fn event_widths(events: &[FoldedEvent], total: u16) -> Vec<Option<u16>> {
    let widest =
        |title, cell: &dyn Fn(&FoldedEvent) -> String| columns::widest(events, title, |e| cell(e));
    let reason = |e: &FoldedEvent| {
        if e.count > 1 {
            format!("{} ×{}", e.reason, e.count)
        } else {
            e.reason.clone()
        }
    };
    let cols = [
        Column::fixed(9),
        Column::fixed(7),
        Column::fixed(widest("REASON", &reason)),
        Column {
            need: widest("OBJECT", &object),
            drop_rank: None,
            shrinks: true,
            min: 16,
        },
        Column::fixed(widest("MESSAGE", &|e| e.message.clone()).min(30)),
    ];
    columns::fit(&cols, total, 1)
}
