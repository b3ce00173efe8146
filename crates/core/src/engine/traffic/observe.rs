//! Reading a router back from the cluster: what its object holds against what the release
//! asks, for the engine after every action and for `flightdeck status`.

use crate::domain::release::RouterState;
use crate::domain::{InstanceGroup, Release, TrafficRouter};
use crate::engine::objects::router_state;
use crate::kube::apply::{Applier, Deadline};

/// The weight and number of header routes `release` asks the router to hold.
pub fn expected(release: &Release) -> (u8, usize) {
    if !release.phase.in_flight() {
        return (0, 0);
    }
    let routes = release
        .header_routes
        .iter()
        .filter(|h| !h.matches.is_empty())
        .count();
    (release.weight, routes)
}

/// What `group`'s router object holds against `weight`% and `routes` header routes.
pub async fn observe(
    applier: &Applier,
    group: &InstanceGroup,
    router: TrafficRouter,
    weight: u8,
    routes: usize,
    deadline: Deadline,
) -> RouterState {
    let Some(w) = super::watched(router, group) else {
        return unobserved(router, &"it has no router object");
    };
    match applier
        .get(
            w.api_version,
            w.kind,
            &group.spec.namespace,
            &w.name,
            deadline,
        )
        .await
    {
        Ok(object) => {
            let held = super::held(router, group, object.as_ref());
            router_state(router, weight, routes, held, jiff::Timestamp::now())
        }
        Err(e) => unobserved(router, &e),
    }
}

/// The record of a router that could not be read, and why.
pub fn unobserved(router: TrafficRouter, why: &dyn std::fmt::Display) -> RouterState {
    RouterState {
        weight: None,
        header_routes: Vec::new(),
        at: jiff::Timestamp::now(),
        note: Some(format!("{}: not read back ({why})", router.as_str())),
        unread: true,
    }
}
