//! Templates to Kubernetes objects, with minijinja, confined.
//!
//! A template sees `group`, `app`, `namespace`, `track`, `name` (the Deployment's name for
//! that track), `replicas` (for that track), `labels` (the flightdeck labels, ready to put on
//! objects) and `params`. Errors name the template, the line and the reason.
//!
//! # Parameters cannot change the shape of what is rendered
//!
//! Parameters come from whoever may deploy (`--set image=…`), templates from admins. So a
//! parameter's value never goes through the YAML parser: the template is rendered with every
//! *string* in `params` (inside objects and arrays too) replaced by an opaque token — lowercase
//! letters and digits, fixed length, unique to this render — the output is parsed, and only
//! then each token in the parsed strings and map keys is replaced by the parameter's text. A
//! value can therefore never add a key, a line, a list item or a document, whatever quotes,
//! colons, `#`, `---` or `{{ }}` it holds; a string parameter stays a string (`tag: "10"` is
//! rendered as the string `"10"` even where the template writes `{{ params.tag }}` unquoted).
//! Numbers, booleans and null cannot inject anything and are passed as themselves, so
//! `replicas: {{ params.replicas }}` stays a number.
//!
//! What this means for template authors:
//! - String parameters are opaque to control flow: `{% if params.mode == "debug" %}` compares
//!   the token, not the value, and is never true; an empty string is truthy. Use a boolean
//!   parameter for switches. `{% if params.x is defined %}`, `params.x | default("…")`,
//!   `tojson` and loops over objects and arrays work as before.
//! - Filters that transform text do not see the value: one that visibly changes the token
//!   (`upper`, `title`, a slice, `replace`, …) is an error naming the parameter; `lower` and
//!   `trim` leave the token and so the value as it is (the value is not lowered).
//! - Keys of objects in `params` are rendered as text; they are limited to letters, digits,
//!   `_`, `.` and `-`.
//!
//! String parameters are single-line: a control character (newline, tab, ESC, NUL, …) or a
//! value longer than [`MAX_PARAM_BYTES`] is refused ([`check_params`]).
//!
//! # What a template may render
//!
//! A template declares the kinds it renders in `spec.kinds` (default: `Deployment` and
//! `Service`); see [`crate::domain::template::TemplateSpec::kinds`]. A bare kind must be at its
//! standard apiVersion ([`standard_api_version`]); any other kind is declared with its
//! apiVersion (`v1/Pod`, `networking.k8s.io/v1/NetworkPolicy`). Cluster-scoped kinds
//! (Namespace, ClusterRole, CustomResourceDefinition, any `Cluster…` kind, …) can never be
//! declared nor rendered. Every rendered object is checked: its kind is declared; it lives in
//! the group's namespace (`metadata.namespace` is filled in when absent); its name is the
//! group's name or starts with `<group>-`, and a Deployment is exactly the Deployment of the
//! track being rendered (`<group>` or `<group>-canary`). [`check_template`] checks a template
//! before it is stored.
//!
//! A kind given with an explicit apiVersion is taken to be namespaced unless it is a known
//! cluster-scoped kind or starts with `Cluster`: declaring a cluster-scoped custom resource
//! under another name is the template author's (an admin's) responsibility.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::domain::{InstanceGroup, Template, Track, labels};

/// The longest string parameter, in bytes.
pub const MAX_PARAM_BYTES: usize = 4096;

/// The kinds a template without `spec.kinds` may render.
pub const DEFAULT_KINDS: &[&str] = &["Deployment", "Service"];

#[derive(Debug, Error, PartialEq)]
pub enum RenderError {
    #[error("template {template}, line {line}: {reason}")]
    Template {
        template: String,
        line: usize,
        reason: String,
    },
    #[error("template {template} rendered invalid YAML at line {line}: {reason}")]
    Yaml {
        template: String,
        line: usize,
        reason: String,
    },
    #[error(
        "template {template} rendered a document that is not a Kubernetes object (no kind/metadata.name) at document {index}"
    )]
    NotAnObject { template: String, index: usize },
    /// A string parameter (`name` is its path inside `params`) holds a control character.
    #[error("parameter {name} holds a control character ({what}); parameters are single-line")]
    ControlCharacter { name: String, what: String },
    #[error(
        "parameter {name} is {len} bytes long; parameters hold at most {MAX_PARAM_BYTES} bytes"
    )]
    TooLong { name: String, len: usize },
    /// A key of `params` (or of an object inside it) outside `[A-Za-z0-9_.-]+`.
    #[error("parameter name {name:?} is not allowed; names are letters, digits, '_', '.' and '-'")]
    BadName { name: String },
    /// The template did something to a string parameter that its token did not survive, or
    /// a parameter used as a map key repeats a key.
    #[error("template {template}: parameter {name} {reason}")]
    Parameter {
        template: String,
        name: String,
        reason: String,
    },
    /// An entry of `spec.kinds` that is malformed or not allowed.
    #[error("template {template}, kinds entry {entry:?}: {reason}")]
    Kind {
        template: String,
        entry: String,
        reason: String,
    },
    /// A rendered object the template may not render; `object` is `kind/namespace/name`.
    #[error("template {template}, document {index}, {object}: {reason}")]
    Object {
        template: String,
        index: usize,
        object: String,
        reason: String,
    },
}

#[derive(Serialize)]
struct Context<'a> {
    group: &'a str,
    app: &'a str,
    namespace: &'a str,
    track: &'a str,
    name: String,
    replicas: u32,
    labels: BTreeMap<&'static str, String>,
    params: Value,
}

/// Render `template` for one track of `group` with `params` (the revision's parameters).
pub fn render(
    template: &Template,
    group: &InstanceGroup,
    track: Track,
    params: &BTreeMap<String, Value>,
    replicas: u32,
) -> Result<Vec<Value>, RenderError> {
    let tname = template.metadata.name.clone();
    let kinds = allowed_kinds(template)?;
    check_params(params)?;
    let tokens = Tokens::new(params);
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("t", &template.spec.body)
        .map_err(|e| jinja_error(&tname, e))?;
    let name = match track {
        Track::Stable => group.stable_deployment(),
        Track::Canary => group.canary_deployment(),
    };
    let labels = BTreeMap::from([
        (labels::GROUP, group.name().to_string()),
        (labels::APP, group.app().to_string()),
        (labels::TRACK, track.as_str().to_string()),
        (labels::MANAGED_BY, labels::MANAGER.to_string()),
    ]);
    let ctx = Context {
        group: group.name(),
        app: group.app(),
        namespace: &group.spec.namespace,
        track: track.as_str(),
        name: name.clone(),
        replicas,
        labels,
        params: tokens.params.clone(),
    };
    let text = env
        .get_template("t")
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
        .map_err(|e| jinja_error(&tname, e))?;
    let mut out = Vec::new();
    for (index, doc) in serde_norway::Deserializer::from_str(&text).enumerate() {
        let value: Value = serde::Deserialize::deserialize(doc).map_err(|e| RenderError::Yaml {
            template: tname.clone(),
            line: e.location().map(|l| l.line()).unwrap_or(0),
            reason: e.to_string(),
        })?;
        let mut value =
            tokens
                .substitute(value)
                .map_err(|(name, reason)| RenderError::Parameter {
                    template: tname.clone(),
                    name,
                    reason,
                })?;
        if value.is_null() {
            continue;
        }
        let ok = value.get("kind").and_then(|k| k.as_str()).is_some()
            && value
                .pointer("/metadata/name")
                .and_then(|k| k.as_str())
                .is_some();
        if !ok {
            return Err(RenderError::NotAnObject {
                template: tname,
                index,
            });
        }
        check_object(&mut value, &kinds, group, &name).map_err(|(object, reason)| {
            RenderError::Object {
                template: tname.clone(),
                index,
                object,
                reason,
            }
        })?;
        gate_for_drains(&mut value, group);
        out.push(value);
    }
    Ok(out)
}

/// A group whose rollouts drain each old pod (`registration.drainOnRollout`): its
/// Deployment's pods carry the drain gate, and the rollout never takes a pod away before a
/// new one is available (`maxUnavailable: 0`), so the controller decides — by opening the
/// gate only once an old pod is drained — when each old pod goes.
fn gate_for_drains(object: &mut Value, group: &InstanceGroup) {
    let drains = group
        .spec
        .registration
        .as_ref()
        .is_some_and(|r| r.drain_on_rollout);
    if !drains || object.get("kind").and_then(Value::as_str) != Some("Deployment") {
        return;
    }
    let surge = object
        .pointer("/spec/strategy/rollingUpdate/maxSurge")
        .cloned()
        .filter(|v| {
            v.as_u64().is_some_and(|n| n > 0) || v.as_str().is_some_and(|s| s != "0" && s != "0%")
        })
        .unwrap_or(serde_json::json!(1));
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    spec.insert(
        "strategy".into(),
        serde_json::json!({ "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 0, "maxSurge": surge } }),
    );
    let Some(pod) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let gates = pod
        .entry("readinessGates")
        .or_insert_with(|| serde_json::json!([]));
    if !gates.is_array() {
        *gates = serde_json::json!([]);
    }
    if let Some(list) = gates.as_array_mut()
        && !list.iter().any(|g| {
            g.get("conditionType").and_then(Value::as_str)
                == Some(crate::domain::registration::DRAIN_GATE)
        })
    {
        list.push(serde_json::json!({ "conditionType": crate::domain::registration::DRAIN_GATE }));
    }
}

/// Checks a template before it is stored: its `kinds` are well-formed and namespaced, and
/// its body compiles.
pub fn check_template(t: &Template) -> Result<(), RenderError> {
    allowed_kinds(t)?;
    Environment::new()
        .template_from_str(&t.spec.body)
        .map(|_| ())
        .map_err(|e| jinja_error(&t.metadata.name, e))
}

/// Checks parameters as [`render`] does: names in `[A-Za-z0-9_.-]+` (keys of nested
/// objects too), every string single-line (no control character) and at most
/// [`MAX_PARAM_BYTES`] long.
pub fn check_params(params: &BTreeMap<String, Value>) -> Result<(), RenderError> {
    fn key_ok(k: &str) -> bool {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    }
    fn walk(path: &str, v: &Value) -> Result<(), RenderError> {
        match v {
            Value::String(s) => {
                if let Some(c) = s.chars().find(|c| c.is_control() || is_line_separator(*c)) {
                    return Err(RenderError::ControlCharacter {
                        name: path.to_string(),
                        what: control_name(c),
                    });
                }
                if s.len() > MAX_PARAM_BYTES {
                    return Err(RenderError::TooLong {
                        name: path.to_string(),
                        len: s.len(),
                    });
                }
                Ok(())
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| walk(&format!("{path}[{i}]"), v)),
            Value::Object(o) => o.iter().try_for_each(|(k, v)| {
                if !key_ok(k) {
                    return Err(RenderError::BadName {
                        name: format!("{path}.{k}"),
                    });
                }
                walk(&format!("{path}.{k}"), v)
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
    params.iter().try_for_each(|(k, v)| {
        if !key_ok(k) {
            return Err(RenderError::BadName { name: k.clone() });
        }
        walk(k, v)
    })
}

fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

fn control_name(c: char) -> String {
    match c {
        '\n' => "newline".into(),
        '\r' => "carriage return".into(),
        '\t' => "tab".into(),
        '\0' => "NUL".into(),
        '\u{1b}' => "ESC".into(),
        '\u{7f}' => "DEL".into(),
        '\u{2028}' => "line separator".into(),
        '\u{2029}' => "paragraph separator".into(),
        c => format!("U+{:04X}", c as u32),
    }
}

/// The string parameters of one render, each behind a token `fdp` + nonce + index + `x`.
struct Tokens {
    /// 12 lowercase hex digits, fresh for each render, so neither a template nor a value
    /// can hold a token by chance or on purpose.
    nonce: String,
    /// `params` with every string replaced by its token.
    params: Value,
    /// For token `i`: the parameter's path (`params.image`) and its text.
    leaves: Vec<(String, String)>,
}

const PREFIX: &str = "fdp";
const NONCE_LEN: usize = 12;
const INDEX_LEN: usize = 6;
const TOKEN_LEN: usize = PREFIX.len() + NONCE_LEN + INDEX_LEN + 1;

impl Tokens {
    fn new(params: &BTreeMap<String, Value>) -> Tokens {
        let nonce = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        let mut t = Tokens {
            nonce,
            params: Value::Null,
            leaves: Vec::new(),
        };
        let object = params
            .iter()
            .map(|(k, v)| {
                let v = t.tokenize(&format!("params.{k}"), v);
                (k.clone(), v)
            })
            .collect::<Map<_, _>>();
        t.params = Value::Object(object);
        t
    }

    fn tokenize(&mut self, path: &str, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                let i = self.leaves.len();
                self.leaves.push((path.to_string(), s.clone()));
                Value::String(format!("{PREFIX}{}{i:0INDEX_LEN$}x", self.nonce))
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| self.tokenize(&format!("{path}[{i}]"), v))
                    .collect(),
            ),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), self.tokenize(&format!("{path}.{k}"), v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Replaces the tokens in the strings and keys of a parsed document by the parameters'
    /// text; the error is (parameter, reason).
    fn substitute(&self, v: Value) -> Result<Value, (String, String)> {
        Ok(match v {
            Value::String(s) => Value::String(self.replace_in(&s)?.0),
            Value::Array(a) => Value::Array(
                a.into_iter()
                    .map(|v| self.substitute(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    let (key, first) = self.replace_in(&k)?;
                    let v = self.substitute(v)?;
                    if let Some(i) = first
                        && out.contains_key(&key)
                    {
                        return Err((
                            self.leaves[i].0.clone(),
                            format!("used as a key repeats the key {key:?}"),
                        ));
                    }
                    out.insert(key, v);
                }
                Value::Object(out)
            }
            other => other,
        })
    }

    /// `s` with each token replaced by its parameter's text (never rescanned), and the
    /// first parameter found; any other trace of a token is an error.
    fn replace_in(&self, s: &str) -> Result<(String, Option<usize>), (String, String)> {
        // ASCII lowercasing keeps every byte offset.
        let lower = s.to_ascii_lowercase();
        let bytes = s.as_bytes();
        let mut out = String::new();
        let mut first = None;
        let mut pos = 0;
        // Half the nonce is enough to notice a token a filter or a slice has changed.
        while let Some(off) = lower[pos..].find(&self.nonce[..NONCE_LEN / 2]) {
            let at = pos + off;
            let start = at.checked_sub(PREFIX.len()).filter(|&st| st >= pos);
            let whole_nonce = lower.get(at..at + NONCE_LEN) == Some(self.nonce.as_str());
            let digits = bytes
                .get(at + NONCE_LEN..at + NONCE_LEN + INDEX_LEN)
                .filter(|_| whole_nonce);
            let index = digits
                .filter(|d| d.iter().all(u8::is_ascii_digit))
                .and_then(|d| std::str::from_utf8(d).ok()?.parse::<usize>().ok())
                .filter(|&i| i < self.leaves.len());
            let exact = start.is_some_and(|st| &bytes[st..at] == PREFIX.as_bytes())
                && bytes.get(at..at + NONCE_LEN) == Some(self.nonce.as_bytes())
                && bytes.get(at + NONCE_LEN + INDEX_LEN) == Some(&b'x');
            match (start, index) {
                (Some(st), Some(i)) if exact => {
                    out.push_str(&s[pos..st]);
                    out.push_str(&self.leaves[i].1);
                    first.get_or_insert(i);
                    pos = st + TOKEN_LEN;
                }
                _ => {
                    let name = index
                        .map(|i| self.leaves[i].0.clone())
                        .unwrap_or_else(|| "params.?".to_string());
                    return Err((
                        name,
                        "was changed by a filter; string parameters are inserted as they are"
                            .to_string(),
                    ));
                }
            }
        }
        out.push_str(&s[pos..]);
        Ok((out, first))
    }
}

/// The standard apiVersion of a well-known namespaced kind, which may be declared bare.
pub fn standard_api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => "apps/v1",
        "Service" | "ConfigMap" | "Secret" | "ServiceAccount" | "PersistentVolumeClaim" => "v1",
        "Ingress" => "networking.k8s.io/v1",
        "HorizontalPodAutoscaler" => "autoscaling/v2",
        "PodDisruptionBudget" => "policy/v1",
        "CronJob" | "Job" => "batch/v1",
        _ => return None,
    })
}

/// Kinds that are not namespaced: never declared, never rendered.
pub fn is_cluster_scoped(kind: &str) -> bool {
    kind.starts_with("Cluster")
        || matches!(
            kind,
            "Namespace"
                | "Node"
                | "PersistentVolume"
                | "CustomResourceDefinition"
                | "StorageClass"
                | "PriorityClass"
                | "ValidatingWebhookConfiguration"
                | "MutatingWebhookConfiguration"
                | "ValidatingAdmissionPolicy"
                | "ValidatingAdmissionPolicyBinding"
                | "MutatingAdmissionPolicy"
                | "MutatingAdmissionPolicyBinding"
                | "APIService"
                | "RuntimeClass"
                | "IngressClass"
                | "CSIDriver"
                | "CSINode"
                | "VolumeAttachment"
                | "CertificateSigningRequest"
                | "FlowSchema"
                | "PriorityLevelConfiguration"
                | "ComponentStatus"
                | "TokenReview"
                | "SubjectAccessReview"
                | "SelfSubjectAccessReview"
                | "SelfSubjectRulesReview"
                | "SelfSubjectReview"
                | "IPAddress"
                | "ServiceCIDR"
                | "DeviceClass"
                | "ResourceSlice"
                | "GatewayClass"
        )
}

/// The (apiVersion, kind) pairs `t` may render.
fn allowed_kinds(t: &Template) -> Result<Vec<(String, String)>, RenderError> {
    let err = |entry: &str, reason: String| RenderError::Kind {
        template: t.metadata.name.clone(),
        entry: entry.to_string(),
        reason,
    };
    let defaults: Vec<String>;
    let entries = if t.spec.kinds.is_empty() {
        defaults = DEFAULT_KINDS.iter().map(|k| k.to_string()).collect();
        &defaults
    } else {
        &t.spec.kinds
    };
    let mut out = Vec::new();
    for entry in entries {
        let (api_version, kind) = match entry.rsplit_once('/') {
            Some((av, kind)) => (Some(av), kind),
            None => (None, entry.as_str()),
        };
        let kind_ok = kind.starts_with(|c: char| c.is_ascii_uppercase())
            && kind.chars().all(|c| c.is_ascii_alphanumeric());
        if !kind_ok {
            return Err(err(
                entry,
                format!("{kind:?} is not a Kind (a capital letter, then letters and digits)"),
            ));
        }
        if is_cluster_scoped(kind) {
            return Err(err(
                entry,
                format!("{kind} is cluster-scoped; a template renders only namespaced objects"),
            ));
        }
        let api_version = match api_version {
            None => match standard_api_version(kind) {
                Some(av) => av.to_string(),
                None => {
                    return Err(err(
                        entry,
                        format!(
                            "{kind} is not a well-known kind; write it with its apiVersion (group/version/{kind}, or v1/{kind} for the core group)"
                        ),
                    ));
                }
            },
            Some(av) if api_version_ok(av) => av.to_string(),
            Some(av) => {
                return Err(err(
                    entry,
                    format!("{av:?} is not an apiVersion (group/version or v1)"),
                ));
            }
        };
        out.push((api_version, kind.to_string()));
    }
    Ok(out)
}

fn api_version_ok(av: &str) -> bool {
    let version_ok = |v: &str| {
        v.len() >= 2
            && v.starts_with('v')
            && v[1..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && v.as_bytes()[1].is_ascii_digit()
    };
    let group_ok = |g: &str| {
        !g.is_empty()
            && g.len() <= 253
            && g.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
    };
    match av.split_once('/') {
        Some((group, version)) => group_ok(group) && version_ok(version),
        None => version_ok(av),
    }
}

/// Checks one rendered object (and fills in its namespace); the error is
/// (`kind/namespace/name`, reason).
fn check_object(
    obj: &mut Value,
    kinds: &[(String, String)],
    group: &InstanceGroup,
    deployment: &str,
) -> Result<(), (String, String)> {
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = &group.spec.namespace;
    let namespace = match obj["metadata"].get("namespace") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err((
                format!("{kind}/{other}/{name}"),
                "metadata.namespace is not a string".into(),
            ));
        }
    };
    let object = format!("{kind}/{}/{name}", namespace.as_deref().unwrap_or(ns));
    let refuse = |reason: String| Err((object.clone(), reason));
    if is_cluster_scoped(&kind) {
        return refuse(format!(
            "{kind} is cluster-scoped; a template renders only namespaced objects"
        ));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str);
    let declared = kinds
        .iter()
        .any(|(av, k)| *k == kind && Some(av.as_str()) == api_version);
    if !declared {
        let list = kinds
            .iter()
            .map(|(av, k)| format!("{av}/{k}"))
            .collect::<Vec<_>>()
            .join(", ");
        return refuse(match api_version {
            Some(av) => format!("{av}/{kind} is not among the template's kinds ({list})"),
            None => format!("it has no apiVersion; the template's kinds are {list}"),
        });
    }
    if let Some(other) = &namespace
        && other != ns
    {
        return refuse(format!(
            "it names namespace {other}, the group's namespace is {ns}"
        ));
    }
    if kind == "Deployment" {
        if name != deployment {
            return refuse(format!(
                "the Deployment of this track must be named {deployment}"
            ));
        }
        // The engine sets `spec.replicas` per track: `spec` must be an object to hold it.
        match obj.get("spec") {
            None | Some(Value::Object(_)) => {}
            Some(other) => {
                return refuse(format!(
                    "the Deployment's spec is {}, not an object",
                    json_type(other)
                ));
            }
        }
    } else if name != group.name() && !name.starts_with(&format!("{}-", group.name())) {
        return refuse(format!(
            "the name must be {g} or start with {g}-",
            g = group.name()
        ));
    }
    if namespace.is_none()
        && let Some(metadata) = obj.get_mut("metadata").and_then(Value::as_object_mut)
    {
        metadata.insert("namespace".into(), Value::String(ns.clone()));
    }
    Ok(())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn jinja_error(template: &str, e: minijinja::Error) -> RenderError {
    RenderError::Template {
        template: template.to_string(),
        line: e.line().unwrap_or(0),
        reason: e
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.kind().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::domain::template::{TemplateMetadata, TemplateSpec};

    fn group() -> InstanceGroup {
        serde_norway::from_str(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {name: web, app: shop}\n\
             spec: {cluster: c, namespace: ns, template: t, params: {image: img, tag: v1, replicas: 3}}",
        )
        .unwrap()
    }

    fn template(body: &str) -> Template {
        Template {
            api_version: "flightdeck/v1".into(),
            kind: "Template".into(),
            metadata: TemplateMetadata { name: "t".into() },
            spec: TemplateSpec {
                body: body.into(),
                kinds: Vec::new(),
            },
        }
    }

    #[test]
    fn renders_labels_and_params() {
        let t = template(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ name }}\n  namespace: {{ namespace }}\n  labels: {{ labels | tojson }}\nspec:\n  replicas: {{ replicas }}\n  template:\n    spec:\n      containers: [{name: app, image: \"{{ params.image }}:{{ params.tag }}\"}]\n",
        );
        let g = group();
        let objs = render(&t, &g, Track::Canary, &g.spec.params, 1).unwrap();
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0]["metadata"]["name"], "web-canary");
        assert_eq!(
            objs[0]["metadata"]["labels"]["flightdeck.dev/track"],
            "canary"
        );
        assert_eq!(objs[0]["spec"]["replicas"], 1);
        assert_eq!(
            objs[0]["spec"]["template"]["spec"]["containers"][0]["image"],
            "img:v1"
        );
    }

    #[test]
    fn a_group_that_drains_on_rollout_gates_its_pods_and_never_loses_one_first() {
        let body = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ name }}\n  labels: {{ labels | tojson }}\nspec:\n  replicas: {{ replicas }}\n  strategy: {rollingUpdate: {maxUnavailable: 2, maxSurge: 3}}\n  template:\n    spec:\n      containers: [{name: app, image: x}]\n";
        let t = template(body);
        let mut g = group();
        let plain = render(&t, &g, Track::Stable, &g.spec.params, 3).unwrap();
        assert!(
            plain[0]
                .pointer("/spec/template/spec/readinessGates")
                .is_none()
        );
        g.spec.registration =
            Some(serde_norway::from_str("{prefix: /services, drainOnRollout: true}").unwrap());
        let gated = render(&t, &g, Track::Stable, &g.spec.params, 3).unwrap();
        assert_eq!(
            gated[0]["spec"]["template"]["spec"]["readinessGates"],
            json!([{ "conditionType": crate::domain::registration::DRAIN_GATE }])
        );
        assert_eq!(
            gated[0]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
            0
        );
        assert_eq!(gated[0]["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 3);
    }

    #[test]
    fn undefined_parameter_names_the_line() {
        let t = template("kind: Deployment\nmetadata:\n  name: {{ params.nope }}\n");
        let g = group();
        let err = render(&t, &g, Track::Stable, &g.spec.params, 1).unwrap_err();
        match err {
            RenderError::Template { line, .. } => assert_eq!(line, 3),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn broken_yaml_is_refused() {
        let t = template("kind: Deployment\nmetadata: [\n");
        let g = group();
        assert!(matches!(
            render(&t, &g, Track::Stable, &g.spec.params, 1),
            Err(RenderError::Yaml { .. })
        ));
    }

    fn deployment(image_line: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ name }}}}\n  labels: {{{{ labels | tojson }}}}\nspec:\n  replicas: {{{{ replicas }}}}\n  template:\n    spec:\n      containers:\n        - name: app\n          {image_line}\n"
        )
    }

    fn with_params(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        let mut p = group().spec.params.clone();
        for (k, v) in pairs {
            p.insert(k.to_string(), v.clone());
        }
        p
    }

    fn render_err(t: &Template, params: &BTreeMap<String, Value>) -> RenderError {
        render(t, &group(), Track::Stable, params, 1).unwrap_err()
    }

    #[test]
    fn a_newline_in_a_parameter_is_refused_before_rendering() {
        let t = template(&deployment("image: \"{{ params.image }}\""));
        let evil = "x\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: evil}";
        let err = render_err(&t, &with_params(&[("image", json!(evil))]));
        assert_eq!(
            err,
            RenderError::ControlCharacter {
                name: "image".into(),
                what: "newline".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "parameter image holds a control character (newline); parameters are single-line"
        );
        for (c, what) in [
            ("\u{1b}[2J", "ESC"),
            ("a\0b", "NUL"),
            ("a\rb", "carriage return"),
        ] {
            let err = render_err(&t, &with_params(&[("env", json!({ "A": [c] }))]));
            assert_eq!(
                err,
                RenderError::ControlCharacter {
                    name: "env.A[0]".into(),
                    what: what.into()
                }
            );
        }
    }

    #[test]
    fn long_parameters_and_odd_names_are_refused() {
        let t = template(&deployment("image: \"{{ params.image }}\""));
        let long = "a".repeat(MAX_PARAM_BYTES + 1);
        assert!(matches!(
            render_err(&t, &with_params(&[("image", json!(long))])),
            RenderError::TooLong { name, len } if name == "image" && len == MAX_PARAM_BYTES + 1
        ));
        let ok = "a".repeat(MAX_PARAM_BYTES);
        let objs = render(
            &t,
            &group(),
            Track::Stable,
            &with_params(&[("image", json!(ok))]),
            1,
        )
        .unwrap();
        assert_eq!(
            objs[0]
                .pointer("/spec/template/spec/containers/0/image")
                .unwrap(),
            &json!(ok)
        );
        for bad in ["a b", "a:b", "", "x{"] {
            assert_eq!(
                render_err(&t, &with_params(&[(bad, json!("v"))])),
                RenderError::BadName { name: bad.into() }
            );
        }
        assert_eq!(
            render_err(&t, &with_params(&[("env", json!({"A: b": "v"}))])),
            RenderError::BadName {
                name: "env.A: b".into()
            }
        );
    }

    /// Quotes, `: `, braces, `---`, `#` and template syntax in a value reach the object
    /// byte for byte, and add no key and no document — quoted, unquoted or inside a string.
    #[test]
    fn a_hostile_value_is_inserted_as_it_is() {
        let evil = r#"x" y: 'z' {a: b} --- #c {{ group }} {% if 1 %}q{% endif %} ] , & *r !!s"#;
        for line in [
            "image: \"{{ params.image }}\"",
            "image: {{ params.image }}",
            "image: '{{ params.image }}'",
            "image: {{ params.image | tojson }}",
        ] {
            let t = template(&deployment(line));
            let objs = render(
                &t,
                &group(),
                Track::Stable,
                &with_params(&[("image", json!(evil))]),
                1,
            )
            .unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(objs.len(), 1, "{line}");
            let container = &objs[0]["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(container, &json!({"name": "app", "image": evil}), "{line}");
            let keys: Vec<&String> = objs[0].as_object().unwrap().keys().collect();
            assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"], "{line}");
        }
        // Inside a longer string, next to another parameter.
        let t = template(&deployment(
            "image: \"{{ params.image }}:{{ params.tag }}\"",
        ));
        let objs = render(
            &t,
            &group(),
            Track::Stable,
            &with_params(&[("image", json!(evil))]),
            1,
        )
        .unwrap();
        assert_eq!(
            objs[0]["spec"]["template"]["spec"]["containers"][0]["image"],
            json!(format!("{evil}:v1"))
        );
    }

    #[test]
    fn numbers_stay_numbers_and_strings_stay_strings() {
        let t = template(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: {{ params.replicas }}\n  paused: {{ params.paused }}\n  revisionHistoryLimit: {{ params.history }}\n  minReadySeconds: {{ params.ready }}\n",
        );
        let params = with_params(&[
            ("paused", json!(false)),
            ("history", json!("10")),
            ("ready", Value::Null),
        ]);
        let objs = render(&t, &group(), Track::Stable, &params, 1).unwrap();
        assert_eq!(objs[0]["spec"]["replicas"], json!(3));
        assert_eq!(objs[0]["spec"]["paused"], json!(false));
        assert_eq!(objs[0]["spec"]["revisionHistoryLimit"], json!("10"));
    }

    #[test]
    fn a_parameter_as_a_key_cannot_repeat_a_key() {
        let t = template(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: { {{ params.k }}: x, app: y }\n",
        );
        let objs = render(
            &t,
            &group(),
            Track::Stable,
            &with_params(&[("k", json!("tier"))]),
            1,
        )
        .unwrap();
        assert_eq!(
            objs[0]["metadata"]["labels"],
            json!({"tier": "x", "app": "y"})
        );
        let err = render_err(&t, &with_params(&[("k", json!("app"))]));
        assert!(
            matches!(&err, RenderError::Parameter { name, .. } if name == "params.k"),
            "{err}"
        );
    }

    #[test]
    fn a_filter_that_changes_a_parameter_is_reported() {
        let t = template(&deployment("image: \"{{ params.image | upper }}\""));
        let err = render_err(&t, &group().spec.params);
        assert_eq!(
            err.to_string(),
            "template t: parameter params.image was changed by a filter; string parameters are inserted as they are"
        );
        let t = template(&deployment("image: \"{{ params.tag[:10] }}\""));
        assert!(matches!(
            render_err(&t, &group().spec.params),
            RenderError::Parameter { .. }
        ));
        // default() still works, for a missing and for a present parameter.
        let t = template(&deployment(
            "image: \"{{ params.nope | default('none') }}/{{ params.image | default('x') }}\"",
        ));
        let objs = render(&t, &group(), Track::Stable, &group().spec.params, 1).unwrap();
        assert_eq!(
            objs[0]["spec"]["template"]["spec"]["containers"][0]["image"],
            "none/img"
        );
    }

    fn object_refusal(body: &str, kinds: &[&str]) -> (String, String) {
        let mut t = template(body);
        t.spec.kinds = kinds.iter().map(|k| k.to_string()).collect();
        match render(&t, &group(), Track::Stable, &group().spec.params, 1) {
            Err(RenderError::Object { object, reason, .. }) => (object, reason),
            other => panic!("expected a refused object, got {other:?}"),
        }
    }

    #[test]
    fn objects_outside_the_groups_reach_are_refused() {
        let ok = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n";
        let (object, reason) = object_refusal(
            &format!("{ok}apiVersion: v1\nkind: Namespace\nmetadata: {{name: evil}}\n"),
            &[],
        );
        assert_eq!(object, "Namespace/ns/evil");
        assert!(reason.contains("cluster-scoped"), "{reason}");

        let (object, reason) = object_refusal(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: kube-system}\n",
            &[],
        );
        assert_eq!(object, "Deployment/kube-system/web");
        assert!(reason.contains("namespace kube-system"), "{reason}");

        let (object, reason) = object_refusal(
            &format!("{ok}apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web-config}}\n"),
            &[],
        );
        assert_eq!(object, "ConfigMap/ns/web-config");
        assert!(
            reason.contains("not among the template's kinds"),
            "{reason}"
        );

        let (object, reason) = object_refusal(
            &format!("{ok}apiVersion: v1\nkind: Service\nmetadata: {{name: api}}\n"),
            &[],
        );
        assert_eq!(object, "Service/ns/api");
        assert!(reason.contains("start with web-"), "{reason}");

        // The stable track renders the stable Deployment only.
        let (object, _) = object_refusal(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-canary}\n",
            &[],
        );
        assert_eq!(object, "Deployment/ns/web-canary");
        // A bare well-known kind at another apiVersion, or without one.
        let (_, reason) = object_refusal(
            "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web}\n",
            &[],
        );
        assert!(reason.contains("extensions/v1beta1/Deployment"), "{reason}");
        object_refusal("kind: Deployment\nmetadata: {name: web}\n", &[]);

        let err = render_err(
            &template(&format!(
                "{ok}apiVersion: v1\nkind: Service\nmetadata: {{name: api}}\n"
            )),
            &group().spec.params,
        );
        assert_eq!(
            err.to_string(),
            "template t, document 1, Service/ns/api: the name must be web or start with web-"
        );
    }

    #[test]
    fn declared_objects_render_in_the_groups_namespace() {
        let mut t = template(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: ns}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: web}\n",
        );
        t.spec.kinds = vec![
            "Deployment".into(),
            "ConfigMap".into(),
            "example.com/v1/Widget".into(),
        ];
        check_template(&t).unwrap();
        let objs = render(&t, &group(), Track::Stable, &group().spec.params, 1).unwrap();
        assert_eq!(objs.len(), 3);
        for o in &objs {
            assert_eq!(o["metadata"]["namespace"], "ns");
        }
    }

    #[test]
    fn check_template_refuses_bad_kinds_and_syntax() {
        let check = |kinds: &[&str]| {
            let mut t = template("kind: Deployment\n");
            t.spec.kinds = kinds.iter().map(|k| k.to_string()).collect();
            check_template(&t)
        };
        check(&[]).unwrap();
        check(&[
            "Deployment",
            "Service",
            "v1/Pod",
            "networking.k8s.io/v1/NetworkPolicy",
        ])
        .unwrap();
        let err = check(&["Deployment", "ClusterRole"]).unwrap_err();
        assert!(
            matches!(&err, RenderError::Kind { entry, reason, .. }
                if entry == "ClusterRole" && reason.contains("cluster-scoped")),
            "{err}"
        );
        for bad in [
            "v1/Namespace",
            "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
            "apiextensions.k8s.io/v1/CustomResourceDefinition",
            "Widget",
            "deployment",
            "Apps/v1/Deployment",
            "apps/1/Deployment",
            "/Deployment",
        ] {
            assert!(
                matches!(check(&[bad]), Err(RenderError::Kind { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            check_template(&template("{% if %}")),
            Err(RenderError::Template { line: 1, .. })
        ));
    }

    #[test]
    fn a_deployment_whose_spec_is_not_an_object_is_refused() {
        for spec in ["5", "[1, 2]", "\"x\""] {
            let t = template(&format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ name }}}}\nspec: {spec}\n"
            ));
            let err = render_err(&t, &group().spec.params);
            assert!(
                matches!(&err, RenderError::Object { reason, .. } if reason.contains("spec is") && reason.contains("not an object")),
                "{err}"
            );
        }
    }
}
