//! `flightdeck history` and `flightdeck diff` (issue 12, point 5) after three deploys, a
//! promote and an abort, with the release binary, a controller, a real etcd and the
//! simulated cluster.

mod support;

use support::cli::*;
use support::world::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_tells_how_each_revision_ended_and_diff_shows_what_changed() {
    let w = World::builder()
        .controller()
        .shop(&[&me(), "system:agent"], &[])
        .deploy("1.0.0")
        .deploy("1.1.0")
        .start()
        .await;
    w.fd.run(&["promote", "web"]).await.expect(0);
    w.fd.run(&["deploy", "web", "--tag", "1.2.0"])
        .await
        .expect(0);
    w.fd.run(&["abort", "web", "--reason", "p99 up"])
        .await
        .expect(0);

    let out = w.fd.run(&["history", "web"]).await.expect(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three revisions: {out:?}");
    let (r3, r2, r1) = (lines[1], lines[2], lines[3]);
    assert!(r3.starts_with("r3") && r3.contains("1.2.0"), "{r3}");
    assert!(r3.contains("tag 1.1.0→1.2.0"), "{r3}");
    assert!(r3.contains(&format!("aborted by {}", me())), "{r3}");
    assert!(r2.contains(&format!("promoted by {}", me())), "{r2}");
    assert!(r2.contains("(now)"), "r2 runs as stable now: {r2}");
    assert!(r1.starts_with("r1") && !r1.contains("(now)"), "{r1}");

    let out = w.fd.run(&["history", "web", "--json"]).await.expect(0);
    let h: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(h[0]["number"], 3);
    assert!(h[1]["stable_until"].is_null() && !h[1]["stable_from"].is_null());

    let out = w.fd.run(&["diff", "web", "3"]).await.expect(0);
    assert!(
        out.stdout.contains("--- r2") && out.stdout.contains("+++ r3"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("-")
            && out.stdout.contains("web:1.1.0")
            && out.stdout.contains("web:1.2.0"),
        "{out:?}"
    );
    let out = w.fd.run(&["diff", "web", "2", "2"]).await.expect(0);
    assert!(
        out.stdout.contains("r2 and r2 render the same objects"),
        "{out:?}"
    );
    let out = w.fd.run(&["diff", "web", "9"]).await.expect(2);
    assert!(out.stderr.contains("has no revision r9"), "{out:?}");
    let out = w.fd.run(&["history", "nosuch"]).await;
    assert_eq!(out.code, 2, "{out:?}");
}
