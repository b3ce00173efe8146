//! `flightdeck sim --seed-store URL`: the simulated estate also lands in etcd, so a separate
//! process can watch it and act on it through the kubeconfig the sim wrote.

mod support;

use std::time::Duration;

use support::cli::*;
use support::etcd::Etcd;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_store_holds_the_simulated_estate() {
    let etcd = Etcd::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let fd = Flightdeck::new(&etcd.url(), &kubeconfig);
    let url = etcd.url();
    let kc = kubeconfig.display().to_string();
    let sim_args = [
        "sim",
        "--kubeconfig-out",
        &kc,
        "--groups",
        "20",
        "--pods",
        "2",
        "--time-scale",
        "0.05",
        "--seed-store",
        &url,
    ];
    let mut sim = fd.command(&sim_args).spawn().unwrap();
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let mut said = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let up = line.starts_with("simulated cluster on");
            said.push(line);
            if up {
                return;
            }
        }
        panic!("sim ended early: {said:?}");
    })
    .await
    .expect("the sim comes up within 30s");
    assert!(said[0].contains("20 groups"), "{said:?}");

    let listed = fd.run(&["groups", "list", "--json"]).await.expect(0);
    let groups: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(groups.len(), 20);
    let status = fd.run(&["status", "--json"]).await.expect(0);
    let statuses: Vec<serde_json::Value> = serde_json::from_str(&status.stdout).unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| s["release"]["stable_revision"] == 1)
    );
    assert!(
        statuses.iter().any(|s| s["release"]["phase"] == "Paused"),
        "the demo's canaries are in flight"
    );
    // The seed registered the simulated cluster, so a controller may act on it; the
    // person who ran the sim is admin of the seeded policy and can release.
    let clusters = fd.run(&["clusters", "list"]).await.expect(0);
    assert!(clusters.stdout.contains("sim "), "{}", clusters.stdout);
    let _controller = fd.controller().await;
    fd.run(&["deploy", "checkout-cron", "--tag", "9.9.9"])
        .await
        .expect(0);
    fd.run(&["audit", "verify"]).await.expect(0);

    // Seeding the same store twice would mix two estates.
    let again = fd.run(&sim_args).await.expect(1);
    assert!(
        again.stderr.contains("already holds 20 groups"),
        "{}",
        again.stderr
    );

    sim.start_kill().unwrap();
    let _ = sim.wait().await;
}
