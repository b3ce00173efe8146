//! The agent's health reports in the console: the group view's Health tab and the mark of
//! each group in the groups list.

mod tui_support;

use std::sync::Arc;

use ratatui::style::Color;

use flightdeck::agent::Reports;
use flightdeck::health::{HealthPoint, HealthReport, Metric, MetricCheck, TrackPoint, judge};
use flightdeck::model::Update;
use tui_support::*;

fn track(success_rate: f64, ready: u32) -> TrackPoint {
    TrackPoint {
        requests: Some(50.0),
        rps: Some(50.0),
        success_rate: Some(success_rate),
        latency_p50: Some(0.03),
        latency_p99: Some(0.2),
        ready,
        desired: ready,
        ..TrackPoint::default()
    }
}

/// A failing canary: 92% success against a minimum of 99%.
fn failing() -> HealthReport {
    let points: Vec<HealthPoint> = (0..8)
        .map(|i| HealthPoint {
            at: now() - jiff::SignedDuration::from_secs(10 * (8 - i)),
            stable: track(0.999, 2),
            canary: track(0.92, 1),
            error: None,
            pods_read: true,
        })
        .collect();
    let mut min = MetricCheck::new(Metric::SuccessRate);
    min.min = Some(0.99);
    HealthReport {
        judgement: Some(judge(&[min], &points)),
        points,
        analysis: Some("analysis 3/6 at step 1".into()),
    }
}

fn reports(entries: Vec<(&str, &str, HealthReport)>) -> Update {
    let map: Reports = entries
        .into_iter()
        .map(|(name, ns, r)| (key_of(name, ns), r))
        .collect();
    Update::HealthReports(Arc::new(map))
}

fn open_web(app: &mut flightdeck::tui::app::App) {
    press(app, &[":"]);
    type_text(app, "group web");
    press(app, &["enter"]);
}

#[test]
fn the_health_tab_shows_the_open_groups_verdict_and_reasons() {
    let mut app = app();
    shop(&mut app);
    open_web(&mut app);
    press(&mut app, &["h"]);
    let buf = screen(&mut app);
    assert!(text(&buf).contains("no health data yet"), "{}", text(&buf));

    app.apply(reports(vec![("web", "shop", failing())]));
    let buf = screen(&mut app);
    let all = text(&buf);
    assert!(all.contains("health"), "{all}");
    assert!(all.contains("✗ Fail"), "{all}");
    assert!(all.contains("below min 99.00%"), "{all}");
    assert!(all.contains("analysis 3/6 at step 1"), "{all}");
    assert!(all.contains("stable") && all.contains("canary"), "{all}");
    assert!(all.contains("92.00%"), "{all}");
    // The tab replaces the tables.
    assert!(!all.contains("LAST TERMINATION"), "{all}");

    // The same key goes back to the pods and events.
    press(&mut app, &["h"]);
    let all = text(&screen(&mut app));
    assert!(
        all.contains("web-canary-ccc") && !all.contains("✗ Fail"),
        "{all}"
    );
}

#[test]
fn another_groups_report_is_not_shown() {
    let mut app = app();
    shop(&mut app);
    app.apply(reports(vec![("worker", "shop", failing())]));
    open_web(&mut app);
    press(&mut app, &["h"]);
    let all = text(&screen(&mut app));
    assert!(all.contains("no health data yet"), "{all}");
    assert!(!all.contains("✗ Fail"), "{all}");
}

#[test]
fn vim_keys_open_the_health_tab_with_shift_h() {
    let mut init = init();
    init.keymap = flightdeck::config::Keymap::built_in("vim").unwrap();
    let mut app = app_with(init);
    shop(&mut app);
    app.apply(reports(vec![("web", "shop", failing())]));
    open_web(&mut app);
    press(&mut app, &["shift-h"]);
    assert!(text(&screen(&mut app)).contains("✗ Fail"));
}

#[test]
fn the_groups_list_marks_a_failing_group() {
    let mut app = app();
    shop(&mut app);
    app.apply(reports(vec![("web", "shop", failing())]));
    let buf = screen(&mut app);
    let (_, web) = find(&buf, "  web ").unwrap();
    let mark = &buf[(3, web)];
    assert_eq!(mark.symbol(), "✗");
    assert_eq!(mark.fg, Color::LightRed);
    // The warning mark keeps its place.
    assert_eq!(buf[(1, web)].symbol(), "!");
    // A group without a report gets the quiet dot, never a tick.
    let (_, worker) = find(&buf, "  worker").unwrap();
    assert_eq!(buf[(3, worker)].symbol(), "·");
}
