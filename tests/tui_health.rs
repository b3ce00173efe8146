//! Health in the console: this console's live samples of a canary, the in-process
//! controller's running analysis (the demo's) and the controller's verdict stored with the
//! release — in the group view's Health tab and the groups list's mark.

mod tui_support;

use std::sync::Arc;

use ratatui::style::Color;

use flightdeck::domain::Phase;
use flightdeck::domain::release::{AnalysisRecord, AnalysisVerdict};
use flightdeck::health::live_verdict::live_judgement;
use flightdeck::health::{
    HealthPoint, HealthReport, LiveHealth, LiveReport, Metric, MetricCheck, TrackPoint,
};
use flightdeck::model::Update;
use tui_support::*;

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

    app.apply(health_reports(vec![(
        "web",
        "shop",
        failing_report("analysis 3/6 at step 1"),
    )]));
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
    app.apply(health_reports(vec![(
        "worker",
        "shop",
        failing_report("analysis 3/6 at step 1"),
    )]));
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
    app.apply(health_reports(vec![(
        "web",
        "shop",
        failing_report("analysis 3/6 at step 1"),
    )]));
    open_web(&mut app);
    press(&mut app, &["shift-h"]);
    assert!(text(&screen(&mut app)).contains("✗ Fail"));
}

#[test]
fn the_groups_list_marks_a_failing_group() {
    let mut app = app();
    shop(&mut app);
    app.apply(health_reports(vec![(
        "web",
        "shop",
        failing_report("analysis 3/6 at step 1"),
    )]));
    let buf = screen(&mut app);
    let (_, web) = find(&buf, "  web ").unwrap();
    let mark = &buf[(3, web)];
    assert_eq!(mark.symbol(), "✗");
    assert_eq!(mark.fg, Color::LightRed);
    // The warning mark keeps its place.
    assert_eq!(buf[(1, web)].symbol(), "!");
    // A group without a live canary gets no mark at all; one in flight without a verdict
    // yet gets the quiet dot, never a tick.
    let (_, worker) = find(&buf, "  worker").unwrap();
    assert_eq!(buf[(3, worker)].symbol(), " ");
    let (_, invoicer) = find(&buf, "  invoicer").unwrap();
    assert_eq!(buf[(3, invoicer)].symbol(), "·");
}

/// What the console's sampler sees of a crash-looping canary: no metrics at all (its pods
/// never run long enough to serve), restarts climbing, no pod ready.
fn crash_looping() -> Arc<LiveHealth> {
    let points: Vec<HealthPoint> = (0..6)
        .map(|i| HealthPoint {
            at: now() - jiff::SignedDuration::from_secs(2 * (6 - i)),
            stable: TrackPoint {
                ready: 2,
                desired: 2,
                ..track_point(0.999, 2)
            },
            canary: TrackPoint {
                ready: 0,
                desired: 1,
                restarts: i as u32,
                warnings: 3,
                ..TrackPoint::default()
            },
            error: Some("no data: no pod answered its metrics".into()),
            pods_read: true,
        })
        .collect();
    let mut min = MetricCheck::new(Metric::SuccessRate);
    min.min = Some(0.99);
    Arc::new(LiveHealth {
        report: HealthReport {
            judgement: Some(live_judgement(&[min], &points)),
            points,
            analysis: None,
        },
        every: std::time::Duration::from_secs(2),
        note: None,
    })
}

fn live(name: &str, ns: &str, health: Arc<LiveHealth>) -> Update {
    Update::LiveHealth(LiveReport::Sampled(key_of(name, ns), health))
}

#[test]
fn the_health_tab_shows_live_health_of_a_crash_looping_canary_without_any_analysis() {
    let mut app = app();
    shop(&mut app);
    open_web(&mut app);
    assert_eq!(app.open_group(), Some(&key_of("web", "shop")));
    press(&mut app, &["h"]);
    let all = text(&screen(&mut app));
    assert!(all.contains("no health data yet"), "{all}");

    app.apply(live("web", "shop", crash_looping()));
    let all = text(&screen(&mut app));
    assert!(all.contains("live") && all.contains("✗ Fail"), "{all}");
    assert!(all.contains("restarted 5 times"), "{all}");
    assert!(all.contains("this console samples every 2s"), "{all}");
    // Both tracks, from the pods: the canary has none of its one pod ready.
    assert!(all.contains("0/1") && all.contains("2/2"), "{all}");
    assert!(all.contains("no pod answered its metrics"), "{all}");
    // No analysis runs and none is stored: the controller's side is silent.
    assert!(!all.contains("last analysis"), "{all}");
}

#[test]
fn the_groups_list_marks_a_live_canary_by_this_consoles_verdict_until_it_is_gone() {
    let mut app = app();
    shop(&mut app);
    app.apply(live("web", "shop", crash_looping()));
    let buf = screen(&mut app);
    let (_, web) = find(&buf, "  web ").unwrap();
    assert_eq!(buf[(3, web)].symbol(), "✗");
    assert_eq!(buf[(3, web)].fg, Color::LightRed);

    // The canary is gone: the sampler says so, the store says the release is over.
    app.apply(Update::LiveHealth(LiveReport::Gone(key_of("web", "shop"))));
    app.apply(Update::ReleaseApplied(release(
        "web",
        "shop",
        Phase::Promoted,
        0,
    )));
    let buf = screen(&mut app);
    let (_, web) = find(&buf, "  web ").unwrap();
    assert_eq!(buf[(3, web)].symbol(), " ");
}

#[test]
fn the_controllers_stored_verdict_shows_in_every_console() {
    let mut app = app();
    shop(&mut app);
    let mut r = release("web", "shop", Phase::Paused, 25);
    r.step = 1;
    r.analysis = Some(AnalysisRecord {
        verdict: AnalysisVerdict::Fail,
        score: Some(25),
        reasons: vec![
            "canary success-rate 92.00% over 400 requests (at best 93.10% at 95%) is below min 99.00%"
                .into(),
        ],
        step: 1,
        canary_revision: Some(2),
        action: "pause".into(),
        at: now() - jiff::SignedDuration::from_secs(42),
    });
    app.apply(Update::ReleaseApplied(r));
    open_web(&mut app);
    press(&mut app, &["h"]);
    let all = text(&screen(&mut app));
    assert!(all.contains("controller"), "{all}");
    assert!(all.contains("last analysis ✗ Fail score 25"), "{all}");
    assert!(all.contains("at step 1 of r2 → pause, 42s ago"), "{all}");
    assert!(all.contains("is below min 99.00%"), "{all}");
    // Beside it, this console's own live samples once they come.
    app.apply(live("web", "shop", crash_looping()));
    let all = text(&screen(&mut app));
    assert!(
        all.contains("last analysis ✗ Fail") && all.contains("restarted 5 times"),
        "{all}"
    );
}
