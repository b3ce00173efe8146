//! `cargo bench --bench actions` — one release action through the request path, as a
//! console's key press makes it: the request written under `requests/<user>/`, the release
//! controller (`flightdeck agent`, a separate process) authorising it, committing it with
//! its audit entry, applying it to the cluster, recording the outcome and answering —
//! p50/p99 from request to answer, on a loopback etcd and the simulated cluster; and
//! `flightdeck rollback` wall time from process start to exit (release binary), next to
//! `kubectl rollout undo` on the same cluster; then, with 100,000 more audit entries, the
//! same actions again and `flightdeck audit verify` over the whole log.

#[path = "../tests/support/bulk.rs"]
mod bulk;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use flightdeck::authz::Identity;
use flightdeck::controller::Requester;
use flightdeck::domain::GroupKey;
use flightdeck::engine::Action;
use support::world::{World, ask};

const ACTIONS: usize = 300;
const ROLLBACKS: usize = 15;
/// Entries added for the long-history figures.
const LONG_LOG: u64 = 100_000;
const VERIFY_RUNS: usize = 3;

#[tokio::main]
async fn main() {
    // FLIGHTDECK_BENCH_ETCD_DIR=/dev/shm puts etcd's data on a tmpfs: the same run
    // without the disk's fsync, to see how much of an action is the disk.
    let etcd_dir = std::env::var_os("FLIGHTDECK_BENCH_ETCD_DIR").map(std::path::PathBuf::from);
    let where_ = etcd_dir.as_ref().map_or_else(
        || {
            format!(
                "data in {} (disk, fsync on)",
                std::env::temp_dir().display()
            )
        },
        |d| format!("data in {} (FLIGHTDECK_BENCH_ETCD_DIR)", d.display()),
    );
    // The controller is started below with its default poll, as in production.
    let world = World::builder()
        .etcd_in(etcd_dir.as_deref())
        .demo(7, 2)
        .time_scale(0.2)
        .start()
        .await;
    let (etcd, store, seed) = (&world.etcd, &world.store, world.seed.as_ref().unwrap());
    let kubeconfig = world.sim.kubeconfig.clone();
    let dir = tempfile::tempdir().unwrap();
    let me = Identity::os();
    let bin = env!("CARGO_BIN_EXE_flightdeck");
    // The controller in its own process, as in production (etcd without auth: --local).
    let mut controller = tokio::process::Command::new(bin)
        .args(["agent", "--local", "--store", &etcd.url(), "--kubeconfig"])
        .arg(&kubeconfig)
        // Checkpoints on, as in production: the audit log is signed as it grows.
        .arg("--signing-key-file")
        .arg(dir.path().join("signing.key"))
        .env("XDG_STATE_HOME", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start flightdeck agent");
    let t = Instant::now();
    while store.lease_holder("controller").await.unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the controller never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let requester = Requester::new(store.clone(), me.name.clone());
    let act = |key: GroupKey, action: Action| {
        let requester = requester.clone();
        async move {
            ask(&requester, &key, action).await;
        }
    };

    // checkout-web is Paused at 10%: weight changes are allowed at any time.
    let key = GroupKey::new("sim", "checkout", "checkout-web");
    let mut times = Vec::with_capacity(ACTIONS);
    for i in 0..ACTIONS {
        let w = [20u8, 30, 40, 50][i % 4];
        let t = Instant::now();
        act(key.clone(), Action::Weight(w)).await;
        times.push(t.elapsed());
    }
    times.sort();
    let pct = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    println!(
        "release actions through the request path: etcd {} on loopback (no auth, {where_}), the simulated cluster (time scale 0.2, {} groups, {} objects), flightdeck agent in its own process signing audit checkpoints (release build)",
        etcd.url(),
        seed.groups.len(),
        seed.objects.len()
    );
    println!(
        "  weight: request → authorised, committed with audit, applied, recorded → answer   p50 {:>6.2} ms   p99 {:>6.2} ms   ({ACTIONS} actions; target p99 < 20 ms)",
        pct(&times, 0.5),
        pct(&times, 0.99)
    );

    // user-info-grpc: give it a second revision, then roll back and forth between the two.
    let grpc = GroupKey::new("sim", "user", "user-info-grpc");
    act(
        grpc.clone(),
        Action::Deploy {
            tag: "9.9.9".into(),
            params: Default::default(),
        },
    )
    .await;
    act(grpc.clone(), Action::Promote).await;
    let mut walls = Vec::with_capacity(ROLLBACKS);
    for i in 0..ROLLBACKS {
        let to = if i % 2 == 0 { "1" } else { "2" };
        let t = Instant::now();
        let out = tokio::process::Command::new(bin)
            .args([
                "rollback",
                "user-info-grpc",
                "--to-revision",
                to,
                "--reason",
                "bench",
            ])
            .args(["--local", "--store", &etcd.url(), "--kubeconfig"])
            .arg(&kubeconfig)
            .env("XDG_STATE_HOME", dir.path())
            .output()
            .await
            .unwrap();
        walls.push(t.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    walls.sort();
    println!(
        "  flightdeck rollback, process start to exit                      p50 {:>6.1} ms   max {:>6.1} ms   ({ROLLBACKS} runs; target < 150 ms)",
        pct(&walls, 0.5),
        walls.last().unwrap().as_secs_f64() * 1e3
    );
    kubectl_undo(&kubeconfig).await;

    // Years later: the same actions and a full `audit verify` with 100,000 more entries
    // in the log (written around flightdeck, sealed as the store seals them).
    let mut client = etcd.client().await;
    let head = bulk::extend_audit(&mut client, "/flightdeck/", &key, "bulk", LONG_LOG).await;
    // Let the controller check the new entries and sign them first, as it would have
    // along the way, so the figures below are the steady state.
    let t = Instant::now();
    loop {
        let page = store
            .backend()
            .range_page("audit-checkpoints/", None, 1, true)
            .await
            .unwrap();
        let signed = page
            .kvs
            .first()
            .and_then(|kv| serde_json::from_slice::<serde_json::Value>(&kv.value).ok())
            .and_then(|v| v["seq"].as_u64())
            .unwrap_or(0);
        if signed >= head.seq || t.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caught_up = t.elapsed();
    let mut times = Vec::with_capacity(ACTIONS);
    for i in 0..ACTIONS {
        let w = [20u8, 30, 40, 50][i % 4];
        let t = Instant::now();
        act(key.clone(), Action::Weight(w)).await;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "with {} audit entries (+{LONG_LOG} written in bulk; the controller checked and signed them in {:.1} s):",
        head.seq,
        caught_up.as_secs_f64()
    );
    println!(
        "  weight: request → answer                                         p50 {:>6.2} ms   p99 {:>6.2} ms   ({ACTIONS} actions)",
        pct(&times, 0.5),
        pct(&times, 0.99)
    );
    let cli = |args: &'static [&'static str]| {
        let (bin, url, kubeconfig, state) = (
            bin,
            etcd.url(),
            kubeconfig.clone(),
            dir.path().to_path_buf(),
        );
        async move {
            let t = Instant::now();
            let out = tokio::process::Command::new(bin)
                .args(args)
                .args(["--local", "--store", &url, "--kubeconfig"])
                .arg(&kubeconfig)
                .env("XDG_STATE_HOME", state)
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            (
                t.elapsed(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        }
    };
    let mut verify = Vec::new();
    let mut said = String::new();
    for _ in 0..VERIFY_RUNS {
        let (took, out) = cli(&["audit", "verify"]).await;
        verify.push(took);
        said = out;
    }
    verify.sort();
    println!(
        "  flightdeck audit verify, whole chain + checkpoints, start to exit  p50 {:>6.0} ms   max {:>6.0} ms   ({VERIFY_RUNS} runs: {})",
        pct(&verify, 0.5),
        verify.last().unwrap().as_secs_f64() * 1e3,
        said.lines().next().unwrap_or("").trim()
    );
    let (tail, _) = cli(&["audit", "--limit", "20"]).await;
    println!(
        "  flightdeck audit --limit 20, start to exit                       {:>6.1} ms",
        tail.as_secs_f64() * 1e3
    );
    let _ = controller.kill().await;
    world.sim.handle.shutdown().await;
}

/// `kubectl rollout undo` of the same Deployment on the same cluster, for comparison.
async fn kubectl_undo(kubeconfig: &std::path::Path) {
    let mut walls = Vec::with_capacity(ROLLBACKS);
    for _ in 0..ROLLBACKS {
        let t = Instant::now();
        let out = tokio::process::Command::new("kubectl")
            .args(["rollout", "undo", "deployment/user-info-grpc", "-n", "user"])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .output()
            .await;
        let elapsed = t.elapsed();
        match out {
            Ok(o) if o.status.success() => walls.push(elapsed),
            Ok(o) => {
                println!(
                    "  kubectl rollout undo: failed on the simulated cluster ({})",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                return;
            }
            Err(e) => {
                println!("  kubectl rollout undo: not run ({e})");
                return;
            }
        }
    }
    walls.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  kubectl rollout undo, same cluster, process start to exit      p50 {:>6.1} ms   max {:>6.1} ms   ({ROLLBACKS} runs)",
        ms(walls[walls.len() / 2]),
        ms(*walls.last().unwrap())
    );
}
