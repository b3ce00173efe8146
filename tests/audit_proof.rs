//! An audit log that proves itself (issue 10, item 2): the controller signs checkpoints with
//! a key that never enters the store, `audit head` exports SEQ:HASH, and `audit verify`
//! fails — exit 1, naming what — on each rewrite someone with etcd root could make: a
//! truncated log, a re-hashed chain, a deleted log, a forged checkpoint, a head older than
//! one exported earlier. With the real binary, a real etcd and the simulated cluster; each
//! rewrite is made with a raw etcd client on a fresh copy of the store.

mod support;

use etcd_client::{Client, DeleteOptions, GetOptions};
use flightdeck::domain::audit::{SigningKey, entry_hash};
use serde_json::{Value, json};
use support::cli::*;
use support::etcd::Etcd;
use support::world::World;
use support::{Sim, eventually};

/// Every key under the prefix, to put back before each rewrite.
async fn save(c: &mut Client) -> Vec<(Vec<u8>, Vec<u8>)> {
    let resp = c
        .get(PREFIX, Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    resp.kvs()
        .iter()
        .map(|kv| (kv.key().to_vec(), kv.value().to_vec()))
        .collect()
}

async fn restore(c: &mut Client, saved: &[(Vec<u8>, Vec<u8>)]) {
    c.delete(PREFIX, Some(DeleteOptions::new().with_prefix()))
        .await
        .unwrap();
    for (k, v) in saved {
        c.put(k.clone(), v.clone(), None).await.unwrap();
    }
}

async fn delete_prefix(c: &mut Client, rel: &str) {
    c.delete(
        format!("{PREFIX}{rel}"),
        Some(DeleteOptions::new().with_prefix()),
    )
    .await
    .unwrap();
}

/// (key relative to the prefix, JSON) of every key under `rel`, in key order.
async fn list(c: &mut Client, rel: &str) -> Vec<(String, Value)> {
    let resp = c
        .get(
            format!("{PREFIX}{rel}"),
            Some(GetOptions::new().with_prefix()),
        )
        .await
        .unwrap();
    resp.kvs()
        .iter()
        .map(|kv| {
            (
                kv.key_str().unwrap().trim_start_matches(PREFIX).to_string(),
                serde_json::from_slice(kv.value()).unwrap(),
            )
        })
        .collect()
}

async fn put(c: &mut Client, rel: &str, v: &Value) {
    c.put(
        format!("{PREFIX}{rel}"),
        serde_json::to_vec(v).unwrap(),
        None,
    )
    .await
    .unwrap();
}

fn entry_key(seq: u64) -> String {
    format!("audit/{seq:020}")
}

fn checkpoint_key(seq: u64) -> String {
    format!("audit-checkpoints/{seq:020}")
}

/// Edits entry `seq` and re-hashes it and every later entry and the head, as someone with
/// etcd root and this source would: the chain alone is sound again afterwards.
async fn rewrite_from(c: &mut Client, seq: u64) {
    let entries = list(c, "audit/").await;
    let mut prev = if seq > 1 {
        entries[(seq - 2) as usize].1["hash"]
            .as_str()
            .unwrap()
            .to_string()
    } else {
        String::new()
    };
    let mut last = 0;
    for (_, mut e) in entries.into_iter().skip((seq - 1) as usize) {
        let n = e["seq"].as_u64().unwrap();
        if n == seq {
            e["reason"] = json!("nothing happened here");
        }
        e["prev"] = json!(prev);
        let h = entry_hash(&e);
        e["hash"] = json!(h);
        put(c, &entry_key(n), &e).await;
        prev = h;
        last = n;
    }
    put(c, "audit-head", &json!({ "seq": last, "hash": prev })).await;
}

/// `audit head`'s output once the controller has signed the newest entry.
async fn checkpointed_head(fd: &Flightdeck, c: &Client) -> String {
    eventually(30, "a checkpoint at the head", || {
        let mut c = c.clone();
        async move {
            let out = fd.run(&["audit", "head"]).await.expect(0);
            let line = out.stdout.lines().next()?.to_string();
            let seq: u64 = line.split(':').next()?.parse().ok()?;
            let cp = c
                .get(format!("{PREFIX}{}", checkpoint_key(seq)), None)
                .await
                .ok()?;
            (!cp.kvs().is_empty()).then_some(out.stdout)
        }
    })
    .await
}

/// `audit verify` with `args` fails with exit 1 and one line containing each of `says`.
async fn fails(fd: &Flightdeck, args: &[&str], says: &[&str]) {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = fd.run(&all).await.expect(1);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    for s in says {
        assert!(out.stderr.contains(s), "{s:?} not in: {}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_log_fails_verify_after_each_rewrite() {
    let w = World::builder().start().await;

    // Without a key the controller says so, once, and signs nothing.
    let mut plain = w.fd.controller().await;
    assert_eq!(
        plain
            .stderr()
            .matches("audit checkpoints off: no --signing-key-file")
            .count(),
        1,
        "{}",
        plain.stderr()
    );
    plain.terminate().await;

    // On a store without auth, a missing key file is made and its public key recorded.
    let key_file = w.fd.dir.path().join("signing-key").display().to_string();
    let mut controller =
        w.fd.controller_with(&[
            "--signing-key-file",
            &key_file,
            "--checkpoint-every",
            "4",
            "--checkpoint-after",
            "1s",
        ])
        .await;
    assert!(
        controller.stderr().contains("recorded in the store"),
        "{}",
        controller.stderr()
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    w.fd.estate(&[&me()], &[]).await;
    let mut c = w.etcd.client().await;
    checkpointed_head(&w.fd, &c).await;
    w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    w.fd.run(&["deploy", "web", "--tag", "2.0.0"])
        .await
        .expect(0);
    w.fd.run(&["weight", "web", "50"]).await.expect(0);
    let head = checkpointed_head(&w.fd, &c).await;
    controller.terminate().await;
    let mut lines = head.lines();
    let exported = lines.next().unwrap().to_string();
    let key_line = lines.next().unwrap();
    let key = key_line
        .strip_prefix("public key ")
        .unwrap_or_else(|| panic!("{head}"));
    assert!(key.starts_with("ed25519:") && key.len() == 8 + 64, "{key}");
    let key_file_pub = w.fd.file("controller.pub", &format!("{key}\n"));
    let last: u64 = exported.split(':').next().unwrap().parse().unwrap();
    let checkpoints = list(&mut c, "audit-checkpoints/").await;
    assert!(checkpoints.len() >= 2, "{checkpoints:?}");
    assert!(last >= 8, "{exported}");

    // The untouched log proves itself, with the key and the head kept outside the store.
    let ok =
        w.fd.run(&[
            "audit",
            "verify",
            "--public-key",
            &key_file_pub,
            "--expect-head",
            &exported,
        ])
        .await
        .expect(0);
    assert!(ok.stdout.contains("chain intact"), "{}", ok.stdout);
    assert!(
        ok.stdout.contains(&format!("head {exported}")),
        "{}",
        ok.stdout
    );
    assert!(
        ok.stdout.contains(&format!(
            "{} checkpoints verified with {key} (--public-key)",
            checkpoints.len()
        )),
        "{}",
        ok.stdout
    );
    let json = w.fd.run(&["audit", "head", "--json"]).await.expect(0);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["head"], exported.as_str());
    assert_eq!(format!("ed25519:{}", v["publicKey"].as_str().unwrap()), key);
    let saved = save(&mut c).await;

    // (a) Truncated: the last two entries dropped and the head moved back.
    let entries = list(&mut c, "audit/").await;
    for n in [last, last - 1] {
        c.delete(format!("{PREFIX}{}", entry_key(n)), None)
            .await
            .unwrap();
    }
    let back = &entries[(last - 3) as usize].1;
    put(
        &mut c,
        "audit-head",
        &json!({ "seq": last - 2, "hash": back["hash"] }),
    )
    .await;
    fails(
        &w.fd,
        &[],
        &[&format!("is past the head {}:", last - 2), "truncated"],
    )
    .await;
    // …and with the checkpoints past it deleted too, the exported head still tells.
    for (k, cp) in list(&mut c, "audit-checkpoints/").await {
        if cp["seq"].as_u64().unwrap() > last - 2 {
            c.delete(format!("{PREFIX}{k}"), None).await.unwrap();
        }
    }
    fails(
        &w.fd,
        &["--expect-head", &exported],
        &[&format!(
            "head {exported} exported earlier is past the log's head"
        )],
    )
    .await;

    // (b) One entry edited and every later entry and the head re-hashed.
    restore(&mut c, &saved).await;
    rewrite_from(&mut c, 3).await;
    fails(
        &w.fd,
        &["--public-key", &key_file_pub],
        &["does not match entry", "history was rewritten"],
    )
    .await;

    // (c) The log deleted: with its checkpoints left, and without them.
    restore(&mut c, &saved).await;
    delete_prefix(&mut c, "audit/").await;
    c.delete(format!("{PREFIX}audit-head"), None).await.unwrap();
    fails(
        &w.fd,
        &[],
        &[
            "the audit log is empty but the store has",
            "signed checkpoint",
        ],
    )
    .await;
    delete_prefix(&mut c, "audit-checkpoints/").await;
    fails(&w.fd, &[], &["the audit log is empty but", "1 release"]).await;

    // (d) A forged checkpoint: an altered hash, or another key's signature over a
    // rewritten history with that key put in the store's record.
    restore(&mut c, &saved).await;
    let newest = checkpoint_key(last);
    let mut cp = list(&mut c, &newest).await.remove(0).1;
    cp["hash"] = json!("0".repeat(64));
    put(&mut c, &newest, &cp).await;
    fails(
        &w.fd,
        &[],
        &[&format!("checkpoint {last}: the signature does not verify")],
    )
    .await;

    restore(&mut c, &saved).await;
    rewrite_from(&mut c, 2).await;
    let (mallory, _) = SigningKey::generate().unwrap();
    let entries = list(&mut c, "audit/").await;
    for (k, old) in list(&mut c, "audit-checkpoints/").await {
        let seq = old["seq"].as_u64().unwrap();
        let hash = entries[(seq - 1) as usize].1["hash"].as_str().unwrap();
        let forged = mallory.checkpoint(seq, hash, jiff::Timestamp::now());
        put(&mut c, &k, &serde_json::to_value(forged).unwrap()).await;
    }
    let mut record = list(&mut c, "controller").await.remove(0).1;
    record["publicKey"] = json!(mallory.public_key().hex());
    put(&mut c, "controller", &record).await;
    // Trusting the store's record is trusting whoever has etcd root: this passes…
    let fooled = w.fd.run(&["audit", "verify"]).await.expect(0);
    assert!(
        fooled.stdout.contains("the key the store records"),
        "{}",
        fooled.stdout
    );
    // …and the key kept outside the store does not.
    fails(
        &w.fd,
        &["--public-key", &key_file_pub],
        &["the signature does not verify with", key],
    )
    .await;

    // (e) A head exported before the history was rewritten (checkpoints deleted too).
    restore(&mut c, &saved).await;
    rewrite_from(&mut c, 2).await;
    delete_prefix(&mut c, "audit-checkpoints/").await;
    fails(
        &w.fd,
        &["--expect-head", &exported],
        &[&format!(
            "head {exported} exported earlier does not match entry {last}"
        )],
    )
    .await;

    // Another key than the recorded one: the controller refuses to start.
    restore(&mut c, &saved).await;
    let other = w.fd.dir.path().join("other-key");
    std::fs::write(&other, SigningKey::generate().unwrap().1).unwrap();
    let other = other.display().to_string();
    let out =
        w.fd.run(&["agent", "--signing-key-file", &other])
            .await
            .expect(1);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("refusing to start") && out.stderr.contains(key),
        "{}",
        out.stderr
    );
    // And the untouched copy still verifies.
    w.fd.run(&[
        "audit",
        "verify",
        "--public-key",
        &key_file_pub,
        "--expect-head",
        &exported,
    ])
    .await
    .expect(0);
    w.sim.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_verifies_and_a_bad_head_or_key_is_bad_input() {
    let etcd = Etcd::start().await;
    let sim = Sim::start().await;
    let fd = Flightdeck::new(&etcd.url(), &sim.kubeconfig);
    let out = fd.run(&["audit", "verify"]).await.expect(0);
    assert!(
        out.stdout.contains("0 entries, chain intact"),
        "{}",
        out.stdout
    );
    let head = fd.run(&["audit", "head"]).await.expect(0);
    assert_eq!(head.stdout, "0:\nno public key recorded\n");
    fd.run(&["audit", "verify", "--expect-head", "0:"])
        .await
        .expect(0);
    fd.run(&["audit", "verify", "--expect-head", "7"])
        .await
        .expect(2);
    let bad = fd.file("bad.pub", "ed25519:abcd\n");
    fd.run(&["audit", "verify", "--public-key", &bad])
        .await
        .expect(2);
    // A head exported from a log that has since vanished.
    let gone = format!("3:{}", "a".repeat(64));
    let out = fd
        .run(&["audit", "verify", "--expect-head", &gone])
        .await
        .expect(1);
    assert!(
        out.stderr.contains("exported from it earlier"),
        "{}",
        out.stderr
    );
    sim.handle.shutdown().await;
}

fn first_line(p: &std::path::Path) -> String {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_etcd_auth_admin_init_records_the_key_and_the_controller_signs_with_it() {
    let w = World::builder().start().await;
    let dir = w.fd.dir.path();
    let (root_pw, ctl_pw, key) = (
        dir.join("root.pw"),
        dir.join("controller.pw"),
        dir.join("controller.key"),
    );
    let init = |key: &std::path::Path| {
        [
            "admin".to_string(),
            "init".into(),
            "--root-password-file".into(),
            root_pw.display().to_string(),
            "--controller-password-file".into(),
            ctl_pw.display().to_string(),
            "--admin".into(),
            "alice".into(),
            "--signing-key-file".into(),
            key.display().to_string(),
        ]
    };
    let args = init(&key);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.fd.run(&args).await.expect(0);
    assert!(
        out.stdout.contains("signing key ed25519:") && out.stdout.contains("new key written"),
        "{}",
        out.stdout
    );
    let root = w.fd.as_etcd_user("root", &first_line(&root_pw));
    let head = root.run(&["audit", "head"]).await.expect(0);
    let public = head.stdout.lines().nth(1).unwrap().to_string();
    assert!(public.starts_with("public key ed25519:"), "{}", head.stdout);
    // The private key is in the file only.
    let mut c = Client::connect(
        [w.etcd.endpoint()],
        Some(etcd_client::ConnectOptions::new().with_user("root", first_line(&root_pw))),
    )
    .await
    .unwrap();
    // ring's PKCS#8 v2 document: a 16-byte header, then the 32-byte private seed.
    let seed = std::fs::read(&key).unwrap()[16..48].to_vec();
    for (k, v) in save(&mut c).await {
        let text = String::from_utf8_lossy(&v).to_lowercase();
        assert!(
            !text.contains(&hex::encode(&seed)) && !v.windows(32).any(|w| w == seed),
            "{}",
            String::from_utf8_lossy(&k)
        );
    }

    // Again with another key: refused before anything changes.
    let args = init(&dir.join("other.key"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = root.run(&args).await.expect(1);
    assert!(out.stderr.contains("already records"), "{}", out.stderr);

    // The controller signs with the recorded key; another key does not start.
    let ctl =
        w.fd.as_etcd_user("flightdeck-controller", &first_line(&ctl_pw));
    let other = dir.join("other.key").display().to_string();
    let out = ctl
        .run(&["agent", "--signing-key-file", &other])
        .await
        .expect(1);
    assert!(out.stderr.contains("refusing to start"), "{}", out.stderr);
    let key_arg = key.display().to_string();
    let controller = ctl
        .controller_with(&["--signing-key-file", &key_arg, "--checkpoint-after", "1s"])
        .await;
    assert!(
        controller
            .stderr()
            .contains("audit checkpoints on: signing with"),
        "{}",
        controller.stderr()
    );
    let exported = checkpointed_head(&root, &c).await;
    let pub_file = root.file("controller.pub", &public);
    let ok = root
        .run(&[
            "audit",
            "verify",
            "--public-key",
            &pub_file,
            "--expect-head",
            exported.lines().next().unwrap(),
        ])
        .await
        .expect(0);
    assert!(
        ok.stdout.contains(" verified with ed25519:") && !ok.stdout.contains("0 checkpoints"),
        "{}",
        ok.stdout
    );
    w.sim.handle.shutdown().await;
}
