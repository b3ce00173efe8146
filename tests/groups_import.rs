//! Adopting what already runs (issue 12 point 4): plain Deployments and a CronJob that
//! flightdeck never labelled, `groups import --dry-run` printing the files, `groups import`
//! adopting them through the controller with no pod restarted (the pods' UIDs and the
//! ReplicaSets unchanged), the audit entry, the groups listed, a deploy afterwards rolling
//! out the new tag, and the refusals — the release binary, a controller process, a real etcd
//! and the simulated cluster, read through kube-rs.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use flightdeck::domain::GroupKey;
use flightdeck::store::{AuditFilter, Scope};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::cli::*;
use support::world::World;
use support::{deployment, eventually};

fn cronjob(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {
            "schedule": "0 0 1 1 *",
            "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "task", "image": "registry.local/shop/sitemap:2.0"}]
            }}}}
        }
    })
}

/// Pod name → (uid, labels) of the namespace's pods.
async fn pods(client: &kube::Client) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    api.list(&ListParams::default())
        .await
        .expect("list pods")
        .items
        .into_iter()
        .map(|p| {
            let m = p.metadata;
            (
                m.name.unwrap_or_default(),
                (m.uid.unwrap_or_default(), m.labels.unwrap_or_default()),
            )
        })
        .collect()
}

/// ReplicaSet name → uid.
async fn replicasets(client: &kube::Client) -> BTreeMap<String, String> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), NAMESPACE);
    api.list(&ListParams::default())
        .await
        .expect("list replicasets")
        .items
        .into_iter()
        .map(|r| {
            (
                r.metadata.name.unwrap_or_default(),
                r.metadata.uid.unwrap_or_default(),
            )
        })
        .collect()
}

fn uids(p: &BTreeMap<String, (String, BTreeMap<String, String>)>) -> BTreeMap<String, String> {
    p.iter().map(|(n, (u, _))| (n.clone(), u.clone())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn running_deployments_are_adopted_without_a_restart_and_deploy_afterwards() {
    let w = World::builder()
        .objects(vec![
            deployment(NAMESPACE, "web", "registry.local/shop/web:1.4.2", 3),
            deployment(NAMESPACE, "api", "registry.local/shop/api:7.0", 2),
            cronjob("sitemap"),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
            deployment("other", "api", "registry.local/shop/api:7.0", 1),
        ])
        .controller()
        .start()
        .await;
    let fd = &w.fd;
    let client = w.sim.client().await;
    let before = eventually(30, "five pods in the shop", || {
        let client = client.clone();
        async move {
            let p = pods(&client).await;
            (p.len() == 5).then_some(p)
        }
    })
    .await;
    let sets = replicasets(&client).await;
    assert_eq!(sets.len(), 2, "{sets:?}");

    // The simulated API server keeps a Deployment's selector as a real one does.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let refused = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"selector": {"matchLabels": {"tier": "web"}}}})),
        )
        .await
        .expect_err("a selector change is refused");
    match refused {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422, "{s:?}");
            assert!(s.message.contains("field is immutable"), "{}", s.message);
        }
        e => panic!("expected a 422, got {e}"),
    }

    let p = fd.file("policy.yaml", &policy(&[&me(), "system:agent"], &[]));
    fd.run(&["policy", "apply", "-f", &p]).await.expect(0);
    fd.run(&["clusters", "add", "sim"]).await.expect(0);

    // Refusals: a cluster nobody registered, a selector that picks nothing.
    let out = fd
        .run(&["groups", "import", "--cluster", "prod", "-n", NAMESPACE])
        .await
        .expect(1);
    assert!(
        out.stderr.contains("cluster prod is not registered"),
        "{out:?}"
    );
    let out = fd
        .run(&[
            "groups",
            "import",
            "--cluster",
            "sim",
            "-n",
            NAMESPACE,
            "-l",
            "app=nothing",
        ])
        .await
        .expect(1);
    assert!(out.stderr.contains("nothing to adopt"), "{out:?}");

    // A deployer may deploy but not write templates and groups: refused.
    let as_deployer = json!({"apiVersion": "flightdeck/v1", "kind": "Policy", "bindings": [
        {"role": "deployer", "users": [me()]}, {"role": "admin", "users": ["system:agent"]}]});
    w.store.put_policy(&as_deployer).await.unwrap();
    let out = fd
        .run(&["groups", "import", "--cluster", "sim", "-n", NAMESPACE])
        .await
        .expect(1);
    assert!(out.stderr.contains("an import writes templates"), "{out:?}");
    let as_admin = serde_norway::from_str::<Value>(&policy(&[&me(), "system:agent"], &[])).unwrap();
    w.store.put_policy(&as_admin).await.unwrap();

    // The dry run prints files `templates apply` and `groups apply` take, and writes nothing.
    let out = fd
        .run(&[
            "groups",
            "import",
            "--cluster",
            "sim",
            "-n",
            NAMESPACE,
            "--dry-run",
        ])
        .await
        .expect(0);
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(&out.stdout)
        .map(|d| serde::Deserialize::deserialize(d).expect("a YAML document"))
        .collect();
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Template",
            "Template",
            "InstanceGroup",
            "InstanceGroup",
            "InstanceGroup"
        ],
        "{}",
        out.stdout
    );
    let group_names: Vec<&str> = docs[2..]
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(group_names, ["api", "web", "sitemap"]);
    // The two Deployments share one template; what differs is a parameter.
    assert_eq!(docs[2]["spec"]["template"], docs[3]["spec"]["template"]);
    assert_eq!(docs[3]["spec"]["params"]["tag"], json!("1.4.2"));
    assert_eq!(docs[4]["spec"]["kind"], json!("cron"));
    for d in &docs[..2] {
        serde_json::from_value::<flightdeck::domain::Template>(d.clone()).expect("a Template");
    }
    for d in &docs[2..] {
        let g: flightdeck::domain::InstanceGroup = serde_json::from_value(d.clone()).unwrap();
        flightdeck::controller::edits::check_group_shape(&g).expect("a group `groups apply` takes");
    }
    assert!(w.store.list_groups(&Scope::all()).await.unwrap().is_empty());

    // The import itself.
    let out = fd
        .run(&["groups", "import", "--cluster", "sim", "-n", NAMESPACE])
        .await
        .expect(0);
    assert!(out.stdout.contains("3 group(s) adopted"), "{out:?}");
    assert!(out.stdout.contains("3 running pod(s) labelled"), "{out:?}");

    // No pod restarted, no ReplicaSet made: the same UIDs, now labelled with their group.
    let web = GroupKey::new("sim", NAMESPACE, "web");
    eventually(20, "revision 1 recorded as applied", || {
        let store = w.store.clone();
        let web = web.clone();
        async move {
            let r = store.get_release(&web).await.ok()??.value;
            (r.applied == 1 && r.desired == 1).then_some(())
        }
    })
    .await;
    // Give the simulated controllers time to act on anything the apply might have changed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = pods(&client).await;
    assert_eq!(
        uids(&after),
        uids(&before),
        "a pod was replaced by the adoption"
    );
    assert_eq!(
        replicasets(&client).await,
        sets,
        "the adoption made a ReplicaSet"
    );
    for (name, (_, labels)) in &after {
        let group = if name.starts_with("web-") {
            "web"
        } else {
            "api"
        };
        assert_eq!(
            labels.get("flightdeck.dev/group").map(String::as_str),
            Some(group),
            "{name}"
        );
        assert_eq!(
            labels.get("flightdeck.dev/track").map(String::as_str),
            Some("stable")
        );
    }
    // As after a crash between commit and apply: the agent re-applies revision 1 by
    // itself (desired ≠ applied), and still no pod is replaced.
    let mut r = w.store.get_release(&web).await.unwrap().unwrap().value;
    r.applied = 0;
    let key = flightdeck::store::layout::release(&web);
    let (ok, _) = w
        .store
        .backend()
        .txn(
            vec![],
            vec![flightdeck::store::Write::Put(
                key,
                serde_json::to_vec(&r).unwrap(),
            )],
        )
        .await
        .unwrap();
    assert!(ok);
    eventually(30, "the agent's re-apply of revision 1", || {
        let store = w.store.clone();
        let web = web.clone();
        async move {
            let r = store.get_release(&web).await.ok()??.value;
            (r.applied == 1).then_some(())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        uids(&pods(&client).await),
        uids(&before),
        "the re-apply replaced a pod"
    );
    assert_eq!(
        replicasets(&client).await,
        sets,
        "the re-apply made a ReplicaSet"
    );

    // A pod the ReplicaSet makes after the adoption (one died) has only the team's labels
    // in its template until the first deploy: the controller labels it too, so the
    // consoles see it — and nothing else is replaced.
    let died = after
        .keys()
        .find(|n| n.starts_with("web-"))
        .unwrap()
        .clone();
    Api::<Pod>::namespaced(client.clone(), NAMESPACE)
        .delete(&died, &Default::default())
        .await
        .unwrap();
    let replacement = eventually(30, "the replacement pod labelled with its group", || {
        let client = client.clone();
        let before = before.clone();
        async move {
            let now = pods(&client).await;
            let new: Vec<_> = now
                .iter()
                .filter(|(n, _)| n.starts_with("web-") && !before.contains_key(*n))
                .collect();
            match new.as_slice() {
                [(name, (_, labels))]
                    if labels.get("flightdeck.dev/group").map(String::as_str) == Some("web") =>
                {
                    Some((*name).clone())
                }
                _ => None,
            }
        }
    })
    .await;
    let mut expected = uids(&before);
    expected.remove(&died);
    let mut now = uids(&pods(&client).await);
    now.remove(&replacement);
    now.remove(&died); // it may still be terminating
    assert_eq!(now, expected, "a pod other than the dead one was replaced");

    let d = deployments.get("web").await.unwrap();
    let labels = d.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("flightdeck.dev/group").map(String::as_str),
        Some("web")
    );
    let annotations = d.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get("flightdeck.dev/revision")
            .map(String::as_str),
        Some("1")
    );

    // Audited: the import as the asker, and the controller's re-apply of each revision 1.
    let audit = w.store.list_audit(&AuditFilter::default()).await.unwrap();
    let imports: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "groups.import")
        .collect();
    let outcomes: Vec<String> = imports.iter().map(|e| e.outcome.to_string()).collect();
    // The three refusals first, then the import.
    assert_eq!(
        outcomes,
        ["denied", "denied", "denied", "applied"],
        "{imports:#?}"
    );
    let import = imports[3];
    assert_eq!(import.user.name, me());
    assert!(
        import
            .reason
            .contains("web adopted (registry.local/shop/web:1.4.2)"),
        "{}",
        import.reason
    );
    let reapplied = audit
        .iter()
        .filter(|e| e.action == "reapply" && e.outcome.to_string() == "applied")
        .count();
    assert_eq!(reapplied, 4, "{audit:#?}");

    let list = fd.run(&["groups", "list"]).await.expect(0).stdout;
    for g in ["web", "api", "sitemap"] {
        assert!(list.contains(g), "{list}");
    }
    let status = fd.run(&["status", "web", "--json"]).await.expect(0).stdout;
    let s: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(s["release"]["phase"], json!("Stable"), "{status}");
    assert_eq!(s["stable_tag"], json!("1.4.2"), "{status}");
    assert_eq!(s["in_sync"], json!(true), "{status}");
    assert_eq!(s["strategy"], json!("rolling"), "{status}");

    // A console shows the adopted groups with their running pods (labelled in place).
    let console = w.console("import").start();
    let line_with = |screen: &str, group: &str, ready: &str| {
        screen.lines().any(|l| {
            l.split_whitespace().any(|c| c == group) && l.split_whitespace().any(|c| c == ready)
        })
    };
    console.wait_for(
        "web 3/3 and api 2/2 in the groups list",
        Duration::from_secs(30),
        |s| line_with(s, "web", "3/3") && line_with(s, "api", "2/2"),
    );
    console.send(&["q"]);
    drop(console);

    // Adopted once: a second import refuses, naming what is flightdeck's already.
    let out = fd
        .run(&["groups", "import", "--cluster", "sim", "-n", NAMESPACE])
        .await
        .expect(1);
    assert!(out.stderr.contains("already flightdeck's"), "{out:?}");

    // A group of that name exists already (applied, never deployed): nothing is adopted.
    let t = fd.file("template.yaml", TEMPLATE);
    fd.run(&["templates", "apply", "-f", &t]).await.expect(0);
    let api_group = GROUP
        .replace("name: web, app: shop", "name: api, app: shop")
        .replace("namespace: shop", "namespace: other");
    let g = fd.file("api.yaml", &api_group);
    fd.run(&["groups", "apply", "-f", &g]).await.expect(0);
    let out = fd
        .run(&["groups", "import", "--cluster", "sim", "-n", "other"])
        .await
        .expect(1);
    assert!(
        out.stderr.contains("group sim/other/api already exists"),
        "{out:?}"
    );
    assert!(
        w.store
            .get_template("imported-other-api")
            .await
            .unwrap()
            .is_none()
    );

    // A canary would be a second Deployment on the same selector: refused at apply.
    let mut g = serde_json::to_value(w.store.get_group(&web).await.unwrap().unwrap()).unwrap();
    g["spec"]["strategy"] = json!({"steps": [{"setWeight": 20}, {"pause": {}}]});
    let f = fd.file("canary.yaml", &g.to_string());
    let out = fd.run(&["groups", "apply", "-f", &f]).await.expect(2);
    assert!(
        out.stderr
            .contains("does not select by flightdeck.dev/track"),
        "{out:?}"
    );

    // The CronJob: labelled for its next Jobs, its schedule as it was; a deploy changes
    // its image from the next run on.
    let cronjobs: Api<CronJob> = Api::namespaced(client.clone(), NAMESPACE);
    let c = serde_json::to_value(cronjobs.get("sitemap").await.unwrap()).unwrap();
    assert_eq!(
        c["metadata"]["labels"]["flightdeck.dev/group"],
        json!("sitemap")
    );
    let job_pod = &c["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"];
    assert_eq!(job_pod["flightdeck.dev/group"], json!("sitemap"), "{c}");
    assert_eq!(c["spec"]["schedule"], json!("0 0 1 1 *"));
    fd.run(&["deploy", "sitemap", "--tag", "2.1"])
        .await
        .expect(0);
    let c = serde_json::to_value(cronjobs.get("sitemap").await.unwrap()).unwrap();
    assert_eq!(
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("registry.local/shop/sitemap:2.1"),
        "{c}"
    );

    // A deploy rolls out the new tag on the same selector; the new pods carry the labels.
    fd.run(&["deploy", "web", "--tag", "1.5.0"]).await.expect(0);
    eventually(60, "web's pods replaced by 1.5.0, labelled", || {
        let client = client.clone();
        async move {
            let api: Api<Pod> = Api::namespaced(client, NAMESPACE);
            let lp = ListParams::default().labels("app=web");
            let ps = api.list(&lp).await.ok()?.items;
            let new = ps
                .iter()
                .filter(|p| {
                    let image = p.spec.as_ref().map(|s| s.containers[0].image.clone());
                    image == Some(Some("registry.local/shop/web:1.5.0".into()))
                        && p.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get("flightdeck.dev/group"))
                            == Some(&"web".to_string())
                        && p.metadata.deletion_timestamp.is_none()
                })
                .count();
            (new == 3 && ps.len() == 3).then_some(())
        }
    })
    .await;
    let d = deployments.get("web").await.unwrap();
    assert_eq!(
        serde_json::to_value(&d.spec.unwrap().selector).unwrap(),
        json!({"matchLabels": {"app": "web"}})
    );
    // api was not touched by web's deploy.
    let now = pods(&client).await;
    for (name, uid) in uids(&before).iter().filter(|(n, _)| n.starts_with("api-")) {
        assert_eq!(now.get(name).map(|p| &p.0), Some(uid), "{name}");
    }
}
