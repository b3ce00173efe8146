//! Diagnostics go to a private file in the XDG state dir, never to the terminal.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn diagnostics_go_to_a_0600_file_in_the_state_dir_not_to_stdout() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let kubeconfig = home.path().join("kc");
    let child = Command::new(env!("CARGO_BIN_EXE_flightdeck"))
        .args(["sim", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .args(["--log-level", "debug"])
        .env("XDG_STATE_HOME", &state)
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !kubeconfig.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    unsafe_kill(child.id());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert_eq!(
        std::fs::metadata(&kubeconfig).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let dir = state.join("flightdeck");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let log = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            e.file_name().to_string_lossy().starts_with("flightdeck")
                && e.file_name().to_string_lossy().ends_with(".log")
        })
        .expect("a log file in the state dir");
    assert_eq!(
        log.metadata().unwrap().permissions().mode() & 0o777,
        0o600,
        "log file is private"
    );
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        text.contains("INFO") || text.contains("DEBUG"),
        "the log has lines: {text}"
    );
    assert!(
        !stdout.contains("INFO") && !stdout.contains("DEBUG"),
        "no diagnostics on stdout: {stdout}"
    );
    assert!(
        !stderr.contains("INFO") && !stderr.contains("DEBUG"),
        "no diagnostics on stderr: {stderr}"
    );
    assert!(
        stdout.contains("simulated cluster on http://127.0.0.1:"),
        "the one line sim prints: {stdout}"
    );
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}
