//! Cluster access through kube-rs only: connecting from a kubeconfig, and the watchers
//! that turn pods, deployments and events into [`crate::model::Update`]s.

pub mod apply;
pub mod connect;
pub mod supervisor;
pub mod watch;

pub use connect::{ClusterConn, KubeError, connect, connect_kubeconfig};
pub use supervisor::{Clients, spawn_supervisor};
pub use watch::{WatchSet, spawn_watchers};
