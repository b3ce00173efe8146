use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
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
    kubeconfig: Kubeconfig,
}

impl ClusterConn {
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
        None => Kubeconfig::read().map_err(KubeError::NoKubeconfig)?,
    };
    from_kubeconfig(kc, context).await
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
    let client = kube::Client::try_from(config).map_err(|e| KubeError::Client {
        context: context.clone(),
        reason: e.to_string(),
    })?;
    Ok(ClusterConn {
        client,
        context,
        contexts,
        kubeconfig: kc,
    })
}
