//! `flightdeck demo` and the simulated estate: the sample apps from `assets/` (embedded, so
//! the binary runs anywhere) plus as many generated groups as asked for, rendered into the
//! objects the simulated cluster starts with and the records the store starts with.

pub mod seed;
pub mod store_seed;

pub use seed::{Seed, SeedError, seed};
pub use store_seed::seed_store;

/// The demo's service registry: in memory, one per demo, shared by `Arc` with everything
/// the demo starts that reads or writes registrations (the console's instances tab; the
/// simulated registrator and the controller's drains when they are given it).
pub fn registry() -> std::sync::Arc<crate::store::MemoryRegistry> {
    std::sync::Arc::new(crate::store::MemoryRegistry::new())
}

/// The scenario the demo runs by default: `assets/scenario.yaml`, embedded.
pub fn scenario() -> crate::sim::Scenario {
    crate::sim::Scenario::from_yaml(include_str!("../../assets/scenario.yaml"))
        .expect("assets/scenario.yaml is valid (checked by a test)")
}

/// Registers the cluster `conn` reaches under its context's name, as `clusters add` would
/// (a seed writes its own store directly).
pub async fn register_cluster(
    store: &dyn crate::store::Store,
    conn: &crate::kube::ClusterConn,
) -> Result<(), crate::store::StoreError> {
    let record = crate::controller::ClusterRecord {
        name: conn.context.clone(),
        server: conn.server.clone(),
        ca_sha256: conn.ca_sha256.clone(),
    };
    let value = serde_json::to_vec(&record)
        .map_err(|e| crate::store::StoreError::Invalid(e.to_string()))?;
    let key = crate::controller::edits::cluster_key(&record.name);
    store
        .backend()
        .txn(vec![], vec![crate::store::Write::Put(key, value)])
        .await?;
    Ok(())
}
