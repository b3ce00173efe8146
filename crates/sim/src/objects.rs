//! Creating and deleting objects the way the API server does, shared by the HTTP verbs and
//! the built-in controllers (which write to the store directly, not over HTTP).

use serde_json::{Value, json};

use super::resource::{Kind, ObjectKey, str_at};
use super::store::{Obj, Store, StoreError};
use super::{custom, defaults, time};

/// A Job's pods run to completion: `restartPolicy` is `Never` or `OnFailure`, as the API
/// server requires (`spec` is where the Job spec is in `obj`).
fn job_pod_policy(obj: &Value, spec: &str) -> Result<(), StoreError> {
    let policy = obj
        .pointer(&format!("{spec}/template/spec/restartPolicy"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match policy {
        "Never" | "OnFailure" => Ok(()),
        other => Err(StoreError::Invalid(format!(
            "Job is invalid: spec.template.spec.restartPolicy: Required value: \"{other}\" is not supported; supported values: \"OnFailure\", \"Never\""
        ))),
    }
}

/// Checks an object's shape by decoding it as the Kubernetes type it claims to be, so a
/// malformed manifest gets 422 here instead of tripping the controllers later.
pub fn validate(kind: Kind, obj: &Value) -> Result<(), StoreError> {
    use k8s_openapi::api::{
        apps::v1 as apps, batch::v1 as batch, core::v1 as core, networking::v1 as networking,
        rbac::v1 as rbac,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
    fn check<T: serde::de::DeserializeOwned>(kind: Kind, obj: &Value) -> Result<(), StoreError> {
        T::deserialize(obj)
            .map(|_| ())
            .map_err(|e| StoreError::Invalid(format!("{} is invalid: {e}", kind.name())))
    }
    match kind {
        Kind::Namespace => check::<core::Namespace>(kind, obj),
        Kind::Node => check::<core::Node>(kind, obj),
        Kind::Pod => check::<core::Pod>(kind, obj),
        Kind::Service => check::<core::Service>(kind, obj),
        Kind::Event => check::<core::Event>(kind, obj),
        Kind::Deployment => check::<apps::Deployment>(kind, obj),
        Kind::ReplicaSet => check::<apps::ReplicaSet>(kind, obj),
        Kind::ServiceAccount => check::<core::ServiceAccount>(kind, obj),
        Kind::Secret => check::<core::Secret>(kind, obj),
        Kind::ConfigMap => check::<core::ConfigMap>(kind, obj),
        Kind::Ingress => check::<networking::Ingress>(kind, obj),
        Kind::Job => check::<batch::Job>(kind, obj).and_then(|()| job_pod_policy(obj, "/spec")),
        Kind::CronJob => check::<batch::CronJob>(kind, obj)
            .and_then(|()| job_pod_policy(obj, "/spec/jobTemplate/spec"))
            .and_then(|()| {
                flightdeck_core::domain::cron::Schedule::parse(str_at(obj, "/spec/schedule"))
                    .map(|_| ())
                    .map_err(|e| StoreError::Invalid(format!("CronJob is invalid: {e}")))
            }),
        Kind::CustomResourceDefinition => {
            check::<apiextensions::CustomResourceDefinition>(kind, obj)
                .and_then(|()| custom::validate_crd(obj))
        }
        // Custom kinds keep what they are sent (the shipped CRDs have no schema).
        Kind::Custom(_) => Ok(()),
        Kind::ClusterRole => {
            check::<rbac::ClusterRole>(kind, obj).and_then(|()| rbac_rules(obj, false))
        }
        Kind::Role => check::<rbac::Role>(kind, obj).and_then(|()| rbac_rules(obj, true)),
        Kind::ClusterRoleBinding => check::<rbac::ClusterRoleBinding>(kind, obj),
        Kind::RoleBinding => check::<rbac::RoleBinding>(kind, obj),
    }
}

/// What the API server checks of a rule beyond its shape: it names verbs, and resources
/// or (cluster roles only) non-resource URLs.
fn rbac_rules(obj: &Value, namespaced: bool) -> Result<(), StoreError> {
    let rules = obj.get("rules").and_then(Value::as_array);
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let listed = |k: &str| {
            rule.get(k)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        if !listed("verbs") {
            return Err(StoreError::Invalid(format!(
                "rules[{i}].verbs: Required value: verbs must contain at least one value"
            )));
        }
        if namespaced && listed("nonResourceURLs") {
            return Err(StoreError::Invalid(format!(
                "rules[{i}].nonResourceURLs: Invalid value: namespaced rules cannot apply to non-resource URLs"
            )));
        }
        if !listed("resources") && !listed("nonResourceURLs") {
            return Err(StoreError::Invalid(format!(
                "rules[{i}].resources: Required value: resource rules must supply at least one api group and one resource"
            )));
        }
    }
    Ok(())
}

/// What may not change once an object exists.
pub fn check_update(kind: Kind, stored: &Value, edited: &Value) -> Result<(), StoreError> {
    if matches!(kind, Kind::RoleBinding | Kind::ClusterRoleBinding)
        && stored.get("roleRef") != edited.get("roleRef")
    {
        return Err(StoreError::Invalid(
            "roleRef: Invalid value: cannot change roleRef".into(),
        ));
    }
    if kind == Kind::CustomResourceDefinition {
        custom::check_crd_update(stored, edited)?;
    }
    // As a real API server: a Deployment's selector decides which ReplicaSets and pods it
    // owns, so it is fixed at creation (apps/v1 refuses a change with 422).
    if kind == Kind::Deployment
        && stored.pointer("/spec/selector") != edited.pointer("/spec/selector")
    {
        return Err(StoreError::Invalid(format!(
            "Deployment.apps {:?} is invalid: spec.selector: Invalid value: {}: field is immutable",
            str_at(edited, "/metadata/name"),
            edited.pointer("/spec/selector").unwrap_or(&Value::Null)
        )));
    }
    Ok(())
}

/// Create: generateName, namespace must exist, defaults, a fresh status.
pub fn create(store: &Store, kind: Kind, mut obj: Value) -> Result<Obj, StoreError> {
    if !obj.is_object() {
        return Err(StoreError::Invalid(format!(
            "{} must be a JSON object",
            kind.name()
        )));
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let ns = str_at(&obj, "/metadata/namespace").to_string();
    if kind.namespaced()
        && store
            .get(Kind::Namespace, &ObjectKey::new("", &ns))
            .is_none()
    {
        return Err(StoreError::NotFound {
            kind: "namespaces",
            name: ns,
        });
    }
    if str_at(&obj, "/metadata/name").is_empty() {
        let prefix = str_at(&obj, "/metadata/generateName").to_string();
        if prefix.is_empty() {
            return Err(StoreError::Invalid(
                "metadata.name: Required value: name or generateName is required".into(),
            ));
        }
        obj["metadata"]["name"] = json!(format!("{prefix}{}", super::random_suffix()));
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    defaults::apply(kind, &mut obj);
    match kind {
        Kind::Pod => obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"}),
        Kind::Deployment | Kind::ReplicaSet | Kind::Job | Kind::CronJob => {
            obj["status"] = json!({})
        }
        Kind::Ingress => obj["status"] = json!({"loadBalancer": {}}),
        Kind::Custom(c) if c.def.status => {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
        Kind::Service => {
            if obj["spec"].get("clusterIP").is_none_or(Value::is_null) {
                let ip = format!(
                    "10.96.{}.{}",
                    rand::random::<u8>(),
                    rand::random::<u8>().max(1)
                );
                obj["spec"]["clusterIP"] = json!(ip);
                obj["spec"]["clusterIPs"] = json!([ip]);
            }
            obj["status"] = json!({"loadBalancer": {}});
        }
        Kind::Event => {
            let now = time::now();
            for k in ["firstTimestamp", "lastTimestamp"] {
                if obj.get(k).is_none_or(Value::is_null) {
                    obj[k] = json!(now);
                }
            }
        }
        Kind::Namespace
        | Kind::Node
        | Kind::ServiceAccount
        | Kind::Secret
        | Kind::ConfigMap
        | Kind::ClusterRole
        | Kind::ClusterRoleBinding
        | Kind::Role
        | Kind::RoleBinding
        | Kind::CustomResourceDefinition
        | Kind::Custom(_) => {}
    }
    validate(kind, &obj)?;
    store.create(kind, obj)
}

/// Delete one object: pods on a node go through Terminating (the kubelet finishes the
/// job), a namespace takes its contents with it, everything else goes at once and the
/// garbage collector deletes what it owned.
pub fn delete(
    store: &Store,
    kind: Kind,
    key: &ObjectKey,
    grace: Option<i64>,
    uid: Option<&str>,
) -> Result<Obj, StoreError> {
    match kind {
        Kind::Pod => {
            let pod = store.get(kind, key).ok_or_else(|| StoreError::NotFound {
                kind: kind.plural(),
                name: key.name.clone(),
            })?;
            let scheduled = !str_at(&pod, "/spec/nodeName").is_empty();
            let grace = grace.unwrap_or_else(|| {
                pod.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(30)
            });
            if !scheduled || grace <= 0 {
                return store.delete(kind, key, uid);
            }
            if pod["metadata"].get("deletionTimestamp").is_some() {
                return Ok(pod);
            }
            store.update(kind, key, |p| {
                let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
                p["metadata"]["deletionTimestamp"] = json!(time::format_time(at));
                p["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                Ok(())
            })
        }
        Kind::Namespace => {
            for k in store.kinds().into_iter().filter(|k| k.namespaced()) {
                for o in store.list(k, Some(&key.name)).0 {
                    // Already gone is fine: something else deleted it meanwhile.
                    let _ = store.delete(k, &ObjectKey::of(&o), None);
                }
            }
            store.delete(kind, key, uid)
        }
        Kind::CustomResourceDefinition => {
            let gone = store.delete(kind, key, uid)?;
            // The kind goes with its definition, and so do its objects.
            if let Some(custom) = custom::kind_of(&gone) {
                for o in store.list(custom, None).0 {
                    // Already gone is fine, as above.
                    let _ = store.delete(custom, &ObjectKey::of(&o), None);
                }
            }
            Ok(gone)
        }
        _ => store.delete(kind, key, uid),
    }
}

pub fn is_terminating(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(role: &str) -> Value {
        json!({"metadata": {"name": "b", "namespace": "n"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
               "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "n"}]})
    }

    #[test]
    fn rbac_rules_need_verbs_and_a_target() {
        let role = |rule: Value| json!({"metadata": {"name": "r"}, "rules": [rule]});
        let pods = json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]});
        assert!(validate(Kind::ClusterRole, &role(pods.clone())).is_ok());
        assert!(validate(Kind::Role, &role(pods)).is_ok());
        let metrics = json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]});
        assert!(validate(Kind::ClusterRole, &role(metrics.clone())).is_ok());
        assert!(validate(Kind::Role, &role(metrics)).is_err());
        let no_verbs = json!({"apiGroups": [""], "resources": ["pods"], "verbs": []});
        assert!(validate(Kind::ClusterRole, &role(no_verbs)).is_err());
        assert!(validate(Kind::ClusterRole, &json!({"metadata": {}, "rules": {}})).is_err());
    }

    #[test]
    fn a_binding_keeps_its_role() {
        let b = binding("a");
        assert!(validate(Kind::RoleBinding, &b).is_ok());
        assert!(check_update(Kind::RoleBinding, &b, &binding("a")).is_ok());
        assert!(check_update(Kind::RoleBinding, &b, &binding("b")).is_err());
    }
}
