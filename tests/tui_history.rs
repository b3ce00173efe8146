//! The group view's History tab: what it asks the loader for, the rows at 80×24 and
//! 200×60, the diff against the stable revision, a rollback chosen from it, and text from
//! the store drawn without its control sequences.

mod tui_support;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use flightdeck::authz::policy::Role;
use flightdeck::domain::audit::{AuditDraft, AuditEntry, AuditTarget, AuditUser};
use flightdeck::domain::{GroupKey, Phase, Release, Revision};
use flightdeck::engine::Action as Act;
use flightdeck::model::Update;
use flightdeck::model::history::{GroupHistory, HistoryRows};
use flightdeck::tui::app::history::HistoryAsk;
use flightdeck::tui::app::{App, Effect};
use ratatui::style::Color;
use tui_support::*;

fn worker() -> GroupKey {
    key_of("worker", "shop")
}

fn at(secs_ago: i64) -> Timestamp {
    now() - SignedDuration::from_secs(secs_ago)
}

fn revision(n: u64, tag: &str, replicas: u64, by: &str, secs_ago: i64) -> Revision {
    Revision {
        number: n,
        group: worker(),
        params: [
            ("tag".to_string(), json!(tag)),
            ("replicas".to_string(), json!(replicas)),
        ]
        .into_iter()
        .collect(),
        rendered: vec![json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "worker", "namespace": "shop" },
            "spec": { "replicas": replicas, "template": { "spec": { "containers": [
                { "name": "worker", "image": format!("registry.local/worker:{tag}") } ] } } }
        })],
        created: at(secs_ago),
        created_by: by.into(),
    }
}

fn state(stable: u64, canary: Option<u64>, phase: &str) -> Value {
    json!({ "phase": phase, "stable_revision": stable, "canary_revision": canary })
}

fn entry(
    secs_ago: i64,
    who: &str,
    action: &str,
    before: Value,
    after: Value,
    why: &str,
) -> AuditEntry {
    let mut d = AuditDraft::new(
        AuditUser::named(who, "os"),
        action,
        AuditTarget::from(&worker()),
    );
    (d.before, d.after, d.reason) = (before, after, why.to_string());
    AuditEntry::seal(d, 1, "", at(secs_ago))
}

/// worker: r1 0.9 (alice, the first deploy), r2 v1 (bob, promoted: stable for the last
/// two hours), r3 v2-crash with one more replica (carol, aborted by the agent's analysis).
fn worker_history() -> GroupHistory {
    let mut release = Release::stable(worker(), 2, "system:agent");
    release.phase = Phase::Aborted;
    release.canary_revision = Some(3);
    release.updated_at = at(1800);
    GroupHistory {
        revisions: vec![
            revision(1, "0.9", 2, "alice", 3 * 86_400),
            revision(2, "v1", 2, "bob", 2 * 3600 + 600),
            revision(3, "v2-crash", 3, "carol", 3600),
        ],
        audit: vec![
            entry(
                3 * 86_400,
                "alice",
                "deploy",
                Value::Null,
                state(1, None, "Stable"),
                "",
            ),
            entry(
                2 * 3600 + 600,
                "bob",
                "deploy",
                state(1, None, "Stable"),
                state(1, Some(2), "Paused"),
                "",
            ),
            entry(
                2 * 3600,
                "bob",
                "promote",
                state(1, Some(2), "Paused"),
                state(2, None, "Promoted"),
                "",
            ),
            entry(
                3600,
                "carol",
                "deploy",
                state(2, None, "Promoted"),
                state(2, Some(3), "Paused"),
                "",
            ),
            entry(
                1800,
                "system:agent",
                "abort",
                state(2, Some(3), "Progressing"),
                state(2, Some(3), "Aborted"),
                "analysis at step 1 failed, autoAbort: success-rate 91% < 99%",
            ),
        ],
        release: Some(release),
    }
}

/// The shop estate with worker's release as above, alice a releaser; worker open.
fn open_worker() -> App {
    let mut app = app();
    shop(&mut app);
    app.apply(Update::ReleaseApplied(worker_history().release.unwrap()));
    app.apply(Update::PolicyLoaded(policy(Role::Releaser)));
    press(&mut app, &[":"]);
    type_text(&mut app, "group worker");
    press(&mut app, &["enter"]);
    app
}

/// Opens the history tab and answers its ask with `history`, as the loader would.
fn open_history(app: &mut App, history: GroupHistory) {
    assert_eq!(
        app.history_ask(),
        None,
        "nothing asked before the tab opens"
    );
    press(app, &["v"]);
    let ask = app.history_ask().expect("the open tab asks for a read");
    assert_eq!(ask.key, worker());
    answer(app, &ask, history);
}

fn answer(app: &mut App, ask: &HistoryAsk, history: GroupHistory) {
    app.apply(Update::HistoryLoaded {
        key: ask.key.clone(),
        generation: ask.generation,
        rows: Ok(Arc::new(HistoryRows::from(history))),
    });
}

#[test]
fn the_tab_lists_every_revision_at_80_by_24() {
    let mut app = open_worker();
    press(&mut app, &["v"]);
    let buf = draw(&mut app, 80, 24);
    assert!(
        text(&buf).contains("reading the revisions…"),
        "{}",
        text(&buf)
    );
    let ask = app.history_ask().unwrap();
    answer(&mut app, &ask, worker_history());
    let buf = draw(&mut app, 80, 24);
    let screen = text(&buf);
    assert!(screen.contains("history 3"), "{screen}");
    let head = line_with(&buf, "REV").unwrap_or_else(|| panic!("{screen}"));
    for col in ["TAG", "CHANGED", "BY", "AGE", "STABLE FOR", "ENDED"] {
        assert!(head.contains(col), "{col} missing: {head}");
    }
    // Newest first; each row with its tag, change, who and how it ended.
    let (r3, r2, r1) = (
        line_with(&buf, "│r3").unwrap_or_else(|| panic!("{screen}")),
        line_with(&buf, "│r2").unwrap(),
        line_with(&buf, "│r1").unwrap(),
    );
    assert!(find(&buf, "│r3").unwrap().1 < find(&buf, "│r2").unwrap().1);
    for part in ["v2-crash", "replicas 2→3", "carol", "1h", "aborted by"] {
        assert!(r3.contains(part), "{part:?} not in {r3}");
    }
    for part in ["v1", "tag 0.9→v1", "bob", "2h 0m (now)", "promoted by bob"] {
        assert!(r2.contains(part), "{part:?} not in {r2}");
    }
    for part in ["0.9", "alice", "3d", "2d 22h"] {
        assert!(r1.contains(part), "{part:?} not in {r1}");
    }
    // The running revision in the "ok" colour; the selected (newest) one in full below.
    assert_eq!(style_at(&buf, "tag 0.9→v1").fg, Some(Color::Green));
    assert!(
        screen.contains("ended aborted by system:agent · analysis at step 1 failed"),
        "{screen}"
    );
    assert!(
        screen.contains("changed replicas 2→3, tag v1→v2-crash"),
        "{screen}"
    );
    // Keys in words, from the keymap; nothing cut in the middle of one.
    let hints = lines(&buf)[23].clone();
    assert!(
        hints.contains("enter diff") && hints.contains("esc back"),
        "{hints}"
    );
    let bar = lines(&buf)[22].clone();
    assert!(bar.trim_start().starts_with("R rollback to r3"), "{bar}");
}

#[test]
fn at_200_by_60_the_verdict_has_its_column() {
    let mut app = open_worker();
    open_history(&mut app, worker_history());
    let buf = draw(&mut app, 200, 60);
    let head = line_with(&buf, "REV").unwrap();
    assert!(head.contains("LAST VERDICT"), "{head}");
    let r3 = line_with(&buf, "│r3").unwrap();
    for part in [
        "v2-crash",
        "replicas 2→3",
        "carol",
        "aborted by system:agent",
        "analysis at step 1 failed, autoAbort",
    ] {
        assert!(r3.contains(part), "{part:?} not in {r3}");
    }
    let foot = line_with(&buf, "ended aborted").unwrap();
    assert!(
        foot.contains("analysis at step 1 failed, autoAbort: success-rate 91% < 99%"),
        "{foot}"
    );
    let r2 = line_with(&buf, "│r2").unwrap();
    assert!(r2.contains("promoted by bob"), "{r2}");
    // The other keys of the group view say the tab is there.
    press(&mut app, &["tab"]);
    let hints = lines(&draw(&mut app, 200, 60))[59].clone();
    assert!(hints.contains("v history"), "{hints}");
}

#[test]
fn enter_shows_the_rendered_diff_against_stable_and_esc_goes_back() {
    let mut app = open_worker();
    open_history(&mut app, worker_history());
    // r3 is selected: against the stable r2.
    press(&mut app, &["enter"]);
    let buf = draw(&mut app, 80, 24);
    let screen = text(&buf);
    assert!(
        screen.contains("diff r2 (stable) → r3 (v2-crash)"),
        "{screen}"
    );
    assert!(
        screen.contains("--- r2") && screen.contains("+++ r3"),
        "{screen}"
    );
    assert!(
        screen.contains("-  replicas: 2") && screen.contains("+  replicas: 3"),
        "{screen}"
    );
    assert_eq!(style_at(&buf, "+  replicas: 3").fg, Some(Color::Green));
    assert_eq!(style_at(&buf, "-  replicas: 2").fg, Some(Color::LightRed));
    assert!(
        lines(&buf)[23].contains("esc close diff"),
        "{}",
        lines(&buf)[23]
    );
    // The image lines are below the fold at 80×24: a page down brings them up.
    press(&mut app, &["pgdown"]);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(
        screen.contains("-      - image: registry.local/worker:v1"),
        "{screen}"
    );
    assert!(
        screen.contains("+      - image: registry.local/worker:v2-crash"),
        "{screen}"
    );
    // Esc closes the diff, not the group.
    press(&mut app, &["esc"]);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(
        screen.contains("history 3") && !screen.contains("+++ r3"),
        "{screen}"
    );
    // The stable one has nothing to compare.
    press(&mut app, &["down", "enter"]);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(
        screen.contains("r2 is the stable revision running now"),
        "{screen}"
    );
    press(&mut app, &["esc", "esc"]);
    assert!(text(&draw(&mut app, 80, 24)).contains("instance groups 3"));
}

#[test]
fn a_long_diff_scrolls() {
    let mut app = open_worker();
    let mut h = worker_history();
    // r3 renders forty more objects than r2.
    for i in 0..40 {
        h.revisions[2]
            .rendered
            .push(json!({"kind": "ConfigMap", "metadata": {"name": format!("extra-{i:02}")}}));
    }
    open_history(&mut app, h);
    press(&mut app, &["enter"]);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("--- r2"), "{screen}");
    assert!(!screen.contains("extra-39"), "{screen}");
    assert!(screen.contains("lines 1–"), "{screen}");
    press(&mut app, &["end"]);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("name: extra-39"), "{screen}");
    assert!(!screen.contains("--- r2"), "{screen}");
}

#[test]
fn rollback_from_a_row_opens_the_rollback_dialog_on_that_revision() {
    let mut app = open_worker();
    open_history(&mut app, worker_history());
    press(&mut app, &["end"]);
    let bar = lines(&draw(&mut app, 80, 24))[22].clone();
    assert!(bar.contains("R rollback to r1"), "{bar}");
    press(&mut app, &["shift-r"]);
    let buf = draw(&mut app, 80, 24);
    let screen = text(&buf);
    assert!(screen.contains("roll back worker to r1"), "{screen}");
    assert!(
        screen.contains("make r1 (tag 0.9) stable again (now r2)"),
        "{screen}"
    );
    assert!(
        line_with(&buf, "revision").unwrap().contains("r1"),
        "{screen}"
    );
    // The focus waits on the reason; confirming is the rollback action like any other.
    type_text(&mut app, "v1 leaks");
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: worker(),
            action: Act::Rollback {
                to_revision: Some(1)
            },
            reason: Some("v1 leaks".into()),
        })
    );
    // On the stable row the dialog says so (the controller would refuse it too).
    press(&mut app, &["up", "shift-r"]);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(
        screen.contains("r2 (tag v1) is the stable revision already"),
        "{screen}"
    );
    press(&mut app, &["esc"]);
    // From an open diff it goes to the revision in the diff.
    press(&mut app, &["home", "enter", "shift-r"]);
    assert!(text(&draw(&mut app, 80, 24)).contains("roll back worker to r3"));
    press(&mut app, &["esc"]);
    // Outside the tab, the rollback dialog is as it was: the previous stable revision.
    press(&mut app, &["esc", "tab", "shift-r"]);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("roll back worker "), "{screen}");
    assert!(!screen.contains("roll back worker to"), "{screen}");
    assert!(
        screen.contains("empty = the previous stable revision"),
        "{screen}"
    );
}

#[test]
fn a_viewer_is_refused_a_rollback_from_the_tab_as_anywhere() {
    let mut app = open_worker();
    app.apply(Update::PolicyLoaded(policy(Role::Viewer)));
    open_history(&mut app, worker_history());
    match press(&mut app, &["shift-r"]) {
        Some(Effect::Refused { key, .. }) => assert_eq!(key, worker()),
        other => panic!("{other:?}"),
    }
    assert!(app.history_ask().is_some(), "still on the tab");
}

#[test]
fn the_tab_reads_again_when_the_groups_audit_log_grows_and_keeps_the_selection() {
    let mut app = open_worker();
    open_history(&mut app, worker_history());
    press(&mut app, &["down"]);
    let first = app.history_ask().unwrap();
    // Another group's news asks nothing.
    let mut other = AuditDraft::new(
        AuditUser::named("bob", "os"),
        "step",
        AuditTarget::from(&key_of("web", "shop")),
    );
    other.reason = "x".into();
    app.apply(Update::AuditAppended(AuditEntry::seal(other, 9, "", now())));
    assert_eq!(app.history_ask(), Some(first.clone()));
    // A deploy of worker does: r4 comes on top, the selection stays on r2.
    let mut h = worker_history();
    h.revisions.push(revision(4, "v3", 2, "dave", 10));
    let deploy = entry(
        10,
        "dave",
        "deploy",
        state(2, Some(3), "Aborted"),
        state(2, Some(4), "Paused"),
        "",
    );
    h.audit.push(deploy.clone());
    app.apply(Update::AuditAppended(deploy));
    let again = app.history_ask().unwrap();
    assert!(again.generation > first.generation);
    // A late answer to the first ask is not taken for the fresh one.
    answer(&mut app, &first, worker_history());
    let buf = draw(&mut app, 80, 24);
    assert!(text(&buf).contains("reading…"), "{}", text(&buf));
    answer(&mut app, &again, h);
    let buf = draw(&mut app, 80, 24);
    assert!(text(&buf).contains("history 4"), "{}", text(&buf));
    assert!(line_with(&buf, "│r4").unwrap().contains("in flight"));
    assert_eq!(app.rollback_target(), Some(2), "still on r2");
    // A failed read says so and keeps what was read before.
    press(&mut app, &["tab", "v"]);
    let ask = app.history_ask().unwrap();
    app.apply(Update::HistoryLoaded {
        key: ask.key,
        generation: ask.generation,
        rows: Err("store unreachable".into()),
    });
    let screen = text(&draw(&mut app, 80, 24));
    assert!(
        screen.contains("the last read failed: store unreachable"),
        "{screen}"
    );
    assert!(screen.contains("│r4"), "{screen}");
}

#[test]
fn text_from_the_store_is_drawn_without_control_sequences() {
    let mut app = open_worker();
    let mut h = worker_history();
    h.revisions[2].created_by = "carol\u{1b}]0;owned\u{7}\u{1b}[2J".into();
    h.revisions[2]
        .params
        .insert("note".into(), json!("hi\u{1b}[31mred"));
    h.revisions[2].rendered[0]["metadata"]["labels"] = json!({"x": "a\u{1b}[2Jb"});
    open_history(&mut app, h);
    let buf = draw(&mut app, 200, 60);
    let screen = text(&buf);
    assert!(!screen.contains('\u{1b}'), "{screen:?}");
    let r3 = line_with(&buf, "│r3").unwrap();
    assert!(
        r3.contains("carol") && r3.contains("note (none)→hired"),
        "{r3}"
    );
    press(&mut app, &["enter"]);
    let screen = text(&draw(&mut app, 200, 60));
    assert!(!screen.contains('\u{1b}'), "{screen:?}");
}

#[test]
fn help_lists_the_history_keys() {
    let mut app = open_worker();
    press(&mut app, &["?"]);
    let screen = text(&draw(&mut app, 200, 100));
    assert!(
        screen.contains("history tab: every revision, who, how it ended"),
        "{screen}"
    );
    assert!(
        screen.contains("history tab: diff the revision against stable"),
        "{screen}"
    );
}
