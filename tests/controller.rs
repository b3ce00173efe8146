//! The release controller as the one writer: requests answered once, a failover within the
//! lease time, a dead controller's late write fenced off, stale lease keys cleared, crafted
//! requests and parameters refused and audited — with the real binary, a real etcd and the
//! simulated cluster.

#[path = "support/store.rs"]
mod store_support;
mod support;

use std::time::{Duration, Instant};

use flightdeck::domain::{GroupKey, Outcome, Phase};
use flightdeck::store::{AuditFilter, ReleaseChange, StoreError};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::ListParams;
use support::cli::*;
use support::etcd::Etcd;
use support::world::World;
use support::{Sim, eventually};

fn web() -> GroupKey {
    GroupKey::new("sim", NAMESPACE, "web")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_controller_a_request_times_out_with_exit_3_and_changes_nothing() {
    let mut w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .start()
        .await;
    // SIGTERM: a controller that stops gives the lease back.
    w.controller_mut().terminate().await;
    let store = w.store.clone();
    let before = store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .len();
    let started = Instant::now();
    let out =
        w.fd.run(&["deploy", "web", "--tag", "1.0.0", "--wait", "1s"])
            .await
            .expect(3);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        out.stderr
            .contains("no release controller answered within 1s: none is running"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert_eq!(store.get_release(&web()).await.unwrap(), None);
    assert_eq!(
        store
            .list_audit(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        before
    );
    // The asker took its request back: a controller starting later does not act on it.
    let (left, _) = store.backend().range("requests/").await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let _controller = w.fd.controller().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.get_release(&web()).await.unwrap(), None);
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_controller_is_replaced_within_its_lease_and_its_late_write_is_fenced() {
    let w = World::builder().start().await;
    let mut first = w.fd.controller().await;
    // A second replica stands by.
    let mut cmd =
        w.fd.command(&["agent", "--poll", "100ms", "--lease-ttl", "3s"]);
    cmd.stdout(std::process::Stdio::null());
    let second = Controller::from_child(cmd.spawn().unwrap());
    second.wait_for("standing by", 10).await;

    // The controller's own steps are system:agent's, bound like anyone's.
    w.fd.estate(&[&me(), "system:agent"], &[]).await;
    let g = w.fd.file("timed.yaml", TIMED_GROUP);
    w.fd.run(&["groups", "apply", "-f", &g]).await.expect(0);
    w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    let store = w.store.clone();
    let holder = store.lease_holder("controller").await.unwrap().unwrap();

    // kill -9 in the middle of the timed pause: nobody gives the lease back.
    first.kill().await;
    let killed = Instant::now();
    second.wait_for("holding the lease", 10).await;
    let took_over = killed.elapsed();
    assert!(
        took_over < Duration::from_secs(3 + 2),
        "the standby took over after {took_over:?} (lease 3s)"
    );
    let next = store.lease_holder("controller").await.unwrap().unwrap();
    assert_ne!(next, holder);

    // The standby finishes the pause the dead one started.
    eventually(
        20,
        "the timed pause stepped by the new controller",
        || async {
            let r = store.get_release(&web()).await.ok()??.value;
            (r.weight == 50 && r.phase == Phase::Paused && r.applied == r.desired).then_some(())
        },
    )
    .await;
    let entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    let step = entries
        .iter()
        .rev()
        .find(|e| e.action == "step" && e.outcome == Outcome::Allowed)
        .expect("an audited step");
    assert_eq!(step.user.name, "system:agent");
    assert_eq!(step.via.as_deref(), Some(next.as_str()), "{step:?}");
    assert!(step.request_id.as_deref().is_some_and(|id| id.len() == 26));
    // People's actions name them, the request they sent and the controller that took it.
    let deploy = entries.iter().find(|e| e.action == "deploy").unwrap();
    assert_eq!(deploy.user.name, me());
    assert_eq!(deploy.via.as_deref(), Some(holder.as_str()));
    assert!(deploy.request_id.is_some());

    // The dead one's write, late: its store connection still has its old fence.
    let late = open_store(&w.etcd.url(), None).await;
    let mut revoke = w.etcd.client().await;
    late.hold_lease("fence-test", "late", Duration::from_secs(30))
        .await
        .unwrap();
    let kv = revoke
        .get("/flightdeck/leases/fence-test", None)
        .await
        .unwrap();
    revoke.lease_revoke(kv.kvs()[0].lease()).await.unwrap();
    let winner = open_store(&w.etcd.url(), None).await;
    assert_eq!(
        winner
            .hold_lease("fence-test", "winner", Duration::from_secs(30))
            .await
            .unwrap()
            .holder,
        "winner"
    );
    let current = late.get_release(&web()).await.unwrap().unwrap();
    let mut release = current.value.clone();
    release.weight = 100;
    let written = late
        .commit_release(ReleaseChange {
            key: web(),
            expect_mod_revision: Some(current.mod_revision),
            release,
            revision: None,
            audit: store_support::draft("late", "weight", &web()),
        })
        .await;
    assert!(
        matches!(written, Err(StoreError::Fenced { .. })),
        "{written:?}"
    );
    assert_eq!(store.get_release(&web()).await.unwrap().unwrap(), current);
    w.fd.run(&["audit", "verify"]).await.expect(0);
    drop(second);
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_key_without_a_live_lease_is_cleared_and_reported() {
    let etcd = Etcd::start().await;
    let sim = Sim::start().await;
    let mut raw = etcd.client().await;
    // Written by hand, with no etcd lease: it would block every controller for ever.
    raw.put("/flightdeck/leases/controller", "ghost@nowhere:1", None)
        .await
        .unwrap();
    let fd = Flightdeck::new(&etcd.url(), &sim.kubeconfig);
    let c = fd.controller().await;
    assert!(
        c.stderr()
            .contains("removed a stale lease key (held by \"ghost@nowhere:1\""),
        "{}",
        c.stderr()
    );
    let store = open_store(&etcd.url(), None).await;
    let holder = store.lease_holder("controller").await.unwrap().unwrap();
    assert!(holder.starts_with("controller@"), "{holder}");
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_login_the_controller_needs_local_and_never_touches_the_lease() {
    let etcd = Etcd::start().await;
    let sim = Sim::start().await;
    let fd = Flightdeck::new(&etcd.url(), &sim.kubeconfig);
    let mut cmd = tokio::process::Command::new(bin());
    let out = cmd
        .args(["agent", "--store", &etcd.url(), "--kubeconfig"])
        .arg(&sim.kubeconfig)
        .env("XDG_STATE_HOME", fd.dir.path())
        .env_remove("FLIGHTDECK_LOCAL")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has no login"), "{stderr}");
    let store = open_store(&etcd.url(), None).await;
    assert_eq!(store.lease_holder("controller").await.unwrap(), None);
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_parameters_and_requests_are_refused_audited_and_store_nothing() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .deploy("1.0.0")
        .start()
        .await;
    let store = w.store.clone();
    let revisions = store.list_revisions(&web()).await.unwrap().len();

    // New lines would have added documents to the rendered YAML: a Namespace, another
    // team's Deployment.
    let injected = "registry.local/shop/web\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: owned }\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: search-api, namespace: search }";
    let out =
        w.fd.run(&[
            "deploy",
            "web",
            "--tag",
            "1.1.0",
            "--set",
            &format!("image={injected}"),
        ])
        .await;
    // The command line refuses it before asking …
    assert!([1, 2].contains(&out.code), "{out:?}");
    assert!(out.stderr.contains("control character"), "{}", out.stderr);
    assert_eq!(store.list_revisions(&web()).await.unwrap().len(), revisions);
    // … and the controller refuses it from a binary of one's own, audited.
    let mut params = std::collections::BTreeMap::new();
    params.insert("image".to_string(), serde_json::json!(injected));
    let answer = flightdeck::controller::Requester::new(store.clone(), me())
        .ask(flightdeck::controller::Ask::Act {
            group: web(),
            action: flightdeck::engine::Action::Deploy {
                tag: "1.1.0".into(),
                params,
            },
            reason: None,
        })
        .await
        .unwrap();
    assert_eq!(answer.exit, 2, "{}", answer.message);
    assert!(
        answer.message.contains("control character"),
        "{}",
        answer.message
    );
    assert_eq!(store.list_revisions(&web()).await.unwrap().len(), revisions);
    let last = store.list_audit(&AuditFilter::default()).await.unwrap();
    let last = last.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome),
        ("deploy", Outcome::Denied)
    );

    // Quotes, `---`, `: ` and braces on one line: inert text, inserted as it is.
    let odd = "registry.local/x\"y: {z} --- #w";
    w.fd.run(&[
        "deploy",
        "web",
        "--tag",
        "1.1.0",
        "--set",
        &format!("image={odd}"),
    ])
    .await
    .expect(0);
    let api: Api<Deployment> = Api::namespaced(w.sim.client().await, NAMESPACE);
    eventually(10, "the canary with the odd image", || async {
        let d = api.get_opt("web-canary").await.ok()??;
        let image = d.spec?.template.spec?.containers[0].image.clone()?;
        (image == format!("{odd}:1.1.0")).then_some(())
    })
    .await;
    let client = w.sim.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(!names.contains(&"owned".to_string()), "{names:?}");
    let everywhere: Api<Deployment> = Api::all(client);
    let outside: Vec<_> = everywhere
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|d| d.metadata.namespace.as_deref() != Some(NAMESPACE))
        .collect();
    assert!(outside.is_empty(), "nothing outside the group's namespace");

    // A request body of garbage, written around the command line: refused and audited.
    let mut raw = w.etcd.client().await;
    let id = "01JGARBAGE0000000000000000";
    raw.put(
        format!("/flightdeck/requests/{}/{id}", me()),
        "{not json",
        None,
    )
    .await
    .unwrap();
    let answer = eventually(10, "an answer to the garbage", || async {
        let kv = store
            .backend()
            .get(&format!("responses/{}/{id}", me()))
            .await
            .ok()??;
        let a: serde_json::Value = serde_json::from_slice(&kv.value).ok()?;
        (a["state"] == "done").then_some(a)
    })
    .await;
    assert_eq!(answer["exit"], 2, "{answer}");
    let entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    let e = entries.last().unwrap();
    assert_eq!(
        (e.action.as_str(), e.outcome, e.request_id.as_deref()),
        ("request", Outcome::Denied, Some(id))
    );

    // A group in a cluster nobody registered is refused, audited.
    let other = GROUP
        .replace("cluster: sim", "cluster: elsewhere")
        .replace("name: web,", "name: web2,");
    let f = w.fd.file("other.yaml", &other);
    w.fd.run(&["groups", "apply", "-f", &f]).await.expect(0);
    let out =
        w.fd.run(&["deploy", "web2", "--tag", "1.0.0"])
            .await
            .expect(1);
    assert!(
        out.stderr.contains("cluster elsewhere is not registered"),
        "{}",
        out.stderr
    );
    w.fd.run(&["audit", "verify"]).await.expect(0);
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_whose_context_reaches_another_server_refuses_to_start() {
    let etcd = Etcd::start().await;
    let sim = Sim::start().await;
    let mut raw = etcd.client().await;
    raw.put(
        "/flightdeck/clusters/sim",
        r#"{"name":"sim","server":"https://203.0.113.7:6443","caSha256":""}"#,
        None,
    )
    .await
    .unwrap();
    let fd = Flightdeck::new(&etcd.url(), &sim.kubeconfig);
    let out = fd
        .run(&["agent", "--poll", "100ms", "--lease-ttl", "3s"])
        .await
        .expect(1);
    assert!(
        out.stderr.contains("cluster sim is registered at https://203.0.113.7:6443 but this controller's context sim reaches http://127.0.0.1:")
            && out.stderr.contains("refusing to start"),
        "{}",
        out.stderr
    );
    let store = open_store(&etcd.url(), None).await;
    assert_eq!(store.lease_holder("controller").await.unwrap(), None);
    sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_already_answered_is_never_acted_on_again() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .deploy("1.0.0")
        .deploy("1.1.0")
        .start()
        .await;
    let store = w.store.clone();
    let before = store.get_release(&web()).await.unwrap().unwrap();
    let audit = store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .len();

    // What a controller that died after committing leaves: the request, and the
    // "accepted" answer written in the same transaction as the change.
    let id = "01JANSWERED000000000000000";
    let mut raw = w.etcd.client().await;
    raw.put(
        format!("/flightdeck/responses/{}/{id}", me()),
        r#"{"state":"accepted","exit":0,"message":"accepted","via":"controller@gone:1","time":"2026-11-30T00:00:00.000Z"}"#,
        None,
    )
    .await
    .unwrap();
    let request = serde_json::json!({
        "ask": {"kind": "act", "group": {"cluster": "sim", "namespace": NAMESPACE, "group": "web"},
                "action": {"name": "weight", "args": 50}},
    });
    raw.put(
        format!("/flightdeck/requests/{}/{id}", me()),
        request.to_string(),
        None,
    )
    .await
    .unwrap();
    eventually(10, "the controller drops the answered request", || async {
        let (left, _) = store.backend().range("requests/").await.ok()?;
        left.is_empty().then_some(())
    })
    .await;
    assert_eq!(store.get_release(&web()).await.unwrap().unwrap(), before);
    assert_eq!(
        store
            .list_audit(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        audit
    );
    // The same request under a fresh id is acted on.
    w.fd.run(&["weight", "web", "50"]).await.expect(0);
    assert_eq!(
        store
            .get_release(&web())
            .await
            .unwrap()
            .unwrap()
            .value
            .weight,
        50
    );
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dimmed_key_the_console_refused_is_audited_and_changes_nothing() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .start()
        .await;
    let store = w.store.clone();
    // What the console's action worker sends for a dimmed key.
    let requester = flightdeck::controller::Requester::new(store.clone(), me());
    let answer = requester
        .ask(flightdeck::controller::Ask::Refused {
            group: web(),
            verb: flightdeck::authz::Verb::Promote,
            reason: "cannot promote: web has never been deployed; deploy first\u{1b}[2J".into(),
        })
        .await
        .unwrap();
    assert_eq!(answer.exit, 1);
    let entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    let e = entries.last().unwrap();
    assert_eq!((e.action.as_str(), e.outcome), ("promote", Outcome::Denied));
    assert_eq!(
        e.reason,
        "refused in the console: cannot promote: web has never been deployed; deploy first"
    );
    assert_eq!(store.get_release(&web()).await.unwrap(), None);
    w.sim.handle.shutdown().await;
}
