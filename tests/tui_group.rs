//! One group's screen: title, pods, events, focus, back.

mod tui_support;

use ratatui::style::Color;

use flightdeck::domain::{Phase, Track};
use flightdeck::model::{EventKind, Update};
use tui_support::*;

fn open_web(app: &mut flightdeck::tui::app::App) {
    press(app, &[":"]);
    type_text(app, "group web");
    press(app, &["enter"]);
}

#[test]
fn before_the_watchers_report_it_says_it_is_waiting() {
    let mut app = app();
    app.apply(Update::StoreReloaded {
        groups: vec![group("web", "shop", "shop", "v1")],
        releases: vec![],
    });
    open_web(&mut app);
    let buf = screen(&mut app);
    assert!(
        text(&buf).contains("waiting for cluster…"),
        "{}",
        text(&buf)
    );
    assert!(
        line_with(&buf, "app shop")
            .unwrap()
            .contains("phase Stable")
    );
}

#[test]
fn the_title_carries_the_release() {
    let mut app = app();
    shop(&mut app);
    open_web(&mut app);
    let buf = screen(&mut app);
    let title = line_with(&buf, "app shop").unwrap();
    for part in [
        " web ",
        "namespace shop",
        "phase Progressing",
        "stable v1",
        "canary v2 25%",
    ] {
        assert!(title.contains(part), "{part:?} not in {title}");
    }
}

#[test]
fn pods_show_every_column_with_canary_and_trouble_marked() {
    let mut app = app();
    shop(&mut app);
    open_web(&mut app);
    let buf = screen(&mut app);
    let head = line_with(&buf, "TRACK").unwrap();
    for col in [
        "NAME",
        "TRACK",
        "STATUS",
        "READY",
        "RESTARTS",
        "AGE",
        "NODE",
        "LAST TERMINATION",
    ] {
        assert!(head.contains(col), "{col} missing: {head}");
    }
    let crash = line_with(&buf, "web-canary-ccc").unwrap();
    let cols: Vec<&str> = crash.split_whitespace().collect();
    assert_eq!(
        &cols[..10],
        [
            "│web-canary-ccc",
            "canary",
            "CrashLoopBackOff",
            "0/1",
            "4",
            "2m",
            "node-1",
            "Error",
            "(exit",
            "1)"
        ]
    );
    // Stable pods first; the first is selected, the crashing canary is in the warning colour.
    assert!(find(&buf, "web-aaa").unwrap().1 < find(&buf, "web-canary-ccc").unwrap().1);
    assert_eq!(style_at(&buf, "web-aaa").bg, Some(Color::Cyan));
    assert_eq!(style_at(&buf, "web-canary-ccc").fg, Some(Color::Yellow));
    assert_eq!(style_at(&buf, "web-bbb").fg, Some(Color::Reset));

    // A healthy canary pod is told apart by the canary colour.
    app.apply(Update::PodApplied {
        cluster: CLUSTER.into(),
        row: pod(
            "web-canary-eee",
            "shop",
            "web",
            flightdeck::domain::Track::Canary,
            "Running",
            true,
        ),
    });
    assert_eq!(
        style_at(&screen(&mut app), "web-canary-eee").fg,
        Some(Color::Magenta)
    );
}

#[test]
fn events_are_newest_first_folded_and_warnings_coloured() {
    let mut app = app();
    shop(&mut app);
    app.apply(Update::EventApplied {
        cluster: CLUSTER.into(),
        row: event(
            "e4",
            "shop",
            "web-canary-ccc",
            EventKind::Warning,
            "BackOff",
            3,
            10,
        ),
    });
    open_web(&mut app);
    let buf = screen(&mut app);
    let head = line_with(&buf, "LAST SEEN").unwrap();
    for col in ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"] {
        assert!(head.contains(col), "{col} missing: {head}");
    }
    let backoff = line_with(&buf, "Warning BackOff").unwrap();
    assert!(backoff.contains("10s"), "{backoff}");
    assert!(backoff.contains("Warning"));
    assert!(
        backoff.contains("BackOff ×15"),
        "two events folded with their counts: {backoff}"
    );
    assert!(backoff.contains("pod/web-canary-ccc"));
    assert!(backoff.contains("BackOff on web-canary-ccc"));
    let pulled = find(&buf, "Pulled").unwrap().1;
    let started = find(&buf, "Started").unwrap().1;
    assert!(
        find(&buf, "Warning BackOff").unwrap().1 < pulled && pulled < started,
        "newest first"
    );
    assert_eq!(style_at(&buf, "Warning BackOff").fg, Some(Color::Yellow));
    assert_eq!(style_at(&buf, "Started").fg, Some(Color::Reset));
    assert!(text(&buf).contains("events 3"));
}

#[test]
fn tab_moves_focus_between_pods_and_events_and_esc_goes_back() {
    let mut app = app();
    shop(&mut app);
    open_web(&mut app);
    let buf = screen(&mut app);
    assert_eq!(style_at(&buf, "pods 3").fg, Some(Color::LightCyan));
    assert_eq!(style_at(&buf, "events 3").fg, Some(Color::Cyan));
    press(&mut app, &["tab", "down"]);
    let buf = screen(&mut app);
    assert_eq!(style_at(&buf, "events 3").fg, Some(Color::LightCyan));
    assert_ne!(
        style_at(&buf, "web-aaa").bg,
        Some(Color::Cyan),
        "pods lost the selection"
    );
    assert_eq!(
        style_at(&buf, "Pulled").bg,
        Some(Color::Cyan),
        "second event selected"
    );
    press(&mut app, &["esc"]);
    let buf = screen(&mut app);
    assert!(text(&buf).contains("instance groups 3"));
}

#[test]
fn a_group_deleted_while_open_says_so() {
    let mut app = app();
    shop(&mut app);
    open_web(&mut app);
    app.apply(Update::GroupDeleted(key_of("web", "shop")));
    assert!(text(&screen(&mut app)).contains("prod/shop/web is no longer in the store"));
}

/// `web` behind Istio, its release at 25%; the watch reports a VirtualService holding
/// `canary`% (or, with `None`, no VirtualService at all).
fn web_behind_istio(canary: Option<u64>) -> flightdeck::tui::app::App {
    let mut app = app();
    shop(&mut app);
    let mut g = group("web", "shop", "shop", "v1");
    g.spec.strategy.traffic.router = flightdeck::domain::TrafficRouter::Istio;
    app.apply(Update::GroupApplied(g));
    let rows = canary
        .map(|w| {
            let object = serde_json::json!({
                "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                "metadata": { "name": "web", "namespace": "shop" },
                "spec": { "hosts": ["web"], "http": [ { "name": "primary", "route": [
                    { "destination": { "host": "web", "subset": "stable" }, "weight": 100 - w },
                    { "destination": { "host": "web", "subset": "canary" }, "weight": w } ] } ] }
            });
            vec![flightdeck::model::RouterRow {
                namespace: "shop".into(),
                kind: "VirtualService".into(),
                name: "web".into(),
                object,
            }]
        })
        .unwrap_or_default();
    app.apply(Update::RoutersListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        kind: "VirtualService".into(),
        rows,
    });
    app
}

#[test]
fn a_router_edited_by_hand_is_marked_loudly_in_the_group_and_the_list() {
    let mut app = web_behind_istio(Some(25));
    open_web(&mut app);
    let buf = screen(&mut app);
    assert!(
        line_with(&buf, "via istio 25% ✓").is_some(),
        "{}",
        text(&buf)
    );

    // Someone sets the VirtualService to 60% behind flightdeck's back.
    let mut app = web_behind_istio(Some(60));
    let list = screen(&mut app);
    let row = line_with(&list, "  web ").unwrap();
    assert!(row.contains("≠router"), "{row}");
    assert_eq!(style_at(&list, "≠router").fg, Some(Color::LightRed));
    open_web(&mut app);
    let buf = screen(&mut app);
    let drift = line_with(&buf, "ROUTER DRIFT").unwrap_or_else(|| panic!("{}", text(&buf)));
    assert!(
        drift.contains("istio holds canary 60% but 25% was asked for"),
        "{drift}"
    );
    assert_eq!(style_at(&buf, "ROUTER DRIFT").fg, Some(Color::LightRed));

    // A VirtualService that is gone is drift too.
    let mut app = web_behind_istio(None);
    open_web(&mut app);
    let buf = screen(&mut app);
    let drift = line_with(&buf, "ROUTER DRIFT").unwrap_or_else(|| panic!("{}", text(&buf)));
    assert!(
        drift.contains("VirtualService web does not exist"),
        "{drift}"
    );
}

/// A group of `strategy` with a release at `step` (canary r2 in flight, stable r1).
fn strategy_estate(app: &mut flightdeck::tui::app::App, strategy: &str, phase: Phase, step: usize) {
    let mut g = group("web", "shop", "shop", "v1");
    g.spec.strategy = serde_norway::from_str(strategy).unwrap();
    let mut r = release("web", "shop", phase, 0);
    r.step = step;
    app.apply(Update::StoreReloaded {
        groups: vec![g],
        releases: vec![r],
    });
    app.apply(Update::DeploymentsListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        rows: vec![
            deployment("web", "shop", "web", Track::Stable, "v1", 2, 4 * 86_400),
            deployment("web-canary", "shop", "web", Track::Canary, "v2", 2, 300),
        ],
    });
}

#[test]
fn a_blue_green_release_reads_in_its_own_words_at_80_columns() {
    let mut app = app();
    // One gate (a pause), then preview = 1, switched = 2, replacing = 3.
    strategy_estate(
        &mut app,
        "{ blueGreen: { scaleDownDelay: 45s }, steps: [ { pause: {} } ] }",
        Phase::Progressing,
        2,
    );
    let list = draw(&mut app, 80, 24);
    let row = line_with(&list, "web").unwrap();
    assert!(row.contains("v2 switched"), "{row}");
    open_web(&mut app);
    let buf = draw(&mut app, 200, 60);
    let steps = line_with(&buf, " steps ").unwrap();
    for part in [
        "✓ pause",
        "✓ preview on web-preview",
        "▶ switch (old kept 45s)",
        "› replace web",
    ] {
        assert!(steps.contains(part), "{part:?} not in {steps}");
    }
    let stage = line_with(&buf, " blueGreen ").unwrap();
    assert!(
        stage.contains("active r2; old r1 kept for the 45s scale-down delay"),
        "{stage}"
    );
    assert!(!text(&buf).contains("25%"), "{}", text(&buf));
    let title = line_with(&buf, "app shop").unwrap();
    assert!(title.contains("new v2 switched"), "{title}");
}

#[test]
fn a_rolling_release_shows_one_rollout_and_its_pause() {
    let mut app = app();
    strategy_estate(&mut app, "{ rolling: {} }", Phase::Paused, 0);
    open_web(&mut app);
    let buf = draw(&mut app, 80, 24);
    let steps = line_with(&buf, " steps ").unwrap();
    assert!(steps.contains("▶ roll out over web"), "{steps}");
    let stage = line_with(&buf, " rolling ").unwrap();
    assert!(stage.contains("r2 onto web (was r1), paused"), "{stage}");
    let title = line_with(&buf, "app shop").unwrap();
    assert!(title.contains("stable r1  new v1 paused"), "{title}");
}
