//! The engine's look at rendered objects and at what the cluster holds: the objects of
//! one track with its replica count (refusing objects of the wrong shape, whatever wrote
//! them), the checks on a group's own numbers, and the read-back after an apply.

use serde_json::{Value, json};

use super::phases::ClusterEffect;
use crate::domain::release::RouterState;
use crate::domain::{InstanceGroup, Revision, Track, TrafficRouter, labels};
use crate::kube::apply::{ApplyError, Replicas};

/// The objects of one track in a revision, with the track's replica count. Objects without
/// a track label (a Service selecting both tracks) go with the stable track. A stored
/// object of the wrong shape (not an object, a Deployment whose `spec` is not an object)
/// is refused with the reason, whatever wrote it.
pub fn objects_for(revision: &Revision, track: Track, replicas: u32) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, o) in revision.rendered.iter().enumerate() {
        let ours = match o
            .pointer("/metadata/labels")
            .and_then(|l| l.get(labels::TRACK))
            .and_then(|t| t.as_str())
        {
            Some(t) => t == track.as_str(),
            None => track == Track::Stable,
        };
        if !ours {
            continue;
        }
        let bad = |why: &str| {
            format!(
                "revision {} of {}, object {i}: {why}; fix the template and deploy again",
                revision.number, revision.group
            )
        };
        let Value::Object(map) = o else {
            return Err(bad("not an object"));
        };
        let mut map = map.clone();
        if map.get("kind").and_then(Value::as_str) == Some("Deployment") {
            match map.entry("spec").or_insert_with(|| json!({})) {
                Value::Object(spec) => {
                    spec.insert("replicas".into(), json!(replicas));
                }
                _ => return Err(bad("the Deployment's spec is not an object")),
            }
            // Which revision the Deployment was last given: how a rollout is known to be
            // done (on the Deployment, not its pod template, so no pod restarts for it).
            let Some(Value::Object(meta)) = map.get_mut("metadata") else {
                return Err(bad("the Deployment's metadata is not an object"));
            };
            match meta.entry("annotations").or_insert_with(|| json!({})) {
                Value::Object(notes) => {
                    notes.insert(labels::REVISION.into(), json!(revision.number.to_string()));
                }
                _ => return Err(bad("the Deployment's annotations are not an object")),
            }
        }
        out.push(Value::Object(map));
    }
    Ok(out)
}

/// A Deployment holds at most this many replicas (`spec.replicas` is an int32).
pub const MAX_REPLICAS: u64 = i32::MAX as u64;

/// What the engine needs of a group's own data before it acts: a replica count it can
/// compute with (absent means 1).
pub fn check_group(group: &InstanceGroup) -> Result<(), String> {
    match group.spec.params.get("replicas") {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_u64() {
            Some(n) if n <= MAX_REPLICAS => Ok(()),
            _ => Err(format!(
                "{}: params.replicas is {v}, not a replica count (0–{MAX_REPLICAS}); fix the group",
                group.name()
            )),
        },
    }
}

/// The (stable, canary) replicas the last scaling in `effects` asks for.
pub(crate) fn asked_replicas(effects: &[ClusterEffect]) -> Option<(u32, u32)> {
    effects.iter().rev().find_map(|e| match e {
        ClusterEffect::ScaleTracks { stable, canary } => Some((*stable, *canary)),
        _ => None,
    })
}

/// The (router, weight, header route names) the last routing in `effects` asks for.
pub(crate) fn asked_route(effects: &[ClusterEffect]) -> Option<(TrafficRouter, u8, Vec<String>)> {
    effects.iter().rev().find_map(|e| match e {
        ClusterEffect::RouteTraffic {
            router,
            weight,
            header_routes,
        } => Some((
            *router,
            *weight,
            header_routes
                .iter()
                .filter(|h| !h.matches.is_empty())
                .map(|h| h.name.clone())
                .collect(),
        )),
        _ => None,
    })
}

/// What the cluster really holds after an apply, in words for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    pub text: String,
    /// The cluster holds other replica counts (or router weights) than were asked for.
    pub mismatch: bool,
    /// What the router's object held, for a mesh or ingress router.
    pub router: Option<RouterState>,
}

/// What a router object holds against what was asked: the record, and a note when they
/// differ (someone edited the route by hand, or an abort did not reach 100 % stable).
pub fn router_state(
    router: TrafficRouter,
    asked: u8,
    asked_routes: usize,
    held: crate::engine::traffic::Held,
    at: jiff::Timestamp,
) -> RouterState {
    let name = router.as_str();
    let note = match (held.problem, held.weight) {
        (Some(p), _) => Some(format!("{name}: {p}")),
        (None, Some(w)) if w != asked => Some(format!(
            "{name} holds canary {w}% but {asked}% was asked for (edited by hand?)"
        )),
        (None, None) => Some(format!("{name}: no weight could be read")),
        _ if held.header_routes.len() != asked_routes => Some(format!(
            "{name} holds {} header routes but {asked_routes} were asked for",
            held.header_routes.len()
        )),
        _ => None,
    };
    RouterState {
        weight: held.weight,
        header_routes: held.header_routes,
        at,
        note,
        unread: false,
    }
}

impl ReadBack {
    /// `found` is (stable, canary) `spec.replicas`; a Deployment that does not exist
    /// holds 0.
    pub fn compare(asked: (u32, u32), found: (Replicas, Replicas)) -> ReadBack {
        let n = |r: Replicas| r.unwrap_or(0);
        let (s, c) = (n(found.0), n(found.1));
        if (s, c) == (i64::from(asked.0), i64::from(asked.1)) {
            ReadBack {
                text: format!("cluster: stable {s}, canary {c}"),
                mismatch: false,
                router: None,
            }
        } else {
            ReadBack {
                text: format!(
                    "MISMATCH: the cluster has stable {s}, canary {c} but stable {}, canary {} was asked for (something else changes these Deployments)",
                    asked.0, asked.1
                ),
                mismatch: true,
                router: None,
            }
        }
    }

    pub(crate) fn unread(e: &ApplyError) -> ReadBack {
        ReadBack {
            text: format!("cluster: not read back ({e})"),
            mismatch: false,
            router: None,
        }
    }

    /// Adds what the router holds to the words and the verdict.
    pub fn with_router(mut self, state: RouterState) -> ReadBack {
        let held = match (&state.note, state.weight) {
            (Some(note), _) if state.unread => note.clone(),
            (Some(note), _) => format!("MISMATCH: {note}"),
            (None, Some(w)) if state.header_routes.is_empty() => format!("router: canary {w}%"),
            (None, Some(w)) => format!(
                "router: canary {w}%, header routes {}",
                state.header_routes.join(", ")
            ),
            (None, None) => "router: not read".to_string(),
        };
        self.text = if self.text.is_empty() {
            held
        } else {
            format!("{}; {held}", self.text)
        };
        self.mismatch |= state.mismatch();
        self.router = Some(state);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GroupKey;

    fn revision(rendered: Vec<Value>) -> Revision {
        Revision {
            number: 3,
            group: GroupKey::new("c", "ns", "web"),
            params: Default::default(),
            rendered,
            created: jiff::Timestamp::UNIX_EPOCH,
            created_by: "bob".into(),
        }
    }

    fn deployment(track: &str, spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "labels": {(labels::TRACK): track}}, "spec": spec})
    }

    #[test]
    fn each_track_gets_its_replicas() {
        let r = revision(vec![
            deployment("stable", json!({"replicas": 1})),
            deployment("canary", json!({})),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}),
        ]);
        let stable = objects_for(&r, Track::Stable, 7).unwrap();
        assert_eq!(stable.len(), 2);
        assert_eq!(stable[0]["spec"]["replicas"], 7);
        let canary = objects_for(&r, Track::Canary, 2).unwrap();
        assert_eq!(canary.len(), 1);
        assert_eq!(canary[0]["spec"]["replicas"], 2);
    }

    #[test]
    fn objects_of_the_wrong_shape_are_refused_not_panicked_on() {
        for bad in [
            deployment("stable", json!(5)),
            deployment("stable", json!([1])),
            deployment("stable", json!("x")),
        ] {
            let err = objects_for(&revision(vec![bad]), Track::Stable, 1).unwrap_err();
            assert!(err.contains("spec is not an object"), "{err}");
            assert!(err.contains("revision 3 of c/ns/web"), "{err}");
        }
        let err = objects_for(&revision(vec![json!(5)]), Track::Stable, 1).unwrap_err();
        assert!(err.contains("not an object"), "{err}");
        // The other track's broken object is not this track's business.
        assert!(
            objects_for(
                &revision(vec![deployment("canary", json!(5))]),
                Track::Stable,
                1
            )
            .is_ok()
        );
    }

    #[test]
    fn replica_counts_out_of_range_are_refused() {
        let group = |replicas: &str| -> InstanceGroup {
            serde_norway::from_str(&format!(
                "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{ name: web, app: shop }}\n\
                 spec: {{ cluster: c, namespace: n, template: t, params: {{ {replicas} }} }}"
            ))
            .unwrap()
        };
        assert!(check_group(&group("")).is_ok());
        assert!(check_group(&group("replicas: 10")).is_ok());
        for bad in [
            "replicas: 5000000000",
            "replicas: -1",
            "replicas: 2.5",
            "replicas: ten",
            "replicas: 1e300",
        ] {
            let err = check_group(&group(bad)).unwrap_err();
            assert!(err.contains("not a replica count"), "{bad}: {err}");
        }
    }

    #[test]
    fn read_back_says_what_is_there_and_shouts_a_mismatch() {
        let ok = ReadBack::compare((4, 0), (Some(4), None));
        assert_eq!(ok.text, "cluster: stable 4, canary 0");
        assert!(!ok.mismatch);
        let bad = ReadBack::compare((4, 0), (Some(4), Some(1)));
        assert!(bad.mismatch);
        assert!(bad.text.starts_with("MISMATCH"), "{}", bad.text);
        assert!(bad.text.contains("stable 4, canary 1"), "{}", bad.text);
    }

    #[test]
    fn the_last_scaling_is_what_was_asked() {
        let effects = [
            ClusterEffect::ScaleTracks {
                stable: 9,
                canary: 1,
            },
            ClusterEffect::ScaleTracks {
                stable: 10,
                canary: 0,
            },
        ];
        assert_eq!(asked_replicas(&effects), Some((10, 0)));
        assert_eq!(asked_replicas(&[]), None);
    }
}
