//! Draining a pod of a group with a registration (issue 12, point 3), for every strategy:
//!
//! * **drain POD** — the pod must be one of the group's (read from the cluster just before)
//!   and not draining already. Its instance (`ip:port` under the group's service) goes out
//!   of rotation at once; the pod is deleted when `drainFor` has passed. Refused when the
//!   instance is the last ready one taking traffic: a drain never leaves the service with
//!   nobody to answer. In a rollout (`for_pod`, the controller's own), the pod is marked
//!   to be the ReplicaSet's next removal instead of being deleted.
//! * **drain-done POD** — only once the drain's time is up (so nobody can cut the wait
//!   short by asking for it): deletes the pod, or admits the new pod that waited on it.
//!
//! A drain changes no generation of the release's own state, but it is a change all the
//! same: it is stored in the release (so a restarted controller finishes it) and audited.

use super::{ClusterEffect, Machine, Refusal, Transition, refuse};
use crate::domain::registration::{self, Instance, PodAddress};
use crate::domain::release::Drain;
use crate::engine::action::Action;

/// What a drain reads first: the group's pods and its service's registrations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instances {
    pub pods: Vec<PodAddress>,
    pub registered: Vec<Instance>,
    /// The port the group's instances register with.
    pub port: u16,
}

impl Instances {
    fn address_of(&self, pod: &PodAddress) -> Option<String> {
        pod.ip
            .as_deref()
            .map(|ip| registration::address(ip, self.port))
    }

    /// Ready pods whose instance takes traffic.
    fn serving(&self) -> Vec<&PodAddress> {
        self.pods
            .iter()
            .filter(|p| p.ready)
            .filter(|p| {
                let a = self.address_of(p);
                self.registered
                    .iter()
                    .any(|i| Some(&i.address) == a.as_ref() && i.in_rotation())
            })
            .collect()
    }
}

impl Machine<'_> {
    pub(super) fn drain(&self, action: &Action) -> Result<Transition, Refusal> {
        let name = self.name();
        let Some(reg) = &self.group.spec.registration else {
            return refuse(format!(
                "cannot drain: {name} has no registration (spec.registration names where its instances register)"
            ));
        };
        match action {
            Action::Drain { pod, for_pod } => {
                if let Some(d) = self.current.drains.iter().find(|d| &d.pod == pod) {
                    return refuse(format!(
                        "cannot drain {pod}: it is draining already (since {}, deleted at {})",
                        d.by, d.until
                    ));
                }
                let Some(seen) = self.ctx.instances else {
                    return refuse(format!(
                        "cannot drain {pod}: the pods of {name} were not read"
                    ));
                };
                let Some(target) = seen.pods.iter().find(|p| &p.name == pod) else {
                    let mut names: Vec<&str> = seen.pods.iter().map(|p| p.name.as_str()).collect();
                    names.sort_unstable();
                    let more = names.len().saturating_sub(5);
                    names.truncate(5);
                    let tail = if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    };
                    return refuse(format!(
                        "cannot drain {pod}: it is not a pod of {name} (its pods: {}{tail})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ));
                };
                if let Some(new) = for_pod
                    && !seen.pods.iter().any(|p| &p.name == new)
                {
                    return refuse(format!(
                        "cannot drain {pod} for {new}: {new} is not a pod of {name}"
                    ));
                }
                let Some(address) = seen.address_of(target) else {
                    return refuse(format!(
                        "cannot drain {pod}: it has no IP yet, so it cannot be registered; delete it instead"
                    ));
                };
                let serving = seen.serving();
                if serving.len() == 1 && serving[0].name == *pod {
                    return refuse(format!(
                        "cannot drain {pod}: it is the last ready instance of {} taking traffic; scale up or wait for another to register",
                        reg.service(name)
                    ));
                }
                let wait = reg.drain_for().map_err(|reason| Refusal { reason })?;
                let until = self
                    .ctx
                    .now
                    .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
                    .unwrap_or(self.ctx.now);
                let registered = seen.registered.iter().any(|i| i.address == address);
                let mut r = self.next(format!("{pod} drained by {}", self.ctx.by));
                r.drains.push(Drain {
                    pod: pod.clone(),
                    address: address.clone(),
                    until,
                    by: self.ctx.by.to_string(),
                    for_pod: for_pod.clone(),
                });
                let mut effects = vec![ClusterEffect::Deregister {
                    address: address.clone(),
                }];
                if for_pod.is_some() {
                    effects.push(ClusterEffect::MarkForRemoval { pod: pod.clone() });
                }
                let how = match (registered, reg.drain) {
                    (false, _) => {
                        format!("{address} is not registered, nothing to take out of rotation")
                    }
                    (true, crate::domain::registration::DrainMode::Zero) => {
                        format!("weight 0 for {address}")
                    }
                    (true, crate::domain::registration::DrainMode::Remove) => {
                        format!("{address} unregistered")
                    }
                };
                let then = match for_pod {
                    Some(new) => format!("replaced by {new} in {}", reg.drain_for_text()),
                    None => format!("deleted in {}", reg.drain_for_text()),
                };
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects,
                    summary: format!("draining {pod}: {how}; {then}"),
                })
            }
            Action::FinishDrain { pod } => {
                let Some(d) = self.current.drains.iter().find(|d| &d.pod == pod) else {
                    return refuse(format!("cannot finish draining {pod}: it is not draining"));
                };
                if self.ctx.now < d.until {
                    return refuse(format!(
                        "cannot finish draining {pod} yet: its drain ends at {}",
                        d.until
                    ));
                }
                // The promise of a drain: a pod never goes while its instance takes traffic
                // (the registry refused the write, or a registrator put the weight back).
                if let Some(seen) = self.ctx.instances
                    && seen
                        .registered
                        .iter()
                        .any(|i| i.address == d.address && i.in_rotation())
                {
                    return refuse(format!(
                        "cannot finish draining {pod}: {} still takes traffic (its registration could not be changed yet)",
                        d.address
                    ));
                }
                let mut r = self.next(format!("{pod} drained"));
                r.drains.retain(|x| &x.pod != pod);
                let (effects, summary) = match &d.for_pod {
                    Some(new) => (
                        vec![ClusterEffect::AdmitPod { pod: new.clone() }],
                        format!(
                            "{pod} drained for {}: {new} takes its place",
                            reg.drain_for_text()
                        ),
                    ),
                    None => (
                        vec![ClusterEffect::DeletePod {
                            pod: pod.clone(),
                            address: d.address.clone(),
                        }],
                        format!("{pod} drained for {}: deleted", reg.drain_for_text()),
                    ),
                };
                Ok(Transition {
                    release: r,
                    new_revision: None,
                    effects,
                    summary,
                })
            }
            _ => refuse(format!("{} is not a drain", action.name())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InstanceGroup, Release};
    use crate::engine::phases::{Context, transition};
    use jiff::Timestamp;

    const GROUP: &str = r#"
apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: web, app: shop }
spec:
  cluster: sim
  namespace: shop
  template: web
  params: { replicas: 3, port: 8080 }
  strategy: { rolling: {} }
  registration: { prefix: /services, drainFor: 20s }
"#;

    fn group() -> InstanceGroup {
        serde_norway::from_str(GROUP).unwrap()
    }

    fn now() -> Timestamp {
        "2026-11-30T10:00:00Z".parse().unwrap()
    }

    fn seen(serving: &[(&str, &str)], weight: u32) -> Instances {
        Instances {
            pods: serving
                .iter()
                .map(|(n, ip)| PodAddress {
                    name: n.to_string(),
                    ip: Some(ip.to_string()),
                    ready: true,
                })
                .collect(),
            registered: serving
                .iter()
                .map(|(_, ip)| {
                    Instance::parse(
                        "/services/web/",
                        &format!("/services/web/{ip}:8080"),
                        format!(r#"{{"weight": {weight}}}"#).as_bytes(),
                        3,
                    )
                    .unwrap()
                })
                .collect(),
            port: 8080,
        }
    }

    fn run(
        release: &Release,
        action: Action,
        at: Timestamp,
        instances: Option<&Instances>,
    ) -> Result<Transition, String> {
        let ctx = Context {
            now: at,
            by: "alice",
            revisions: &[1],
            previous_stable: None,
            tracks: None,
            jobs: None,
            instances,
        };
        transition(&group(), release, &action, &ctx).map_err(|r| r.reason)
    }

    fn drain(pod: &str) -> Action {
        Action::Drain {
            pod: pod.into(),
            for_pod: None,
        }
    }

    #[test]
    fn a_drain_takes_the_instance_out_then_deletes_the_pod_after_drain_for() {
        let r = Release::stable(group().key(), 1, "bob");
        let pods = seen(&[("web-a", "10.0.0.1"), ("web-b", "10.0.0.2")], 100);
        let t = run(&r, drain("web-a"), now(), Some(&pods)).unwrap();
        assert_eq!(
            t.effects,
            vec![ClusterEffect::Deregister {
                address: "10.0.0.1:8080".into()
            }]
        );
        assert_eq!(t.release.drains.len(), 1);
        assert_eq!(
            t.release.drains[0].until,
            "2026-11-30T10:00:20Z".parse().unwrap()
        );
        assert!(
            t.summary.contains("weight 0 for 10.0.0.1:8080"),
            "{}",
            t.summary
        );
        let draining = t.release;
        // Twice: refused.
        assert!(
            run(&draining, drain("web-a"), now(), Some(&pods))
                .unwrap_err()
                .contains("draining already")
        );
        // Cutting the wait short: refused.
        let early = run(
            &draining,
            Action::FinishDrain {
                pod: "web-a".into(),
            },
            now(),
            None,
        );
        assert!(early.unwrap_err().contains("ends at"));
        // Still in rotation when the time is up (the write did not land): not deleted.
        let late: Timestamp = "2026-11-30T10:00:21Z".parse().unwrap();
        let finish = Action::FinishDrain {
            pod: "web-a".into(),
        };
        let e = run(&draining, finish, late, Some(&pods)).unwrap_err();
        assert!(e.contains("still takes traffic"), "{e}");
        let done = run(
            &draining,
            Action::FinishDrain {
                pod: "web-a".into(),
            },
            "2026-11-30T10:00:21Z".parse().unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(
            done.effects,
            vec![ClusterEffect::DeletePod {
                pod: "web-a".into(),
                address: "10.0.0.1:8080".into()
            }]
        );
        assert!(done.release.drains.is_empty());
    }

    #[test]
    fn a_drain_never_takes_the_last_serving_instance_nor_another_groups_pod() {
        let r = Release::stable(group().key(), 1, "bob");
        let one = seen(&[("web-a", "10.0.0.1")], 100);
        let e = run(&r, drain("web-a"), now(), Some(&one)).unwrap_err();
        assert!(e.contains("last ready instance"), "{e}");
        let e = run(&r, drain("db-0"), now(), Some(&one)).unwrap_err();
        assert!(e.contains("not a pod of web"), "{e}");
        // Two pods but the other is out of rotation already: still the last.
        let mut two = seen(&[("web-a", "10.0.0.1"), ("web-b", "10.0.0.2")], 100);
        two.registered[1].weight = Some(0);
        assert!(run(&r, drain("web-a"), now(), Some(&two)).is_err());
        // A rollout's drain must be for a pod of the group.
        let both = seen(&[("web-a", "10.0.0.1"), ("web-b", "10.0.0.2")], 100);
        let e = run(
            &r,
            Action::Drain {
                pod: "web-a".into(),
                for_pod: Some("other-team".into()),
            },
            now(),
            Some(&both),
        )
        .unwrap_err();
        assert!(e.contains("not a pod of web"), "{e}");
    }

    #[test]
    fn a_rollouts_drain_marks_the_pod_and_ends_by_admitting_the_new_one() {
        let r = Release::stable(group().key(), 1, "bob");
        let pods = seen(&[("web-a", "10.0.0.1"), ("web-n", "10.0.0.9")], 100);
        let t = run(
            &r,
            Action::Drain {
                pod: "web-a".into(),
                for_pod: Some("web-n".into()),
            },
            now(),
            Some(&pods),
        )
        .unwrap();
        assert!(t.effects.contains(&ClusterEffect::MarkForRemoval {
            pod: "web-a".into()
        }));
        let done = run(
            &t.release,
            Action::FinishDrain {
                pod: "web-a".into(),
            },
            "2026-11-30T10:01:00Z".parse().unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(
            done.effects,
            vec![ClusterEffect::AdmitPod {
                pod: "web-n".into()
            }]
        );
        // Re-applying a release with a drain in progress takes the instance out again.
        let again = crate::engine::phases::desired_effects(&group(), &t.release);
        assert!(again.contains(&ClusterEffect::Deregister {
            address: "10.0.0.1:8080".into()
        }));
    }

    #[test]
    fn a_group_without_registration_or_a_cron_group_has_nothing_to_drain() {
        let mut g = group();
        g.spec.registration = None;
        let r = Release::stable(g.key(), 1, "bob");
        let ctx = Context {
            now: now(),
            by: "alice",
            revisions: &[1],
            previous_stable: None,
            tracks: None,
            jobs: None,
            instances: None,
        };
        let e = transition(&g, &r, &drain("web-a"), &ctx).unwrap_err();
        assert!(e.reason.contains("no registration"), "{e}");
    }
}
