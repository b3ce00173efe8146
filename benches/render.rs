//! `cargo bench --bench render` — the console's draw alone, on a `TestBackend` (no terminal
//! I/O, no other process): 300 groups / 6,000 pods / 30,000 events built the way the
//! watchers build them, a 200×60 screen, the groups list and a group view. Prints the
//! p50/p99 of `App::draw` per frame; the target is p99 < 4 ms.

#[path = "../tests/tui_support/mod.rs"]
mod tui_support;

use std::time::Instant;

use flightdeck::domain::{Phase, Track};
use flightdeck::model::{EventKind, Update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tui_support::*;

const GROUPS: usize = 300;
const PODS: usize = 20;
const EVENTS_PER_POD: usize = 5;
const FRAMES: usize = 500;

fn main() {
    let mut app = app();
    let mut groups = Vec::new();
    let mut releases = Vec::new();
    for i in 0..GROUPS {
        let ns = format!("estate-{:02}", i % 10);
        let name = format!(
            "app-{:03}-{}",
            i / 2,
            if i % 2 == 0 { "api" } else { "worker" }
        );
        groups.push(group(&name, &format!("app-{:03}", i / 2), &ns, "1.0.0"));
        releases.push(release(
            &name,
            &ns,
            if i % 20 == 0 {
                Phase::Paused
            } else {
                Phase::Stable
            },
            10,
        ));
    }
    app.apply(Update::StoreReloaded {
        groups: groups.clone(),
        releases,
    });
    let mut uid = 0;
    for g in &groups {
        let ns = g.spec.namespace.clone();
        let name = g.name().to_string();
        app.apply(Update::DeploymentApplied {
            cluster: CLUSTER.into(),
            row: deployment(&name, &ns, &name, Track::Stable, "1.0.0", PODS as u32, 3600),
        });
        for p in 0..PODS {
            let pod_name = format!("{name}-5d8f-{p:05}");
            let status = if p == 0 && name.ends_with("7-api") {
                "CrashLoopBackOff"
            } else {
                "Running"
            };
            app.apply(Update::PodApplied {
                cluster: CLUSTER.into(),
                row: pod(
                    &pod_name,
                    &ns,
                    &name,
                    Track::Stable,
                    status,
                    status == "Running",
                ),
            });
            for e in 0..EVENTS_PER_POD {
                uid += 1;
                let kind = if status != "Running" && e == 0 {
                    EventKind::Warning
                } else {
                    EventKind::Normal
                };
                app.apply(Update::EventApplied {
                    cluster: CLUSTER.into(),
                    row: event(
                        &format!("e{uid}"),
                        &ns,
                        &pod_name,
                        kind,
                        ["Scheduled", "Pulling", "Pulled", "Created", "Started"][e],
                        1,
                        30 + e as i64,
                    ),
                });
            }
        }
    }
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    println!(
        "console draw on {GROUPS} groups / {} pods / {uid} events, 200×60, release build",
        GROUPS * PODS
    );
    measure("groups list", &mut terminal, &mut app);
    press(&mut app, &[":"]);
    type_text(&mut app, "group app-007-api");
    press(&mut app, &["enter"]);
    measure("group view", &mut terminal, &mut app);
}

fn measure(what: &str, terminal: &mut Terminal<TestBackend>, app: &mut flightdeck::tui::app::App) {
    let mut times = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        if i % 50 == 0 {
            app.on_tick(now());
        }
        terminal
            .draw(|f| {
                let t = Instant::now();
                app.draw(f);
                times.push(t.elapsed().as_micros() as u64);
            })
            .expect("draw");
    }
    times.sort_unstable();
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "  {what:<12} p50 {:>6.3} ms   p99 {:>6.3} ms   (target p99 < 4 ms)",
        p(0.5),
        p(0.99)
    );
}
