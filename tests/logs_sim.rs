//! Pod logs from the simulated cluster through kube-rs: the API server's parameters, and
//! flightdeck's streams (pods joining, a cut stream restarting with the gap marked,
//! escape sequences stripped).

mod support;

use std::time::Duration;

use flightdeck::logs::{LogEvent, LogOptions, LogSource, Track, spawn_log_streams};
use flightdeck::sim::{Behaviour, Rule, Scenario};
use futures::AsyncBufReadExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::{Sim, eventually};
use tokio::sync::mpsc;

fn rule(tag: &str, behaviour: Behaviour, rate: f64, error_rate: Option<f64>) -> Rule {
    Rule {
        tag: tag.into(),
        behaviour,
        start_delay: None,
        crash_after: Some(1.0),
        error_rate,
        latency_ms: None,
        log_rate: Some(rate),
    }
}

fn scenario() -> Scenario {
    Scenario {
        rules: vec![
            rule("*-crash", Behaviour::CrashLoop, 20.0, None),
            rule("*-canary", Behaviour::Healthy, 20.0, Some(0.5)),
            rule("*", Behaviour::Healthy, 20.0, None),
        ],
        ..Scenario::default()
    }
}

/// A group's Deployment for one track, labelled as flightdeck's templates label them.
fn group_deployment(
    name: &str,
    group: &str,
    track: &str,
    tag: &str,
    replicas: i64,
    containers: &[&str],
) -> Value {
    let labels = json!({"flightdeck.dev/group": group, "flightdeck.dev/track": track, "app": name});
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": format!("registry.local/{group}:{tag}")}))
        .collect();
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}
        }
    })
}

async fn running_pods(pods: &Api<Pod>, selector: &str, n: usize) -> Vec<String> {
    eventually(30, "pods running", || async {
        let list = pods
            .list(&ListParams::default().labels(selector))
            .await
            .ok()?;
        let running: Vec<String> = list
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        (running.len() >= n).then_some(running)
    })
    .await
}

async fn read_all(pods: &Api<Pod>, name: &str, lp: &LogParams) -> Result<String, kube::Error> {
    pods.logs(name, lp).await
}

#[tokio::test]
async fn the_api_server_honours_log_parameters() {
    let sim = Sim::start_with(
        scenario(),
        vec![
            group_deployment("web", "web", "stable", "v1", 1, &["app"]),
            group_deployment("side", "side", "stable", "v1", 1, &["app", "envoy"]),
            group_deployment("boom", "boom", "stable", "v1-crash", 1, &["app"]),
        ],
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(sim.client().await, "shop");
    let web = running_pods(&pods, "app=web", 1).await.remove(0);
    tokio::time::sleep(Duration::from_millis(600)).await;

    let all = read_all(&pods, &web, &LogParams::default()).await.unwrap();
    assert!(all.lines().count() >= 5, "{all}");
    assert!(
        all.lines().next().unwrap().contains("starting server"),
        "{all}"
    );
    assert!(all.contains("HTTP/1.1"), "{all}");

    let tail = read_all(
        &pods,
        &web,
        &LogParams {
            tail_lines: Some(3),
            timestamps: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 3, "{tail}");
    for l in &lines {
        let (t, _) = l.split_once(' ').unwrap();
        assert!(t.parse::<jiff::Timestamp>().is_ok(), "{l}");
    }
    // Deterministic: the same lines read twice are the same text.
    assert!(all.contains(lines[0].split_once(' ').unwrap().1));

    let since = read_all(
        &pods,
        &web,
        &LogParams {
            since_seconds: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let n = since.lines().count();
    assert!((10..=30).contains(&n), "20 lines/s over 1s, got {n}");

    let limited = read_all(
        &pods,
        &web,
        &LogParams {
            limit_bytes: Some(50),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(limited.len(), 50);

    let side = running_pods(&pods, "app=side", 1).await.remove(0);
    let err = read_all(&pods, &side, &LogParams::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("choose one of: [app envoy]"),
        "{err}"
    );
    let envoy = read_all(
        &pods,
        &side,
        &LogParams {
            container: Some("envoy".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!envoy.is_empty());

    let boom = eventually(30, "a crashed container", || async {
        let list = pods
            .list(&ListParams::default().labels("app=boom"))
            .await
            .ok()?;
        let p = list.items.into_iter().next()?;
        let restarted = p
            .status
            .as_ref()?
            .container_statuses
            .as_ref()?
            .first()?
            .restart_count
            >= 1;
        restarted.then(|| p.metadata.name.clone().unwrap())
    })
    .await;
    let previous = read_all(
        &pods,
        &boom,
        &LogParams {
            previous: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        previous
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("panic:"),
        "{previous}"
    );
    let err = read_all(
        &pods,
        &web,
        &LogParams {
            previous: true,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("previous terminated container"),
        "{err}"
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn follow_streams_until_cut_and_the_canary_logs_5xx() {
    let sim = Sim::start_with(
        scenario(),
        vec![group_deployment(
            "web-canary",
            "web",
            "canary",
            "v2-canary",
            1,
            &["app"],
        )],
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(sim.client().await, "shop");
    let name = running_pods(&pods, "app=web-canary", 1).await.remove(0);
    let lp = LogParams {
        follow: true,
        tail_lines: Some(0),
        ..Default::default()
    };
    let mut lines = pods.log_stream(&name, &lp).await.unwrap().lines();
    let mut got = Vec::new();
    while got.len() < 40 {
        let l = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut lines))
            .await
            .expect("a followed line within 5s")
            .unwrap()
            .unwrap();
        got.push(l);
    }
    assert!(got.iter().any(|l| l.contains("\" 50")), "{got:#?}");
    sim.handle.cut_log_streams();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = futures::StreamExt::next(&mut lines).await {}
    })
    .await;
    assert!(end.is_ok(), "a cut stream ends");
    sim.handle.shutdown().await;
}

async fn next_event(
    rx: &mut mpsc::Receiver<LogEvent>,
    what: &str,
    mut f: impl FnMut(&LogEvent) -> bool,
) -> Vec<LogEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out waiting for {what}; saw {:?}",
                    seen.iter().rev().take(5).collect::<Vec<_>>()
                )
            })
            .expect("streams alive");
        let hit = f(&ev);
        seen.push(ev);
        if hit {
            return seen;
        }
    }
}

#[tokio::test]
async fn group_streams_join_new_pods_restart_after_a_cut_and_strip_escapes() {
    let sim = Sim::start_with(
        scenario(),
        vec![group_deployment("web", "web", "stable", "v1", 1, &["app"])],
    )
    .await;
    let client = sim.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let first = running_pods(&pods, "app=web", 1).await.remove(0);
    let (tx, mut rx) = mpsc::channel(1024);
    let source = LogSource::group("shop", "web").with_options(LogOptions {
        tail: Some(5),
        ..Default::default()
    });
    let _streams = spawn_log_streams(client.clone(), source, tx);
    next_event(&mut rx, "the first pod", |e| matches!(e, LogEvent::Joined { pod, initial: true, track: Track::Stable, .. } if *pod == first)).await;
    next_event(
        &mut rx,
        "lines",
        |e| matches!(e, LogEvent::Lines { pod, .. } if *pod == first),
    )
    .await;

    // The rollout creates a canary: its pod joins by itself.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    let canary: Deployment = serde_json::from_value(group_deployment(
        "web-canary",
        "web",
        "canary",
        "v2-canary",
        1,
        &["app"],
    ))
    .unwrap();
    deployments
        .create(&Default::default(), &canary)
        .await
        .unwrap();
    let seen = next_event(&mut rx, "the canary pod joining", |e| {
        matches!(
            e,
            LogEvent::Joined {
                initial: false,
                track: Track::Canary,
                ..
            }
        )
    })
    .await;
    let LogEvent::Joined {
        pod: canary_pod, ..
    } = seen.last().unwrap().clone()
    else {
        unreachable!()
    };
    next_event(
        &mut rx,
        "canary lines",
        |e| matches!(e, LogEvent::Lines { pod, .. } if *pod == canary_pod),
    )
    .await;

    // A cut is reported, then lines continue.
    sim.handle.cut_log_streams();
    let seen = next_event(
        &mut rx,
        "the restart marker",
        |e| matches!(e, LogEvent::Restarted { pod, .. } if *pod == first),
    )
    .await;
    assert!(!seen.iter().any(|e| matches!(e, LogEvent::Gone { .. })));
    next_event(
        &mut rx,
        "lines after the restart",
        |e| matches!(e, LogEvent::Lines { pod, .. } if *pod == first),
    )
    .await;

    // A hostile line arrives clean, invalid UTF-8 replaced.
    sim.handle.inject_log_line(
        "shop",
        &first,
        None,
        b"\x1b]0;pwned\x07\x1b[2J\x1b[31mEVIL\x1b[0m \xff done",
    );
    let seen = next_event(&mut rx, "the injected line", |e| match e {
        LogEvent::Lines { lines, .. } => lines.iter().any(|(_, t)| t.contains("EVIL")),
        _ => false,
    })
    .await;
    let LogEvent::Lines { lines, .. } = seen.last().unwrap() else {
        unreachable!()
    };
    let evil = lines.iter().find(|(_, t)| t.contains("EVIL")).unwrap();
    assert_eq!(evil.1, "EVIL \u{fffd} done");

    // A 100,000-byte line keeps its first 16 KiB and says how much was cut.
    let mut huge = vec![b'y'; 100_000];
    huge[0] = b'<';
    sim.handle.inject_log_line("shop", &first, None, &huge);
    let seen = next_event(&mut rx, "the huge line", |e| match e {
        LogEvent::Lines { lines, .. } => lines.iter().any(|(_, t)| t.starts_with("<yyy")),
        _ => false,
    })
    .await;
    let LogEvent::Lines { lines, .. } = seen.last().unwrap() else {
        unreachable!()
    };
    let cut = &lines.iter().find(|(_, t)| t.starts_with("<yyy")).unwrap().1;
    let (text, marker) = cut.split_once(" … [").expect("the cut is marked");
    let n: usize = marker
        .strip_suffix(" more bytes cut]")
        .and_then(|n| n.parse().ok())
        .expect("the marker says how many bytes");
    // The cap counts the API server's timestamp prefix too.
    let cap = flightdeck::logs::stream::MAX_LINE_BYTES;
    assert!(
        text.len() <= cap && text.len() > cap - 64,
        "{} bytes kept",
        text.len()
    );
    assert_eq!(
        text.len() + n,
        100_000,
        "what is kept and what is cut make the line"
    );

    // Scaling the stable track down marks the pod gone.
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await
        .unwrap();
    next_event(
        &mut rx,
        "the stable pod gone",
        |e| matches!(e, LogEvent::Gone { pod } if *pod == first),
    )
    .await;
    sim.handle.shutdown().await;
}
