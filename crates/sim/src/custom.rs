//! Custom resources: the kinds that CustomResourceDefinitions add while the cluster runs.
//!
//! The registry is the CRD objects in the store themselves, so a CRD created, changed or
//! deleted through the API is served (or no longer served) from the next request on, and
//! every simulated cluster has its own. Built-in kinds never come here; only a path or a
//! kind name that no built-in kind claims is looked up among the (few) CRDs.
//!
//! A custom [`Kind`] points at an interned [`CustomKind`] so that `Kind` stays `Copy` with
//! `&'static str` names. The same group and plural are the same kind whatever else a CRD
//! update changed (a short name, a printer column), so its objects stay where they are.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

use super::resource::{Kind, str_at};
use super::store::{Obj, Store, StoreError};

/// The CRDs every simulated cluster starts with, as if installed: the routers' kinds.
const SHIPPED: [&str; 4] = [
    include_str!("../../../assets/sim/crds/virtualservices.networking.istio.io.yaml"),
    include_str!("../../../assets/sim/crds/destinationrules.networking.istio.io.yaml"),
    include_str!("../../../assets/sim/crds/httproutes.gateway.networking.k8s.io.yaml"),
    include_str!("../../../assets/sim/crds/gateways.gateway.networking.k8s.io.yaml"),
];

/// The shipped CRDs, parsed.
pub fn shipped() -> Vec<Value> {
    SHIPPED
        .iter()
        .map(|text| serde_norway::from_str(text).expect("shipped CRDs are valid YAML"))
        .collect()
}

/// What the API server needs of a custom kind on every request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Def {
    pub group: String,
    pub plural: String,
    pub kind: String,
    pub singular: String,
    pub list_kind: String,
    pub namespaced: bool,
    /// The version objects are stored in (and converted from, with no schema change).
    pub storage_version: String,
    /// Whether the storage version has a `status` subresource.
    pub status: bool,
}

#[derive(Debug)]
pub struct CustomKind {
    pub def: Def,
    /// `group/storage_version`.
    pub api_version: String,
}

impl PartialEq for CustomKind {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for CustomKind {}

impl std::hash::Hash for CustomKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl PartialOrd for CustomKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CustomKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.identity().cmp(&other.identity())
    }
}

impl CustomKind {
    fn identity(&self) -> (&str, &str) {
        (&self.def.group, &self.def.plural)
    }
}

/// One leaked `CustomKind` per distinct definition: a process sees a handful (the shipped
/// CRDs, whatever tests register), so the leak is bounded.
fn intern(def: Def) -> &'static CustomKind {
    static INTERNED: OnceLock<Mutex<HashMap<Def, &'static CustomKind>>> = OnceLock::new();
    let mut map = INTERNED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(def.clone()).or_insert_with(|| {
        let api_version = format!("{}/{}", def.group, def.storage_version);
        Box::leak(Box::new(CustomKind { def, api_version }))
    })
}

/// The kind a (valid) CRD defines.
pub fn kind_of(crd: &Value) -> Option<Kind> {
    let names = crd.pointer("/spec/names")?;
    let storage = versions(crd).find(|v| v.get("storage") == Some(&json!(true)))?;
    let kind = str_at(names, "/kind").to_string();
    let def = Def {
        group: str_at(crd, "/spec/group").to_string(),
        plural: str_at(names, "/plural").to_string(),
        singular: match str_at(names, "/singular") {
            "" => kind.to_ascii_lowercase(),
            s => s.to_string(),
        },
        list_kind: match str_at(names, "/listKind") {
            "" => format!("{kind}List"),
            s => s.to_string(),
        },
        kind,
        namespaced: str_at(crd, "/spec/scope") != "Cluster",
        storage_version: str_at(storage, "/name").to_string(),
        status: storage.pointer("/subresources/status").is_some(),
    };
    (!def.group.is_empty() && !def.plural.is_empty() && !def.kind.is_empty())
        .then(|| Kind::Custom(intern(def)))
}

fn versions(crd: &Value) -> impl Iterator<Item = &Value> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The versions a CRD serves, in its order.
pub fn served_versions(crd: &Value) -> Vec<&str> {
    versions(crd)
        .filter(|v| v.get("served") == Some(&json!(true)))
        .map(|v| str_at(v, "/name"))
        .collect()
}

/// A version's entry of a CRD.
pub fn version<'a>(crd: &'a Value, name: &str) -> Option<&'a Value> {
    versions(crd).find(|v| str_at(v, "/name") == name)
}

pub fn crds(store: &Store) -> Vec<Obj> {
    store.list(Kind::CustomResourceDefinition, None).0
}

/// A custom resource as a request addresses it: the kind, the version asked for and its
/// CRD (for discovery's and the printers' details).
#[derive(Debug, Clone)]
pub struct Served {
    pub kind: Kind,
    pub version: String,
    pub crd: Obj,
}

/// The custom kind served at `/apis/{group}/{version}/{plural}`.
pub fn by_path(store: &Store, group: &str, version: &str, plural: &str) -> Option<Served> {
    crds(store).into_iter().find_map(|crd| {
        let ok = str_at(&crd, "/spec/group") == group
            && str_at(&crd, "/spec/names/plural") == plural
            && served_versions(&crd).contains(&version);
        ok.then(|| kind_of(&crd)).flatten().map(|kind| Served {
            kind,
            version: version.to_string(),
            crd: crd.clone(),
        })
    })
}

/// The custom kind an object's `apiVersion` and `kind` name.
pub fn by_kind(store: &Store, api_version: &str, kind: &str) -> Option<Served> {
    let (group, version) = api_version.rsplit_once('/')?;
    crds(store).into_iter().find_map(|crd| {
        let ok = str_at(&crd, "/spec/group") == group
            && str_at(&crd, "/spec/names/kind") == kind
            && served_versions(&crd).contains(&version);
        ok.then(|| kind_of(&crd)).flatten().map(|kind| Served {
            kind,
            version: version.to_string(),
            crd: crd.clone(),
        })
    })
}

/// What the API server checks of a CRD beyond its shape.
pub fn validate_crd(crd: &Value) -> Result<(), StoreError> {
    let invalid = |m: String| Err(StoreError::Invalid(format!("CustomResourceDefinition {m}")));
    let group = str_at(crd, "/spec/group");
    let plural = str_at(crd, "/spec/names/plural");
    let name = str_at(crd, "/metadata/name");
    if !group.contains('.') {
        return invalid(format!(
            "spec.group: Invalid value: {group:?}: should be a domain with at least one dot"
        ));
    }
    if plural.is_empty() || plural != plural.to_ascii_lowercase() {
        return invalid(format!(
            "spec.names.plural: Invalid value: {plural:?}: a lowercase name is required"
        ));
    }
    if str_at(crd, "/spec/names/kind").is_empty() {
        return invalid("spec.names.kind: Required value".into());
    }
    if name != format!("{plural}.{group}") {
        return invalid(format!(
            "metadata.name: Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
        ));
    }
    if !matches!(str_at(crd, "/spec/scope"), "Namespaced" | "Cluster") {
        return invalid("spec.scope: Unsupported value: must be Namespaced or Cluster".into());
    }
    let storage = versions(crd)
        .filter(|v| v.get("storage") == Some(&json!(true)))
        .count();
    if storage != 1 {
        return invalid(format!(
            "spec.versions: Invalid value: must have exactly one version marked as storage version, not {storage}"
        ));
    }
    Ok(())
}

/// What may not change in a CRD: its scope (the objects' keys depend on it).
pub fn check_crd_update(stored: &Value, edited: &Value) -> Result<(), StoreError> {
    if str_at(stored, "/spec/scope") != str_at(edited, "/spec/scope") {
        return Err(StoreError::Invalid(
            "CustomResourceDefinition spec.scope: Invalid value: field is immutable".into(),
        ));
    }
    Ok(())
}

/// The status the API server's CRD controllers give at once: names accepted, established,
/// the storage version recorded.
pub fn establish(crd: &mut Value) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut accepted = names.clone();
    if let Some(kind) = names.get("kind").and_then(Value::as_str) {
        if names.get("singular").is_none() {
            accepted["singular"] = json!(kind.to_ascii_lowercase());
        }
        if names.get("listKind").is_none() {
            accepted["listKind"] = json!(format!("{kind}List"));
        }
    }
    let mut stored: Vec<Value> = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(v) = versions(crd)
        .find(|v| v.get("storage") == Some(&json!(true)))
        .map(|v| v["name"].clone())
        && !stored.contains(&v)
    {
        stored.push(v);
    }
    let since = crd
        .pointer("/status/conditions/0/lastTransitionTime")
        .cloned()
        .unwrap_or_else(|| json!(super::time::now()));
    let condition = |t: &str, reason: &str, message: &str| json!({"type": t, "status": "True", "lastTransitionTime": since, "reason": reason, "message": message});
    crd["status"] = json!({
        "acceptedNames": accepted,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    });
}

/// The legacy discovery entry of a custom kind (and its status subresource) in `version`.
pub fn discovery_entries(crd: &Value, served: &str) -> Vec<Value> {
    let Some(Kind::Custom(c)) = kind_of(crd) else {
        return Vec::new();
    };
    let names = crd.pointer("/spec/names").cloned().unwrap_or_default();
    let list = |k: &str| names.get(k).cloned().unwrap_or(json!([]));
    let mut entry = json!({
        "name": c.def.plural,
        "singularName": c.def.singular,
        "namespaced": c.def.namespaced,
        "kind": c.def.kind,
        "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
        "shortNames": list("shortNames"),
        "storageVersionHash": "",
    });
    if names.get("categories").is_some() {
        entry["categories"] = list("categories");
    }
    let mut out = vec![entry];
    if version(crd, served).is_some_and(|v| v.pointer("/subresources/status").is_some()) {
        out.push(json!({
            "name": format!("{}/status", c.def.plural),
            "singularName": "",
            "namespaced": c.def.namespaced,
            "kind": c.def.kind,
            "verbs": ["get", "patch", "update"],
        }));
    }
    out
}

/// The groups the CRDs add, each with its served versions (the storage version's group
/// order: the first CRD's), for `/apis`.
pub fn groups(store: &Store) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for crd in crds(store) {
        let group = str_at(&crd, "/spec/group").to_string();
        let at = match out.iter().position(|(g, _)| *g == group) {
            Some(i) => i,
            None => {
                out.push((group, Vec::new()));
                out.len() - 1
            }
        };
        for v in served_versions(&crd) {
            if !out[at].1.iter().any(|have| have == v) {
                out[at].1.push(v.to_string());
            }
        }
    }
    for (_, versions) in &mut out {
        versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    }
    out
}

/// Kubernetes' version order: GA before beta before alpha, higher numbers first.
fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (level, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (level, major, minor)
}

/// The CRDs defining kinds in `group` that are served in `version`.
pub fn crds_serving(store: &Store, group: &str, version: &str) -> Vec<Obj> {
    crds(store)
        .into_iter()
        .filter(|c| str_at(c, "/spec/group") == group && served_versions(c).contains(&version))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_crds_are_valid_and_define_the_routers() {
        let kinds: Vec<String> = shipped()
            .iter()
            .map(|c| {
                validate_crd(c).unwrap();
                let Some(Kind::Custom(k)) = kind_of(c) else {
                    panic!("no kind")
                };
                format!("{}/{}", k.api_version, k.def.kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "networking.istio.io/v1/VirtualService",
                "networking.istio.io/v1/DestinationRule",
                "gateway.networking.k8s.io/v1/HTTPRoute",
                "gateway.networking.k8s.io/v1/Gateway",
            ]
        );
    }

    #[test]
    fn a_kind_is_its_group_and_plural() {
        let crd = &shipped()[0];
        let mut changed = crd.clone();
        changed["spec"]["names"]["shortNames"] = json!(["v"]);
        changed["spec"]["versions"][0]["subresources"] = json!(null);
        assert_eq!(kind_of(crd), kind_of(&changed));
        assert_ne!(kind_of(crd), kind_of(&shipped()[1]));
    }

    #[test]
    fn versions_sort_like_kubernetes() {
        let mut v = vec!["v1alpha3", "v1beta1", "v1", "v2beta1"];
        v.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(v, ["v1", "v2beta1", "v1beta1", "v1alpha3"]);
    }

    #[test]
    fn a_crd_must_be_named_after_its_plural_and_group() {
        let mut crd = shipped()[0].clone();
        crd["metadata"]["name"] = json!("vs.networking.istio.io");
        assert!(validate_crd(&crd).is_err());
        let mut two_storage = shipped()[0].clone();
        for v in two_storage["spec"]["versions"].as_array_mut().unwrap() {
            v["storage"] = json!(true);
        }
        assert!(validate_crd(&two_storage).is_err());
    }
}
