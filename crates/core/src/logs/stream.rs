//! Log streams through kube-rs: the group's pods are watched, each pod's containers are
//! read with `Api::<Pod>::log_stream`, and a stream that ends or fails while its pod lives
//! is opened again with back-off, from the last line seen, and the gap is reported. Results
//! go out as [`LogEvent`]s; the receiver owns the buffer.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use super::line::parse_raw;
use super::source::{LogOptions, LogSource};
use super::sources::Track;
use crate::domain::labels;

/// Lines sent in one message at most; a busy pod's lines travel in batches.
const BATCH: usize = 512;
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub enum LogEvent {
    /// A pod's container is being read. `initial` is false when the pod appeared after the
    /// view opened (the rollout created it).
    Joined {
        pod: String,
        container: String,
        track: Track,
        initial: bool,
    },
    /// Lines with their time (unix ns) when known; already safe to print.
    Lines {
        pod: String,
        container: String,
        lines: Vec<(Option<i64>, String)>,
    },
    /// The stream ended or failed and was opened again: lines may be missing.
    Restarted { pod: String, container: String },
    /// The pod was deleted.
    Gone { pod: String },
    /// Not following: every container has been read to the end.
    Finished,
    /// Reading failed; with `fatal` nothing more will come (not following, or the pod list
    /// itself failed).
    Failed { message: String, fatal: bool },
}

/// Running log streams; dropping it stops them.
pub struct LogStreams {
    task: JoinHandle<()>,
}

impl Drop for LogStreams {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn spawn_log_streams(
    client: Client,
    source: LogSource,
    tx: mpsc::Sender<LogEvent>,
) -> LogStreams {
    let api: Api<Pod> = Api::namespaced(client, &source.namespace);
    let task = if source.options.follow {
        tokio::spawn(follow_pods(api, source, tx))
    } else {
        tokio::spawn(read_once(api, source, tx))
    };
    LogStreams { task }
}

fn track_of(pod: &Pod) -> Track {
    Track::from_label(pod.labels().get(labels::TRACK).map(String::as_str))
}

/// The containers of `pod` to read, and whether each has anything to read yet.
fn containers(pod: &Pod, source: &LogSource) -> Vec<(String, bool)> {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    pod.spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|c| source.container.as_ref().is_none_or(|want| want == c))
        .map(|c| {
            let st = statuses.iter().find(|s| s.name == c);
            let readable = st.is_some_and(|s| {
                let last = s
                    .last_state
                    .as_ref()
                    .and_then(|l| l.terminated.as_ref())
                    .is_some();
                if source.options.previous {
                    return last;
                }
                let state = s.state.as_ref();
                state.is_some_and(|st| st.running.is_some() || st.terminated.is_some()) || last
            });
            (c, readable)
        })
        .collect()
}

async fn read_once(api: Api<Pod>, source: LogSource, tx: mpsc::Sender<LogEvent>) {
    let mut lp = ListParams::default().labels(&source.label_selector());
    if let Some(f) = source.field_selector() {
        lp = lp.fields(&f);
    }
    let pods = match api.list(&lp).await {
        Ok(l) => l.items,
        Err(e) => {
            let _ = tx
                .send(LogEvent::Failed {
                    message: format!("listing pods: {e}"),
                    fatal: true,
                })
                .await;
            return;
        }
    };
    for pod in &pods {
        let name = pod.name_any();
        for (container, readable) in containers(pod, &source) {
            let _ = tx
                .send(LogEvent::Joined {
                    pod: name.clone(),
                    container: container.clone(),
                    track: track_of(pod),
                    initial: true,
                })
                .await;
            if !readable {
                continue;
            }
            let mut reader = ContainerReader::new(
                api.clone(),
                name.clone(),
                container,
                source.options.clone(),
                tx.clone(),
            );
            if let Err(e) = reader.read().await {
                let _ = tx
                    .send(LogEvent::Failed {
                        message: format!("{name}: {e}"),
                        fatal: false,
                    })
                    .await;
            }
        }
    }
    let _ = tx.send(LogEvent::Finished).await;
}

async fn follow_pods(api: Api<Pod>, source: LogSource, tx: mpsc::Sender<LogEvent>) {
    let mut cfg = watcher::Config::default().labels(&source.label_selector());
    if let Some(f) = source.field_selector() {
        cfg = cfg.fields(&f);
    }
    let mut events = watcher::watcher(api.clone(), cfg).default_backoff().boxed();
    let mut readers: HashMap<(String, String), AbortHandle> = HashMap::new();
    let mut known: HashSet<String> = HashSet::new();
    let mut initial = true;
    let mut failing = false;
    // Readers run in a set so that dropping this task (the view closed) stops them all.
    let mut set = JoinSet::new();
    loop {
        let ev = tokio::select! {
            ev = events.try_next() => ev,
            Some(_) = set.join_next(), if !set.is_empty() => continue,
        };
        let ev = match ev {
            Ok(Some(ev)) => ev,
            Ok(None) => return,
            Err(e) => {
                if !failing {
                    failing = true;
                    let _ = tx
                        .send(LogEvent::Failed {
                            message: format!("watching pods: {e}"),
                            fatal: false,
                        })
                        .await;
                }
                continue;
            }
        };
        failing = false;
        match ev {
            Event::Init => {}
            Event::InitDone => initial = false,
            Event::Apply(pod) | Event::InitApply(pod) => {
                let name = pod.name_any();
                if pod.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let first_sight = known.insert(name.clone());
                for (container, readable) in containers(&pod, &source) {
                    let key = (name.clone(), container.clone());
                    if first_sight {
                        let _ = tx
                            .send(LogEvent::Joined {
                                pod: name.clone(),
                                container: container.clone(),
                                track: track_of(&pod),
                                initial,
                            })
                            .await;
                    }
                    if !readable || readers.get(&key).is_some_and(|h| !h.is_finished()) {
                        continue;
                    }
                    let reader = ContainerReader::new(
                        api.clone(),
                        name.clone(),
                        container,
                        source.options.clone(),
                        tx.clone(),
                    );
                    let handle = set.spawn(reader.follow());
                    readers.insert(key, handle);
                }
            }
            Event::Delete(pod) => {
                let name = pod.name_any();
                if known.remove(&name) {
                    readers.retain(|(p, _), h| {
                        if *p == name {
                            h.abort();
                        }
                        *p != name
                    });
                    let _ = tx.send(LogEvent::Gone { pod: name }).await;
                }
            }
        }
    }
}

/// Lines as bytes, whatever their encoding: invalid UTF-8 is replaced later, not fatal.
/// A line longer than this keeps its first bytes and says how many were cut: one
/// container printing a 100 MB line must not take the console's memory with it.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Lines of the stream, each at most [`MAX_LINE_BYTES`], with the number of bytes cut.
fn raw_lines(
    reader: impl futures::AsyncBufRead + Send + 'static,
) -> impl futures::Stream<Item = std::io::Result<(Vec<u8>, usize)>> + Send {
    futures::stream::unfold(Box::pin(reader), |mut r| async move {
        match read_capped(&mut r, MAX_LINE_BYTES).await {
            Ok(None) => None,
            Ok(Some(line)) => Some((Ok(line), r)),
            Err(e) => Some((Err(e), r)),
        }
    })
}

/// The next line (without its newline), keeping at most `max` bytes of it and counting
/// the rest; `None` at the end of the stream.
async fn read_capped<R: futures::AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<Option<(Vec<u8>, usize)>> {
    let mut line = Vec::with_capacity(160);
    let (mut seen, mut cut) = (0usize, 0usize);
    loop {
        let (used, done) = {
            let available = r.fill_buf().await?;
            if available.is_empty() {
                break;
            }
            let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            let keep = max.saturating_sub(line.len()).min(chunk.len());
            line.extend_from_slice(&chunk[..keep]);
            cut += chunk.len() - keep;
            (chunk.len() + usize::from(done), done)
        };
        r.consume_unpin(used);
        seen += used;
        if done {
            break;
        }
    }
    if seen == 0 {
        return Ok(None);
    }
    Ok(Some((line, cut)))
}

/// One container's log: read, and when following, read again after an end.
struct ContainerReader {
    api: Api<Pod>,
    pod: String,
    container: String,
    options: LogOptions,
    tx: mpsc::Sender<LogEvent>,
    /// Time of the newest line sent; a reopened stream starts there and skips up to it.
    last_ns: Option<i64>,
    /// A stream ended: the next line to arrive first reports the gap.
    gap: bool,
    opened: bool,
}

impl ContainerReader {
    fn new(
        api: Api<Pod>,
        pod: String,
        container: String,
        options: LogOptions,
        tx: mpsc::Sender<LogEvent>,
    ) -> Self {
        ContainerReader {
            api,
            pod,
            container,
            options,
            tx,
            last_ns: None,
            gap: false,
            opened: false,
        }
    }

    fn params(&self) -> LogParams {
        let mut lp = LogParams {
            container: Some(self.container.clone()),
            follow: self.options.follow,
            previous: self.options.previous,
            timestamps: true,
            ..LogParams::default()
        };
        match self.last_ns {
            Some(ns) => lp.since_time = jiff::Timestamp::from_nanosecond(i128::from(ns)).ok(),
            None if self.opened => {}
            None => {
                lp.tail_lines = self.options.tail;
                lp.since_seconds = self.options.since.map(|d| d.as_secs().max(1) as i64);
            }
        }
        lp
    }

    /// One stream to its end. Returns how many lines it delivered.
    async fn read(&mut self) -> Result<usize, kube::Error> {
        let lp = self.params();
        self.opened = true;
        let reader = self.api.log_stream(&self.pod, &lp).await?;
        let mut chunks = Box::pin(raw_lines(reader).ready_chunks(BATCH));
        let mut sent = 0;
        while let Some(chunk) = chunks.next().await {
            let mut lines = Vec::with_capacity(chunk.len());
            let mut failed = None;
            for raw in chunk {
                match raw {
                    Ok((raw, cut)) => {
                        let (t, mut text) = parse_raw(&raw, true);
                        if cut > 0 {
                            text.push_str(&format!(" … [{cut} more bytes cut]"));
                        }
                        if let (Some(t), Some(last)) = (t, self.last_ns)
                            && t <= last
                        {
                            continue;
                        }
                        if t.is_some() {
                            self.last_ns = t;
                        }
                        lines.push((t, text));
                    }
                    Err(e) => failed = Some(e),
                }
            }
            if !lines.is_empty() {
                if std::mem::take(&mut self.gap) {
                    let _ = self
                        .tx
                        .send(LogEvent::Restarted {
                            pod: self.pod.clone(),
                            container: self.container.clone(),
                        })
                        .await;
                }
                sent += lines.len();
                if self
                    .tx
                    .send(LogEvent::Lines {
                        pod: self.pod.clone(),
                        container: self.container.clone(),
                        lines,
                    })
                    .await
                    .is_err()
                {
                    return Ok(sent);
                }
            }
            if let Some(e) = failed {
                return Err(kube::Error::ReadEvents(e));
            }
        }
        Ok(sent)
    }

    async fn follow(mut self) {
        let mut backoff = BACKOFF_START;
        loop {
            match self.read().await {
                Ok(n) if n > 0 => backoff = BACKOFF_START,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(pod = %self.pod, container = %self.container, error = %e, "log stream failed")
                }
            }
            if self.tx.is_closed() {
                return;
            }
            self.gap = self.last_ns.is_some() || self.gap;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
            // A pod that is gone (or going) ends its stream for good; the watch reports it.
            match self.api.get_opt(&self.pod).await {
                Ok(None) => return,
                Ok(Some(p)) if p.metadata.deletion_timestamp.is_some() => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_huge_line_is_cut_and_says_so_and_the_next_line_is_whole() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\nnext\nlast without newline");
        let lines: Vec<(Vec<u8>, usize)> = raw_lines(futures::io::Cursor::new(input))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].0.len(), MAX_LINE_BYTES);
        assert_eq!(lines[0].1, 100_000 - MAX_LINE_BYTES);
        assert_eq!(lines[1], (b"next".to_vec(), 0));
        assert_eq!(lines[2], (b"last without newline".to_vec(), 0));
    }

    #[tokio::test]
    async fn empty_lines_are_lines() {
        let lines: Vec<(Vec<u8>, usize)> = raw_lines(futures::io::Cursor::new(b"\n\na\n".to_vec()))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(lines, vec![(vec![], 0), (vec![], 0), (b"a".to_vec(), 0)]);
    }
}
