//! etcd auth on, set up by `admin init` and `admin add-user`: the etcd user is the identity,
//! the controller is the one writer. alice (admin) releases; carol (viewer) is refused with
//! the policy's reason and audited under her etcd name; people cannot run the controller;
//! a binding to a group lets that etcd role's members act.

mod support;

use flightdeck::domain::{GroupKey, Outcome, Phase};
use support::cli::*;
use support::eventually;
use support::world::World;

/// alice admin, carol viewer, dave deployer through his etcd role `payments`, erin nothing.
const POLICY: &str = r#"apiVersion: flightdeck/v1
kind: Policy
bindings:
  - role: admin
    users: [alice]
  - role: releaser
    users: ["system:agent"]
  - role: viewer
    users: [carol]
  - role: deployer
    groups: [payments]
    scope: { namespace: shop }
"#;

async fn estate(alice: &Flightdeck) {
    let p = alice.file("policy.yaml", POLICY);
    alice.run(&["policy", "apply", "-f", &p]).await.expect(0);
    alice.run(&["clusters", "add", "sim"]).await.expect(0);
    let t = alice.file("template.yaml", TEMPLATE);
    alice.run(&["templates", "apply", "-f", &t]).await.expect(0);
    let g = alice.file("group.yaml", GROUP);
    alice.run(&["groups", "apply", "-f", &g]).await.expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_is_refused_and_audited_an_admin_is_not() {
    let w = World::builder()
        .secure(&["alice"], &[("alice", &[]), ("carol", &[])])
        .start()
        .await;
    let (setup, s) = (&w.fd, w.secured());
    let (alice, carol) = (s.user("alice"), s.user("carol"));
    estate(alice).await;

    alice
        .run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    alice
        .run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);

    let refused = carol.run(&["step", "web"]).await.expect(1);
    assert_eq!(
        refused.stderr.trim(),
        "flightdeck: viewer: may not step in sim/shop"
    );
    // Viewing is fine.
    carol.run(&["status", "web"]).await.expect(0);
    let wrong = setup.as_etcd_user("carol", "not-her-password");
    let denied_login = wrong.run(&["status"]).await;
    assert_ne!(denied_login.code, 0);
    assert_eq!(denied_login.stderr.trim().lines().count(), 1);
    // Without a login there is no identity, and no asking.
    let nobody = setup.run(&["step", "web"]).await;
    assert_ne!(nobody.code, 0, "{nobody:?}");

    alice.run(&["step", "web"]).await.expect(0);

    let store = open_store(&w.etcd.url(), Some(("carol", &password(carol)))).await;
    let entries = store.list_audit(&Default::default()).await.unwrap();
    let carols: Vec<_> = entries.iter().filter(|e| e.user.name == "carol").collect();
    assert_eq!(carols.len(), 1, "{carols:?}");
    let e = carols[0];
    assert_eq!((e.action.as_str(), e.outcome), ("step", Outcome::Denied));
    assert_eq!(e.user.source, "etcd-auth");
    assert_eq!(e.reason, "viewer: may not step in sim/shop");
    let alices: Vec<_> = entries
        .iter()
        .filter(|e| e.user.name == "alice")
        .map(|e| (e.action.as_str(), e.outcome))
        .collect();
    assert_eq!(
        alices.last(),
        Some(&("step", Outcome::Applied)),
        "{alices:?}"
    );
    assert!(
        entries
            .iter()
            .filter(|e| e.user.name == "alice")
            .all(|e| e.user.source == "etcd-auth" && e.via.is_some())
    );

    // Editing the estate is admin-only too, and a viewer's attempt is audited.
    let g = carol.file("group.yaml", GROUP);
    let out = carol.run(&["groups", "apply", "-f", &g]).await.expect(1);
    assert!(
        out.stderr.contains("viewer: may not edit groups"),
        "{}",
        out.stderr
    );
    let p = carol.file("policy.yaml", &policy(&["carol"], &[]));
    let out = carol.run(&["policy", "apply", "-f", &p]).await.expect(1);
    assert!(
        out.stderr.contains("may not edit the policy"),
        "{}",
        out.stderr
    );
    let last = store.list_audit(&Default::default()).await.unwrap();
    let tail: Vec<_> = last[last.len() - 2..]
        .iter()
        .map(|e| (e.user.name.as_str(), e.action.as_str(), e.outcome))
        .collect();
    assert_eq!(
        tail,
        vec![
            ("carol", "groups.apply", Outcome::Denied),
            ("carol", "policy.apply", Outcome::Denied)
        ]
    );
    alice.run(&["audit", "verify"]).await.expect(0);
    w.sim.handle.shutdown().await;
}

/// The password an etcd-user Flightdeck was made with.
fn password(fd: &Flightdeck) -> String {
    std::fs::read_to_string(fd.dir.path().join("password"))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_cannot_run_the_controller_and_the_real_one_keeps_driving() {
    let w = World::builder()
        .secure(&["alice"], &[("alice", &[]), ("carol", &[]), ("erin", &[])])
        .start()
        .await;
    let s = w.secured();
    let alice = s.user("alice");
    estate(alice).await;
    let g = alice.file("timed.yaml", TIMED_GROUP);
    alice.run(&["groups", "apply", "-f", &g]).await.expect(0);
    alice
        .run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    let store = open_store(&w.etcd.url(), Some(("carol", &password(s.user("carol"))))).await;
    let holder = store.lease_holder("controller").await.unwrap().unwrap();

    // A viewer, and a user no binding names: one line, exit 1, the lease untouched.
    for who in ["carol", "erin"] {
        let out = s.user(who).run(&["agent"]).await.expect(1);
        assert!(
            out.stderr.contains(&format!(
                "runs only as the release controller's etcd user 'flightdeck-controller', not '{who}'"
            )),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
        assert_eq!(
            store.lease_holder("controller").await.unwrap().as_deref(),
            Some(holder.as_str())
        );
    }

    // The timed pause of a release started now is still driven, by the real controller.
    alice
        .run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    let key = GroupKey::new("sim", NAMESPACE, "web");
    eventually(20, "the controller steps past the timed pause", || async {
        let r = store.get_release(&key).await.ok()??.value;
        (r.weight == 50 && r.phase == Phase::Paused).then_some(())
    })
    .await;
    let entries = store.list_audit(&Default::default()).await.unwrap();
    let step = entries.iter().rev().find(|e| e.action == "step").unwrap();
    assert_eq!(step.user.name, "system:agent");
    assert_eq!(step.via.as_deref(), Some(holder.as_str()));
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_to_a_group_lets_that_etcd_roles_members_act() {
    let w = World::builder()
        .secure(
            &["alice"],
            &[("alice", &[]), ("dave", &["payments"]), ("erin", &[])],
        )
        .start()
        .await;
    let s = w.secured();
    estate(s.user("alice")).await;
    s.user("alice")
        .run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);

    // dave is a deployer through his etcd role payments.
    s.user("dave")
        .run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    s.user("dave").run(&["step", "web"]).await.expect(0);
    // … but not a releaser: neither promote, nor a step past the last step, which
    // amounts to one.
    let out = s.user("dave").run(&["promote", "web"]).await.expect(1);
    assert!(
        out.stderr.contains("deployer: may not promote"),
        "{}",
        out.stderr
    );
    let out = s.user("dave").run(&["step", "web"]).await.expect(1);
    assert!(
        out.stderr.contains("this step finishes the release (the canary becomes stable), which needs promote: deployer: may not promote in sim/shop"),
        "{}",
        out.stderr
    );
    // The group's image policy: only the shop's registry, and a new image needs a releaser.
    let alice = s.user("alice");
    let guarded = GROUP.replace(
        "  strategy:",
        "  imagePolicy: { allowed: [\"registry.local/shop/*\"], change: releaser }\n  strategy:",
    );
    let g = alice.file("guarded.yaml", &guarded);
    alice.run(&["groups", "apply", "-f", &g]).await.expect(0);
    s.user("dave").run(&["abort", "web"]).await.expect(0);
    let out = s
        .user("dave")
        .run(&[
            "deploy",
            "web",
            "--tag",
            "2.0.0",
            "--set",
            "image=evil.example/miner",
        ])
        .await
        .expect(1);
    assert!(
        out.stderr
            .contains("image \"evil.example/miner\" is not allowed for web"),
        "{}",
        out.stderr
    );
    let out = s
        .user("dave")
        .run(&[
            "deploy",
            "web",
            "--tag",
            "2.0.0",
            "--set",
            "image=registry.local/shop/web-next",
        ])
        .await
        .expect(1);
    assert!(
        out.stderr.contains("changes the image of web to \"registry.local/shop/web-next\", which needs promote: deployer: may not promote"),
        "{}",
        out.stderr
    );
    // The group's own image needs nothing more than deploy.
    s.user("dave")
        .run(&["deploy", "web", "--tag", "2.0.0"])
        .await
        .expect(0);

    // erin is in no group the policy names.
    let out = s.user("erin").run(&["step", "web"]).await.expect(1);
    assert!(out.stderr.contains("no role for erin"), "{}", out.stderr);
    w.sim.handle.shutdown().await;
}
