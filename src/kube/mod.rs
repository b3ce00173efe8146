//! Cluster access through kube-rs only: connecting from a kubeconfig, and the watchers
//! that turn pods, deployments and events into [`crate::model::Update`]s.

pub mod connect;
pub mod watch;

pub use connect::{ClusterConn, KubeError, connect};
pub use watch::{WatchSet, spawn_watchers};
