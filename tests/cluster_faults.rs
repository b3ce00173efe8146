//! Cluster faults survived with nothing lost (issue 10, points 4 and 7), with the real
//! binary, a real etcd and the simulated API server: a server that stops answering gets a
//! bounded "recorded, not applied" and a re-apply later, a burst of 503/429 is retried and
//! never marks a release Degraded, a 422 does (with the API's message), abort and weight
//! changes say what the cluster really holds, and a Deployment whose `spec` is not an
//! object is refused instead of panicking the engine.

mod support;

use std::time::{Duration, Instant};

use flightdeck::domain::{GroupKey, Outcome, Phase, Release};
use flightdeck::sim::Fault;
use flightdeck::store::{AuditFilter, Store};
use support::cli::*;
use support::eventually;
use support::world::World;

fn web() -> GroupKey {
    GroupKey::new("sim", NAMESPACE, "web")
}

/// etcd, the cluster, a controller, the shop, and `web` at 10% canary (Paused).
async fn world() -> World {
    World::builder()
        .controller()
        .shop(&[&me(), "system:agent"], &[])
        .deploy("1.0.0")
        .deploy("1.1.0")
        .start()
        .await
}

async fn release(store: &dyn Store) -> Release {
    store.get_release(&web()).await.unwrap().unwrap().value
}

/// Waits for the controller's re-apply to bring applied up to desired.
async fn reapplied(store: &dyn Store) -> Release {
    // The controller re-applies 10 s after a lag, and backs off 10 s, 20 s … after a
    // failed try (which a stalled server makes last the action's 12 s bound).
    eventually(90, "the controller re-applies the release", || async {
        let r = store.get_release(&web()).await.ok()??.value;
        (r.applied == r.desired).then_some(r)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_api_server_gets_a_bounded_answer_and_a_re_apply_later() {
    let w = world().await;
    // Requests are taken and never answered, as from a stopped process.
    w.sim.handle.stall_api();
    let started = Instant::now();
    let out = w.fd.run(&["weight", "web", "50", "--wait", "60s"]).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(35), "took {took:?}: {out:?}");
    assert_eq!(out.code, 3, "{out:?}");
    assert!(said(&out).contains("recorded, but not applied"), "{out:?}");
    let r = release(w.store.as_ref()).await;
    assert_ne!(r.applied, r.desired);
    assert_eq!(r.phase, Phase::Paused, "a blip is not Degraded: {r:?}");
    assert_eq!(r.weight, 50);
    let message = r.message.unwrap_or_default();
    assert!(message.contains("not applied yet"), "{message}");
    assert!(message.contains("no answer within"), "{message}");

    w.sim.handle.clear_faults();
    let r = reapplied(w.store.as_ref()).await;
    assert_eq!(r.phase, Phase::Paused);
    assert_eq!(r.message, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_503_and_429_is_retried_and_never_degrades() {
    let w = world().await;
    // A short burst is ridden out inside the action's bound.
    w.sim
        .handle
        .inject_fault(Fault::on_writes("deployments", 503, "etcdserver: leader changed").times(2));
    w.sim
        .handle
        .inject_fault(Fault::on_writes("deployments", 429, "slow down").times(1));
    let out = w.fd.run(&["weight", "web", "50"]).await.expect(0);
    assert!(
        out.stdout.contains("cluster: stable 2, canary 2"),
        "{out:?}"
    );
    let r = release(w.store.as_ref()).await;
    assert_eq!((r.phase, r.applied), (Phase::Paused, r.desired));

    // A longer one outlasts it: recorded, not applied, still Paused; re-applied once the
    // API answers again.
    w.sim.handle.inject_fault(Fault::on_writes(
        "deployments",
        503,
        "the server is currently unable to handle the request",
    ));
    let started = Instant::now();
    let out = w.fd.run(&["weight", "web", "25"]).await;
    assert!(started.elapsed() < Duration::from_secs(35));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        said(&out).contains("unable to handle the request"),
        "{out:?}"
    );
    let r = release(w.store.as_ref()).await;
    assert_eq!(r.phase, Phase::Paused, "{r:?}");
    assert_ne!(r.applied, r.desired);
    w.sim.handle.clear_faults();
    let r = reapplied(w.store.as_ref()).await;
    assert_eq!((r.phase, r.weight), (Phase::Paused, 25));
    let trail = audit_trail(w.store.as_ref()).await;
    assert!(
        trail.contains(&("reapply".to_string(), "applied".to_string())),
        "{trail:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_422_degrades_with_the_apis_message_and_abort_reads_back_the_cluster() {
    let w = world().await;
    let api_says = "Deployment.apps \"web-canary\" is invalid: spec.replicas: Invalid value";
    w.sim
        .handle
        .inject_fault(Fault::on_writes("deployments", 422, api_says));
    let out = w.fd.run(&["weight", "web", "50"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(said(&out).contains("the cluster refused it"), "{out:?}");
    assert!(said(&out).contains(api_says), "{out:?}");
    let r = release(w.store.as_ref()).await;
    assert_eq!(r.phase, Phase::Degraded);
    assert!(r.message.unwrap_or_default().contains(api_says));
    let failed = w
        .store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.outcome == Outcome::Failed)
        .expect("a failed entry");
    assert!(failed.reason.contains(api_says), "{}", failed.reason);

    // Abort (allowed when Degraded) puts everything back and says what is really there.
    w.sim.handle.clear_faults();
    let out = w.fd.run(&["abort", "web"]).await.expect(0);
    assert!(
        out.stdout.contains("cluster: stable 4, canary 0"),
        "{out:?}"
    );
    let r = release(w.store.as_ref()).await;
    assert_eq!((r.phase, r.applied), (Phase::Aborted, r.desired));
    let last = w
        .store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.outcome, Outcome::Applied);
    assert!(
        last.reason.contains("cluster: stable 4, canary 0"),
        "{}",
        last.reason
    );
}

const BAD_BODY: &str = r#"
  body: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {{ name }}
      namespace: {{ namespace }}
      labels: {{ labels | tojson }}
    spec: 5
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_spec_that_is_not_an_object_is_refused_and_others_go_on() {
    let w = world().await;
    // `templates apply` renders it for the groups using it, and refuses it.
    let bad_web = w.fd.file(
        "bad-web.yaml",
        &format!(
            "apiVersion: flightdeck/v1\nkind: Template\nmetadata: {{ name: web }}\nspec:{BAD_BODY}"
        ),
    );
    let out = w.fd.run(&["templates", "apply", "-f", &bad_web]).await;
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        said(&out).contains("spec is a number, not an object"),
        "{out:?}"
    );

    // One that got into the store anyway (written behind the controller's back): the
    // deploy is refused with the reason, and the engine goes on.
    let template: flightdeck::domain::Template = serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: Template\nmetadata: {{ name: bad }}\nspec:{BAD_BODY}"
    ))
    .unwrap();
    w.store.put_template(&template).await.unwrap();
    let group: flightdeck::domain::InstanceGroup = serde_norway::from_str(
        &GROUP
            .replace("name: web,", "name: api,")
            .replace("template: web", "template: bad"),
    )
    .unwrap();
    w.store.put_group(&group).await.unwrap();
    let out = w.fd.run(&["deploy", "api", "--tag", "1.0.0"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        said(&out).contains("spec is a number, not an object"),
        "{out:?}"
    );
    let out = w.fd.run(&["weight", "web", "50"]).await.expect(0);
    assert!(
        out.stdout.contains("cluster: stable 2, canary 2"),
        "{out:?}"
    );
}
