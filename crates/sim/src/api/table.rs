//! Server-side `meta.k8s.io/v1 Table`s, the shape `kubectl get` prints. Cells follow the
//! Kubernetes printers, so the simulated cluster reads like a real one.

use crate::store::Obj;
use serde_json::{Value, json};

use super::{ResourceRequest, printer};
use crate::resource::{Kind, i64_at, str_at};
use crate::time;

pub fn table(rr: &ResourceRequest, items: &[Obj], meta: Value) -> Value {
    let include = rr.param("includeObject").unwrap_or("Metadata");
    let (columns, cells): (Vec<Value>, Vec<Vec<Value>>) = match (&rr.crd, rr.kind) {
        (Some(crd), Kind::Custom(_)) => {
            let values: Vec<&Value> = items.iter().map(|o| o.value()).collect();
            printer::columns_and_cells(crd, &rr.version, &values)
        }
        _ => (
            columns(rr.kind)
                .iter()
                .map(|(name, ty, priority)| {
                    let format = if *name == "Name" { "name" } else { "" };
                    json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
                })
                .collect(),
            items.iter().map(|o| cells(rr.kind, o)).collect(),
        ),
    };
    let rows: Vec<Value> = items
        .iter()
        .zip(cells)
        .map(|(o, cells)| {
            let object = match include {
                "None" => Value::Null,
                "Object" => rr.outgoing(o),
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                }),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

type Column = (&'static str, &'static str, u8);

fn columns(kind: Kind) -> &'static [Column] {
    match kind {
        Kind::Pod => &[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        Kind::Deployment => &[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::ReplicaSet => &[
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::Service => &[
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        Kind::Node => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        Kind::Namespace => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Age", "string", 0),
        ],
        Kind::Event => &[
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "integer", 1),
            ("Name", "string", 1),
        ],
        Kind::ServiceAccount => &[
            ("Name", "string", 0),
            ("Secrets", "string", 0),
            ("Age", "string", 0),
        ],
        // The number of keys only: a table never shows what a Secret holds.
        Kind::Secret => &[
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "string", 0),
            ("Age", "string", 0),
        ],
        Kind::ConfigMap => &[
            ("Name", "string", 0),
            ("Data", "string", 0),
            ("Age", "string", 0),
        ],
        Kind::Ingress => &[
            ("Name", "string", 0),
            ("Class", "string", 0),
            ("Hosts", "string", 0),
            ("Address", "string", 0),
            ("Ports", "string", 0),
            ("Age", "string", 0),
        ],
        Kind::Job => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::CronJob => &[
            ("Name", "string", 0),
            ("Schedule", "string", 0),
            ("Timezone", "string", 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        // Tables of custom kinds come from their CRD's printer columns (see `printer`).
        Kind::ClusterRole | Kind::Role | Kind::CustomResourceDefinition | Kind::Custom(_) => {
            &[("Name", "string", 0), ("Created At", "date", 0)]
        }
        Kind::ClusterRoleBinding | Kind::RoleBinding => &[
            ("Name", "string", 0),
            ("Role", "string", 0),
            ("Age", "string", 0),
            ("Users", "string", 1),
            ("Groups", "string", 1),
            ("ServiceAccounts", "string", 1),
        ],
    }
}

fn count_at(o: &Value, pointer: &str) -> usize {
    match o.pointer(pointer) {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        _ => 0,
    }
}

/// CLASS, HOSTS, ADDRESS and PORTS of an Ingress, like kubectl's.
fn ingress_cells(o: &Value, name: &str, age: String) -> Vec<Value> {
    let hosts: Vec<&str> = o
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| str_at(r, "/host"))
        .filter(|h| !h.is_empty())
        .collect();
    let addresses: Vec<&str> = o
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| match str_at(i, "/ip") {
            "" => str_at(i, "/hostname"),
            ip => ip,
        })
        .collect();
    let ports = if count_at(o, "/spec/tls") > 0 {
        "80, 443"
    } else {
        "80"
    };
    vec![
        json!(name),
        json!(or_none(str_at(o, "/spec/ingressClassName"))),
        json!(if hosts.is_empty() {
            "*".to_string()
        } else {
            hosts.join(",")
        }),
        json!(addresses.join(",")),
        json!(ports),
        json!(age),
    ]
}

/// ROLE, USERS, GROUPS and SERVICEACCOUNTS of a (cluster) role binding, like kubectl's.
fn binding_cells(o: &Value, name: &str, age: String) -> Vec<Value> {
    let subjects = o
        .get("subjects")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let of = |kind: &str| {
        subjects
            .iter()
            .filter(|s| str_at(s, "/kind") == kind)
            .map(|s| match str_at(s, "/namespace") {
                ns if kind == "ServiceAccount" => format!("{ns}/{}", str_at(s, "/name")),
                _ => str_at(s, "/name").to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        json!(name),
        json!(format!(
            "{}/{}",
            str_at(o, "/roleRef/kind"),
            str_at(o, "/roleRef/name")
        )),
        json!(age),
        json!(of("User")),
        json!(of("Group")),
        json!(of("ServiceAccount")),
    ]
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.into()
    }
}

fn cells(kind: Kind, o: &Value) -> Vec<Value> {
    let name = str_at(o, "/metadata/name");
    let age = time::age(str_at(o, "/metadata/creationTimestamp"));
    match kind {
        Kind::Pod => {
            let p = pod_summary(o);
            vec![
                json!(name),
                json!(format!("{}/{}", p.ready, p.total)),
                json!(p.status),
                json!(p.restarts),
                json!(age),
                json!(or_none(str_at(o, "/status/podIP"))),
                json!(or_none(str_at(o, "/spec/nodeName"))),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        Kind::Deployment => {
            let (containers, images, selector) = template_columns(o);
            vec![
                json!(name),
                json!(format!(
                    "{}/{}",
                    i64_at(o, "/status/readyReplicas"),
                    i64_at(o, "/spec/replicas")
                )),
                json!(i64_at(o, "/status/updatedReplicas")),
                json!(i64_at(o, "/status/availableReplicas")),
                json!(age),
                json!(containers),
                json!(images),
                json!(selector),
            ]
        }
        Kind::Job => {
            let (containers, images, selector) = template_columns(o);
            vec![
                json!(name),
                json!(job_status(o)),
                json!(format!(
                    "{}/{}",
                    i64_at(o, "/status/succeeded"),
                    i64_at(o, "/spec/completions").max(1)
                )),
                json!(job_duration(o)),
                json!(age),
                json!(containers),
                json!(images),
                json!(selector),
            ]
        }
        Kind::CronJob => {
            let job =
                json!({ "spec": o.pointer("/spec/jobTemplate/spec").cloned().unwrap_or_default() });
            let (containers, images, selector) = template_columns(&job);
            let last = str_at(o, "/status/lastScheduleTime");
            vec![
                json!(name),
                json!(str_at(o, "/spec/schedule")),
                json!(or_none(str_at(o, "/spec/timeZone"))),
                json!(
                    o.pointer("/spec/suspend")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
                json!(count_at(o, "/status/active")),
                json!(if last.is_empty() {
                    "<none>".to_string()
                } else {
                    time::age(last)
                }),
                json!(age),
                json!(containers),
                json!(images),
                json!(selector),
            ]
        }
        Kind::ReplicaSet => {
            let (containers, images, selector) = template_columns(o);
            vec![
                json!(name),
                json!(i64_at(o, "/spec/replicas")),
                json!(i64_at(o, "/status/replicas")),
                json!(i64_at(o, "/status/readyReplicas")),
                json!(age),
                json!(containers),
                json!(images),
                json!(selector),
            ]
        }
        Kind::Service => {
            let ports = o
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| format!("{}/{}", i64_at(p, "/port"), str_at(p, "/protocol")))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                json!(name),
                json!(str_at(o, "/spec/type")),
                json!(or_none(str_at(o, "/spec/clusterIP"))),
                json!("<none>"),
                json!(or_none(&ports)),
                json!(age),
                json!(or_none(&labels_string(o.pointer("/spec/selector")))),
            ]
        }
        Kind::Namespace => vec![json!(name), json!(str_at(o, "/status/phase")), json!(age)],
        Kind::Node => {
            let ready = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .is_some_and(|c| c["status"] == "True");
            let info = |k: &str| json!(str_at(o, &format!("/status/nodeInfo/{k}")));
            vec![
                json!(name),
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("<none>"),
                json!(age),
                info("kubeletVersion"),
                json!(str_at(o, "/status/addresses/0/address")),
                json!("<none>"),
                info("osImage"),
                info("kernelVersion"),
                info("containerRuntimeVersion"),
            ]
        }
        Kind::Event => event_cells(o),
        Kind::ServiceAccount => vec![json!(name), json!(count_at(o, "/secrets")), json!(age)],
        Kind::Secret => vec![
            json!(name),
            json!(str_at(o, "/type")),
            json!(count_at(o, "/data")),
            json!(age),
        ],
        Kind::ConfigMap => vec![
            json!(name),
            json!(count_at(o, "/data") + count_at(o, "/binaryData")),
            json!(age),
        ],
        Kind::Ingress => ingress_cells(o, name, age),
        Kind::ClusterRole | Kind::Role | Kind::CustomResourceDefinition | Kind::Custom(_) => {
            vec![json!(name), json!(str_at(o, "/metadata/creationTimestamp"))]
        }
        Kind::ClusterRoleBinding | Kind::RoleBinding => binding_cells(o, name, age),
    }
}

fn event_cells(o: &Value) -> Vec<Value> {
    let mut first = str_at(o, "/firstTimestamp");
    if first.is_empty() {
        first = str_at(o, "/eventTime");
    }
    let mut last = str_at(o, "/lastTimestamp");
    if last.is_empty() {
        last = first;
    }
    let kind = str_at(o, "/involvedObject/kind").to_ascii_lowercase();
    let target = match str_at(o, "/involvedObject/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let mut source = str_at(o, "/source/component").to_string();
    if source.is_empty() {
        source = str_at(o, "/reportingComponent").to_string();
    }
    let host = str_at(o, "/source/host");
    if !host.is_empty() {
        source = format!("{source}, {host}");
    }
    vec![
        json!(time::age(last)),
        json!(str_at(o, "/type")),
        json!(str_at(o, "/reason")),
        json!(target),
        json!(str_at(o, "/involvedObject/fieldPath")),
        json!(source),
        json!(str_at(o, "/message").trim()),
        json!(time::age(first)),
        json!(i64_at(o, "/count").max(1)),
        json!(str_at(o, "/metadata/name")),
    ]
}

fn labels_string(m: Option<&Value>) -> String {
    m.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// A Job's STATUS column: the last true condition, else Running or Suspended.
fn job_status(o: &Value) -> &'static str {
    let conditions = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let holds = |t: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    if holds("Complete") {
        "Complete"
    } else if holds("Failed") {
        "Failed"
    } else if holds("Suspended") {
        "Suspended"
    } else {
        "Running"
    }
}

/// From the Job's start to its completion (or now).
fn job_duration(o: &Value) -> String {
    let start = str_at(o, "/status/startTime");
    let Some(from) = time::parse(start) else {
        return String::new();
    };
    let to = time::parse(str_at(o, "/status/completionTime")).unwrap_or_else(jiff::Timestamp::now);
    time::human_duration(to.as_second() - from.as_second())
}

fn template_columns(o: &Value) -> (String, String, String) {
    let containers = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    (
        names.join(","),
        images.join(","),
        labels_string(o.pointer("/spec/selector/matchLabels")),
    )
}

/// READY, STATUS and RESTARTS of a pod, computed like kubectl's `printPod`.
pub struct PodSummary {
    pub ready: usize,
    pub total: usize,
    pub status: String,
    pub restarts: String,
}

pub fn pod_summary(o: &Value) -> PodSummary {
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut reason = str_at(o, "/status/phase").to_string();
    if !str_at(o, "/status/reason").is_empty() {
        reason = str_at(o, "/status/reason").to_string();
    }
    let statuses = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut ready, mut restarts, mut has_running) = (0, 0, false);
    let mut last_restart: Option<String> = None;
    for c in statuses.iter().rev() {
        restarts += i64_at(c, "/restartCount");
        let finished = str_at(c, "/lastState/terminated/finishedAt");
        if !finished.is_empty() && last_restart.as_deref().is_none_or(|l| finished > l) {
            last_restart = Some(finished.to_string());
        }
        let waiting = str_at(c, "/state/waiting/reason");
        let terminated = c.pointer("/state/terminated");
        if !waiting.is_empty() {
            reason = waiting.to_string();
        } else if let Some(t) = terminated {
            reason = match str_at(t, "/reason") {
                "" if i64_at(t, "/signal") != 0 => format!("Signal:{}", i64_at(t, "/signal")),
                "" => format!("ExitCode:{}", i64_at(t, "/exitCode")),
                r => r.to_string(),
            };
        } else if c.get("ready") == Some(&json!(true)) && c.pointer("/state/running").is_some() {
            has_running = true;
            ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        reason = "Running".into();
    }
    if o.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        reason = "Terminating".into();
    }
    let restarts = match last_restart {
        Some(at) => format!("{restarts} ({} ago)", time::age(&at)),
        None => restarts.to_string(),
    };
    PodSummary {
        ready,
        total,
        status: reason,
        restarts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_looping_pod_reads_like_kubectl() {
        let pod = json!({
            "metadata": {"name": "web-1", "creationTimestamp": time::now()},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "app", "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": time::now()}}
            }]}
        });
        let s = pod_summary(&pod);
        assert_eq!(
            (s.ready, s.total, s.status.as_str()),
            (0, 1, "CrashLoopBackOff")
        );
        assert!(s.restarts.starts_with("3 ("), "{}", s.restarts);
    }

    #[test]
    fn terminating_wins() {
        let pod = json!({"metadata": {"deletionTimestamp": time::now()}, "spec": {"containers": [{}]},
            "status": {"phase": "Running", "containerStatuses": [{"ready": true, "state": {"running": {}}}]}});
        assert_eq!(pod_summary(&pod).status, "Terminating");
    }
}
