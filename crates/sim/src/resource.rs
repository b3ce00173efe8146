//! The resource kinds the simulated API server knows, and what discovery says about them.

use serde_json::{Value, json};

pub use super::custom::CustomKind;

/// A stored kind. `events.k8s.io/v1` Events are the same stored objects as core Events,
/// converted on the way in and out, so they have no kind of their own here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespace,
    Node,
    Pod,
    Service,
    Event,
    Deployment,
    ReplicaSet,
    ServiceAccount,
    Secret,
    ConfigMap,
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    Ingress,
    CustomResourceDefinition,
    Job,
    CronJob,
    /// A kind a CustomResourceDefinition added (see [`super::custom`]).
    Custom(&'static CustomKind),
}

impl Kind {
    /// The built-in kinds.
    pub const ALL: [Kind; 18] = [
        Kind::Namespace,
        Kind::Node,
        Kind::Pod,
        Kind::Service,
        Kind::Event,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::ServiceAccount,
        Kind::Secret,
        Kind::ConfigMap,
        Kind::ClusterRole,
        Kind::ClusterRoleBinding,
        Kind::Role,
        Kind::RoleBinding,
        Kind::Ingress,
        Kind::CustomResourceDefinition,
        Kind::Job,
        Kind::CronJob,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Node => "Node",
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::Event => "Event",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
            Kind::ClusterRole => "ClusterRole",
            Kind::ClusterRoleBinding => "ClusterRoleBinding",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::Ingress => "Ingress",
            Kind::CustomResourceDefinition => "CustomResourceDefinition",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::Custom(c) => &c.def.kind,
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Node => "nodes",
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::Event => "events",
            Kind::Deployment => "deployments",
            Kind::ReplicaSet => "replicasets",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::Secret => "secrets",
            Kind::ConfigMap => "configmaps",
            Kind::ClusterRole => "clusterroles",
            Kind::ClusterRoleBinding => "clusterrolebindings",
            Kind::Role => "roles",
            Kind::RoleBinding => "rolebindings",
            Kind::Ingress => "ingresses",
            Kind::CustomResourceDefinition => "customresourcedefinitions",
            Kind::Job => "jobs",
            Kind::CronJob => "cronjobs",
            Kind::Custom(c) => &c.def.plural,
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment | Kind::ReplicaSet => "apps/v1",
            Kind::ClusterRole | Kind::ClusterRoleBinding | Kind::Role | Kind::RoleBinding => {
                "rbac.authorization.k8s.io/v1"
            }
            Kind::Ingress => "networking.k8s.io/v1",
            Kind::Job | Kind::CronJob => "batch/v1",
            Kind::CustomResourceDefinition => "apiextensions.k8s.io/v1",
            Kind::Custom(c) => &c.api_version,
            _ => "v1",
        }
    }

    pub fn list_kind(self) -> String {
        match self {
            Kind::Custom(c) => c.def.list_kind.clone(),
            k => format!("{}List", k.name()),
        }
    }

    /// The API group, "" for the core group.
    pub fn group(self) -> &'static str {
        self.api_version()
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    pub fn namespaced(self) -> bool {
        match self {
            Kind::Custom(c) => c.def.namespaced,
            k => !matches!(
                k,
                Kind::Namespace
                    | Kind::Node
                    | Kind::ClusterRole
                    | Kind::ClusterRoleBinding
                    | Kind::CustomResourceDefinition
            ),
        }
    }

    /// Whether the kind has a `status` (and with it a `status` subresource).
    pub fn has_status(self) -> bool {
        match self {
            Kind::Custom(c) => c.def.status,
            k => matches!(
                k,
                Kind::Namespace
                    | Kind::Node
                    | Kind::Pod
                    | Kind::Service
                    | Kind::Deployment
                    | Kind::ReplicaSet
                    | Kind::Ingress
                    | Kind::CustomResourceDefinition
                    | Kind::Job
                    | Kind::CronJob
            ),
        }
    }

    /// A built-in kind by its name; custom kinds are found through their CRD
    /// ([`super::custom::by_kind`]).
    pub fn from_kind_name(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == kind)
    }

    /// The built-in kind served at `group/v1/plural`; `events.k8s.io` maps onto core Events.
    pub fn from_path(group: &str, plural: &str) -> Option<Kind> {
        let kind = Kind::ALL.into_iter().find(|k| k.plural() == plural)?;
        let ok = kind.group() == group || (group == "events.k8s.io" && kind == Kind::Event);
        ok.then_some(kind)
    }

    fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::Namespace => &["ns"],
            Kind::Node => &["no"],
            Kind::Pod => &["po"],
            Kind::Service => &["svc"],
            Kind::Event => &["ev"],
            Kind::Deployment => &["deploy"],
            Kind::ReplicaSet => &["rs"],
            Kind::ServiceAccount => &["sa"],
            Kind::ConfigMap => &["cm"],
            Kind::Ingress => &["ing"],
            Kind::CustomResourceDefinition => &["crd", "crds"],
            Kind::CronJob => &["cj"],
            Kind::Job
            | Kind::Secret
            | Kind::ClusterRole
            | Kind::ClusterRoleBinding
            | Kind::Role
            | Kind::RoleBinding
            | Kind::Custom(_) => &[],
        }
    }

    fn singular(self) -> String {
        self.name().to_ascii_lowercase()
    }

    /// The `APIResource` entry of legacy discovery.
    pub fn discovery_entry(self) -> Value {
        let mut verbs = vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        if self != Kind::Namespace {
            verbs.insert(1, "deletecollection");
        }
        let mut entry = json!({
            "name": self.plural(),
            "singularName": self.singular(),
            "namespaced": self.namespaced(),
            "kind": self.name(),
            "verbs": verbs,
            "shortNames": self.short_names(),
        });
        if matches!(
            self,
            Kind::Pod | Kind::Service | Kind::Deployment | Kind::ReplicaSet
        ) {
            entry["categories"] = json!(["all"]);
        }
        entry
    }
}

/// A `namespace/name` key; cluster-scoped objects have an empty namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn of(obj: &Value) -> Self {
        ObjectKey::new(
            str_at(obj, "/metadata/namespace"),
            str_at(obj, "/metadata/name"),
        )
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// The string at a JSON pointer, or "" when absent.
pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub fn i64_at(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub fn uid_of(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid")
}

/// The uid of the controlling owner, e.g. the ReplicaSet of a pod.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| obj.pointer("/metadata/ownerReferences/0"))?
        .get("uid")?
        .as_str()
}

pub fn owner_ref(owner: &Value, kind: Kind) -> Value {
    json!({
        "apiVersion": kind.api_version(),
        "kind": kind.name(),
        "name": str_at(owner, "/metadata/name"),
        "uid": uid_of(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_served_in_core_and_events_group_only() {
        assert_eq!(Kind::from_path("", "events"), Some(Kind::Event));
        assert_eq!(
            Kind::from_path("events.k8s.io", "events"),
            Some(Kind::Event)
        );
        assert_eq!(Kind::from_path("apps", "events"), None);
        assert_eq!(Kind::from_path("", "deployments"), None);
        assert_eq!(
            Kind::from_path("apps", "replicasets"),
            Some(Kind::ReplicaSet)
        );
    }

    #[test]
    fn rbac_kinds_live_in_their_group_with_their_scope() {
        let rbac = "rbac.authorization.k8s.io";
        assert_eq!(
            Kind::from_path(rbac, "clusterroles"),
            Some(Kind::ClusterRole)
        );
        assert_eq!(Kind::from_path("", "clusterroles"), None);
        assert_eq!(Kind::from_path(rbac, "secrets"), None);
        assert_eq!(Kind::from_path("", "secrets"), Some(Kind::Secret));
        assert!(!Kind::ClusterRoleBinding.namespaced());
        assert!(Kind::RoleBinding.namespaced() && Kind::ServiceAccount.namespaced());
        assert_eq!(Kind::Role.api_version(), "rbac.authorization.k8s.io/v1");
        assert_eq!(Kind::Pod.group(), "");
    }
}
