//! The release controller (`flightdeck agent`): the only writer of the store's state and
//! audit log, and the only one that changes clusters (DESIGN.md §2, §5).
//!
//! People ask; the controller acts. A console or a command writes a request under
//! `requests/<user>/<id>` — etcd lets only `<user>` write there, so the key is the
//! identity — and waits for the answer under `responses/<user>/<id>`. The controller,
//! while it holds the store lease, takes each request once: it authorises it against the
//! policy by what it would do, commits the change with its audit entry in one
//! transaction fenced on the lease (with an "accepted" answer, so a controller taking
//! over does not act on it again), applies it to the cluster with its own credentials,
//! and writes the final answer. The same process runs the agent loop (timed pauses,
//! analysis steps, auto-abort, re-apply) as `system:agent`.
//!
//! Trust: on an etcd with auth, the user in the key was proven by etcd. Without auth
//! (`mem://` in the demo, or `--local` for one person's own store) anyone could write any
//! key, so the controller runs only when told so, and the audit log marks those users as
//! `os` (unauthenticated).

pub mod checkpoint;
pub mod client;
pub mod edits;
pub mod import;
pub mod request;
mod serve;

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::agent::{self, AgentConfig, AgentHandle};
use crate::engine::release_engine::{Actor, ReleaseEngine};
use crate::kube::ClusterConn;
use crate::store::Store;

pub use checkpoint::{Adopted, Checkpointing, adopt_key};
pub use client::{AskError, Requester};
pub use request::{Answer, Ask, ClusterRecord};

/// The store lease the controller replicas compete for.
pub const LEASE: &str = agent::LEASE;

/// How a controller trusts the user named in a request key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// etcd auth is on: only that user could have written the key.
    EtcdAuth,
    /// No auth (the demo's memory store, or `--local`): the name is the asker's word.
    Local,
}

#[derive(Debug, Clone)]
pub struct ControllerConfig {
    pub agent: AgentConfig,
    pub trust: Trust,
    /// Signed audit checkpoints while leading; `None` writes none.
    pub checkpoints: Option<Checkpointing>,
    /// Where groups with a `registration` register their instances: drains write there.
    pub registry: Option<Arc<dyn crate::store::Registry>>,
}

impl ControllerConfig {
    /// "controller@host:pid": the lease holder's name and every audit entry's `via`.
    pub fn instance(&self) -> &str {
        &self.agent.holder
    }
}

/// A running controller: the agent loop (which holds the lease) and the request server.
pub struct ControllerHandle {
    pub agent: AgentHandle,
    server: JoinHandle<()>,
    checkpoints: Option<JoinHandle<()>>,
}

impl ControllerHandle {
    /// Stops serving, lets the lease go and waits (bounded) for both to end.
    pub async fn stop(self) {
        self.server.abort();
        if let Some(c) = &self.checkpoints {
            c.abort();
        }
        self.agent.stop.send_replace(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.agent.task).await;
    }
}

/// Starts the controller on `store`, changing clusters through `conn`.
pub fn spawn(store: Arc<dyn Store>, conn: ClusterConn, cfg: ControllerConfig) -> ControllerHandle {
    let mut engine = ReleaseEngine::new(
        store.clone(),
        conn.clone(),
        Actor::system(agent::AGENT_USER),
    )
    .with_via(cfg.instance());
    if let Some(r) = &cfg.registry {
        engine = engine.with_registry(r.clone());
    }
    let engine = Arc::new(engine);
    let agent = agent::spawn(engine.clone(), conn, cfg.agent.clone());
    let checkpoints = cfg
        .checkpoints
        .clone()
        .map(|c| tokio::spawn(checkpoint::run(store.clone(), c, agent.leader.clone())));
    let server = tokio::spawn(serve::serve(serve::Server {
        store,
        engine,
        via: cfg.instance().to_string(),
        trust: cfg.trust,
        leader: agent.leader.clone(),
    }));
    ControllerHandle {
        agent,
        server,
        checkpoints,
    }
}
