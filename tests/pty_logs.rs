//! The log viewer in a real terminal: a log line carrying escape sequences (a window-title
//! OSC, a clear-screen CSI, a bell) is drawn as plain text, and those bytes never reach the
//! terminal — checked on the raw bytes the binary writes (tmux pipe-pane).

mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use support::world::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_in_a_log_line_never_reach_the_terminal() {
    let w = World::builder()
        .demo(7, 2)
        .demo_admin("nobody")
        .start()
        .await;
    let console = w.console("logs").start();
    let raw = console.home().join("raw.bytes");
    console.tmux(&[
        "pipe-pane",
        "-o",
        "-t",
        "main",
        &format!("cat >> {}", raw.display()),
    ]);
    console.wait_text("search-indexer", Duration::from_secs(30));
    console.send_text(":group search-indexer");
    console.send(&["Enter"]);
    console.wait_text("search-indexer-", Duration::from_secs(20));
    console.send(&["l"]);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pods: Api<Pod> = Api::namespaced(w.sim.client().await, "search");
    let pod = pods
        .list(&ListParams::default().labels("flightdeck.dev/group=search-indexer"))
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("a search-indexer pod")
        .metadata
        .name
        .unwrap();
    let evil = b"evil-marker \x1b]0;pwned-title\x07 \x1b[2J\x1b[31mred\x1b[0m \x07bell \x9b31mc1";
    let start = Instant::now();
    loop {
        w.sim.handle.inject_log_line("search", &pod, None, evil);
        tokio::time::sleep(Duration::from_millis(500)).await;
        if console.screen().contains("evil-marker") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the line never showed:\n{}",
            console.screen()
        );
    }
    let screen = console.screen();
    let line = screen.lines().find(|l| l.contains("evil-marker")).unwrap();
    assert!(
        line.contains("red"),
        "the text survives, the sequences do not: {line}"
    );
    assert!(
        !line.contains("pwned-title"),
        "an OSC's payload is dropped with it: {line}"
    );

    console.send(&["q"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bytes = std::fs::read(&raw).expect("raw terminal bytes");
    assert!(
        bytes.windows(11).any(|w| w == b"evil-marker"),
        "the capture holds the line"
    );
    assert!(
        !bytes.windows(2).any(|w| w == b"\x1b]"),
        "no OSC sequence was written to the terminal"
    );
    assert!(
        !bytes.windows(11).any(|w| w == b"pwned-title"),
        "the title payload never reached the terminal"
    );
    assert!(!bytes.contains(&0x07), "no bell byte was written");
    assert!(
        !bytes.windows(4).any(|w| w == b"\x1b[2J"),
        "no clear-screen from the log line"
    );
}
