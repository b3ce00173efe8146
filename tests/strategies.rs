//! Blue-green and rolling releases end to end (issue 11 point 4): the release binary, a
//! controller in its own process, a real etcd and the simulated cluster, read through
//! kube-rs. The Services' selectors and the Deployments are what a user's traffic sees.

mod support;

use flightdeck::domain::{GroupKey, Phase, Release};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use support::cli::*;
use support::eventually;
use support::groups::*;
use support::world::World as Rig;

const TRACK: &str = "flightdeck.dev/track";

fn group_yaml(strategy: &str) -> String {
    web_group(4, &format!("  strategy: {strategy}\n"))
}

/// The shared rig with a controller, and the shop's `web` of `strategy`, deployed once.
struct World {
    w: Rig,
    client: kube::Client,
}

impl std::ops::Deref for World {
    type Target = Rig;
    fn deref(&self) -> &Rig {
        &self.w
    }
}

async fn world(strategy: &str) -> World {
    let w = Rig::builder().controller().start().await;
    w.apply_estate(SERVICE_TEMPLATE, Some(&group_yaml(strategy)))
        .await;
    w.fd.run(&["deploy", "web", "--tag", "1.0.0"])
        .await
        .expect(0);
    let client = w.sim.client().await;
    World { w, client }
}

impl World {
    async fn release(&self) -> Release {
        let key = GroupKey::new("sim", NAMESPACE, "web");
        self.store.get_release(&key).await.unwrap().unwrap().value
    }

    async fn get(&self, api_version: &str, kind: &str, name: &str) -> Option<Value> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), NAMESPACE, &ar);
        let o = api
            .get_opt(name)
            .await
            .unwrap_or_else(|e| panic!("{kind} {name}: {e}"))?;
        Some(serde_json::to_value(o).unwrap())
    }

    /// The track a Service selects (`None`: both).
    async fn selects(&self, service: &str) -> Option<String> {
        let s = self.get("v1", "Service", service).await?;
        s["spec"]["selector"][TRACK].as_str().map(str::to_string)
    }

    /// (image of the pod template, spec.replicas) of a Deployment.
    async fn deployment(&self, name: &str) -> (String, i64) {
        let d = self
            .get("apps/v1", "Deployment", name)
            .await
            .unwrap_or_else(|| panic!("no Deployment {name}"));
        (
            d["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .to_string(),
            d["spec"]["replicas"].as_i64().unwrap(),
        )
    }

    /// Runs `verb web` until the controller takes it (a preview still starting is refused).
    async fn until_taken(&self, args: &[&str]) -> Out {
        eventually(30, &format!("{args:?} taken"), || async {
            let out = self.fd.run(args).await;
            (out.code == 0).then_some(out)
        })
        .await
    }
}

const V1: &str = "registry.local/shop/web:1.0.0";
const V2: &str = "registry.local/shop/web:1.1.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_previews_switches_at_once_then_replaces_the_old_version() {
    let w = world("{ blueGreen: { scaleDownDelay: 2s } }").await;
    assert_eq!(w.selects("web").await.as_deref(), Some("stable"));

    let out =
        w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
            .await
            .expect(0);
    assert!(
        said(&out).contains("preview r2 on 4 pods behind web-preview, active stays on r1"),
        "{out:?}"
    );
    assert_eq!(w.deployment("web-canary").await, (V2.to_string(), 4));
    assert_eq!(w.deployment("web").await, (V1.to_string(), 4));
    assert_eq!(w.selects("web-preview").await.as_deref(), Some("canary"));
    assert_eq!(w.selects("web").await.as_deref(), Some("stable"));
    let preview = w.get("v1", "Service", "web-preview").await.unwrap();
    assert_eq!(preview["spec"]["ports"][0]["port"], 8080, "{preview}");

    let out = w.fd.run(&["weight", "web", "50"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(said(&out).contains("no weights"), "{out:?}");

    // Promote switches the active Service once the preview is ready.
    let out = w.until_taken(&["promote", "web"]).await;
    assert!(said(&out).contains("all traffic to r2"), "{out:?}");
    assert_eq!(w.selects("web").await.as_deref(), Some("canary"));
    assert_eq!(w.release().await.phase, Phase::Progressing);

    // After the scale-down delay the controller replaces the old version and, when every
    // pod of `web` runs r2, moves the active Service back to it and empties the preview.
    let r = eventually(
        60,
        "the release promoted by the controller and applied",
        || async {
            let r = w.release().await;
            (r.phase == Phase::Promoted && r.applied == r.desired).then_some(r)
        },
    )
    .await;
    assert_eq!((r.stable_revision, r.canary_revision), (2, None));
    assert_eq!(w.deployment("web").await, (V2.to_string(), 4));
    assert_eq!(w.selects("web").await.as_deref(), Some("stable"));
    assert_eq!(w.deployment("web-canary").await.1, 0);
    let d = w.get("apps/v1", "Deployment", "web").await.unwrap();
    assert_eq!(d["metadata"]["annotations"]["flightdeck.dev/revision"], "2");

    let filter = flightdeck::store::AuditFilter {
        group: Some(GroupKey::new("sim", NAMESPACE, "web")),
        ..Default::default()
    };
    let audit = w.store.list_audit(&filter).await.unwrap();
    let by_agent: Vec<_> = audit
        .iter()
        .filter(|e| e.user.name == "system:agent")
        .map(|e| e.reason.clone())
        .collect();
    assert!(
        by_agent
            .iter()
            .any(|r| r.contains("scale-down delay (2s) after the switch is over")),
        "{by_agent:?}"
    );
    assert!(
        by_agent
            .iter()
            .any(|r| r.contains("r2 runs on every pod of web")),
        "{by_agent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_abort_after_the_switch_goes_back_at_once() {
    let w = world("{ blueGreen: { scaleDownDelay: 10m } }").await;
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    w.until_taken(&["promote", "web"]).await;
    assert_eq!(w.selects("web").await.as_deref(), Some("canary"));
    // The old version is kept for the delay: still 4 pods of 1.0.0.
    assert_eq!(w.deployment("web").await, (V1.to_string(), 4));

    let out = w.fd.run(&["abort", "web"]).await.expect(0);
    assert!(
        said(&out).contains("active Service back on r1 at once"),
        "{out:?}"
    );
    // When the command returns, the traffic is back on the old version.
    assert_eq!(w.selects("web").await.as_deref(), Some("stable"));
    assert_eq!(w.deployment("web").await, (V1.to_string(), 4));
    assert_eq!(w.deployment("web-canary").await.1, 0);
    let r = w.release().await;
    assert_eq!((r.phase, r.stable_revision), (Phase::Aborted, 1));

    let out = w.fd.run(&["status", "web"]).await.expect(0);
    assert!(said(&out).contains("blueGreen"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_pauses_through_the_deployment_completes_and_aborts_to_the_previous_revision() {
    let w = world("{ rolling: {} }").await;
    let out =
        w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
            .await
            .expect(0);
    assert!(said(&out).contains("rolling onto web"), "{out:?}");
    assert!(w.get("apps/v1", "Deployment", "web-canary").await.is_none());
    assert_eq!(w.deployment("web").await, (V2.to_string(), 4));

    w.fd.run(&["pause", "web"]).await.expect(0);
    let d = w.get("apps/v1", "Deployment", "web").await.unwrap();
    assert_eq!(d["spec"]["paused"], true, "{d}");
    assert_eq!(w.release().await.phase, Phase::Paused);
    let out = w.fd.run(&["weight", "web", "10"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    w.fd.run(&["resume", "web"]).await.expect(0);
    let d = w.get("apps/v1", "Deployment", "web").await.unwrap();
    assert_eq!(d["spec"]["paused"], false, "{d}");

    let r = eventually(60, "the rollout promoted by the controller", || async {
        let r = w.release().await;
        (r.phase == Phase::Promoted).then_some(r)
    })
    .await;
    assert_eq!(r.stable_revision, 2);

    // Abort mid-rollout: the Deployment goes back to r2's pod template.
    w.fd.run(&["deploy", "web", "--tag", "1.2.0"])
        .await
        .expect(0);
    let out = w.fd.run(&["abort", "web"]).await.expect(0);
    assert!(said(&out).contains("web rolls back to r2"), "{out:?}");
    assert_eq!(w.deployment("web").await, (V2.to_string(), 4));
    let r = w.release().await;
    assert_eq!((r.phase, r.stable_revision), (Phase::Aborted, 2));
    eventually(60, "every pod of web back on 1.1.0", || async {
        let d = w.get("apps/v1", "Deployment", "web").await?;
        let s = &d["status"];
        (s["updatedReplicas"] == 4 && s["availableReplicas"] == 4 && s["replicas"] == 4)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strategy_the_engine_cannot_run_is_refused_when_the_group_is_applied() {
    let w = world("{ rolling: {} }").await;
    let worker = w.fd.file(
        "worker.yaml",
        include_str!("../assets/templates/worker.yaml"),
    );
    w.fd.run(&["templates", "apply", "-f", &worker])
        .await
        .expect(0);
    for (yaml, says) in [
        (
            group_yaml("{ blueGreen: {} }").replace("template: service", "template: worker"),
            "strategy blueGreen needs the template worker to render a Service named web",
        ),
        (
            group_yaml("{ blueGreen: {}, rolling: {} }"),
            "both blueGreen and rolling",
        ),
        (
            group_yaml("{ rolling: {}, traffic: { router: istio } }"),
            "does not use traffic.router istio",
        ),
        (
            group_yaml("{ blueGreen: {}, steps: [ { setWeight: 20 } ] }"),
            "not setWeight",
        ),
    ] {
        let f = w.fd.file("bad.yaml", &yaml);
        let out = w.fd.run(&["groups", "apply", "-f", &f]).await;
        assert_eq!(out.code, 2, "{out:?}");
        assert!(said(&out).contains(says), "{says:?} not in {out:?}");
        assert_eq!(said(&out).trim().lines().count(), 1, "{out:?}");
    }
    // Nothing changed: still a rolling group.
    let out = w.fd.run(&["status", "web"]).await.expect(0);
    assert!(said(&out).contains("Strategy:  rolling"), "{out:?}");

    // A release in flight keeps the strategy that reads its stages.
    w.fd.run(&["deploy", "web", "--tag", "1.1.0"])
        .await
        .expect(0);
    // Paused, so the controller does not finish the rollout under the test.
    w.fd.run(&["pause", "web"]).await.expect(0);
    let f = w.fd.file("bg.yaml", &group_yaml("{ blueGreen: {} }"));
    let out = w.fd.run(&["groups", "apply", "-f", &f]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        said(&out).contains(
            "cannot change the strategy from rolling to blueGreen while a release is in flight"
        ),
        "{out:?}"
    );
}
