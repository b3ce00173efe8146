//! The release journey in a real terminal: the console binary against a real etcd and the
//! simulated cluster. deploy → step → weight 50 → promote, then deploy → abort — checking
//! the cluster's Deployments through kube-rs and the audit entries through the store.

mod support;

use std::time::{Duration, Instant};

use flightdeck::domain::{GroupKey, Phase};
use flightdeck::store::AuditFilter;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use support::world::World;

const GROUP: &str = "user-info-grpc";

/// The sample estate in etcd and the cluster, a `flightdeck agent`, and a console on
/// `user-info-grpc`.
struct Rig {
    w: World,
    console: support::tmux::Tmux,
    key: GroupKey,
}

async fn rig() -> Rig {
    let w = World::builder().demo(7, 2).controller().start().await;
    let console = w.console("release").start();
    console.wait_text(GROUP, Duration::from_secs(30));
    console.send_text(&format!(":group {GROUP}"));
    console.send(&["Enter"]);
    console.wait_text("steps", Duration::from_secs(10));
    Rig {
        w,
        console,
        key: GroupKey::new("sim", "user", GROUP),
    }
}

impl Rig {
    /// Phase and weight once the release is applied (the outcome recorded after the cluster
    /// was patched); `None` while desired is still ahead of applied.
    async fn phase(&self) -> Option<(Phase, u8)> {
        let r = self
            .w
            .store
            .get_release(&self.key)
            .await
            .unwrap()
            .unwrap()
            .value;
        (r.applied == r.desired).then_some((r.phase, r.weight))
    }

    /// Wait until the store shows the release in `phase` at `weight`, or fail showing the screen.
    async fn wait_release(&self, phase: Phase, weight: u8) {
        let start = Instant::now();
        while self.phase().await != Some((phase, weight)) {
            if start.elapsed() > Duration::from_secs(20) {
                panic!(
                    "release is {:?}, wanted {phase:?} {weight}%; screen:\n{}",
                    self.phase().await,
                    self.console.screen()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn deployment(&self, name: &str) -> Option<Deployment> {
        let api: Api<Deployment> = Api::namespaced(self.w.sim.client().await, "user");
        api.get_opt(name).await.unwrap()
    }

    async fn image_and_replicas(&self, name: &str) -> (String, i32) {
        let d = self.deployment(name).await.expect("deployment exists");
        let spec = d.spec.unwrap();
        let image = spec.template.spec.unwrap().containers[0]
            .image
            .clone()
            .unwrap();
        (image, spec.replicas.unwrap_or(0))
    }

    /// Open an action's dialog with `key`, fill its fields (tab between them) and confirm.
    fn act(&self, key: &str, fields: &[&str]) {
        self.console.send(&[key]);
        std::thread::sleep(Duration::from_millis(300));
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.console.send(&["Tab"]);
            }
            if !f.is_empty() {
                self.console.send_text(f);
            }
        }
        self.console.send(&["Enter"]);
    }

    async fn audit_actions(&self) -> Vec<(String, String)> {
        let filter = AuditFilter {
            group: Some(self.key.clone()),
            ..Default::default()
        };
        self.w
            .store
            .list_audit(&filter)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action != "seed")
            .map(|e| (e.action, e.outcome.to_string()))
            .collect()
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, o)| (a.to_string(), o.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_step_weight_promote_then_deploy_abort() {
    let r = rig().await;

    r.act("d", &["3.0.0"]);
    r.wait_release(Phase::Paused, 5).await;
    let (image, replicas) = r.image_and_replicas("user-info-grpc-canary").await;
    assert_eq!(
        (image.as_str(), replicas),
        ("registry.local/go/user-info:3.0.0", 1)
    );
    assert_eq!(r.image_and_replicas(GROUP).await.1, 9);

    r.act("n", &[""]);
    r.wait_release(Phase::Paused, 25).await;
    assert_eq!(r.image_and_replicas("user-info-grpc-canary").await.1, 3);

    r.act("w", &["50"]);
    r.wait_release(Phase::Paused, 50).await;
    assert_eq!(r.image_and_replicas("user-info-grpc-canary").await.1, 5);
    let screen = r
        .console
        .wait_for("five canary pods on screen", Duration::from_secs(20), |s| {
            s.lines()
                .filter(|l| l.contains("user-info-grpc-canary-") && l.contains(" canary Running"))
                .count()
                == 5
        });
    assert!(
        screen.contains("50%"),
        "the weight bar shows 50%:\n{screen}"
    );

    // Protected group: promote asks for the group's name.
    r.act("P", &["ship it", GROUP]);
    r.wait_release(Phase::Promoted, 0).await;
    let (image, replicas) = r.image_and_replicas(GROUP).await;
    assert_eq!(
        (image.as_str(), replicas),
        ("registry.local/go/user-info:3.0.0", 10)
    );
    assert_eq!(r.image_and_replicas("user-info-grpc-canary").await.1, 0);
    r.console.wait_text("Promoted", Duration::from_secs(5));

    r.act("d", &["3.1.0-crash"]);
    r.wait_release(Phase::Paused, 5).await;
    r.act("A", &["", GROUP]);
    r.wait_release(Phase::Aborted, 0).await;
    assert_eq!(r.image_and_replicas("user-info-grpc-canary").await.1, 0);
    assert_eq!(
        r.image_and_replicas(GROUP).await,
        ("registry.local/go/user-info:3.0.0".to_string(), 10)
    );

    let expected = pairs(&[
        ("deploy", "allowed"),
        ("deploy", "applied"),
        ("step", "allowed"),
        ("step", "applied"),
        ("weight", "allowed"),
        ("weight", "applied"),
        ("promote", "allowed"),
        ("promote", "applied"),
        ("deploy", "allowed"),
        ("deploy", "applied"),
        ("abort", "allowed"),
        ("abort", "applied"),
    ]);
    assert_eq!(r.audit_actions().await, expected);
    assert!(r.w.store.verify_audit().await.unwrap() >= expected.len() as u64);

    r.console.send(&["Escape"]);
    // Back on the list before `q`: an Escape read together with the next key is Alt+key.
    r.console
        .wait_text("instance groups", Duration::from_secs(10));
    r.console.send(&["q"]);
    r.console.wait_text("EXIT=0", Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_of_a_protected_group_needs_its_name() {
    let r = rig().await;
    r.act("d", &["3.0.0"]);
    r.wait_release(Phase::Paused, 5).await;
    r.act("P", &["", "wrong-name"]);
    r.console.wait_text("type", Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.phase().await, Some((Phase::Paused, 5)), "nothing changed");
    r.console.send(&["Escape"]);
}

/// Two people, two consoles, one store: what alice does shows up in bob's console as a
/// toast naming her. Identities come from etcd auth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_operators_action_shows_up_in_my_console() {
    // Auth on after the seed, as a platform team would: alice and bob are etcd users,
    // the controller runs as its own.
    let w = World::builder()
        .demo(7, 2)
        .demo_admin("alice")
        .secure(&[], &[("alice", &[]), ("bob", &[])])
        .start()
        .await;
    let console = |who: &str| w.console(who).user(w.secured().user(who)).start();
    let alice = console("alice");
    let bob = console("bob");
    alice.wait_text("checkout-web", Duration::from_secs(30));
    bob.wait_text("checkout-web", Duration::from_secs(30));
    assert!(
        bob.screen().contains("user bob"),
        "bob's console knows him:\n{}",
        bob.screen()
    );

    alice.send_text(":group checkout-web");
    alice.send(&["Enter"]);
    alice.wait_text("steps", Duration::from_secs(10));
    alice.send(&["w"]);
    std::thread::sleep(Duration::from_millis(300));
    alice.send_text("50");
    alice.send(&["Enter"]);
    let screen = bob.wait_text("alice set weight 50%", Duration::from_secs(10));
    assert!(
        screen.contains("checkout-web"),
        "the toast names the group:\n{screen}"
    );
    let start = Instant::now();
    while !bob.screen().contains("2.8.0-crash 50%") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "bob's list:\n{}\nlog:\n{}",
            bob.screen(),
            bob.log()
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The on-call's undo: three deploys (the last one aborted), the history tab lists them
/// as the store has them, an older revision is chosen there and rolled back to through
/// the same dialog and the same request to the controller as any rollback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_to_a_revision_chosen_in_the_history_tab() {
    let r = rig().await;
    // r1 is the seeded revision; r2 3.0.0 and r3 3.1.0 are promoted, r4 aborted.
    for tag in ["3.0.0", "3.1.0"] {
        r.act("d", &[tag]);
        r.wait_release(Phase::Paused, 5).await;
        r.act("P", &["", GROUP]);
        r.wait_release(Phase::Promoted, 0).await;
    }
    r.act("d", &["3.2.0-crash"]);
    r.wait_release(Phase::Paused, 5).await;
    r.act("A", &["", GROUP]);
    r.wait_release(Phase::Aborted, 0).await;

    r.console.send(&["v"]);
    let screen = r.console.wait_for(
        "the history tab with four revisions",
        Duration::from_secs(10),
        |s| s.contains("history 4") && s.contains("aborted by"),
    );
    let row = |screen: &str, rev: &str| {
        screen
            .lines()
            .find(|l| l.contains(&format!("│{rev} ")))
            .unwrap_or_else(|| panic!("no {rev} row:\n{screen}"))
            .to_string()
    };
    for (rev, parts) in [
        (
            "r4",
            &["3.2.0-crash", "tag 3.1.0→3.2.0-crash", "aborted by"][..],
        ),
        ("r3", &["3.1.0", "(now)", "promoted by"][..]),
        (
            "r2",
            &["3.0.0", "tag master-3f2a1c→3.0.0", "promoted by"][..],
        ),
    ] {
        let line = row(&screen, rev);
        for part in parts {
            assert!(line.contains(part), "{part:?} not in {line}\n{screen}");
        }
    }

    // r4 is selected; r2 is two rows down. Its diff against the running r3 first.
    r.console.send(&["Down", "Down"]);
    r.console
        .wait_text("R rollback to r2", Duration::from_secs(5));
    r.console.send(&["Enter"]);
    let diff = r
        .console
        .wait_text("diff r3 (stable) → r2 (3.0.0)", Duration::from_secs(5));
    assert!(
        diff.contains("-")
            && diff.contains("image: registry.local/go/user-info:3.1.0")
            && diff.contains("image: registry.local/go/user-info:3.0.0"),
        "{diff}"
    );
    r.console.send(&["Escape"]);
    r.console.wait_text("history 4", Duration::from_secs(5));

    // R: the rollback dialog, on r2; a reason, then the protected group's name.
    r.act("R", &["on-call: 3.1.0 leaks", GROUP]);
    let start = Instant::now();
    loop {
        let release = r.w.store.get_release(&r.key).await.unwrap().unwrap().value;
        if release.stable_revision == 2 && release.applied == release.desired {
            assert_eq!(release.phase, Phase::Stable);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "release {release:?}; screen:\n{}",
            r.console.screen()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        r.image_and_replicas(GROUP).await,
        ("registry.local/go/user-info:3.0.0".to_string(), 10)
    );
    let filter = AuditFilter {
        group: Some(r.key.clone()),
        ..Default::default()
    };
    let rollback: Vec<_> =
        r.w.store
            .list_audit(&filter)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "rollback")
            .collect();
    let outcomes: Vec<String> = rollback.iter().map(|e| e.outcome.to_string()).collect();
    assert_eq!(outcomes, ["allowed", "applied"], "{rollback:?}");
    assert_eq!(rollback[0].request["toRevision"], 2, "{rollback:?}");
    assert_eq!(rollback[0].reason, "on-call: 3.1.0 leaks");

    // The screen says so, and the tab, read again, shows r2 running.
    r.console
        .wait_text("rolled back to r2", Duration::from_secs(10));
    let screen = r.console.wait_for(
        "r2 running in the history tab",
        Duration::from_secs(10),
        |s| s.lines().any(|l| l.contains("│r2 ") && l.contains("(now)")),
    );
    assert!(!row(&screen, "r3").contains("(now)"), "{screen}");
    r.console.send(&["Escape"]);
    r.console
        .wait_text("instance groups", Duration::from_secs(10));
    r.console.send(&["q"]);
    r.console.wait_text("EXIT=0", Duration::from_secs(10));
}
