use std::collections::BTreeMap;

use super::*;
use crate::domain::GroupKey;

/// The strategy of DESIGN.md §1 on 10 replicas.
const DESIGN_GROUP: &str = r#"
apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: user-info-grpc, app: user-info }
spec:
  cluster: prod-hz
  namespace: user
  template: grpc-service
  params: { image: registry.local/go/user-info, tag: master-3f2a1c, replicas: 10, port: 9000 }
  strategy:
    traffic: { router: replicas }
    steps:
      - setWeight: 5
      - pause: {}
      - setWeight: 25
      - pause: { duration: 5m }
      - analysis: { interval: 30s, count: 6 }
      - setWeight: 50
      - pause: {}
"#;

fn design_group() -> InstanceGroup {
    serde_norway::from_str(DESIGN_GROUP).unwrap()
}

fn t0() -> Timestamp {
    "2026-11-23T04:05:06Z".parse().unwrap()
}

fn later() -> Timestamp {
    "2026-11-23T05:00:00Z".parse().unwrap()
}

const REVISIONS: &[u64] = &[1, 2, 3];

fn ctx() -> Context<'static> {
    Context {
        now: later(),
        by: "alice",
        revisions: REVISIONS,
        previous_stable: Some(1),
        tracks: None,
        jobs: None,
        instances: None,
    }
}

/// A release of `group` in `phase`: stable r2, and canary r3 while one is in flight.
fn release(group: &InstanceGroup, phase: Phase) -> Release {
    let mut r = Release::stable(group.key(), 2, "bob");
    r.updated_at = t0();
    r.desired = 7;
    r.applied = 7;
    r.phase = phase;
    match phase {
        Phase::Stable => {}
        // Waiting for the analysis at step 4.
        Phase::Progressing => (r.canary_revision, r.step, r.weight) = (Some(3), 4, 25),
        Phase::Paused | Phase::Degraded => (r.canary_revision, r.step, r.weight) = (Some(3), 1, 5),
        Phase::Promoted => (r.step, r.stable_revision) = (7, 2),
        Phase::Aborted => (r.canary_revision, r.step) = (Some(3), 1),
    }
    r
}

fn deploy(tag: &str) -> Action {
    Action::Deploy {
        tag: tag.into(),
        params: BTreeMap::new(),
    }
}

fn run(group: &InstanceGroup, r: &Release, a: Action) -> Transition {
    transition(group, r, &a, &ctx()).unwrap_or_else(|e| panic!("{} refused: {e}", a.name()))
}

fn refusal(group: &InstanceGroup, r: &Release, a: Action) -> String {
    match transition(group, r, &a, &ctx()) {
        Ok(t) => panic!("{} allowed: {}", a.name(), t.summary),
        Err(e) => e.reason,
    }
}

#[test]
fn every_action_from_every_phase() {
    use Phase::*;
    enum Want {
        To(Phase),
        No(&'static str),
    }
    use Want::*;
    let actions = || {
        vec![
            deploy("2.0.0"),
            Action::Step,
            Action::Weight(50),
            Action::Pause,
            Action::Resume,
            Action::Promote,
            Action::Abort,
            Action::Rollback { to_revision: None },
            Action::Restart {
                track: Track::Stable,
            },
        ]
    };
    let idle = |p: Phase| {
        vec![
            To(Paused),
            No("cannot step: user-info-grpc is {p} (no release in flight); deploy first"),
            No("cannot set the weight: user-info-grpc is {p} (no release in flight); deploy first"),
            No("cannot pause: user-info-grpc is {p} (no release in flight)"),
            No("cannot resume: user-info-grpc is {p} (no release in flight)"),
            No("cannot promote: user-info-grpc is {p} (no release in flight)"),
            No("cannot abort: user-info-grpc is {p} (no release in flight)"),
            To(Stable),
            To(p),
        ]
    };
    let degraded = |verb: &'static str| -> Want {
        No(match verb {
            "deploy" => {
                "cannot deploy: user-info-grpc is Degraded (the last apply failed); only abort, rollback or re-apply are allowed"
            }
            "step" => {
                "cannot step: user-info-grpc is Degraded (the last apply failed); only abort, rollback or re-apply are allowed"
            }
            "weight" => {
                "cannot set the weight: user-info-grpc is Degraded (the last apply failed); only abort, rollback or re-apply are allowed"
            }
            "pause" => {
                "cannot pause: user-info-grpc is Degraded (the last apply failed); only abort, rollback or re-apply are allowed"
            }
            "resume" => {
                "cannot resume: user-info-grpc is Degraded (the last apply failed); only abort, rollback or re-apply are allowed"
            }
            "promote" => {
                "cannot promote: user-info-grpc is Degraded (the last apply failed); only abort, rollback or re-apply are allowed"
            }
            _ => {
                "cannot restart: user-info-grpc is Degraded (the last apply failed); only abort, rollback or re-apply are allowed"
            }
        })
    };
    let table: Vec<(Phase, Vec<Want>)> = vec![
        (Stable, idle(Stable)),
        (Promoted, idle(Promoted)),
        (Aborted, idle(Aborted)),
        (
            Progressing,
            vec![
                No(
                    "cannot deploy: a release is in flight on user-info-grpc (Progressing at step 4, 25%); promote or abort it first",
                ),
                To(Paused),
                To(Progressing),
                To(Paused),
                No("cannot resume: user-info-grpc is not paused (Progressing at step 4, 25%)"),
                To(Promoted),
                To(Aborted),
                To(Stable),
                To(Progressing),
            ],
        ),
        (
            Paused,
            vec![
                No(
                    "cannot deploy: a release is in flight on user-info-grpc (Paused at step 1, 5%); promote or abort it first",
                ),
                To(Paused),
                To(Paused),
                No("cannot pause: user-info-grpc is already Paused at step 1, 5%"),
                To(Paused),
                To(Promoted),
                To(Aborted),
                To(Stable),
                To(Paused),
            ],
        ),
        (
            Degraded,
            vec![
                degraded("deploy"),
                degraded("step"),
                degraded("weight"),
                degraded("pause"),
                degraded("resume"),
                degraded("promote"),
                To(Aborted),
                To(Stable),
                degraded("restart"),
            ],
        ),
    ];
    let g = design_group();
    for (phase, wants) in table {
        let current = release(&g, phase);
        for (action, want) in actions().into_iter().zip(wants) {
            let got = transition(&g, &current, &action, &ctx());
            let case = format!("{} from {phase}", action.name());
            match (want, got) {
                (To(p), Ok(t)) => {
                    assert_eq!(t.release.phase, p, "{case}: {}", t.summary);
                    assert_eq!(t.release.desired, 8, "{case}: desired moves on");
                    assert_eq!(t.release.applied, 7, "{case}: applying is the caller's");
                    assert_eq!(t.release.updated_by, "alice", "{case}");
                    assert_eq!(t.release.updated_at, later(), "{case}");
                    assert!(!t.summary.is_empty() && !t.summary.contains('\n'), "{case}");
                }
                (No(reason), Err(e)) => {
                    assert_eq!(e.reason, reason.replace("{p}", phase.as_str()), "{case}")
                }
                (To(p), Err(e)) => panic!("{case}: wanted {p}, refused: {e}"),
                (No(reason), Ok(t)) => panic!("{case}: wanted {reason:?}, got {}", t.summary),
            }
        }
    }
}

#[test]
fn the_design_strategy_walks_from_deploy_to_promoted() {
    let g = design_group();
    let start = release(&g, Phase::Stable);

    let t = run(&g, &start, deploy("master-4b5c6d"));
    assert_eq!(t.new_revision, Some(4));
    let r = &t.release;
    assert_eq!((r.phase, r.step, r.weight), (Phase::Paused, 1, 5));
    assert_eq!((r.stable_revision, r.canary_revision), (2, Some(4)));
    assert_eq!(
        t.effects,
        vec![
            ClusterEffect::ApplyRevision {
                track: Track::Canary,
                revision: 4,
                replicas: 1
            },
            ClusterEffect::ScaleTracks {
                stable: 9,
                canary: 1
            },
        ]
    );
    assert_eq!(
        t.summary,
        "deployed r4 (master-4b5c6d): weight 5% (1 of 10 pods canary, 10% effective), Paused at step 1"
    );
    assert_eq!(
        r.message.as_deref(),
        Some("deployed master-4b5c6d by alice")
    );

    // The person's pause is passed; the timed pause at step 3 waits for the agent.
    let t = run(&g, &t.release, Action::Step);
    let r = &t.release;
    assert_eq!((r.phase, r.step, r.weight), (Phase::Paused, 3, 25));
    assert_eq!(
        t.effects,
        vec![ClusterEffect::ScaleTracks {
            stable: 7,
            canary: 3
        }]
    );
    assert_eq!(
        t.summary,
        "stepped past step 1: weight 25% (3 of 10 pods canary, 30% effective), Paused at step 3"
    );
    assert_eq!(
        pause_ends_at(&g, r),
        Some("2026-11-23T05:05:00Z".parse().unwrap())
    );

    // Resuming the timed pause lands on the analysis, which runs while Progressing.
    let t = run(&g, &t.release, Action::Resume);
    let r = &t.release;
    assert_eq!((r.phase, r.step, r.weight), (Phase::Progressing, 4, 25));
    assert!(t.effects.iter().all(|e| *e
        == ClusterEffect::ScaleTracks {
            stable: 7,
            canary: 3
        }));
    assert_eq!(pause_ends_at(&g, r), None);

    // The judge passed: the agent steps on to 50%.
    let t = run(&g, &t.release, Action::Step);
    let r = &t.release;
    assert_eq!((r.phase, r.step, r.weight), (Phase::Paused, 6, 50));
    assert_eq!(
        t.summary,
        "stepped past step 4: weight 50% (5 of 10 pods canary), Paused at step 6"
    );
    assert_eq!(pause_ends_at(&g, r), None, "a person's pause has no timer");

    let t = run(&g, &t.release, Action::Step);
    let r = &t.release;
    assert_eq!(r.phase, Phase::Promoted);
    assert_eq!(
        (r.stable_revision, r.canary_revision, r.weight),
        (4, None, 0)
    );
    assert_eq!(r.step, 7);
    assert_eq!(
        t.effects,
        vec![
            ClusterEffect::ApplyRevision {
                track: Track::Stable,
                revision: 4,
                replicas: 10
            },
            ClusterEffect::ScaleTracks {
                stable: 10,
                canary: 0
            },
        ]
    );
    assert_eq!(
        t.summary,
        "stepped past step 6: the last step is done, r4 promoted to stable (10 pods)"
    );
}

#[test]
fn replica_counts_follow_the_weight() {
    let g = design_group();
    let paused = release(&g, Phase::Paused);
    for (w, stable, canary, summary) in [
        (
            5,
            9,
            1,
            "set weight 5% (1 of 10 pods canary, 10% effective)",
        ),
        (
            25,
            7,
            3,
            "set weight 25% (3 of 10 pods canary, 30% effective)",
        ),
        (50, 5, 5, "set weight 50% (5 of 10 pods canary)"),
        (100, 0, 10, "set weight 100% (10 of 10 pods canary)"),
        (0, 10, 0, "set weight 0% (0 of 10 pods canary)"),
    ] {
        let t = run(&g, &paused, Action::Weight(w));
        assert_eq!(
            t.effects,
            vec![ClusterEffect::ScaleTracks { stable, canary }]
        );
        assert_eq!(t.summary, summary);
        assert_eq!((t.release.phase, t.release.step), (Phase::Paused, 1));
        assert_eq!(t.release.weight, w);
    }
    let r = refusal(&g, &paused, Action::Weight(150));
    assert_eq!(r, "cannot set weight 150%: the weight is 0–100");
}

#[test]
fn a_mesh_router_moves_pods_before_routes_on_the_way_up_and_after_on_the_way_down() {
    let mut g = design_group();
    g.spec.strategy.traffic.router = TrafficRouter::Nginx;
    let paused = release(&g, Phase::Paused);
    let up = run(&g, &paused, Action::Weight(50));
    // Stable keeps every pod: the router, not the pod count, splits the traffic.
    assert_eq!(
        up.effects,
        vec![
            ClusterEffect::ScaleTracks {
                stable: 10,
                canary: 5
            },
            ClusterEffect::RouteTraffic {
                router: TrafficRouter::Nginx,
                weight: 50,
                header_routes: vec![],
            },
        ]
    );
    assert_eq!(
        up.summary,
        "set weight 50% (exact through nginx: canary 5, stable 10 pods)"
    );
    // With a router the weight is exact, and the canary keeps a pod at 0%.
    let small = run(&g, &paused, Action::Weight(0));
    assert_eq!(
        small.summary,
        "set weight 0% (exact through nginx: canary 1, stable 10 pods)"
    );
    let down = run(&g, &paused, Action::Abort);
    assert_eq!(
        down.effects,
        vec![
            ClusterEffect::ApplyRevision {
                track: Track::Stable,
                revision: 2,
                replicas: 10
            },
            ClusterEffect::RouteTraffic {
                router: TrafficRouter::Nginx,
                weight: 0,
                header_routes: vec![],
            },
            ClusterEffect::ScaleTracks {
                stable: 10,
                canary: 0
            },
        ]
    );
}

#[test]
fn promote_and_abort_settle_on_one_revision() {
    let g = design_group();
    let paused = release(&g, Phase::Paused);
    let t = run(&g, &paused, Action::Promote);
    assert_eq!(
        (t.release.stable_revision, t.release.canary_revision),
        (3, None)
    );
    assert_eq!(
        t.summary,
        "promoted r3 to stable (10 pods), canary scaled to 0"
    );
    assert_eq!(t.new_revision, None);

    let t = run(&g, &paused, Action::Abort);
    let r = &t.release;
    assert_eq!(
        (r.phase, r.weight, r.stable_revision),
        (Phase::Aborted, 0, 2)
    );
    assert_eq!(
        r.canary_revision,
        Some(3),
        "the console still shows what was aborted"
    );
    assert_eq!(
        t.summary,
        "aborted r3: all traffic to stable r2 (10 pods), canary scaled to 0"
    );
    assert_eq!(r.message.as_deref(), Some("aborted by alice"));

    // After an abort a new deploy starts again from step 0.
    let t = run(&g, &t.release, deploy("2.0.1"));
    assert_eq!((t.release.step, t.release.weight), (1, 5));
    assert_eq!(t.release.canary_revision, Some(4));
}

#[test]
fn pause_and_resume_by_a_person() {
    let g = design_group();
    let analysing = release(&g, Phase::Progressing);
    let t = run(&g, &analysing, Action::Pause);
    assert_eq!(t.effects, vec![]);
    assert_eq!(t.summary, "paused at step 4 (25%)");
    assert_eq!(t.release.message.as_deref(), Some("paused by alice"));
    // Resuming a person's pause during an analysis runs that analysis again.
    let t = run(&g, &t.release, Action::Resume);
    assert_eq!((t.release.phase, t.release.step), (Phase::Progressing, 4));
}

#[test]
fn a_strategy_without_waiting_steps_deploys_straight_to_stable() {
    let mut g = design_group();
    g.spec.strategy.steps.clear();
    let t = run(&g, &release(&g, Phase::Stable), deploy("2.0.0"));
    assert_eq!(t.new_revision, Some(4));
    let r = &t.release;
    assert_eq!(
        (r.phase, r.stable_revision, r.canary_revision),
        (Phase::Promoted, 4, None)
    );
    assert_eq!(
        t.summary,
        "deployed r4 (2.0.0) straight to stable (10 pods): the strategy has no steps"
    );
    assert_eq!(
        t.effects[0],
        ClusterEffect::ApplyRevision {
            track: Track::Stable,
            revision: 4,
            replicas: 10
        }
    );

    g.spec.strategy.steps = vec![Step::SetWeight(20), Step::SetWeight(60)];
    let t = run(&g, &release(&g, Phase::Stable), deploy("2.0.0"));
    assert_eq!(
        (t.release.phase, t.release.stable_revision),
        (Phase::Promoted, 4)
    );
}

#[test]
fn rollback_needs_an_earlier_revision() {
    let g = design_group();
    let stable = release(&g, Phase::Stable);
    let first = Context {
        previous_stable: None,
        ..ctx()
    };
    let e = transition(&g, &stable, &Action::Rollback { to_revision: None }, &first).unwrap_err();
    assert_eq!(
        e.reason,
        "cannot roll back: user-info-grpc has no stable revision before r2; name a revision to go to"
    );
    let to = |n| Action::Rollback {
        to_revision: Some(n),
    };
    assert_eq!(
        refusal(&g, &stable, to(9)),
        "cannot roll back: user-info-grpc has no revision r9 (the latest is r3)"
    );
    assert_eq!(
        refusal(&g, &stable, to(2)),
        "cannot roll back: r2 is already the stable revision of user-info-grpc"
    );
    assert_eq!(
        refusal(&g, &release(&g, Phase::Paused), to(2)),
        "cannot roll back: r2 is already the stable revision of user-info-grpc; to drop the canary, abort"
    );

    let t = run(&g, &stable, Action::Rollback { to_revision: None });
    assert_eq!(
        (t.release.phase, t.release.stable_revision),
        (Phase::Stable, 1)
    );
    assert_eq!(
        t.new_revision, None,
        "a rollback re-applies, it does not rebuild"
    );
    assert_eq!(t.summary, "rolled back to r1 (was r2; 10 pods)");
    assert_eq!(
        t.effects[0],
        ClusterEffect::ApplyRevision {
            track: Track::Stable,
            revision: 1,
            replicas: 10
        }
    );

    // In flight, rollback aborts and goes back in one step.
    let t = run(&g, &release(&g, Phase::Degraded), to(1));
    assert_eq!(t.summary, "aborted r3 and rolled back to r1 (10 pods)");
    assert_eq!(
        (t.release.phase, t.release.canary_revision, t.release.weight),
        (Phase::Stable, None, 0)
    );
}

#[test]
fn restart_needs_pods_on_the_track() {
    let g = design_group();
    let t = run(
        &g,
        &release(&g, Phase::Paused),
        Action::Restart {
            track: Track::Canary,
        },
    );
    assert_eq!(
        t.effects,
        vec![ClusterEffect::RestartTrack {
            track: Track::Canary,
            at: later()
        }]
    );
    assert_eq!(t.summary, "rolling restart of the canary track (1 pod)");
    assert_eq!(
        refusal(
            &g,
            &release(&g, Phase::Stable),
            Action::Restart {
                track: Track::Canary
            }
        ),
        "cannot restart the canary track: user-info-grpc has no canary pods (Stable)"
    );
}

#[test]
fn odd_inputs_are_refused_not_panicked_on() {
    let g = design_group();
    assert_eq!(
        refusal(&g, &release(&g, Phase::Stable), deploy("  ")),
        "cannot deploy: the tag is empty"
    );
    let mut other = release(&g, Phase::Paused);
    other.group = GroupKey::new("prod-hz", "user", "someone-else");
    assert!(refusal(&g, &other, Action::Step).contains("does not belong"));
    // In flight without a canary revision (a hand-edited store): say so.
    let mut broken = release(&g, Phase::Paused);
    broken.canary_revision = None;
    assert_eq!(
        refusal(&g, &broken, Action::Promote),
        "cannot promote: user-info-grpc is Paused but has no canary revision; abort or roll back"
    );
    // The strategy shrank under a release in flight: stepping past it promotes.
    let mut short = g.clone();
    short.spec.strategy.steps.truncate(1);
    let t = run(&short, &release(&g, Phase::Progressing), Action::Step);
    assert_eq!(t.release.phase, Phase::Promoted);
}

#[test]
fn the_demo_release_progressing_at_a_weight_step_continues_to_the_next_pause() {
    // A release Progressing at a setWeight step (as older demo seeds had it) is not stuck:
    // pause/resume or step carry it to the next pause.
    let mut g = design_group();
    g.spec.strategy.steps = vec![
        Step::SetWeight(20),
        Step::Pause(Default::default()),
        Step::SetWeight(50),
        Step::Pause(Default::default()),
    ];
    let mut r = release(&g, Phase::Progressing);
    (r.step, r.weight) = (2, 50);
    let paused = run(&g, &r, Action::Pause);
    let t = run(&g, &paused.release, Action::Resume);
    assert_eq!(
        (t.release.phase, t.release.step, t.release.weight),
        (Phase::Paused, 3, 50)
    );
    let t = run(&g, &r, Action::Step);
    assert_eq!((t.release.phase, t.release.step), (Phase::Paused, 3));
}

#[test]
fn header_routes_are_set_by_steps_kept_by_weights_and_cleared_by_promote_and_abort() {
    let g: InstanceGroup = serde_norway::from_str(
        r#"
apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: web, app: shop }
spec:
  cluster: c
  namespace: shop
  template: t
  params: { replicas: 4 }
  strategy:
    traffic: { router: istio }
    steps:
      - setHeaderRoute: { name: beta, match: [ { header: x-beta, exact: "1" } ] }
      - setWeight: 0
      - pause: {}
      - setHeaderRoute: { name: beta }
      - setWeight: 20
      - pause: {}
"#,
    )
    .unwrap();
    let stable = Release::stable(g.key(), 2, "bob");
    let t = run(
        &g,
        &stable,
        Action::Deploy {
            tag: "v3".into(),
            params: Default::default(),
        },
    );
    assert_eq!((t.release.phase, t.release.step), (Phase::Paused, 2));
    assert_eq!(t.release.header_routes.len(), 1);
    let route = t.effects.iter().find_map(|e| match e {
        ClusterEffect::RouteTraffic {
            weight,
            header_routes,
            ..
        } => Some((*weight, header_routes.len())),
        _ => None,
    });
    assert_eq!(route, Some((0, 1)), "{:?}", t.effects);
    // The canary has a pod to reach though its weight is 0.
    assert!(t.effects.contains(&ClusterEffect::ScaleTracks {
        stable: 4,
        canary: 1
    }));

    let w = run(&g, &t.release, Action::Weight(10));
    assert_eq!(w.release.header_routes, t.release.header_routes);
    let next = run(&g, &t.release, Action::Step);
    assert_eq!((next.release.step, next.release.weight), (5, 20));
    assert!(
        next.release.header_routes.is_empty(),
        "removed by the step without matches"
    );

    for end in [Action::Promote, Action::Abort] {
        let done = run(&g, &t.release, end);
        assert!(done.release.header_routes.is_empty());
        assert!(done.effects.contains(&ClusterEffect::RouteTraffic {
            router: TrafficRouter::Istio,
            weight: 0,
            header_routes: vec![],
        }));
        assert!(done.effects.contains(&ClusterEffect::ScaleTracks {
            stable: 4,
            canary: 0
        }));
    }
}
