//! Blue-green and rolling releases on the engine's two tracks, and what the engine needs
//! to read of a Deployment to carry them on.
//!
//! # Blue-green
//! The stable Deployment `<g>` is the active colour, the canary Deployment `<g>-canary` the
//! preview. The template's Service `<g>` is the active Service: the engine adds the track
//! label to its selector. `<g>-preview` (made here, with the ports of `<g>`) selects the
//! canary track. With `n` gates (the strategy's `pause`/`analysis` steps) a release's
//! `step` reads:
//!
//! | step     | stage      | what runs                                                    |
//! |----------|------------|--------------------------------------------------------------|
//! | `< n`    | gate       | preview up, active on the old version                        |
//! | `n`      | preview    | waits for promote (or `autoPromote` once the preview is ready) |
//! | `n + 1`  | switched   | active on the preview; old version kept `scaleDownDelay`     |
//! | `n + 2`  | replacing  | `<g>` rolls to the new revision; active stays on the preview |
//!
//! When `<g>` runs the new revision on every pod, the active Service goes back to `<g>` and
//! the preview scales to 0: the release is promoted. An abort at any stage switches the
//! active Service back to `<g>` first, at once.
//!
//! # Rolling
//! One Deployment, `<g>`. A deploy applies the new revision to it (the release's canary
//! revision is the one rolling out); pause and resume set `spec.paused`; abort re-applies
//! the stable revision (the Deployment scales its previous ReplicaSet back up); the release
//! is promoted when every pod runs the new revision.

use serde_json::{Value, json};

use crate::domain::group::{BlueGreen, StrategyKind};
use crate::domain::{InstanceGroup, Phase, Release, Step, TrafficRouter, labels};

/// The name of the preview Service of a blue-green group.
pub fn preview_service(g: &InstanceGroup) -> String {
    format!("{}-preview", g.name())
}

/// The preview Service of blue-green group `g`: the active Service's ports and selector,
/// narrowed to the canary track.
pub fn preview_object(g: &InstanceGroup, active: &Value) -> Value {
    let mut selector = active
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    selector.insert(labels::GROUP.into(), json!(g.name()));
    selector.insert(labels::TRACK.into(), json!("canary"));
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": preview_service(g),
            "namespace": g.spec.namespace,
            "labels": {
                labels::GROUP: g.name(),
                labels::APP: g.app(),
                labels::MANAGED_BY: labels::MANAGER,
            },
        },
        "spec": {
            "selector": selector,
            "ports": crate::engine::traffic::service_ports(active),
        },
    })
}

/// Whether `g`'s strategy is one the engine can run, before anything is stored.
pub fn check_strategy(g: &InstanceGroup) -> Result<(), String> {
    let s = &g.spec.strategy;
    if s.blue_green.is_some() && s.rolling.is_some() {
        return Err("strategy has both blueGreen and rolling; choose one".into());
    }
    let kind = s.kind();
    if g.spec.kind == crate::domain::group::Workload::Cron {
        if kind != StrategyKind::Canary
            || !s.steps.is_empty()
            || s.traffic.router != TrafficRouter::Replicas
        {
            return Err(
                "a cron group has no strategy (a deploy replaces the CronJob; its next run is the trial)"
                    .into(),
            );
        }
        return Ok(());
    }
    if g.spec.concurrency.is_some() {
        return Err("concurrency is for cron groups (kind: cron)".into());
    }
    if kind == StrategyKind::Canary {
        return Ok(());
    }
    if s.traffic.router != TrafficRouter::Replicas {
        return Err(format!(
            "strategy {} switches whole Deployments and does not use traffic.router {}; use a canary strategy for weights",
            kind.as_str(),
            s.traffic.router.as_str()
        ));
    }
    match kind {
        StrategyKind::Rolling if !s.steps.is_empty() => Err(
            "strategy rolling has no steps (the Deployment replaces its pods itself); use canary or blueGreen for gates"
                .into(),
        ),
        StrategyKind::BlueGreen => {
            if let Some(step) = s
                .steps
                .iter()
                .find(|st| matches!(st, Step::SetWeight(_) | Step::SetHeaderRoute(_)))
            {
                let what = match step {
                    Step::SetWeight(_) => "setWeight",
                    _ => "setHeaderRoute",
                };
                return Err(format!(
                    "strategy blueGreen takes pause and analysis steps before the switch, not {what}"
                ));
            }
            let bg = s.blue_green.as_ref().cloned().unwrap_or_default();
            bg.delay()?;
            if bg
                .preview_replicas
                .is_some_and(|n| n == 0 || n > g.replicas().max(1) * 10)
            {
                return Err(
                    "blueGreen.previewReplicas is 0 or more than ten times replicas".into(),
                );
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Where a blue-green release stands (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Gate(usize),
    Preview,
    Switched,
    Replacing,
}

impl Stage {
    pub fn of(group: &InstanceGroup, release: &Release) -> Stage {
        let n = group.spec.strategy.steps.len();
        match release.step {
            s if s < n => Stage::Gate(s),
            s if s == n => Stage::Preview,
            s if s == n + 1 => Stage::Switched,
            _ => Stage::Replacing,
        }
    }

    /// Whether the active Service is on the preview (canary) track at this stage.
    pub fn active_on_preview(self) -> bool {
        matches!(self, Stage::Switched | Stage::Replacing)
    }
}

/// The blue-green settings of `g` (defaults when it is not blue-green).
pub fn blue_green(g: &InstanceGroup) -> BlueGreen {
    g.spec.strategy.blue_green.clone().unwrap_or_default()
}

/// When the old version of a switched blue-green release may go (`None`: not at that
/// stage, not waiting, or the delay cannot be read).
pub fn switch_ends_at(group: &InstanceGroup, release: &Release) -> Option<jiff::Timestamp> {
    if group.spec.strategy.kind() != StrategyKind::BlueGreen
        || release.phase != Phase::Progressing
        || Stage::of(group, release) != Stage::Switched
    {
        return None;
    }
    let delay = blue_green(group).delay().ok()?;
    release.updated_at.checked_add(delay).ok()
}

/// Where a blue-green or rolling release stands, in the strategy's own words: a short
/// form for lists and a sentence for the detail (`None`: a canary, or nothing in flight).
pub fn stage_words(group: &InstanceGroup, release: &Release) -> Option<(String, String)> {
    if !release.phase.in_flight() {
        return None;
    }
    let new = release.canary_revision.map(|n| format!("r{n}"))?;
    let old = format!("r{}", release.stable_revision);
    let paused = release.phase == Phase::Paused;
    match group.spec.strategy.kind() {
        StrategyKind::Canary => None,
        StrategyKind::Rolling if paused => Some((
            "paused".into(),
            format!(
                "{new} onto {} (was {old}), paused (spec.paused)",
                group.name()
            ),
        )),
        StrategyKind::Rolling => Some((
            "rolling".into(),
            format!("{new} onto {} (was {old})", group.name()),
        )),
        StrategyKind::BlueGreen => Some(match Stage::of(group, release) {
            Stage::Gate(i) => (
                "preview".into(),
                format!("preview {new}, active {old}; at gate step {i}"),
            ),
            Stage::Preview => (
                "preview".into(),
                format!("preview {new} waits for promote, active {old}"),
            ),
            Stage::Switched => {
                let bg = blue_green(group);
                let delay = bg.delay_text();
                let held = if paused { "held" } else { "kept" };
                (
                    "switched".into(),
                    format!("active {new}; old {old} {held} for the {delay} scale-down delay"),
                )
            }
            Stage::Replacing => (
                "replacing".into(),
                format!(
                    "active {new} on the preview; {} rolls from {old} to {new}",
                    group.stable_deployment()
                ),
            ),
        }),
    }
}

/// What a Deployment reports about its rollout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeploymentFacts {
    /// `flightdeck.dev/revision` of the last apply (`None`: not written by flightdeck).
    pub revision: Option<u64>,
    pub wanted: u32,
    pub updated: u32,
    pub available: u32,
    /// Pods of every ReplicaSet, old ones included.
    pub total: u32,
    /// The controller has seen the last change of the spec.
    pub observed: bool,
    pub paused: bool,
}

impl DeploymentFacts {
    pub fn from_object(d: &Value) -> DeploymentFacts {
        let n = |p: &str| {
            d.pointer(p)
                .and_then(Value::as_u64)
                .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX))
        };
        let generation = d.pointer("/metadata/generation").and_then(Value::as_i64);
        let observed = d
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64);
        DeploymentFacts {
            revision: d
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(labels::REVISION))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            wanted: d
                .pointer("/spec/replicas")
                .and_then(Value::as_u64)
                .map_or(1, |v| u32::try_from(v).unwrap_or(u32::MAX)),
            updated: n("/status/updatedReplicas"),
            available: n("/status/availableReplicas"),
            total: n("/status/replicas"),
            observed: matches!((generation, observed), (Some(g), Some(o)) if o >= g),
            paused: d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true),
        }
    }

    /// Every pod runs `revision` and is available, and no old pod is left.
    pub fn done(&self, revision: u64) -> bool {
        self.revision == Some(revision)
            && self.observed
            && self.updated >= self.wanted
            && self.available >= self.wanted
            && self.total <= self.wanted
    }

    /// `4 of 10 updated, 3 available`.
    pub fn progress(&self) -> String {
        let mut s = format!(
            "{} of {} updated, {} available",
            self.updated.min(self.wanted),
            self.wanted,
            self.available
        );
        if self.total > self.wanted {
            s.push_str(&format!(", {} old still running", self.total - self.wanted));
        }
        if !self.observed {
            s.push_str(", change not yet seen by the Deployment controller");
        }
        s
    }
}

/// The two Deployments of a group as read before an action that needs them
/// (`None` in a field: the Deployment does not exist).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tracks {
    pub stable: Option<DeploymentFacts>,
    pub canary: Option<DeploymentFacts>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(strategy: &str) -> InstanceGroup {
        serde_norway::from_str(&format!(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{ name: web, app: shop }}\n\
             spec: {{ cluster: c, namespace: n, template: t, params: {{ replicas: 4 }}, strategy: {strategy} }}"
        ))
        .unwrap()
    }

    #[test]
    fn strategies_are_checked_before_they_are_stored() {
        assert!(check_strategy(&group("{ blueGreen: {} }")).is_ok());
        assert!(check_strategy(&group("{ rolling: {} }")).is_ok());
        let both = check_strategy(&group("{ blueGreen: {}, rolling: {} }")).unwrap_err();
        assert!(both.contains("both"), "{both}");
        let weights =
            check_strategy(&group("{ blueGreen: {}, steps: [ { setWeight: 5 } ] }")).unwrap_err();
        assert!(weights.contains("not setWeight"), "{weights}");
        let router =
            check_strategy(&group("{ rolling: {}, traffic: { router: istio } }")).unwrap_err();
        assert!(router.contains("traffic.router istio"), "{router}");
        let steps =
            check_strategy(&group("{ rolling: {}, steps: [ { pause: {} } ] }")).unwrap_err();
        assert!(steps.contains("no steps"), "{steps}");
        let delay = check_strategy(&group("{ blueGreen: { scaleDownDelay: soon } }")).unwrap_err();
        assert!(delay.contains("scaleDownDelay 'soon'"), "{delay}");
        let unknown: Result<InstanceGroup, _> = serde_norway::from_str(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: { name: web, app: shop }\n\
             spec: { cluster: c, namespace: n, template: t, strategy: { blueGreen: { previewReplica: 2 } } }",
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn a_rollout_is_done_when_every_pod_runs_the_revision() {
        let d = |rev: &str, updated: u32, available: u32, total: u32, observed: i64| {
            DeploymentFacts::from_object(&json!({
                "metadata": {"generation": 3, "annotations": {labels::REVISION: rev}},
                "spec": {"replicas": 4},
                "status": {"observedGeneration": observed, "updatedReplicas": updated,
                           "availableReplicas": available, "replicas": total}
            }))
        };
        assert!(d("7", 4, 4, 4, 3).done(7));
        assert!(!d("6", 4, 4, 4, 3).done(7), "another revision");
        assert!(!d("7", 4, 4, 4, 2).done(7), "not yet observed");
        assert!(!d("7", 2, 4, 6, 3).done(7), "old pods still run");
        assert!(!d("7", 4, 3, 4, 3).done(7), "one not available");
        assert_eq!(
            d("7", 2, 3, 6, 3).progress(),
            "2 of 4 updated, 3 available, 2 old still running"
        );
    }
}
