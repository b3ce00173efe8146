//! The registry feed: while a group with a `registration:` is open, lists and watches its
//! service's keys (`<prefix>/<service>/`) in the service registry and sends the console
//! the instances ([`Update::Instances`]), a burst of changes folded into one update. When
//! another group opens, the watch starts again on its prefix; when none is open, nothing
//! is read. A registry that cannot be reached or read (a console without read rights on
//! those keys) is one line in the tab, retried with back-off — never a failed console.
//!
//! Keys and values are someone else's: [`Instance::parse`] reads and cleans them, keys
//! not directly under the prefix are skipped, and at most [`MAX_INSTANCES`] are held.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::app::instances::InstancesAsk;
use super::feeds::supervise;
use crate::domain::registration::Instance;
use crate::model::Update;
use crate::model::sanitize::clean;
use crate::store::{RawEvent, Registry, StoreConfig, connect_registry};

/// Instances held for one service; keys beyond are counted, not kept.
pub const MAX_INSTANCES: usize = 5_000;
/// Changes within this long after the first are sent as one update.
const DEBOUNCE: Duration = Duration::from_millis(150);
/// How long connecting to the registry may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where the console's registry comes from.
#[derive(Clone)]
pub enum RegistrySource {
    /// One the process already holds (the demo's in-memory registry, shared with what
    /// else the demo runs).
    Shared(Arc<dyn Registry>),
    /// The registry beside this store (`connect_registry`), connected when first needed.
    Connect(StoreConfig),
}

/// Follows what the console's open group asks for (`asks`) and sends its instances.
pub fn spawn_registry_feed(
    source: RegistrySource,
    asks: watch::Receiver<Option<InstancesAsk>>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    let updates = tx.clone();
    let connected: Arc<tokio::sync::Mutex<Option<Arc<dyn Registry>>>> =
        Arc::new(tokio::sync::Mutex::new(match &source {
            RegistrySource::Shared(r) => Some(r.clone()),
            RegistrySource::Connect(_) => None,
        }));
    supervise("registry feed", tx, move || {
        registry_feed(
            source.clone(),
            connected.clone(),
            asks.clone(),
            updates.clone(),
        )
    })
}

async fn registry_feed(
    source: RegistrySource,
    connected: Arc<tokio::sync::Mutex<Option<Arc<dyn Registry>>>>,
    mut asks: watch::Receiver<Option<InstancesAsk>>,
    tx: mpsc::Sender<Update>,
) {
    loop {
        let ask = asks.borrow_and_update().clone();
        match ask {
            None => {
                if asks.changed().await.is_err() {
                    return;
                }
            }
            Some(ask) => {
                tokio::select! {
                    changed = asks.changed() => if changed.is_err() { return },
                    () = follow(&source, &connected, &ask, &tx) => return,
                }
            }
        }
    }
}

/// The registry, connected once and kept.
async fn registry(
    source: &RegistrySource,
    connected: &tokio::sync::Mutex<Option<Arc<dyn Registry>>>,
) -> Result<Arc<dyn Registry>, String> {
    let mut held = connected.lock().await;
    if let Some(r) = held.as_ref() {
        return Ok(r.clone());
    }
    let RegistrySource::Connect(cfg) = source else {
        return Err("no registry".into());
    };
    let r = tokio::time::timeout(CONNECT_TIMEOUT, connect_registry(cfg))
        .await
        .map_err(|_| format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    *held = Some(r.clone());
    Ok(r)
}

/// Lists and watches `ask`'s prefix for ever (a lost watch relists); returns only when
/// the console is gone.
async fn follow(
    source: &RegistrySource,
    connected: &tokio::sync::Mutex<Option<Arc<dyn Registry>>>,
    ask: &InstancesAsk,
    tx: &mpsc::Sender<Update>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let failed = match read(source, connected, ask, tx).await {
            Outcome::Gone => return,
            Outcome::Relist(why) => {
                tracing::debug!(prefix = %ask.prefix, why, "registry watch ended; listing again");
                backoff = Duration::from_millis(500);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Outcome::Failed(why) => why,
        };
        tracing::debug!(prefix = %ask.prefix, error = %failed, "registry read failed");
        let update = Update::Instances {
            key: ask.key.clone(),
            instances: Err(one_line(&failed)),
            more: 0,
        };
        if tx.send(update).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// How one list-and-watch ended.
enum Outcome {
    /// The console went away.
    Gone,
    /// The watch ended after a good read (compaction, a closed stream): list again.
    Relist(&'static str),
    /// The registry could not be reached or read.
    Failed(String),
}

/// The instances held for one prefix.
#[derive(Default)]
struct Held {
    by_key: BTreeMap<String, Instance>,
    /// Keys under the prefix not held (beyond the cap).
    more: usize,
}

impl Held {
    fn put(&mut self, prefix: &str, key: &str, value: &[u8], mod_revision: i64) {
        let Some(i) = Instance::parse(prefix, key, value, mod_revision) else {
            return;
        };
        if self.by_key.len() >= MAX_INSTANCES && !self.by_key.contains_key(key) {
            self.more += 1;
            return;
        }
        self.by_key.insert(key.to_string(), i);
    }

    fn delete(&mut self, key: &str) {
        if self.by_key.remove(key).is_none() {
            self.more = self.more.saturating_sub(1);
        }
    }

    fn update(&self, ask: &InstancesAsk) -> Update {
        // Sorted by key, which is by address under one prefix.
        Update::Instances {
            key: ask.key.clone(),
            instances: Ok(Arc::new(self.by_key.values().cloned().collect())),
            more: self.more,
        }
    }
}

/// One list and the watch after it, until the watch ends or the console is gone.
async fn read(
    source: &RegistrySource,
    connected: &tokio::sync::Mutex<Option<Arc<dyn Registry>>>,
    ask: &InstancesAsk,
    tx: &mpsc::Sender<Update>,
) -> Outcome {
    let registry = match registry(source, connected).await {
        Ok(r) => r,
        Err(why) => return Outcome::Failed(why),
    };
    let (kvs, revision) = match registry.list(&ask.prefix).await {
        Ok(read) => read,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let mut held = Held::default();
    for kv in &kvs {
        held.put(&ask.prefix, &kv.key, &kv.value, kv.mod_revision);
    }
    drop(kvs);
    if tx.send(held.update(ask)).await.is_err() {
        return Outcome::Gone;
    }
    let mut stream = match registry.watch(&ask.prefix, revision + 1).await {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let mut due: Option<Instant> = None;
    loop {
        let flush = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = stream.next() => {
                match ev {
                    Some(RawEvent::Put(kv)) => {
                        held.put(&ask.prefix, &kv.key, &kv.value, kv.mod_revision)
                    }
                    Some(RawEvent::Delete { key, .. }) => held.delete(&key),
                    Some(RawEvent::Compacted { .. }) => return Outcome::Relist("compacted"),
                    None => return Outcome::Relist("watch ended"),
                }
                due.get_or_insert_with(|| Instant::now() + DEBOUNCE);
            }
            () = flush => {
                due = None;
                if tx.send(held.update(ask)).await.is_err() {
                    return Outcome::Gone;
                }
            }
        }
    }
}

fn one_line(text: &str) -> String {
    let mut s = clean(text.lines().next().unwrap_or_default());
    if s.chars().count() > 200 {
        s = s.chars().take(199).collect::<String>() + "…";
    }
    s
}
