//! What most commands need, built from the global flags: the store, the cluster, the
//! acting user and the release engine — each failure mapped to its exit code.

use std::sync::Arc;

use super::{CliError, Exit, Global};
use crate::authz::Identity;
use crate::engine::release_engine::{Actor, ReleaseEngine};
use crate::kube::ClusterConn;
use crate::store::{Store, StoreConfig, StoreError, StoreOptions};

impl Global {
    /// The store config from `--store` and the etcd flags. The password is read from
    /// `FLIGHTDECK_ETCD_PASSWORD` or `--etcd-password-file`, never from the command line
    /// (where `ps` would show it).
    pub fn store_config(&self) -> Result<StoreConfig, CliError> {
        let password = match (
            &self.etcd_password_file,
            std::env::var("FLIGHTDECK_ETCD_PASSWORD").ok(),
        ) {
            (Some(file), _) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| {
                        CliError::new(
                            Exit::BadInput,
                            format!("cannot read --etcd-password-file {}: {e}", file.display()),
                        )
                    })?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ),
            (None, env) => env,
        };
        let options = StoreOptions {
            user: self.etcd_user.clone(),
            password,
            ca: self.etcd_ca.clone(),
            cert: self.etcd_cert.clone(),
            key: self.etcd_key.clone(),
            prefix: self.etcd_prefix.clone(),
            ..StoreOptions::default()
        };
        StoreConfig::parse(&self.store, options).map_err(store_error)
    }

    pub async fn connect_store(&self) -> Result<Arc<dyn Store>, CliError> {
        let cfg = self.store_config()?;
        crate::store::connect(&cfg).await.map_err(store_error)
    }

    pub async fn connect_cluster(&self) -> Result<ClusterConn, CliError> {
        crate::kube::connect(self.kubeconfig.clone(), self.context.clone())
            .await
            .map_err(|e| CliError::new(Exit::Unreachable, e.to_string()))
    }

    /// Store, cluster and actor, as one engine.
    pub async fn engine(&self) -> Result<ReleaseEngine, CliError> {
        let store = self.connect_store().await?;
        let cluster = self.connect_cluster().await?;
        let actor = Actor::resolve(store.as_ref(), &Identity::os());
        Ok(ReleaseEngine::new(store, cluster, actor))
    }
}

/// Store errors as exit codes: unreachable 3, bad input 2, the rest refused 1.
pub fn store_error(e: StoreError) -> CliError {
    let exit = match &e {
        StoreError::Unavailable { .. } => Exit::Unreachable,
        StoreError::Invalid(_) | StoreError::NotFound { .. } => Exit::BadInput,
        _ => Exit::Refused,
    };
    CliError::new(exit, e.to_string())
}

/// Engine errors as exit codes (DESIGN.md §6).
pub fn engine_error(e: crate::engine::release_engine::EngineError) -> CliError {
    let exit = match e.exit_code() {
        1 => Exit::Refused,
        2 => Exit::BadInput,
        3 => Exit::Unreachable,
        _ => Exit::Refused,
    };
    CliError::new(exit, e.to_string())
}
