//! `flightdeck logs` through its library entry point, and `kubectl logs` (plain and -f)
//! against the simulated cluster.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use flightdeck::cli::logs::{LogsArgs, print_logs};
use flightdeck::cli::{Cli, Command as Cmd, Exit};
use flightdeck::sim::{Behaviour, Rule, Scenario};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};
use support::{Sim, eventually};

fn rule(tag: &str, error_rate: Option<f64>) -> Rule {
    Rule {
        tag: tag.into(),
        behaviour: Behaviour::Healthy,
        start_delay: None,
        crash_after: None,
        error_rate,
        latency_ms: None,
        log_rate: Some(20.0),
    }
}

fn scenario() -> Scenario {
    Scenario {
        rules: vec![rule("*-canary", Some(0.9)), rule("*", None)],
        ..Scenario::default()
    }
}

fn deployment(name: &str, track: &str, tag: &str) -> Value {
    let labels = json!({"flightdeck.dev/group": "web", "flightdeck.dev/track": track, "app": name});
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": format!("registry.local/web:{tag}")}]}}}
    })
}

fn args(extra: &[&str]) -> LogsArgs {
    let mut argv = vec!["flightdeck", "logs"];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).expect("arguments parse").command {
        Some(Cmd::Logs(a)) => a,
        other => panic!("not logs: {other:?}"),
    }
}

async fn started() -> (Sim, Vec<String>) {
    let sim = Sim::start_with(
        scenario(),
        vec![
            deployment("web", "stable", "v1"),
            deployment("web-canary", "canary", "v2-canary"),
        ],
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(sim.client().await, "default");
    let names = eventually(30, "two running pods", || async {
        let l = pods
            .list(&ListParams::default().labels("flightdeck.dev/group=web"))
            .await
            .ok()?;
        let running: Vec<String> = l
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        (running.len() == 2).then_some(running)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    (sim, names)
}

#[tokio::test]
async fn lines_are_prefixed_by_pod_and_grep_and_track_narrow_them() {
    let (sim, names) = started().await;
    let client = sim.client().await;
    let mut out = Vec::new();
    let a = args(&["web", "--tail", "3"]);
    print_logs(
        client.clone(),
        a.source("default").unwrap(),
        a.pattern().unwrap(),
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    for n in &names {
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with(&format!("{n} ")))
                .count(),
            3,
            "{text}"
        );
    }

    let mut out = Vec::new();
    let a = args(&[
        "web",
        "--track",
        "canary",
        "--grep",
        "\" 5\\d\\d ",
        "--tail",
        "-1",
    ]);
    print_logs(
        client.clone(),
        a.source("default").unwrap(),
        a.pattern().unwrap(),
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.is_empty());
    assert!(
        text.lines()
            .all(|l| l.starts_with("web-canary-") && l.contains("\" 5")),
        "{text}"
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn exit_codes_for_unknown_groups_bad_input_and_unreachable_clusters() {
    let (sim, _) = started().await;
    let client = sim.client().await;
    let a = args(&["nope"]);
    let e = print_logs(
        client.clone(),
        a.source("default").unwrap(),
        None,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit, Exit::BadInput, "{}", e.message);
    assert!(e.message.contains("unknown group"));
    assert_eq!(
        args(&["web", "--grep", "a("]).pattern().unwrap_err().exit,
        Exit::BadInput
    );
    assert_eq!(
        args(&["web", "--since", "5 parsecs"])
            .source("default")
            .unwrap_err()
            .exit,
        Exit::BadInput
    );
    assert_eq!(
        args(&["web", "--track", "blue"])
            .source("default")
            .unwrap_err()
            .exit,
        Exit::BadInput
    );
    sim.handle.shutdown().await;
    let e = print_logs(
        client,
        args(&["web"]).source("default").unwrap(),
        None,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit, Exit::Unreachable, "{}", e.message);
}

fn kubectl(sim: &Sim) -> Command {
    let mut c = Command::new("kubectl");
    c.arg("--kubeconfig")
        .arg(&sim.kubeconfig)
        .arg("--cache-dir")
        .arg(sim.dir.path().join("cache"));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_and_follow_work() {
    let (sim, names) = started().await;
    let canary = names
        .iter()
        .find(|n| n.starts_with("web-canary"))
        .unwrap()
        .clone();
    let out = kubectl(&sim)
        .args(["logs", &canary, "--tail", "5", "--timestamps"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.lines().all(|l| {
        l.split_once(' ')
            .is_some_and(|(t, _)| t.parse::<jiff::Timestamp>().is_ok())
    }));

    let mut child = kubectl(&sim)
        .args(["logs", "-f", &canary, "--tail", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let got = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut n = 0;
        for line in BufReader::new(stdout).lines() {
            if line.is_err() || Instant::now() > deadline {
                break;
            }
            n += 1;
            if n >= 15 {
                break;
            }
        }
        n
    })
    .await
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(got >= 15, "kubectl logs -f streamed {got} lines");
    sim.handle.shutdown().await;
}
