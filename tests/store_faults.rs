//! Store faults (issue 10, point 5), with the real binary, a real etcd, a `flightdeck
//! agent` process and the simulated cluster: etcd killed (SIGKILL) or frozen (SIGSTOP)
//! in the middle of an action, and an etcd out of space (its NOSPACE alarm). What a user
//! notices: the command ends within a bound with its outcome or a one-line reason, the
//! audit log and the release state agree once etcd is back, the controller takes actions
//! again by itself, and a full store refuses with a clear line and nothing half written.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use etcd_client::{AlarmAction, AlarmOptions, AlarmType, GetOptions};
use flightdeck::domain::{AuditEntry, GroupKey, Outcome, Release};
use flightdeck::store::{Store, Versioned, layout};
use support::cli::*;
use support::eventually;
use support::world::World;

/// etcd's own bound on one request (StoreOptions' default request timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the commands here wait for the controller's answer (`--wait`).
const WAIT: Duration = Duration::from_secs(8);

fn web() -> GroupKey {
    GroupKey::new("sim", NAMESPACE, "web")
}

/// etcd (with more flags), the cluster, a controller process, the shop, and `web` at 10%
/// canary (Paused).
async fn world(etcd_flags: &[&str]) -> World {
    World::builder()
        .etcd_flags(etcd_flags)
        .controller()
        .shop(&[&me(), "system:agent"], &[])
        .deploy("1.0.0")
        .deploy("1.1.0")
        .start()
        .await
}

fn wait_flag() -> String {
    format!("{}s", WAIT.as_secs())
}

/// `flightdeck weight web <percent>`, started and left running.
fn start_weight(fd: &Flightdeck, percent: u8) -> tokio::process::Child {
    let p = percent.to_string();
    fd.command(&["weight", "web", &p, "--wait", &wait_flag()])
        .spawn()
        .expect("start flightdeck weight")
}

/// Waits for a started command, failing the test if it runs past `bound`.
async fn ends_within(child: tokio::process::Child, bound: Duration, what: &str) -> Out {
    match tokio::time::timeout(bound, child.wait_with_output()).await {
        Ok(out) => {
            let out = out.expect("wait for flightdeck");
            Out {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
        // Dropping the child kills it (kill_on_drop).
        Err(_) => panic!("{what}: the command still ran after {bound:?}"),
    }
}

/// Done, or refused with one line of reason and a DESIGN.md §6 exit code — never a
/// panic, a signal, or a screenful.
fn done_or_one_line(out: &Out) {
    assert!(
        matches!(out.code, 0..=3),
        "exit {} is not one of flightdeck's: {out:?}",
        out.code
    );
    assert!(!out.stderr.contains("panicked"), "{out:?}");
    if out.code != 0 {
        let said = out.stderr.trim();
        assert_eq!(said.lines().count(), 1, "not one line: {out:?}");
        assert!(said.starts_with("flightdeck: "), "{out:?}");
    }
}

/// Polls the store (as the test, around the binary) until `key_prefix` has a key.
async fn until_written(w: &World, key_prefix: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok((kvs, _)) = w.store.backend().range(key_prefix).await
            && !kvs.is_empty()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

/// The release of `web` and every audit entry about it, read at one store revision so
/// that an action landing meanwhile cannot make them look apart.
async fn release_and_trail(store: &dyn Store) -> (Release, Vec<AuditEntry>, usize) {
    let release_key = layout::release(&web());
    let revisions = format!(
        "{}/",
        layout::revision(&web(), 0).rsplit_once('/').unwrap().0
    );
    // The test's own connection may have died with etcd; its next try reconnects.
    let (kvs, _) = eventually(10, "the release and the audit log", || async {
        store
            .backend()
            .range_many(&[&release_key, layout::AUDIT, &revisions])
            .await
            .ok()
    })
    .await;
    let mut release = None;
    let mut trail = Vec::new();
    let mut stored_revisions = 0;
    for kv in kvs {
        if kv.key == release_key {
            release = Some(serde_json::from_slice::<Release>(&kv.value).expect("a release"));
        } else if kv.key.starts_with(layout::AUDIT) {
            let e: AuditEntry = serde_json::from_slice(&kv.value).expect("an audit entry");
            if e.target.group == "web" {
                trail.push(e);
            }
        } else {
            stored_revisions += 1;
        }
    }
    (release.expect("web has a release"), trail, stored_revisions)
}

/// Audit == state: `audit verify` passes, and the audit log accounts for the stored
/// release exactly — every change of its desired state has its `allowed` entry (one
/// each, in order, each starting where the one before left it), and no such entry
/// exists for a change the release does not hold.
async fn audit_matches_state(w: &World, when: &str) -> Release {
    let out = w.fd.run(&["audit", "verify"]).await;
    assert_eq!(out.code, 0, "{when}: audit verify: {out:?}");
    assert!(out.stdout.contains("chain intact"), "{when}: {out:?}");

    let (release, trail, stored_revisions) = release_and_trail(w.store.as_ref()).await;
    let allowed: Vec<&AuditEntry> = trail
        .iter()
        .filter(|e| e.outcome == Outcome::Allowed)
        .collect();
    // A release is born at generation 1 and every committed change adds one.
    assert_eq!(
        release.desired,
        1 + allowed.len() as u64,
        "{when}: desired generation {} but {} allowed entries: {release:?}\n{trail:#?}",
        release.desired,
        allowed.len()
    );
    let state = |e: &AuditEntry| {
        (
            e.after["phase"].as_str().map(str::to_string),
            e.after["weight"].as_u64(),
            e.after["step"].as_u64(),
            e.after["stable_revision"].as_u64(),
            e.after["canary_revision"].as_u64(),
        )
    };
    for pair in allowed.windows(2) {
        assert_eq!(
            pair[1].before, pair[0].after,
            "{when}: entry {} does not start where entry {} left the release",
            pair[1].seq, pair[0].seq
        );
    }
    let last = allowed.last().expect("web was deployed");
    assert_eq!(
        state(last),
        (
            Some(release.phase.as_str().to_string()),
            Some(u64::from(release.weight)),
            Some(release.step as u64),
            Some(release.stable_revision),
            release.canary_revision,
        ),
        "{when}: the last allowed entry (seq {}) is not the stored release {release:?}",
        last.seq
    );
    // Applied moves only with an `applied` entry for that generation.
    assert!(release.applied <= release.desired, "{when}: {release:?}");
    if release.applied > 1 {
        assert!(
            trail.iter().any(|e| e.outcome == Outcome::Applied
                && e.request["generation"].as_u64() == Some(release.applied)),
            "{when}: applied generation {} has no `applied` entry\n{trail:#?}",
            release.applied
        );
    }
    // A deploy's revision is written in its own transaction, with its entry.
    let deploys = allowed.iter().filter(|e| e.action == "deploy").count();
    assert_eq!(stored_revisions, deploys, "{when}: revisions vs deploys");
    release
}

/// The diagnostics every process of this world wrote (they share a state dir).
fn logs(fd: &Flightdeck) -> String {
    let dir = fd.dir.path().join("flightdeck");
    let mut all = String::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    all
}

fn log_tail(fd: &Flightdeck) -> String {
    let all = logs(fd);
    let lines: Vec<&str> = all.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// After etcd is back, the controller takes actions again by itself within `bound`:
/// one new action, asked once, is done.
async fn acts_again(w: &World, percent: u8, bound: Duration) -> Duration {
    let started = Instant::now();
    let p = percent.to_string();
    let wait = format!("{}s", bound.as_secs());
    let mut out = None;
    for _ in 0..2 {
        let o = tokio::time::timeout(bound, w.fd.run(&["weight", "web", &p, "--wait", &wait]))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no answer within {bound:?} after etcd came back; the controller said:\n{}\nthe log:\n{}",
                    w.controller().stderr(),
                    log_tail(&w.fd)
                )
            });
        // A request sent before the fault may be carried out now (its command said so),
        // and win the race for the release: the answer says to try again, as a person would.
        let lost_race = o.code == 1 && o.stderr.contains("reload and try again");
        out = Some(o);
        if !lost_race {
            break;
        }
    }
    let out = out.expect("asked");
    assert_eq!(
        out.code,
        0,
        "the controller did not act after etcd came back: {out:?}\nthe log:\n{}",
        log_tail(&w.fd)
    );
    assert!(out.stdout.contains("cluster: stable"), "{out:?}");
    started.elapsed()
}

/// What a kill or a freeze is timed on.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// The request is in the store; the controller is about to take it or taking it.
    RequestWritten,
    /// The controller committed (its "accepted" answer is in): the cluster is changing.
    Accepted,
    /// A fixed time after the command started (anywhere from connecting to answering).
    After(Duration),
}

/// The keys under `requests/` now: requests not answered (yet).
async fn requests(w: &World) -> HashSet<String> {
    // The test's own connection may have died with a frozen etcd; its next try reconnects.
    let (kvs, _) = eventually(10, "the test reading the store", || async {
        w.store.backend().range(layout::REQUESTS).await.ok()
    })
    .await;
    kvs.into_iter().map(|kv| kv.key).collect()
}

/// The requests and answers in the store before a command starts (a request may be
/// left by a command that an earlier fault cut off).
struct Earlier {
    requests: HashSet<String>,
    answers: usize,
}

async fn earlier(w: &World) -> Earlier {
    let (answers, _) = w.store.backend().range(layout::RESPONSES).await.unwrap();
    Earlier {
        requests: requests(w).await,
        answers: answers.len(),
    }
}

async fn reach(w: &World, moment: Moment, earlier: &Earlier) {
    match moment {
        Moment::RequestWritten => {
            let deadline = Instant::now() + Duration::from_secs(10);
            while requests(w).await.is_subset(&earlier.requests) {
                assert!(
                    Instant::now() < deadline,
                    "the request never reached the store"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        // Answers to earlier actions are kept a while: wait for one more.
        Moment::Accepted => {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let (now, _) = w.store.backend().range(layout::RESPONSES).await.unwrap();
                if now.len() > earlier.answers {
                    break;
                }
                assert!(Instant::now() < deadline, "the action was never accepted");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        Moment::After(d) => tokio::time::sleep(d).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_killed_mid_action_ends_the_command_and_audit_matches_state_after_restart() {
    let mut w = world(&[]).await;
    audit_matches_state(&w, "before").await;
    // How long a whole action takes here, to kill etcd halfway through one.
    let started = Instant::now();
    w.fd.run(&["weight", "web", "20"]).await.expect(0);
    let whole = started.elapsed();
    let mut percent = 20;
    for moment in [
        Moment::RequestWritten,
        Moment::Accepted,
        Moment::After(whole / 2),
    ] {
        percent += 10;
        let earlier = earlier(&w).await;
        let child = start_weight(&w.fd, percent);
        reach(&w, moment, &earlier).await;
        let pid = w.etcd.pid().expect("etcd runs");
        w.etcd.stop(); // SIGKILL to etcd's own pid, and reaped
        let killed = Instant::now();
        // A dead etcd refuses connections at once, so the command ends well within the
        // store's request timeout (checked below); this bound only catches a hang.
        let out = ends_within(child, WAIT + REQUEST_TIMEOUT * 2, "etcd killed").await;
        let took = killed.elapsed();
        done_or_one_line(&out);
        eprintln!("{moment:?}: etcd {pid} killed; command ended {took:?} later: {out:?}");
        assert!(
            took < REQUEST_TIMEOUT + Duration::from_secs(2),
            "{moment:?}: the command ended {took:?} after etcd died: {out:?}"
        );

        w.etcd.start_again().await;
        let r = audit_matches_state(&w, &format!("{moment:?}, after restart")).await;
        if out.code == 0 {
            assert_eq!(r.weight, percent, "{moment:?}: said done: {out:?}");
        }
        let asked = percent;
        percent += 5;
        let recovered = acts_again(&w, percent, Duration::from_secs(20)).await;
        eprintln!("{moment:?}: next action done {recovered:?} after the restart");
        let r = audit_matches_state(&w, &format!("{moment:?}, after the next action")).await;
        assert_eq!(r.applied, r.desired, "{r:?}");
        // What the command said holds: done means done; a failure that does not warn
        // that the controller may still carry the request out means it did not.
        let (_, trail, _) = release_and_trail(w.store.as_ref()).await;
        let carried = trail.iter().any(|e| {
            e.action == "weight"
                && e.outcome == Outcome::Allowed
                && e.request["weight"].as_u64() == Some(u64::from(asked))
        });
        if out.code == 0 {
            assert!(
                carried,
                "{moment:?}: said done, not in the audit log: {out:?}"
            );
        } else if !out.stderr.contains("may carry it out") {
            assert!(
                !carried,
                "{moment:?}: said it failed, then the controller did it: {out:?}"
            );
            let left = requests(&w).await;
            assert!(
                left.is_subset(&earlier.requests),
                "{moment:?}: said it failed, and left a request to act on later: {out:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_frozen_mid_action_ends_the_command_within_the_store_timeout() {
    let w = world(&[]).await;
    let mut percent = 20;
    for moment in [Moment::RequestWritten, Moment::Accepted] {
        percent += 10;
        let earlier = earlier(&w).await;
        let child = start_weight(&w.fd, percent);
        reach(&w, moment, &earlier).await;
        // SIGSTOP: connections stay open and nothing answers — no refused connection to
        // tell the client, only its own timeout.
        w.etcd.pause();
        let frozen = Instant::now();
        let out = ends_within(child, REQUEST_TIMEOUT * 3, "etcd frozen").await;
        let took = frozen.elapsed();
        eprintln!("{moment:?}: etcd frozen; command ended {took:?} later: {out:?}");
        done_or_one_line(&out);
        // One request (the one in flight when etcd froze) waits out its bound; then the
        // command says why and stops — it does not go on to wait for the answer.
        assert!(
            took < REQUEST_TIMEOUT + Duration::from_secs(3),
            "{moment:?}: the command ended {took:?} after etcd froze: {out:?}"
        );
        assert_eq!(out.code, 3, "etcd froze before the answer: {out:?}");
        assert!(out.stderr.contains("store unreachable"), "{out:?}");
        assert!(out.stderr.contains("may carry it out"), "{out:?}");

        w.etcd.resume();
        // The freeze outlasted the controller's lease: it takes a new one and, leading
        // again, settles what waited (acting on it once, or finding it done).
        let deadline = Instant::now() + Duration::from_secs(15);
        while !requests(&w).await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{moment:?}: requests still wait 15 s after SIGCONT; the controller said:\n{}",
                w.controller().stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        audit_matches_state(&w, &format!("{moment:?}, after SIGCONT")).await;
        percent += 5;
        let recovered = acts_again(&w, percent, Duration::from_secs(20)).await;
        eprintln!("{moment:?}: next action done {recovered:?} after SIGCONT");
        let r = audit_matches_state(&w, &format!("{moment:?}, after the next action")).await;
        assert_eq!(r.weight, percent);
    }
}

/// The quota is small so that filling it is quick; the estate takes a few hundred KB.
const QUOTA: i64 = 4 * 1024 * 1024;
const FILLER: usize = 256 * 1024;

/// Puts one big value under a key outside flightdeck's prefix; false once etcd says it
/// is out of space.
async fn put_filler(etcd: &mut etcd_client::Client, n: &mut usize) -> bool {
    *n += 1;
    assert!(*n < 200, "etcd never ran out of space");
    match etcd
        .put(format!("/filler/{n:05}"), vec![b'x'; FILLER], None)
        .await
    {
        Ok(_) => true,
        Err(e) if e.to_string().contains("database space exceeded") => false,
        Err(e) => panic!("filling etcd: {e}"),
    }
}

/// Fills etcd until less than `room` bytes are left under the quota.
async fn fill_until_room(etcd: &mut etcd_client::Client, n: &mut usize, room: i64) {
    loop {
        // etcd commits its database every 100 ms and reports the size of the last commit.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let size = etcd.status().await.expect("etcd status").db_size();
        if size + room > QUOTA {
            return;
        }
        assert!(
            put_filler(etcd, n).await,
            "full too early (db {size} bytes)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_refuses_with_a_clear_line_and_nothing_half_written() {
    let quota = format!("--quota-backend-bytes={QUOTA}");
    let w = world(&[&quota]).await;
    let mut raw = w.etcd.client().await;
    let release_before: Versioned<Release> = w.store.get_release(&web()).await.unwrap().unwrap();
    let head_before = w
        .store
        .backend()
        .get(layout::AUDIT_HEAD)
        .await
        .unwrap()
        .unwrap();
    let (answers_before, _) = w.store.backend().range(layout::RESPONSES).await.unwrap();
    let mut n = 0;
    // Close to full, with room for a request but not for much more.
    fill_until_room(&mut raw, &mut n, 3 * FILLER as i64).await;

    // 1. The controller took the request, then found the store full: it can neither
    // commit nor answer. Frozen (SIGSTOP, briefly: well inside its 3 s lease) while the
    // request goes in and the store fills up, so that it meets the full store.
    let controller_pid = w.controller().child.id().expect("controller runs") as i32;
    // SAFETY: kill(2) on the controller process this test started.
    unsafe { libc::kill(controller_pid, libc::SIGSTOP) };
    let stopped = Instant::now();
    let child = start_weight(&w.fd, 50);
    let written = until_written(&w, layout::REQUESTS, Duration::from_secs(5)).await;
    let mut full = false;
    while !full {
        full = !put_filler(&mut raw, &mut n).await;
    }
    // SAFETY: as above.
    unsafe { libc::kill(controller_pid, libc::SIGCONT) };
    let held = stopped.elapsed();
    assert!(written, "the request never reached the store");
    eprintln!("controller stopped for {held:?}");
    let out = ends_within(child, WAIT + REQUEST_TIMEOUT * 3, "store full").await;
    eprintln!("full after the request: {out:?}");
    assert_eq!(out.code, 3, "{out:?}");
    done_or_one_line(&out);
    assert!(out.stderr.contains("out of space"), "{out:?}");
    assert!(out.stderr.contains("etcdctl alarm disarm"), "{out:?}");
    assert!(out.stderr.contains("nothing was written"), "{out:?}");
    // It was the controller's own writes that the full store refused, as its log says.
    let all = logs(&w.fd);
    assert!(
        all.lines()
            .any(|l| l.contains("request not answered") && l.contains("out of space")),
        "{}",
        log_tail(&w.fd)
    );

    // 2. The store is full before the request: the command's own write is refused.
    let started = Instant::now();
    let out =
        w.fd.run(&["weight", "web", "60", "--wait", &wait_flag()])
            .await;
    let took = started.elapsed();
    eprintln!("full before the request: {took:?} {out:?}");
    assert!(took < REQUEST_TIMEOUT, "{took:?}");
    assert_eq!(out.code, 3, "{out:?}");
    done_or_one_line(&out);
    assert!(
        out.stderr
            .contains("is out of space (etcd: database space exceeded)"),
        "{out:?}"
    );
    assert!(out.stderr.contains("nothing was written"), "{out:?}");
    assert!(out.stderr.contains("etcdctl alarm disarm"), "{out:?}");

    // Nothing half written: the release, the audit head and the chain are as they were,
    // and no request or answer was left behind. Reading still works.
    assert_eq!(
        w.store.get_release(&web()).await.unwrap().unwrap(),
        release_before
    );
    let head_after = w
        .store
        .backend()
        .get(layout::AUDIT_HEAD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head_after, head_before);
    let (left, _) = w.store.backend().range(layout::REQUESTS).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let (answers, _) = w.store.backend().range(layout::RESPONSES).await.unwrap();
    assert_eq!(answers, answers_before);
    audit_matches_state(&w, "store full").await;
    let out = w.fd.run(&["status", "web"]).await;
    assert_eq!(out.code, 0, "status reads a full store: {out:?}");

    // Doing what the message says frees the store, and the controller goes on.
    raw.delete(
        "/filler/",
        Some(etcd_client::DeleteOptions::new().with_prefix()),
    )
    .await
    .expect("delete the filler");
    let rev = raw
        .get("/filler/", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    raw.compact(rev, None).await.expect("compact");
    raw.defragment().await.expect("defragment");
    let alarms = raw
        .alarm(AlarmAction::Get, AlarmType::None, None)
        .await
        .expect("alarm list");
    assert!(!alarms.alarms().is_empty(), "etcd raised no alarm");
    for a in alarms.alarms() {
        let mut member = AlarmOptions::new();
        member.with_member(a.member_id());
        raw.alarm(AlarmAction::Deactivate, AlarmType::Nospace, Some(member))
            .await
            .expect("alarm disarm");
    }
    acts_again(&w, 70, Duration::from_secs(20)).await;
    let r = audit_matches_state(&w, "after the alarm was cleared").await;
    assert_eq!((r.weight, r.applied), (70, r.desired));
}
