//! Issue 12 point 1: one console over three clusters (`test`, `pre`, `prod`, each its own
//! simulated API server with the same apps, one kubeconfig with a context each), the real
//! binary in tmux. Every cluster is watched at once, each with its own state in the header;
//! a tag goes from test to prod with `--tag-from`; `pre` stops answering and shows as down
//! while prod's changes still arrive; `:ctx` narrows and `:by cluster` groups.

mod support;

use std::time::Duration;

use flightdeck::domain::GroupKey;
use flightdeck::store::AuditFilter;
use support::cli::me;
use support::world::World;

const WAIT: Duration = Duration::from_secs(40);

/// The screen line of `group` in `cluster` (the list's CLUSTER column).
fn row<'a>(screen: &'a str, group: &str, cluster: &str) -> Option<&'a str> {
    screen.lines().find(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.contains(&group) && words.contains(&cluster)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clusters_in_one_console_and_one_down_holds_up_none_of_the_others() {
    let w = World::builder()
        .clusters(&["test", "pre", "prod"])
        .demo(7, 2)
        .demo_admin(&me())
        .controller()
        .start()
        .await;
    let console = w.console("clusters").size(160, 60).start();
    let screen = console.wait_for("every cluster up", WAIT, |s| {
        s.contains("clusters test up pre up prod up")
            && ["test", "pre", "prod"]
                .iter()
                .all(|c| row(s, "user-info-worker", c).is_some_and(|r| r.contains("3/3")))
    });
    assert!(screen.contains("CLUSTER"), "{screen}");

    // Test → prod: the tag test runs as stable, released in prod, with where it came from.
    let test_group = "test/user/user-info-worker";
    let prod_group = "prod/user/user-info-worker";
    w.fd.run(&[
        "deploy",
        test_group,
        "--tag",
        "master-9e1",
        "--reason",
        "T-1",
    ])
    .await
    .expect(0);
    w.fd.run(&["promote", test_group]).await.expect(0);

    // `pre` stops answering: it shows as down, and its groups are marked.
    w.more[0].handle.stop_api().await;
    let screen = console.wait_for("pre down", WAIT, |s| {
        s.contains("pre down") && s.contains("test up") && s.contains("prod up")
    });
    let pre_row = row(&screen, "user-info-worker", "pre").expect("pre's row stays listed");
    assert!(pre_row.contains('?'), "{pre_row}");
    assert!(
        !row(&screen, "user-info-worker", "prod")
            .unwrap()
            .contains('?')
    );

    // prod's changes still arrive while pre is down.
    w.fd.run(&[
        "deploy",
        prod_group,
        "--tag-from",
        test_group,
        "--reason",
        "CHG-7",
    ])
    .await
    .expect(0);
    console.wait_for("prod's canary in the list", WAIT, |s| {
        row(s, "user-info-worker", "prod").is_some_and(|r| r.contains("master-9e1 50%"))
    });
    let key = GroupKey::new("prod", "user", "user-info-worker");
    let entries = w
        .store
        .list_audit(&AuditFilter {
            group: Some(key),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(
        entries.iter().any(|e| e.action == "deploy"
            && e.reason
                .contains("tag master-9e1 from test/user/user-info-worker")),
        "{entries:#?}"
    );

    // `:ctx prod` narrows to prod; `:ctx all` and `:by cluster` group the list by cluster.
    console.send(&[":"]);
    console.send_text("ctx prod");
    console.send(&["Enter"]);
    let screen = console.wait_for("narrowed to prod", WAIT, |s| {
        s.contains("cluster prod") && !s.contains("CLUSTER")
    });
    assert!(screen.contains("cluster connected"), "{screen}");
    assert!(
        screen.contains("pre down"),
        "a cluster that is down is still said: {screen}"
    );
    assert!(
        screen.contains("instance groups 13 of 39"),
        "only prod's groups: {screen}"
    );
    console.send(&[":"]);
    console.send_text("ctx all");
    console.send(&["Enter"]);
    console.send(&[":"]);
    console.send_text("by cluster");
    console.send(&["Enter"]);
    let screen = console.wait_for("a heading per cluster", WAIT, |s| {
        s.lines().any(|l| {
            l.trim_start_matches(['│', ' ']).starts_with("pre ")
                && l.contains("groups")
                && l.contains("down")
        })
    });
    assert!(
        screen
            .lines()
            .any(|l| l.trim_start_matches(['│', ' ']).starts_with("prod ") && l.contains("up")),
        "{screen}"
    );

    // pre comes back: up again, its marks gone.
    w.more[0].handle.start_api().expect("listen again");
    console.wait_for("pre up again", Duration::from_secs(60), |s| {
        s.contains("clusters test up pre up prod up")
    });
}
