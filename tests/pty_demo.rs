//! The whole binary in a real terminal: `flightdeck demo` shows the groups, a group's pods
//! and the crash-loop warning from the scenario, takes an action through its release
//! controller, and leaves the terminal as it found it.

mod support;

use std::time::Duration;

use support::tmux::{Tmux, flightdeck};

const START: Duration = Duration::from_secs(30);

fn demo(name: &str, cols: u16, rows: u16) -> Tmux {
    Tmux::start(
        name,
        cols,
        rows,
        &format!("{} demo", flightdeck().display()),
    )
}

/// The shell after the console: its exit code and whether the tty is back in canonical
/// (cooked) mode.
fn assert_terminal_restored(t: &Tmux, expected_exit: &str) {
    let screen = t.wait_text("EXIT=", Duration::from_secs(15));
    assert!(
        screen.contains(&format!("EXIT={expected_exit}")),
        "exit code; screen:\n{screen}"
    );
    let screen = t.wait_for("stty output", Duration::from_secs(5), |s| {
        s.contains("icanon")
    });
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "tty left in raw mode:\n{screen}"
    );
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    assert_eq!(t.display("#{cursor_flag}"), "1", "cursor left hidden");
    assert!(
        !screen.contains("checkout-web"),
        "console output left on the normal screen:\n{screen}"
    );
}

#[test]
fn demo_shows_groups_pods_and_crash_loop_warning_then_quits_cleanly() {
    let t = demo("journey", 160, 45);
    let screen = t.wait_for("all sample groups", START, |s| {
        ["user-info-grpc", "checkout-web", "search-indexer"]
            .iter()
            .all(|g| s.contains(g))
    });
    for app in ["user-info", "checkout", "search"] {
        assert!(screen.contains(app), "app heading {app} missing:\n{screen}");
    }
    assert!(
        screen.contains("2.8.0-crash"),
        "canary tag of checkout-web shown:\n{screen}"
    );

    t.send_text(":group checkout-web");
    t.send(&["Enter"]);
    let screen = t.wait_text("checkout-web-canary-", START);
    assert!(
        screen.contains("canary"),
        "pods carry their track:\n{screen}"
    );
    // The pod's status and the Warning event it causes: the event row (type, reason,
    // message) and the pod row are both on screen.
    let screen = t.wait_for("a crash-loop warning event", Duration::from_secs(60), |s| {
        s.lines().any(|l| {
            l.contains("Warning")
                && l.contains("BackOff")
                && l.contains("Back-off restarting failed container")
        }) && s.contains("CrashLoopBackOff")
    });
    assert!(
        screen.lines().any(|l| l.contains("checkout-web-canary-")
            && l.contains("canary")
            && l.contains("Error (exit 1)")),
        "the crash-looping canary pod shows its last termination:\n{screen}"
    );

    // An action goes to the demo's release controller over the request path, and its
    // answer comes back to the list: the canary's weight moves from 10% to 50%.
    t.send(&["w"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send_text("50");
    t.send(&["Enter"]);
    t.send(&["Escape"]);
    t.wait_text("2.8.0-crash 50%", Duration::from_secs(20));
    t.wait_text("search-indexer", Duration::from_secs(5));
    t.send(&["q"]);
    assert_terminal_restored(&t, "0");
}

#[test]
fn sigterm_restores_the_terminal() {
    let t = demo("sigterm", 120, 40);
    t.wait_text("checkout-web", START);
    let pid = t.program_pid().expect("flightdeck runs under the shell");
    unsafe_kill(pid, "TERM");
    assert_terminal_restored(&t, "0");
}

#[test]
fn a_small_terminal_gets_a_message_not_a_garbled_screen() {
    let t = demo("small", 120, 40);
    t.wait_text("checkout-web", START);
    t.resize(60, 20);
    let screen = t.wait_text("80×24", Duration::from_secs(10));
    assert!(screen.contains("60×20"), "says the current size:\n{screen}");
    assert!(
        !screen.contains("checkout-web"),
        "no table squeezed in:\n{screen}"
    );
    t.resize(120, 40);
    t.wait_text("checkout-web", Duration::from_secs(10));
    t.send_text(":q");
    t.send(&["Enter"]);
    assert_terminal_restored(&t, "0");
}

fn unsafe_kill(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn demo_with_three_clusters_watches_test_pre_and_prod_in_one_list() {
    let t = Tmux::start(
        "clusters",
        160,
        50,
        &format!("{} demo --clusters 3", flightdeck().display()),
    );
    let screen = t.wait_for("three clusters up", START, |s| {
        s.contains("clusters test up pre up prod up")
    });
    assert!(screen.contains("CLUSTER"), "{screen}");
    let rows: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("user-info-grpc"))
        .collect();
    // The same app in each environment, side by side, in the kubeconfig's order.
    assert_eq!(rows.len(), 3, "{screen}");
    for (row, cluster) in rows.iter().zip(["test", "pre", "prod"]) {
        assert!(row.contains(cluster), "{row}");
    }
    t.send(&["q"]);
    assert_terminal_restored(&t, "0");
}

#[test]
fn demo_refuses_more_clusters_than_it_has_names_for() {
    let out = std::process::Command::new(flightdeck())
        .args(["demo", "--clusters", "4"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--clusters"), "{err}");
}
