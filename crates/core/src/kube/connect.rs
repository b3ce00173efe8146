use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KubeError {
    #[error("cannot read kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        source: kube::config::KubeconfigError,
    },
    #[error("no kubeconfig found (set --kubeconfig or KUBECONFIG, or create ~/.kube/config): {0}")]
    NoKubeconfig(kube::config::KubeconfigError),
    #[error("context {context:?} is not in the kubeconfig (known: {known})")]
    UnknownContext { context: String, known: String },
    #[error("cannot build a client for context {context:?}: {reason}")]
    Client { context: String, reason: String },
}

/// A connected cluster: the client, the context it came from, and every context the
/// kubeconfig knows (for `:ctx`).
#[derive(Clone)]
pub struct ClusterConn {
    pub client: kube::Client,
    pub context: String,
    pub contexts: Vec<String>,
    /// The API server this context reaches, and the sha256 (hex) of the CA certificates
    /// it trusts for it ("" when none): what `flightdeck clusters add` registers.
    pub server: String,
    pub ca_sha256: String,
    /// The same cluster without kube-rs's own retries: for the release engine's applier,
    /// which retries itself within its bound and must see each 429/503 to say why.
    pub apply_client: kube::Client,
    kubeconfig: Kubeconfig,
}

impl ClusterConn {
    /// This kubeconfig's connection for the context `name`: itself, another of its
    /// contexts, or `None` when it has no context of that name.
    pub async fn for_context(&self, name: &str) -> Option<Result<ClusterConn, KubeError>> {
        if name == self.context {
            Some(Ok(self.clone()))
        } else if self.contexts.iter().any(|c| c == name) {
            Some(self.switch(name).await)
        } else {
            None
        }
    }

    /// The same kubeconfig, another context.
    pub async fn switch(&self, context: &str) -> Result<ClusterConn, KubeError> {
        from_kubeconfig(self.kubeconfig.clone(), Some(context.to_string())).await
    }
}

/// Connect with the usual rules: `--kubeconfig` if given, else `KUBECONFIG`, else
/// `~/.kube/config`; `--context` if given, else the current context. Building the client
/// does no network I/O, so an unreachable cluster shows up in the watchers, not here.
pub async fn connect(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
) -> Result<ClusterConn, KubeError> {
    let kc = match kubeconfig {
        Some(path) => Kubeconfig::read_from(&path).map_err(|source| KubeError::Kubeconfig {
            path: path.display().to_string(),
            source,
        })?,
        None => match Kubeconfig::read() {
            Ok(kc) => kc,
            // Inside a cluster (the controller's Deployment): its ServiceAccount.
            Err(e) => match kube::Config::incluster() {
                Ok(config) => return in_cluster(config, context),
                Err(_) => return Err(KubeError::NoKubeconfig(e)),
            },
        },
    };
    from_kubeconfig(kc, context).await
}

/// The longest a connection to an API server may take to open. Reads keep kube-rs's
/// long default (watches stream for minutes); one-off calls bound themselves (see
/// [`crate::kube::apply::REQUEST_TIMEOUT`]).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The client, and the applier's one without kube-rs's retries.
fn clients(mut config: kube::Config) -> Result<(kube::Client, kube::Client), kube::Error> {
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    let client = kube::Client::try_from(config.clone())?;
    config.default_retry = false;
    Ok((client, kube::Client::try_from(config)?))
}

/// The in-cluster ServiceAccount's client; the context is named by `--context` (the
/// cluster's registered name), else `in-cluster`.
fn in_cluster(config: kube::Config, context: Option<String>) -> Result<ClusterConn, KubeError> {
    let context = context.unwrap_or_else(|| "in-cluster".to_string());
    let contexts = vec![context.clone()];
    conn_of(config, context, contexts, Kubeconfig::default())
}

/// A connection from a client config: its clients and the facts `clusters add` registers.
fn conn_of(
    config: kube::Config,
    context: String,
    contexts: Vec<String>,
    kubeconfig: Kubeconfig,
) -> Result<ClusterConn, KubeError> {
    let (server, ca_sha256) = facts(&config);
    let (client, apply_client) = clients(config).map_err(|e| KubeError::Client {
        context: context.clone(),
        reason: e.to_string(),
    })?;
    Ok(ClusterConn {
        client,
        context,
        contexts,
        server,
        ca_sha256,
        apply_client,
        kubeconfig,
    })
}

/// The server URL (without a trailing slash) and the CA fingerprint of a client config.
pub fn facts(config: &kube::Config) -> (String, String) {
    use sha2::Digest;
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let ca = match &config.root_cert {
        Some(certs) if !certs.is_empty() => {
            let mut h = sha2::Sha256::new();
            for c in certs {
                h.update(c);
            }
            hex::encode(h.finalize())
        }
        _ => String::new(),
    };
    (server, ca)
}

/// Connect from a kubeconfig already in memory (the demo's, written by the simulated
/// cluster), with the same rules for the context.
pub async fn connect_kubeconfig(
    kc: Kubeconfig,
    context: Option<String>,
) -> Result<ClusterConn, KubeError> {
    from_kubeconfig(kc, context).await
}

async fn from_kubeconfig(
    kc: Kubeconfig,
    context: Option<String>,
) -> Result<ClusterConn, KubeError> {
    let contexts: Vec<String> = kc.contexts.iter().map(|c| c.name.clone()).collect();
    let context = context
        .or_else(|| kc.current_context.clone())
        .or_else(|| contexts.first().cloned())
        .unwrap_or_default();
    if !contexts.contains(&context) {
        return Err(KubeError::UnknownContext {
            context,
            known: contexts.join(", "),
        });
    }
    let opts = KubeConfigOptions {
        context: Some(context.clone()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc.clone(), &opts)
        .await
        .map_err(|e| KubeError::Client {
            context: context.clone(),
            reason: e.to_string(),
        })?;
    conn_of(config, context, contexts, kc)
}

/// A registered cluster: public facts only, never credentials (DESIGN.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRecord {
    pub name: String,
    pub server: String,
    /// sha256 of the CA bundle's bytes, hex; empty for a server without a CA (plain HTTP).
    pub ca_sha256: String,
}

/// How a connection differs from a registered cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// It reaches another API server.
    Server,
    /// Same server, but it trusts another CA.
    Ca,
}

impl ClusterRecord {
    /// Whether `conn` reaches this registered cluster, and how not if it does not.
    pub fn mismatch(&self, conn: &ClusterConn) -> Option<Mismatch> {
        if conn.server != self.server {
            Some(Mismatch::Server)
        } else if conn.ca_sha256 != self.ca_sha256 {
            Some(Mismatch::Ca)
        } else {
            None
        }
    }
}
