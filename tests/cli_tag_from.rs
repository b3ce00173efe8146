//! `flightdeck deploy GROUP --tag-from OTHER` (issue 12 point 1, the tag promotion part):
//! the tag OTHER runs as stable is released in GROUP, through the controller, with where it
//! came from in the audit log; an OTHER that cannot give a tag is refused with nothing sent.

mod support;

use flightdeck::domain::GroupKey;
use flightdeck::store::AuditFilter;
use support::cli::*;
use support::world::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_takes_the_tag_that_runs_in_another_group() {
    let w = World::builder()
        .controller()
        .shop(&[&me(), "system:agent"], &[])
        .deploy("1.0.0")
        .start()
        .await;
    // `web` (the test environment) promotes 1.4.2; `web-prod` takes it from there.
    w.fd.run(&["deploy", "web", "--tag", "1.4.2"])
        .await
        .expect(0);
    w.fd.run(&["promote", "web"]).await.expect(0);
    let prod = GROUP.replace("name: web,", "name: web-prod,").replace(
        "steps: [ { setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} } ]",
        "steps: []",
    );
    let f = w.fd.file("prod.yaml", &prod);
    w.fd.run(&["groups", "apply", "-f", &f]).await.expect(0);
    // Never deployed: its first deploy comes from `web` too.
    let out =
        w.fd.run(&[
            "deploy",
            "web-prod",
            "--tag-from",
            "sim/shop/web",
            "--reason",
            "JIRA-9",
        ])
        .await
        .expect(0);
    assert!(said(&out).contains("1.4.2"), "{out:?}");
    let key = GroupKey::new("sim", NAMESPACE, "web-prod");
    let release = w.store.get_release(&key).await.unwrap().unwrap().value;
    let rev = w
        .store
        .get_revision(&key, release.stable_revision)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rev.params["tag"], "1.4.2");
    let audit = w
        .store
        .list_audit(&AuditFilter {
            group: Some(key.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let deploy = audit
        .iter()
        .find(|e| e.action == "deploy" && e.outcome.to_string() == "allowed")
        .expect("the deploy's audit entry");
    assert_eq!(
        deploy.reason, "JIRA-9; tag 1.4.2 from sim/shop/web (stable r2)",
        "{deploy:?}"
    );

    // A source with no tag to give, and a flag clash: refused before anything is asked.
    let f = w.fd.file(
        "empty.yaml",
        &GROUP.replace("name: web,", "name: web-empty,"),
    );
    w.fd.run(&["groups", "apply", "-f", &f]).await.expect(0);
    let out =
        w.fd.run(&["deploy", "web-prod", "--tag-from", "web-empty"])
            .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(said(&out).contains("has never been deployed"), "{out:?}");
    let out =
        w.fd.run(&["deploy", "web-prod", "--tag", "2.0.0", "--tag-from", "web"])
            .await;
    assert_eq!(out.code, 2, "{out:?}");
    let out =
        w.fd.run(&["deploy", "web-prod", "--tag-from", "nowhere"])
            .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(said(&out).contains("nowhere"), "{out:?}");
}
