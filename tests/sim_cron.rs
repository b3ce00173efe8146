//! The simulated cluster runs CronJobs and Jobs (issue 12 point 2): schedules on the
//! simulation's clock, Jobs to completion or to their backoff limit, suspend, concurrency
//! policies and history limits — read through kube-rs and the real `kubectl`.

mod support;

use flightdeck::sim::Scenario;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::{Sim, eventually};

const NS: &str = "default";

fn cronjob(name: &str, schedule: &str, image: &str, extra: Value) -> CronJob {
    let mut cj = json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"spec": {
                "backoffLimit": 1,
                "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "task", "image": image}]
                }}
            }}
        }
    });
    if let (Some(spec), Value::Object(more)) = (cj["spec"].as_object_mut(), extra) {
        spec.extend(more);
    }
    serde_json::from_value(cj).unwrap()
}

fn job(name: &str, image: &str) -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "backoffLimit": 1,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "task", "image": image}]
            }}
        }
    }))
    .unwrap()
}

/// Jobs owned by CronJob `name`, by name.
async fn jobs_of(api: &Api<Job>, name: &str) -> Vec<Job> {
    let mut jobs: Vec<Job> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "CronJob" && o.name == name)
        })
        .collect();
    jobs.sort_by_key(|j| j.metadata.name.clone());
    jobs
}

fn condition(j: &Job, kind: &str) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == kind && c.status == "True"))
}

/// A scenario whose Jobs run for `secs` seconds of simulated time.
fn scenario(secs: f64) -> Scenario {
    let mut s = Sim::sample_scenario();
    s.timings.job_run = secs;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cronjob_runs_on_schedule_to_completion_and_keeps_its_history() {
    // At time scale 0.05 a minute of schedule is 3 s; a job runs 0.5 s.
    let sim = Sim::start_with(scenario(10.0), vec![]).await;
    let client = sim.client().await;
    let cjs: Api<CronJob> = Api::namespaced(client.clone(), NS);
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    cjs.create(
        &PostParams::default(),
        &cronjob(
            "report",
            "* * * * *",
            "registry.local/report:1.0",
            json!({"successfulJobsHistoryLimit": 2}),
        ),
    )
    .await
    .unwrap();

    let first = eventually(15, "a scheduled Job completes", || async {
        jobs_of(&jobs, "report")
            .await
            .into_iter()
            .find(|j| condition(j, "Complete"))
    })
    .await;
    let name = first.metadata.name.clone().unwrap();
    // `<cronjob>-<minutes since the epoch>` with the scheduled time annotated.
    let minutes: i64 = name.strip_prefix("report-").unwrap().parse().unwrap();
    let annotations = first.metadata.annotations.clone().unwrap_or_default();
    let scheduled = &annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"];
    let at: jiff::Timestamp = scheduled.parse().unwrap();
    assert_eq!(at.as_second() / 60, minutes, "{scheduled}");
    let status = first.status.clone().unwrap();
    assert_eq!((status.succeeded, status.active), (Some(1), Some(0)));
    assert!(status.completion_time.is_some());
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let done = pods
        .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={name}")))
        .await
        .unwrap();
    assert_eq!(done.items.len(), 1);
    assert_eq!(
        done.items[0].status.as_ref().unwrap().phase.as_deref(),
        Some("Succeeded")
    );

    // More runs; only two finished Jobs are kept.
    eventually(30, "four runs, two kept", || async {
        let cj = cjs.get("report").await.ok()?;
        let st = cj.status?;
        let kept = jobs_of(&jobs, "report").await;
        let complete = kept.iter().filter(|j| condition(j, "Complete")).count();
        let first_gone = kept
            .iter()
            .all(|j| j.metadata.name.as_deref() != Some(&name));
        (st.last_successful_time.is_some() && complete == 2 && first_gone && kept.len() <= 3)
            .then_some(())
    })
    .await;

    // Suspended, it schedules nothing more.
    cjs.patch(
        "report",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = cjs
        .get("report")
        .await
        .unwrap()
        .status
        .unwrap()
        .last_schedule_time;
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let after = cjs
        .get("report")
        .await
        .unwrap()
        .status
        .unwrap()
        .last_schedule_time;
    assert_eq!(before, after, "a suspended CronJob was scheduled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_fail_at_their_backoff_limit_and_suspend_stops_their_pods() {
    let sim = Sim::start_with(scenario(1000.0), vec![]).await;
    let client = sim.client().await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);

    // A crashing image with restartPolicy Never: two pods fail (backoffLimit 1), then the
    // Job is Failed.
    jobs.create(
        &PostParams::default(),
        &job("broken", "registry.local/task:2.0-crash"),
    )
    .await
    .unwrap();
    let failed = eventually(20, "the Job failed", || async {
        let j = jobs.get("broken").await.ok()?;
        condition(&j, "Failed").then_some(j)
    })
    .await;
    let status = failed.status.unwrap();
    assert_eq!(status.failed, Some(2));
    let reason = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Failed")
        .and_then(|c| c.reason);
    assert_eq!(reason.as_deref(), Some("BackoffLimitExceeded"));

    // A long Job, suspended: its pod goes, and it says Suspended.
    jobs.create(
        &PostParams::default(),
        &job("long", "registry.local/task:2.0"),
    )
    .await
    .unwrap();
    let by_job = ListParams::default().labels("batch.kubernetes.io/job-name=long");
    eventually(10, "the long Job's pod runs", || async {
        let p = pods.list(&by_job).await.ok()?;
        p.items
            .iter()
            .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .then_some(())
    })
    .await;
    jobs.patch(
        "long",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    eventually(10, "the suspended Job has no pods", || async {
        let j = jobs.get("long").await.ok()?;
        let left = pods.list(&by_job).await.ok()?.items.len();
        (condition(&j, "Suspended") && left == 0 && j.status?.active == Some(0)).then_some(())
    })
    .await;

    // Deleting a Job (the console's "kill") takes its pods with it.
    jobs.patch(
        "long",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    eventually(10, "the resumed Job runs a pod again", || async {
        (!pods.list(&by_job).await.ok()?.items.is_empty()).then_some(())
    })
    .await;
    jobs.delete("long", &DeleteParams::default()).await.unwrap();
    eventually(10, "the killed Job's pods are gone", || async {
        pods.list(&by_job)
            .await
            .ok()?
            .items
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_skips_a_run_while_one_is_active() {
    let sim = Sim::start_with(scenario(1000.0), vec![]).await;
    let client = sim.client().await;
    let cjs: Api<CronJob> = Api::namespaced(client.clone(), NS);
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    cjs.create(
        &PostParams::default(),
        &cronjob(
            "sync",
            "* * * * *",
            "registry.local/sync:1.0",
            json!({"concurrencyPolicy": "Forbid"}),
        ),
    )
    .await
    .unwrap();
    eventually(10, "the first run", || async {
        (jobs_of(&jobs, "sync").await.len() == 1).then_some(())
    })
    .await;
    // Two more scheduled minutes pass (6 s); the first run still works, so none starts.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert_eq!(jobs_of(&jobs, "sync").await.len(), 1);
    let cj = cjs.get("sync").await.unwrap();
    assert_eq!(cj.status.unwrap().active.map(|a| a.len()), Some(1));
}

fn kubectl(sim: &Sim, args: &[&str]) -> (bool, String) {
    sim.kubectl(args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_cronjobs_and_triggers_a_job_from_one() {
    let sim = Sim::start_with(scenario(10.0), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cj.yaml");
    std::fs::write(
        &file,
        serde_json::to_string(&cronjob(
            "nightly",
            "0 3 * * *",
            "registry.local/nightly:4.1",
            json!({}),
        ))
        .unwrap(),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (ok, out) = kubectl(&sim, &["apply", "-f", f]);
    assert!(ok, "{out}");
    let (ok, out) = kubectl(&sim, &["get", "cronjobs"]);
    assert!(ok, "{out}");
    let row = out.lines().find(|l| l.starts_with("nightly")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[..6], ["nightly", "0", "3", "*", "*", "*"], "{out}");
    assert!(row.contains("false"), "{out}");
    assert!(row.contains("<none>"), "{out}");

    // A Job made from the CronJob's template, as `kubectl create job --from=cronjob/…`
    // (which sends protobuf the simulated cluster does not read) and the console's
    // trigger do; kubectl then follows it to completion.
    let client = sim.client().await;
    let cj = Api::<CronJob>::namespaced(client.clone(), NS)
        .get("nightly")
        .await
        .unwrap();
    let template = cj.spec.unwrap().job_template.spec.unwrap();
    let manual = Job {
        metadata: kube::api::ObjectMeta {
            name: Some("nightly-manual".into()),
            annotations: Some(
                [(
                    "cronjob.kubernetes.io/instantiate".to_string(),
                    "manual".to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(template),
        status: None,
    };
    Api::<Job>::namespaced(client, NS)
        .create(&PostParams::default(), &manual)
        .await
        .unwrap();
    eventually(15, "the triggered Job completes", || async {
        let (_, out) = kubectl(&sim, &["get", "jobs"]);
        out.lines()
            .any(|l| l.starts_with("nightly-manual") && l.contains("Complete") && l.contains("1/1"))
            .then_some(())
    })
    .await;
    let (ok, out) = kubectl(&sim, &["delete", "job", "nightly-manual"]);
    assert!(ok, "{out}");
    let (ok, out) = kubectl(&sim, &["get", "cj", "nightly", "-o", "wide"]);
    assert!(ok && out.contains("registry.local/nightly:4.1"), "{out}");

    // A broken schedule is refused like a real API server would.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        serde_json::to_string(&cronjob("broken", "61 * * * *", "x:1", json!({}))).unwrap(),
    )
    .unwrap();
    let (ok, out) = kubectl(&sim, &["apply", "-f", bad.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains("61 is outside 0-59"), "{out}");
}
