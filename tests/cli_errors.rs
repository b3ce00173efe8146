//! Bad input and a dead store: the binary refuses with exit 2 or 3 and one clear line, and
//! the store is left exactly as it was.

mod support;

use std::time::{Duration, Instant};

use etcd_client::GetOptions;
use support::Sim;
use support::cli::*;
use support::etcd::Etcd;
use support::world::World;

/// Every key and value under the prefix, and etcd's revision (any write moves it).
async fn snapshot(etcd: &Etcd) -> (i64, Vec<(Vec<u8>, Vec<u8>)>) {
    let mut c = etcd.client().await;
    let r = c
        .get(PREFIX, Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    let kvs = r
        .kvs()
        .iter()
        .map(|kv| (kv.key().to_vec(), kv.value().to_vec()))
        .collect();
    (r.header().unwrap().revision(), kvs)
}

/// Runs the command, expects `code` and a one-line message containing `needle`.
async fn refused(fd: &Flightdeck, args: &[&str], code: i32, needle: &str) {
    let out = fd.run(args).await.expect(code);
    let msg = out.stderr.trim();
    assert_eq!(msg.lines().count(), 1, "{args:?}: one line, got {msg:?}");
    assert!(msg.starts_with("flightdeck: "), "{msg}");
    assert!(
        msg.contains(needle),
        "{args:?}: {msg:?} should contain {needle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_and_arguments_change_nothing() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .deploy("1.0.0")
        .start()
        .await;
    let before = snapshot(&w.etcd).await;

    // Templates: broken YAML, a body that does not compile, one that does not render for
    // the group that uses it.
    let f = w.fd.file(
        "t1.yaml",
        "apiVersion: flightdeck/v1\nkind: Template\nmetadata: { name: x\n",
    );
    refused(&w.fd, &["templates", "apply", "-f", &f], 2, "t1.yaml line ").await;
    let f = w.fd.file(
        "t2.yaml",
        &format!("{TEMPLATE}---\napiVersion: flightdeck/v1\nkind: Template\nmetadata: {{ name: y }}\nspec:\n  body: \"{{% if %}}\"\n"),
    );
    refused(
        &w.fd,
        &["templates", "apply", "-f", &f],
        2,
        "t2.yaml line 24:",
    )
    .await;
    let f =
        w.fd.file("t3.yaml", &TEMPLATE.replace("params.tag", "params.missing"));
    refused(
        &w.fd,
        &["templates", "apply", "-f", &f],
        2,
        "does not render for group sim/shop/web",
    )
    .await;

    // Groups: the second document names an unknown template (line of that document), a
    // weight above 100, a missing field, a wrong kind.
    let other = GROUP.replace("name: web,", "name: api,");
    let f = w.fd.file(
        "g1.yaml",
        &format!(
            "{GROUP}---\n{}",
            other.replace("template: web", "template: nope")
        ),
    );
    refused(
        &w.fd,
        &["groups", "apply", "-f", &f],
        2,
        "g1.yaml line 14: group api: unknown template \"nope\"",
    )
    .await;
    let f =
        w.fd.file("g2.yaml", &GROUP.replace("setWeight: 50", "setWeight: 150"));
    refused(&w.fd, &["groups", "apply", "-f", &f], 2, "out of range").await;
    let f =
        w.fd.file("g3.yaml", &GROUP.replace("  namespace: shop\n", ""));
    refused(
        &w.fd,
        &["groups", "apply", "-f", &f],
        2,
        "missing field `namespace`",
    )
    .await;
    let f = w.fd.file(
        "g4.yaml",
        &GROUP.replace("kind: InstanceGroup", "kind: Group"),
    );
    refused(
        &w.fd,
        &["groups", "apply", "-f", &f],
        2,
        "kind is \"Group\"",
    )
    .await;
    let f = w.fd.file(
        "g5.yaml",
        &GROUP.replace(
            "{ pause: {} }, { setWeight: 50 }",
            "{ pause: { duration: soon } }",
        ),
    );
    refused(
        &w.fd,
        &["groups", "apply", "-f", &f],
        2,
        "pause duration \"soon\"",
    )
    .await;

    // Policy: an unknown role, and one that would leave nobody able to fix it.
    let f = w.fd.file(
        "p1.yaml",
        &policy(&["x"], &[]).replace("role: admin", "role: king"),
    );
    refused(
        &w.fd,
        &["policy", "apply", "-f", &f],
        2,
        "p1.yaml line 4 column",
    )
    .await;
    let f = w.fd.file(
        "p2.yaml",
        &policy(&["x"], &[]).replace("role: admin", "role: viewer"),
    );
    refused(&w.fd, &["policy", "apply", "-f", &f], 2, "no admin binding").await;

    // Actions.
    refused(
        &w.fd,
        &["weight", "web", "150"],
        2,
        "weight 150 is above 100",
    )
    .await;
    refused(&w.fd, &["weight", "web", "abc"], 2, "is not a whole number").await;
    refused(&w.fd, &["weight", "web", "-5"], 2, "below 0").await;
    refused(
        &w.fd,
        &["deploy", "nope", "--tag", "1"],
        2,
        "unknown group nope",
    )
    .await;
    refused(
        &w.fd,
        &["step", "sim/shop/nope"],
        2,
        "unknown group sim/shop/nope",
    )
    .await;
    refused(
        &w.fd,
        &["deploy", "web", "--tag", "2", "--set", "tag=3"],
        2,
        "use --tag",
    )
    .await;
    refused(&w.fd, &["status", "nope"], 2, "unknown group").await;
    refused(&w.fd, &["audit", "--since", "yesterday"], 2, "--since").await;

    assert_eq!(snapshot(&w.etcd).await, before, "the store did not change");
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_store_is_exit_3() {
    // A port nobody listens on: bind it, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sim = Sim::start().await;
    let fd = Flightdeck::new(&format!("etcd://127.0.0.1:{port}"), &sim.kubeconfig);
    for args in [
        &["status"][..],
        &["step", "web"],
        &["audit", "verify"],
        &["groups", "list"],
    ] {
        let started = Instant::now();
        refused(&fd, args, 3, "store unreachable at").await;
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{args:?} gave up in time"
        );
    }
    sim.handle.shutdown().await;
}
