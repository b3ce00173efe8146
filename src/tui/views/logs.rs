//! The log viewer: a status line, the dropped-lines notice, the lines (each tagged with its
//! pod in the pod's colour — cool colours for stable, warm for canary), and the prompt or
//! hint line. Only the lines on screen are looked at, so a million-line buffer draws as
//! fast as a hundred-line one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::config::action::Action;
use crate::config::{Keymap, Mode, Theme};
use crate::logs::{LineKind, LogLine, Track};
use crate::tui::logs_view::{LogsView, PromptKind};

const STABLE: &[Color] = &[
    Color::Blue,
    Color::Cyan,
    Color::Green,
    Color::LightBlue,
    Color::LightCyan,
    Color::LightGreen,
];
const CANARY: &[Color] = &[
    Color::Yellow,
    Color::Magenta,
    Color::LightRed,
    Color::LightYellow,
    Color::LightMagenta,
    Color::Red,
];
/// The pod column never takes more than this (nor a third of the width).
const POD_WIDTH: usize = 32;

/// Draws the viewer into `area`; returns the height of the lines area, for paging.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    view: &LogsView,
    theme: &Theme,
    keymap: &Keymap,
) -> usize {
    frame.render_widget(Clear, area);
    let dropped = view.buffer().dropped();
    let [status, notice, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(dropped > 0)),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(status_line(view, theme)), status);
    if dropped > 0 {
        let limits = view.buffer().limits();
        let text = format!(
            "⚠ {dropped} older lines dropped (buffer keeps {} lines / {} MiB)",
            limits.max_lines,
            limits.max_bytes >> 20
        );
        frame.render_widget(Paragraph::new(Span::styled(text, theme.warning)), notice);
    }
    let rows = body_rows(view, theme, body.width as usize, body.height as usize);
    frame.render_widget(Paragraph::new(rows), body);
    draw_bottom(frame, bottom, view, theme, keymap);
    view.page.set(body.height as usize);
    body.height as usize
}

fn status_line<'a>(view: &'a LogsView, theme: &Theme) -> Line<'a> {
    let mut spans = vec![
        Span::styled(format!(" logs {} ", view.title), theme.header),
        Span::styled(
            format!(" {} pods ", view.sources().pods().len()),
            theme.muted,
        ),
    ];
    if view.following() {
        spans.push(Span::styled(" ● following ", theme.ok));
    } else {
        spans.push(Span::styled(
            format!(" ⏸ paused · {} new lines (end to follow) ", view.waiting),
            theme.warning,
        ));
    }
    if view.finished {
        spans.push(Span::styled(" end of logs ", theme.muted));
    }
    if view.narrow != crate::tui::logs_view::Narrow::All {
        spans.push(Span::styled(
            format!(" {} ", view.narrow.label()),
            theme.accent,
        ));
    }
    if let Some(p) = view.search() {
        let what = if view.filter { "filter" } else { "search" };
        spans.push(Span::styled(
            format!(" {what} /{} ", p.as_str()),
            theme.accent,
        ));
    }
    let flags: Vec<&str> = [(view.wrap, "wrap"), (view.timestamps, "time")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
    if !flags.is_empty() {
        spans.push(Span::styled(format!(" {} ", flags.join(" ")), theme.muted));
    }
    Line::from(spans)
}

fn draw_bottom(frame: &mut Frame, area: Rect, view: &LogsView, theme: &Theme, keymap: &Keymap) {
    if let Some(p) = &view.prompt {
        let label = match p.kind {
            PromptKind::Search => "/",
            PromptKind::SaveShown => "save shown lines to: ",
            PromptKind::SaveAll => "save whole buffer to: ",
        };
        let width = (area.width as usize).saturating_sub(label.chars().count() + 1);
        let scroll = p.input.visual_scroll(width);
        let visible: String = p.input.value().chars().skip(scroll).collect();
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(label, theme.accent),
                Span::styled(visible, theme.text),
            ])),
            area,
        );
        let x = label.chars().count() + p.input.visual_cursor().saturating_sub(scroll);
        frame.set_cursor_position((
            area.x + (x as u16).min(area.width.saturating_sub(1)),
            area.y,
        ));
        return;
    }
    if let Some(n) = &view.notice {
        frame.render_widget(
            Paragraph::new(Span::styled(n.as_str(), theme.warning)),
            area,
        );
        return;
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            hint_line(keymap, area.width as usize),
            theme.muted,
        )),
        area,
    );
}

/// The viewer's keys, most useful first.
/// The hint line's actions, most useful first.
const HINTS: [Action; 12] = [
    Action::Search,
    Action::Back,
    Action::NextMatch,
    Action::Filter,
    Action::Follow,
    Action::Bottom,
    Action::Wrap,
    Action::Timestamps,
    Action::PodColumn,
    Action::CycleTrack,
    Action::CyclePod,
    Action::SaveShown,
];

/// As many whole hints as fit in `width`, each with its first key in `keymap`'s `[logs]`.
fn hint_line(keymap: &Keymap, width: usize) -> String {
    let mut line = String::new();
    for action in HINTS {
        let Some(key) = keymap.keys(Mode::Logs, action).first() else {
            continue;
        };
        let word = match action {
            Action::Back => "close",
            Action::Bottom => "follow",
            a => a.hint(),
        };
        let h = format!("{key} {word}");
        let sep = if line.is_empty() { "" } else { "  " };
        if line.chars().count() + sep.len() + h.chars().count() > width {
            break;
        }
        line.push_str(sep);
        line.push_str(&h);
    }
    line
}

/// The pod's style: its own colour from its track's palette (plain themes keep the
/// theme's stable/canary styles so the tracks still differ).
fn pod_style(track: Track, colour: usize, theme: &Theme) -> Style {
    let mono = theme.name == "mono";
    match track {
        Track::Canary if mono => theme.canary,
        Track::Canary => Style::default()
            .fg(CANARY[colour % CANARY.len()])
            .add_modifier(Modifier::BOLD),
        _ if mono => theme.stable,
        _ => Style::default().fg(STABLE[colour % STABLE.len()]),
    }
}

fn body_rows<'a>(view: &'a LogsView, theme: &Theme, width: usize, height: usize) -> Vec<Line<'a>> {
    if height == 0 || width == 0 {
        return Vec::new();
    }
    let Some(bottom) = view.bottom_seq() else {
        return vec![Line::from(Span::styled(
            "waiting for log lines…",
            theme.muted,
        ))];
    };
    // Without wrapping each line is one row; with it a line is at least one.
    let seqs = view.shown_before(bottom, height);
    let pod_width = if view.pod_column {
        seqs.iter()
            .filter_map(|s| view.buffer().get(*s))
            .filter_map(|l| view.sources().get(l.source).map(|s| (l, s)))
            .map(|(l, s)| {
                s.label(view.sources().multi_container(l.source))
                    .chars()
                    .count()
                    + 2
            })
            .max()
            .unwrap_or(0)
            .min(POD_WIDTH)
            .min(width / 3)
    } else {
        0
    };
    let mut rows: Vec<Line> = Vec::with_capacity(height);
    for seq in seqs {
        let Some(line) = view.buffer().get(seq) else {
            continue;
        };
        let mut lines = line_rows(view, line, theme, width, pod_width, height);
        lines.reverse();
        rows.extend(lines);
        if rows.len() >= height {
            break;
        }
    }
    rows.truncate(height);
    rows.reverse();
    rows
}

/// One log line as rows (one when not wrapping, the last `max_rows` at most).
fn line_rows<'a>(
    view: &'a LogsView,
    line: &'a LogLine,
    theme: &Theme,
    width: usize,
    pod_width: usize,
    max_rows: usize,
) -> Vec<Line<'a>> {
    let mut prefix: Vec<Span> = Vec::new();
    if pod_width > 0 {
        let (label, style) = match view.sources().get(line.source) {
            Some(s) => {
                let mark = if s.track == Track::Canary { "▲" } else { " " };
                let mut style = pod_style(s.track, s.colour, theme);
                if s.gone {
                    style = style.add_modifier(Modifier::CROSSED_OUT);
                }
                (
                    format!(
                        "{mark}{}",
                        s.label(view.sources().multi_container(line.source))
                    ),
                    style,
                )
            }
            None => (" ?".into(), theme.muted),
        };
        // Cut in the middle: pods of one ReplicaSet differ only at the end.
        let label = crate::tui::widgets::columns::middle(&label, pod_width - 1);
        prefix.push(Span::styled(format!("{label:<w$}", w = pod_width), style));
    }
    if view.timestamps {
        let t = line
            .time()
            .map(|t| t.strftime("%H:%M:%S%.3f ").to_string())
            .unwrap_or_else(|| " ".repeat(13));
        prefix.push(Span::styled(t, theme.muted));
    }
    let prefix_width: usize = prefix.iter().map(|s| s.content.chars().count()).sum();
    let avail = width.saturating_sub(prefix_width).max(1);
    let base = if line.kind == LineKind::Marker {
        theme.warning
    } else {
        theme.text
    };
    let highlight = theme.selection.add_modifier(Modifier::BOLD);
    // Never look at more of a huge line than the screen can show.
    let budget = if view.wrap { avail * max_rows } else { avail };
    let cut = char_boundary(&line.text, budget);
    let text = &line.text[..cut];
    let ranges = view
        .search()
        .filter(|_| line.kind == LineKind::Log)
        .map(|p| p.ranges(text))
        .unwrap_or_default();
    let chunks: Vec<(usize, usize)> = if view.wrap {
        chunk_bytes(text, avail)
    } else {
        vec![(0, text.len())]
    };
    let indent = " ".repeat(prefix_width);
    let mut rows = Vec::with_capacity(chunks.len());
    for (i, (a, b)) in chunks.into_iter().enumerate() {
        let mut spans = if i == 0 {
            prefix.clone()
        } else {
            vec![Span::raw(indent.clone())]
        };
        spans.extend(highlighted(text, a, b, &ranges, base, highlight));
        rows.push(Line::from(spans));
    }
    if rows.len() > max_rows {
        rows.drain(..rows.len() - max_rows);
    }
    rows
}

/// The byte index after at most `chars` characters.
fn char_boundary(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

fn chunk_bytes(s: &str, chars: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < s.len() {
        let end = start + char_boundary(&s[start..], chars);
        out.push((start, end));
        start = end;
    }
    if out.is_empty() {
        out.push((0, 0));
    }
    out
}

/// Spans of `text[a..b]`, with the parts inside `ranges` highlighted.
fn highlighted<'a>(
    text: &'a str,
    a: usize,
    b: usize,
    ranges: &[(usize, usize)],
    base: Style,
    hl: Style,
) -> Vec<Span<'a>> {
    let mut out = Vec::new();
    let mut at = a;
    for &(s, e) in ranges {
        let (s, e) = (s.max(a), e.min(b));
        if s >= e {
            continue;
        }
        if s > at {
            out.push(Span::styled(&text[at..s], base));
        }
        out.push(Span::styled(&text[s..e], hl));
        at = e;
    }
    if at < b {
        out.push(Span::styled(&text[at..b], base));
    }
    out
}
