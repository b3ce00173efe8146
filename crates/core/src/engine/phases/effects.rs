//! What the phase machine asks of the cluster, and the whole desired state of a release as
//! such asks (for re-applying).

use jiff::Timestamp;

use crate::domain::group::HeaderRoute;
use crate::domain::group::StrategyKind;
use crate::domain::{InstanceGroup, Release, Track, TrafficRouter};
use crate::engine::router::track_replicas;
use crate::engine::strategy::Stage;

/// One thing to do to the cluster, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterEffect {
    /// Render `revision`'s objects for `track` with `replicas` pods and server-side apply them.
    ApplyRevision {
        track: Track,
        revision: u64,
        replicas: u32,
    },
    /// Set the replica counts of the stable and canary Deployments.
    ScaleTracks { stable: u32, canary: u32 },
    /// Give the canary `weight`% of requests, and every request matching one of
    /// `header_routes`, through an ingress or mesh router. Not emitted for the `replicas`
    /// router, whose weight is the pod split of [`Self::ScaleTracks`].
    RouteTraffic {
        router: TrafficRouter,
        weight: u8,
        header_routes: Vec<HeaderRoute>,
    },
    /// Rolling restart of a track: stamp its pod template with `at`, so re-applying the same
    /// effect does not restart twice.
    RestartTrack { track: Track, at: Timestamp },
    /// Blue-green: the active Service `<g>` selects the `active` track's pods, and the
    /// preview Service `<g>-preview` (made when missing) the canary's.
    SwitchServices { active: Track },
    /// Rolling: set the stable Deployment's `spec.paused`.
    PauseRollout { paused: bool },
    /// Cron group: set the CronJob's `spec.suspend`.
    SuspendCron { suspend: bool },
    /// Cron group: a Job from the CronJob's template, named for `at`.
    TriggerJob { at: Timestamp },
    /// Cron group: delete the named running Job, or every running one, with its pods.
    KillJobs { job: Option<String> },
    /// Registration: take the instance at `address` (`ip:port`) out of rotation — weight 0
    /// or removed, by the group's `registration.drain`.
    Deregister { address: String },
    /// A rollout's drain: the ReplicaSet removes this pod first on its next scale-down
    /// (lowest `pod-deletion-cost`).
    MarkForRemoval { pod: String },
    /// A drain's end: delete the pod, then whatever registration is left at `address`.
    DeletePod { pod: String, address: String },
    /// A rollout's drain's end: the new pod's readiness gate opens, so the Deployment counts
    /// it available and removes the drained one.
    AdmitPod { pod: String },
}

/// The effects that bring the cluster to `release` from whatever state it is in: what the
/// agent or a console applies when `desired ≠ applied`, and how a `Degraded` group is
/// retried. Every effect is idempotent.
pub fn desired_effects(group: &InstanceGroup, release: &Release) -> Vec<ClusterEffect> {
    let mut effects = release_effects(group, release);
    // A registrator that wrote the weight back, or a crash before the first write: drained
    // instances are taken out of rotation again.
    for d in &release.drains {
        effects.push(ClusterEffect::Deregister {
            address: d.address.clone(),
        });
        if d.for_pod.is_some() {
            effects.push(ClusterEffect::MarkForRemoval { pod: d.pod.clone() });
        }
    }
    effects
}

fn release_effects(group: &InstanceGroup, release: &Release) -> Vec<ClusterEffect> {
    if group.spec.kind == crate::domain::group::Workload::Cron {
        // A waiting deploy is not applied yet: the stable revision is what runs.
        return vec![
            ClusterEffect::ApplyRevision {
                track: Track::Stable,
                revision: release.stable_revision,
                replicas: group.replicas(),
            },
            ClusterEffect::SuspendCron {
                suspend: release.suspended,
            },
        ];
    }
    match group.spec.strategy.kind() {
        StrategyKind::Canary => {}
        StrategyKind::BlueGreen => return blue_green_effects(group, release),
        StrategyKind::Rolling => return rolling_effects(group, release),
    }
    let in_flight = release.phase.in_flight();
    let weight = if in_flight { release.weight } else { 0 };
    let (stable, canary) = track_replicas(group, weight, in_flight);
    let mut effects = vec![ClusterEffect::ApplyRevision {
        track: Track::Stable,
        revision: release.stable_revision,
        replicas: stable,
    }];
    if let (true, Some(revision)) = (in_flight, release.canary_revision) {
        effects.push(ClusterEffect::ApplyRevision {
            track: Track::Canary,
            revision,
            replicas: canary,
        });
    }
    effects.push(ClusterEffect::ScaleTracks { stable, canary });
    if group.spec.strategy.traffic.router.splits_by_weight() {
        effects.push(ClusterEffect::RouteTraffic {
            router: group.spec.strategy.traffic.router,
            weight,
            header_routes: if in_flight {
                release.header_routes.clone()
            } else {
                Vec::new()
            },
        });
    }
    effects
}

/// [`desired_effects`] of a blue-green release: the stable Deployment runs the new
/// revision once the release is replacing the old one.
fn blue_green_effects(group: &InstanceGroup, release: &Release) -> Vec<ClusterEffect> {
    let in_flight = release.phase.in_flight();
    let (stable, canary) = track_replicas(group, 0, in_flight);
    let Some(preview) = release.canary_revision.filter(|_| in_flight) else {
        return vec![
            ClusterEffect::SwitchServices {
                active: Track::Stable,
            },
            ClusterEffect::ApplyRevision {
                track: Track::Stable,
                revision: release.stable_revision,
                replicas: stable,
            },
            ClusterEffect::ScaleTracks { stable, canary },
        ];
    };
    let stage = Stage::of(group, release);
    let on_stable = if stage == Stage::Replacing {
        preview
    } else {
        release.stable_revision
    };
    vec![
        ClusterEffect::ApplyRevision {
            track: Track::Stable,
            revision: on_stable,
            replicas: stable,
        },
        ClusterEffect::ApplyRevision {
            track: Track::Canary,
            revision: preview,
            replicas: canary,
        },
        ClusterEffect::ScaleTracks { stable, canary },
        ClusterEffect::SwitchServices {
            active: if stage.active_on_preview() {
                Track::Canary
            } else {
                Track::Stable
            },
        },
    ]
}

/// [`desired_effects`] of a rolling release: the one Deployment runs the revision rolling
/// out (paused when the release is), or the stable one.
fn rolling_effects(group: &InstanceGroup, release: &Release) -> Vec<ClusterEffect> {
    let in_flight = release.phase.in_flight();
    let revision = match release.canary_revision {
        Some(n) if in_flight => n,
        _ => release.stable_revision,
    };
    vec![
        ClusterEffect::ApplyRevision {
            track: Track::Stable,
            revision,
            replicas: group.replicas(),
        },
        ClusterEffect::PauseRollout {
            paused: in_flight && release.phase == crate::domain::Phase::Paused,
        },
        ClusterEffect::ScaleTracks {
            stable: group.replicas(),
            canary: 0,
        },
    ]
}

/// Moves traffic from `from`% to `to`% (`live`: the canary stays; else it goes): pods
/// before routes when the canary grows, routes before pods when it shrinks, so no request
/// is routed to pods that are not there.
pub(super) fn shift(
    group: &InstanceGroup,
    from: u8,
    to: u8,
    live: bool,
    routes: &[HeaderRoute],
) -> Vec<ClusterEffect> {
    let (stable, canary) = track_replicas(group, to, live);
    let scale = ClusterEffect::ScaleTracks { stable, canary };
    match group.spec.strategy.traffic.router {
        TrafficRouter::Replicas => vec![scale],
        router => {
            let route = ClusterEffect::RouteTraffic {
                router,
                weight: to,
                header_routes: routes.to_vec(),
            };
            if to >= from && live {
                vec![scale, route]
            } else {
                vec![route, scale]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Phase;

    fn group(router: &str) -> InstanceGroup {
        serde_norway::from_str(&format!(
            "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{ name: web, app: shop }}\n\
             spec: {{ cluster: c, namespace: n, template: t, params: {{ replicas: 10 }},\
             strategy: {{ traffic: {{ router: {router} }} }} }}"
        ))
        .unwrap()
    }

    fn release(g: &InstanceGroup, phase: Phase, canary: Option<u64>, weight: u8) -> Release {
        let mut r = Release::stable(g.key(), 2, "bob");
        (r.phase, r.canary_revision, r.weight) = (phase, canary, weight);
        r
    }

    #[test]
    fn desired_effects_rebuild_the_cluster_state() {
        let g = group("replicas");
        assert_eq!(
            desired_effects(&g, &release(&g, Phase::Degraded, Some(3), 5)),
            vec![
                ClusterEffect::ApplyRevision {
                    track: Track::Stable,
                    revision: 2,
                    replicas: 9
                },
                ClusterEffect::ApplyRevision {
                    track: Track::Canary,
                    revision: 3,
                    replicas: 1
                },
                ClusterEffect::ScaleTracks {
                    stable: 9,
                    canary: 1
                },
            ]
        );
        // An aborted release keeps its canary revision for the record, not in the cluster.
        let g = group("istio");
        assert_eq!(
            desired_effects(&g, &release(&g, Phase::Aborted, Some(3), 0)),
            vec![
                ClusterEffect::ApplyRevision {
                    track: Track::Stable,
                    revision: 2,
                    replicas: 10
                },
                ClusterEffect::ScaleTracks {
                    stable: 10,
                    canary: 0
                },
                ClusterEffect::RouteTraffic {
                    router: TrafficRouter::Istio,
                    weight: 0,
                    header_routes: vec![],
                },
            ]
        );
    }

    #[test]
    fn the_replicas_router_only_scales() {
        let mut g = group("replicas");
        g.spec.params.insert("replicas".into(), 4.into());
        assert_eq!(
            shift(&g, 0, 30, true, &[]),
            vec![ClusterEffect::ScaleTracks {
                stable: 2,
                canary: 2
            }]
        );
        g.spec.strategy.traffic.router = TrafficRouter::GatewayApi;
        let down = shift(&g, 50, 0, false, &[]);
        assert!(matches!(
            down[0],
            ClusterEffect::RouteTraffic { weight: 0, .. }
        ));
    }
}
