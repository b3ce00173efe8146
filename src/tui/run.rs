//! The event loop: input, background updates and ticks in; a frame out when something
//! changed, at most [`MAX_FPS`] a second. The loop never waits on the network: watchers and
//! actions run as tasks and send [`Update`]s.

use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use super::app::{App, Effect};
use super::bench::BenchRecorder;
use super::terminal::{TerminalGuard, restore};
use crate::model::Update;

const MAX_FPS: u64 = 30;
const TICK: Duration = Duration::from_secs(1);
/// Updates applied before a frame is allowed, so a burst (a relist of thousands of pods)
/// cannot starve input and drawing.
const UPDATES_PER_FRAME: usize = 20_000;
/// And at most this long, so a key read meanwhile waits for no more than this and a frame.
const UPDATES_BUDGET: Duration = Duration::from_millis(6);

/// What the loop hands to the outside world.
pub struct Wiring {
    pub updates: mpsc::Receiver<Update>,
    /// Release actions go to the engine task.
    pub actions: mpsc::UnboundedSender<ActRequest>,
    /// Requests for the audit page before a seq go to the audit pager.
    pub audit_pages: mpsc::UnboundedSender<u64>,
    /// The clients of the clusters the console reaches, for the log viewer.
    pub clusters: crate::kube::Clients,
    /// The group open on screen, for the health sampler (it samples that one more often).
    pub open_group: watch::Sender<Option<crate::domain::GroupKey>>,
    /// What the history tab wants read, for the history loader.
    pub history: watch::Sender<Option<super::app::history::HistoryAsk>>,
    /// The open group's service prefix, for the registry feed.
    pub instances: watch::Sender<Option<super::app::instances::InstancesAsk>>,
}

/// What the action worker sends to the release controller.
#[derive(Debug)]
pub enum ActRequest {
    /// A release action the user asked for.
    Act {
        key: crate::domain::GroupKey,
        action: crate::engine::Action,
        reason: Option<String>,
    },
    /// A dimmed key the user pressed: refused here, reported for the audit log.
    Refused {
        key: crate::domain::GroupKey,
        verb: crate::authz::Verb,
        reason: String,
    },
}

/// How the console ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(&'static str),
    InputClosed,
}

pub async fn run(mut app: App, mut wiring: Wiring) -> anyhow::Result<Exit> {
    let mut bench = BenchRecorder::from_env();
    let mut guard = TerminalGuard::enter()?;
    let mut input = EventStream::new();
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let frame_gap = Duration::from_millis(1000 / MAX_FPS);
    let mut last_frame: Option<Instant> = None;
    let mut dirty = true;
    let mut key_waiting = false;
    // The open log viewer's streams and their events; a fresh channel per viewer, so
    // lines of a closed one never reach the next.
    let mut log_streams: Option<crate::logs::LogStreams> = None;
    let mut log_events: Option<mpsc::Receiver<crate::logs::LogEvent>> = None;

    let exit = loop {
        if dirty {
            // A key is answered in the next frame at once; only updates wait for the cap.
            let due = last_frame
                .filter(|_| !key_waiting)
                .map(|t| t + frame_gap)
                .unwrap_or_else(Instant::now);
            if Instant::now() >= due {
                let started = Instant::now();
                let mut render = Duration::ZERO;
                guard.terminal.draw(|f| {
                    app.draw(f);
                    render = started.elapsed();
                })?;
                bench.frame(render, started.elapsed(), app.estate());
                last_frame = Some(Instant::now());
                dirty = false;
                key_waiting = false;
            }
        }
        let redraw_at = if dirty {
            last_frame
                .map(|t| t + frame_gap)
                .unwrap_or_else(Instant::now)
        } else {
            Instant::now() + Duration::from_secs(3600)
        };
        tokio::select! {
            // Keys first: a key waits for no burst of updates.
            biased;
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    bench.key();
                    dirty = true;
                    key_waiting = true;
                    match app.on_key(key) {
                        Some(Effect::Quit) => break Exit::Quit,
                        Some(Effect::Act { key, action, reason }) => {
                            let _ = wiring.actions.send(ActRequest::Act { key, action, reason });
                        }
                        Some(Effect::Refused { key, verb, reason }) => {
                            let _ = wiring.actions.send(ActRequest::Refused { key, verb, reason });
                        }
                        Some(Effect::LoadOlderAudit { before }) => {
                            let _ = wiring.audit_pages.send(before);
                        }
                        Some(Effect::OpenLogs { cluster, source }) => {
                            let (tx, rx) = mpsc::channel(1024);
                            log_streams = match wiring.clusters.get(&cluster) {
                                Some(c) => Some(crate::logs::spawn_log_streams(c, source, tx)),
                                None => {
                                    app.show_error(format!("no logs: cluster {cluster} is not reached (no kubeconfig context of that name, or not connected yet)"));
                                    None
                                }
                            };
                            log_events = Some(rx);
                        }
                        Some(Effect::CloseLogs) => {
                            log_streams = None;
                            log_events = None;
                        }
                        None => {}
                    }
                    let open = app.open_group();
                    wiring.open_group.send_if_modified(|cur| {
                        let changed = cur.as_ref() != open;
                        if changed {
                            *cur = open.cloned();
                        }
                        changed
                    });
                    publish_history(&app, &wiring);
                }
                Some(Ok(TermEvent::Paste(text))) => {
                    app.on_paste(&text);
                    dirty = true;
                }
                Some(Ok(TermEvent::Resize(_, _))) => {
                    guard.terminal.autoresize()?;
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::error!(error = %e, "terminal input failed");
                    break Exit::InputClosed;
                }
                None => break Exit::InputClosed,
            },
            Some(update) = wiring.updates.recv() => {
                let started = Instant::now();
                app.apply(update);
                let mut n = 1;
                while n < UPDATES_PER_FRAME && started.elapsed() < UPDATES_BUDGET {
                    match wiring.updates.try_recv() {
                        Ok(u) => { app.apply(u); n += 1; }
                        Err(_) => break,
                    }
                }
                // The open history tab reads again when its group's audit log grew.
                publish_history(&app, &wiring);
                dirty = true;
            }
            Some(ev) = next_log_event(&mut log_events) => {
                app.on_log_event(ev);
                if let Some(rx) = log_events.as_mut() {
                    for _ in 0..UPDATES_PER_FRAME {
                        match rx.try_recv() {
                            Ok(ev) => app.on_log_event(ev),
                            Err(_) => break,
                        }
                    }
                }
                dirty = true;
            }
            _ = tick.tick() => {
                app.on_tick(jiff::Timestamp::now());
                dirty = true;
            }
            _ = tokio::time::sleep_until(redraw_at.into()) => {}
            _ = sighup.recv() => break Exit::Signal("SIGHUP"),
            _ = sigterm.recv() => break Exit::Signal("SIGTERM"),
            _ = sigint.recv() => break Exit::Signal("SIGINT"),
        }
    };
    drop(log_streams);
    drop(guard);
    restore();
    bench.finish();
    tracing::info!(?exit, "console closed");
    Ok(exit)
}

/// Tells the history loader what the history tab wants now, and the registry feed which
/// service the open group has, when that changed.
fn publish_history(app: &App, wiring: &Wiring) {
    let instances = app.instances_ask();
    wiring.instances.send_if_modified(|cur| {
        let changed = *cur != instances;
        if changed {
            *cur = instances;
        }
        changed
    });
    let ask = app.history_ask();
    wiring.history.send_if_modified(|cur| {
        let changed = *cur != ask;
        if changed {
            *cur = ask;
        }
        changed
    });
}

async fn next_log_event(
    rx: &mut Option<mpsc::Receiver<crate::logs::LogEvent>>,
) -> Option<crate::logs::LogEvent> {
    match rx.as_mut() {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
