//! One set of store behaviours, run against the in-memory store and a real etcd.

#[path = "support/store.rs"]
mod store_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::json;

use flightdeck::domain::GroupKey;
use flightdeck::store::{
    AuditFilter, Backend, Change, MemoryStore, ReleaseChange, Scope, Store, StoreError, StoreEvent,
    Write,
};
use store_support::*;

/// A store under test plus a way around it, to play someone editing keys by hand.
trait Harness {
    fn store(&self) -> Arc<dyn Store>;
    /// A second connection to the same data, as another operator would have.
    async fn another(&self) -> Arc<dyn Store>;
    /// Writes `value` at the relative key without going through the store.
    async fn raw_put(&self, key: &str, value: Vec<u8>);
}

struct Memory(MemoryStore);

impl Harness for Memory {
    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }
    async fn another(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }
    async fn raw_put(&self, key: &str, value: Vec<u8>) {
        let w = Write::Put(key.to_string(), value);
        assert!(Backend::txn(&self.0, vec![], vec![w]).await.unwrap().0);
    }
}

struct Etcd {
    etcd: support::etcd::Etcd,
    prefix: String,
    store: Arc<dyn Store>,
}

impl Etcd {
    async fn start() -> Etcd {
        let etcd = support::etcd::Etcd::start().await;
        let prefix = "/flightdeck-test/".to_string();
        let store = open(&etcd.url(), options(&prefix)).await;
        Etcd {
            etcd,
            prefix,
            store,
        }
    }
}

impl Harness for Etcd {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
    async fn another(&self) -> Arc<dyn Store> {
        open(&self.etcd.url(), options(&self.prefix)).await
    }
    async fn raw_put(&self, key: &str, value: Vec<u8>) {
        let mut c = self.etcd.client().await;
        c.put(format!("{}{key}", self.prefix), value, None)
            .await
            .unwrap();
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&super::Memory(flightdeck::store::MemoryStore::new())).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(&super::Etcd::start().await).await;
                }
            )*
        }
    };
}

conformance!(
    templates_groups_and_policy_round_trip,
    revisions_are_create_only,
    concurrent_commits_one_wins_the_other_names_the_winner,
    a_failed_commit_writes_nothing,
    concurrent_audit_appends_form_one_chain,
    verify_names_an_entry_edited_behind_our_back,
    watch_delivers_changes_in_order,
    watch_from_a_compacted_revision_asks_for_a_resync,
    long_prefixes_are_read_whole_in_pages,
    the_newest_audit_entries_are_read_from_the_end,
);

/// 1,200 keys of 8 KiB (9.6 MiB, past the 4 MiB a single etcd answer may hold) under
/// `bulk/`, written around the store.
async fn bulk(s: &dyn Store) -> Vec<String> {
    let keys: Vec<String> = (0..1200).map(|i| format!("bulk/{i:05}")).collect();
    for chunk in keys.chunks(100) {
        let writes = chunk
            .iter()
            .map(|k| Write::Put(k.clone(), vec![b'x'; 8 * 1024]))
            .collect();
        assert!(s.backend().txn(vec![], writes).await.unwrap().0);
    }
    keys
}

async fn long_prefixes_are_read_whole_in_pages(h: &impl Harness) {
    let s = h.store();
    let keys = bulk(s.as_ref()).await;
    s.put_policy(&json!({"bindings": []})).await.unwrap();
    let b = s.backend();

    let (all, rev) = b.range("bulk/").await.unwrap();
    assert_eq!(
        all.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>(),
        keys
    );
    assert!(all.iter().all(|kv| kv.value.len() == 8 * 1024));
    assert!(rev > 0);

    // Names only for the long list, values for the rest, one revision for both.
    let (view, _) = b.range_view(&["policy"], &["bulk/"]).await.unwrap();
    assert_eq!(view.len(), 1201);
    assert_eq!(view[0].key, "policy");
    assert!(!view[0].value.is_empty());
    assert!(view[1..].iter().all(|kv| kv.value.is_empty()));

    // Pages, both ways, resuming after the last key seen.
    let first = b.range_page("bulk/", None, 500, false).await.unwrap();
    assert_eq!((first.kvs.len(), first.more), (500, true));
    assert_eq!(first.kvs[499].key, "bulk/00499");
    let last = b
        .range_page("bulk/", Some("bulk/00999"), 500, false)
        .await
        .unwrap();
    assert_eq!((last.kvs.len(), last.more), (200, false));
    let newest = b.range_page("bulk/", None, 3, true).await.unwrap();
    let names: Vec<&str> = newest.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        (names, newest.more),
        (vec!["bulk/01199", "bulk/01198", "bulk/01197"], true)
    );
    let oldest = b
        .range_page("bulk/", Some("bulk/00002"), 10, true)
        .await
        .unwrap();
    let names: Vec<&str> = oldest.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        (names, oldest.more),
        (vec!["bulk/00001", "bulk/00000"], false)
    );
    // A page never leaves its prefix.
    assert!(
        b.range_page("bulk/0", Some("bulk/00999"), 500, false)
            .await
            .unwrap()
            .kvs
            .len()
            == 200
    );
    assert!(
        b.range_page("nothing/", None, 10, true)
            .await
            .unwrap()
            .kvs
            .is_empty()
    );
}

async fn the_newest_audit_entries_are_read_from_the_end(h: &impl Harness) {
    let s = h.store();
    let k = key();
    // More than one page (256) of entries; every tenth by bob.
    for i in 0..600 {
        let who = if i % 10 == 0 { "bob" } else { "alice" };
        s.append_audit(draft(who, "weight", &k)).await.unwrap();
    }
    let seqs = |v: Vec<flightdeck::domain::AuditEntry>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    let newest = AuditFilter {
        limit: Some(3),
        ..AuditFilter::default()
    };
    assert_eq!(seqs(s.list_audit(&newest).await.unwrap()), [598, 599, 600]);
    let page_before = AuditFilter {
        limit: Some(3),
        before: Some(100),
        ..AuditFilter::default()
    };
    assert_eq!(
        seqs(s.list_audit(&page_before).await.unwrap()),
        [97, 98, 99]
    );
    // Bob's last 40 lie on two pages of the log.
    let bobs = AuditFilter {
        user: Some("bob".into()),
        limit: Some(40),
        ..AuditFilter::default()
    };
    let got = seqs(s.list_audit(&bobs).await.unwrap());
    assert_eq!(
        got,
        (201..=591)
            .step_by(10)
            .map(|n| n as u64)
            .collect::<Vec<_>>()
    );
    let everything = s.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(everything.len(), 600);
    assert_eq!(s.verify_audit().await.unwrap(), 600);
}

async fn templates_groups_and_policy_round_trip(h: &impl Harness) {
    let s = h.store();
    s.put_template(&template("grpc-service")).await.unwrap();
    s.put_template(&template("worker")).await.unwrap();
    assert_eq!(
        s.get_template("worker").await.unwrap(),
        Some(template("worker"))
    );
    assert_eq!(s.list_templates().await.unwrap().len(), 2);
    s.delete_template("worker").await.unwrap();
    assert!(matches!(
        s.delete_template("worker").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s.get_template("worker").await.unwrap(), None);

    let a = group("prod-hz", "user", "user-info-grpc");
    let b = group("prod-hz", "billing", "invoices");
    let c = group("prod-fsn", "user", "user-info-grpc");
    for g in [&a, &b, &c] {
        s.put_group(g).await.unwrap();
    }
    assert_eq!(s.get_group(&a.key()).await.unwrap(), Some(a.clone()));
    assert_eq!(s.list_groups(&Scope::all()).await.unwrap().len(), 3);
    assert_eq!(
        s.list_groups(&Scope::cluster("prod-hz"))
            .await
            .unwrap()
            .len(),
        2
    );
    let user_ns = s
        .list_groups(&Scope::namespace("prod-hz", "user"))
        .await
        .unwrap();
    assert_eq!(user_ns, vec![a.clone()]);
    s.delete_group(&a.key()).await.unwrap();
    assert_eq!(s.get_group(&a.key()).await.unwrap(), None);
    let slash = group("prod-hz", "us/er", "x");
    assert!(matches!(
        s.put_group(&slash).await,
        Err(StoreError::Invalid(_))
    ));

    assert_eq!(s.get_policy().await.unwrap(), None);
    let policy = json!({ "bindings": [{ "user": "alice", "role": "admin" }] });
    let rev = s.put_policy(&policy).await.unwrap();
    let got = s.get_policy().await.unwrap().unwrap();
    assert_eq!((got.value, got.mod_revision), (policy, rev));
}

async fn revisions_are_create_only(h: &impl Harness) {
    let s = h.store();
    let k = key();
    assert_eq!(s.next_revision_number(&k).await.unwrap(), 1);
    s.create_revision(&revision(&k, 1, "v1")).await.unwrap();
    s.create_revision(&revision(&k, 2, "v2")).await.unwrap();
    assert_eq!(s.next_revision_number(&k).await.unwrap(), 3);
    let again = s.create_revision(&revision(&k, 1, "evil")).await;
    match again {
        Err(e @ StoreError::AlreadyExists { .. }) => {
            assert!(e.to_string().contains("revision 1"), "{e}")
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let one = s.get_revision(&k, 1).await.unwrap().unwrap();
    assert_eq!(one.params["tag"], json!("v1"));
    let all = s.list_revisions(&k).await.unwrap();
    assert_eq!(all.iter().map(|r| r.number).collect::<Vec<_>>(), vec![1, 2]);
}

async fn concurrent_commits_one_wins_the_other_names_the_winner(h: &impl Harness) {
    let s = h.store();
    let k = key();
    let first = s
        .commit_release(ReleaseChange {
            key: k.clone(),
            expect_mod_revision: None,
            release: release(&k, "carol", 5),
            revision: Some(revision(&k, 1, "v1")),
            audit: draft("carol", "deploy", &k),
        })
        .await
        .unwrap();
    let seen = s.get_release(&k).await.unwrap().unwrap();
    assert_eq!(seen.mod_revision, first.mod_revision);

    let other = h.another().await;
    let change = |by: &str, weight| ReleaseChange {
        key: k.clone(),
        expect_mod_revision: Some(seen.mod_revision),
        release: release(&k, by, weight),
        revision: None,
        audit: draft(by, "weight", &k),
    };
    let (alice, bob) = tokio::join!(
        s.commit_release(change("alice", 25)),
        other.commit_release(change("bob", 50))
    );
    let (winner, loser) = match (&alice, &bob) {
        (Ok(_), Err(e)) => ("alice", e),
        (Err(e), Ok(_)) => ("bob", e),
        _ => panic!("exactly one commit must win: {alice:?} / {bob:?}"),
    };
    match loser {
        StoreError::Conflict { by, .. } => assert_eq!(by, winner),
        e => panic!("the loser must get Conflict, got {e:?}"),
    }
    assert!(
        loser.to_string().contains(&format!("changed by {winner}")),
        "{loser}"
    );
    let now = s.get_release(&k).await.unwrap().unwrap();
    assert_eq!(now.value.updated_by, winner);

    // The first release of a group must not exist yet.
    let again = s.commit_release(ReleaseChange {
        expect_mod_revision: None,
        ..change("carol", 1)
    });
    assert!(matches!(again.await, Err(StoreError::Conflict { .. })));
    assert_eq!(s.verify_audit().await.unwrap(), 2);
}

async fn a_failed_commit_writes_nothing(h: &impl Harness) {
    let s = h.store();
    let k = key();
    s.create_revision(&revision(&k, 1, "v1")).await.unwrap();
    let before = s.snapshot().await.unwrap();
    let dup = s
        .commit_release(ReleaseChange {
            key: k.clone(),
            expect_mod_revision: None,
            release: release(&k, "alice", 5),
            revision: Some(revision(&k, 1, "v2")),
            audit: draft("alice", "deploy", &k),
        })
        .await;
    assert!(
        matches!(dup, Err(StoreError::AlreadyExists { .. })),
        "{dup:?}"
    );
    let after = s.snapshot().await.unwrap();
    assert_eq!(after.revision, before.revision, "nothing may be written");
    assert_eq!(s.get_release(&k).await.unwrap(), None);
    assert_eq!(s.verify_audit().await.unwrap(), 0);
}

async fn concurrent_audit_appends_form_one_chain(h: &impl Harness) {
    let k = key();
    let other_key = GroupKey::new("prod-hz", "billing", "invoices");
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = if i % 2 == 0 {
            h.store()
        } else {
            h.another().await
        };
        let (user, target) = if i % 3 == 0 {
            ("bob", other_key.clone())
        } else {
            ("alice", k.clone())
        };
        tasks.push(tokio::spawn(async move {
            s.append_audit(draft(user, "pause", &target)).await.unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
    let s = h.store();
    assert_eq!(s.verify_audit().await.unwrap(), 12);

    let all = s.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 12);
    assert!(
        all.windows(2)
            .all(|w| w[1].prev == w[0].hash && w[1].seq == w[0].seq + 1)
    );
    let bobs = AuditFilter {
        user: Some("bob".into()),
        ..AuditFilter::default()
    };
    assert_eq!(s.list_audit(&bobs).await.unwrap().len(), 4);
    let group = AuditFilter {
        group: Some(other_key),
        limit: Some(2),
        ..AuditFilter::default()
    };
    let last_two = s.list_audit(&group).await.unwrap();
    assert_eq!(last_two.len(), 2);
    assert!(last_two.iter().all(|e| e.user.name == "bob"));
    let future = AuditFilter {
        since: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60)),
        ..AuditFilter::default()
    };
    assert!(s.list_audit(&future).await.unwrap().is_empty());
}

async fn verify_names_an_entry_edited_behind_our_back(h: &impl Harness) {
    let s = h.store();
    let k = key();
    for _ in 0..3 {
        s.append_audit(draft("alice", "weight", &k)).await.unwrap();
    }
    assert_eq!(s.verify_audit().await.unwrap(), 3);
    let mut second = s.list_audit(&AuditFilter::default()).await.unwrap()[1].clone();
    second.user.name = "mallory".into();
    h.raw_put(
        "audit/00000000000000000002",
        serde_json::to_vec(&second).unwrap(),
    )
    .await;
    match s.verify_audit().await {
        Err(e @ StoreError::ChainBroken { seq: 2, .. }) => {
            assert!(e.to_string().contains("entry 2"), "{e}")
        }
        other => panic!("verify must name entry 2, got {other:?}"),
    }

    // An entry slipped in past the head: appends refuse to build on it instead of spinning.
    h.raw_put("audit/00000000000000000004", b"{}".to_vec())
        .await;
    match s.append_audit(draft("alice", "pause", &k)).await {
        Err(StoreError::ChainBroken { seq: 4, .. }) => {}
        other => panic!("append must report the forged entry 4, got {other:?}"),
    }
}

async fn next(stream: &mut BoxStream<'static, StoreEvent>) -> StoreEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a watch event within 10s")
        .expect("the watch stream ended")
}

async fn watch_delivers_changes_in_order(h: &impl Harness) {
    let s = h.store();
    s.put_template(&template("before-the-watch")).await.unwrap();
    let snap = s.snapshot().await.unwrap();
    assert_eq!(snap.templates.len(), 1);
    let mut w = s.watch(snap.revision + 1).await.unwrap();

    let other = h.another().await;
    let g = group("prod-hz", "user", "user-info-grpc");
    let k = g.key();
    other.put_group(&g).await.unwrap();
    let committed = other
        .commit_release(ReleaseChange {
            key: k.clone(),
            expect_mod_revision: None,
            release: release(&k, "bob", 5),
            revision: Some(revision(&k, 1, "v1")),
            audit: draft("bob", "deploy", &k),
        })
        .await
        .unwrap();
    other.put_policy(&json!({ "roles": [] })).await.unwrap();
    other.delete_group(&k).await.unwrap();

    assert_eq!(next(&mut w).await.change, Change::GroupPut(g.clone()));
    // The release transaction arrives as its parts, all at one revision.
    let mut parts = Vec::new();
    for _ in 0..3 {
        let ev = next(&mut w).await;
        assert_eq!(ev.revision, committed.mod_revision);
        parts.push(ev.change);
    }
    assert!(parts.iter().any(|c| matches!(c, Change::ReleasePut(r) if r.value.updated_by == "bob" && r.mod_revision == committed.mod_revision)));
    assert!(
        parts
            .iter()
            .any(|c| matches!(c, Change::RevisionCreated(r) if r.number == 1))
    );
    assert!(
        parts
            .iter()
            .any(|c| matches!(c, Change::AuditAppended(e) if e.seq == 1))
    );
    assert_eq!(
        next(&mut w).await.change,
        Change::PolicyPut(json!({ "roles": [] }))
    );
    assert_eq!(next(&mut w).await.change, Change::GroupDeleted(k));
}

async fn watch_from_a_compacted_revision_asks_for_a_resync(h: &impl Harness) {
    let s = h.store();
    let old = s.put_template(&template("a")).await.unwrap();
    s.put_template(&template("b")).await.unwrap();
    let now = s.put_template(&template("c")).await.unwrap();
    s.compact(now).await.unwrap();
    let mut w = s.watch(old).await.unwrap();
    assert_eq!(next(&mut w).await.change, Change::Resync);
    let ended = tokio::time::timeout(Duration::from_secs(5), w.next()).await;
    assert!(matches!(ended, Ok(None)), "Resync must end the stream");
    // The consumer reloads and carries on from the snapshot.
    let snap = s.snapshot().await.unwrap();
    assert_eq!(snap.templates.len(), 3);
    let mut w = s.watch(snap.revision + 1).await.unwrap();
    s.put_template(&template("d")).await.unwrap();
    assert_eq!(
        next(&mut w).await.change,
        Change::TemplatePut(template("d"))
    );
}
