//! Release actions from the console: keys, the gate (policy and phase), dialogs and the
//! effects they emit, the step timeline, the audit view and toasts.

mod tui_support;

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier};
use serde_json::json;

use flightdeck::authz::policy::{Role, Verb};
use flightdeck::domain::audit::{AuditDraft, AuditEntry, AuditTarget, AuditUser, Outcome};
use flightdeck::domain::{GroupKey, InstanceGroup, Phase, Release, Track};
use flightdeck::engine::Action as Act;
use flightdeck::model::Update;
use flightdeck::tui::app::{App, Effect};
use tui_support::*;

fn design_key() -> GroupKey {
    key_of("user-info-grpc", "user")
}

fn design_release(phase: Phase, step: usize, weight: u8) -> Release {
    let mut r = Release::stable(design_key(), 1, "bob");
    r.phase = phase;
    r.step = step;
    r.weight = weight;
    r.canary_revision = phase.in_flight().then_some(2);
    r
}

/// The shop estate plus the design's group, Paused at step 1 with 5%, for `role`.
fn estate(role: Option<Role>, protected: bool) -> App {
    let mut app = app();
    shop(&mut app);
    app.apply(Update::GroupApplied(design_group(
        "user-info-grpc",
        "replicas",
        protected,
    )));
    app.apply(Update::ReleaseApplied(design_release(Phase::Paused, 1, 5)));
    if let Some(role) = role {
        app.apply(Update::PolicyLoaded(policy(role)));
    }
    app
}

fn command(app: &mut App, line: &str) -> Option<Effect> {
    press(app, &[":"]);
    type_text(app, line);
    press(app, &["enter"])
}

/// The status line of the groups and group screens: above the action bar and the hints.
fn status_line(app: &mut App) -> String {
    lines(&screen(app))[27].trim_end().to_string()
}

#[test]
fn deploy_asks_for_a_tag_and_emits_the_action() {
    let mut app = estate(Some(Role::Admin), false);
    command(&mut app, "group worker");
    assert_eq!(press(&mut app, &["d"]), None);
    let buf = screen(&mut app);
    assert!(text(&buf).contains("deploy worker"), "{}", text(&buf));
    assert!(text(&buf).contains("required, e.g. 2.8.0"));
    // A tag with a space is refused in place; the dialog stays.
    type_text(&mut app, "2.8 0");
    assert_eq!(press(&mut app, &["enter"]), None);
    let buf = screen(&mut app);
    assert!(
        text(&buf).contains("tag \"2.8 0\" has a space; a tag is one word"),
        "{}",
        text(&buf)
    );
    assert_eq!(
        style_at(&buf, "has a space").fg,
        Some(Color::LightRed),
        "the error is in the error colour"
    );
    press(&mut app, &["backspace", "backspace"]);
    type_text(&mut app, ".0");
    press(&mut app, &["tab"]);
    type_text(&mut app, "debug=true");
    press(&mut app, &["tab"]);
    type_text(&mut app, "fixes the login bug");
    let effect = press(&mut app, &["enter"]);
    assert_eq!(
        effect,
        Some(Effect::Act {
            key: key_of("worker", "shop"),
            action: Act::Deploy {
                tag: "2.8.0".into(),
                params: BTreeMap::from([("debug".to_string(), json!(true))]),
            },
            reason: Some("fixes the login bug".into()),
        })
    );
    let buf = screen(&mut app);
    assert!(!text(&buf).contains("deploy worker "), "the dialog closed");
    assert!(text(&buf).contains("deploy worker: sent…"));
}

#[test]
fn esc_cancels_a_dialog_without_an_effect() {
    let mut app = estate(Some(Role::Admin), false);
    command(&mut app, "group worker");
    press(&mut app, &["d"]);
    type_text(&mut app, "2.8.0");
    assert_eq!(press(&mut app, &["esc"]), None);
    let buf = screen(&mut app);
    assert!(!text(&buf).contains("deploy worker"));
    assert!(
        line_with(&buf, "app shop").unwrap().contains(" worker "),
        "still on the group"
    );
}

#[test]
fn weight_refuses_bad_numbers_inline_and_shows_the_pods_it_means() {
    let mut app = estate(Some(Role::Admin), false);
    command(&mut app, "group user-info-grpc");
    press(&mut app, &["w"]);
    type_text(&mut app, "150");
    assert_eq!(press(&mut app, &["enter"]), None);
    let buf = screen(&mut app);
    assert!(
        text(&buf).contains("weight 150 is above 100: type a number from 0 to 100"),
        "{}",
        text(&buf)
    );
    press(&mut app, &["backspace", "backspace", "backspace"]);
    type_text(&mut app, "abc");
    press(&mut app, &["enter"]);
    assert!(text(&screen(&mut app)).contains("\"abc\" is not a whole number"));
    press(&mut app, &["backspace", "backspace", "backspace"]);
    type_text(&mut app, "50");
    let buf = screen(&mut app);
    assert!(
        text(&buf).contains("10 pods: 50% → 5 canary / 5 stable"),
        "{}",
        text(&buf)
    );
    assert!(
        !line_with(&buf, "10 pods: 50%")
            .unwrap()
            .contains("effective")
    );
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: design_key(),
            action: Act::Weight(50),
            reason: None,
        })
    );
}

#[test]
fn weight_shows_the_effective_share_and_nudges_by_five() {
    let mut app = estate(Some(Role::Admin), false);
    command(&mut app, "group user-info-grpc");
    press(&mut app, &["w"]);
    // From the current 5%: one nudge up is 10%, two down is 0%.
    type_text(&mut app, "+");
    assert!(text(&screen(&mut app)).contains("10 pods: 10% → 1 canary / 9 stable"));
    type_text(&mut app, "--");
    assert!(text(&screen(&mut app)).contains("10 pods: 0% → 0 canary / 10 stable"));
    type_text(&mut app, "+");
    let buf = screen(&mut app);
    assert!(
        text(&buf).contains("10 pods: 5% → 1 canary / 9 stable (effective 10%)"),
        "{}",
        text(&buf)
    );
}

#[test]
fn a_protected_group_wants_its_name_before_promote() {
    let mut app = estate(Some(Role::Admin), true);
    command(&mut app, "group user-info-grpc");
    press(&mut app, &["shift-p"]);
    let buf = screen(&mut app);
    assert!(text(&buf).contains("promote user-info-grpc"));
    assert!(text(&buf).contains("protected: type the group's name"));
    type_text(&mut app, "canary looks fine");
    assert_eq!(press(&mut app, &["enter"]), None);
    assert!(
        text(&screen(&mut app))
            .contains("user-info-grpc is protected: type its name exactly to promote")
    );
    // Enter put the focus on the name field.
    type_text(&mut app, "user-info");
    assert_eq!(
        press(&mut app, &["enter"]),
        None,
        "a near miss is not enough"
    );
    type_text(&mut app, "-grpc");
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: design_key(),
            action: Act::Promote,
            reason: Some("canary looks fine".into()),
        })
    );
}

#[test]
fn rollback_takes_an_optional_revision() {
    let mut app = estate(Some(Role::Admin), false);
    command(&mut app, "group user-info-grpc");
    press(&mut app, &["shift-r"]);
    assert!(text(&screen(&mut app)).contains("empty = the previous stable revision"));
    type_text(&mut app, "r7");
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: design_key(),
            action: Act::Rollback {
                to_revision: Some(7)
            },
            reason: None,
        })
    );
}

#[test]
fn a_viewer_sees_actions_dimmed_and_is_told_why_and_the_refusal_is_reported() {
    let mut app = estate(Some(Role::Viewer), false);
    command(&mut app, "group user-info-grpc");
    let buf = screen(&mut app);
    let bar = line_with(&buf, "deploy").unwrap();
    for word in ["n step", "w weight", "P promote", "A abort", "R rollback"] {
        assert!(bar.contains(word), "{word} missing from {bar}");
    }
    let step = style_at(&buf, "n step");
    assert!(step.add_modifier.contains(Modifier::DIM), "{step:?}");
    // Nothing runs; the refusal goes to the controller, for the audit log.
    assert_eq!(
        press(&mut app, &["n"]),
        Some(Effect::Refused {
            key: key_of("user-info-grpc", "user"),
            verb: Verb::Step,
            reason: format!("viewer: may not step in {CLUSTER}/user"),
        })
    );
    assert_eq!(
        status_line(&mut app),
        format!("viewer: may not step in {CLUSTER}/user")
    );
    assert!(
        !text(&screen(&mut app)).contains("optional, one line"),
        "no dialog opened"
    );
    assert!(matches!(
        press(&mut app, &["shift-p"]),
        Some(Effect::Refused {
            verb: Verb::Promote,
            ..
        })
    ));
    assert_eq!(
        status_line(&mut app),
        format!("viewer: may not promote in {CLUSTER}/user")
    );
}

#[test]
fn actions_that_do_not_fit_the_phase_are_dimmed_with_the_phase_reason() {
    let mut app = estate(Some(Role::Admin), false);
    command(&mut app, "group worker");
    let buf = screen(&mut app);
    assert!(
        style_at(&buf, "P promote")
            .add_modifier
            .contains(Modifier::DIM)
    );
    assert!(
        !style_at(&buf, "d deploy")
            .add_modifier
            .contains(Modifier::DIM)
    );
    assert!(matches!(
        press(&mut app, &["shift-p"]),
        Some(Effect::Refused {
            verb: Verb::Promote,
            ..
        })
    ));
    assert_eq!(
        status_line(&mut app),
        "cannot promote: worker has never been deployed; deploy first"
    );
    app.apply(Update::ReleaseApplied(design_release(Phase::Stable, 0, 0)));
    command(&mut app, "group user-info-grpc");
    assert!(matches!(
        press(&mut app, &["shift-a"]),
        Some(Effect::Refused {
            verb: Verb::Abort,
            ..
        })
    ));
    assert_eq!(
        status_line(&mut app),
        "cannot abort: user-info-grpc is Stable (no release in flight)"
    );
}

#[test]
fn until_the_policy_arrives_every_action_is_checking() {
    let mut app = estate(None, false);
    command(&mut app, "group user-info-grpc");
    assert_eq!(press(&mut app, &["d"]), None);
    assert_eq!(status_line(&mut app), "checking permissions…");
}

#[test]
fn keys_act_on_the_selected_group_of_the_list() {
    let mut app = estate(Some(Role::Admin), false);
    // The list starts at billing/invoicer (Degraded): abort fits, step does not.
    press(&mut app, &["n"]);
    assert!(status_line(&mut app).contains("invoicer is Degraded"));
    press(&mut app, &["shift-a"]);
    assert!(text(&screen(&mut app)).contains("abort invoicer"));
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: key_of("invoicer", "money"),
            action: Act::Abort,
            reason: None,
        })
    );
}

#[test]
fn the_step_timeline_marks_done_current_and_next() {
    let mut app = estate(Some(Role::Admin), false);
    let mut r = design_release(Phase::Progressing, 2, 25);
    r.desired = 5;
    r.applied = 4;
    r.message = Some("stepped by bob".into());
    app.apply(Update::ReleaseApplied(r));
    command(&mut app, "group user-info-grpc");
    let buf = screen(&mut app);
    let steps = line_with(&buf, "steps").unwrap();
    assert!(
        steps.contains(
            "✓ setWeight 5  ✓ pause  ▶ setWeight 25  › pause 5m  · analysis 30s×6  · setWeight 50  · pause"
        ),
        "{steps}"
    );
    assert_eq!(style_at(&buf, "▶ setWeight 25").fg, Some(Color::LightCyan));
    assert_eq!(style_at(&buf, "✓ pause").fg, Some(Color::Green));
    let canary = line_with(&buf, " canary ███").unwrap();
    assert!(
        canary.contains(
            "canary ███░░░░░░░ 25% (3 of 10 pods, 30% effective)  phase Progressing  step 2 of 7"
        ),
        "{canary}"
    );
    let loud = style_at(&buf, "desired 5 ≠ applied 4");
    assert_eq!(loud.fg, Some(Color::LightRed));
    assert!(loud.add_modifier.contains(Modifier::REVERSED));
    assert!(line_with(&buf, "last stepped by bob").is_some());
}

fn entry(seq: u64, user: &str, action: &str, group: &str, secs_ago: i64) -> AuditEntry {
    let key = GroupKey::new(CLUSTER, "shop", group);
    let mut d = AuditDraft::new(
        AuditUser::named(user, "os"),
        action,
        AuditTarget::from(&key),
    );
    d.request = match action {
        "weight" => json!({"weight": 50}),
        "deploy" => json!({"tag": "v3"}),
        _ => json!({}),
    };
    d.reason = format!("{action} by {user}");
    let at = ago(secs_ago).unwrap();
    AuditEntry::seal(d, seq, "", at)
}

fn audit_estate() -> App {
    let mut app = estate(Some(Role::Admin), false);
    let mut denied = entry(3, "carol", "promote", "worker", 60);
    denied.outcome = Outcome::Denied;
    denied.reason = "viewer: may not promote in prod/shop".into();
    app.apply(Update::AuditLoaded(vec![
        entry(1, "alice", "deploy", "web", 7200),
        entry(2, "bob", "weight", "web", 300),
        denied,
    ]));
    app
}

#[test]
fn the_audit_view_lists_newest_first_with_denials_in_the_error_colour() {
    let mut app = audit_estate();
    press(&mut app, &["a"]);
    let buf = screen(&mut app);
    let head = line_with(&buf, "TIME").unwrap();
    for col in ["TIME", "USER", "ACTION", "TARGET", "OUTCOME", "REASON"] {
        assert!(head.contains(col), "{col}: {head}");
    }
    let (_, carol) = find(&buf, "carol").unwrap();
    let (_, bob) = find(&buf, "bob ").unwrap();
    let (_, alice) = find(&buf, "deploy v3").unwrap();
    assert!(carol < bob && bob < alice, "newest first");
    let bob_line = line_with(&buf, "weight 50%").unwrap();
    assert!(bob_line.contains("11-23 11:55:00"), "{bob_line}");
    assert!(bob_line.contains("shop/web"));
    assert_eq!(style_at(&buf, "denied").fg, Some(Color::LightRed));
    assert!(text(&buf).contains("viewer: may not promote in prod/shop"));
    // Esc goes back where we were.
    press(&mut app, &["esc"]);
    assert!(text(&screen(&mut app)).contains("instance groups"));
}

#[test]
fn audit_filters_by_group_user_age_and_text() {
    let mut app = audit_estate();
    command(&mut app, "audit group web");
    let buf = screen(&mut app);
    assert!(
        text(&buf).contains("audit 2 of 3 · group web"),
        "{}",
        text(&buf)
    );
    assert!(!text(&buf).contains("carol"));
    command(&mut app, "audit user bob");
    let t = text(&screen(&mut app));
    assert!(t.contains("weight 50%") && !t.contains("deploy v3"));
    command(&mut app, "audit since 10m");
    let t = text(&screen(&mut app));
    assert!(t.contains("carol") && t.contains("bob") && !t.contains("deploy v3"));
    command(&mut app, "audit");
    press(&mut app, &["/"]);
    type_text(&mut app, "denied");
    let t = text(&screen(&mut app));
    assert!(t.contains("carol") && !t.contains("weight 50%"), "{t}");
    press(&mut app, &["enter"]);
    assert!(text(&screen(&mut app)).contains("audit 1 of 3 · /denied"));
    press(&mut app, &["esc"]);
    assert!(
        text(&screen(&mut app)).contains("audit 3 "),
        "Esc clears the / filter first"
    );
    command(&mut app, "audit since soon");
    let buf = screen(&mut app);
    let err = lines(&buf)[28].clone();
    assert!(err.contains("try 30s, 10m, 2h or 1d"), "{}", text(&buf));
}

/// The console holds the newest 500 of a 1,000-entry log, as a store feed loads it.
fn long_audit() -> App {
    let mut app = estate(Some(Role::Admin), false);
    let newest: Vec<AuditEntry> = (501..=1000)
        .map(|n| entry(n, "bob", "weight", "web", 60))
        .collect();
    app.apply(Update::AuditLoaded(newest));
    app
}

#[test]
fn the_audit_view_pages_back_to_the_first_entry() {
    let mut app = long_audit();
    press(&mut app, &["a"]);
    let buf = screen(&mut app);
    assert!(text(&buf).contains("audit 500 "), "{}", text(&buf));
    assert!(text(&buf).contains("older entries: ↓ on the last row"));
    // Up there is nothing to read; at the last row, down asks for the page before it.
    assert_eq!(press(&mut app, &["up"]), None);
    assert_eq!(
        press(&mut app, &["end"]),
        Some(Effect::LoadOlderAudit { before: 501 })
    );
    assert!(text(&screen(&mut app)).contains("reading older entries…"));
    assert_eq!(press(&mut app, &["down"]), None, "one read at a time");

    let mut older: Vec<AuditEntry> = (2..=500)
        .map(|n| entry(n, "bob", "weight", "web", 120))
        .collect();
    older.insert(0, entry(1, "zoe", "deploy", "web", 7200));
    app.apply(Update::AuditOlder(older));
    press(&mut app, &["end"]);
    let buf = screen(&mut app);
    let t = text(&buf);
    assert!(t.contains("audit 1000 "), "{t}");
    assert!(t.contains("the first entry of the log"), "{t}");
    assert!(
        line_with(&buf, "zoe").is_some_and(|l| l.contains("deploy v3")),
        "{t}"
    );
    assert_eq!(press(&mut app, &["down"]), None, "nothing older to read");
}

#[test]
fn an_audit_log_that_cannot_be_read_says_so_instead_of_looking_empty() {
    let mut app = estate(Some(Role::Admin), false);
    app.apply(Update::AuditUnreadable(
        "store unreachable at 127.0.0.1:2379: no answer within 5.0s (is etcd running?)".into(),
    ));
    press(&mut app, &["a"]);
    let buf = screen(&mut app);
    assert!(
        !text(&buf).contains("no audit entries yet"),
        "{}",
        text(&buf)
    );
    let (_, y) = find(&buf, "cannot read the audit log: store unreachable").unwrap();
    assert!(y < 5, "in the list's place");
    assert_eq!(
        style_at(&buf, "cannot read the audit log").fg,
        Some(Color::LightRed)
    );

    // A page that fails while paging back is said at the foot, and down tries again.
    let mut app = long_audit();
    press(&mut app, &["a"]);
    assert!(press(&mut app, &["end"]).is_some());
    app.apply(Update::AuditUnreadable(
        "etcd refused alice: permission denied".into(),
    ));
    let buf = screen(&mut app);
    assert!(text(&buf).contains("audit 500 "), "what was read stays");
    let foot = line_with(&buf, "cannot read the audit log").unwrap();
    assert!(foot.contains("permission denied"), "{foot}");
    assert_eq!(
        press(&mut app, &["down"]),
        Some(Effect::LoadOlderAudit { before: 501 })
    );
}

#[test]
fn another_users_action_on_a_shown_group_is_toasted_and_ours_is_not() {
    let mut app = estate(Some(Role::Admin), false);
    app.apply(Update::AuditAppended(entry(9, "bob", "weight", "web", 1)));
    assert_eq!(status_line(&mut app), "bob set weight 50% on web");
    app.on_tick(now() + jiff::SignedDuration::from_secs(5));
    assert_eq!(status_line(&mut app), "", "the toast goes by itself");
    app.apply(Update::AuditAppended(entry(
        10, "alice", "weight", "web", 1,
    )));
    assert_eq!(status_line(&mut app), "", "our own action is not toasted");
    // Groups scoped out of the list are not "shown".
    command(&mut app, "ns money");
    app.on_tick(now() + jiff::SignedDuration::from_secs(10));
    app.apply(Update::AuditAppended(entry(11, "bob", "deploy", "web", 1)));
    assert_eq!(status_line(&mut app), "");
}

#[test]
fn a_finished_action_is_a_toast_or_an_error_line() {
    let mut app = estate(Some(Role::Admin), false);
    app.apply(Update::ActionFinished {
        key: key_of("web", "shop"),
        action: "weight".into(),
        result: Ok("set weight 50% (1 of 2 pods canary)".into()),
    });
    let buf = screen(&mut app);
    assert_eq!(
        lines(&buf)[27].trim_end(),
        "web: set weight 50% (1 of 2 pods canary)"
    );
    assert_eq!(style_at(&buf, "web: set weight").fg, Some(Color::Green));
    app.apply(Update::ActionFinished {
        key: key_of("web", "shop"),
        action: "step".into(),
        result: Err("conflict: someone else changed the release; try again".into()),
    });
    let buf = screen(&mut app);
    assert_eq!(
        style_at(&buf, "step web: conflict").fg,
        Some(Color::LightRed)
    );
}

#[test]
fn help_lists_the_release_keys_from_the_keymap() {
    let mut app = estate(Some(Role::Admin), false);
    press(&mut app, &["?"]);
    let t = text(&draw(&mut app, 120, 160));
    for line in [
        "promote: the canary becomes stable",
        "abort: all traffic back to stable at once",
        "audit log: who did what",
        "weight dialog: 5% more",
    ] {
        assert!(t.contains(line), "{line} missing:\n{t}");
    }
    let promote = line_with(&draw(&mut app, 120, 160), "promote: the canary").unwrap();
    let kill = line_with(&draw(&mut app, 120, 160), "stop its running Job").unwrap();
    assert!(kill.contains(" K "), "{kill}");
    // The log viewer's keys are the keymap's too.
    let wrap = line_with(&draw(&mut app, 120, 160), "logs: wrap long lines").unwrap();
    assert!(wrap.contains(" w "), "{wrap}");
    assert!(promote.contains(" P "), "{promote}");
}

#[test]
fn on_80_columns_a_viewer_still_sees_the_keys_with_their_words() {
    let mut app = estate(Some(Role::Viewer), false);
    command(&mut app, "group user-info-grpc");
    let buf = draw(&mut app, 80, 24);
    let bar = lines(&buf)[22].clone();
    for k in ["d deploy", "n step", "w weight", "P promote", "? more"] {
        assert!(bar.contains(k), "{k} missing: {bar}");
    }
    assert_words_only(&bar);
}

/// Every key on the bar is followed by its word: no bare letters, however narrow.
fn assert_words_only(bar: &str) {
    let tokens: Vec<&str> = bar.split_whitespace().collect();
    for (i, t) in tokens.iter().enumerate() {
        if t.chars().count() == 1 {
            let next = tokens.get(i + 1).copied().unwrap_or("");
            assert!(next.chars().count() > 1, "bare key {t:?} in {bar:?}");
        }
    }
}

#[test]
fn at_80_columns_the_action_bar_keeps_whole_words_and_points_to_help() {
    for role in [Role::Admin, Role::Deployer, Role::Viewer] {
        let mut app = estate(Some(role), false);
        command(&mut app, "group user-info-grpc");
        // The bar is the line above the key hints.
        let bar = lines(&draw(&mut app, 80, 24))[22].clone();
        assert_words_only(&bar);
        assert!(!bar.trim().is_empty(), "{role:?}: an empty bar");
        let full = lines(&draw(&mut app, 200, 60))[58].clone();
        assert_words_only(&full);
        assert!(
            full.contains("rollback") && !full.contains("? more"),
            "{full}"
        );
    }
    let mut admin = estate(Some(Role::Admin), false);
    command(&mut admin, "group user-info-grpc");
    let bar = lines(&draw(&mut admin, 80, 24))[22].clone();
    assert!(bar.contains("promote") && bar.contains("? more"), "{bar}");
}

/// A cron group `report`, deployed (r1) and suspended when `suspended`.
fn cron_estate(suspended: bool) -> App {
    let mut app = estate(Some(Role::Deployer), false);
    let g: InstanceGroup = serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{ name: report, app: shop }}\n\
         spec: {{ cluster: {CLUSTER}, namespace: shop, template: cron, kind: cron, concurrency: wait,\
         params: {{ image: registry.local/report, tag: \"1.0\", schedule: \"*/5 * * * *\" }} }}"
    ))
    .unwrap();
    app.apply(Update::GroupApplied(g));
    let mut r = Release::stable(key_of("report", "shop"), 1, "bob");
    r.suspended = suspended;
    app.apply(Update::ReleaseApplied(r));
    app
}

#[test]
fn a_cron_group_shows_its_schedule_and_its_own_actions_at_80_columns() {
    let mut app = cron_estate(false);
    // One finished run, one at work: what the Job pods say.
    let mut done = pod(
        "report-100-a",
        "shop",
        "report",
        Track::Stable,
        "Completed",
        false,
    );
    (done.owner, done.created) = (Some("report-100".into()), ago(600));
    let mut busy = pod(
        "report-200-b",
        "shop",
        "report",
        Track::Stable,
        "Running",
        true,
    );
    (busy.owner, busy.created) = (Some("report-200".into()), ago(90));
    app.apply(Update::PodsListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        rows: vec![done, busy],
    });
    command(&mut app, "group report");
    let buf = draw(&mut app, 80, 24);
    let cron = line_with(&buf, " cron ").unwrap();
    for part in [
        "schedule */5 * * * *",
        "next 12:05 UTC (in 5m)",
        "concurrency wait",
    ] {
        assert!(cron.contains(part), "{part:?} not in {cron}");
    }
    let state = line_with(&buf, " state ").unwrap();
    assert!(
        state.contains("running report-200 (90s)") && state.contains("last start 90s ago"),
        "{state}"
    );
    let bar = lines(&buf)[22].clone();
    for part in ["d deploy", "t trigger", "kill", "z suspend"] {
        assert!(bar.contains(part), "{part:?} not in {bar}");
    }
    assert!(!bar.contains("weight"), "{bar}");

    // t: the trigger dialog says what it does and sends a trigger.
    assert_eq!(press(&mut app, &["t"]), None);
    assert!(
        text(&screen(&mut app)).contains("run report's Job now"),
        "{}",
        text(&screen(&mut app))
    );
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: key_of("report", "shop"),
            action: Act::Trigger,
            reason: None,
        })
    );
    // z: suspend; shift-k: kill every running Job.
    press(&mut app, &["z"]);
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: key_of("report", "shop"),
            action: Act::Suspend,
            reason: None,
        })
    );
    press(&mut app, &["shift-k"]);
    assert_eq!(
        press(&mut app, &["enter"]),
        Some(Effect::Act {
            key: key_of("report", "shop"),
            action: Act::Kill { job: None },
            reason: None,
        })
    );
}

#[test]
fn a_suspended_cron_group_says_so_and_refuses_a_second_suspend() {
    let mut app = cron_estate(true);
    command(&mut app, "group report");
    let buf = draw(&mut app, 80, 24);
    assert!(line_with(&buf, " state ").unwrap().contains("SUSPENDED"));
    // The phase machine refuses it before anything is sent.
    let effect = press(&mut app, &["z"]);
    assert!(
        matches!(&effect, Some(Effect::Refused { .. }) | None),
        "{effect:?}"
    );
    assert!(
        text(&screen(&mut app)).contains("report is already suspended"),
        "{}",
        text(&screen(&mut app))
    );
}
