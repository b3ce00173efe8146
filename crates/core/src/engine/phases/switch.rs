//! The phase machine for blue-green and rolling strategies (see [`crate::engine::strategy`]
//! for their stages). Abort, rollback and restart are the canary's: `settle_on` knows how
//! each strategy comes back to one version.

use super::{Machine, Stop, Transition, refuse, run_forward};
use crate::domain::{Phase, Track};
use crate::engine::action::Action;
use crate::engine::phases::{ClusterEffect, Refusal};
use crate::engine::router::track_replicas;
use crate::engine::strategy::{Stage, blue_green, preview_service};

impl Machine<'_> {
    pub(super) fn blue_green(&self, action: &Action) -> Result<Transition, Refusal> {
        let name = self.name();
        match action {
            Action::Deploy { tag, .. } => self.bg_deploy(tag),
            Action::Step => {
                let revision = self.in_flight_revision("step")?;
                match Stage::of(self.group, self.current) {
                    Stage::Gate(i) => Ok(self.bg_forward(
                        i + 1,
                        revision,
                        format!("stepped by {}", self.ctx.by),
                        &format!("stepped past step {i}"),
                    )),
                    Stage::Preview => self.switch(revision),
                    Stage::Switched => Ok(self.replace(revision)),
                    Stage::Replacing => self.finish_switch(revision),
                }
            }
            Action::Weight(_) => refuse(format!(
                "cannot set a weight: {name} is blue-green, with no weights; promote switches all traffic to the preview at once"
            )),
            Action::Pause => match (self.current.phase, Stage::of(self.group, self.current)) {
                (Phase::Progressing, Stage::Replacing) => refuse(format!(
                    "cannot pause: {name} already runs the new version on its stable Deployment; abort or roll back"
                )),
                _ => self.pause(),
            },
            Action::Resume => match (self.current.phase, Stage::of(self.group, self.current)) {
                (Phase::Paused, Stage::Preview) => refuse(format!(
                    "cannot resume: the preview of {name} waits for promote (promote switches all traffic to it)"
                )),
                (Phase::Paused, Stage::Switched) => {
                    let mut r = self.next(format!("resumed by {}", self.ctx.by));
                    r.phase = Phase::Progressing;
                    Ok(Transition {
                        release: r,
                        new_revision: None,
                        effects: vec![],
                        summary: format!(
                            "resumed: the old version goes after {}",
                            self.delay_text()
                        ),
                    })
                }
                (Phase::Paused, Stage::Gate(at)) => {
                    let revision = self.in_flight_revision("resume")?;
                    let from = match self.steps().get(at) {
                        Some(crate::domain::Step::Pause(_)) => at + 1,
                        _ => at,
                    };
                    Ok(self.bg_forward(
                        from,
                        revision,
                        format!("resumed by {}", self.ctx.by),
                        "resumed",
                    ))
                }
                _ => self.resume(),
            },
            Action::Promote => {
                let revision = self.in_flight_revision("promote")?;
                match Stage::of(self.group, self.current) {
                    Stage::Gate(_) | Stage::Preview => self.switch(revision),
                    Stage::Switched => Ok(self.replace(revision)),
                    Stage::Replacing => refuse(format!(
                        "cannot promote: {name} already switched to r{revision}; its stable Deployment is being replaced and the release finishes by itself"
                    )),
                }
            }
            Action::Abort => self.abort().map(|mut t| {
                let canary = self
                    .current
                    .canary_revision
                    .map(|n| format!("r{n}"))
                    .unwrap_or_else(|| "the preview".into());
                t.summary = format!(
                    "aborted {canary}: active Service back on r{} at once ({} pods), preview scaled to 0",
                    self.current.stable_revision,
                    self.total()
                );
                t
            }),
            Action::Rollback { to_revision } => self.rollback(*to_revision),
            Action::Restart { track } => self.restart(*track),
            // Not a cron group: refused before the strategies are asked.
            Action::Suspend | Action::Trigger | Action::Kill { .. } => {
                refuse(format!("cannot {}: {name} is not a cron group", action.verb().phrase()))
            }
            // Answered before the strategies are asked.
            Action::Drain { .. } | Action::FinishDrain { .. } => self.drain(action),
        }
    }

    pub(super) fn rolling(&self, action: &Action) -> Result<Transition, Refusal> {
        let name = self.name();
        match action {
            Action::Deploy { tag, .. } => {
                let revision = self.new_revision(tag)?;
                let mut r = self.next(format!("deployed {tag} by {}", self.ctx.by));
                r.phase = Phase::Progressing;
                r.step = 0;
                r.weight = 0;
                r.header_routes.clear();
                r.canary_revision = Some(revision);
                Ok(Transition {
                    release: r,
                    new_revision: Some(revision),
                    effects: vec![
                        ClusterEffect::ApplyRevision {
                            track: Track::Stable,
                            revision,
                            replicas: self.total(),
                        },
                        ClusterEffect::PauseRollout { paused: false },
                        ClusterEffect::ScaleTracks {
                            stable: self.total(),
                            canary: 0,
                        },
                    ],
                    summary: format!(
                        "deployed r{revision} ({tag}): rolling onto {name} ({} pods), promoted when every pod runs it",
                        self.total()
                    ),
                })
            }
            Action::Step | Action::Promote => {
                let verb = action.verb().phrase();
                let revision = self.in_flight_revision(verb)?;
                let facts = self.ctx.tracks.and_then(|t| t.stable.as_ref());
                match facts {
                    Some(f) if f.done(revision) => Ok(self.promoted(
                        revision,
                        format!("rolled out by {}", self.ctx.by),
                        format!(
                            "r{revision} runs on every pod of {name} ({}): promoted to stable",
                            self.total()
                        ),
                    )),
                    Some(f) => refuse(format!(
                        "cannot {verb}: r{revision} is still rolling out on {name} ({}); the release is promoted when every pod runs it",
                        f.progress()
                    )),
                    None => refuse(format!(
                        "cannot {verb}: the Deployment {name} was not read; the release is promoted when every pod runs r{revision}"
                    )),
                }
            }
            Action::Weight(_) => refuse(format!(
                "cannot set a weight: {name} is a rolling release, with one Deployment; pause, resume or abort it"
            )),
            Action::Pause => self.pause().map(|mut t| {
                t.effects = vec![ClusterEffect::PauseRollout { paused: true }];
                t.summary = format!("paused the rollout of {name} (spec.paused)");
                t
            }),
            Action::Resume => {
                if self.current.phase != Phase::Paused {
                    return self.resume();
                }
                self.in_flight_revision("resume")?;
                let mut r = self.next(format!("resumed by {}", self.ctx.by));
                r.phase = Phase::Progressing;
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects: vec![ClusterEffect::PauseRollout { paused: false }],
                    summary: format!("resumed the rollout of {name}"),
                })
            }
            Action::Abort => self.abort().map(|mut t| {
                let canary = self
                    .current
                    .canary_revision
                    .map(|n| format!("r{n}"))
                    .unwrap_or_else(|| "the rollout".into());
                t.summary = format!(
                    "aborted {canary}: {name} rolls back to r{} (its previous ReplicaSet)",
                    self.current.stable_revision
                );
                t
            }),
            Action::Rollback { to_revision } => self.rollback(*to_revision),
            Action::Restart { track } => self.restart(*track),
            // Not a cron group: refused before the strategies are asked.
            Action::Suspend | Action::Trigger | Action::Kill { .. } => refuse(format!(
                "cannot {}: {name} is not a cron group",
                action.verb().phrase()
            )),
            // Answered before the strategies are asked.
            Action::Drain { .. } | Action::FinishDrain { .. } => self.drain(action),
        }
    }

    /// The revision in flight, or why `verb` has nothing to act on.
    fn in_flight_revision(&self, verb: &str) -> Result<u64, Refusal> {
        if !self.current.phase.in_flight() {
            return self.not_in_flight(verb, "");
        }
        self.canary_revision(verb)
    }

    fn delay_text(&self) -> String {
        blue_green(self.group).delay_text().to_string()
    }

    fn preview_pods(&self) -> u32 {
        track_replicas(self.group, 0, true).1
    }

    fn bg_deploy(&self, tag: &str) -> Result<Transition, Refusal> {
        let revision = self.new_revision(tag)?;
        let fresh = self.fresh();
        let m = Machine {
            current: &fresh,
            ..*self
        };
        let mut t = m.bg_forward(
            0,
            revision,
            format!("deployed {tag} by {}", self.ctx.by),
            &format!("deployed r{revision} ({tag})"),
        );
        t.effects.insert(
            0,
            ClusterEffect::ApplyRevision {
                track: Track::Canary,
                revision,
                replicas: self.preview_pods(),
            },
        );
        t.new_revision = Some(revision);
        Ok(t)
    }

    /// Runs the gates forward from `from`: the release waits at the first pause or
    /// analysis, else at the preview stage for promote.
    fn bg_forward(&self, from: usize, revision: u64, message: String, lead: &str) -> Transition {
        let n = self.steps().len();
        let (step, phase) = match run_forward(self.steps(), from, 0, Vec::new()) {
            Stop::At { step, phase, .. } => (step, phase),
            Stop::Done => (n, Phase::Paused),
        };
        let mut r = self.next(message);
        r.phase = phase;
        r.step = step;
        r.weight = 0;
        r.canary_revision = Some(revision);
        let preview = format!(
            "preview r{revision} on {} pods behind {}, active stays on r{}",
            self.preview_pods(),
            preview_service(self.group),
            self.current.stable_revision
        );
        let waiting = match (step == n, phase) {
            (true, _) if blue_green(self.group).auto_promote => {
                "switches by itself once the preview is ready".to_string()
            }
            (true, _) => "promote switches all traffic to it".to_string(),
            (false, Phase::Paused) => format!("Paused at step {step}"),
            (false, _) => format!("analysis running at step {step}"),
        };
        Transition {
            release: r,
            new_revision: None,
            effects: vec![
                ClusterEffect::ScaleTracks {
                    stable: self.total(),
                    canary: self.preview_pods(),
                },
                ClusterEffect::SwitchServices {
                    active: Track::Stable,
                },
            ],
            summary: format!("{lead}: {preview}; {waiting}"),
        }
    }

    /// The active Service goes to the preview, when the preview is ready.
    fn switch(&self, revision: u64) -> Result<Transition, Refusal> {
        let name = self.name();
        if let Some(tracks) = self.ctx.tracks {
            match &tracks.canary {
                Some(f) if f.done(revision) => {}
                Some(f) => {
                    return refuse(format!(
                        "cannot switch {name} to r{revision}: the preview is not ready ({}); wait, or abort",
                        f.progress()
                    ));
                }
                None => {
                    return refuse(format!(
                        "cannot switch {name} to r{revision}: its preview Deployment {} does not exist; abort and deploy again",
                        self.group.canary_deployment()
                    ));
                }
            }
        }
        let mut r = self.next(format!("switched to r{revision} by {}", self.ctx.by));
        r.phase = Phase::Progressing;
        r.step = self.steps().len() + 1;
        r.weight = 100;
        Ok(Transition {
            release: r,
            new_revision: None,
            effects: vec![ClusterEffect::SwitchServices {
                active: Track::Canary,
            }],
            summary: format!(
                "switched {name}: all traffic to r{revision} ({} pods); old r{} kept for {}, abort switches back at once",
                self.preview_pods(),
                self.current.stable_revision,
                self.delay_text()
            ),
        })
    }

    /// The stable Deployment rolls to the new revision behind the preview.
    fn replace(&self, revision: u64) -> Transition {
        let mut r = self.next(format!(
            "replacing r{} by {}",
            self.current.stable_revision, self.ctx.by
        ));
        r.phase = Phase::Progressing;
        r.step = self.steps().len() + 2;
        r.weight = 100;
        Transition {
            release: r,
            new_revision: None,
            effects: vec![ClusterEffect::ApplyRevision {
                track: Track::Stable,
                revision,
                replicas: self.total(),
            }],
            summary: format!(
                "old r{} scaling down: {} rolls to r{revision} while the preview serves",
                self.current.stable_revision,
                self.group.stable_deployment()
            ),
        }
    }

    /// Once the stable Deployment runs the new revision everywhere, the active Service goes
    /// back to it and the preview is emptied.
    fn finish_switch(&self, revision: u64) -> Result<Transition, Refusal> {
        let name = self.name();
        match self.ctx.tracks.and_then(|t| t.stable.as_ref()) {
            Some(f) if f.done(revision) => Ok(self.promoted(
                revision,
                format!("promoted by {}", self.ctx.by),
                format!(
                    "r{revision} runs on every pod of {} ({} pods): active Service back on it, preview scaled to 0",
                    self.group.stable_deployment(),
                    self.total()
                ),
            )),
            Some(f) => refuse(format!(
                "cannot finish {name}: {} is still rolling to r{revision} ({})",
                self.group.stable_deployment(),
                f.progress()
            )),
            None => refuse(format!(
                "cannot finish {name}: the Deployment {} was not read",
                self.group.stable_deployment()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::domain::{InstanceGroup, Release, labels};
    use crate::engine::phases::{Context, desired_effects, pause_ends_at, transition};
    use crate::engine::strategy::{DeploymentFacts, Tracks};

    fn group(strategy: &str) -> InstanceGroup {
        serde_norway::from_str(&format!(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{ name: web, app: shop }}\n\
             spec: {{ cluster: c, namespace: n, template: t, params: {{ replicas: 4 }}, strategy: {strategy} }}"
        ))
        .unwrap()
    }

    fn stable(g: &InstanceGroup) -> Release {
        let mut r = Release::stable(g.key(), 2, "bob");
        r.updated_at = "2026-11-23T04:00:00Z".parse().unwrap();
        r
    }

    fn facts(revision: u64, updated: u32) -> DeploymentFacts {
        DeploymentFacts::from_object(&json!({
            "metadata": {"generation": 2, "annotations": {labels::REVISION: revision.to_string()}},
            "spec": {"replicas": 4},
            "status": {"observedGeneration": 2, "updatedReplicas": updated,
                       "availableReplicas": updated, "replicas": 4}
        }))
    }

    fn act(
        g: &InstanceGroup,
        r: &Release,
        a: Action,
        tracks: Option<&Tracks>,
    ) -> Result<Transition, String> {
        let ctx = Context {
            now: "2026-11-23T05:00:00Z".parse().unwrap(),
            by: "alice",
            revisions: &[1, 2],
            previous_stable: Some(1),
            tracks,
            jobs: None,
            instances: None,
        };
        transition(g, r, &a, &ctx).map_err(|e| e.reason)
    }

    fn deploy() -> Action {
        Action::Deploy {
            tag: "v3".into(),
            params: BTreeMap::new(),
        }
    }

    #[test]
    fn blue_green_brings_up_a_preview_switches_then_replaces_the_old_version() {
        let g = group("{ blueGreen: { scaleDownDelay: 45s }, steps: [ { pause: {} } ] }");
        let t = act(&g, &stable(&g), deploy(), None).unwrap();
        assert_eq!(t.release.phase, Phase::Paused);
        assert_eq!((t.release.step, t.release.canary_revision), (0, Some(3)));
        assert_eq!(
            t.effects,
            vec![
                ClusterEffect::ApplyRevision {
                    track: Track::Canary,
                    revision: 3,
                    replicas: 4
                },
                ClusterEffect::ScaleTracks {
                    stable: 4,
                    canary: 4
                },
                ClusterEffect::SwitchServices {
                    active: Track::Stable
                },
            ]
        );
        assert!(
            t.summary
                .contains("preview r3 on 4 pods behind web-preview, active stays on r2"),
            "{}",
            t.summary
        );
        let e = act(&g, &t.release, Action::Weight(50), None).unwrap_err();
        assert!(e.contains("no weights"), "{e}");

        // Past the gate, the preview waits for promote; resume does not switch.
        let at_preview = act(&g, &t.release, Action::Step, None).unwrap().release;
        assert_eq!((at_preview.phase, at_preview.step), (Phase::Paused, 1));
        let e = act(&g, &at_preview, Action::Resume, None).unwrap_err();
        assert!(e.contains("waits for promote"), "{e}");

        // A preview that is not ready is not switched to.
        let half = Tracks {
            stable: Some(facts(2, 4)),
            canary: Some(facts(3, 2)),
        };
        let e = act(&g, &at_preview, Action::Promote, Some(&half)).unwrap_err();
        assert!(
            e.contains("the preview is not ready (2 of 4 updated, 2 available)"),
            "{e}"
        );
        let ready = Tracks {
            stable: Some(facts(2, 4)),
            canary: Some(facts(3, 4)),
        };
        let switched = act(&g, &at_preview, Action::Promote, Some(&ready)).unwrap();
        assert_eq!(
            switched.effects,
            vec![ClusterEffect::SwitchServices {
                active: Track::Canary
            }]
        );
        assert_eq!(switched.release.phase, Phase::Progressing);
        assert!(
            switched
                .summary
                .contains("old r2 kept for 45s, abort switches back at once"),
            "{}",
            switched.summary
        );
        let ends = pause_ends_at(&g, &switched.release).unwrap();
        assert_eq!(
            ends,
            switched
                .release
                .updated_at
                .checked_add(jiff::SignedDuration::from_secs(45))
                .unwrap()
        );

        // Abort after the switch: the active Service goes back first.
        let aborted = act(&g, &switched.release, Action::Abort, None).unwrap();
        assert_eq!(
            aborted.effects[0],
            ClusterEffect::SwitchServices {
                active: Track::Stable
            }
        );
        assert_eq!(aborted.release.phase, Phase::Aborted);
        assert!(
            aborted
                .summary
                .contains("active Service back on r2 at once"),
            "{}",
            aborted.summary
        );

        // The delay over, the stable Deployment rolls to r3 behind the preview.
        let replacing = act(&g, &switched.release, Action::Step, None).unwrap();
        assert_eq!(
            replacing.effects,
            vec![ClusterEffect::ApplyRevision {
                track: Track::Stable,
                revision: 3,
                replicas: 4
            }]
        );
        assert_eq!(
            desired_effects(&g, &replacing.release).last(),
            Some(&ClusterEffect::SwitchServices {
                active: Track::Canary
            })
        );
        let e = act(
            &g,
            &replacing.release,
            Action::Step,
            Some(&Tracks {
                stable: Some(facts(3, 1)),
                ..ready.clone()
            }),
        )
        .unwrap_err();
        assert!(e.contains("still rolling to r3 (1 of 4 updated"), "{e}");
        let done = act(
            &g,
            &replacing.release,
            Action::Step,
            Some(&Tracks {
                stable: Some(facts(3, 4)),
                ..ready
            }),
        )
        .unwrap();
        assert_eq!(done.release.phase, Phase::Promoted);
        assert_eq!(done.release.stable_revision, 3);
        assert_eq!(
            done.effects,
            vec![
                ClusterEffect::SwitchServices {
                    active: Track::Stable
                },
                ClusterEffect::ApplyRevision {
                    track: Track::Stable,
                    revision: 3,
                    replicas: 4
                },
                ClusterEffect::ScaleTracks {
                    stable: 4,
                    canary: 0
                },
            ]
        );
    }

    #[test]
    fn rolling_follows_the_deployment_and_aborts_to_the_previous_revision() {
        let g = group("{ rolling: {} }");
        let t = act(&g, &stable(&g), deploy(), None).unwrap();
        assert_eq!(t.release.phase, Phase::Progressing);
        assert_eq!(
            (t.release.stable_revision, t.release.canary_revision),
            (2, Some(3))
        );
        assert_eq!(
            t.effects[0],
            ClusterEffect::ApplyRevision {
                track: Track::Stable,
                revision: 3,
                replicas: 4
            }
        );
        let paused = act(&g, &t.release, Action::Pause, None).unwrap();
        assert_eq!(
            paused.effects,
            vec![ClusterEffect::PauseRollout { paused: true }]
        );
        assert!(
            desired_effects(&g, &paused.release)
                .contains(&ClusterEffect::PauseRollout { paused: true })
        );
        let resumed = act(&g, &paused.release, Action::Resume, None).unwrap();
        assert_eq!(
            resumed.effects,
            vec![ClusterEffect::PauseRollout { paused: false }]
        );

        let e = act(&g, &t.release, Action::Weight(10), None).unwrap_err();
        assert!(e.contains("rolling release"), "{e}");
        let midway = Tracks {
            stable: Some(facts(3, 2)),
            canary: None,
        };
        let e = act(&g, &t.release, Action::Promote, Some(&midway)).unwrap_err();
        assert!(
            e.contains("still rolling out on web (2 of 4 updated"),
            "{e}"
        );
        let done = Tracks {
            stable: Some(facts(3, 4)),
            canary: None,
        };
        let promoted = act(&g, &t.release, Action::Step, Some(&done)).unwrap();
        assert_eq!(
            (promoted.release.phase, promoted.release.stable_revision),
            (Phase::Promoted, 3)
        );

        let aborted = act(&g, &paused.release, Action::Abort, None).unwrap();
        assert_eq!(
            aborted.effects,
            vec![
                ClusterEffect::ApplyRevision {
                    track: Track::Stable,
                    revision: 2,
                    replicas: 4
                },
                ClusterEffect::PauseRollout { paused: false },
                ClusterEffect::ScaleTracks {
                    stable: 4,
                    canary: 0
                },
            ]
        );
        assert!(
            aborted.summary.contains("web rolls back to r2"),
            "{}",
            aborted.summary
        );
    }
}
