//! What most commands need, built from the global flags: the store, the cluster, the
//! acting user and the release engine — each failure mapped to its exit code.

use std::sync::Arc;

use super::{CliError, Exit, Global};
use crate::authz::Identity;
use crate::controller::{AskError, Requester};
use crate::health::prometheus::PrometheusClient;
use crate::kube::ClusterConn;
use crate::store::{BackendKind, Store, StoreConfig, StoreError, StoreOptions};

/// Who this process is to the store, and how sure that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub name: String,
    /// Proven by etcd's auth (a login or a client certificate); false for the OS user
    /// of `mem://` and `--local`.
    pub authenticated: bool,
}

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

    /// The identity of DESIGN.md §5: the etcd user the store authenticated; the OS user
    /// only on the in-memory store or with `--local`. Nothing else names a user.
    pub fn me(&self, store: &dyn Store) -> Result<Me, CliError> {
        if let Some(name) = store.authenticated_user() {
            return Ok(Me {
                name,
                authenticated: true,
            });
        }
        let memory = matches!(self.store_config()?.backend, BackendKind::Memory);
        if memory || self.local {
            return Ok(Me {
                name: Identity::os().name,
                authenticated: false,
            });
        }
        Err(CliError::new(
            Exit::BadInput,
            format!(
                "{} has no login: pass --etcd-user NAME (or --etcd-cert/--etcd-key), or --local for a single-user store without etcd auth",
                store.describe()
            ),
        ))
    }

    pub fn wait(&self) -> Result<std::time::Duration, CliError> {
        crate::health::analysis::parse_duration(&self.wait).ok_or_else(|| {
            CliError::new(
                Exit::BadInput,
                format!("--wait {:?} is not a duration like 15s", self.wait),
            )
        })
    }

    /// The installation's Prometheus, for groups whose health source is `prometheus`.
    pub fn prometheus(&self) -> Result<Option<PrometheusClient>, CliError> {
        self.prometheus_url
            .as_deref()
            .map(PrometheusClient::new)
            .transpose()
            .map_err(|e| CliError::new(Exit::BadInput, e.to_string()))
    }

    /// The way to the release controller, as this user.
    pub async fn requester(&self) -> Result<Requester, CliError> {
        let store = self.connect_store().await?;
        let me = self.me(store.as_ref())?;
        Ok(Requester::new(store, me.name).with_wait(self.wait()?))
    }
}

/// Failures to get an answer, as exit codes.
pub fn ask_error(e: AskError) -> CliError {
    match e {
        AskError::Store(s) => store_error(s),
        sent @ AskError::Sent(_) => {
            let exit = match sent.exit_code() {
                2 => Exit::BadInput,
                3 => Exit::Unreachable,
                _ => Exit::Refused,
            };
            CliError::new(exit, sent.to_string())
        }
        AskError::NoAnswer(m) => CliError::new(Exit::Unreachable, m),
    }
}

/// The controller's answer as this command's outcome: its lines on stdout, then 0 or the
/// refusal with its exit code.
///
/// The answer decides the exit code, even when stdout was closed before all of it was
/// printed (the change is committed either way).
pub fn finish(answer: crate::controller::Answer) -> Result<(), CliError> {
    let printed = answer.lines.iter().try_for_each(|l| super::output::line(l));
    let message = crate::model::sanitize::clean(&answer.message);
    match answer.exit {
        0 => {
            printed?;
            if answer.lines.is_empty() {
                super::output::line(&message)?;
            }
            Ok(())
        }
        1 => Err(CliError::new(Exit::Refused, message)),
        2 => Err(CliError::new(Exit::BadInput, message)),
        _ => Err(CliError::new(Exit::Unreachable, message)),
    }
}

/// Store errors as exit codes: unreachable or out of space 3, bad input 2, the rest refused 1.
pub fn store_error(e: StoreError) -> CliError {
    let exit = match &e {
        StoreError::Unavailable { .. } | StoreError::NoSpace { .. } => Exit::Unreachable,
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
