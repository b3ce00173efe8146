use serde::{Deserialize, Serialize};

/// `kind: Template` — Kubernetes YAML with minijinja placeholders (`{{ params.tag }}`,
/// `{{ group }}`, `{{ track }}` …), rendered once per track into the objects to apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub api_version: String,
    pub kind: String,
    pub metadata: TemplateMetadata,
    pub spec: TemplateSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateMetadata {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSpec {
    /// The template text: one or more YAML documents.
    pub body: String,
    /// The kinds of object the template may render, each a bare Kind (`Deployment`: a
    /// well-known kind at its standard apiVersion) or a Kind with its exact apiVersion
    /// (`v1/Pod`, `networking.k8s.io/v1/NetworkPolicy`). Absent or empty: `Deployment` and
    /// `Service` only. Cluster-scoped kinds (Namespace, ClusterRole, …) are never allowed.
    /// Checked by [`crate::engine::render::check_template`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
}
