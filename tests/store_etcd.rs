//! What only a real etcd can show: restarts, outages, compaction by the server and logins.

#[path = "support/store.rs"]
mod store_support;
mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;

use flightdeck::store::{Change, ReleaseChange, StoreError, StoreEvent, StoreOptions};
use store_support::*;
use support::etcd::Etcd;

const PREFIX: &str = "/flightdeck/";

async fn next(stream: &mut BoxStream<'static, StoreEvent>) -> StoreEvent {
    tokio::time::timeout(Duration::from_secs(15), stream.next())
        .await
        .expect("a watch event within 15s")
        .expect("the watch stream ended")
}

/// Retries `op` until etcd is back (the client reconnects on its own), for up to 15s.
async fn once_back<T>(mut op: impl AsyncFnMut() -> Result<T, StoreError>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match op().await {
            Ok(v) => return v,
            Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("store did not come back: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_across_an_etcd_restart_without_loss_or_repeats() {
    let mut etcd = Etcd::start().await;
    let s = open(&etcd.url(), options(PREFIX)).await;
    let snap = s.snapshot().await.unwrap();
    let mut w = s.watch(snap.revision + 1).await.unwrap();
    s.put_template(&template("one")).await.unwrap();
    let first = next(&mut w).await;
    assert_eq!(first.change, Change::TemplatePut(template("one")));

    etcd.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    etcd.start_again().await;
    once_back(async || s.put_template(&template("two")).await).await;
    s.put_template(&template("three")).await.unwrap();

    let second = next(&mut w).await;
    assert_eq!(second.change, Change::TemplatePut(template("two")));
    assert_eq!(
        second.revision,
        first.revision + 1,
        "nothing lost in between"
    );
    let third = next(&mut w).await;
    assert_eq!(third.change, Change::TemplatePut(template("three")));
    let quiet = tokio::time::timeout(Duration::from_millis(500), w.next()).await;
    assert!(quiet.is_err(), "no event may be delivered twice: {quiet:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_etcd_keeps_every_acknowledged_commit() {
    let mut etcd = Etcd::start().await;
    let s = open(&etcd.url(), options(PREFIX)).await;
    let k = key();
    let mut expect = None;
    let mut acked = 0;
    for (i, weight) in [5u8, 25, 50].into_iter().enumerate() {
        let c = s
            .commit_release(ReleaseChange {
                key: k.clone(),
                expect_mod_revision: expect,
                release: release(&k, "alice", weight),
                revision: (i == 0).then(|| revision(&k, 1, "v1")),
                audit: draft("alice", "weight", &k),
            })
            .await
            .unwrap();
        expect = Some(c.mod_revision);
        acked += 1;
    }

    etcd.stop();
    let down = s.get_release(&k).await;
    assert!(
        matches!(down, Err(StoreError::Unavailable { .. })),
        "{down:?}"
    );
    etcd.start_again().await;

    let back = once_back(async || s.get_release(&k).await).await.unwrap();
    assert_eq!(back.value.weight, 50);
    assert_eq!(Some(back.mod_revision), expect);
    assert_eq!(s.verify_audit().await.unwrap(), acked);
    // And the same client goes on writing.
    s.commit_release(ReleaseChange {
        key: k.clone(),
        expect_mod_revision: expect,
        release: release(&k, "alice", 100),
        revision: None,
        audit: draft("alice", "promote", &k),
    })
    .await
    .unwrap();
    assert_eq!(s.verify_audit().await.unwrap(), acked + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_etcd_is_a_timely_unavailable_error_not_a_hang() {
    let mut etcd = Etcd::start().await;
    let opts = StoreOptions {
        request_timeout: Duration::from_secs(1),
        ..options(PREFIX)
    };
    let s = open(&etcd.url(), opts).await;
    s.put_template(&template("a")).await.unwrap();
    etcd.stop();

    let t = Instant::now();
    let err = s.put_template(&template("b")).await.unwrap_err();
    let took = t.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(err.is_unavailable(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&etcd.endpoint()) && msg.contains("is etcd running?"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");
    eprintln!("{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_survives_server_side_compaction_with_a_resync() {
    let etcd = Etcd::start().await;
    let s = open(&etcd.url(), options(PREFIX)).await;
    let start = s.snapshot().await.unwrap().revision + 1;
    for name in ["a", "b", "c"] {
        s.put_template(&template(name)).await.unwrap();
    }
    // Compacted by someone else (etcd's auto-compaction, an operator with etcdctl).
    let mut raw = etcd.client().await;
    let head = raw
        .get("x", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    raw.compact(head, None).await.unwrap();
    let mut w = s.watch(start).await.unwrap();
    assert_eq!(next(&mut w).await.change, Change::Resync);
}

fn login(user: &str, password: &str) -> StoreOptions {
    StoreOptions {
        user: Some(user.into()),
        password: Some(password.into()),
        ..options(PREFIX)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_etcd_user_is_the_identity_of_its_store() {
    let mut etcd = Etcd::start().await;
    etcd.enable_auth(PREFIX, &[("alice", "a-pass"), ("bob", "b-pass")])
        .await;
    let alice = open(&etcd.url(), login("alice", "a-pass")).await;
    let bob = open(&etcd.url(), login("bob", "b-pass")).await;
    assert_eq!(alice.authenticated_user().as_deref(), Some("alice"));
    assert_eq!(bob.authenticated_user().as_deref(), Some("bob"));
    alice.put_template(&template("a")).await.unwrap();
    assert_eq!(bob.list_templates().await.unwrap().len(), 1);

    let cfg = flightdeck::store::StoreConfig::parse(&etcd.url(), login("alice", "wrong")).unwrap();
    match flightdeck::store::connect(&cfg).await {
        Err(e @ StoreError::Denied { .. }) => assert!(e.to_string().contains("alice"), "{e}"),
        Err(e) => panic!("a wrong password must be Denied, got {e:?}"),
        Ok(_) => panic!("a wrong password must be refused"),
    }
    let anonymous = open(&etcd.url(), options(PREFIX)).await;
    let err = anonymous.list_templates().await.unwrap_err();
    assert!(matches!(err, StoreError::Denied { .. }), "{err:?}");

    // etcd forgets its tokens when it restarts; the store logs in again by itself.
    etcd.stop();
    etcd.start_again().await;
    once_back(async || alice.put_template(&template("b")).await).await;
    assert_eq!(bob.list_templates().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate() {
    let etcd = Etcd::start_tls().await;
    let pki = etcd.pki().unwrap().clone();
    let tls = StoreOptions {
        ca: Some(pki.ca.clone()),
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
        ..options(PREFIX)
    };
    let s = open(&etcd.url(), tls.clone()).await;
    s.put_template(&template("over-tls")).await.unwrap();
    assert_eq!(s.list_templates().await.unwrap().len(), 1);

    // Without a client certificate etcd will not talk to us.
    let no_cert = StoreOptions {
        cert: None,
        key: None,
        ..tls.clone()
    };
    let s = open(&etcd.url(), no_cert).await;
    let err = s.list_templates().await.unwrap_err();
    eprintln!("{err}");
    assert!(err.is_unavailable(), "{err:?}");

    let missing = StoreOptions {
        ca: Some(pki.ca.with_file_name("nope.pem")),
        ..tls
    };
    let cfg = flightdeck::store::StoreConfig::parse(&etcd.url(), missing).unwrap();
    let err = flightdeck::store::connect(&cfg)
        .await
        .err()
        .expect("a missing CA file is an error");
    assert!(err.to_string().contains("--etcd-ca"), "{err}");
}
