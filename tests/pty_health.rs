//! Canary health in real terminals: the console binary against a real etcd and the
//! simulated cluster, beside a release controller (`flightdeck agent`) in its own process
//! that holds the lease — so no console here runs any analysis. A crash-looping canary of a
//! group without an analysis step shows live in the Health tab and the groups list; the
//! controller's verdict after an analysis shows in a second console and in `status`.

mod support;

use std::time::Duration;

use support::tmux::Tmux;
use support::world::World;

/// The demo's scenario, and canaries tagged `*-bad` failing 30% of their requests.
fn scenario() -> flightdeck::sim::Scenario {
    let mut scenario =
        flightdeck::sim::Scenario::from_yaml(include_str!("../assets/scenario.yaml"))
            .expect("scenario");
    let bad: flightdeck::sim::Rule =
        serde_norway::from_str("{ tag: \"*-bad\", behaviour: healthy, errorRate: 0.3 }")
            .expect("rule");
    scenario.rules.push(bad);
    scenario
}

/// etcd seeded with the sample estate, the simulated cluster running it, and a
/// `flightdeck agent` holding the lease.
async fn rig() -> World {
    World::builder()
        .demo(7, 2)
        .scenario(scenario())
        .controller()
        .start()
        .await
}

fn console(w: &World, name: &str) -> Tmux {
    let console = w.console(name).size(160, 50).start();
    console.wait_text("user-info-worker", Duration::from_secs(30));
    console
}

fn open(console: &Tmux, group: &str) {
    console.send_text(&format!(":group {group}"));
    console.send(&["Enter"]);
    console.wait_text("steps", Duration::from_secs(10));
}

/// Deploy `tag` from the open group's dialog.
fn deploy(console: &Tmux, tag: &str) {
    console.send(&["d"]);
    std::thread::sleep(Duration::from_millis(300));
    console.send_text(tag);
    console.send(&["Enter"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_canary_without_analysis_shows_live_health_in_a_console_that_is_not_the_lease_holder()
 {
    let r = rig().await;
    let console = console(&r, "live");
    open(&console, "user-info-worker");
    deploy(&console, "3.0.0-crash");
    console.wait_text("Paused", Duration::from_secs(20));
    console.send(&["h"]);
    let started = std::time::Instant::now();
    let screen = console.wait_for(
        "live health of the crash-looping canary",
        Duration::from_secs(30),
        |s| s.contains("✗ Fail") && s.contains("restarted") && s.contains("samples every 2s"),
    );
    eprintln!("live verdict after {:?}", started.elapsed());
    // Both tracks side by side, from the pods: 1 stable pod ready, the 2 canaries not.
    assert!(
        screen.contains("stable") && screen.contains("canary"),
        "{screen}"
    );
    assert!(screen.contains("1/1") && screen.contains("0/2"), "{screen}");
    // No analysis ran, and the controller is another process: nothing from it here.
    assert!(!screen.contains("last analysis"), "{screen}");
    assert!(
        r.controller().stderr().contains("holding the lease"),
        "{}",
        r.controller().stderr()
    );

    // The groups list marks the group by the live verdict; a group without a canary in
    // flight has no mark.
    console.send(&["Escape"]);
    let list = console.wait_for("the list's mark", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.contains("user-info-worker") && l.contains('✗'))
    });
    let grpc = list
        .lines()
        .find(|l| l.contains("user-info-grpc"))
        .expect("user-info-grpc listed");
    assert!(
        !grpc.contains('✗') && !grpc.contains('·') && !grpc.contains('✓'),
        "{list}"
    );
    console.send(&["q"]);
    console.wait_text("EXIT=0", Duration::from_secs(10));
}

const API_GROUP: &str = r#"apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: user-info-api, app: user-info }
spec:
  cluster: sim
  namespace: user
  template: service
  params: { image: registry.local/go/user-info-api, tag: "1.0.0", replicas: 4, port: 9000 }
  strategy:
    steps:
      - setWeight: 25
      - analysis: { interval: 1s, count: 3 }
      - pause: {}
  health:
    source: pod-metrics
    metrics:
      - { name: success-rate, min: 0.99 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controllers_verdict_after_an_analysis_shows_in_a_second_console_and_status() {
    let r = rig().await;
    let file = r.fd.file("api.yaml", API_GROUP);
    r.fd.run(&["groups", "apply", "-f", &file]).await.expect(0);
    r.fd.run(&["deploy", "user-info-api", "--tag", "1.0.0"])
        .await
        .expect(0);
    let deployer = console(&r, "deployer");
    let watcher = console(&r, "watcher");
    open(&watcher, "user-info-api");
    watcher.send(&["h"]);
    watcher.wait_text("no canary in flight", Duration::from_secs(10));

    open(&deployer, "user-info-api");
    deploy(&deployer, "1.1.0-bad");
    let screen = watcher.wait_for("the controller's verdict", Duration::from_secs(40), |s| {
        s.contains("last analysis ✗ Fail")
    });
    assert!(screen.contains("at step 1 of r2 → pause"), "{screen}");
    assert!(screen.contains("below min 99.00%"), "{screen}");
    // Beside it, the watcher's own live samples of the same canary.
    watcher.wait_text("samples every 2s", Duration::from_secs(10));

    let status = r.fd.run(&["status", "user-info-api"]).await.expect(0);
    let line = status
        .stdout
        .lines()
        .find(|l| l.starts_with("Analysis:  Fail (score "))
        .unwrap_or_else(|| panic!("{}", status.stdout));
    assert!(
        line.contains("of revision 2 at step 2. analysis every 1s × 3 → pause, "),
        "{line}"
    );
    assert!(
        status.stdout.contains("below min 99.00%"),
        "{}",
        status.stdout
    );
    let json =
        r.fd.run(&["status", "user-info-api", "--json"])
            .await
            .expect(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["release"]["analysis"]["verdict"], "Fail", "{v}");
    assert_eq!(v["release"]["analysis"]["action"], "pause", "{v}");
}
