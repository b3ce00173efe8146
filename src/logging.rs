//! Diagnostics go to a rolling file in the XDG state dir, never to the terminal the console
//! draws on. The directory is 0700 and the process umask makes the files 0600: logs can
//! name clusters, groups and users.

use std::path::PathBuf;

use anyhow::Context;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Log lines queued for the writer thread.
const LOG_QUEUE_LINES: usize = 4_096;

/// `$XDG_STATE_HOME/flightdeck`, else `~/.local/state/flightdeck`.
pub fn state_dir() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state")
}

/// `$XDG_CONFIG_HOME/flightdeck`, else `~/.config/flightdeck`.
pub fn config_dir() -> PathBuf {
    xdg_dir("XDG_CONFIG_HOME", ".config")
}

fn xdg_dir(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("flightdeck"),
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp"));
            home.join(fallback).join("flightdeck")
        }
    }
}

/// Start logging at `level` (an EnvFilter expression such as `info` or
/// `flightdeck=debug,kube=info`). Keep the guard alive until exit so the last lines land.
pub fn init(level: &str) -> anyhow::Result<WorkerGuard> {
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let dir = state_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create log directory {}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("flightdeck")
        .filename_suffix("log")
        .max_log_files(7)
        .build(&dir)
        .with_context(|| format!("cannot open a log file in {}", dir.display()))?;
    // The default queue is 128,000 lines, allocated up front (4 MB of a console's memory);
    // a few thousand carry any burst we log, and past them lines are dropped, not waited on.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(appender);
    let filter = EnvFilter::try_new(level).with_context(|| format!("bad --log-level {level:?}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}
