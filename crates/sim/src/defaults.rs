//! Defaulting, as the API server does before it stores an object. It runs on every write
//! and is idempotent, so re-applying a manifest that lacks defaulted fields changes nothing.

use serde_json::{Value, json};

use super::resource::{Kind, str_at};
use super::scenario::image_tag;

pub fn apply(kind: Kind, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    // Go's typed decoding turns `null` into "absent"; so does ours, so that a manifest
    // with `creationTimestamp: null` in a template equals one without.
    strip_nulls(obj);
    match kind {
        Kind::Deployment => {
            let spec = ensure(obj, "spec");
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            let strategy = ensure(spec, "strategy");
            set_default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                let ru = ensure(strategy, "rollingUpdate");
                set_default(ru, "maxSurge", json!("25%"));
                set_default(ru, "maxUnavailable", json!("25%"));
            }
            pod_spec(ensure(ensure(spec, "template"), "spec"));
        }
        Kind::ReplicaSet => {
            let spec = ensure(obj, "spec");
            set_default(spec, "replicas", json!(1));
            pod_spec(ensure(ensure(spec, "template"), "spec"));
        }
        Kind::Pod => pod_spec(ensure(obj, "spec")),
        Kind::Job => job_spec(ensure(obj, "spec")),
        Kind::CronJob => {
            let spec = ensure(obj, "spec");
            set_default(spec, "suspend", json!(false));
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            job_spec(ensure(ensure(spec, "jobTemplate"), "spec"));
        }
        Kind::Service => {
            let spec = ensure(obj, "spec");
            set_default(spec, "type", json!("ClusterIP"));
            set_default(spec, "sessionAffinity", json!("None"));
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports {
                    set_default(p, "protocol", json!("TCP"));
                    if let Some(port) = p.get("port").cloned() {
                        set_default(p, "targetPort", port);
                    }
                }
            }
        }
        Kind::Node => {}
        Kind::Namespace => {
            let name = str_at(obj, "/metadata/name").to_string();
            let labels = ensure(ensure(obj, "metadata"), "labels");
            set_default(labels, "kubernetes.io/metadata.name", json!(name));
            let spec = ensure(obj, "spec");
            set_default(spec, "finalizers", json!(["kubernetes"]));
            set_default(ensure(obj, "status"), "phase", json!("Active"));
        }
        Kind::Event => {
            set_default(obj, "count", json!(1));
            set_default(obj, "type", json!("Normal"));
        }
        Kind::Secret => {
            set_default(obj, "type", json!("Opaque"));
            string_data_into_data(obj);
        }
        Kind::RoleBinding | Kind::ClusterRoleBinding => {
            for s in obj
                .get_mut("subjects")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if matches!(str_at(s, "/kind"), "User" | "Group") {
                    set_default(s, "apiGroup", json!("rbac.authorization.k8s.io"));
                }
            }
        }
        // The API server's CRD controllers answer at once: the names are accepted and the
        // kind is served from this write on.
        Kind::CustomResourceDefinition => super::custom::establish(obj),
        Kind::ServiceAccount
        | Kind::ConfigMap
        | Kind::ClusterRole
        | Kind::Role
        | Kind::Ingress
        | Kind::Custom(_) => {}
    }
}

/// A Job spec as the API server completes it.
fn job_spec(spec: &mut Value) {
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "completions", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "completionMode", json!("NonIndexed"));
    pod_spec(ensure(ensure(spec, "template"), "spec"));
}

/// `stringData` is write-only: the API server folds it into `data` (base64, winning over
/// `data` on the same key) and never stores it.
fn string_data_into_data(obj: &mut Value) {
    let Some(Value::Object(strings)) = obj.as_object_mut().and_then(|m| m.remove("stringData"))
    else {
        return;
    };
    let data = ensure(obj, "data");
    for (k, v) in strings {
        // A non-string is left for validation to refuse.
        let encoded = match v.as_str() {
            Some(text) => {
                serde_json::to_value(k8s_openapi::ByteString(text.as_bytes().to_vec())).unwrap_or(v)
            }
            None => v,
        };
        data[k] = encoded;
    }
}

fn pod_spec(spec: &mut Value) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        for c in containers {
            let policy = if image_tag(str_at(c, "/image")) == "latest" {
                "Always"
            } else {
                "IfNotPresent"
            };
            set_default(c, "imagePullPolicy", json!(policy));
            set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "terminationMessagePolicy", json!("File"));
            set_default(c, "resources", json!({}));
            if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports {
                    set_default(p, "protocol", json!("TCP"));
                }
            }
        }
    }
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn ensure<'a>(obj: &'a mut Value, key: &str) -> &'a mut Value {
    if !obj.get(key).is_some_and(Value::is_object) {
        obj[key] = json!({});
    }
    &mut obj[key]
}

fn set_default(obj: &mut Value, key: &str, v: Value) {
    if obj.is_object() && obj.get(key).is_none_or(Value::is_null) {
        obj[key] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaulting_is_idempotent() {
        let mut d = json!({"metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:v1"}]}}}});
        apply(Kind::Deployment, &mut d);
        let once = d.clone();
        apply(Kind::Deployment, &mut d);
        assert_eq!(d, once);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    #[test]
    fn secret_string_data_is_stored_as_data() {
        let mut s = json!({"metadata": {"name": "s"}, "data": {"a": "eA=="},
            "stringData": {"a": "pw", "b": "key"}});
        apply(Kind::Secret, &mut s);
        assert!(s.get("stringData").is_none());
        assert_eq!(s["data"], json!({"a": "cHc=", "b": "a2V5"}));
        assert_eq!(s["type"], "Opaque");
        let once = s.clone();
        apply(Kind::Secret, &mut s);
        assert_eq!(s, once);
    }
}
