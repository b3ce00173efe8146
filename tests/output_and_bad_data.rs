//! Bad data and hostile output, with the real binary, a real etcd and the simulated
//! cluster: an undecodable value under `groups/` never stops the estate (the command line
//! names it and goes on, the controller keeps stepping), oversized input is refused early
//! with exit 2, terminal control sequences stored in the audit log never reach the
//! terminal, and a closed stdout ends a command quietly with a file applied whole.

mod support;

use std::process::Stdio;
use std::time::Duration;

use flightdeck::controller::{Ask, Requester};
use flightdeck::domain::audit::{AuditDraft, AuditTarget, AuditUser};
use flightdeck::domain::{GroupKey, Phase};
use flightdeck::engine::Action;
use flightdeck::store::{AuditFilter, MemoryStore, Scope, Store, StoreError, Write};
use support::cli::*;
use support::etcd::Etcd;
use support::eventually;
use support::world::World;

const BAD_KEY: &str = "groups/sim/shop/bad";

fn web() -> GroupKey {
    GroupKey::new("sim", NAMESPACE, "web")
}

/// Puts `value` at `key` (relative to the prefix) with a plain etcd client, as someone
/// with etcdctl would.
async fn put_raw(etcd: &Etcd, key: &str, value: &[u8]) {
    let mut client = etcd.client().await;
    client
        .put(format!("{PREFIX}{key}"), value.to_vec(), None)
        .await
        .expect("raw etcd put");
}

/// Some bytes that are not an InstanceGroup, carrying a terminal sequence for good measure.
const GARBAGE: &[u8] = b"\x1b]0;pwned\x07{not json";

fn no_escape(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
        "{what} holds a terminal control byte: {text:?}"
    );
}

fn no_panic(what: &str, stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{what} panicked or complained about the pipe: {stderr}"
    );
}

#[tokio::test]
async fn lists_skip_an_undecodable_value_and_name_it_but_a_get_still_fails() {
    let store = MemoryStore::new();
    let g: flightdeck::domain::InstanceGroup = serde_norway::from_str(GROUP).unwrap();
    store.put_group(&g).await.unwrap();
    store
        .backend()
        .txn(vec![], vec![Write::Put(BAD_KEY.into(), GARBAGE.to_vec())])
        .await
        .unwrap();
    store
        .backend()
        .txn(
            vec![],
            vec![Write::Put("releases/sim/shop/bad".into(), b"[]".to_vec())],
        )
        .await
        .unwrap();
    let listed = store.read_groups(&Scope::all()).await.unwrap();
    assert_eq!(listed.items, vec![g.clone()]);
    assert_eq!(listed.unreadable.len(), 1);
    assert_eq!(listed.unreadable[0].key, BAD_KEY);
    let said = listed.unreadable[0].to_string();
    assert!(
        said.starts_with("groups/sim/shop/bad: unreadable ("),
        "{said}"
    );
    no_escape("the skipped line", &said);
    assert_eq!(store.list_groups(&Scope::all()).await.unwrap(), vec![g]);
    let releases = store.read_releases(&Scope::all()).await.unwrap();
    assert!(releases.items.is_empty());
    assert_eq!(releases.unreadable[0].key, "releases/sim/shop/bad");
    // The console's snapshot shows the rest and counts what it could not read.
    let snap = store.snapshot().await.unwrap();
    assert_eq!(snap.groups.len(), 1);
    let mut keys: Vec<&str> = snap.unreadable.iter().map(|u| u.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, vec![BAD_KEY, "releases/sim/shop/bad"]);
    // Asked for by name, it is still unreadable.
    let bad = GroupKey::new("sim", "shop", "bad");
    assert!(matches!(
        store.get_group(&bad).await,
        Err(StoreError::Corrupt { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_group_never_stops_the_estate() {
    let w = World::builder()
        .controller()
        .shop(&[&me(), "system:agent"], &[])
        .start()
        .await;
    let g = w.fd.file("timed.yaml", TIMED_GROUP);
    w.fd.run(&["groups", "apply", "-f", &g]).await.expect(0);
    w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    put_raw(&w.etcd, BAD_KEY, GARBAGE).await;

    let skipped = "skipped groups/sim/shop/bad: unreadable (";
    let list = w.fd.run(&["groups", "list"]).await.expect(0);
    assert!(list.stdout.contains("web"), "{}", list.stdout);
    assert!(list.stderr.contains(skipped), "{}", list.stderr);
    assert_eq!(list.stderr.lines().count(), 1, "{}", list.stderr);
    no_escape("groups list", &format!("{}{}", list.stdout, list.stderr));
    let json = w.fd.run(&["groups", "list", "--json"]).await.expect(0);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON stays JSON");
    assert_eq!(parsed.as_array().map(Vec::len), Some(1));

    // The controller keeps stepping timed pauses with the bad value in the store.
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    let store = w.store.clone();
    eventually(30, "the timed pause stepped by the controller", || async {
        let r = store.get_release(&web()).await.ok()??.value;
        (r.weight == 50 && r.phase == Phase::Paused).then_some(())
    })
    .await;

    let status = w.fd.run(&["status"]).await.expect(0);
    assert!(status.stdout.contains("web"), "{}", status.stdout);
    assert!(status.stdout.contains("Paused"), "{}", status.stdout);
    assert!(status.stderr.contains(skipped), "{}", status.stderr);
    no_escape("status", &format!("{}{}", status.stdout, status.stderr));

    // A name resolves past the bad key; the action goes through the controller.
    let step =
        w.fd.run(&["step", "web", "--reason", "after the pause"])
            .await;
    let step = step.expect(0);
    assert!(step.stderr.contains(skipped), "{}", step.stderr);

    // Exactly that key, asked for by name, still says it is unreadable.
    let one = w.fd.run(&["status", "sim/shop/bad"]).await.expect(1);
    assert!(
        one.stderr.contains("groups/sim/shop/bad is unreadable"),
        "{}",
        one.stderr
    );
    no_escape("the error", &one.stderr);
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_input_is_refused_and_hostile_reasons_never_reach_the_terminal() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .start()
        .await;
    let store = w.store.clone();
    let entries = || async {
        store
            .list_audit(&AuditFilter::default())
            .await
            .unwrap()
            .len()
    };
    let before = entries().await;

    // 120 KB of reason: refused on the command line before anything is asked.
    let huge = "x".repeat(120_000);
    let out =
        w.fd.run(&["deploy", "web", "--tag", "1.0.0", "--reason", &huge])
            .await
            .expect(2);
    assert!(out.stderr.contains("at most 1024 bytes"), "{}", out.stderr);
    assert_eq!(entries().await, before, "nothing was asked");
    // A parameter past 4 KiB, likewise.
    let big_param = format!("note={}", "y".repeat(5000));
    w.fd.run(&["deploy", "web", "--tag", "1.0.0", "--set", &big_param])
        .await
        .expect(2);
    // A hand-made request with the same reason: the controller refuses it (exit 2) and
    // audits the refusal without copying the reason.
    let asker = Requester::new(store.clone(), me()).with_wait(Duration::from_secs(15));
    let answer = asker
        .ask(Ask::Act {
            group: web(),
            action: Action::Deploy {
                tag: "1.0.0".into(),
                params: Default::default(),
            },
            reason: Some(huge.clone()),
        })
        .await
        .unwrap();
    assert_eq!(answer.exit, 2, "{answer:?}");
    assert!(answer.message.contains("at most 1024 bytes"), "{answer:?}");
    assert_eq!(store.get_release(&web()).await.unwrap(), None);
    // A template body past 64 KiB is refused before it is sent.
    let body = format!("# {}\n", "z".repeat(70 * 1024));
    let fat = TEMPLATE.replace("  body: |\n", &format!("  body: |\n    {body}"));
    let t = w.fd.file("fat.yaml", &fat);
    let out = w.fd.run(&["templates", "apply", "-f", &t]).await.expect(2);
    assert!(out.stderr.contains("64 KiB"), "{}", out.stderr);

    // Terminal sequences in a reason, a user name and a target, as if written by anyone
    // with a crafted request or etcd root: the audit command prints none of them.
    let evil = "deploy\u{1b}]52;c;cm0gLXJmIH4=\u{7} ok\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m";
    w.fd.run(&["deploy", "web", "--tag", "1.0.0", "--reason", evil])
        .await
        .expect(0);
    let mut draft = AuditDraft::new(
        AuditUser::named(format!("mallory{evil}"), "os"),
        "step",
        AuditTarget::from(&GroupKey::new("sim", NAMESPACE, format!("web{evil}"))),
    );
    draft.reason = evil.to_string();
    store.append_audit(draft).await.unwrap();
    let audit = w.fd.run(&["audit"]).await.expect(0);
    no_escape("audit", &format!("{}{}", audit.stdout, audit.stderr));
    assert!(audit.stdout.contains("deploy ok"), "{}", audit.stdout);
    assert!(
        audit.stdout.contains("at most 1024"),
        "the refusal is audited"
    );
    assert!(
        !audit.stdout.contains(&huge[..2000]),
        "the huge reason is not in the log"
    );
    let json = w.fd.run(&["audit", "--json"]).await.expect(0);
    no_escape("audit --json", &json.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON stays JSON");
    let reasons: Vec<&str> = parsed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&evil),
        "the JSON keeps the exact text, escaped"
    );
    w.fd.run(&["audit", "verify"]).await.expect(0);
    w.sim.handle.shutdown().await;
}

/// Runs `args` with stdout closed before the command writes anything: the reader went
/// away (`| head -1`).
async fn run_with_closed_stdout(fd: &Flightdeck, args: &[&str]) -> (i32, String) {
    let mut cmd = fd.command(args);
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn flightdeck");
    drop(child.stdout.take());
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the command ends")
        .expect("wait for flightdeck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_ends_quietly_and_a_file_is_applied_whole() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .start()
        .await;
    let store = w.store.clone();

    let names = ["api", "worker", "cron"];
    let file: Vec<String> = names
        .iter()
        .map(|n| GROUP.replace("name: web", &format!("name: {n}")))
        .collect();
    let f = w.fd.file("three.yaml", &file.join("---\n"));
    let (code, stderr) = run_with_closed_stdout(&w.fd, &["groups", "apply", "-f", &f]).await;
    no_panic("groups apply", &stderr);
    assert_eq!(code, 0, "{stderr}");
    for n in names {
        let k = GroupKey::new("sim", NAMESPACE, n);
        assert!(store.get_group(&k).await.unwrap().is_some(), "{n} written");
    }
    // One audit entry names the whole file: it was one transaction.
    let entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last.action, "groups.apply");
    for n in names {
        assert!(
            last.reason.contains(&format!("group {n} created")),
            "{last:?}"
        );
    }

    // A file with one bad group writes none of them.
    let mut broken = file.clone();
    broken.push(
        GROUP
            .replace("name: web", "name: lost")
            .replace("template: web", "template: nope"),
    );
    broken[0] = broken[0].replace("1.0.0", "2.0.0");
    let f = w.fd.file("broken.yaml", &broken.join("---\n"));
    let (code, stderr) = run_with_closed_stdout(&w.fd, &["groups", "apply", "-f", &f]).await;
    no_panic("groups apply (refused)", &stderr);
    assert_eq!(code, 2, "{stderr}");
    let api = store
        .get_group(&GroupKey::new("sim", NAMESPACE, "api"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        api.tag(),
        Some("1.0.0"),
        "nothing of the refused file was written"
    );

    w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    let commands: [&[&str]; 7] = [
        &["groups", "list"],
        &["status"],
        &["audit"],
        &["audit", "--json"],
        &["templates", "list"],
        &["policy", "show"],
        &["clusters", "list"],
    ];
    for args in commands {
        let (code, stderr) = run_with_closed_stdout(&w.fd, args).await;
        no_panic(&args.join(" "), &stderr);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    // Through a shell, as people type it.
    let bin = env!("CARGO_BIN_EXE_flightdeck");
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{bin}' groups list --local --store '{}' | head -1",
            w.etcd.url()
        ))
        .env("XDG_STATE_HOME", w.fd.dir.path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    no_panic("groups list | head -1", &stderr);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("CLUSTER"));
    w.sim.handle.shutdown().await;
}
