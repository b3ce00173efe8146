//! The group view's Health tab: both tracks side by side — success rate, latency p50/p99,
//! restarts, ready/desired, warning events — each with its current value and a sparkline
//! of the recent points, as this console samples them live; below, this console's live
//! verdict with the reason of every check, and the controller's: an analysis running,
//! and the verdict it stored with the release (the same in every console).
//! Pure: it draws what [`HealthTab::of`] gathered from the app.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};

use crate::config::Theme;
use crate::domain::{GroupKey, InstanceGroup, Phase, Release, Step};
use crate::health::judge::CheckOutcome;
use crate::health::{HealthReport, Judgement, LiveHealth, Metric, TrackPoint, Verdict};
use crate::model::GroupSummary;
use crate::model::sanitize::clean;
use crate::tui::app::App;
use crate::tui::widgets::age::age;

/// The mark of a group in the groups list: a character and its style. No report or no
/// verdict yet is a quiet dot, never a tick.
pub fn mark(verdict: Option<Verdict>, theme: &Theme) -> (&'static str, Style) {
    match verdict {
        Some(Verdict::Pass) => ("✓", theme.ok),
        Some(Verdict::Marginal) => ("~", theme.warning),
        Some(Verdict::Fail) => ("✗", theme.error),
        Some(Verdict::Inconclusive) | None => ("·", theme.muted),
    }
}

/// One row: a name, a value, and how to read a point into the sparkline.
struct Row {
    name: &'static str,
    value: fn(&TrackPoint) -> Option<f64>,
    show: fn(f64) -> String,
}

const ROWS: [Row; 6] = [
    Row {
        name: "success",
        value: |t| t.success_rate,
        show: |v| Metric::SuccessRate.format(v),
    },
    Row {
        name: "p50",
        value: |t| t.latency_p50,
        show: |v| Metric::LatencyP50.format(v),
    },
    Row {
        name: "p99",
        value: |t| t.latency_p99,
        show: |v| Metric::LatencyP99.format(v),
    },
    Row {
        name: "restarts",
        value: |t| Some(f64::from(t.restarts)),
        show: |v| format!("{v:.0}"),
    },
    Row {
        name: "ready",
        value: |t| Some(f64::from(t.ready)),
        show: |v| format!("{v:.0}"),
    },
    Row {
        name: "warnings",
        value: |t| Some(f64::from(t.warnings)),
        show: |v| format!("{v:.0}"),
    },
];

/// What the Health tab draws, gathered from the app.
pub struct HealthTab<'a> {
    /// This console's samples of the live canary, if the group has one.
    pub live: Option<&'a LiveHealth>,
    /// A running analysis of the controller in this process (the demo's).
    pub running: Option<&'a HealthReport>,
    pub group: Option<&'a InstanceGroup>,
    pub release: Option<&'a Release>,
    pub now: Timestamp,
}

impl<'a> HealthTab<'a> {
    pub fn of(app: &'a App, key: &GroupKey) -> HealthTab<'a> {
        let entry = app.estate().group(key);
        HealthTab {
            live: app.live_of(key),
            running: app.health_of(key),
            group: entry.map(|e| &e.group),
            release: entry.and_then(|e| e.release.as_ref()),
            now: app.now,
        }
    }

    fn in_flight(&self) -> bool {
        self.release.is_some_and(|r| r.phase.in_flight())
    }
}

/// The groups list's health mark: nothing without a live canary; else this console's live
/// verdict (or the in-process analysis's, before the first sample), a quiet dot until
/// there is one.
pub fn list_mark(app: &App, s: &GroupSummary) -> (&'static str, Style) {
    if !s.phase.in_flight() {
        return ("", Style::default());
    }
    let verdict = match app.live_of(&s.key) {
        Some(l) => l.report.verdict(),
        None => app.health_of(&s.key).and_then(HealthReport::verdict),
    };
    mark(verdict, &app.theme)
}

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, tab: &HealthTab) {
    let mut lines = live_lines(theme, tab);
    lines.extend(controller_lines(theme, tab));
    let report = tab
        .live
        .map(|l| &l.report)
        .or(tab.running)
        .filter(|r| !r.points.is_empty());
    let Some(report) = report else {
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    };
    // A row per metric and the borders; the verdicts and their reasons take the rest. Where
    // that leaves the verdicts too little (24 rows), the tracks keep only their title line.
    let width = usize::from(area.width.max(1));
    let verdict_rows: usize = 1 + lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(width))
        .sum::<usize>();
    let boxed = ROWS.len() as u16 + 2;
    let borders = if usize::from(area.height) >= usize::from(boxed) + verdict_rows {
        Borders::ALL
    } else {
        Borders::TOP
    };
    let tracks_height = if borders == Borders::ALL {
        boxed
    } else {
        boxed - 1
    };
    let [tracks, verdict] =
        Layout::vertical([Constraint::Length(tracks_height), Constraint::Fill(1)]).areas(area);
    let [stable, canary] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(tracks);
    draw_track(frame, stable, theme, report, false, borders);
    draw_track(frame, canary, theme, report, true, borders);
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border)
        .title(" verdicts ");
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        verdict,
    );
}

/// This console's live verdict and its checks; or why there is none (in one line at 80
/// columns, so the controller's verdict below it still shows on 24 rows).
fn live_lines(theme: &Theme, tab: &HealthTab) -> Vec<Line<'static>> {
    let label = Span::styled("live        ", theme.accent);
    let Some(live) = tab.live else {
        let why = if tab.in_flight() {
            "no health data yet: sampled every few seconds"
        } else {
            "no canary in flight: sampled while a release has one"
        };
        return vec![Line::from(vec![label, Span::styled(why, theme.muted)])];
    };
    let every = format!("  this console samples every {}s", live.every.as_secs());
    let mut lines = match &live.report.judgement {
        Some(j) => {
            let mut head = vec![label];
            head.extend(verdict_spans(theme, j.verdict, Some(j.score)));
            head.push(Span::styled(every, theme.muted));
            let mut out = vec![Line::from(head)];
            out.extend(check_lines(theme, j));
            out
        }
        None => vec![Line::from(vec![
            label,
            Span::styled(format!("no verdict yet{every}"), theme.muted),
        ])],
    };
    if let Some(note) = &live.note {
        lines.push(Line::from(Span::styled(
            format!("  {}", clean(note)),
            theme.warning,
        )));
    }
    if let Some(e) = live.report.points.last().and_then(|p| p.error.as_deref()) {
        lines.push(Line::from(Span::styled(
            format!("  {}", clean(e)),
            theme.muted,
        )));
    }
    lines
}

/// The controller's side: an analysis running in this process (the demo), one running
/// elsewhere (known from the release), and the verdict stored with the release.
fn controller_lines(theme: &Theme, tab: &HealthTab) -> Vec<Line<'static>> {
    let label = || Span::styled("controller  ", theme.accent);
    let mut lines = Vec::new();
    if let Some(report) = tab.running {
        let mut head = vec![label()];
        head.push(Span::styled(
            format!("{} ", report.analysis.as_deref().unwrap_or("analysis")),
            theme.text,
        ));
        match &report.judgement {
            Some(j) => {
                head.extend(verdict_spans(theme, j.verdict, Some(j.score)));
                lines.push(Line::from(head));
                lines.extend(check_lines(theme, j));
            }
            None => {
                head.push(Span::styled("no verdict yet", theme.muted));
                lines.push(Line::from(head));
            }
        }
    } else if let Some(step) = analysing(tab) {
        lines.push(Line::from(vec![
            label(),
            Span::styled(
                format!("analysis running at step {step}: its verdict shows here when it ends"),
                theme.muted,
            ),
        ]));
    }
    if let Some(a) = tab.release.and_then(|r| r.analysis.as_ref()) {
        let mut head = vec![label()];
        head.push(Span::styled("last analysis ", theme.text));
        head.extend(verdict_spans(theme, a.verdict.into(), a.score));
        let revision = a
            .canary_revision
            .map(|n| format!(" of r{n}"))
            .unwrap_or_default();
        head.push(Span::styled(
            format!(
                "  at step {}{revision} → {}, {} ago",
                a.step,
                clean(&a.action),
                age(Some(a.at), tab.now)
            ),
            theme.muted,
        ));
        lines.push(Line::from(head));
        let style = mark(Some(a.verdict.into()), theme).1;
        for r in &a.reasons {
            lines.push(Line::from(Span::styled(format!("  {}", clean(r)), style)));
        }
    }
    lines
}

/// The step of an analysis the controller runs now, as the store tells it.
fn analysing(tab: &HealthTab) -> Option<usize> {
    let (g, r) = (tab.group?, tab.release?);
    let at = matches!(g.spec.strategy.steps.get(r.step), Some(Step::Analysis(_)));
    (at && r.phase == Phase::Progressing).then_some(r.step)
}

fn verdict_spans(theme: &Theme, verdict: Verdict, score: Option<u8>) -> Vec<Span<'static>> {
    let (m, style) = mark(Some(verdict), theme);
    let mut spans = vec![Span::styled(format!("{m} {} ", verdict.as_str()), style)];
    if let Some(score) = score {
        spans.push(Span::styled(format!("score {score}"), theme.text));
    }
    spans
}

fn check_lines(theme: &Theme, j: &Judgement) -> Vec<Line<'static>> {
    j.checks
        .iter()
        .map(|c| {
            let style = match c.outcome {
                CheckOutcome::Pass => theme.ok,
                CheckOutcome::Marginal => theme.warning,
                CheckOutcome::Fail => theme.error,
                CheckOutcome::NoData => theme.muted,
            };
            Line::from(Span::styled(format!("  {}", clean(&c.reason)), style))
        })
        .collect()
}

fn draw_track(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    report: &HealthReport,
    canary: bool,
    borders: Borders,
) {
    let (title, style) = if canary {
        ("canary", theme.canary)
    } else {
        ("stable", theme.stable)
    };
    let last = report
        .points
        .last()
        .map(|p| if canary { &p.canary } else { &p.stable });
    let desired = last.map_or(0, |t| t.desired);
    let block = Block::default()
        .borders(borders)
        .border_style(theme.border)
        .title(Span::styled(format!(" {title} "), style));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = Layout::vertical(ROWS.iter().map(|_| Constraint::Length(1))).split(inner);
    for (row, rect) in ROWS.iter().zip(rows.iter()) {
        let [label, spark] =
            Layout::horizontal([Constraint::Length(20), Constraint::Min(0)]).areas(*rect);
        let value = last.and_then(|t| (row.value)(t));
        let mut shown = value.map_or("no data".to_string(), row.show);
        if row.name == "ready" {
            shown = format!("{shown}/{desired}");
        }
        let value_style = if value.is_some() {
            theme.text
        } else {
            theme.muted
        };
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!("{:<9}", row.name), theme.muted),
                Span::styled(shown, value_style),
            ])),
            label,
        );
        let data = sparkline_data(report, canary, row, spark.width as usize);
        frame.render_widget(Sparkline::default().data(&data).style(style), spark);
    }
}

/// The last `width` points scaled to integers (a sparkline draws u64s); missing points are 0.
fn sparkline_data(report: &HealthReport, canary: bool, row: &Row, width: usize) -> Vec<u64> {
    let start = report.points.len().saturating_sub(width);
    report.points[start..]
        .iter()
        .map(|p| {
            let t = if canary { &p.canary } else { &p.stable };
            (row.value)(t).map_or(0, |v| (v * 1000.0).max(0.0) as u64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{HealthPoint, judge};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn report() -> HealthReport {
        let t = |sr: f64, p99: f64, ready| TrackPoint {
            requests: Some(50.0),
            rps: Some(50.0),
            success_rate: Some(sr),
            latency_p50: Some(0.03),
            latency_p99: Some(p99),
            ready,
            desired: ready,
            ..TrackPoint::default()
        };
        let points: Vec<HealthPoint> = (0..8)
            .map(|_| HealthPoint {
                at: jiff::Timestamp::now(),
                stable: t(0.999, 0.12, 3),
                canary: t(0.92, 0.9, 1),
                error: None,
                pods_read: true,
            })
            .collect();
        let mut min = crate::health::MetricCheck::new(Metric::SuccessRate);
        min.min = Some(0.99);
        HealthReport {
            judgement: Some(judge(&[min], &points)),
            points,
            analysis: Some("analysis 2/3 at step 1".into()),
        }
    }

    fn tab<'a>(
        live: Option<&'a LiveHealth>,
        running: Option<&'a HealthReport>,
        release: Option<&'a Release>,
    ) -> HealthTab<'a> {
        HealthTab {
            live,
            running,
            group: None,
            release,
            now: jiff::Timestamp::now(),
        }
    }

    fn screen(tab: &HealthTab) -> String {
        let mut term = Terminal::new(TestBackend::new(110, 24)).unwrap();
        let theme = Theme::built_in("default").unwrap();
        term.draw(|f| draw(f, f.area(), &theme, tab)).unwrap();
        let buf = term.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn in_flight() -> Release {
        let mut r = Release::stable(GroupKey::new("sim", "shop", "web"), 1, "alice");
        r.phase = Phase::Paused;
        r.canary_revision = Some(2);
        r
    }

    #[test]
    fn both_tracks_side_by_side_with_the_verdict_and_its_reasons() {
        let report = report();
        let s = screen(&tab(None, Some(&report), None));
        assert!(s.contains("stable") && s.contains("canary"), "{s}");
        assert!(s.contains("99.90%") && s.contains("92.00%"), "{s}");
        assert!(
            s.contains("900ms") && s.contains("3/3") && s.contains("1/1"),
            "{s}"
        );
        assert!(
            s.contains("✗ Fail") && s.contains("below min 99.00%"),
            "{s}"
        );
        assert!(s.contains("analysis 2/3"), "{s}");
    }

    #[test]
    fn live_samples_beside_the_stored_verdict() {
        let mut report = report();
        report.analysis = None;
        let live = LiveHealth {
            report,
            every: std::time::Duration::from_secs(2),
            note: Some("no Prometheus\x1b[2J here".into()),
        };
        let mut release = in_flight();
        release.analysis = Some(crate::domain::release::AnalysisRecord {
            verdict: crate::domain::release::AnalysisVerdict::Marginal,
            score: Some(50),
            reasons: vec!["latency-p99: canary 300ms vs stable 120ms".into()],
            step: 3,
            canary_revision: Some(2),
            action: "pause".into(),
            at: jiff::Timestamp::now() - jiff::SignedDuration::from_secs(90),
        });
        let s = screen(&tab(Some(&live), None, Some(&release)));
        assert!(s.contains("live") && s.contains("samples every 2s"), "{s}");
        assert!(
            s.contains("✗ Fail") && s.contains("below min 99.00%"),
            "{s}"
        );
        assert!(s.contains("~ Marginal score 50"), "{s}");
        assert!(s.contains("at step 3 of r2 → pause, 1m ago"), "{s}");
        assert!(s.contains("canary 300ms vs stable 120ms"), "{s}");
        assert!(
            s.contains("no Prometheus here") && !s.contains('\x1b'),
            "{s}"
        );
    }

    #[test]
    fn without_data_it_says_so() {
        assert!(screen(&tab(None, None, None)).contains("no canary in flight"));
        let release = in_flight();
        assert!(screen(&tab(None, None, Some(&release))).contains("no health data yet"));
        let theme = Theme::built_in("default").unwrap();
        assert_eq!(mark(None, &theme).0, "·");
        assert_eq!(mark(Some(Verdict::Fail), &theme).0, "✗");
    }
}
