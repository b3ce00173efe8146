//! Figures for the startup benchmark (`cargo bench --bench console`): when
//! `FLIGHTDECK_BENCH_REPORT` names a file, the console writes there, on exit, the time from
//! process start to its first frame and to the first frame showing every group's status,
//! and each frame's render time. Nothing is recorded otherwise.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::model::Estate;

static PROCESS_START: OnceLock<Instant> = OnceLock::new();

/// Call first thing in `main`.
pub fn mark_process_start() {
    let _ = PROCESS_START.set(Instant::now());
}

pub struct BenchRecorder {
    path: Option<PathBuf>,
    first_frame: Option<Duration>,
    all_groups: Option<Duration>,
    renders_us: Vec<u64>,
    frames_us: Vec<u64>,
    /// Render times once every group's status is shown (after the initial load).
    steady_us: Vec<u64>,
}

impl BenchRecorder {
    pub fn from_env() -> Self {
        BenchRecorder {
            path: std::env::var_os("FLIGHTDECK_BENCH_REPORT").map(PathBuf::from),
            first_frame: None,
            all_groups: None,
            renders_us: Vec::new(),
            frames_us: Vec::new(),
            steady_us: Vec::new(),
        }
    }

    /// `render` is building the frame (the app's draw); `frame` adds the diff against the
    /// last frame and writing it to the terminal.
    pub fn frame(&mut self, render: Duration, frame: Duration, estate: &Estate) {
        if self.path.is_none() {
            return;
        }
        let since_start = PROCESS_START.get().map(|t| t.elapsed()).unwrap_or_default();
        self.first_frame.get_or_insert(since_start);
        if self.all_groups.is_none() && estate.group_count() > 0 && estate.all_groups_have_status()
        {
            self.all_groups = Some(since_start);
        }
        self.renders_us.push(render.as_micros() as u64);
        self.frames_us.push(frame.as_micros() as u64);
        if self.all_groups.is_some() {
            self.steady_us.push(render.as_micros() as u64);
        }
    }

    pub fn finish(&self) {
        let Some(path) = &self.path else { return };
        let report = serde_json::json!({
            "first_frame_ms": self.first_frame.map(|d| d.as_secs_f64() * 1e3),
            "all_groups_ms": self.all_groups.map(|d| d.as_secs_f64() * 1e3),
            "render_us": self.renders_us,
            "frame_us": self.frames_us,
            "steady_render_us": self.steady_us,
        });
        if let Err(e) = std::fs::write(path, report.to_string()) {
            tracing::warn!(error = %e, path = %path.display(), "cannot write bench report");
        }
    }
}
