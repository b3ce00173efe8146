//! Server-side apply of rendered objects, through kube-rs. Apply is idempotent: applying
//! the same desired state twice changes nothing, which is what lets a console or the agent
//! re-apply a release whose applied generation lags its desired one.
//!
//! Every call is bounded: each request by [`REQUEST_TIMEOUT`] and all calls of one action
//! by the [`Deadline`] the caller gives. Errors are classified ([`classify`]): a transient
//! one (a timeout, a connection error, 429, 5xx, a conflict, a discovery blip) is retried
//! with back-off until the deadline and then reported as [`ApplyError::Transient`], to be
//! re-applied later; a permanent one (400, 403, 404, 422 …) is reported at once with the
//! API's message as [`ApplyError::Refused`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::pinned_kind;
use kube::{Api, Client};
use thiserror::Error;
use tokio::time::Instant;

/// The field manager flightdeck applies as.
pub const FIELD_MANAGER: &str = "flightdeck";

/// The longest one request to the API server may take (connect, send, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest applying one action's effects may take, retries and read-back included.
/// Below the asker's wait for an answer (the controller's client asserts it), so a person
/// hears "recorded, not applied" from the controller rather than "no answer".
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(12);

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// A rendered (or stored) object of the wrong shape: nothing was sent.
    #[error("{0}")]
    Malformed(String),
    #[error("cluster does not serve {kind} ({api_version}): {reason}")]
    UnknownKind {
        api_version: String,
        kind: String,
        reason: String,
    },
    /// The API (or flightdeck, for what it may not change) said no: a verdict on the
    /// release, not a blip.
    #[error("{kind} {namespace}/{name} refused: {reason}")]
    Refused {
        kind: String,
        namespace: String,
        name: String,
        reason: String,
    },
    /// The cluster did not take it within the bound (timeouts, connection errors, 429,
    /// 5xx, conflicts): the desired state is kept for re-apply.
    #[error("cluster did not take {what}: {reason}")]
    Transient { what: String, reason: String },
}

impl ApplyError {
    /// A failure that says nothing about the release itself: re-apply later.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApplyError::Transient { .. })
    }
}

/// Whether a kube error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Transient,
    Permanent,
}

/// Timeouts, connection trouble, 408, 409 (conflict), 429 and 5xx are transient; any other
/// answer of the API (400, 403, 404, 405, 415, 422 …) is permanent.
pub fn classify(e: &kube::Error) -> Class {
    match e {
        kube::Error::Api(s) => classify_code(s.code),
        kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::ReadEvents(_)
        | kube::Error::Auth(_) => Class::Transient,
        // Discovery answered but the kind is not there.
        kube::Error::Discovery(_) => Class::Permanent,
        // A garbled answer (a proxy's error page) may be a blip.
        kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) => Class::Transient,
        _ => Class::Permanent,
    }
}

pub fn classify_code(code: u16) -> Class {
    match code {
        408 | 409 | 429 | 500..=599 => Class::Transient,
        _ => Class::Permanent,
    }
}

/// The end of one action's time with the cluster.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(d: Duration) -> Deadline {
        Deadline(Instant::now() + d)
    }

    /// The standard bound of one action.
    pub fn action() -> Deadline {
        Deadline::after(ACTION_TIMEOUT)
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    pub fn instant(&self) -> Instant {
        self.0
    }
}

/// The short form of a kube error for messages: the API's message for an answer, the
/// error's text otherwise.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if !s.message.is_empty() => format!("{} ({})", s.message, s.code),
        kube::Error::Api(s) => format!("HTTP {} {}", s.code, s.reason),
        other => other.to_string(),
    }
}

/// Runs `call` until it succeeds, fails permanently or `deadline` passes; each try is
/// bounded by [`REQUEST_TIMEOUT`]. `what` names the call in the error
/// ("apply Deployment shop/web").
pub async fn with_retry<T, F, Fut>(
    deadline: Deadline,
    what: &str,
    mut call: F,
) -> Result<T, RetryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0u32;
    loop {
        let left = deadline.remaining();
        let last = if left.is_zero() {
            format!("no time left for {what}")
        } else {
            tries = tries.saturating_add(1);
            match tokio::time::timeout(left.min(REQUEST_TIMEOUT), call()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => match classify(&e) {
                    Class::Permanent => return Err(RetryError::Permanent(e)),
                    Class::Transient => describe(&e),
                },
                Err(_) => format!(
                    "no answer within {}s",
                    left.min(REQUEST_TIMEOUT).as_secs_f64().round()
                ),
            }
        };
        if deadline.remaining() <= backoff {
            let secs = started.elapsed().as_secs_f64();
            return Err(RetryError::GaveUp(format!(
                "{last} ({tries} {} in {secs:.1}s)",
                if tries == 1 { "try" } else { "tries" }
            )));
        }
        tracing::debug!(what, error = %last, ?backoff, "transient cluster error; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// How [`with_retry`] ended without a result.
#[derive(Debug)]
pub enum RetryError {
    /// The API answered with a verdict.
    Permanent(kube::Error),
    /// Transient failures until the deadline; the text says the last one.
    GaveUp(String),
}

impl RetryError {
    fn into_apply(self, kind: &str, namespace: &str, name: &str, verb: &str) -> ApplyError {
        match self {
            RetryError::Permanent(e) => ApplyError::Refused {
                kind: kind.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
                reason: describe(&e),
            },
            RetryError::GaveUp(reason) => ApplyError::Transient {
                what: format!("{verb} {kind} {namespace}/{name}"),
                reason,
            },
        }
    }
}

/// What a Deployment's `spec.replicas` is in the cluster; `None` when it does not exist.
pub type Replicas = Option<i64>;

/// Applies objects, remembering which API serves each kind. Shared by concurrent
/// actions: nothing is held across a call to the cluster.
pub struct Applier {
    client: Client,
    resources: Mutex<HashMap<(String, String), ApiResource>>,
}

impl Applier {
    pub fn new(client: Client) -> Self {
        Applier {
            client,
            resources: Mutex::new(HashMap::new()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Server-side apply of one rendered object. An object without `apiVersion`, `kind`
    /// or `metadata.name` strings is refused before anything is sent.
    pub async fn apply(
        &self,
        obj: &serde_json::Value,
        deadline: Deadline,
    ) -> Result<DynamicObject, ApplyError> {
        let field = |pointer: &str, name: &str| {
            obj.pointer(pointer)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| ApplyError::Malformed(format!("rendered object has no {name}")))
        };
        let api_version = field("/apiVersion", "apiVersion")?;
        let kind = field("/kind", "kind")?;
        let name = field("/metadata/name", "metadata.name")?;
        let namespace = obj.pointer("/metadata/namespace").and_then(|v| v.as_str());
        let ar = self.resource(&api_version, &kind, deadline).await?;
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(obj);
        let what = format!("apply {kind} {}/{name}", namespace.unwrap_or(""));
        with_retry(deadline, &what, || api.patch(&name, &params, &patch))
            .await
            .map_err(|e| e.into_apply(&kind, namespace.unwrap_or(""), &name, "apply"))
    }

    /// Reads one object of any kind the server serves (`None`: it does not exist).
    pub async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        deadline: Deadline,
    ) -> Result<Option<serde_json::Value>, ApplyError> {
        let ar = self.resource(api_version, kind, deadline).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &ar);
        let what = format!("read {kind} {namespace}/{name}");
        let found = with_retry(deadline, &what, || api.get_opt(name))
            .await
            .map_err(|e| e.into_apply(kind, namespace, name, "read"))?;
        found
            .map(|o| {
                serde_json::to_value(o).map_err(|e| {
                    ApplyError::Malformed(format!("{kind} {namespace}/{name} is unreadable: {e}"))
                })
            })
            .transpose()
    }

    async fn resource(
        &self,
        api_version: &str,
        kind: &str,
        deadline: Deadline,
    ) -> Result<ApiResource, ApplyError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(ar) = self.cached(&key) {
            return Ok(ar);
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let what = format!("discover {api_version} {kind}");
        let (ar, _caps) = with_retry(deadline, &what, || pinned_kind(&self.client, &gvk))
            .await
            .map_err(|e| match e {
                RetryError::Permanent(e) => ApplyError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    reason: describe(&e),
                },
                RetryError::GaveUp(reason) => ApplyError::Transient { what, reason },
            })?;
        self.resources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, ar.clone());
        Ok(ar)
    }

    fn cached(&self, key: &(String, String)) -> Option<ApiResource> {
        self.resources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// A JSON merge patch of one object of any kind the server serves.
    pub async fn merge_patch(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let ar = self.resource(api_version, kind, deadline).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &ar);
        let patch = Patch::Merge(patch);
        let params = PatchParams::default();
        let what = format!("patch {kind} {namespace}/{name}");
        with_retry(deadline, &what, || api.patch(name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| e.into_apply(kind, namespace, name, "patch"))
    }

    /// Sets one condition in a pod's `status.conditions` (the status subresource), leaving
    /// the others as the kubelet wrote them: a readiness gate's answer.
    pub async fn set_pod_condition(
        &self,
        namespace: &str,
        pod: &str,
        condition: &str,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client.clone(), namespace);
        let patch = serde_json::json!({ "status": { "conditions": [{
            "type": condition,
            "status": "True",
            "lastTransitionTime": jiff::Timestamp::now().to_string(),
        }]}});
        let patch = Patch::Strategic(patch);
        let params = PatchParams::default();
        let what = format!("set {condition} on pod {namespace}/{pod}");
        with_retry(deadline, &what, || api.patch_status(pod, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| e.into_apply("Pod", namespace, pod, "patch"))
    }

    /// Every object of a kind in a namespace.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        deadline: Deadline,
    ) -> Result<Vec<serde_json::Value>, ApplyError> {
        self.list_selected(api_version, kind, namespace, None, deadline)
            .await
    }

    /// The objects of a kind in a namespace that a label selector (as kubectl's `-l`)
    /// picks, or all of them.
    pub async fn list_selected(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        selector: Option<&str>,
        deadline: Deadline,
    ) -> Result<Vec<serde_json::Value>, ApplyError> {
        let ar = self.resource(api_version, kind, deadline).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &ar);
        let what = format!("list {kind} in {namespace}");
        let mut params = kube::api::ListParams::default();
        if let Some(s) = selector {
            params = params.labels(s);
        }
        let list = with_retry(deadline, &what, || api.list(&params))
            .await
            .map_err(|e| e.into_apply(kind, namespace, "", "list"))?;
        list.items
            .into_iter()
            .map(|o| {
                serde_json::to_value(o).map_err(|e| {
                    ApplyError::Malformed(format!("a {kind} in {namespace} is unreadable: {e}"))
                })
            })
            .collect()
    }

    /// Deletes one object and, in the background, what it owns (a Job's pods). One that
    /// is already gone is fine.
    pub async fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let ar = self.resource(api_version, kind, deadline).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &ar);
        let params = kube::api::DeleteParams::background();
        let what = format!("delete {kind} {namespace}/{name}");
        match with_retry(deadline, &what, || api.delete(name, &params)).await {
            Ok(_) => Ok(()),
            Err(RetryError::Permanent(kube::Error::Api(s))) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into_apply(kind, namespace, name, "delete")),
        }
    }

    /// Set a Deployment's replicas with a merge patch. A Deployment that does not exist is
    /// fine when asked for zero (a canary never deployed has nothing to scale down).
    pub async fn scale(
        &self,
        namespace: &str,
        deployment: &str,
        replicas: u32,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
        let patch = Patch::Merge(serde_json::json!({ "spec": { "replicas": replicas } }));
        let params = PatchParams::default();
        let what = format!("scale Deployment {namespace}/{deployment}");
        match with_retry(deadline, &what, || api.patch(deployment, &params, &patch)).await {
            Ok(_) => Ok(()),
            Err(RetryError::Permanent(kube::Error::Api(s))) if s.code == 404 && replicas == 0 => {
                Ok(())
            }
            Err(e) => Err(e.into_apply("Deployment", namespace, deployment, "scale")),
        }
    }

    /// Rolling restart, as `kubectl rollout restart` does it: stamp the pod template.
    pub async fn restart(
        &self,
        namespace: &str,
        deployment: &str,
        at: &str,
        deadline: Deadline,
    ) -> Result<(), ApplyError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
        let patch = Patch::Merge(serde_json::json!({ "spec": { "template": { "metadata": {
            "annotations": { "kubectl.kubernetes.io/restartedAt": at } } } } }));
        let params = PatchParams::default();
        let what = format!("restart Deployment {namespace}/{deployment}");
        with_retry(deadline, &what, || api.patch(deployment, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| e.into_apply("Deployment", namespace, deployment, "restart"))
    }

    /// Reads `spec.replicas` of a Deployment back from the cluster (`None`: it does not
    /// exist).
    pub async fn replicas(
        &self,
        namespace: &str,
        deployment: &str,
        deadline: Deadline,
    ) -> Result<Replicas, ApplyError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
        let what = format!("read Deployment {namespace}/{deployment}");
        with_retry(deadline, &what, || api.get_opt(deployment))
            .await
            .map(|d| d.map(|d| d.spec.and_then(|s| s.replicas).map_or(1, i64::from)))
            .map_err(|e| e.into_apply("Deployment", namespace, deployment, "read"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("m", "r")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn blips_are_transient_verdicts_are_permanent() {
        for code in [408, 409, 429, 500, 502, 503, 504] {
            assert_eq!(classify(&api(code)), Class::Transient, "{code}");
        }
        for code in [400, 401, 403, 404, 405, 415, 422] {
            assert_eq!(classify(&api(code)), Class::Permanent, "{code}");
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_the_deadline() {
        let mut calls = 0;
        let out: Result<(), _> = with_retry(Deadline::after(Duration::from_secs(2)), "x", || {
            calls += 1;
            async { Err(api(503)) }
        })
        .await;
        let Err(RetryError::GaveUp(why)) = out else {
            panic!("{out:?}")
        };
        assert!(why.contains("(503)"), "{why}");
        assert!(calls > 2, "{calls}");

        let mut calls = 0;
        let out: Result<(), _> = with_retry(Deadline::after(Duration::from_secs(3)), "x", || {
            calls += 1;
            async { Err(api(422)) }
        })
        .await;
        assert!(matches!(out, Err(RetryError::Permanent(_))));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_call_that_never_answers_is_cut_at_the_deadline() {
        let started = Instant::now();
        let out: Result<(), _> = with_retry(Deadline::after(Duration::from_secs(1)), "x", || {
            std::future::pending::<Result<(), kube::Error>>()
        })
        .await;
        let Err(RetryError::GaveUp(why)) = out else {
            panic!("{out:?}")
        };
        assert!(why.contains("no answer within"), "{why}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
