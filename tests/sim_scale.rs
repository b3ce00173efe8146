//! The simulated cluster at the size of a real estate: 300 deployments, 6,000 pods.

mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use support::{Sim, deployment, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_thousand_pods_list_fast() {
    let preload = (0..300)
        .map(|i| {
            deployment(
                &format!("team-{}", i % 10),
                &format!("svc-{i}"),
                "app:v1",
                20,
            )
        })
        .collect();
    let started = Instant::now();
    let sim = Sim::start_with(Default::default(), preload).await;
    let client = sim.client().await;
    let pods: Api<Pod> = Api::all(client.clone());
    let deploys: Api<Deployment> = Api::all(client.clone());
    eventually(60, "300 available deployments", || async {
        let list = deploys.list(&ListParams::default()).await.ok()?;
        let ready = list
            .items
            .iter()
            .filter(|d| d.status.as_ref().and_then(|s| s.available_replicas) == Some(20));
        (ready.count() == 300).then_some(())
    })
    .await;
    eprintln!("6,000 pods ready after {:?}", started.elapsed());

    // The server's share: the raw response, without the client's typed decoding. The
    // first list writes each object's JSON once (watchers would have); later lists reuse it.
    let raw_list = || async {
        let t = Instant::now();
        let req = axum::http::Request::get("/api/v1/pods")
            .body(Vec::new())
            .unwrap();
        let text = client.request_text(req).await.unwrap();
        (t.elapsed(), text.len())
    };
    let (cold, bytes) = raw_list().await;
    let (warm, _) = raw_list().await;
    eprintln!(
        "raw list of 6,000 pods ({} MB): cold {cold:?}, warm {warm:?}",
        bytes / 1_000_000
    );
    assert!(cold < Duration::from_secs(2), "cold raw list took {cold:?}");
    assert!(
        warm < Duration::from_millis(400),
        "warm raw list took {warm:?}"
    );

    let t = Instant::now();
    let all = pods.list(&ListParams::default()).await.unwrap();
    let took = t.elapsed();
    eprintln!("list of {} pods took {took:?}", all.items.len());
    assert_eq!(all.items.len(), 6000);
    // Typed decoding in a debug build is the client's cost, so the bound is looser.
    assert!(
        took < Duration::from_secs(3),
        "listing 6,000 pods took {took:?}"
    );

    let t = Instant::now();
    let one_ns = Api::<Pod>::namespaced(client.clone(), "team-3")
        .list(&ListParams::default().labels("app=svc-13"))
        .await
        .unwrap();
    assert_eq!(one_ns.items.len(), 20);
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "selector list took {:?}",
        t.elapsed()
    );

    // Paged, as kube-rs's watcher lists: 500 at a time from one snapshot.
    let (mut names, mut token, mut rvs) =
        (std::collections::HashSet::new(), None::<String>, Vec::new());
    loop {
        let mut lp = ListParams::default().limit(500);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = pods.list(&lp).await.unwrap();
        rvs.push(page.metadata.resource_version.clone());
        names.extend(page.items.into_iter().map(|p| p.metadata.name.unwrap()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names.len(), 6000);
    assert_eq!(rvs.len(), 12);
    assert!(rvs.windows(2).all(|w| w[0] == w[1]), "one snapshot");

    let events: Api<Event> = Api::all(client);
    let t = Instant::now();
    let n = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    eprintln!("list of {n} events took {:?}", t.elapsed());
    assert!(n > 30_000, "{n} events");
    sim.handle.shutdown().await;
}
