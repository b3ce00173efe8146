use super::*;

fn group(name: &str) -> InstanceGroup {
    serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{name: {name}, app: shop}}\n\
         spec: {{cluster: sim, namespace: shop, template: t, params: {{tag: v1, replicas: 2}}}}"
    ))
    .unwrap()
}

fn pod(name: &str, group: &str, track: Track, status: &str, ready: bool) -> PodRow {
    PodRow {
        namespace: "shop".into(),
        name: name.into(),
        group: Some(group.into()),
        track: Some(track),
        owner: Some(format!("{group}-rs1")),
        status: status.into(),
        ready: ready as u32,
        containers: 1,
        restarts: if status == "CrashLoopBackOff" { 3 } else { 0 },
        created: None,
        node: None,
        last_termination: None,
        tag: None,
    }
}

fn event(uid: &str, object: &str, reason: &str, kind: EventKind, at: Timestamp) -> EventRow {
    EventRow {
        namespace: "shop".into(),
        uid: uid.into(),
        kind,
        object_kind: "Pod".into(),
        object_name: object.into(),
        reason: reason.into(),
        message: format!("{reason} happened"),
        count: 1,
        first_seen: Some(at),
        last_seen: Some(at),
        source: "kubelet".into(),
    }
}

fn estate() -> (Estate, GroupKey) {
    let mut e = Estate::new();
    e.apply(Update::StoreReloaded {
        groups: vec![group("web"), group("web-worker")],
        releases: vec![],
    });
    (e, GroupKey::new("sim", "shop", "web"))
}

#[test]
fn pods_are_indexed_by_group_and_counted_in_the_summary() {
    let (mut e, key) = estate();
    let now = Timestamp::now();
    e.apply(Update::PodsListed {
        cluster: "sim".into(),
        namespace: "shop".into(),
        rows: vec![
            pod("web-a", "web", Track::Stable, "Running", true),
            pod(
                "web-canary-b",
                "web",
                Track::Canary,
                "CrashLoopBackOff",
                false,
            ),
            pod("web-worker-c", "web-worker", Track::Stable, "Running", true),
        ],
    });
    let pods = e.pods_of(&key);
    assert_eq!(
        pods.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["web-a", "web-canary-b"]
    );
    let s = e.summary(&key, now).unwrap();
    assert_eq!((s.ready, s.restarts, s.warning_pods), (1, 3, 1));
    assert!(s.has_warnings());

    e.apply(Update::PodDeleted {
        cluster: "sim".into(),
        namespace: "shop".into(),
        name: "web-canary-b".into(),
    });
    assert_eq!(e.pods_of(&key).len(), 1);
    assert!(!e.summary(&key, now).unwrap().has_warnings());
}

#[test]
fn events_that_arrive_before_their_pod_join_the_group_later() {
    let (mut e, key) = estate();
    let now = Timestamp::now();
    e.apply(Update::EventApplied {
        cluster: "sim".into(),
        row: event("e1", "web-a", "Scheduled", EventKind::Normal, now),
    });
    assert!(e.events_of(&key).is_empty());
    e.apply(Update::PodApplied {
        cluster: "sim".into(),
        row: pod("web-a", "web", Track::Stable, "Running", true),
    });
    assert_eq!(e.events_of(&key).len(), 1);
}

#[test]
fn events_are_newest_first_and_repeats_are_folded() {
    let (mut e, key) = estate();
    let t0 = Timestamp::now() - SignedDuration::from_secs(60);
    e.apply(Update::PodApplied {
        cluster: "sim".into(),
        row: pod("web-a", "web", Track::Stable, "Running", true),
    });
    e.apply(Update::EventApplied {
        cluster: "sim".into(),
        row: event("e1", "web-a", "Pulled", EventKind::Normal, t0),
    });
    e.apply(Update::EventApplied {
        cluster: "sim".into(),
        row: event(
            "e2",
            "web-a",
            "BackOff",
            EventKind::Warning,
            t0 + SignedDuration::from_secs(10),
        ),
    });
    e.apply(Update::EventApplied {
        cluster: "sim".into(),
        row: event(
            "e3",
            "web-a",
            "BackOff",
            EventKind::Warning,
            t0 + SignedDuration::from_secs(20),
        ),
    });
    let ev = e.events_of(&key);
    assert_eq!(ev.len(), 2);
    assert_eq!((ev[0].reason.as_str(), ev[0].count), ("BackOff", 2));
    assert_eq!(ev[1].reason, "Pulled");
    assert_eq!(e.summary(&key, Timestamp::now()).unwrap().warning_events, 2);
}

#[test]
fn a_similar_group_name_does_not_steal_events() {
    let (mut e, key) = estate();
    let now = Timestamp::now();
    e.apply(Update::PodApplied {
        cluster: "sim".into(),
        row: pod("web-worker-c", "web-worker", Track::Stable, "Running", true),
    });
    e.apply(Update::EventApplied {
        cluster: "sim".into(),
        row: event("e1", "web-worker-c", "Started", EventKind::Normal, now),
    });
    assert!(e.events_of(&key).is_empty());
    assert_eq!(
        e.events_of(&GroupKey::new("sim", "shop", "web-worker"))
            .len(),
        1
    );
}
