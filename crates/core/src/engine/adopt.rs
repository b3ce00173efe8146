//! Adopting what already runs (`flightdeck groups import`): running Deployments and
//! CronJobs → templates of their common shape with parameters for what differs, and one
//! group each whose first revision renders back exactly the object as it runs.
//!
//! Pure: the controller reads the cluster and writes the store; this decides what to write.
//!
//! # Why nothing restarts
//! A Deployment's pods restart when its pod template changes, and its `spec.selector`
//! cannot change at all. So the first revision is the running object itself — less what
//! the server owns (status, uid, resourceVersion, managedFields, timestamps, the
//! rollout-revision annotation, kubectl's last-applied copy) — plus the flightdeck labels
//! on the Deployment's *own* metadata, never on its pod template. Re-applying it (the
//! controller does at adoption, on a re-apply and on a rollback) changes no pod.
//!
//! # Later deploys
//! The template keeps the original selector and pod labels, so the API accepts every later
//! revision. It adds the flightdeck labels to the pod template behind the boolean
//! parameter [`POD_LABELS`]: the first revision has it `false` (what runs), the group's own
//! parameters `true`, so the first deploy's pods carry the labels that the console, logs and
//! health read (the adoption labels the pods that run by hand, metadata only).
//!
//! A CronJob's pod template restarts nothing that runs (only the next Job sees it), so it
//! gets the flightdeck labels from the first revision on.
//!
//! # Shapes
//! Objects of one kind with the same structure (the same keys everywhere, the same list
//! lengths) share a template; a value that differs between them is a parameter (one for
//! each distinct column of values, so the `app` label of the selector, the pod template and
//! the metadata is one parameter). The first container's image is always `image` + `tag`,
//! the replica count `replicas`. Every adoption is checked by rendering each group's first
//! revision and comparing it with the running object: a plan that would not give back
//! exactly what runs is refused, never applied.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::domain::group::{GroupMetadata, GroupSpec, Rolling, Strategy, Workload};
use crate::domain::template::{TemplateMetadata, TemplateSpec};
use crate::domain::{InstanceGroup, Template, Track, labels};
use crate::engine::render::{check_params, render};

/// The boolean parameter that puts the flightdeck labels on an adopted Deployment's pod
/// template: `false` in the first revision (exactly what runs), `true` in the group.
pub const POD_LABELS: &str = "flightdeckPodLabels";

/// Annotations the server or kubectl write, which a revision must not carry: the
/// rollout's revision counter moves by itself, and kubectl's copy is its own business.
const SERVER_ANNOTATIONS: &[&str] = &[
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
    labels::REVISION,
];

/// One adopted object: its group and the first revision's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Adopted {
    /// Parameters as later deploys use them.
    pub group: InstanceGroup,
    /// The first revision's parameters: rendering them gives back `first_objects`.
    pub first_params: BTreeMap<String, Value>,
    /// The first revision's objects: the object as it runs plus the flightdeck labels.
    pub first_objects: Vec<Value>,
    /// A CronJob's `spec.suspend` as it runs (the release keeps it).
    pub suspended: bool,
}

/// What an import writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Adoption {
    pub templates: Vec<Template>,
    pub groups: Vec<Adopted>,
}

/// The kinds an import adopts.
pub fn workload_of(obj: &Value) -> Option<Workload> {
    match (
        obj.get("apiVersion").and_then(Value::as_str),
        obj.get("kind").and_then(Value::as_str),
    ) {
        (Some("apps/v1"), Some("Deployment")) => Some(Workload::Service),
        (Some("batch/v1"), Some("CronJob")) => Some(Workload::Cron),
        _ => None,
    }
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn what(obj: &Value) -> String {
    format!(
        "{} {}",
        obj.get("kind").and_then(Value::as_str).unwrap_or("object"),
        name_of(obj)
    )
}

/// Where the pod template sits in an object of this kind.
fn pod_template_pointer(kind: Workload) -> &'static str {
    match kind {
        Workload::Service => "/spec/template",
        Workload::Cron => "/spec/jobTemplate/spec/template",
    }
}

/// Why flightdeck must not adopt `obj`, if it must not: it is flightdeck's already, or
/// something else (an operator, a Helm-less parent) owns it and would fight over it.
pub fn refuse_reason(obj: &Value) -> Option<String> {
    let l = obj.pointer("/metadata/labels");
    let label = |k: &str| l.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(g) = label(labels::GROUP) {
        return Some(format!(
            "{} is already flightdeck's (label {}={g})",
            what(obj),
            labels::GROUP
        ));
    }
    if label(labels::MANAGED_BY) == Some(labels::MANAGER) {
        return Some(format!(
            "{} is already managed by flightdeck (label {}={})",
            what(obj),
            labels::MANAGED_BY,
            labels::MANAGER
        ));
    }
    if let Some(owners) = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .filter(|o| !o.is_empty())
    {
        let by: Vec<String> = owners
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o.get("kind").and_then(Value::as_str).unwrap_or("?"),
                    o.get("name").and_then(Value::as_str).unwrap_or("?")
                )
            })
            .collect();
        return Some(format!(
            "{} is owned by {} (its owner would undo flightdeck's changes)",
            what(obj),
            by.join(", ")
        ));
    }
    None
}

/// The object as it runs, less what the server owns: what a revision may re-apply.
pub fn clean(obj: &Value, kind: Workload) -> Value {
    let mut out = obj.clone();
    if let Some(o) = out.as_object_mut() {
        o.remove("status");
    }
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
        if let Some(notes) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            notes.retain(|k, _| !SERVER_ANNOTATIONS.contains(&k.as_str()));
        }
        for k in ["labels", "annotations"] {
            if meta
                .get(k)
                .is_some_and(|v| v.is_null() || v.as_object().is_some_and(Map::is_empty))
            {
                meta.remove(k);
            }
        }
    }
    // `creationTimestamp: null` is how Go serialises an unset time in a pod template.
    for p in [
        format!("{}/metadata", pod_template_pointer(kind)),
        "/spec/jobTemplate/metadata".to_string(),
    ] {
        if let Some(m) = out.pointer_mut(&p).and_then(Value::as_object_mut)
            && m.get("creationTimestamp").is_some_and(Value::is_null)
        {
            m.remove("creationTimestamp");
        }
    }
    out
}

/// The first container's image as (image, tag): flightdeck deploys by tag.
fn split_image(obj: &Value, kind: Workload) -> Result<(String, String), String> {
    let p = format!("{}/spec/containers/0/image", pod_template_pointer(kind));
    let image = obj
        .pointer(&p)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{} has no container image", what(obj)))?;
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return Err(format!(
            "{}: image {image} is pinned by digest; flightdeck deploys by tag (give it a tag first)",
            what(obj)
        ));
    }
    match last.rsplit_once(':') {
        Some((_, tag)) if !tag.is_empty() => {
            let cut = image.len() - tag.len() - 1;
            Ok((image[..cut].to_string(), tag.to_string()))
        }
        _ => Err(format!(
            "{}: image {image} has no tag; flightdeck deploys by tag (give it one, e.g. {image}:latest)",
            what(obj)
        )),
    }
}

/// The app a group belongs to: the usual app labels, else its own name.
fn app_of(obj: &Value) -> String {
    let l = obj.pointer("/metadata/labels");
    ["app.kubernetes.io/part-of", "app.kubernetes.io/name", "app"]
        .iter()
        .find_map(|k| l.and_then(|l| l.get(*k)).and_then(Value::as_str))
        .filter(|a| !a.trim().is_empty())
        .unwrap_or(name_of(obj))
        .to_string()
}

/// The flightdeck labels as a revision carries them.
fn flightdeck_labels(group: &str, app: &str) -> Map<String, Value> {
    [
        (labels::GROUP, group),
        (labels::APP, app),
        (labels::TRACK, Track::Stable.as_str()),
        (labels::MANAGED_BY, labels::MANAGER),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect()
}

/// Adds `extra` to the labels of the metadata at `pointer` (made when absent: a CronJob's
/// pod template may have none).
fn add_labels(obj: &mut Value, pointer: &str, extra: &Map<String, Value>) {
    let mut meta = obj;
    for part in pointer.split('/').skip(1) {
        if !meta[part].is_object() {
            meta[part] = json!({});
        }
        meta = &mut meta[part];
    }
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    if let Some(l) = meta["labels"].as_object_mut() {
        l.extend(extra.clone());
    }
}

/// The first revision's objects: the object as it runs plus the flightdeck labels on its
/// own metadata (and, for a CronJob, on its Jobs' pod template).
fn first_objects(running: &Value, kind: Workload, group: &str, app: &str) -> Value {
    let mut out = running.clone();
    let fd = flightdeck_labels(group, app);
    add_labels(&mut out, "/metadata", &fd);
    if kind == Workload::Cron {
        add_labels(
            &mut out,
            &format!("{}/metadata", pod_template_pointer(kind)),
            &fd,
        );
    }
    out
}

/// Markers put into the skeleton where the template says something, replaced in its text.
struct Markers {
    nonce: String,
    /// For marker `i`: the template text that replaces it.
    texts: Vec<String>,
}

impl Markers {
    fn new() -> Markers {
        Markers {
            nonce: format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
            texts: Vec::new(),
        }
    }

    fn mark(&mut self, text: impl Into<String>) -> Value {
        let i = self.texts.len();
        self.texts.push(text.into());
        Value::String(self.token(i))
    }

    fn token(&self, i: usize) -> String {
        format!("fdimport{}{i:05}x", self.nonce)
    }

    /// `body` with every marker scalar replaced by its template text. A marker is a plain
    /// scalar of letters and digits, which YAML writes as it is.
    fn fill(&self, body: &str) -> String {
        let mut out = body.to_string();
        // Highest first, so marker 1 does not eat the start of marker 10.
        for i in (0..self.texts.len()).rev() {
            out = out.replace(&self.token(i), &self.texts[i]);
        }
        out
    }
}

/// Template text that must not reach minijinja as text.
fn jinja_like(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// The structure of a value: its keys and list lengths, scalars erased.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        _ => Value::Null,
    }
}

/// Builds one template's skeleton from same-shaped objects: equal values stay, a column
/// of differing scalars becomes a parameter.
struct Columns {
    /// Parameter name → its value in each object (in order).
    params: BTreeMap<String, Vec<Value>>,
}

impl Columns {
    fn name_for(&mut self, hint: &str, column: &[Value]) -> String {
        if let Some((name, _)) = self.params.iter().find(|(_, c)| c.as_slice() == column) {
            return name.clone();
        }
        let base: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let base = if base.is_empty() {
            "value".into()
        } else {
            base
        };
        let reserved = ["image", "tag", "replicas", POD_LABELS];
        let mut name = base.clone();
        let mut n = 2;
        while self.params.contains_key(&name) || reserved.contains(&name.as_str()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.params.insert(name.clone(), column.to_vec());
        name
    }

    /// `values` (one per object, all of the same shape) as the skeleton's value there.
    fn merge(&mut self, values: &[&Value], hint: &str, markers: &mut Markers) -> Value {
        let first = values[0];
        match first {
            Value::Object(o) => Value::Object(
                o.keys()
                    .map(|k| {
                        let column: Vec<&Value> = values.iter().map(|v| &v[k]).collect();
                        // A list item named by `name` (an env var, a port) names its values.
                        let hint = match first.get("name").and_then(Value::as_str) {
                            Some(n) if k == "value" => n.to_string(),
                            _ => k.rsplit('/').next().unwrap_or(k).to_string(),
                        };
                        (k.clone(), self.merge(&column, &hint, markers))
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(
                (0..a.len())
                    .map(|i| {
                        let column: Vec<&Value> = values.iter().map(|v| &v[i]).collect();
                        self.merge(&column, hint, markers)
                    })
                    .collect(),
            ),
            scalar => {
                let same = values.iter().all(|v| *v == scalar);
                let literal = !matches!(scalar, Value::String(s) if jinja_like(s));
                if same && literal {
                    return scalar.clone();
                }
                let column: Vec<Value> = values.iter().map(|v| (*v).clone()).collect();
                let name = self.name_for(hint, &column);
                let text = if scalar.is_null() {
                    format!("{{{{ params.{name} | tojson }}}}")
                } else {
                    format!("{{{{ params.{name} }}}}")
                };
                markers.mark(text)
            }
        }
    }
}

/// Plans the adoption of `objects` (Deployments and CronJobs as the cluster returned
/// them, already checked with [`refuse_reason`]) into `cluster`/`namespace`.
pub fn plan(cluster: &str, namespace: &str, objects: &[Value]) -> Result<Adoption, String> {
    // Families: objects of one kind and one shape share a template (first seen first).
    struct Member {
        kind: Workload,
        running: Value,
        name: String,
        app: String,
        image: String,
        tag: String,
    }
    let mut families: Vec<(Workload, Value, Vec<Member>)> = Vec::new();
    for obj in objects {
        let kind = workload_of(obj)
            .ok_or_else(|| format!("{}: only Deployments and CronJobs are adopted", what(obj)))?;
        if let Some(why) = refuse_reason(obj) {
            return Err(why);
        }
        let running = clean(obj, kind);
        let (image, tag) = split_image(&running, kind)?;
        let name = name_of(obj).to_string();
        let app = app_of(obj);
        let mut skeleton = running.clone();
        // What the template writes itself is left out of the shape.
        if let Some(m) = skeleton.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("name");
            m.remove("namespace");
        }
        let sig = shape(&skeleton);
        let member = Member {
            kind,
            running,
            name,
            app,
            image,
            tag,
        };
        match families
            .iter_mut()
            .find(|(k, s, _)| *k == kind && *s == sig)
        {
            Some((_, _, members)) => members.push(member),
            None => families.push((kind, sig, vec![member])),
        }
    }
    let mut adoption = Adoption {
        templates: Vec::new(),
        groups: Vec::new(),
    };
    for (kind, _, members) in families {
        // Named by namespace too: the same app imported from staging and from prod.
        let tname = format!("imported-{namespace}-{}", members[0].name);
        let mut markers = Markers::new();
        let name_text = match kind {
            Workload::Service => "\"{{ name }}\"",
            Workload::Cron => "\"{{ group }}\"",
        };
        let mut columns = Columns {
            params: BTreeMap::new(),
        };
        // Placeholders first, so their markers are numbered before the parameters'.
        let name_marker = markers.mark(name_text);
        let ns_marker = markers.mark("\"{{ namespace }}\"");
        let image_marker = markers.mark("\"{{ params.image }}:{{ params.tag }}\"");
        let replicas_marker = markers.mark("{{ replicas }}");
        let group_marker = markers.mark("\"{{ group }}\"");
        let app_marker = markers.mark("\"{{ app }}\"");
        let track_marker = markers.mark("\"{{ track }}\"");
        let switch = markers.mark("");
        let switch = switch.as_str().unwrap_or_default().to_string();
        let pod = pod_template_pointer(kind);
        let image_pointer = format!("{pod}/spec/containers/0/image");
        // Each member with what the template fills from its context taken out.
        let erased: Vec<Value> = members
            .iter()
            .map(|m| {
                let mut v = m.running.clone();
                v["metadata"]["name"] = name_marker.clone();
                v["metadata"]["namespace"] = ns_marker.clone();
                if let Some(i) = v.pointer_mut(&image_pointer) {
                    *i = image_marker.clone();
                }
                if kind == Workload::Service
                    && let Some(r) = v.pointer_mut("/spec/replicas")
                {
                    *r = replicas_marker.clone();
                }
                v
            })
            .collect();
        let erased_refs: Vec<&Value> = erased.iter().collect();
        let mut skeleton = columns.merge(&erased_refs, "value", &mut markers);
        // The flightdeck labels: always on the object's metadata; on the pod template
        // behind the switch (a Deployment) or always (a CronJob).
        let fd: Map<String, Value> = [
            (labels::GROUP.to_string(), group_marker),
            (labels::APP.to_string(), app_marker),
            (labels::TRACK.to_string(), track_marker),
            (labels::MANAGED_BY.to_string(), json!(labels::MANAGER)),
        ]
        .into_iter()
        .collect();
        add_labels(&mut skeleton, "/metadata", &fd);
        let pod_meta = format!("{pod}/metadata");
        match kind {
            Workload::Cron => add_labels(&mut skeleton, &pod_meta, &fd),
            Workload::Service => {
                let has_labels = skeleton
                    .pointer(&format!("{pod_meta}/labels"))
                    .and_then(Value::as_object)
                    .is_some_and(|l| !l.is_empty());
                if !has_labels {
                    return Err(format!(
                        "Deployment {}: its pod template has no labels",
                        members[0].name
                    ));
                }
                let line = Map::from_iter([(switch.clone(), json!("x"))]);
                add_labels(&mut skeleton, &pod_meta, &line);
            }
        }
        let yaml = serde_norway::to_string(&skeleton)
            .map_err(|e| format!("template {tname}: cannot write it ({e})"))?;
        let body = pod_label_block(&yaml, &switch);
        let body = markers.fill(&body);
        let template = Template {
            api_version: "flightdeck/v1".into(),
            kind: "Template".into(),
            metadata: TemplateMetadata {
                name: tname.clone(),
            },
            spec: TemplateSpec {
                body,
                kinds: vec![match kind {
                    Workload::Service => "Deployment".into(),
                    Workload::Cron => "CronJob".into(),
                }],
            },
        };
        for (i, m) in members.iter().enumerate() {
            let mut first: BTreeMap<String, Value> = columns
                .params
                .iter()
                .map(|(k, col)| (k.clone(), col[i].clone()))
                .collect();
            first.insert("image".into(), json!(m.image));
            first.insert("tag".into(), json!(m.tag));
            if kind == Workload::Service {
                let replicas = m
                    .running
                    .pointer("/spec/replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                first.insert("replicas".into(), json!(replicas));
                first.insert(POD_LABELS.into(), json!(false));
            }
            check_params(&first).map_err(|e| {
                format!(
                    "{} cannot be adopted with the others ({e}); import it on its own with --selector",
                    what(&m.running)
                )
            })?;
            let mut params = first.clone();
            if kind == Workload::Service {
                params.insert(POD_LABELS.into(), json!(true));
            }
            let group = InstanceGroup {
                api_version: "flightdeck/v1".into(),
                kind: "InstanceGroup".into(),
                metadata: GroupMetadata {
                    name: m.name.clone(),
                    app: m.app.clone(),
                },
                spec: GroupSpec {
                    cluster: cluster.into(),
                    namespace: namespace.into(),
                    template: tname.clone(),
                    params,
                    // The selector cannot tell a canary from stable: one Deployment,
                    // replaced pod by pod, until the app moves to a flightdeck selector.
                    strategy: match kind {
                        Workload::Service => Strategy {
                            rolling: Some(Rolling::default()),
                            ..Strategy::default()
                        },
                        Workload::Cron => Strategy::default(),
                    },
                    kind,
                    concurrency: None,
                    health: None,
                    protected: false,
                    image_policy: None,
                    registration: None,
                },
            };
            let expected = first_objects(&m.running, m.kind, &m.name, &m.app);
            let mut as_first = group.clone();
            as_first.spec.params = first.clone();
            let rendered = render(
                &template,
                &as_first,
                Track::Stable,
                &first,
                as_first.replicas(),
            )
            .map_err(|e| {
                format!(
                    "the template made for {} does not render: {e}",
                    what(&m.running)
                )
            })?;
            if rendered != [expected.clone()] {
                return Err(format!(
                    "the template made for {} does not give back what runs; nothing was adopted (please report this)",
                    what(&m.running)
                ));
            }
            let suspended = m
                .running
                .pointer("/spec/suspend")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            adoption.groups.push(Adopted {
                group,
                first_params: first,
                first_objects: rendered,
                suspended,
            });
        }
        adoption.templates.push(template);
    }
    Ok(adoption)
}

/// Replaces the pod template's switch line (`<marker>: x`) by the flightdeck labels
/// between `{% if params.flightdeckPodLabels %}` and `{% endif %}`, at its indentation.
fn pod_label_block(yaml: &str, switch: &str) -> String {
    let mut out = String::new();
    for line in yaml.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(switch) {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(&format!("{indent}{{% if params.{POD_LABELS} %}}\n"));
            for (k, v) in [
                (labels::GROUP, "\"{{ group }}\""),
                (labels::APP, "\"{{ app }}\""),
                (labels::TRACK, "\"{{ track }}\""),
                (labels::MANAGED_BY, labels::MANAGER),
            ] {
                out.push_str(&format!("{indent}{k}: {v}\n"));
            }
            out.push_str(&format!("{indent}{{% endif %}}\n"));
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Deployment as a real API server returns it: defaults, status, server fields.
    fn running(name: &str, image: &str, replicas: u64, level: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                "resourceVersion": "42", "generation": 3,
                "creationTimestamp": "2026-11-30T10:00:00Z",
                "labels": {"app": name, "team": "shop"},
                "annotations": {"deployment.kubernetes.io/revision": "3", "owner": "shop-team"},
                "managedFields": [{"manager": "kubectl"}]
            },
            "spec": {
                "replicas": replicas,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": name}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": name}},
                    "spec": {
                        "containers": [{
                            "name": "app", "image": image,
                            "env": [{"name": "LOG_LEVEL", "value": level}, {"name": "MODE", "value": "{{ not jinja }}"}],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "terminationMessagePath": "/dev/termination-log"
                        }],
                        "restartPolicy": "Always"
                    }
                }
            },
            "status": {"replicas": replicas, "readyReplicas": replicas}
        })
    }

    fn cronjob(name: &str) -> Value {
        json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": name, "namespace": "shop", "uid": "u1", "resourceVersion": "7"},
            "spec": {
                "schedule": "*/5 * * * *", "suspend": true,
                "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "task", "image": "registry.local/sitemap:2.0"}]
                }}}}
            }
        })
    }

    #[test]
    fn similar_deployments_share_one_template_and_render_back_exactly() {
        let objs = [
            running("web", "registry.local/shop/web:1.4.2", 3, "info"),
            running("api", "registry.local/shop/api:7.0", 2, "debug"),
        ];
        let a = plan("sim", "shop", &objs).unwrap();
        assert_eq!(a.templates.len(), 1, "{:#?}", a.templates);
        let t = &a.templates[0];
        assert_eq!(t.metadata.name, "imported-shop-web");
        // One parameter for the app label wherever it appears, one for the env value.
        let g = &a.groups[1].group;
        assert_eq!(g.name(), "api");
        assert_eq!(g.spec.params["app"], json!("api"));
        assert_eq!(g.spec.params["LOG_LEVEL"], json!("debug"));
        assert_eq!(g.spec.params["image"], json!("registry.local/shop/api"));
        assert_eq!(g.spec.params["tag"], json!("7.0"));
        assert_eq!(g.spec.params["replicas"], json!(2));
        assert_eq!(g.spec.params[POD_LABELS], json!(true));
        assert_eq!(
            g.spec.strategy.kind(),
            crate::domain::group::StrategyKind::Rolling
        );
        assert!(t.spec.body.contains("{{ params.app }}"), "{}", t.spec.body);
        for (adopted, obj) in a.groups.iter().zip(&objs) {
            // What runs, less the server's fields, plus labels on the Deployment only.
            let mut want = obj.clone();
            want.as_object_mut().unwrap().remove("status");
            let meta = want["metadata"].as_object_mut().unwrap();
            meta.retain(|k, _| {
                matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations")
            });
            meta["annotations"] = json!({"owner": "shop-team"});
            let name = meta["name"].clone();
            let l = meta["labels"].as_object_mut().unwrap();
            l.insert(labels::GROUP.into(), name.clone());
            l.insert(labels::APP.into(), name);
            l.insert(labels::TRACK.into(), json!("stable"));
            l.insert(labels::MANAGED_BY.into(), json!("flightdeck"));
            want["spec"]["template"]["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("creationTimestamp");
            assert_eq!(adopted.first_objects, vec![want.clone()]);
            assert_eq!(adopted.first_params[POD_LABELS], json!(false));
            // The selector and pod labels stay; the group's own parameters label new pods.
            let g = &adopted.group;
            let later = render(t, g, Track::Stable, &g.spec.params, g.replicas()).unwrap();
            assert_eq!(later[0]["spec"]["selector"], want["spec"]["selector"]);
            let pod_labels = &later[0]["spec"]["template"]["metadata"]["labels"];
            assert_eq!(
                pod_labels["app"],
                want["spec"]["template"]["metadata"]["labels"]["app"]
            );
            assert_eq!(pod_labels[labels::GROUP], json!(g.name()));
            assert_eq!(pod_labels[labels::TRACK], json!("stable"));
        }
    }

    #[test]
    fn differently_shaped_deployments_get_templates_of_their_own() {
        let mut other = running("worker", "registry.local/shop/worker:1", 1, "info");
        other["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["--queue", "jobs"]);
        let objs = [
            running("web", "registry.local/shop/web:1", 3, "info"),
            other,
        ];
        let a = plan("sim", "shop", &objs).unwrap();
        let names: Vec<&str> = a
            .templates
            .iter()
            .map(|t| t.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["imported-shop-web", "imported-shop-worker"]);
        // Alone in its template, nothing but image, tag and replicas is a parameter.
        let keys: Vec<&String> = a.groups[1].first_params.keys().collect();
        // (and a value minijinja would read as its own syntax, kept out of the text).
        assert_eq!(
            keys,
            ["MODE", "flightdeckPodLabels", "image", "replicas", "tag"]
        );
        assert_eq!(a.groups[1].first_params["MODE"], json!("{{ not jinja }}"));
    }

    #[test]
    fn a_cronjob_becomes_a_cron_group_with_its_suspension() {
        let a = plan("sim", "shop", &[cronjob("sitemap")]).unwrap();
        let g = &a.groups[0];
        assert_eq!(g.group.spec.kind, Workload::Cron);
        assert_eq!(g.group.spec.params["tag"], json!("2.0"));
        assert!(g.suspended);
        assert_eq!(a.templates[0].spec.kinds, ["CronJob"]);
        let pod = &g.first_objects[0]["spec"]["jobTemplate"]["spec"]["template"]["metadata"];
        assert_eq!(pod["labels"][labels::GROUP], json!("sitemap"));
        assert_eq!(g.first_objects[0]["spec"]["schedule"], json!("*/5 * * * *"));
    }

    #[test]
    fn what_cannot_be_adopted_is_refused_with_the_reason() {
        let mut ours = running("web", "r/web:1", 1, "info");
        ours["metadata"]["labels"][labels::GROUP] = json!("web");
        assert!(
            plan("sim", "shop", &[ours])
                .unwrap_err()
                .contains("already flightdeck's")
        );
        let mut owned = running("web", "r/web:1", 1, "info");
        owned["metadata"]["ownerReferences"] = json!([{"kind": "Rollout", "name": "web"}]);
        assert!(
            plan("sim", "shop", &[owned])
                .unwrap_err()
                .contains("owned by Rollout web")
        );
        let untagged = running("web", "registry.local:5000/web", 1, "info");
        assert!(
            plan("sim", "shop", &[untagged])
                .unwrap_err()
                .contains("has no tag")
        );
        let multi = running("web", "r/web:1", 1, "line one\nline two");
        let other = running("api", "r/api:1", 1, "info");
        let e = plan("sim", "shop", &[multi, other]).unwrap_err();
        assert!(e.contains("import it on its own"), "{e}");
    }
}
