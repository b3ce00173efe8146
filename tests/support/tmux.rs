//! Drives the real binary in a real pseudo-terminal through tmux: send keys, read the
//! screen back. Each session has its own tmux server socket, so tests never touch a user's
//! tmux and can run in parallel.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    pub home: tempfile::TempDir,
}

impl Tmux {
    /// Start `command` (a shell line) in a `cols`×`rows` terminal with a private HOME and
    /// XDG dirs.
    pub fn start(name: &str, cols: u16, rows: u16, command: &str) -> Tmux {
        let home = tempfile::tempdir().expect("temp home");
        let socket = format!("fd-{}-{}-{}", name, std::process::id(), rand_suffix());
        let t = Tmux { socket, home };
        let env = t.env_prefix();
        let status = Command::new("tmux")
            .args(["-L", &t.socket, "-f", "/dev/null", "new-session", "-d", "-s", "main"])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
            .arg(format!("{env} {command}; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 600"))
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        t
    }

    fn env_prefix(&self) -> String {
        let h = self.home.path().display();
        format!(
            "env HOME={h} XDG_CONFIG_HOME={h}/config XDG_STATE_HOME={h}/state TERM=xterm-256color COLORTERM= NO_COLOR= FLIGHTDECK_BENCH_REPORT=${{FLIGHTDECK_BENCH_REPORT:-}}"
        )
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys in tmux's notation: "q", "Enter", "Escape", "Down", "C-c", or literal text.
    pub fn send(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "main", k]);
        }
    }

    pub fn send_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "main", "-l", text]);
    }

    /// The screen as plain text.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "main"])
    }

    /// The screen with colours as escape sequences.
    pub fn screen_styled(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", "main"])
    }

    pub fn display(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "main", format])
            .trim()
            .to_string()
    }

    /// Wait until the screen satisfies `pred`; on timeout fail showing the screen.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn wait_text(&self, text: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{text:?}"), timeout, |s| s.contains(text))
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "main",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
    }

    /// The program's diagnostics (its log files in the private state dir), for failure messages.
    pub fn log(&self) -> String {
        let dir = self.home().join("state/flightdeck");
        let mut out = String::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().ends_with(".log") {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        out
    }

    /// PID of the program the shell started (the shell's child).
    pub fn program_pid(&self) -> Option<u32> {
        let shell: u32 = self.display("#{pane_pid}").parse().ok()?;
        let out = Command::new("pgrep")
            .args(["-P", &shell.to_string()])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn rand_suffix() -> u64 {
    use std::time::SystemTime;
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

/// The flightdeck binary under test (see [`super::cli::bin`]).
pub fn flightdeck() -> PathBuf {
    super::cli::bin()
}
