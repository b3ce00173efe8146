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
        ip: None,
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

#[test]
fn the_event_store_never_holds_more_than_its_cap_per_namespace() {
    let (mut e, _) = estate();
    let start = Timestamp::now();
    for i in 0..EVENTS_PER_NAMESPACE + 5_000 {
        let at = start + SignedDuration::from_millis(i as i64);
        e.apply(Update::EventApplied {
            cluster: "sim".into(),
            row: event(
                &format!("u{i}"),
                &format!("web-{i}"),
                "Pulled",
                EventKind::Normal,
                at,
            ),
        });
        let held = e.namespaces["sim"]["shop"].events.len();
        assert!(held <= EVENTS_PER_NAMESPACE, "{held} events held");
    }
    // The newest are the ones kept.
    let ns = &e.namespaces["sim"]["shop"];
    assert!(
        ns.events
            .contains_key(format!("u{}", EVENTS_PER_NAMESPACE + 4_999).as_str())
    );
    assert!(!ns.events.contains_key("u0"));
}

#[test]
fn the_owner_index_stays_bounded_while_pods_come_and_go() {
    let (mut e, key) = estate();
    // Ten times the cap of pods, each created and deleted, as a rollout a day for months.
    for i in 0..OWNERS_PER_NAMESPACE * 10 {
        let name = format!("web-{i}");
        let mut row = pod(&name, "web", Track::Stable, "Running", true);
        row.owner = Some(format!("web-rs{}", i / 10));
        e.apply(Update::PodApplied {
            cluster: "sim".into(),
            row,
        });
        e.apply(Update::PodDeleted {
            cluster: "sim".into(),
            namespace: "shop".into(),
            name,
        });
        let held = e.namespaces["sim"]["shop"].owners.len();
        assert!(held <= OWNERS_PER_NAMESPACE + 1, "{held} owner entries");
    }
    // A pod that is there now still takes its events to its group, and so does a late
    // event about a pod that went recently.
    e.apply(Update::PodApplied {
        cluster: "sim".into(),
        row: pod("web-now", "web", Track::Stable, "Running", true),
    });
    let now = Timestamp::now();
    let last_gone = format!("web-{}", OWNERS_PER_NAMESPACE * 10 - 1);
    for (uid, object) in [("a", "web-now"), ("b", last_gone.as_str())] {
        e.apply(Update::EventApplied {
            cluster: "sim".into(),
            row: event(uid, object, "BackOff", EventKind::Warning, now),
        });
    }
    assert_eq!(e.events_of(&key).len(), 2);
}

#[test]
fn a_noisy_group_keeps_its_newest_events_and_leaves_a_quiet_ones_alone() {
    let (mut e, key) = estate();
    let quiet = GroupKey::new("sim", "shop", "web-worker");
    for (name, group) in [("web-1", "web"), ("worker-1", "web-worker")] {
        e.apply(Update::PodApplied {
            cluster: "sim".into(),
            row: pod(name, group, Track::Stable, "Running", true),
        });
    }
    let start = Timestamp::now();
    e.apply(Update::EventApplied {
        cluster: "sim".into(),
        row: event("q", "worker-1", "Started", EventKind::Normal, start),
    });
    // Each with its own message, so none fold together.
    for i in 0..EVENTS_PER_GROUP * 3 {
        let mut row = event(
            &format!("u{i}"),
            "web-1",
            "BackOff",
            EventKind::Warning,
            start + SignedDuration::from_millis(i as i64 + 1),
        );
        row.message = format!("restart {i}");
        e.apply(Update::EventApplied {
            cluster: "sim".into(),
            row,
        });
        let held = e.namespaces["sim"]["shop"].events_by_group["web"].len();
        assert!(held <= EVENTS_PER_GROUP, "{held} events held for one group");
    }
    let noisy = e.events_of(&key);
    assert!(noisy.len() >= EVENTS_PER_GROUP * 9 / 10);
    assert_eq!(
        noisy[0].message,
        format!("restart {}", EVENTS_PER_GROUP * 3 - 1),
        "the newest is kept"
    );
    assert_eq!(
        e.events_of(&quiet).len(),
        1,
        "the quiet group keeps its event"
    );
    // What goes from the group goes from the store.
    assert!(e.namespaces["sim"]["shop"].events.len() <= EVENTS_PER_GROUP + 1);
}

#[test]
fn events_waiting_for_their_pod_are_capped_when_it_joins() {
    let (mut e, key) = estate();
    let start = Timestamp::now();
    for i in 0..EVENTS_PER_GROUP * 2 {
        let mut row = event(
            &format!("u{i}"),
            "web-late",
            "Pulled",
            EventKind::Normal,
            start + SignedDuration::from_millis(i as i64),
        );
        row.message = format!("pull {i}");
        e.apply(Update::EventApplied {
            cluster: "sim".into(),
            row,
        });
    }
    e.apply(Update::PodApplied {
        cluster: "sim".into(),
        row: pod("web-late", "web", Track::Stable, "Running", true),
    });
    let events = e.events_of(&key);
    assert!(events.len() <= EVENTS_PER_GROUP && !events.is_empty());
    assert_eq!(
        events[0].message,
        format!("pull {}", EVENTS_PER_GROUP * 2 - 1)
    );
}

#[test]
fn a_cron_group_has_its_status_once_its_namespaces_pods_are_listed() {
    let mut e = Estate::new();
    let cron: InstanceGroup = serde_norway::from_str(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {name: report, app: shop}\n\
         spec: {cluster: sim, namespace: shop, template: cron, kind: cron, \
         params: {schedule: '0 0 1 1 *'}}",
    )
    .unwrap();
    e.apply(Update::StoreReloaded {
        groups: vec![cron],
        releases: vec![],
    });
    // It has no Deployment to wait for: what it shows comes from its pods.
    assert!(!e.all_groups_have_status());
    e.apply(Update::PodsListed {
        cluster: "sim".into(),
        namespace: "shop".into(),
        rows: vec![],
    });
    assert!(e.all_groups_have_status());
}

#[test]
fn an_events_list_in_parts_adds_up_and_a_new_list_replaces_it() {
    let (mut e, key) = estate();
    let now = Timestamp::now();
    e.apply(Update::PodApplied {
        cluster: "sim".into(),
        row: pod("web-a", "web", Track::Stable, "Running", true),
    });
    let listed = |uids: &[&str]| {
        uids.iter()
            .map(|u| event(u, "web-a", u, EventKind::Normal, now))
            .collect::<Vec<_>>()
    };
    e.apply(Update::EventsListed {
        cluster: "sim".into(),
        namespace: "shop".into(),
        rows: listed(&["e1", "e2"]),
    });
    e.apply(Update::EventsMore {
        cluster: "sim".into(),
        namespace: "shop".into(),
        rows: listed(&["e3"]),
    });
    assert_eq!(e.events_of(&key).len(), 3);
    // A relist (after a 410 or a reconnect) starts again from its first part.
    e.apply(Update::EventsListed {
        cluster: "sim".into(),
        namespace: "shop".into(),
        rows: listed(&["e4"]),
    });
    assert_eq!(e.events_of(&key).len(), 1);
}
