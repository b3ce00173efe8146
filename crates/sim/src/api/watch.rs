//! Watches: replay from the history window, then follow the store's broadcast channel.
//! Too old a resourceVersion gets an ERROR event carrying a 410 Status, as from a real
//! API server, so clients relist.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::list::{Selectors, matching};
use super::status::{ApiError, status_json};
use super::{Api, ResourceRequest, table};
use crate::store::{Change, Obj, Op, StoreError};

const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

pub fn serve(api: Arc<Api>, rr: ResourceRequest) -> Result<Response, ApiError> {
    let sel = Selectors::from_request(&rr)?;
    let (tx, mut rx) = mpsc::channel::<Bytes>(256);
    let timeout = rr
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    tokio::spawn(async move {
        let w = Watch { api, rr, sel, tx };
        // Ends when the client goes away, the timeout passes, or the history is gone.
        let _ = tokio::time::timeout(timeout, w.run()).await;
    });
    let stream = futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|o| o.map(Ok::<Bytes, std::convert::Infallible>))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))
}

struct Watch {
    api: Arc<Api>,
    rr: ResourceRequest,
    sel: Selectors,
    tx: mpsc::Sender<Bytes>,
}

/// The client hung up.
struct Gone;

impl Watch {
    async fn run(self) -> Result<(), Gone> {
        let rv_param = self.rr.param("resourceVersion").unwrap_or("");
        let initial = matches!(self.rr.param("sendInitialEvents"), Some("true"));
        let bookmarks = matches!(self.rr.param("allowWatchBookmarks"), Some("true"));
        let (mut seen, backlog, mut changes) = if rv_param.is_empty() || rv_param == "0" || initial
        {
            let (items, rv) = matching(&self.api, &self.rr, &self.sel);
            let (backlog, rx) = match self.api.store.watch_from(rv) {
                Ok(x) => x,
                Err(e) => return self.expired(e).await,
            };
            for obj in items {
                self.send("ADDED", &obj).await?;
            }
            if initial && bookmarks {
                self.bookmark(rv, true).await?;
            }
            (rv, backlog, rx)
        } else {
            let Ok(rv) = rv_param.parse::<u64>() else {
                let e = ApiError::bad_request(format!("invalid resource version {rv_param}"));
                return self.send_error(e.status()).await;
            };
            match self.api.store.watch_from(rv) {
                Ok((backlog, rx)) => (rv, backlog, rx),
                Err(e) => return self.expired(e).await,
            }
        };
        for c in backlog {
            seen = self.deliver(&c, seen).await?;
        }
        let mut tick = tokio::time::interval(BOOKMARK_EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                msg = changes.recv() => match msg {
                    Ok(c) => seen = self.deliver(&c, seen).await?,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind the channel: catch up from the history instead.
                        match self.api.store.changes_after(seen) {
                            Ok(cs) => for c in cs { seen = self.deliver(&c, seen).await? },
                            Err(e) => return self.expired(e).await,
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = tick.tick() => {
                    if bookmarks {
                        self.bookmark(seen, false).await?;
                    } else if self.tx.is_closed() {
                        return Err(Gone);
                    }
                }
            }
        }
    }

    async fn deliver(&self, c: &Change, seen: u64) -> Result<u64, Gone> {
        if c.rv <= seen {
            return Ok(seen);
        }
        if let Some((t, obj)) = self.translate(c) {
            self.send(t, obj).await?;
        }
        Ok(c.rv)
    }

    /// The event this watcher sees, if any: an object that starts or stops matching the
    /// selectors is ADDED or DELETED from its point of view.
    fn translate<'a>(&self, c: &'a Change) -> Option<(&'static str, &'a Obj)> {
        if c.kind != self.rr.kind {
            return None;
        }
        if let Some(ns) = &self.rr.namespace
            && c.object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                != Some(ns.as_str())
            && self.rr.kind.namespaced()
        {
            return None;
        }
        let now = self.sel.matches(&c.object);
        let before = c.previous.as_ref().is_some_and(|p| self.sel.matches(p));
        let t = match (c.op, before, now) {
            (Op::Added, _, true) => "ADDED",
            (Op::Deleted, _, true) => "DELETED",
            (Op::Modified, true, true) => "MODIFIED",
            (Op::Modified, false, true) => "ADDED",
            (Op::Modified, true, false) => "DELETED",
            _ => return None,
        };
        Some((t, &c.object))
    }

    async fn send(&self, t: &str, obj: &Obj) -> Result<(), Gone> {
        let mut buf = format!(r#"{{"type":"{t}","object":"#).into_bytes();
        if self.rr.wants_table() {
            let meta = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
            let out = table::table(&self.rr, std::slice::from_ref(obj), meta);
            write!(buf, "{out}").map_err(|_| Gone)?;
        } else if self.rr.converts() {
            write!(buf, "{}", self.rr.outgoing(obj)).map_err(|_| Gone)?;
        } else {
            // The text is made once per object version, whatever the number of watchers.
            buf.extend_from_slice(obj.json().as_bytes());
        }
        buf.extend_from_slice(b"}\n");
        self.tx.send(buf.into()).await.map_err(|_| Gone)
    }

    async fn bookmark(&self, rv: u64, initial_end: bool) -> Result<(), Gone> {
        let mut obj = json!({
            "kind": self.rr.kind.name(),
            "apiVersion": self.rr.api_version(),
            "metadata": {"resourceVersion": rv.to_string()},
        });
        if initial_end {
            obj["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let line = format!("{}\n", json!({"type": "BOOKMARK", "object": obj}));
        self.tx.send(line.into()).await.map_err(|_| Gone)
    }

    async fn expired(&self, e: StoreError) -> Result<(), Gone> {
        self.send_error(status_json("Failure", 410, "Expired", &e.to_string()))
            .await
    }

    async fn send_error(&self, status: Value) -> Result<(), Gone> {
        let line = format!("{}\n", json!({"type": "ERROR", "object": status}));
        self.tx.send(line.into()).await.map_err(|_| Gone)
    }
}
