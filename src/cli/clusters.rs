//! `flightdeck clusters add NAME --kubeconfig F [--context C]` and `clusters list`: the
//! clusters groups may live in. Registering stores the API server's URL and the sha256 of
//! its CA — public facts only, never credentials — through the release controller
//! (admins only, audited as `clusters.add`). The controller then changes a cluster only
//! with its own credentials for that same server, and a console whose context for it
//! reaches another server says so.

use super::context::{ask_error, finish, store_error};
use super::output::{out, print_json, table};
use super::{CliError, Exit, Global};
use crate::controller::edits::{CLUSTERS, check_cluster};
use crate::controller::{Ask, ClusterRecord};

pub use super::args::clusters::ClustersCommand;

pub async fn run(global: &Global, cmd: ClustersCommand) -> Result<(), CliError> {
    match cmd {
        ClustersCommand::Add { name } => add(global, name).await,
        ClustersCommand::List { json } => list(global, json).await,
    }
}

async fn add(global: &Global, name: String) -> Result<(), CliError> {
    let context = global.context.clone().unwrap_or_else(|| name.clone());
    let conn = crate::kube::connect(global.kubeconfig.clone(), Some(context))
        .await
        .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))?;
    let cluster = ClusterRecord {
        name,
        server: conn.server.clone(),
        ca_sha256: conn.ca_sha256.clone(),
    };
    check_cluster(&cluster).map_err(|e| CliError::new(Exit::BadInput, e))?;
    let requester = global.requester().await?;
    let answer = requester
        .ask(Ask::AddCluster { cluster })
        .await
        .map_err(ask_error)?;
    finish(answer)
}

async fn list(global: &Global, json: bool) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let clusters = registered(store.as_ref()).await.map_err(store_error)?;
    if json {
        return print_json(&clusters);
    }
    let rows = clusters
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.server.clone(),
                if c.ca_sha256.is_empty() {
                    "-".to_string()
                } else {
                    // A record edited by hand may hold anything: never slice blindly.
                    c.ca_sha256.chars().take(16).collect()
                },
            ]
        })
        .collect();
    out(&table(&["NAME", "SERVER", "CA SHA256"], rows))
}

/// Every registered cluster; an unreadable record is skipped (and logged), not fatal.
pub async fn registered(
    store: &dyn crate::store::Store,
) -> Result<Vec<ClusterRecord>, crate::store::StoreError> {
    let (kvs, _) = store.backend().range(CLUSTERS).await?;
    Ok(kvs
        .iter()
        .filter_map(
            |kv| match serde_json::from_slice::<ClusterRecord>(&kv.value) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(key = %kv.key, error = %e, "unreadable cluster record");
                    None
                }
            },
        )
        .collect())
}
