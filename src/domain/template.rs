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
}
