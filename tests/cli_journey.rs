//! A release from the command line, end to end: the real binary, a real etcd, the
//! simulated cluster through kube-rs. Apply the estate, deploy, canary, step, promote,
//! abort, roll back — then check the cluster, the store and the audit chain.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use support::cli::*;
use support::eventually;
use support::world::World;

fn image(d: &Deployment) -> String {
    d.spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone()
        .unwrap()
}

fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().unwrap().replicas.unwrap_or(1)
}

/// Waits until the Deployment `name` has `want` replicas and image tag `tag`.
async fn expect_deployment(api: &Api<Deployment>, name: &str, want: i32, tag: &str) {
    let what = format!("{name}: {want} replicas of {tag}");
    eventually(10, &what, || async {
        let d = api.get_opt(name).await.ok().flatten()?;
        (replicas(&d) == want && image(&d).ends_with(&format!(":{tag}"))).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_canary_step_promote_abort() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .start()
        .await;
    let listed = w.fd.run(&["groups", "list"]).await.expect(0);
    assert!(listed.stdout.contains("web") && listed.stdout.contains("1.0.0"));

    let api: Api<Deployment> = Api::namespaced(w.sim.client().await, NAMESPACE);
    let first =
        w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
            .await
            .expect(0);
    assert!(first.stdout.contains("first deploy"), "{}", first.stdout);
    expect_deployment(&api, "web", REPLICAS, "1.0.0").await;

    w.fd.run(&[
        "deploy",
        "web",
        "--tag",
        "1.1.0",
        "--reason",
        "new checkout",
    ])
    .await
    .expect(0);
    // Weight 10 of 4 replicas: one canary pod, three stable.
    expect_deployment(&api, "web-canary", 1, "1.1.0").await;
    expect_deployment(&api, "web", 3, "1.0.0").await;
    let status = w.fd.run(&["status", "web", "--json"]).await.expect(0);
    let s: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(s["release"]["phase"], "Paused");
    assert_eq!(s["release"]["weight"], 10);
    assert_eq!(s["canary_tag"], "1.1.0");

    w.fd.run(&["step", "web"]).await.expect(0);
    expect_deployment(&api, "web-canary", 2, "1.1.0").await;
    expect_deployment(&api, "web", 2, "1.0.0").await;
    let table = w.fd.run(&["status"]).await.expect(0).stdout;
    assert!(table.contains("50%") && table.contains("4/4"), "{table}");

    w.fd.run(&["promote", "web"]).await.expect(0);
    expect_deployment(&api, "web", REPLICAS, "1.1.0").await;
    expect_deployment(&api, "web-canary", 0, "1.1.0").await;

    let store = w.store.clone();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, o)| (a.to_string(), o.to_string()))
            .collect()
    };
    let trail = audit_trail(store.as_ref()).await;
    let expected = pairs(&[
        ("groups.apply", "applied"),
        ("deploy", "allowed"),
        ("deploy", "applied"),
        ("deploy", "allowed"),
        ("deploy", "applied"),
        ("step", "allowed"),
        ("step", "applied"),
        ("promote", "allowed"),
        ("promote", "applied"),
    ]);
    assert_eq!(trail, expected);

    // A new canary, aborted: back to all stable, canary at 0.
    w.fd.run(&["deploy", "web", "--tag", "1.2.0"])
        .await
        .expect(0);
    expect_deployment(&api, "web-canary", 1, "1.2.0").await;
    let abort =
        w.fd.run(&["abort", "web", "--reason", "errors"])
            .await
            .expect(0);
    assert!(!abort.stdout.trim().is_empty());
    expect_deployment(&api, "web-canary", 0, "1.2.0").await;
    expect_deployment(&api, "web", REPLICAS, "1.1.0").await;
    let log =
        w.fd.run(&["audit", "--group", "web", "--since", "10m"])
            .await
            .expect(0)
            .stdout;
    assert!(log.starts_with("SEQ"), "{log}");
    assert!(log.contains("abort") && log.contains("errors"), "{log}");
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_and_a_tampered_audit_log() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .start()
        .await;
    let api: Api<Deployment> = Api::namespaced(w.sim.client().await, NAMESPACE);
    for tag in ["1.0.0", "2.0.0", "3.0.0"] {
        w.fd.run(&["deploy", "web", "--tag", tag]).await.expect(0);
        if tag != "1.0.0" {
            w.fd.run(&["promote", "web"]).await.expect(0);
        }
        expect_deployment(&api, "web", REPLICAS, tag).await;
    }

    w.fd.run(&["rollback", "web", "--to-revision", "1"])
        .await
        .expect(0);
    expect_deployment(&api, "web", REPLICAS, "1.0.0").await;
    // A plain rollback goes to the stable revision before the current one.
    w.fd.run(&["rollback", "web", "--reason", "undo"])
        .await
        .expect(0);
    expect_deployment(&api, "web", REPLICAS, "3.0.0").await;
    let bad = w.fd.run(&["rollback", "web", "--to-revision", "9"]).await;
    assert_ne!(bad.code, 0, "{bad:?}");

    let ok = w.fd.run(&["audit", "verify"]).await.expect(0);
    assert!(ok.stdout.contains("chain intact"), "{}", ok.stdout);

    // Edit one entry behind flightdeck's back.
    let store = w.store.clone();
    let entries = store.list_audit(&Default::default()).await.unwrap();
    let victim = &entries[entries.len() / 2];
    let key = format!("{PREFIX}audit/{:020}", victim.seq);
    let mut client = w.etcd.client().await;
    let raw = client.get(key.as_str(), None).await.unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(raw.kvs()[0].value()).unwrap();
    value["reason"] = "nothing happened here".into();
    client
        .put(key.as_str(), serde_json::to_vec(&value).unwrap(), None)
        .await
        .unwrap();
    let broken = w.fd.run(&["audit", "verify"]).await.expect(1);
    assert!(
        broken.stderr.contains(&format!("entry {}", victim.seq)),
        "{}",
        broken.stderr
    );
    assert_eq!(broken.stderr.trim().lines().count(), 1);
    w.sim.handle.shutdown().await;
}
