//! The log viewer's state: the buffer and what of it is shown (follow or paused at a line,
//! search, filter, narrowing, columns), fed by [`LogEvent`]s. Drawing is in
//! `tui/views/logs.rs`; keys in `keys.rs`; saving in `save.rs`.

mod hook;
mod keys;
mod save;

use std::cell::Cell;

use tui_input::Input;

use crate::logs::line::{GONE, JOINED, RESTARTED};
use crate::logs::{
    BufferLimits, LogBuffer, LogEvent, LogLine, MatchIndex, Pattern, SourceTable, Track,
};
pub use keys::{LogKey, LogsOutcome};

/// Lines a frame may skip over looking for lines a narrowing lets through; beyond this the
/// view shows what it found rather than miss its frame.
const SCAN_LIMIT: usize = 200_000;

/// Which of the streamed sources are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Narrow {
    All,
    Track(Track),
    Pod(String),
    Container(String),
}

impl Narrow {
    pub fn label(&self) -> String {
        match self {
            Narrow::All => "all pods".into(),
            Narrow::Track(t) => format!("{} track", t.as_str()),
            Narrow::Pod(p) => format!("pod {p}"),
            Narrow::Container(c) => format!("container {c}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    SaveShown,
    SaveAll,
}

#[derive(Debug)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: Input,
}

pub struct LogsView {
    /// What the view reads, e.g. `shop/web`.
    pub title: String,
    pub(crate) buffer: LogBuffer,
    pub(crate) sources: SourceTable,
    pub(crate) search: Option<MatchIndex>,
    /// Show only lines the search matches.
    pub filter: bool,
    pub wrap: bool,
    pub timestamps: bool,
    pub pod_column: bool,
    pub narrow: Narrow,
    /// `None` follows the end; otherwise the newest line shown (paused).
    pub(crate) bottom: Option<u64>,
    /// Lines that arrived (and would be shown) since the view paused.
    pub waiting: u64,
    pub prompt: Option<Prompt>,
    /// The last thing the view has to say (saved, bad pattern, stream failing).
    pub notice: Option<String>,
    /// Not following: every container was read.
    pub finished: bool,
    /// Height of the lines area at the last draw, for paging.
    pub page: Cell<usize>,
}

impl LogsView {
    pub fn new(title: impl Into<String>, limits: BufferLimits) -> LogsView {
        LogsView {
            title: title.into(),
            buffer: LogBuffer::new(limits),
            sources: SourceTable::default(),
            search: None,
            filter: false,
            wrap: false,
            timestamps: false,
            pod_column: true,
            narrow: Narrow::All,
            bottom: None,
            waiting: 0,
            prompt: None,
            notice: None,
            finished: false,
            page: Cell::new(20),
        }
    }

    pub fn buffer(&self) -> &LogBuffer {
        &self.buffer
    }

    pub fn sources(&self) -> &SourceTable {
        &self.sources
    }

    pub fn following(&self) -> bool {
        self.bottom.is_none()
    }

    pub fn search(&self) -> Option<&Pattern> {
        self.search.as_ref().map(MatchIndex::pattern)
    }

    pub fn apply(&mut self, ev: LogEvent) {
        match ev {
            LogEvent::Joined {
                pod,
                container,
                track,
                initial,
            } => {
                let id = self.sources.intern(&pod, &container, track);
                if !initial {
                    self.push(LogLine::marker(id, None, JOINED));
                }
            }
            LogEvent::Lines {
                pod,
                container,
                lines,
            } => {
                let id = self.sources.intern(&pod, &container, Track::Other);
                for (t, text) in lines {
                    // The streams clean lines already; a view drawn on a terminal checks
                    // again (free when there is nothing to strip).
                    let text = crate::model::sanitize::clean(&text);
                    self.push(LogLine::log(id, t, text));
                }
            }
            LogEvent::Restarted { pod, container } => {
                let id = self.sources.intern(&pod, &container, Track::Other);
                self.push(LogLine::marker(id, None, RESTARTED));
            }
            LogEvent::Gone { pod } => {
                self.sources.mark_gone(&pod);
                if let Some(id) = self.sources.all().iter().position(|s| s.pod == pod) {
                    self.push(LogLine::marker(id as u32, None, GONE));
                }
            }
            LogEvent::Finished => self.finished = true,
            LogEvent::Failed { message, .. } => {
                self.notice = Some(crate::model::sanitize::clean(&message));
            }
        }
    }

    pub fn push(&mut self, line: LogLine) {
        let shown_while_paused = self.bottom.is_some() && self.shown(&line);
        let seq = self.buffer.push(line);
        if let Some(ix) = self.search.as_mut()
            && let Some(l) = self.buffer.get(seq)
        {
            ix.on_push(seq, l, &self.buffer);
        }
        if shown_while_paused {
            self.waiting += 1;
        }
    }

    /// Whether a line passes the narrowing and, when on, the filter.
    pub fn shown(&self, line: &LogLine) -> bool {
        let narrowed = match &self.narrow {
            Narrow::All => true,
            other => self.sources.get(line.source).is_some_and(|s| match other {
                Narrow::Track(t) => s.track == *t,
                Narrow::Pod(p) => s.pod == *p,
                Narrow::Container(c) => s.container == *c,
                Narrow::All => true,
            }),
        };
        narrowed
            && (!self.filter
                || self
                    .search
                    .as_ref()
                    .is_none_or(|ix| crate::logs::search::matches(ix.pattern(), line)))
    }

    fn shown_seq(&self, seq: u64) -> bool {
        self.buffer.get(seq).is_some_and(|l| self.shown(l))
    }

    /// Shown lines at or before `from` (newest first), at most `n`.
    pub fn shown_before(&self, from: u64, n: usize) -> Vec<u64> {
        let first = self.buffer.first_seq();
        let mut out = Vec::with_capacity(n);
        if from < first || n == 0 {
            return out;
        }
        let mut scanned = 0;
        if self.filter
            && let Some(ix) = &self.search
        {
            let end = ix.rank(from);
            for seq in ix.seqs().range(..end).rev() {
                scanned += 1;
                if self.shown_seq(*seq) {
                    out.push(*seq);
                    if out.len() == n {
                        break;
                    }
                }
                if scanned > SCAN_LIMIT {
                    break;
                }
            }
            return out;
        }
        let mut seq = from;
        loop {
            if self.shown_seq(seq) {
                out.push(seq);
                if out.len() == n {
                    break;
                }
            }
            scanned += 1;
            if seq == first || scanned > SCAN_LIMIT {
                break;
            }
            seq -= 1;
        }
        out
    }

    /// Shown lines after `from` (oldest first), at most `n`.
    fn shown_after(&self, from: u64, n: usize) -> Vec<u64> {
        let end = self.buffer.end_seq();
        let mut out = Vec::new();
        let mut seq = from + 1;
        let mut scanned = 0;
        while seq < end && out.len() < n && scanned <= SCAN_LIMIT {
            if self.shown_seq(seq) {
                out.push(seq);
            }
            seq += 1;
            scanned += 1;
        }
        out
    }

    /// The newest line on screen.
    pub fn bottom_seq(&self) -> Option<u64> {
        if self.buffer.is_empty() {
            return None;
        }
        let last = self.buffer.end_seq() - 1;
        let at = self
            .bottom
            .map_or(last, |b| b.clamp(self.buffer.first_seq(), last));
        self.shown_before(at, 1).first().copied()
    }

    /// Scroll towards older lines; this pauses the view.
    pub fn scroll_up(&mut self, n: usize) {
        let Some(bottom) = self.bottom_seq() else {
            return;
        };
        let older = self.shown_before(bottom, n + 1);
        let target = older.last().copied().unwrap_or(bottom);
        if self.bottom.is_none() {
            self.waiting = 0;
        }
        self.bottom = Some(target);
    }

    /// Scroll towards newer lines; reaching the end follows again.
    pub fn scroll_down(&mut self, n: usize) {
        let Some(b) = self.bottom else { return };
        let newer = self.shown_after(b, n);
        if newer.len() < n
            || newer
                .last()
                .is_some_and(|s| *s + 1 >= self.buffer.end_seq())
        {
            self.follow();
        } else if let Some(s) = newer.last() {
            self.waiting = self.waiting.saturating_sub(newer.len() as u64);
            self.bottom = Some(*s);
        }
    }

    pub fn follow(&mut self) {
        self.bottom = None;
        self.waiting = 0;
    }

    pub fn pause(&mut self) {
        if self.bottom.is_none() {
            self.bottom = self.bottom_seq();
            self.waiting = 0;
        }
    }

    pub fn top(&mut self) {
        self.pause();
        let first = self.buffer.first_seq();
        let oldest = self.shown_after(first.saturating_sub(1), 1);
        let oldest = if self.shown_seq(first) {
            Some(first)
        } else {
            oldest.first().copied()
        };
        if let Some(s) = oldest {
            // The bottom line is a page below the oldest, so the oldest is at the top.
            let page = self.page.get().max(1);
            let below = self.shown_after(s, page.saturating_sub(1));
            self.bottom = Some(below.last().copied().unwrap_or(s));
        }
    }

    /// Sets (or, with an empty pattern, clears) the search.
    pub fn set_search(&mut self, pattern: &str) {
        if pattern.is_empty() {
            self.search = None;
            self.filter = false;
            return;
        }
        match Pattern::new(pattern) {
            Ok(p) => {
                self.search = Some(MatchIndex::build(p, &self.buffer));
                self.notice = None;
                // From the end, the nearest match is above; from a paused place, below.
                self.jump_match(self.following());
            }
            Err(e) => self.notice = Some(e.to_string()),
        }
    }

    /// To the next match below the bottom line (`n`), or above it (`N`).
    pub fn jump_match(&mut self, backwards: bool) {
        let Some(ix) = &self.search else { return };
        let Some(bottom) = self.bottom_seq() else {
            return;
        };
        let seqs = ix.seqs();
        let rank = ix.rank(bottom);
        let found = if backwards {
            let start = if self.bottom.is_some() && ix.contains(bottom) {
                rank - 1
            } else {
                rank
            };
            seqs.range(..start).rev().copied().find(|s| self.is_hit(*s))
        } else if self.bottom.is_none() {
            None
        } else {
            seqs.range(rank..).copied().find(|s| self.is_hit(*s))
        };
        match found {
            Some(s) => {
                if self.bottom.is_none() {
                    self.waiting = 0;
                }
                self.bottom = Some(s);
            }
            None => self.notice = Some(format!("no more matches for /{}", ix.pattern().as_str())),
        }
    }

    /// A real match (not a marker) that the narrowing shows.
    fn is_hit(&self, seq: u64) -> bool {
        self.buffer
            .get(seq)
            .is_some_and(|l| l.kind == crate::logs::LineKind::Log && self.shown(l))
    }

    pub fn toggle_filter(&mut self) {
        if self.search.is_none() {
            self.notice =
                Some("filter shows the lines the search matches: search with / first".into());
            return;
        }
        self.filter = !self.filter;
    }

    /// Cycles all → canary → stable → all.
    pub fn cycle_track(&mut self) {
        self.narrow = match self.narrow {
            Narrow::Track(Track::Canary) => Narrow::Track(Track::Stable),
            Narrow::Track(Track::Stable) => Narrow::All,
            _ => Narrow::Track(Track::Canary),
        };
    }

    /// Cycles through the pods, then back to all.
    pub fn cycle_pod(&mut self) {
        let pods = self.sources.pods();
        self.narrow = next_of(&self.narrow, pods, Narrow::Pod, |n| match n {
            Narrow::Pod(p) => Some(p.as_str()),
            _ => None,
        });
    }

    pub fn cycle_container(&mut self) {
        let cs = self.sources.containers();
        self.narrow = next_of(&self.narrow, cs, Narrow::Container, |n| match n {
            Narrow::Container(c) => Some(c.as_str()),
            _ => None,
        });
    }
}

fn next_of(
    current: &Narrow,
    names: Vec<&str>,
    make: fn(String) -> Narrow,
    name_of: fn(&Narrow) -> Option<&str>,
) -> Narrow {
    let next = match name_of(current) {
        Some(cur) => names.iter().position(|n| *n == cur).map(|i| i + 1),
        None => Some(0),
    };
    match next.and_then(|i| names.get(i)) {
        Some(n) => make(n.to_string()),
        None => Narrow::All,
    }
}

#[cfg(test)]
mod tests;
