//! A store that has lived for years (issue 10, point 3): a 100,000-entry audit log and a
//! group with 1,000 revisions, with the release binary, a real etcd, a controller in its
//! own process and the simulated cluster. Actions, the audit tail, `audit verify`,
//! `status` and the controller's checkpoints all keep working; before paging, the first
//! read of either prefix failed for everyone ("decoded message length too large").

#[path = "support/bulk.rs"]
mod bulk;
mod support;

use bulk::{extend_audit, extend_revisions};
use flightdeck::domain::GroupKey;
use support::cli::*;
use support::world::World;

const PREFIX: &str = "/flightdeck/";

fn web() -> GroupKey {
    GroupKey::new("sim", NAMESPACE, "web")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100000_entry_audit_log_and_a_1000_revision_group_keep_working() {
    let w = World::builder()
        .controller()
        .shop(&[&me(), "system:agent"], &[])
        .deploy("1.0.0")
        .start()
        .await;

    let mut c = w.etcd.client().await;
    let head = extend_audit(&mut c, PREFIX, &web(), "bulk", 100_000).await;
    assert!(head.seq > 100_000);
    assert_eq!(extend_revisions(&mut c, PREFIX, &web(), 1, 1000).await, 999);

    // Actions read what they need: the next revision is 1001, an old one rolls back.
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    let store = w.store.clone();
    let r = store.get_release(&web()).await.unwrap().unwrap().value;
    assert_eq!(r.canary_revision, Some(1001), "{r:?}");
    w.fd.run(&["promote", "web"]).await.expect(0);
    w.fd.run(&["rollback", "web", "--to-revision", "500"])
        .await
        .expect(0);
    let r = store.get_release(&web()).await.unwrap().unwrap().value;
    assert_eq!(r.stable_revision, 500);

    // The newest entries come from the end of the log; a filter reaches back through it.
    let out = w.fd.run(&["audit", "--limit", "3"]).await.expect(0);
    assert_eq!(
        out.stdout.lines().count(),
        4,
        "a header and 3 rows: {out:?}"
    );
    assert!(out.stdout.contains("rollback"), "{out:?}");
    let out =
        w.fd.run(&["audit", "--user", "bulk", "--limit", "2", "--json"])
            .await
            .expect(0);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [head.seq - 1, head.seq]);

    // The whole chain, read in pages.
    let out = w.fd.run(&["audit", "verify"]).await.expect(0);
    assert!(out.stdout.contains("chain intact"), "{out:?}");
    let counted: u64 = out
        .stdout
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or(0);
    assert!(counted > 100_000, "{out:?}");

    w.fd.run(&["status"]).await.expect(0);
    w.fd.run(&["status", "web"]).await.expect(0);
}
