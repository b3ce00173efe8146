//! The group view's Health tab: both tracks side by side — success rate, latency p50/p99,
//! restarts, ready/desired, warning events — each with its current value and a sparkline
//! of the recent points; below, the verdict, its score and the reason of every check.
//! Pure: it draws a [`HealthReport`] (from the agent's reports) and nothing else.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};

use crate::config::Theme;
use crate::health::judge::CheckOutcome;
use crate::health::{HealthReport, Metric, TrackPoint, Verdict};

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

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, report: Option<&HealthReport>) {
    let Some(report) = report.filter(|r| !r.points.is_empty()) else {
        let text = Paragraph::new("no health data yet: it is sampled while an analysis runs")
            .style(theme.muted);
        frame.render_widget(text, area);
        return;
    };
    let checks = report.judgement.as_ref().map_or(0, |j| j.checks.len()) as u16;
    let [tracks, verdict] =
        Layout::vertical([Constraint::Min(8), Constraint::Length(checks + 3)]).areas(area);
    let [stable, canary] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(tracks);
    draw_track(frame, stable, theme, report, false);
    draw_track(frame, canary, theme, report, true);
    draw_verdict(frame, verdict, theme, report);
}

fn draw_track(frame: &mut Frame, area: Rect, theme: &Theme, report: &HealthReport, canary: bool) {
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
        .borders(Borders::ALL)
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

fn draw_verdict(frame: &mut Frame, area: Rect, theme: &Theme, report: &HealthReport) {
    let mut lines = Vec::new();
    match &report.judgement {
        Some(j) => {
            let (m, style) = mark(Some(j.verdict), theme);
            lines.push(Line::from(vec![
                Span::styled(format!("{m} {} ", j.verdict.as_str()), style),
                Span::styled(format!("score {}", j.score), theme.text),
                Span::styled(
                    report
                        .analysis
                        .as_deref()
                        .map(|a| format!("  {a}"))
                        .unwrap_or_default(),
                    theme.muted,
                ),
            ]));
            for c in &j.checks {
                let style = match c.outcome {
                    CheckOutcome::Pass => theme.ok,
                    CheckOutcome::Marginal => theme.warning,
                    CheckOutcome::Fail => theme.error,
                    CheckOutcome::NoData => theme.muted,
                };
                lines.push(Line::from(Span::styled(format!("  {}", c.reason), style)));
            }
        }
        None => lines.push(Line::from(Span::styled("no verdict yet", theme.muted))),
    }
    if let Some(e) = report.points.last().and_then(|p| p.error.as_deref()) {
        lines.push(Line::from(Span::styled(e.to_string(), theme.error)));
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border)
        .title(" verdict ");
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
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

    fn screen(report: Option<&HealthReport>) -> String {
        let mut term = Terminal::new(TestBackend::new(100, 20)).unwrap();
        let theme = Theme::built_in("default").unwrap();
        term.draw(|f| draw(f, f.area(), &theme, report)).unwrap();
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

    #[test]
    fn both_tracks_side_by_side_with_the_verdict_and_its_reasons() {
        let s = screen(Some(&report()));
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
    fn without_data_it_says_so() {
        assert!(screen(None).contains("no health data yet"));
        let theme = Theme::built_in("default").unwrap();
        assert_eq!(mark(None, &theme).0, "·");
        assert_eq!(mark(Some(Verdict::Fail), &theme).0, "✗");
    }
}
