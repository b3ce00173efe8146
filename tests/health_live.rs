//! A console's own health sampler on the simulated cluster: a group with no analysis step,
//! sampled read-only while its canary is live, judged live, and dropped once it is gone.

mod health_support;

use std::collections::HashMap;
use std::time::Duration;

use flightdeck::domain::Phase;
use flightdeck::health::live::{LiveConfig, LiveTarget, run};
use flightdeck::health::{LiveHealth, LiveReport, Verdict};
use health_support::{Harness, POD_METRICS, group_yaml};
use tokio::sync::{mpsc, watch};

/// The harness's group without its analysis step: setWeight 25, then a pause for a person.
fn no_analysis() -> String {
    group_yaml(POD_METRICS, true).replace("      - analysis: { interval: 1s, count: 3 }\n", "")
}

async fn targets(h: &Harness) -> Vec<LiveTarget> {
    let group = h.store.get_group(&h.key).await.unwrap().expect("group");
    let release = h.release().await;
    let releases = HashMap::from([(h.key.clone(), release)]);
    LiveTarget::in_flight([&group], &releases)
}

/// Reports until one satisfies `pred`; fails naming the last one after `limit`.
async fn until(
    rx: &mut mpsc::Receiver<LiveReport>,
    limit: Duration,
    pred: impl Fn(&LiveHealth) -> bool,
) -> LiveHealth {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = None;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(LiveReport::Sampled(_, h))) if pred(&h) => return (*h).clone(),
            Ok(Some(LiveReport::Sampled(_, h))) => last = Some(h),
            Ok(Some(LiveReport::Gone(k))) => panic!("{k} reported gone"),
            Ok(None) => panic!("the sampler stopped"),
            Err(_) => panic!(
                "no such report within {limit:?}; the last: {:#?}",
                last.map(|h| (h.report.judgement.clone(), h.report.points.last().cloned()))
            ),
        }
    }
}

fn fast() -> LiveConfig {
    LiveConfig {
        open_every: Duration::from_millis(500),
        rest_every: Duration::from_millis(500),
        ..LiveConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_canary_with_no_analysis_step_is_judged_failing_from_its_pods() {
    let h = Harness::start(&no_analysis()).await;
    let r = h.deploy("v2-crash").await;
    assert_eq!((r.phase, r.step, r.weight), (Phase::Paused, 1, 25));
    let (targets_tx, targets_rx) = watch::channel(targets(&h).await);
    assert_eq!(targets_tx.borrow().len(), 1, "the canary is live");
    let (_open_tx, open_rx) = watch::channel(Some(h.key.clone()));
    let (tx, mut rx) = mpsc::channel(64);
    let sampler = tokio::spawn(run(h.conn.clone(), fast(), targets_rx, open_rx, tx));

    let failing = until(&mut rx, Duration::from_secs(30), |l| {
        l.report.verdict() == Some(Verdict::Fail)
    })
    .await;
    let j = failing.report.judgement.as_ref().unwrap();
    assert!(j.reasons().contains("restarted"), "{}", j.reasons());
    let last = failing.report.points.last().unwrap();
    assert!(last.pods_read);
    assert_eq!((last.stable.ready, last.stable.desired), (3, 3));
    assert_eq!(last.canary.desired, 1);
    assert!(last.canary.restarts >= 2, "{last:?}");
    assert_eq!(failing.every, Duration::from_millis(500));
    // Nothing was written: the release is as the deploy left it, with no verdict stored.
    let now = h.release().await;
    assert_eq!(
        (now.phase, now.desired, now.analysis),
        (r.phase, r.desired, None)
    );

    // The canary is gone (aborted by a person): the sampler forgets the group.
    h.person
        .act(&h.key, flightdeck::engine::Action::Abort, None)
        .await
        .expect("abort");
    targets_tx.send_replace(targets(&h).await);
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Some(LiveReport::Gone(k)) => return k,
                Some(_) => continue,
                None => panic!("the sampler stopped"),
            }
        }
    })
    .await
    .expect("gone within 10s");
    assert_eq!(gone, h.key);
    sampler.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_passes_live() {
    let h = Harness::start(&no_analysis()).await;
    h.deploy("v2").await;
    let (_targets_tx, targets_rx) = watch::channel(targets(&h).await);
    let (_open_tx, open_rx) = watch::channel(None);
    let (tx, mut rx) = mpsc::channel(64);
    let sampler = tokio::spawn(run(h.conn.clone(), fast(), targets_rx, open_rx, tx));
    let passing = until(&mut rx, Duration::from_secs(40), |l| {
        l.report.verdict() == Some(Verdict::Pass)
    })
    .await;
    let last = passing.report.points.last().unwrap();
    assert!(last.canary.success_rate.is_some() && last.stable.latency_p99.is_some());
    assert_eq!((last.stable.ready, last.canary.ready), (3, 1));
    sampler.abort();
}
