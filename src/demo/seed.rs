use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use thiserror::Error;

use crate::domain::{InstanceGroup, Phase, Release, Template, Track};
use crate::engine::render::{RenderError, render};
use crate::engine::router::track_replicas;
use crate::engine::traffic;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "assets/templates/service.yaml",
        include_str!("../../assets/templates/service.yaml"),
    ),
    (
        "assets/templates/worker.yaml",
        include_str!("../../assets/templates/worker.yaml"),
    ),
    (
        "assets/templates/cron.yaml",
        include_str!("../../assets/templates/cron.yaml"),
    ),
];
const GROUPS: &[(&str, &str)] = &[
    (
        "assets/groups/user-info.yaml",
        include_str!("../../assets/groups/user-info.yaml"),
    ),
    (
        "assets/groups/storefront.yaml",
        include_str!("../../assets/groups/storefront.yaml"),
    ),
    (
        "assets/groups/checkout.yaml",
        include_str!("../../assets/groups/checkout.yaml"),
    ),
    (
        "assets/groups/search.yaml",
        include_str!("../../assets/groups/search.yaml"),
    ),
];
const RELEASES: (&str, &str) = (
    "assets/demo/releases.yaml",
    include_str!("../../assets/demo/releases.yaml"),
);

/// Namespaces the generated groups are spread over.
const GENERATED_NAMESPACES: usize = 10;

#[derive(Debug, Error)]
pub enum SeedError {
    #[error("{file} line {line}: {reason}")]
    Asset {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("group {group}: template {template:?} is not among the templates")]
    UnknownTemplate { group: String, template: String },
    #[error("group {group}: {source}")]
    Render { group: String, source: RenderError },
    #[error("group {group}: its router: {why}")]
    Router { group: String, why: String },
}

/// Everything the demo starts with.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub templates: Vec<Template>,
    pub groups: Vec<InstanceGroup>,
    pub releases: Vec<Release>,
    /// Namespaces, Deployments and Services for the simulated cluster to start with.
    pub objects: Vec<serde_json::Value>,
    /// The canary tag of each group with a release in flight.
    pub canary_tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoRelease {
    group: String,
    canary_tag: String,
    step: usize,
    weight: u8,
    phase: Phase,
    by: String,
}

/// The sample estate on `cluster`, grown with generated groups to `total_groups` (never
/// fewer than the samples), each generated group running `pods_per_group` pods.
/// The demo group whose instances register (a rolling one), and where.
pub const REGISTERED_GROUP: &str = "storefront-mailer";
pub const REGISTRY_PREFIX: &str = "/services";

pub fn seed(cluster: &str, total_groups: usize, pods_per_group: u32) -> Result<Seed, SeedError> {
    let templates: Vec<Template> = TEMPLATES
        .iter()
        .map(|(file, text)| parse_one(file, text))
        .collect::<Result<_, _>>()?;
    let mut groups = Vec::new();
    for (file, text) in GROUPS {
        groups.extend(parse_many::<InstanceGroup>(file, text)?);
    }
    for g in &mut groups {
        g.spec.cluster = cluster.to_string();
        // The rolling sample registers its instances for service discovery, so the
        // group view's instances tab has a service to show (until a registrator runs,
        // its ready pods are strays — which is the truth).
        if g.name() == REGISTERED_GROUP && g.spec.registration.is_none() {
            g.spec.registration = Some(crate::domain::registration::Registration {
                prefix: REGISTRY_PREFIX.into(),
                service: None,
                port: None,
                drain: Default::default(),
                drain_for: None,
                drain_on_rollout: false,
            });
        }
    }
    let demo_releases: Vec<DemoRelease> = parse_one(RELEASES.0, RELEASES.1)?;
    let mut in_flight: BTreeMap<String, (String, usize, u8, Phase, String)> = demo_releases
        .into_iter()
        .map(|r| (r.group, (r.canary_tag, r.step, r.weight, r.phase, r.by)))
        .collect();
    let samples = groups.len();
    for i in 0..total_groups.saturating_sub(samples) {
        let (g, canary) = generated_group(cluster, i, pods_per_group);
        if let Some(tag) = canary {
            in_flight.insert(
                g.name().to_string(),
                (tag, 1, 10, Phase::Paused, "system:demo".into()),
            );
        }
        groups.push(g);
    }

    let mut objects = Vec::new();
    let mut namespaces: Vec<&str> = groups.iter().map(|g| g.spec.namespace.as_str()).collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in namespaces {
        objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    let mut releases = Vec::new();
    let mut canary_tags = BTreeMap::new();
    for g in &groups {
        let template = templates
            .iter()
            .find(|t| t.metadata.name == g.spec.template)
            .ok_or_else(|| SeedError::UnknownTemplate {
                group: g.name().into(),
                template: g.spec.template.clone(),
            })?;
        let rendered = |track, params: &BTreeMap<String, serde_json::Value>, replicas| {
            render(template, g, track, params, replicas).map_err(|source| SeedError::Render {
                group: g.name().into(),
                source,
            })
        };
        let mut release = Release::stable(g.key(), 1, "system:demo");
        let first = objects.len();
        let mut weight_now = 0;
        match in_flight.get(g.name()) {
            None => objects.extend(rendered(Track::Stable, &g.spec.params, g.replicas())?),
            Some((tag, step, weight, phase, by)) => {
                let (stable, canary) = track_replicas(g, *weight, true);
                weight_now = *weight;
                let mut canary_params = g.spec.params.clone();
                canary_params.insert("tag".into(), json!(tag));
                objects.extend(rendered(Track::Stable, &g.spec.params, stable)?);
                objects.extend(rendered(Track::Canary, &canary_params, canary)?);
                release.phase = *phase;
                release.canary_revision = Some(2);
                release.step = *step;
                release.weight = *weight;
                release.updated_by = by.clone();
                canary_tags.insert(g.name().to_string(), tag.clone());
            }
        }
        // A blue-green group's Services, as its first deploy left them.
        if g.spec.strategy.kind() == crate::domain::group::StrategyKind::BlueGreen
            && let Some(active) = objects[first..]
                .iter_mut()
                .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == g.name())
        {
            active["spec"]["selector"][crate::domain::labels::TRACK] = json!("stable");
            let preview = crate::engine::strategy::preview_object(g, active);
            objects.push(preview);
        }
        // A mesh or ingress group's router, as the engine would have left it.
        let router = g.spec.strategy.traffic.router;
        if router.splits_by_weight() {
            let ports = objects[first..]
                .iter()
                .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == g.name())
                .map(traffic::service_ports)
                .unwrap_or_default();
            let route = traffic::Route {
                group: g,
                weight: weight_now,
                header_routes: &[],
                ports,
                stable_ingress: None,
            };
            objects.extend(
                traffic::objects(router, &route).map_err(|why| SeedError::Router {
                    group: g.name().into(),
                    why,
                })?,
            );
        }
        releases.push(release);
    }
    Ok(Seed {
        templates,
        groups,
        releases,
        objects,
        canary_tags,
    })
}

/// A generated group: apps of two groups each (an API and a worker), spread over a few
/// namespaces; every tenth app has a healthy canary in flight and every 37th group a
/// crash-looping one, so a large estate looks like a real one.
fn generated_group(cluster: &str, i: usize, pods: u32) -> (InstanceGroup, Option<String>) {
    let app = format!("app-{:03}", i / 2);
    let (suffix, template) = if i.is_multiple_of(2) {
        ("api", "service")
    } else {
        ("worker", "worker")
    };
    let namespace = format!("estate-{:02}", (i / 2) % GENERATED_NAMESPACES + 1);
    let tag = format!("1.{}.{}", i % 7, i % 3);
    let g = InstanceGroup {
        api_version: "flightdeck/v1".into(),
        kind: "InstanceGroup".into(),
        metadata: crate::domain::group::GroupMetadata {
            name: format!("{app}-{suffix}"),
            app,
        },
        spec: crate::domain::GroupSpec {
            cluster: cluster.into(),
            namespace,
            template: template.into(),
            params: BTreeMap::from([
                (
                    "image".into(),
                    json!(format!("registry.local/estate/{suffix}")),
                ),
                ("tag".into(), json!(tag)),
                ("replicas".into(), json!(pods)),
                ("port".into(), json!(8080)),
            ]),
            // Canaries are seeded Paused at step 1: a pause the engine stops at.
            strategy: crate::domain::Strategy {
                steps: vec![
                    crate::domain::Step::SetWeight(10),
                    crate::domain::Step::Pause(Default::default()),
                    crate::domain::Step::SetWeight(50),
                    crate::domain::Step::Pause(Default::default()),
                ],
                ..Default::default()
            },
            kind: Default::default(),
            concurrency: None,
            health: None,
            protected: false,
            image_policy: None,
            registration: None,
        },
    };
    let canary = if (i + 1).is_multiple_of(37) {
        Some(format!("2.0.{}-crash", i % 5))
    } else if i.is_multiple_of(20) && i > 0 {
        Some(format!("1.{}.{}", i % 7 + 1, 0))
    } else {
        None
    };
    (g, canary)
}

fn parse_one<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, SeedError> {
    serde_norway::from_str(text).map_err(|e| yaml_error(file, e))
}

fn parse_many<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<Vec<T>, SeedError> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| T::deserialize(doc).map_err(|e| yaml_error(file, e)))
        .collect()
}

fn yaml_error(file: &str, e: serde_norway::Error) -> SeedError {
    SeedError::Asset {
        file: file.to_string(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_release_waits_where_the_engine_would_stop() {
        use crate::domain::Step;
        // The samples and generated groups, some of them with canaries.
        let s = seed("sim", 80, 2).unwrap();
        for r in s.releases.iter().filter(|r| r.phase.in_flight()) {
            let g = s.groups.iter().find(|g| g.key() == r.group).unwrap();
            match (g.spec.strategy.steps.get(r.step), r.phase) {
                (Some(Step::Pause(_)), Phase::Paused)
                | (Some(Step::Analysis(_)), Phase::Progressing) => {}
                (step, phase) => panic!(
                    "{} is seeded {phase} at step {} ({step:?}): the engine never stops there",
                    g.name(),
                    r.step
                ),
            }
        }
    }

    #[test]
    fn samples_render_and_in_flight_releases_get_a_canary() {
        let s = seed("sim", 0, 20).unwrap();
        assert_eq!(s.groups.len(), 13);
        assert_eq!(s.releases.len(), 13);
        // The cron group's CronJob is there to run.
        assert!(
            s.objects
                .iter()
                .any(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == "storefront-sitemap")
        );
        let preview = s
            .objects
            .iter()
            .find(|o| o["metadata"]["name"] == "storefront-admin-preview")
            .expect("the blue-green group's preview Service");
        assert_eq!(
            preview["spec"]["selector"]["flightdeck.dev/track"],
            "canary"
        );
        // Every strategy is there.
        let kinds: std::collections::BTreeSet<&str> = s
            .groups
            .iter()
            .map(|g| g.spec.strategy.kind().as_str())
            .collect();
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["blueGreen", "canary", "rolling"]
        );
        // Every router is there, as the engine would have written it.
        for (kind, name) in [
            ("VirtualService", "storefront-web"),
            ("DestinationRule", "storefront-web"),
            ("HTTPRoute", "storefront-api"),
            ("Ingress", "storefront-landing-canary"),
            ("Service", "storefront-api-canary"),
        ] {
            assert!(
                s.objects
                    .iter()
                    .any(|o| o["kind"] == kind && o["metadata"]["name"] == name),
                "no {kind} {name}"
            );
        }
        let deployments: Vec<&str> = s
            .objects
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert!(deployments.contains(&"checkout-web-canary"));
        assert!(!deployments.contains(&"user-info-grpc-canary"));
        let canary = s
            .objects
            .iter()
            .find(|o| o["metadata"]["name"] == "checkout-web-canary")
            .unwrap();
        assert_eq!(canary["spec"]["replicas"], 1);
        assert!(
            canary["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .ends_with(":2.8.0-crash")
        );
        let ns: Vec<_> = s
            .objects
            .iter()
            .filter(|o| o["kind"] == "Namespace")
            .collect();
        assert_eq!(ns.len(), 4);
    }

    #[test]
    fn a_large_estate_has_the_asked_size() {
        let s = seed("sim", 300, 20).unwrap();
        assert_eq!(s.groups.len(), 300);
        let pods: u64 = s
            .objects
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .map(|o| o["spec"]["replicas"].as_u64().unwrap())
            .sum();
        assert!((5_500..=6_100).contains(&pods), "{pods} pods");
        let mut names: Vec<_> = s.groups.iter().map(|g| g.key()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 300, "group keys are unique");
    }
}
