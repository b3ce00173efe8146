//! End to end on the simulated cluster, pod-metrics source: the agent runs the analysis
//! step, a bad canary is aborted with the judge's reasons, a good one goes on.

mod health_support;

use std::time::Duration;

use flightdeck::agent::AGENT_USER;
use flightdeck::domain::Phase;
use flightdeck::domain::release::AnalysisVerdict;
use flightdeck::health::Verdict;
use flightdeck::store::AuditFilter;
use health_support::{Harness, POD_METRICS, group_yaml, next_action};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_with_8_percent_5xx_fails_analysis_and_is_auto_aborted() {
    let h = Harness::start(&group_yaml(POD_METRICS, true)).await;
    let (reports, mut events, stop) = h.spawn_agent(h.agent_config());
    let r = h.deploy("v2-bad").await;
    assert_eq!((r.phase, r.step, r.weight), (Phase::Progressing, 1, 25));

    let (action, reason, outcome) = next_action(&mut events, Duration::from_secs(30)).await;
    assert_eq!(action, "abort", "{reason} / {outcome}");
    // The scenario makes the canary both fail requests and answer slowly: either is the
    // right reason, whichever the first judged window shows beyond its bound.
    assert!(
        reason.contains("autoAbort")
            && (reason.contains("success-rate") || reason.contains("latency-p99")),
        "{reason}"
    );

    let r = h.release().await;
    assert_eq!((r.phase, r.weight), (Phase::Aborted, 0));
    assert_eq!(h.canary_replicas(), Some(0), "traffic is back on stable");
    let report = reports
        .borrow()
        .get(&h.key)
        .cloned()
        .expect("a health report");
    assert_eq!(report.verdict(), Some(Verdict::Fail));
    // The audit log names the agent and carries the judge's numbers.
    let audit = h.store.list_audit(&AuditFilter::default()).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.user.name == AGENT_USER && e.action == "abort")
        .expect("an abort by the agent");
    // The judge's numbers: a bound crossed, or the comparison with stable that failed.
    assert!(
        entry.reason.contains("below min 99.00%")
            || entry.reason.contains("above max 500ms")
            || (entry.reason.contains("vs stable") && entry.reason.contains("Mann–Whitney")),
        "{}",
        entry.reason
    );
    // The verdict is stored with the release, for every console and `status`.
    let stored = r.analysis.clone().expect("the stored verdict");
    assert_eq!(
        (stored.verdict, stored.action.as_str(), stored.step),
        (AnalysisVerdict::Fail, "abort", 1)
    );
    assert_eq!(stored.canary_revision, Some(2));
    assert!(
        stored.reasons.iter().any(|r| r.contains("below min 99.00%")
            || r.contains("above max 500ms")
            || (r.contains("vs stable") && r.contains("Mann–Whitney"))),
        "{stored:?}"
    );
    // A new canary starts without it.
    stop.send_replace(true);
    let r = h.deploy("v3").await;
    assert_eq!(r.analysis, None);
    assert_eq!(h.release().await.analysis, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_canary_passes_analysis_and_proceeds_to_the_next_step() {
    let h = Harness::start(&group_yaml(POD_METRICS, true)).await;
    let (reports, mut events, stop) = h.spawn_agent(h.agent_config());
    h.deploy("v2").await;

    let (action, reason, _) = next_action(&mut events, Duration::from_secs(30)).await;
    assert_eq!(action, "step", "{reason}");
    assert!(reason.contains("passed"), "{reason}");
    let r = h.release().await;
    assert_eq!(
        (r.phase, r.step),
        (Phase::Paused, 2),
        "waits at the next pause"
    );
    assert_eq!(r.updated_by, AGENT_USER);
    let report = reports
        .borrow()
        .get(&h.key)
        .cloned()
        .expect("a health report");
    assert_eq!(report.verdict(), Some(Verdict::Pass));
    let last = report.points.last().expect("points");
    assert!(last.canary.success_rate.is_some() && last.stable.latency_p99.is_some());
    assert_eq!((last.stable.ready, last.canary.ready), (3, 1));
    let stored = r.analysis.expect("the stored verdict");
    assert_eq!(
        (stored.verdict, stored.action.as_str(), stored.score),
        (AnalysisVerdict::Pass, "step", Some(100))
    );
    stop.send_replace(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_is_no_data_and_the_release_is_not_promoted() {
    let h = Harness::start(&group_yaml("{ source: prometheus }", true)).await;
    let mut cfg = h.agent_config();
    // Nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.prometheus = Some(
        flightdeck::health::prometheus::PrometheusClient::new(&format!("http://127.0.0.1:{port}"))
            .unwrap(),
    );
    let (_reports, mut events, stop) = h.spawn_agent(cfg);
    h.deploy("v2").await;
    let (action, reason, _) = next_action(&mut events, Duration::from_secs(30)).await;
    assert_eq!(action, "pause", "{reason}");
    assert!(
        reason.contains("Inconclusive") && reason.contains("no data"),
        "{reason}"
    );
    let r = h.release().await;
    assert_eq!(
        (r.phase, r.step),
        (Phase::Paused, 1),
        "still at the analysis step"
    );
    assert!(r.canary_revision.is_some());
    stop.send_replace(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_pause_is_stepped_by_the_agent() {
    let yaml = group_yaml(POD_METRICS, true).replace(
        "      - analysis: { interval: 1s, count: 3 }\n",
        "      - pause: { duration: 1s }\n",
    );
    let h = Harness::start(&yaml).await;
    let (_reports, mut events, stop) = h.spawn_agent(h.agent_config());
    h.deploy("v2").await;
    let (action, reason, _) = next_action(&mut events, Duration::from_secs(20)).await;
    assert_eq!(action, "step");
    assert!(reason.contains("timed pause"), "{reason}");
    assert_eq!(h.release().await.step, 2);
    stop.send_replace(true);
}
