//! Every view at 80×24 first, then at 200×60: what a user on a laptop over SSH reads. Names
//! that share a long prefix stay two names, the words that matter are there, and nothing
//! is cut to a fragment — a narrow line holds only words the wide one holds.
//! (The groups list and the action bar have theirs in `tui_groups.rs` and `tui_actions.rs`.)

mod tui_support;

use flightdeck::authz::policy::Role;
use flightdeck::domain::audit::{AuditDraft, AuditEntry, AuditTarget, AuditUser, Outcome};
use flightdeck::domain::{GroupKey, Phase, Release, Track};
use flightdeck::logs::{LogEvent, Track as LogTrack};
use flightdeck::model::{EventKind, RouterRow, Update};
use flightdeck::tui::app::App;
use ratatui::buffer::Buffer;
use tui_support::*;

const NARROW: (u16, u16) = (80, 24);
const WIDE: (u16, u16) = (200, 60);

const GRPC: &str = "user-info-grpc";
const WORKER: &str = "user-info-worker";
const STABLE_PODS: [&str; 2] = [
    "user-info-grpc-7d9f8b6c4d-x2x4z",
    "user-info-grpc-7d9f8b6c4d-q8w7e",
];
const CANARY_PODS: [&str; 2] = [
    "user-info-grpc-canary-5f6d7c8b9f-abcde",
    "user-info-grpc-canary-5f6d7c8b9f-fghij",
];

/// `user-info-grpc` with a canary at 25% (paused at step 3), one of its canary pods
/// crash-looping; `user-info-worker` stable; alice is admin.
fn estate() -> App {
    estate_in(app())
}

fn estate_in(mut app: App) -> App {
    let mut release = Release::stable(key_of(GRPC, "user"), 1, "bob");
    release.phase = Phase::Paused;
    release.step = 3;
    release.weight = 25;
    release.canary_revision = Some(2);
    app.apply(Update::StoreReloaded {
        groups: vec![
            design_group(GRPC, "istio", false),
            design_group(WORKER, "istio", false),
        ],
        releases: vec![release],
    });
    app.apply(Update::PolicyLoaded(policy(Role::Admin)));
    app.apply(Update::DeploymentsListed {
        cluster: CLUSTER.into(),
        namespace: "user".into(),
        rows: vec![
            deployment(
                GRPC,
                "user",
                GRPC,
                Track::Stable,
                "master-3f2a1c",
                2,
                86_400,
            ),
            deployment(
                "user-info-grpc-canary",
                "user",
                GRPC,
                Track::Canary,
                "3.0.0-rc.1",
                2,
                300,
            ),
            deployment(
                WORKER,
                "user",
                WORKER,
                Track::Stable,
                "master-3f2a1c",
                1,
                3600,
            ),
        ],
    });
    let mut pods: Vec<_> = STABLE_PODS
        .iter()
        .map(|p| pod(p, "user", GRPC, Track::Stable, "Running", true))
        .collect();
    pods.push(pod(
        CANARY_PODS[0],
        "user",
        GRPC,
        Track::Canary,
        "CrashLoopBackOff",
        false,
    ));
    pods.push(pod(
        CANARY_PODS[1],
        "user",
        GRPC,
        Track::Canary,
        "Running",
        true,
    ));
    pods.push(pod(
        "user-info-worker-6c5b4a3d2e-zz9yy",
        "user",
        WORKER,
        Track::Stable,
        "Running",
        true,
    ));
    app.apply(Update::PodsListed {
        cluster: CLUSTER.into(),
        namespace: "user".into(),
        rows: pods,
    });
    let mut backoff = event(
        "e1",
        "user",
        CANARY_PODS[0],
        EventKind::Warning,
        "BackOff",
        12,
        20,
    );
    backoff.message = "Back-off restarting failed container app".into();
    app.apply(Update::EventsListed {
        cluster: CLUSTER.into(),
        namespace: "user".into(),
        rows: vec![
            backoff,
            event(
                "e2",
                "user",
                STABLE_PODS[0],
                EventKind::Normal,
                "Started",
                1,
                3600,
            ),
        ],
    });
    app
}

fn command(app: &mut App, line: &str) {
    press(app, &[":"]);
    type_text(app, line);
    press(app, &["enter"]);
}

/// The estate with `user-info-grpc` open.
fn group_view() -> App {
    let mut app = estate();
    command(&mut app, &format!("group {GRPC}"));
    app
}

/// The screen at both sizes.
fn both(app: &mut App) -> (Buffer, Buffer) {
    (draw(app, NARROW.0, NARROW.1), draw(app, WIDE.0, WIDE.1))
}

/// The words of a line as a reader splits them (box drawing and marks aside).
fn words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "│─┌┐└┘├┤".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every word of the narrow line is a word of the wide one: nothing was cut to a
/// fragment (an ellipsis counts as a whole: it is meant).
fn assert_whole_words(narrow: &str, wide: &str) {
    assert_whole_words_or(narrow, wide, &[]);
}

/// [`assert_whole_words`], with words a narrow line may add (`3 done`, `2 more`).
fn assert_whole_words_or(narrow: &str, wide: &str, extra: &[&str]) {
    let known = words(wide);
    for w in words(narrow) {
        assert!(
            w.contains('…') || known.contains(&w) || extra.contains(&w.as_str()),
            "{w:?} is a fragment:\n narrow: {narrow}\n wide:   {wide}"
        );
    }
}

/// The part of `line` between the popup's borders around `needle`.
fn inside(line: &str, needle: &str) -> String {
    let at = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {line}"));
    let start = line[..at].rfind('│').map_or(0, |i| i + '│'.len_utf8());
    let end = line[at..].find('│').map_or(line.len(), |i| at + i);
    line[start..end].to_string()
}

/// The line containing `needle` at each size (panics with the screen when missing).
fn line_at(buf: &Buffer, needle: &str) -> String {
    line_with(buf, needle).unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", text(buf)))
}

/// The name cell as shown: the first word of a table row, `│` aside.
fn first_word(line: &str) -> String {
    words(line).into_iter().next().unwrap_or_default()
}

/// The rows for `names` are there, each shown whole or cut in the middle to something
/// that still tells it from the others.
fn assert_names_apart(buf: &Buffer, names: &[&str]) {
    let shown: Vec<String> = names
        .iter()
        .map(|n| {
            let start: String = n.chars().take(4).collect();
            let end: String = n.chars().skip(n.chars().count() - 4).collect();
            lines(buf)
                .into_iter()
                .find(|l| l.contains(*n) || (l.contains(&start) && l.contains(&end)))
                .unwrap_or_else(|| panic!("{n} not on screen:\n{}", text(buf)))
        })
        .collect();
    for (n, row) in names.iter().zip(&shown) {
        assert!(
            row.contains(n) || row.contains('…'),
            "{n} cut at the end instead of the middle: {row}\n{}",
            text(buf)
        );
    }
    let cells: Vec<String> = shown.iter().map(|r| first_word(r)).collect();
    for (i, a) in cells.iter().enumerate() {
        for b in &cells[i + 1..] {
            assert_ne!(a, b, "two names read the same:\n{}", text(buf));
        }
    }
}

#[test]
fn the_group_title_keeps_the_release_whole_at_80_columns() {
    let mut app = group_view();
    let (narrow, wide) = both(&mut app);
    let title = line_at(&narrow, GRPC);
    for part in ["phase Paused", "canary 3.0.0-rc.1 25%"] {
        assert!(
            title.contains(part) || text(&narrow).contains(part),
            "{part:?}:\n{}",
            text(&narrow)
        );
    }
    let wide_title = line_at(&wide, "app user-info");
    for l in lines(&narrow).iter().take(4) {
        assert_whole_words(l, &(wide_title.clone() + " " + &text(&wide)));
    }
}

#[test]
fn pods_stay_apart_with_track_status_and_ready_at_80_columns() {
    let mut app = group_view();
    let (narrow, wide) = both(&mut app);
    let all: Vec<&str> = STABLE_PODS.iter().chain(&CANARY_PODS).copied().collect();
    assert_names_apart(&narrow, &all);
    for p in &all {
        assert!(
            text(&wide).contains(p),
            "{p} whole at 200:\n{}",
            text(&wide)
        );
    }
    let head = line_at(&narrow, "NAME");
    for col in ["TRACK", "STATUS", "READY"] {
        assert!(head.contains(col), "{col} at 80: {head}");
    }
    let crashing = lines(&narrow)
        .into_iter()
        .find(|l| l.contains("CrashLoopBackOff"))
        .unwrap_or_else(|| panic!("the crash loop is on screen:\n{}", text(&narrow)));
    assert!(
        crashing.contains("canary") && crashing.contains("0/1"),
        "{crashing}"
    );
    let head = line_at(&wide, "NAME");
    for col in ["RESTARTS", "AGE", "NODE", "LAST TERMINATION"] {
        assert!(head.contains(col), "{col} at 200: {head}");
    }
    assert_whole_words(&line_at(&narrow, "NAME"), &head);
}

#[test]
fn events_keep_reason_and_message_at_80_columns() {
    let mut app = group_view();
    let (narrow, wide) = both(&mut app);
    let row = line_at(&narrow, "Warning");
    assert!(row.contains("BackOff ×12"), "{row}");
    assert!(
        row.contains("Back-off restarting"),
        "the message keeps its first words: {row}"
    );
    assert!(
        row.contains("abcde"),
        "the object keeps its pod's suffix: {row}"
    );
    let wide_row = line_at(&wide, "Warning");
    assert!(
        wide_row.contains("Back-off restarting failed container app")
            && wide_row.contains(CANARY_PODS[0]),
        "{wide_row}"
    );
    assert_whole_words(&line_at(&narrow, "LAST SEEN"), &line_at(&wide, "LAST SEEN"));
    assert_whole_words(&row, &wide_row);
}

#[test]
fn the_step_timeline_and_router_read_at_80_columns() {
    let mut app = group_view();
    app.apply(Update::RoutersListed {
        cluster: CLUSTER.into(),
        namespace: "user".into(),
        kind: "VirtualService".into(),
        rows: vec![virtual_service(60)],
    });
    let (narrow, wide) = both(&mut app);
    let steps = line_at(&narrow, " steps ");
    assert_whole_words_or(&steps, &line_at(&wide, " steps "), &["3", "done", "more"]);
    assert!(
        steps.contains("▶ pause 5m") && steps.contains("› analysis 30s×6"),
        "the current and next steps stay: {steps}"
    );
    assert!(
        steps.contains("✓ 3 done"),
        "the done ones are counted: {steps}"
    );
    let drift = line_at(&narrow, "ROUTER DRIFT");
    assert!(drift.contains("istio holds canary 60%"), "{drift}");
    let wide_drift = line_at(&wide, "ROUTER DRIFT");
    assert!(wide_drift.contains("but 25% was asked for"), "{wide_drift}");
    assert_whole_words(&drift, &wide_drift);
}

fn virtual_service(canary: u64) -> RouterRow {
    RouterRow {
        namespace: "user".into(),
        kind: "VirtualService".into(),
        name: GRPC.into(),
        object: serde_json::json!({
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": { "name": GRPC, "namespace": "user" },
            "spec": { "hosts": [GRPC], "http": [ { "name": "primary", "route": [
                { "destination": { "host": GRPC, "subset": "stable" }, "weight": 100 - canary },
                { "destination": { "host": GRPC, "subset": "canary" }, "weight": canary } ] } ] }
        }),
    }
}

#[test]
fn the_health_tab_keeps_both_tracks_and_the_verdict_at_80_columns() {
    let mut app = group_view();
    app.apply(health_reports(vec![(
        GRPC,
        "user",
        failing_report("analysis 3/6 at step 4"),
    )]));
    press(&mut app, &["h"]);
    let (narrow, wide) = both(&mut app);
    for b in [&narrow, &wide] {
        let all = text(b);
        for part in [
            "stable",
            "canary",
            "success",
            "92.00%",
            "✗ Fail",
            "below min 99.00%",
        ] {
            assert!(all.contains(part), "{part}:\n{all}");
        }
        assert!(
            !all.contains("LAST TERMINATION"),
            "the tab replaces the tables:\n{all}"
        );
    }
    let wide_text = text(&wide);
    for l in lines(&narrow) {
        assert_whole_words_or(&l, &wide_text, &["3", "done", "more"]);
    }
}

#[test]
fn the_log_viewer_keeps_pods_apart_and_its_hints_whole_at_80_columns() {
    let mut app = group_view();
    press(&mut app, &["l"]);
    for (pod, track) in [
        (STABLE_PODS[0], LogTrack::Stable),
        (CANARY_PODS[0], LogTrack::Canary),
        (CANARY_PODS[1], LogTrack::Canary),
    ] {
        app.on_log_event(LogEvent::Joined {
            pod: pod.into(),
            container: "app".into(),
            track,
            initial: true,
        });
        app.on_log_event(LogEvent::Lines {
            pod: pod.into(),
            container: "app".into(),
            lines: vec![(None, format!("GET /v1/users/42 200 from {pod}"))],
        });
    }
    let (narrow, wide) = both(&mut app);
    let rows: Vec<String> = lines(&narrow)
        .into_iter()
        .filter(|l| l.contains("GET /v1/users"))
        .collect();
    assert_eq!(rows.len(), 3, "{}", text(&narrow));
    let labels: Vec<String> = rows.iter().map(|r| first_word(r)).collect();
    assert!(
        labels[1] != labels[2],
        "two canary pods read the same: {labels:?}\n{}",
        text(&narrow)
    );
    for (label, pod) in labels
        .iter()
        .zip([STABLE_PODS[0], CANARY_PODS[0], CANARY_PODS[1]])
    {
        let name = label.trim_start_matches('▲');
        assert!(
            name == pod || (name.contains('…') && pod.ends_with(name.rsplit('…').next().unwrap())),
            "{label} for {pod}"
        );
    }
    let hint = line_at(&narrow, "/ search");
    let wide_hint = line_at(&wide, "/ search");
    assert!(wide_hint.contains("esc close"), "{wide_hint}");
    assert!(hint.contains("/ search"), "{hint}");
    assert_whole_words(&hint, &wide_hint);
}

fn audit_entry(seq: u64, user: &str, action: &str, group: &str, secs_ago: i64) -> AuditEntry {
    let key = GroupKey::new(CLUSTER, "user", group);
    let mut d = AuditDraft::new(
        AuditUser::named(user, "os"),
        action,
        AuditTarget::from(&key),
    );
    d.request = serde_json::json!({ "weight": 50 });
    d.reason = "moving the canary along after the dashboards looked fine".into();
    AuditEntry::seal(d, seq, "", ago(secs_ago).unwrap())
}

#[test]
fn the_audit_view_keeps_targets_apart_and_the_outcome_at_80_columns() {
    let mut app = estate();
    let mut denied = audit_entry(2, "carol", "weight", WORKER, 60);
    denied.outcome = Outcome::Denied;
    app.apply(Update::AuditLoaded(vec![
        audit_entry(1, "alice", "weight", GRPC, 300),
        denied,
    ]));
    press(&mut app, &["a"]);
    let (narrow, wide) = both(&mut app);
    let head = line_at(&narrow, "TIME");
    for col in ["USER", "ACTION", "TARGET", "OUTCOME"] {
        assert!(head.contains(col), "{col} at 80: {head}");
    }
    let alice = line_at(&narrow, "11:55:00");
    let carol = line_at(&narrow, "11:59:00");
    assert!(
        alice.contains("weight 50%") && carol.contains("denied"),
        "{alice}\n{carol}"
    );
    assert!(
        alice.contains("grpc") && carol.contains("worker"),
        "the targets stay apart:\n{}",
        text(&narrow)
    );
    assert!(
        text(&wide).contains("user/user-info-grpc"),
        "{}",
        text(&wide)
    );
    assert!(line_at(&wide, "TIME").contains("REASON"));
    assert_whole_words(&head, &line_at(&wide, "TIME"));
    assert_whole_words(&alice, &line_at(&wide, "11:55:00"));
}

#[test]
fn help_reads_at_80_columns() {
    let mut app = estate();
    press(&mut app, &["?"]);
    let (narrow, wide) = both(&mut app);
    for b in [&narrow, &wide] {
        let all = text(b);
        assert!(all.contains("help · keymap default"), "{all}");
        assert!(all.contains("everywhere"), "{all}");
    }
    // What the popup holds is whole at both sizes: a long description goes on to the next
    // line instead of losing its end at the border.
    let audit = inside(&line_at(&narrow, "audit log: who did what"), "audit log");
    let wide_audit = inside(&line_at(&wide, "audit log: who did what"), "audit log");
    assert_whole_words(&audit, &wide_audit);
    let t = text(&wide);
    assert!(t.contains(":audit group|user|since"), "{t}");
    for l in lines(&narrow)
        .iter()
        .filter(|l| l.contains("quit flightdeck"))
    {
        assert_whole_words(
            &inside(l, "quit"),
            &inside(&line_at(&wide, "quit flightdeck"), "quit"),
        );
    }
}

#[test]
fn dialogs_read_at_80_columns() {
    for (group, key, words_wanted) in [
        (WORKER, "d", &["deploy", "tag"][..]),
        (GRPC, "w", &["weight", "25%"][..]),
        (GRPC, "P", &["promote", "r2 becomes stable"][..]),
        (GRPC, "A", &["abort", "back to stable r1"][..]),
    ] {
        let mut app = estate();
        command(&mut app, &format!("group {group}"));
        press(&mut app, &[key]);
        let (narrow, wide) = both(&mut app);
        let all = text(&narrow).to_lowercase();
        for w in words_wanted {
            assert!(all.contains(w), "{key}: {w} missing:\n{}", text(&narrow));
        }
        let keys = inside(&line_at(&narrow, "confirm"), "confirm");
        assert!(keys.contains("cancel"), "{key}: {keys}");
        assert_whole_words(&keys, &inside(&line_at(&wide, "confirm"), "confirm"));
        assert!(
            text(&narrow)
                .lines()
                .any(|l| l.contains(group) && l.contains('┌')),
            "{key}: the dialog names the group"
        );
    }
}

#[test]
fn a_refusal_too_long_for_one_line_is_not_cut() {
    let mut app = group_view();
    // A deploy while a release is in flight: refused with what to do instead.
    press(&mut app, &["d"]);
    let (narrow, wide) = both(&mut app);
    let said = lines(&wide)
        .into_iter()
        .find(|l| l.starts_with("cannot deploy"))
        .unwrap_or_else(|| panic!("{}", text(&wide)));
    let said = said.trim_end();
    let n = lines(&narrow);
    let at = n
        .iter()
        .position(|l| l.starts_with("cannot deploy"))
        .unwrap_or_else(|| panic!("{}", text(&narrow)));
    let joined = format!("{} {}", n[at].trim_end(), n[at + 1].trim());
    assert_eq!(
        joined,
        said,
        "the whole refusal, over two lines:\n{}",
        text(&narrow)
    );
}

#[test]
fn the_command_line_and_its_hints_read_at_80_columns() {
    let mut app = estate();
    press(&mut app, &[":"]);
    type_text(&mut app, "group user-info-w");
    let (narrow, wide) = both(&mut app);
    for b in [&narrow, &wide] {
        let last = lines(b)[b.area.height as usize - 1].clone();
        assert!(last.starts_with(":group user-info-w"), "{last}");
        for keys in ["enter run", "tab complete", "esc cancel"] {
            assert!(last.contains(keys), "{keys}: {last}");
        }
    }
    // A line too long for both gives the keys' room to the text.
    type_text(&mut app, &"x".repeat(60));
    let last = lines(&draw(&mut app, 80, 24))[23].clone();
    assert!(
        last.trim_end().ends_with("xxx") && !last.contains("enter run"),
        "{last}"
    );
}

#[test]
fn the_key_hints_and_the_newcomers_line_are_whole_words_at_80_columns() {
    let mut init = init();
    init.first_run = true;
    let mut app = estate_in(app_with(init));
    let (narrow, wide) = both(&mut app);
    let n = NARROW.1 as usize;
    let w = WIDE.1 as usize;
    assert!(
        lines(&narrow)[n - 1].contains("new here?"),
        "{}",
        text(&narrow)
    );
    assert_whole_words(&lines(&narrow)[n - 1], &lines(&wide)[w - 1]);
    assert_whole_words(&lines(&narrow)[n - 2], &lines(&wide)[w - 2]);
    command(&mut app, &format!("group {GRPC}"));
    let (narrow, wide) = both(&mut app);
    let hint = lines(&narrow)[n - 1].clone();
    assert_whole_words(&hint, &lines(&wide)[w - 1]);
    assert!(hint.contains("back") && hint.contains("help"), "{hint}");
}

#[test]
fn a_long_context_name_is_cut_in_the_middle_and_the_user_stays_at_80_columns() {
    let mut init = init();
    init.context = "gke_acme-production_europe-west1_user-services".into();
    let mut app = estate_in(app_with(init));
    let (narrow, wide) = both(&mut app);
    let head = lines(&narrow)[0].clone();
    assert!(head.contains("user alice"), "{head}");
    assert!(
        head.contains("cluster gke_acme") && head.contains("…") && head.contains("services"),
        "the context is cut in the middle: {head}"
    );
    assert!(
        lines(&wide)[0].contains("cluster gke_acme-production_europe-west1_user-services"),
        "{}",
        lines(&wide)[0]
    );
    assert_whole_words(&head, &lines(&wide)[0]);
    assert!(lines(&wide)[0].contains("sort NAME"), "{}", lines(&wide)[0]);
}
