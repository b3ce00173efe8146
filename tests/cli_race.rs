//! Two operators racing on one release: two `flightdeck weight` processes started at the
//! same moment, many times over. The store's compare-and-swap lets at most one win per
//! release version; the loser is told who changed it and when, and is audited as refused;
//! no audit entry is lost.

mod support;

use flightdeck::domain::GroupKey;
use flightdeck::store::AuditFilter;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use support::cli::*;
use support::eventually;
use support::world::World;

/// Pairs are raced until a few have collided (or this many rounds have run): whether two
/// processes overlap in their read-to-commit window is up to the scheduler.
const MAX_ROUNDS: usize = 60;
const COLLISIONS: usize = 3;
const MIN_ROUNDS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_weights_never_both_win() {
    let w = World::builder()
        .controller()
        .shop(&[&me()], &[])
        .deploy("1.0.0")
        .deploy("1.1.0")
        .start()
        .await;
    let store = w.store.clone();
    let key = GroupKey::new("sim", NAMESPACE, "web");
    let start = store.get_release(&key).await.unwrap().unwrap().value;
    let audit_before = store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .len();

    let mut wins = 0;
    let mut conflicts = 0;
    let mut rounds = 0;
    while rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || conflicts < COLLISIONS) {
        let round = rounds;
        rounds += 1;
        let a = w.fd.command(&["weight", "web", "20"]).spawn().unwrap();
        let b = w.fd.command(&["weight", "web", "30"]).spawn().unwrap();
        let (a, b) = tokio::join!(a.wait_with_output(), b.wait_with_output());
        for out in [a.unwrap(), b.unwrap()] {
            let stderr = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => wins += 1,
                Some(1) => {
                    assert!(
                        stderr.contains("was changed by ") && stderr.contains(" at "),
                        "round {round}: a lost race says who and when: {stderr}"
                    );
                    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
                    conflicts += 1;
                }
                other => panic!("round {round}: exit {other:?}: {stderr}"),
            }
        }
    }
    eprintln!("{wins} wins, {conflicts} conflicts in {rounds} rounds");
    assert!(
        wins >= rounds,
        "at least one of each pair wins ({wins} wins)"
    );
    assert!(conflicts > 0, "{rounds} simultaneous pairs never collided");

    // Each win moved the desired generation exactly once: two winners on one version
    // would have lost a write and left the count short.
    let end = store.get_release(&key).await.unwrap().unwrap().value;
    assert_eq!(end.desired - start.desired, wins as u64);
    assert!([20, 30].contains(&end.weight));

    // Every win is audited as allowed and with its outcome; losers wrote nothing.
    let entries = store.list_audit(&AuditFilter::default()).await.unwrap();
    let weights: Vec<_> = entries[audit_before..]
        .iter()
        .filter(|e| e.action == "weight")
        .collect();
    let count = |o: &str| {
        weights
            .iter()
            .filter(|e| e.outcome.to_string() == o)
            .count()
    };
    assert_eq!(count("allowed"), wins);
    assert_eq!(count("applied") + count("failed"), wins);
    // Each loser is audited too, as refused, naming who won.
    assert_eq!(
        count("denied"),
        conflicts,
        "{:#?}",
        entries[audit_before..]
            .iter()
            .map(|e| (&e.action, e.outcome, &e.reason))
            .collect::<Vec<_>>()
    );
    assert!(
        weights
            .iter()
            .filter(|e| e.outcome.to_string() == "denied")
            .all(|e| e
                .reason
                .starts_with("lost a race: release sim/shop/web was changed by"))
    );
    assert_eq!(weights.len(), 2 * wins + conflicts);
    w.fd.run(&["audit", "verify"]).await.expect(0);

    // The cluster ends at the store's last word, whatever order the applies ran in: an
    // engine that sees the release moved on during its apply re-applies the newest state.
    let api: Api<Deployment> = Api::namespaced(w.sim.client().await, NAMESPACE);
    let (want_stable, want_canary) = flightdeck::engine::router::replica_split(4, end.weight);
    eventually(10, "the cluster at the store's final weight", || async {
        let c = api.get("web-canary").await.ok()?.spec?.replicas?;
        let s = api.get("web").await.ok()?.spec?.replicas?;
        (c == want_canary as i32 && s == want_stable as i32).then_some(())
    })
    .await;

    // One more change, uncontested, brings the cluster to a known state.
    w.fd.run(&["weight", "web", "50"]).await.expect(0);
    eventually(10, "2 canary and 2 stable replicas", || async {
        let c = api.get("web-canary").await.ok()?.spec?.replicas?;
        let s = api.get("web").await.ok()?.spec?.replicas?;
        (c == 2 && s == 2).then_some(())
    })
    .await;
    w.sim.handle.shutdown().await;
}
