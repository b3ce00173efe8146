//! Cron groups end to end (issue 12 point 2, command line and controller): a template
//! that renders a CronJob, deploy, trigger, suspend/resume, kill, and the rule for a
//! deploy while a Job runs (`concurrency: forbid | wait | replace`) — the release binary,
//! a controller process, a real etcd and the simulated cluster, read through kube-rs.

mod support;

use flightdeck::domain::{GroupKey, Phase, Release};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::Api;
use support::cli::*;
use support::groups::*;
use support::world::World as Rig;
use support::{Sim, eventually};

fn group_yaml(concurrency: &str) -> String {
    shop_group(
        "report",
        "cron",
        r#"schedule: "0 0 1 1 *""#,
        &format!("  kind: cron\n  concurrency: {concurrency}\n"),
    )
}

/// The shared rig with a controller, the policy, the cluster and the cron template.
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

impl World {
    async fn start() -> World {
        // Jobs run for 50 s here: long enough to deploy over them.
        let mut scenario = Sim::sample_scenario();
        scenario.timings.job_run = 1000.0;
        let w = Rig::builder().scenario(scenario).controller().start().await;
        w.apply_estate(CRON_TEMPLATE, None).await;
        let client = w.sim.client().await;
        World { w, client }
    }

    async fn apply_group(&self, concurrency: &str) {
        let g = self.fd.file("group.yaml", &group_yaml(concurrency));
        self.fd.run(&["groups", "apply", "-f", &g]).await.expect(0);
    }

    async fn release(&self) -> Release {
        let key = GroupKey::new("sim", NAMESPACE, "report");
        self.store.get_release(&key).await.unwrap().unwrap().value
    }

    async fn cronjob(&self) -> CronJob {
        Api::<CronJob>::namespaced(self.client.clone(), NAMESPACE)
            .get("report")
            .await
            .unwrap()
    }

    async fn image(&self) -> String {
        let cj = self.cronjob().await;
        let pod = cj
            .spec
            .unwrap()
            .job_template
            .spec
            .unwrap()
            .template
            .spec
            .unwrap();
        pod.containers[0].image.clone().unwrap()
    }

    /// Names of the Jobs that have not finished.
    async fn running(&self) -> Vec<String> {
        let jobs = Api::<Job>::namespaced(self.client.clone(), NAMESPACE)
            .list(&Default::default())
            .await
            .unwrap();
        jobs.items
            .into_iter()
            .filter(|j| {
                !j.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.status == "True"))
            })
            .filter_map(|j| j.metadata.name)
            .collect()
    }

    async fn trigger(&self) -> String {
        let out = self.fd.run(&["trigger", "report"]).await.expect(0);
        assert!(said(&out).contains("Job report-manual-"), "{out:?}");
        eventually(10, "the triggered Job runs", || async {
            self.running().await.into_iter().next()
        })
        .await
    }
}

const IMAGE: &str = "registry.local/shop/report";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_group_is_deployed_triggered_suspended_and_its_job_killed() {
    let w = World::start().await;
    w.apply_group("forbid").await;
    w.fd.run(&["deploy", "report", "--tag", "1.0.0"])
        .await
        .expect(0);
    assert_eq!(w.image().await, format!("{IMAGE}:1.0.0"));

    // A canary's verbs mean nothing here, and say so.
    let out = w.fd.run(&["weight", "report", "10"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(said(&out).contains("report is a cron group"), "{out:?}");

    // Trigger: a Job from the CronJob's template, owned by it.
    let job = w.trigger().await;
    assert!(job.starts_with("report-manual-"), "{job}");
    let j = Api::<Job>::namespaced(w.client.clone(), NAMESPACE)
        .get(&job)
        .await
        .unwrap();
    let owner = &j.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("CronJob", "report")
    );

    // forbid: a deploy over a running Job is refused, nothing changes.
    let out = w.fd.run(&["deploy", "report", "--tag", "1.1.0"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        said(&out).contains(&format!("Job {job} (running")),
        "{out:?}"
    );
    assert!(said(&out).contains("wait for it, kill it"), "{out:?}");
    assert_eq!(w.image().await, format!("{IMAGE}:1.0.0"));

    // kill: the Job and its pods go.
    let out = w.fd.run(&["kill", "report"]).await.expect(0);
    assert!(said(&out).contains(&format!("killed Job {job}")), "{out:?}");
    eventually(10, "no Job runs", || async {
        w.running().await.is_empty().then_some(())
    })
    .await;
    let out = w.fd.run(&["kill", "report"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        said(&out).contains("no Job of report is running"),
        "{out:?}"
    );

    w.fd.run(&["deploy", "report", "--tag", "1.1.0"])
        .await
        .expect(0);
    assert_eq!(w.image().await, format!("{IMAGE}:1.1.0"));

    // suspend / resume set spec.suspend, once each.
    w.fd.run(&["suspend", "report"]).await.expect(0);
    assert_eq!(w.cronjob().await.spec.unwrap().suspend, Some(true));
    assert!(w.release().await.suspended);
    let out = w.fd.run(&["suspend", "report"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    // A deploy keeps it suspended.
    w.fd.run(&["deploy", "report", "--tag", "1.1.1"])
        .await
        .expect(0);
    assert_eq!(w.cronjob().await.spec.unwrap().suspend, Some(true));
    w.fd.run(&["resume", "report"]).await.expect(0);
    assert_eq!(w.cronjob().await.spec.unwrap().suspend, Some(false));

    // A trigger the cluster refuses (the CronJob was deleted by hand) fails on its own: the
    // release is not Degraded and has nothing to re-apply.
    Api::<CronJob>::namespaced(w.client.clone(), NAMESPACE)
        .delete("report", &Default::default())
        .await
        .unwrap();
    let out = w.fd.run(&["trigger", "report"]).await;
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        said(&out).contains("does not exist; deploy the group first"),
        "{out:?}"
    );
    let r = w.release().await;
    assert_eq!((r.phase, r.applied), (Phase::Promoted, r.desired), "{r:?}");

    // Every one of these is in the audit log, refusals too (outcome denied).
    let actions: Vec<(String, String)> = {
        let filter = flightdeck::store::AuditFilter {
            group: Some(GroupKey::new("sim", NAMESPACE, "report")),
            ..Default::default()
        };
        w.store
            .list_audit(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.outcome.to_string()))
            .collect()
    };
    for (action, outcome) in [
        ("trigger", "applied"),
        ("deploy", "denied"),
        ("kill", "applied"),
        ("kill", "denied"),
        ("suspend", "applied"),
        ("suspend", "denied"),
        ("resume", "applied"),
    ] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == outcome),
            "{action} {outcome} not in {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_over_a_running_job_waits_or_replaces_as_the_group_says() {
    let w = World::start().await;
    w.apply_group("wait").await;
    w.fd.run(&["deploy", "report", "--tag", "1.0.0"])
        .await
        .expect(0);

    // wait: the deploy is held until no Job runs, then the controller applies it.
    let job = w.trigger().await;
    let out =
        w.fd.run(&["deploy", "report", "--tag", "1.1.0"])
            .await
            .expect(0);
    assert!(said(&out).contains("waits"), "{out:?}");
    assert_eq!(w.release().await.phase, Phase::Progressing);
    assert_eq!(w.image().await, format!("{IMAGE}:1.0.0"));
    assert_eq!(w.running().await, vec![job.clone()], "the Job was cut off");
    // The waiting release is read as a cron group's: the group cannot stop being one now.
    let service = group_yaml("wait").replace(
        "  kind: cron
  concurrency: wait
",
        "",
    );
    let f = w.fd.file("service.yaml", &service);
    let out = w.fd.run(&["groups", "apply", "-f", &f]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        said(&out).contains(
            "cannot change the strategy from kind cron to canary while a release is in flight"
        ),
        "{out:?}"
    );
    w.fd.run(&["kill", "report", "--job", &job]).await.expect(0);
    let r = eventually(
        20,
        "the waiting deploy applied by the controller",
        || async {
            let r = w.release().await;
            (r.phase == Phase::Promoted && r.applied == r.desired).then_some(r)
        },
    )
    .await;
    assert_eq!(r.stable_revision, 2);
    assert_eq!(w.image().await, format!("{IMAGE}:1.1.0"));

    // replace: the running Job goes first.
    w.apply_group("replace").await;
    let job = w.trigger().await;
    let out =
        w.fd.run(&["deploy", "report", "--tag", "1.2.0"])
            .await
            .expect(0);
    assert!(
        said(&out).contains(&format!("replaced Job {job}")),
        "{out:?}"
    );
    assert_eq!(w.image().await, format!("{IMAGE}:1.2.0"));
    eventually(10, "the replaced Job is gone", || async {
        (!w.running().await.contains(&job)).then_some(())
    })
    .await;

    // A cron group takes no strategy.
    let bad = group_yaml("wait").replace(
        "  kind: cron\n",
        "  kind: cron\n  strategy: { rolling: {} }\n",
    );
    let f = w.fd.file("bad.yaml", &bad);
    let out = w.fd.run(&["groups", "apply", "-f", &f]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        said(&out).contains("a cron group has no strategy"),
        "{out:?}"
    );
}
