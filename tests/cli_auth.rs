//! etcd auth on: the etcd user is the identity. alice (admin) releases; carol (viewer) is
//! refused with the policy's reason and her attempt is audited under her etcd name.

#[path = "support/cli.rs"]
mod cli_support;
#[path = "support/etcd.rs"]
mod etcd_support;
mod support;

use cli_support::*;
use etcd_support::{Etcd, ROOT_PASSWORD};
use flightdeck::domain::Outcome;
use support::Sim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_is_refused_and_audited_an_admin_is_not() {
    let etcd = Etcd::start().await;
    let sim = Sim::start_with(Default::default(), vec![namespace_object()]).await;
    let setup = Flightdeck::new(&etcd.url(), &sim.kubeconfig);
    // The estate goes in before auth is on, with the policy binding the etcd users.
    setup.estate(&[&me(), "alice"], &["carol"]).await;
    etcd.enable_auth(PREFIX, &[("alice", "alice-pw"), ("carol", "carol-pw")])
        .await;

    let alice = setup.as_etcd_user("alice", "alice-pw");
    let carol = setup.as_etcd_user("carol", "carol-pw");
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

    alice.run(&["step", "web"]).await.expect(0);

    let store = open_store(&etcd.url(), Some(("root", ROOT_PASSWORD))).await;
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
            .all(|e| e.user.source == "etcd-auth")
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
    sim.handle.shutdown().await;
}
