//! Builds an estate the way the watchers would (through `Update`s), drives the app with
//! real key events and reads the `TestBackend` buffer back as text and styles.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::{SignedDuration, Timestamp};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Style;

use std::sync::Arc;

use flightdeck::agent::Reports;
use flightdeck::authz::policy::{Binding, Policy, Role, Scope};
use flightdeck::config::{Keymap, Theme};
use flightdeck::domain::{GroupKey, InstanceGroup, Phase, Release, Track};
use flightdeck::health::{HealthPoint, HealthReport, Metric, MetricCheck, TrackPoint, judge};
use flightdeck::model::{Conn, DeploymentRow, EventKind, EventRow, Part, PodRow, Update};
use flightdeck::tui::app::{App, AppInit, Effect};

pub const CLUSTER: &str = "prod";

pub fn now() -> Timestamp {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

pub fn ago(secs: i64) -> Option<Timestamp> {
    Some(now() - SignedDuration::from_secs(secs))
}

pub fn init() -> AppInit {
    AppInit {
        context: CLUSTER.into(),
        contexts: vec![CLUSTER.into(), "staging".into()],
        user: "alice".into(),
        store: "mem://".into(),
        theme: Theme::built_in("default").unwrap(),
        keymap: Keymap::built_in("default").unwrap(),
        first_run: false,
    }
}

pub fn app() -> App {
    app_with(init())
}

pub fn app_with(init: AppInit) -> App {
    let mut app = App::new(init);
    app.on_tick(now());
    app
}

pub fn group(name: &str, app: &str, ns: &str, tag: &str) -> InstanceGroup {
    serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{name: {name}, app: {app}}}\n\
         spec: {{cluster: {CLUSTER}, namespace: {ns}, template: t, params: {{tag: {tag}, replicas: 2}}}}"
    ))
    .unwrap()
}

/// A policy giving the console's user, alice, `role` everywhere.
pub fn policy(role: Role) -> Policy {
    Policy::new(vec![Binding {
        role,
        users: vec!["alice".into()],
        groups: vec![],
        scope: Scope::everywhere(),
    }])
}

pub fn key_of(name: &str, ns: &str) -> GroupKey {
    GroupKey::new(CLUSTER, ns, name)
}

pub fn release(name: &str, ns: &str, phase: Phase, weight: u8) -> Release {
    let mut r = Release::stable(key_of(name, ns), 1, "alice");
    r.phase = phase;
    r.weight = weight;
    r.canary_revision = phase.in_flight().then_some(2);
    r
}

pub fn deployment(
    name: &str,
    ns: &str,
    group: &str,
    track: Track,
    tag: &str,
    desired: u32,
    age: i64,
) -> DeploymentRow {
    DeploymentRow {
        namespace: ns.into(),
        name: name.into(),
        group: Some(group.into()),
        track: Some(track),
        tag: Some(tag.into()),
        desired,
        ready: desired,
        updated: desired,
        available: desired,
        created: ago(age),
    }
}

pub fn pod(name: &str, ns: &str, group: &str, track: Track, status: &str, ready: bool) -> PodRow {
    PodRow {
        namespace: ns.into(),
        name: name.into(),
        group: Some(group.into()),
        track: Some(track),
        owner: Some(format!("{group}-rs")),
        status: status.into(),
        ready: u32::from(ready),
        containers: 1,
        restarts: if status == "CrashLoopBackOff" { 4 } else { 0 },
        created: ago(125),
        node: Some("node-1".into()),
        last_termination: (status == "CrashLoopBackOff").then(|| "Error (exit 1)".to_string()),
        ip: None,
        tag: None,
    }
}

/// A pod of the shop's `mailer` (a group with a service registration) at `ip`.
pub fn mailer_pod(name: &str, ip: &str, ready: bool) -> PodRow {
    let mut p = pod(name, "shop", "mailer", Track::Stable, "Running", ready);
    p.ip = Some(ip.into());
    p
}

/// The shop estate plus `mailer` (the shop's group of that name) stable at revision 1
/// with one ready pod at 10.0.0.1, on its instances tab.
pub fn mailer_estate(mailer: InstanceGroup) -> App {
    let mut app = app();
    shop(&mut app);
    app.apply(Update::GroupApplied(mailer));
    app.apply(Update::ReleaseApplied(Release::stable(
        key_of("mailer", "shop"),
        1,
        "alice",
    )));
    app.apply(Update::PodsListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        rows: vec![mailer_pod("mailer-aaa", "10.0.0.1", true)],
    });
    open_instances(&mut app);
    app
}

/// Opens the group view of `mailer` on its instances tab.
pub fn open_instances(app: &mut App) {
    press(app, &[":"]);
    type_text(app, "group mailer");
    press(app, &["enter", "i"]);
}

pub fn event(
    uid: &str,
    ns: &str,
    object: &str,
    kind: EventKind,
    reason: &str,
    count: u32,
    secs_ago: i64,
) -> EventRow {
    EventRow {
        namespace: ns.into(),
        uid: uid.into(),
        kind,
        object_kind: "Pod".into(),
        object_name: object.into(),
        reason: reason.into(),
        message: format!("{reason} on {object}"),
        count,
        first_seen: ago(secs_ago + 60),
        last_seen: ago(secs_ago),
        source: "kubelet".into(),
    }
}

/// The shop estate: app `shop` with `web` (a canary at 25% with a crash-looping pod) and
/// `worker` (stable), app `billing` with `invoicer` (Degraded) in another namespace.
pub fn shop(app: &mut App) {
    app.apply(Update::StoreReloaded {
        groups: vec![
            group("web", "shop", "shop", "v1"),
            group("worker", "shop", "shop", "v1"),
            group("invoicer", "billing", "money", "3.2"),
        ],
        releases: vec![
            release("web", "shop", Phase::Progressing, 25),
            release("invoicer", "money", Phase::Degraded, 10),
        ],
    });
    app.apply(Update::DeploymentsListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        rows: vec![
            deployment("web", "shop", "web", Track::Stable, "v1", 2, 4 * 86_400),
            deployment("web-canary", "shop", "web", Track::Canary, "v2", 1, 300),
            deployment("worker", "shop", "worker", Track::Stable, "v1", 1, 3 * 3600),
        ],
    });
    app.apply(Update::PodsListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        rows: vec![
            pod("web-aaa", "shop", "web", Track::Stable, "Running", true),
            pod("web-bbb", "shop", "web", Track::Stable, "Running", true),
            pod(
                "web-canary-ccc",
                "shop",
                "web",
                Track::Canary,
                "CrashLoopBackOff",
                false,
            ),
            pod(
                "worker-ddd",
                "shop",
                "worker",
                Track::Stable,
                "Running",
                true,
            ),
        ],
    });
    app.apply(Update::EventsListed {
        cluster: CLUSTER.into(),
        namespace: "shop".into(),
        rows: vec![
            event(
                "e1",
                "shop",
                "web-canary-ccc",
                EventKind::Warning,
                "BackOff",
                12,
                20,
            ),
            event(
                "e2",
                "shop",
                "web-aaa",
                EventKind::Normal,
                "Started",
                1,
                3600,
            ),
            event(
                "e3",
                "shop",
                "web-canary-ccc",
                EventKind::Normal,
                "Pulled",
                1,
                200,
            ),
        ],
    });
    app.apply(Update::Connection {
        part: Part::Store,
        state: Conn::Connected,
    });
    app.apply(Update::Connection {
        part: Part::Cluster(CLUSTER.into()),
        state: Conn::Connected,
    });
}

pub fn draw(app: &mut App, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| app.draw(f)).unwrap();
    terminal.backend().buffer().clone()
}

pub fn screen(app: &mut App) -> Buffer {
    draw(app, 120, 30)
}

pub fn lines(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

pub fn text(buf: &Buffer) -> String {
    lines(buf).join("\n")
}

/// The first line that contains `needle`.
pub fn line_with(buf: &Buffer, needle: &str) -> Option<String> {
    lines(buf).into_iter().find(|l| l.contains(needle))
}

/// Where `needle` first appears: (x, y) of its first cell.
pub fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for (y, line) in lines(buf).iter().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return Some((x as u16, y as u16));
        }
    }
    None
}

pub fn style_at(buf: &Buffer, needle: &str) -> Style {
    let (x, y) =
        find(buf, needle).unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", text(buf)));
    buf[(x, y)].style()
}

/// A key as keymap files write it: `"j"`, `"enter"`, `"esc"`, `"ctrl-c"`, `"shift-s"`…
pub fn key(spec: &str) -> KeyEvent {
    let (mods, name) = match spec.split_once('-') {
        Some(("ctrl", k)) => (KeyModifiers::CONTROL, k),
        Some(("shift", k)) => (KeyModifiers::SHIFT, k),
        _ => (KeyModifiers::NONE, spec),
    };
    let code = match name {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" => KeyCode::PageUp,
        "pgdown" => KeyCode::PageDown,
        "backspace" => KeyCode::Backspace,
        c if mods == KeyModifiers::SHIFT => {
            KeyCode::Char(c.chars().next().unwrap().to_ascii_uppercase())
        }
        c => KeyCode::Char(c.chars().next().unwrap()),
    };
    KeyEvent::new(code, mods)
}

pub fn press(app: &mut App, keys: &[&str]) -> Option<Effect> {
    let mut last = None;
    for k in keys {
        last = app.on_key(key(k));
    }
    last
}

/// Types text into whatever input line is open, key by key.
pub fn type_text(app: &mut App, text: &str) -> Option<Effect> {
    let mut last = None;
    for c in text.chars() {
        last = app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    last
}

/// One track's health sample: 50 requests a second at `success_rate`, `ready` pods.
pub fn track_point(success_rate: f64, ready: u32) -> TrackPoint {
    TrackPoint {
        requests: Some(50.0),
        rps: Some(50.0),
        success_rate: Some(success_rate),
        latency_p50: Some(0.03),
        latency_p99: Some(0.2),
        ready,
        desired: ready,
        ..TrackPoint::default()
    }
}

/// A failing canary: 92% success against a minimum of 99%, as the analysis `analysis`
/// (e.g. `analysis 3/6 at step 1`) reports it.
pub fn failing_report(analysis: &str) -> HealthReport {
    let points: Vec<HealthPoint> = (0..8)
        .map(|i| HealthPoint {
            at: now() - SignedDuration::from_secs(10 * (8 - i)),
            stable: track_point(0.999, 2),
            canary: track_point(0.92, 1),
            error: None,
            pods_read: true,
        })
        .collect();
    let mut min = MetricCheck::new(Metric::SuccessRate);
    min.min = Some(0.99);
    HealthReport {
        judgement: Some(judge(&[min], &points)),
        points,
        analysis: Some(analysis.into()),
    }
}

/// The in-process controller's reports, by (group, namespace).
pub fn health_reports(entries: Vec<(&str, &str, HealthReport)>) -> Update {
    let map: Reports = entries
        .into_iter()
        .map(|(name, ns, r)| (key_of(name, ns), r))
        .collect();
    Update::HealthReports(Arc::new(map))
}

/// The design's example group (10 replicas, seven steps) named `name` in namespace `user`,
/// behind `router` (`replicas`, `istio`…).
pub fn design_group(name: &str, router: &str, protected: bool) -> InstanceGroup {
    serde_norway::from_str(&format!(
        r#"
apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: {{ name: {name}, app: user-info }}
spec:
  cluster: {CLUSTER}
  namespace: user
  template: grpc-service
  protected: {protected}
  params: {{ image: registry.local/go/user-info, tag: master-3f2a1c, replicas: 10, port: 9000 }}
  strategy:
    traffic: {{ router: {router} }}
    steps:
      - setWeight: 5
      - pause: {{}}
      - setWeight: 25
      - pause: {{ duration: 5m }}
      - analysis: {{ interval: 30s, count: 6 }}
      - setWeight: 50
      - pause: {{}}
"#
    ))
    .unwrap()
}
