//! Figures for the startup benchmark (`cargo bench --bench console`): when
//! `FLIGHTDECK_BENCH_REPORT` names a file, the console writes there, on exit, the time from
//! process start to its first frame, to the first frame with pod data, to the first frame
//! with every namespace's pods and to the first frame showing every group's status; each
//! frame's render time; and for each key, the time from reading it to the end of writing
//! the frame that shows it (`cargo bench --bench latency`). Nothing is recorded otherwise.

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
    first_pods: Option<Duration>,
    all_pods: Option<Duration>,
    /// Keys read and not yet shown in a frame.
    keys_waiting: Vec<Instant>,
    keys_us: Vec<u64>,
    loaded_marked: bool,
    renders_us: Vec<u64>,
    frames_us: Vec<u64>,
    /// Render times once every group's status is shown (after the initial load).
    steady_us: Vec<u64>,
}

impl BenchRecorder {
    pub fn from_env() -> Self {
        BenchRecorder {
            // Set but empty (the pty tests pass it through that way) is unset.
            path: std::env::var_os("FLIGHTDECK_BENCH_REPORT")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            first_frame: None,
            all_groups: None,
            first_pods: None,
            all_pods: None,
            keys_waiting: Vec::new(),
            keys_us: Vec::new(),
            loaded_marked: false,
            renders_us: Vec::new(),
            frames_us: Vec::new(),
            steady_us: Vec::new(),
        }
    }

    /// A key was read from the terminal; the next frame shows what it did.
    pub fn key(&mut self) {
        if self.path.is_some() {
            self.keys_waiting.push(Instant::now());
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
        if self.first_pods.is_none() && estate.has_pods() {
            self.first_pods = Some(since_start);
        }
        if self.all_pods.is_none() && estate.group_count() > 0 && estate.all_pods_listed() {
            self.all_pods = Some(since_start);
        }
        if self.all_pods.is_some() && self.all_groups.is_some() && !self.loaded_marked {
            self.loaded_marked = true;
            self.mark_loaded();
        }
        self.keys_us.extend(
            self.keys_waiting
                .drain(..)
                .map(|t| t.elapsed().as_micros() as u64),
        );
        self.renders_us.push(render.as_micros() as u64);
        self.frames_us.push(frame.as_micros() as u64);
        if self.all_groups.is_some() {
            self.steady_us.push(render.as_micros() as u64);
        }
    }

    /// Tells the benchmark that every namespace's pods and every group's status are on
    /// screen: an empty file beside the report, `<report>.loaded`.
    fn mark_loaded(&self) {
        let Some(path) = &self.path else { return };
        let mut marker = path.clone().into_os_string();
        marker.push(".loaded");
        if let Err(e) = std::fs::write(&marker, b"") {
            tracing::warn!(error = %e, "cannot write bench marker");
        }
    }

    pub fn finish(&self) {
        let Some(path) = &self.path else { return };
        let report = serde_json::json!({
            "first_frame_ms": self.first_frame.map(|d| d.as_secs_f64() * 1e3),
            "all_groups_ms": self.all_groups.map(|d| d.as_secs_f64() * 1e3),
            "first_pods_ms": self.first_pods.map(|d| d.as_secs_f64() * 1e3),
            "all_pods_ms": self.all_pods.map(|d| d.as_secs_f64() * 1e3),
            "key_to_frame_us": self.keys_us,
            "render_us": self.renders_us,
            "frame_us": self.frames_us,
            "steady_render_us": self.steady_us,
        });
        // Whole or not at all: the benchmark reads it as soon as it exists.
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        let written = std::fs::write(&partial, report.to_string())
            .and_then(|()| std::fs::rename(&partial, path));
        if let Err(e) = written {
            tracing::warn!(error = %e, path = %path.display(), "cannot write bench report");
        }
    }
}
