//! Templates to Kubernetes objects, with minijinja.
//!
//! A template sees `group`, `app`, `namespace`, `track`, `name` (the Deployment's name for
//! that track), `replicas` (for that track), `labels` (the flightdeck labels, ready to put on
//! objects) and `params`. Errors name the template, the line and the reason.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use thiserror::Error;

use crate::domain::{InstanceGroup, Template, Track, labels};

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
    params: &'a BTreeMap<String, serde_json::Value>,
}

/// Render `template` for one track of `group` with `params` (the revision's parameters).
pub fn render(
    template: &Template,
    group: &InstanceGroup,
    track: Track,
    params: &BTreeMap<String, serde_json::Value>,
    replicas: u32,
) -> Result<Vec<serde_json::Value>, RenderError> {
    let tname = template.metadata.name.clone();
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
        name,
        replicas,
        labels,
        params,
    };
    let text = env
        .get_template("t")
        .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
        .map_err(|e| jinja_error(&tname, e))?;
    let mut out = Vec::new();
    for (index, doc) in serde_norway::Deserializer::from_str(&text).enumerate() {
        let value: serde_json::Value =
            serde::Deserialize::deserialize(doc).map_err(|e| RenderError::Yaml {
                template: tname.clone(),
                line: e.location().map(|l| l.line()).unwrap_or(0),
                reason: e.to_string(),
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
        out.push(value);
    }
    Ok(out)
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
            spec: TemplateSpec { body: body.into() },
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
}
