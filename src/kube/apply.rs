//! Server-side apply of rendered objects, through kube-rs. Apply is idempotent: applying
//! the same desired state twice changes nothing, which is what lets a console or the agent
//! re-apply a release whose applied generation lags its desired one.

use std::collections::HashMap;

use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::pinned_kind;
use kube::{Api, Client};
use thiserror::Error;

/// The field manager flightdeck applies as.
pub const FIELD_MANAGER: &str = "flightdeck";

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("rendered object has no {0}")]
    Malformed(&'static str),
    #[error("cluster does not serve {kind} ({api_version}): {reason}")]
    UnknownKind {
        api_version: String,
        kind: String,
        reason: String,
    },
    #[error("apply {kind} {namespace}/{name} refused: {reason}")]
    Refused {
        kind: String,
        namespace: String,
        name: String,
        reason: String,
    },
    #[error("cluster unreachable while applying {kind} {namespace}/{name}: {reason}")]
    Unreachable {
        kind: String,
        namespace: String,
        name: String,
        reason: String,
    },
}

impl ApplyError {
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ApplyError::Unreachable { .. })
    }
}

/// Applies objects, remembering which API serves each kind.
pub struct Applier {
    client: Client,
    resources: HashMap<(String, String), ApiResource>,
}

impl Applier {
    pub fn new(client: Client) -> Self {
        Applier {
            client,
            resources: HashMap::new(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Apply each object in order (namespaces and services before deployments is the
    /// caller's order).
    pub async fn apply_all(&mut self, objects: &[serde_json::Value]) -> Result<(), ApplyError> {
        for obj in objects {
            self.apply(obj).await?;
        }
        Ok(())
    }

    pub async fn apply(&mut self, obj: &serde_json::Value) -> Result<DynamicObject, ApplyError> {
        let api_version = obj["apiVersion"]
            .as_str()
            .ok_or(ApplyError::Malformed("apiVersion"))?
            .to_string();
        let kind = obj["kind"]
            .as_str()
            .ok_or(ApplyError::Malformed("kind"))?
            .to_string();
        let name = obj
            .pointer("/metadata/name")
            .and_then(|v| v.as_str())
            .ok_or(ApplyError::Malformed("metadata.name"))?;
        let namespace = obj.pointer("/metadata/namespace").and_then(|v| v.as_str());
        let ar = self.resource(&api_version, &kind).await?;
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(name, &params, &Patch::Apply(obj))
            .await
            .map_err(|e| {
                let (kind, namespace, name) = (
                    kind.clone(),
                    namespace.unwrap_or("").to_string(),
                    name.to_string(),
                );
                match e {
                    kube::Error::Api(s) => ApplyError::Refused {
                        kind,
                        namespace,
                        name,
                        reason: s.message,
                    },
                    other => ApplyError::Unreachable {
                        kind,
                        namespace,
                        name,
                        reason: other.to_string(),
                    },
                }
            })
    }

    async fn resource(&mut self, api_version: &str, kind: &str) -> Result<ApiResource, ApplyError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(ar) = self.resources.get(&key) {
            return Ok(ar.clone());
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, _caps) =
            pinned_kind(&self.client, &gvk)
                .await
                .map_err(|e| ApplyError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    reason: e.to_string(),
                })?;
        self.resources.insert(key, ar.clone());
        Ok(ar)
    }
}

impl Applier {
    /// Set a Deployment's replicas with a merge patch. A Deployment that does not exist is
    /// fine when asked for zero (a canary never deployed has nothing to scale down).
    pub async fn scale(
        &self,
        namespace: &str,
        deployment: &str,
        replicas: u32,
    ) -> Result<(), ApplyError> {
        let api: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.client.clone(), namespace);
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        match api
            .patch(deployment, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 && replicas == 0 => Ok(()),
            Err(e) => Err(map_error(e, "Deployment", namespace, deployment)),
        }
    }

    /// Rolling restart, as `kubectl rollout restart` does it: stamp the pod template.
    pub async fn restart(
        &self,
        namespace: &str,
        deployment: &str,
        at: &str,
    ) -> Result<(), ApplyError> {
        let api: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.client.clone(), namespace);
        let patch = serde_json::json!({ "spec": { "template": { "metadata": { "annotations": {
            "kubectl.kubernetes.io/restartedAt": at } } } } });
        api.patch(deployment, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|e| map_error(e, "Deployment", namespace, deployment))
    }
}

fn map_error(e: kube::Error, kind: &str, namespace: &str, name: &str) -> ApplyError {
    let (kind, namespace, name) = (kind.to_string(), namespace.to_string(), name.to_string());
    match e {
        kube::Error::Api(s) => ApplyError::Refused {
            kind,
            namespace,
            name,
            reason: s.message,
        },
        other => ApplyError::Unreachable {
            kind,
            namespace,
            name,
            reason: other.to_string(),
        },
    }
}
