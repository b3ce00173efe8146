//! A watch that outlives etcd restarts: it remembers the revision after the last one it
//! delivered and, when the stream breaks, reconnects from exactly there with backoff —
//! so nothing is lost and nothing is delivered twice. A compacted start revision ends it
//! with `Compacted`, which the store turns into `Resync`.

use std::time::Duration;

use etcd_client::{Client, EventType, WatchOptions, WatchResponse};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use crate::store::backend::{Kv, RawEvent};

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// Events buffered for a slow consumer before the watch waits for it.
const BUFFER: usize = 1024;

pub(super) struct Watch {
    pub client: Client,
    /// Where a fresher client comes from when the store reconnects to other members.
    pub source: Option<std::sync::Weak<std::sync::RwLock<(Client, Client)>>>,
    /// The store prefix, stripped from every key delivered.
    pub prefix: String,
    /// What is watched: every key starting with this (the store prefix or a part of it).
    pub key: String,
    /// The first revision not yet delivered.
    pub next: i64,
    /// Log in again before reconnecting: etcd forgets tokens when it restarts.
    pub relogin: bool,
}

pub(super) fn spawn(w: Watch) -> BoxStream<'static, RawEvent> {
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(run(w, tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) }).boxed()
}

enum Ended {
    /// The consumer dropped the stream.
    Consumer,
    /// Compaction: delivered, the watch is over.
    Compacted,
    /// The connection or the server went away; reconnect.
    Broken(String),
}

async fn run(mut w: Watch, tx: mpsc::Sender<RawEvent>) {
    let mut backoff = BACKOFF_START;
    loop {
        let started = w.next;
        let outcome = tokio::select! {
            o = session(&mut w, &tx) => o,
            _ = tx.closed() => Ended::Consumer,
        };
        match outcome {
            Ended::Consumer | Ended::Compacted => return,
            Ended::Broken(why) => {
                if w.next > started {
                    backoff = BACKOFF_START;
                }
                tracing::info!(
                    "store watch broke ({why}); resuming from revision {} in {:?}",
                    w.next,
                    backoff
                );
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = tx.closed() => return,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                if w.relogin {
                    // Fails while etcd is down; the next attempt tries again.
                    let _ = w.client.refresh_token().await;
                }
            }
        }
    }
}

async fn session(w: &mut Watch, tx: &mpsc::Sender<RawEvent>) -> Ended {
    if let Some(fresh) = w.source.as_ref().and_then(|s| s.upgrade()) {
        w.client = fresh.read().unwrap_or_else(|p| p.into_inner()).1.clone();
    }
    let opts = WatchOptions::new()
        .with_prefix()
        .with_start_revision(w.next)
        .with_progress_notify();
    let mut stream = match w.client.watch(w.key.clone(), Some(opts)).await {
        Ok(s) => s,
        Err(e) => return Ended::Broken(e.to_string()),
    };
    loop {
        let resp = match stream.message().await {
            Ok(Some(r)) => r,
            Ok(None) => return Ended::Broken("stream closed".to_string()),
            Err(e) => return Ended::Broken(e.to_string()),
        };
        if resp.compact_revision() > 0 {
            let ev = RawEvent::Compacted {
                compact_revision: resp.compact_revision(),
            };
            let _ = tx.send(ev).await;
            return Ended::Compacted;
        }
        if resp.canceled() {
            return Ended::Broken(format!("watch canceled: {}", resp.cancel_reason()));
        }
        if let Err(ended) = deliver(w, &resp, tx).await {
            return ended;
        }
    }
}

async fn deliver(
    w: &mut Watch,
    resp: &WatchResponse,
    tx: &mpsc::Sender<RawEvent>,
) -> Result<(), Ended> {
    if resp.events().is_empty() && !resp.created() {
        // A progress notification: everything up to the header revision was sent, so a
        // reconnect may start after it (and will not hit a compaction of quiet history).
        if let Some(h) = resp.header() {
            w.next = w.next.max(h.revision() + 1);
        }
        return Ok(());
    }
    let mut last = None;
    for ev in resp.events() {
        let Some(kv) = ev.kv() else { continue };
        let rev = kv.mod_revision();
        // After a reconnect etcd starts at `next`; anything older was already delivered.
        if rev < w.next {
            continue;
        }
        let key = String::from_utf8_lossy(kv.key());
        let key = key.strip_prefix(&w.prefix).unwrap_or(&key).to_string();
        let raw = match ev.event_type() {
            EventType::Put => RawEvent::Put(Kv {
                key,
                value: kv.value().to_vec(),
                create_revision: kv.create_revision(),
                mod_revision: rev,
            }),
            EventType::Delete => RawEvent::Delete { key, revision: rev },
        };
        if tx.send(raw).await.is_err() {
            return Err(Ended::Consumer);
        }
        last = Some(rev);
    }
    // etcd never splits one revision's events across responses (no fragmenting asked),
    // so the revision after this response's last is where to resume.
    if let Some(rev) = last {
        w.next = rev + 1;
    }
    Ok(())
}
