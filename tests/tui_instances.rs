//! The group view's instances tab (service registration): pods beside their registered
//! instances with ghosts, strays, a draining pod and an unreadable value, at 80×24 and
//! 200×60; the drain key's dialog and the action it sends; and the registry feed against
//! an in-memory registry (a registration written shows, deleted goes).

mod tui_support;

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use ratatui::style::Modifier;
use tokio::sync::{mpsc, watch};

use flightdeck::authz::policy::{Role, Verb};
use flightdeck::domain::registration::Instance;
use flightdeck::domain::release::Drain;
use flightdeck::domain::{InstanceGroup, Phase, Release, Track};
use flightdeck::engine::Action as Act;
use flightdeck::model::Update;
use flightdeck::store::{MemoryRegistry, Registry};
use flightdeck::tui::app::instances::InstancesAsk;
use flightdeck::tui::app::{App, Effect};
use flightdeck::tui::registry_feed::{RegistrySource, spawn_registry_feed};
use tui_support::*;

const PREFIX: &str = "/services/mailer/";

fn mailer() -> InstanceGroup {
    serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{name: mailer, app: shop}}\n\
         spec: {{cluster: {CLUSTER}, namespace: shop, template: t, \
         params: {{tag: v1, replicas: 4, port: 8080}}, strategy: {{rolling: {{}}}}, \
         registration: {{prefix: /services, drainFor: 30s}}}}"
    ))
    .unwrap()
}

fn instance(address: &str, value: &str) -> Instance {
    Instance::parse(PREFIX, &format!("{PREFIX}{address}"), value.as_bytes(), 7).unwrap()
}

/// The shop estate with `mailer`: aaa serving, bbb a stray, ccc being drained, ddd with a
/// value that is not a registration (and an escape sequence in it), and a ghost at .9.
fn estate(role: Role) -> App {
    estate_in(app(), role)
}

fn estate_in(mut app: App, role: Role) -> App {
    shop(&mut app);
    app.apply(Update::GroupApplied(mailer()));
    let mut release = Release::stable(key_of("mailer", "shop"), 1, "alice");
    release.phase = Phase::Stable;
    release.drains.push(Drain {
        pod: "mailer-ccc".into(),
        address: "10.0.0.3:8080".into(),
        until: now() + SignedDuration::from_secs(25),
        by: "bob".into(),
        for_pod: None,
    });
    app.apply(Update::ReleaseApplied(release));
    app.apply(Update::PodsListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        rows: vec![
            pod("web-aaa", "shop", "web", Track::Stable, "Running", true),
            mailer_pod("mailer-aaa", "10.0.0.1", true),
            mailer_pod("mailer-bbb", "10.0.0.2", true),
            mailer_pod("mailer-ccc", "10.0.0.3", true),
            mailer_pod("mailer-ddd", "10.0.0.4", true),
        ],
    });
    app.apply(Update::PolicyLoaded(policy(role)));
    open_instances(&mut app);
    app.apply(Update::Instances {
        key: key_of("mailer", "shop"),
        instances: Ok(Arc::new(vec![
            instance("10.0.0.1:8080", r#"{"weight": 100}"#),
            instance("10.0.0.3:8080", r#"{"weight": 0}"#),
            instance("10.0.0.4:8080", "\u{1b}[2J\u{1b}]0;pwned\u{7}garbage"),
            instance("10.0.0.9:8080", r#"{"weight": 100}"#),
        ])),
        more: 0,
    });
    app
}

fn no_escape(buf: &ratatui::buffer::Buffer) {
    let all = text(buf);
    assert!(
        !all.chars().any(|c| c.is_control() && c != '\n'),
        "control characters on screen:\n{all}"
    );
}

#[test]
fn the_open_group_asks_the_feed_for_its_service() {
    let app = estate(Role::Deployer);
    assert_eq!(
        app.instances_ask(),
        Some(InstancesAsk {
            key: key_of("mailer", "shop"),
            prefix: PREFIX.into(),
        })
    );
    // A group without a registration asks nothing.
    let mut other = app_with(init());
    shop(&mut other);
    press(&mut other, &[":"]);
    type_text(&mut other, "group web");
    press(&mut other, &["enter"]);
    assert_eq!(other.instances_ask(), None);
}

#[test]
fn at_200x60_every_column_and_every_flag_shows() {
    let mut app = estate(Role::Deployer);
    let buf = draw(&mut app, 200, 60);
    let all = text(&buf);
    no_escape(&buf);
    let head = line_with(&buf, "REGISTERED").unwrap_or_else(|| panic!("{all}"));
    for title in ["POD", "ADDRESS", "READY", "REGISTERED", "WEIGHT", "STATE"] {
        assert!(head.contains(title), "{title} missing: {head}");
    }
    assert!(
        all.contains("4 instances: 1 serving, 1 draining · 1 ghost · 1 stray · 1 unreadable"),
        "{all}"
    );
    assert!(all.contains("instances · /services/mailer/"), "{all}");
    let serving = line_with(&buf, "mailer-aaa").unwrap();
    assert!(serving.contains("10.0.0.1:8080") && serving.contains("serving"));
    assert!(serving.contains("100"), "{serving}");
    let stray = line_with(&buf, "mailer-bbb").unwrap();
    assert!(stray.contains("! stray"), "{stray}");
    let draining = line_with(&buf, "mailer-ccc").unwrap();
    assert!(
        draining.contains("draining until 12:00:25 UTC (25s)"),
        "{draining}"
    );
    let unreadable = line_with(&buf, "mailer-ddd").unwrap();
    assert!(
        unreadable.contains("! unreadable: not a registration"),
        "{unreadable}"
    );
    assert!(!all.contains("pwned\u{7}"));
    let ghost = line_with(&buf, "10.0.0.9:8080").unwrap();
    assert!(
        ghost.contains("(no pod)") && ghost.contains("! ghost"),
        "{ghost}"
    );
    // Ghosts in the error colour, strays in the warning colour.
    let t = flightdeck::config::Theme::built_in("default").unwrap();
    assert_eq!(style_at(&buf, "! ghost").fg, t.error.fg);
    assert_eq!(style_at(&buf, "! stray").fg, t.warning.fg);
    // The drain key is on the bar, first, and allowed.
    let bar = line_with(&buf, "D drain").unwrap();
    assert!(bar.trim_start().starts_with("D drain"), "{bar}");
    assert!(
        !style_at(&buf, "D drain")
            .add_modifier
            .contains(Modifier::DIM)
    );
}

#[test]
fn at_80x24_the_state_stays_and_less_important_columns_go() {
    let mut app = estate(Role::Deployer);
    let buf = draw(&mut app, 80, 24);
    let all = text(&buf);
    no_escape(&buf);
    let head = line_with(&buf, "ADDRESS").unwrap_or_else(|| panic!("{all}"));
    assert!(head.contains("POD") && head.contains("STATE"), "{head}");
    assert!(!head.contains("REGISTERED"), "{head}");
    for needle in [
        "! stray",
        "! ghost",
        "draining until 12:00:25",
        "! unreadable",
        "4 instances: 1 serving, 1 draining · 1 ghost · 1 stray",
    ] {
        assert!(all.contains(needle), "{needle} missing:\n{all}");
    }
    for l in lines(&buf) {
        assert!(l.chars().count() <= 80);
    }
}

#[test]
fn a_registry_that_cannot_be_read_is_one_line_not_a_list_of_strays() {
    let mut app = mailer_estate(mailer());
    assert!(text(&screen(&mut app)).contains("reading the registry…"));
    app.apply(Update::Instances {
        key: key_of("mailer", "shop"),
        instances: Err("etcdserver: permission denied".into()),
        more: 0,
    });
    let buf = screen(&mut app);
    let all = text(&buf);
    assert!(
        all.contains("registry: etcdserver: permission denied"),
        "{all}"
    );
    assert!(!all.contains("! stray"), "{all}");
    // An answer for another group is not taken for this one's.
    app.apply(Update::Instances {
        key: key_of("web", "shop"),
        instances: Ok(Arc::new(vec![])),
        more: 0,
    });
    assert!(text(&screen(&mut app)).contains("permission denied"));
}

#[test]
fn drain_opens_a_dialog_naming_pod_address_and_wait_and_sends_the_action() {
    let mut app = estate(Role::Deployer);
    // The first row is mailer-aaa.
    assert_eq!(press(&mut app, &["shift-d"]), None);
    let buf = screen(&mut app);
    let all = text(&buf);
    assert!(all.contains("drain mailer-aaa of mailer"), "{all}");
    assert!(all.contains("10.0.0.1:8080"), "{all}");
    assert!(all.contains("drainFor 30s"), "{all}");
    assert!(all.contains("weight to 0"), "{all}");
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: key_of("mailer", "shop"),
            action: Act::Drain {
                pod: "mailer-aaa".into(),
                for_pod: None,
            },
            reason: None,
        })
    );
    // The controller's answer is the toast.
    app.apply(Update::ActionFinished {
        key: key_of("mailer", "shop"),
        action: "drain".into(),
        result: Ok("draining mailer-aaa: weight 0 for 10.0.0.1:8080; deleted in 30s".into()),
    });
    assert!(
        text(&screen(&mut app))
            .contains("mailer: draining mailer-aaa: weight 0 for 10.0.0.1:8080; deleted in 30s")
    );
}

#[test]
fn a_ghost_has_no_pod_to_drain() {
    let mut app = estate(Role::Deployer);
    press(&mut app, &["end"]);
    assert_eq!(press(&mut app, &["shift-d"]), None);
    let all = text(&screen(&mut app));
    assert!(all.contains("is registered but no pod has it"), "{all}");
    assert!(!all.contains("drain mailer"), "no dialog: {all}");
}

#[test]
fn a_viewer_sees_drain_dimmed_and_the_refusal_is_reported() {
    let mut app = estate(Role::Viewer);
    let buf = screen(&mut app);
    assert!(
        style_at(&buf, "D drain")
            .add_modifier
            .contains(Modifier::DIM)
    );
    assert!(matches!(
        press(&mut app, &["shift-d"]),
        Some(Effect::Refused {
            verb: Verb::Drain,
            ..
        })
    ));
    assert!(text(&screen(&mut app)).contains("viewer: may not drain"));
}

#[test]
fn the_keys_are_in_the_help_and_rebindable() {
    let mut app = estate(Role::Deployer);
    press(&mut app, &["?"]);
    let buf = draw(&mut app, 120, 160);
    let drain = line_with(&buf, "drain the selected pod").unwrap();
    assert!(drain.contains(" D "), "{drain}");
    let tab = line_with(&buf, "instances tab: pods beside").unwrap();
    assert!(tab.contains(" i "), "{tab}");
    // A user's keymap moves drain to x: the bar says so and x drains.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keymap.toml"), "[group]\ndrain = [\"x\"]\n").unwrap();
    let (_, keymap) = flightdeck::config::load_from_dir(dir.path(), None, None, false).unwrap();
    let mut app = estate_in(
        app_with(flightdeck::tui::app::AppInit { keymap, ..init() }),
        Role::Deployer,
    );
    let buf = screen(&mut app);
    assert!(line_with(&buf, "x drain").is_some(), "{}", text(&buf));
    assert_eq!(press(&mut app, &["shift-d"]), None);
    assert!(!text(&screen(&mut app)).contains("drain mailer-aaa of mailer"));
    press(&mut app, &["x"]);
    assert!(text(&screen(&mut app)).contains("drain mailer-aaa of mailer"));
}

/// Receives updates until `pred` holds for an `Instances` update (or 5 s pass).
async fn until_instances(
    rx: &mut mpsc::Receiver<Update>,
    app: &mut App,
    pred: impl Fn(&[Instance]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let u = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("no matching instances within 5s")
            .expect("feed gone");
        let done = matches!(&u, Update::Instances { instances: Ok(list), .. } if pred(list));
        app.apply(u);
        if done {
            return;
        }
    }
}

#[tokio::test]
async fn the_feed_shows_a_registration_written_and_drops_it_when_deleted() {
    let registry = Arc::new(MemoryRegistry::new());
    let mut app = estate(Role::Deployer);
    let (tx, mut rx) = mpsc::channel(64);
    let (ask_tx, ask_rx) = watch::channel(None);
    let feed = spawn_registry_feed(RegistrySource::Shared(registry.clone()), ask_rx, tx);
    ask_tx.send(app.instances_ask()).unwrap();
    until_instances(&mut rx, &mut app, |l| l.is_empty()).await;
    assert!(text(&screen(&mut app)).contains("0 instances"));

    let lease = registry
        .register(
            &format!("{PREFIX}10.0.0.2:8080"),
            br#"{"weight": 100}"#.to_vec(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    // Neither another service's key nor one deeper under this one is an instance.
    registry
        .register(
            "/services/other/10.0.0.5:8080",
            b"{}".to_vec(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    until_instances(&mut rx, &mut app, |l| l.len() == 1).await;
    let buf = screen(&mut app);
    let row = line_with(&buf, "mailer-bbb").unwrap();
    assert!(row.contains("serving") && !row.contains("stray"), "{row}");

    registry.revoke(lease).await.unwrap();
    until_instances(&mut rx, &mut app, |l| l.is_empty()).await;
    let row = line_with(&screen(&mut app), "mailer-bbb").unwrap();
    assert!(row.contains("! stray"), "{row}");

    // Another group open: the feed stops asking about this one.
    ask_tx.send(None).unwrap();
    feed.abort();
}
