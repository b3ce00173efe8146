//! The command line, help, hints, status line, tiny terminals and colourless themes.

mod tui_support;

use ratatui::style::{Color, Modifier};

use flightdeck::config::{self, Keymap, Theme};
use flightdeck::tui::app::Effect;
use tui_support::*;

fn command(app: &mut flightdeck::tui::app::App, line: &str) -> Option<Effect> {
    press(app, &[":"]);
    type_text(app, line);
    press(app, &["enter"])
}

#[test]
fn group_opens_a_group_and_an_unknown_one_is_an_error_line() {
    let mut app = app();
    shop(&mut app);
    assert_eq!(command(&mut app, "group worker"), None);
    let buf = screen(&mut app);
    assert!(line_with(&buf, "app shop").unwrap().contains(" worker "));
    assert_eq!(command(&mut app, "group nope"), None);
    let buf = screen(&mut app);
    let err = line_with(&buf, "no instance group").unwrap();
    assert_eq!(err.trim_end(), "no instance group named \"nope\"");
    assert_eq!(
        style_at(&buf, "no instance group").fg,
        Some(Color::LightRed)
    );
    // The error stays until the next key.
    press(&mut app, &["down"]);
    assert!(!text(&screen(&mut app)).contains("no instance group"));
}

#[test]
fn ns_scopes_the_list_and_the_header() {
    let mut app = app();
    shop(&mut app);
    command(&mut app, "ns money");
    let buf = screen(&mut app);
    assert!(
        line_with(&buf, "namespace")
            .unwrap()
            .contains("namespace money")
    );
    assert!(text(&buf).contains("invoicer"));
    assert!(!text(&buf).contains("worker"));
    assert!(
        text(&buf).contains("namespace: money"),
        "an info toast says so"
    );
    command(&mut app, "ns all");
    let buf = screen(&mut app);
    assert!(
        line_with(&buf, "namespace")
            .unwrap()
            .contains("namespace all")
    );
    assert!(text(&buf).contains("worker"));
}

#[test]
fn ctx_narrows_the_list_to_one_cluster_and_all_widens_it() {
    let mut app = app();
    shop(&mut app);
    // The groups of another cluster, watched at the same time.
    app.apply(flightdeck::model::Update::GroupApplied(
        serde_norway::from_str(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\n\
             metadata: {name: web-eu, app: shop}\n\
             spec: {cluster: staging, namespace: shop, template: t, params: {tag: v1}}",
        )
        .unwrap(),
    ));
    command(&mut app, "ctx all");
    let buf = screen(&mut app);
    assert!(
        line_with(&buf, "user alice")
            .unwrap()
            .contains("cluster all")
    );
    assert!(text(&buf).contains("web-eu") && text(&buf).contains("worker"));
    assert!(
        line_with(&buf, "web-eu").unwrap().contains("staging"),
        "the cluster column names it"
    );

    assert_eq!(command(&mut app, "ctx staging"), None);
    let buf = screen(&mut app);
    assert!(
        line_with(&buf, "user alice")
            .unwrap()
            .contains("cluster staging")
    );
    assert!(text(&buf).contains("web-eu"));
    assert!(
        !text(&buf).contains("worker"),
        "prod's groups are narrowed away"
    );

    assert_eq!(command(&mut app, "ctx moon"), None);
    assert!(text(&screen(&mut app)).contains("unknown cluster \"moon\" (known: prod, staging)"));
}

#[test]
fn by_cluster_puts_a_heading_per_cluster_with_its_state() {
    let mut app = app();
    shop(&mut app);
    app.apply(flightdeck::model::Update::GroupApplied(
        serde_norway::from_str(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\n\
             metadata: {name: web-eu, app: shop}\n\
             spec: {cluster: staging, namespace: shop, template: t, params: {tag: v1}}",
        )
        .unwrap(),
    ));
    app.apply(flightdeck::model::Update::Connection {
        part: flightdeck::model::Part::Cluster("staging".into()),
        state: flightdeck::model::Conn::Failed("connection refused".into()),
    });
    command(&mut app, "ctx all");
    command(&mut app, "by cluster");
    let buf = screen(&mut app);
    let heading = line_with(&buf, "staging  1 group").unwrap();
    assert!(heading.contains("down"), "{heading}");
    assert_eq!(style_at(&buf, "down").fg, Some(Color::LightRed));
    assert!(line_with(&buf, "prod  ").unwrap().contains("up"));
    // Its group is marked: what it shows is not live.
    assert!(line_with(&buf, "web-eu").unwrap().contains('?'));
    command(&mut app, "by app");
    assert!(line_with(&screen(&mut app), "shop").is_some());
}

#[test]
fn q_quits_and_an_unknown_command_is_named() {
    let mut app = app();
    assert_eq!(command(&mut app, "q"), Some(Effect::Quit));
    assert_eq!(command(&mut app, "quit"), Some(Effect::Quit));
    assert_eq!(command(&mut app, "deploy web"), None);
    assert!(text(&screen(&mut app)).contains("unknown command \":deploy\""));
    assert_eq!(press(&mut app, &["q"]), Some(Effect::Quit));
    assert_eq!(press(&mut app, &["ctrl-c"]), Some(Effect::Quit));
}

#[test]
fn tab_completes_group_names() {
    let mut app = app();
    shop(&mut app);
    press(&mut app, &[":"]);
    type_text(&mut app, "gr");
    press(&mut app, &["tab"]);
    type_text(&mut app, "inv");
    press(&mut app, &["tab"]);
    assert!(find(&screen(&mut app), ":group invoicer").is_some());
    press(&mut app, &["enter"]);
    assert!(line_with(&screen(&mut app), "app billing").is_some());

    press(&mut app, &[":"]);
    type_text(&mut app, "group w");
    press(&mut app, &["tab"]);
    let buf = screen(&mut app);
    assert!(find(&buf, ":group w").is_some());
    assert!(
        text(&buf).contains("web  worker"),
        "the candidates are listed"
    );
}

#[test]
fn help_is_generated_from_the_keymap_in_use() {
    let mut app = app_with(AppInitExt::vim());
    press(&mut app, &["?"]);
    let buf = screen(&mut app);
    let all = text(&buf);
    assert!(all.contains("help · keymap vim"), "{all}");
    let down = line_with(&buf, "move down").unwrap();
    assert!(down.contains("↓ j"), "{down}");
    assert!(text(&buf).contains("[groups]"));
    press(&mut app, &["esc"]);
    assert!(!text(&screen(&mut app)).contains("help · keymap"));

    // A user's rebinding shows in the help and in the hint line at once.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[groups]\nsort-next = [\"o\"]\n",
    )
    .unwrap();
    let (theme, keymap) = config::load_from_dir(dir.path(), None, None, false).unwrap();
    let mut app = app_with(AppInit {
        theme,
        keymap,
        ..init()
    });
    let buf = screen(&mut app);
    assert!(line_with(&buf, "open").unwrap().contains("o sort"));
    press(&mut app, &["?"]);
    let line = line_with(&screen(&mut app), "sort by the next column").unwrap();
    assert!(line.contains(" o "), "{line}");
}

#[test]
fn the_hint_line_follows_the_screen_and_newcomers_get_one_more() {
    let mut app = app();
    shop(&mut app);
    let buf = screen(&mut app);
    let hints = lines(&buf)[29].clone();
    assert!(
        hints.contains(
            "enter open  / filter  s sort  S reverse  a audit  : command  ? help  q quit"
        ),
        "{hints}"
    );
    press(&mut app, &["enter"]);
    let hints = lines(&screen(&mut app))[29].clone();
    assert!(
        hints.contains("tab pods/events  h health  v history  esc back"),
        "{hints}"
    );
    press(&mut app, &[":"]);
    let hints = lines(&screen(&mut app))[29].clone();
    assert!(
        hints.starts_with(":"),
        "the input line replaces the hints: {hints}"
    );

    let mut app = app_with(AppInit {
        first_run: true,
        ..init()
    });
    let buf = screen(&mut app);
    assert_eq!(
        lines(&buf)[29].trim_end(),
        "new here? ? help  : commands  / filter  enter open  q quit"
    );
    // It goes with the first key press…
    press(&mut app, &["down"]);
    assert!(!text(&screen(&mut app)).contains("new here?"));
    // …or after 30 s of looking.
    let mut app = app_with(AppInit {
        first_run: true,
        ..init()
    });
    app.on_tick(now());
    app.on_tick(now() + jiff::SignedDuration::from_secs(20));
    assert!(text(&screen(&mut app)).contains("new here?"));
    app.on_tick(now() + jiff::SignedDuration::from_secs(31));
    assert!(!text(&screen(&mut app)).contains("new here?"));
}

#[test]
fn info_toasts_expire_on_tick_errors_wait_for_a_key() {
    let mut app = app();
    shop(&mut app);
    command(&mut app, "ns shop");
    assert!(text(&screen(&mut app)).contains("namespace: shop"));
    app.on_tick(now() + jiff::SignedDuration::from_secs(4));
    assert!(!text(&screen(&mut app)).contains("namespace: shop"));

    app.show_error("store: etcd unreachable\nsecond line is dropped".into());
    app.on_tick(now() + jiff::SignedDuration::from_secs(60));
    let buf = screen(&mut app);
    assert!(text(&buf).contains("store: etcd unreachable"));
    assert!(!text(&buf).contains("second line"));
    assert_eq!(style_at(&buf, "etcd unreachable").fg, Some(Color::LightRed));
}

#[test]
fn a_terminal_below_80_by_24_gets_only_a_message() {
    let mut app = app();
    shop(&mut app);
    for (w, h) in [(79, 24), (120, 23), (40, 10)] {
        let buf = draw(&mut app, w, h);
        let all = text(&buf);
        // Narrow terminals wrap the message; the words are what matter.
        let words = all.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            words,
            format!("flightdeck needs at least 80×24 (now {w}×{h})")
        );
        assert!(!all.contains("invoicer"));
    }
    let buf = draw(&mut app, 80, 24);
    assert!(text(&buf).contains("invoicer"));
}

#[test]
fn mono_draws_without_any_colour() {
    let mut app = app_with(AppInit {
        theme: Theme::built_in("mono").unwrap(),
        ..init()
    });
    shop(&mut app);
    for keys in [&[][..], &["enter"][..], &["?"][..]] {
        press(&mut app, keys);
        let buf = screen(&mut app);
        for cell in buf.content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        }
    }
    let mut app = app_with(AppInit {
        theme: Theme::built_in("mono").unwrap(),
        ..init()
    });
    shop(&mut app);
    let buf = screen(&mut app);
    assert!(
        style_at(&buf, "invoicer")
            .add_modifier
            .contains(Modifier::REVERSED)
    );
}

use flightdeck::tui::app::AppInit;

struct AppInitExt;
impl AppInitExt {
    fn vim() -> AppInit {
        AppInit {
            keymap: Keymap::built_in("vim").unwrap(),
            ..init()
        }
    }
}
