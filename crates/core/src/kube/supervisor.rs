//! Keeps one set of watchers running for the current context over the namespaces the
//! groups live in; restarts them when the context or the namespaces change.

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::ClusterConn;
use super::watch::{RouterKinds, spawn_watchers_with};
use crate::model::{Conn, Part, Update};

/// `namespaces` holds the (cluster, namespace) pairs in use; only those of the current
/// context are watched. A context name on `switch` reconnects to that context.
pub fn spawn_supervisor(
    conn: ClusterConn,
    mut namespaces: watch::Receiver<Vec<(String, String)>>,
    mut switch: mpsc::UnboundedReceiver<String>,
    tx: mpsc::Sender<Update>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut conn = conn;
        // What discovery found on this connection's server, kept across restarts of the
        // watchers (a namespace added); a new context starts afresh.
        let mut kinds = RouterKinds::default();
        loop {
            let ns: Vec<String> = namespaces
                .borrow_and_update()
                .iter()
                .filter(|(c, _)| *c == conn.context)
                .map(|(_, n)| n.clone())
                .collect();
            tracing::info!(context = %conn.context, namespaces = ns.len(), "watching");
            let _watchers =
                spawn_watchers_with(conn.client.clone(), &conn.context, &ns, &kinds, tx.clone());
            // Wait for a reason to restart them; dropping `_watchers` at the end of this
            // iteration stops them.
            loop {
                tokio::select! {
                    changed = namespaces.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        break;
                    }
                    ctx = switch.recv() => {
                        let Some(ctx) = ctx else { return };
                        if ctx == conn.context {
                            continue;
                        }
                        match conn.switch(&ctx).await {
                            Ok(new) => {
                                conn = new;
                                kinds = RouterKinds::default();
                                let _ = tx.send(Update::ContextSwitched(conn.context.clone())).await;
                                let _ = tx
                                    .send(Update::Connection { part: Part::Cluster, state: Conn::Connecting })
                                    .await;
                                break;
                            }
                            Err(e) => {
                                let _ = tx
                                    .send(Update::Connection { part: Part::Cluster, state: Conn::Failed(e.to_string()) })
                                    .await;
                            }
                        }
                    }
                }
            }
        }
    })
}
