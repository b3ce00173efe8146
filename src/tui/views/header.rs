//! Two lines at the top: where you are (cluster, namespace, user) and whether what you
//! see is live (the store's connection and each cluster's), plus the list's sort and filter.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::Theme;
use crate::model::{Conn, Part};
use crate::tui::app::App;
use crate::tui::app::state::Screen;
use crate::tui::widgets::columns;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let label = |s: &'static str| Span::styled(s, t.muted);
    let value = |s: &str| Span::styled(s.to_string(), t.header);
    let ns = app.groups.namespace.as_deref().unwrap_or("all");
    let focus = app.groups.cluster.as_deref().unwrap_or("all");
    let line = |context: &str| {
        let mut first = Line::from(vec![
            Span::styled(" flightdeck ", t.accent.add_modifier(Modifier::REVERSED)),
            label("  cluster "),
            value(context),
            label("  namespace "),
            value(ns),
            label("  user "),
            value(&app.user),
        ]);
        if app.unauthenticated {
            first.push_span(Span::styled(" unauthenticated", t.warning));
        }
        first
    };
    let mut first = line(focus);
    // A cloud context name (gke_project_region_cluster) is cut in the middle before the
    // namespace and the user are lost at the border.
    let over = first.width().saturating_sub(usize::from(area.width));
    if over > 0 {
        let keep = focus.chars().count().saturating_sub(over).max(12);
        first = line(&columns::middle(focus, keep));
    }
    let mut second = vec![label(" store "), value(&app.store), Span::raw(" ")];
    second.extend(conn(t, &app.estate.connection(&Part::Store)));
    second.extend(clusters(app));
    match app.estate.unreadable_count() {
        0 => {}
        1 => second.push(Span::styled("  1 unreadable key", t.warning)),
        n => second.push(Span::styled(format!("  {n} unreadable keys"), t.warning)),
    }
    if let Some((cluster, reaches)) = app.foreign_clusters.iter().next() {
        second.push(Span::styled(format!("  ≠ {cluster}: {reaches}"), t.error));
    }
    let [line1, line2] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(1),
        ratatui::layout::Constraint::Length(1),
    ])
    .areas(area);
    let used = first.width();
    frame.render_widget(Paragraph::new(first), line1);
    frame.render_widget(Paragraph::new(Line::from(second)), line2);

    if matches!(app.screen, Screen::Groups) {
        let g = &app.groups;
        let arrow = if g.ascending { "↑" } else { "↓" };
        let mut right = vec![label("sort "), value(&format!("{}{arrow}", g.sort.label()))];
        if !g.filter.is_empty() {
            right.push(label("  filter "));
            right.push(value(&format!("\"{}\"", g.filter)));
        }
        right.push(Span::raw(" "));
        let right = Line::from(right);
        // Only beside the first line, never over it (a long context name at 80 columns).
        if used + 2 + right.width() <= usize::from(line1.width) {
            frame.render_widget(Paragraph::new(right).alignment(Alignment::Right), line1);
        }
    }
}

/// Each cluster's state: one cluster (or the one `:ctx` narrowed to) in full words with
/// the reason; several side by side in a word each (`up`, `down`…), so that at 80 columns
/// three clusters still fit, the reason of a down one being in its groups' view.
fn clusters(app: &App) -> Vec<Span<'static>> {
    let t = &app.theme;
    let mut all = app.estate.clusters();
    all.sort_by_key(|c| crate::tui::app::rows::cluster_rank(&app.groups.cluster_order, c));
    let shown: Vec<&str> = match app.groups.cluster.as_deref() {
        Some(one) => vec![one],
        None => all,
    };
    let mut out = Vec::new();
    match shown.as_slice() {
        [] => {
            out.push(Span::styled("  cluster ", t.muted));
            out.push(Span::styled("no groups yet", t.muted));
        }
        [one] => {
            out.push(Span::styled("  cluster ", t.muted));
            out.extend(conn(t, &app.estate.cluster_connection(one)));
            // Narrowed by `:ctx`: the others that are not up are still said.
            for other in app.estate.clusters() {
                let state = app.estate.cluster_connection(other);
                if other != *one && matches!(state, Conn::Failed(_) | Conn::Reconnecting(_)) {
                    out.push(Span::styled(format!("  {other} "), t.muted));
                    out.push(short(t, &state));
                }
            }
        }
        many => {
            out.push(Span::styled("  clusters", t.muted));
            for c in many {
                out.push(Span::styled(format!(" {c} "), t.header));
                out.push(short(t, &app.estate.cluster_connection(c)));
            }
        }
    }
    out
}

/// A cluster's state in one word, in its colour: `down` in the warning colour while its
/// watchers retry, in the error colour once they gave up (the reason is in its groups'
/// view).
pub fn short(t: &Theme, c: &Conn) -> Span<'static> {
    match c {
        Conn::Connected => Span::styled("up", t.ok),
        Conn::Connecting => Span::styled("connecting…", t.muted),
        Conn::Reconnecting(_) => Span::styled("down", t.warning),
        Conn::Failed(_) => Span::styled("down", t.error),
    }
}

/// A connection state as words in its colour: `connected`, `connecting`,
/// `reconnecting (why)` in the warning colour, `failed: why` in the error colour.
fn conn(t: &Theme, c: &Conn) -> Vec<Span<'static>> {
    let styled = |s: String, style: Style| vec![Span::styled(s, style)];
    match c {
        Conn::Connected => styled("connected".into(), t.ok),
        Conn::Connecting => styled("connecting…".into(), t.muted),
        Conn::Reconnecting(why) if why.is_empty() => styled("reconnecting".into(), t.warning),
        Conn::Reconnecting(why) => styled(format!("reconnecting ({why})"), t.warning),
        Conn::Failed(why) => styled(format!("failed: {why}"), t.error),
    }
}
