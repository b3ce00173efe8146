//! One group's screen: title, pods, events, focus, back.

mod tui_support;

use ratatui::style::Color;

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
