//! The instances tab's registry feed against a real etcd, connected the way a console
//! connects it (`connect_registry` on the store's config): a registration written by a
//! registrator shows beside its pod, and goes when its lease is revoked; a registry that
//! cannot be reached is one line in the tab.

#[path = "support/store.rs"]
mod store_support;
mod support;
mod tui_support;

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use flightdeck::domain::InstanceGroup;
use flightdeck::model::Update;
use flightdeck::store::{StoreConfig, connect_registry};
use flightdeck::tui::app::App;
use flightdeck::tui::registry_feed::{RegistrySource, spawn_registry_feed};
use store_support::options;
use support::etcd::Etcd;
use tui_support::*;

fn mailer() -> InstanceGroup {
    serde_norway::from_str(&format!(
        "apiVersion: flightdeck/v1\nkind: InstanceGroup\nmetadata: {{name: mailer, app: shop}}\n\
         spec: {{cluster: {CLUSTER}, namespace: shop, template: t, \
         params: {{tag: v1, replicas: 2, port: 8080}}, registration: {{prefix: /services}}}}"
    ))
    .unwrap()
}

/// Applies updates until the pane's text satisfies `pred` (or 15 s pass).
async fn until_shown(rx: &mut mpsc::Receiver<Update>, app: &mut App, pred: impl Fn(&str) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let shown = text(&screen(app));
        if pred(&shown) {
            return;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) => app.apply(u),
            _ => panic!("not shown within 15s:\n{shown}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_in_etcd_shows_beside_its_pod_and_goes_with_its_lease() {
    let etcd = Etcd::start().await;
    let cfg = StoreConfig::parse(&etcd.url(), options("/flightdeck/")).unwrap();
    let registrator = connect_registry(&cfg).await.unwrap();
    let mut app = mailer_estate(mailer());
    let (tx, mut rx) = mpsc::channel(64);
    let (ask_tx, ask_rx) = watch::channel(None);
    let feed = spawn_registry_feed(RegistrySource::Connect(cfg), ask_rx, tx);
    ask_tx.send(app.instances_ask()).unwrap();
    until_shown(&mut rx, &mut app, |t| t.contains("0 instances")).await;
    assert!(
        line_with(&screen(&mut app), "mailer-aaa")
            .unwrap()
            .contains("! stray")
    );

    let lease = registrator
        .register(
            "/services/mailer/10.0.0.1:8080",
            br#"{"weight": 100, "metadata": {"zone": "a"}}"#.to_vec(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    until_shown(&mut rx, &mut app, |t| t.contains("1 instance: 1 serving")).await;
    let row = line_with(&screen(&mut app), "mailer-aaa").unwrap();
    assert!(
        row.contains("10.0.0.1:8080") && row.contains("serving"),
        "{row}"
    );

    registrator.revoke(lease).await.unwrap();
    until_shown(&mut rx, &mut app, |t| t.contains("0 instances")).await;
    assert!(
        line_with(&screen(&mut app), "mailer-aaa")
            .unwrap()
            .contains("! stray")
    );
    feed.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_cannot_be_reached_is_a_line_in_the_tab() {
    // Nothing listens on port 9 of the loopback.
    let mut opts = options("/flightdeck/");
    opts.request_timeout = Duration::from_millis(500);
    let cfg = StoreConfig::parse("etcd://127.0.0.1:9", opts).unwrap();
    let mut app = mailer_estate(mailer());
    let (tx, mut rx) = mpsc::channel(64);
    let (ask_tx, ask_rx) = watch::channel(None);
    let feed = spawn_registry_feed(RegistrySource::Connect(cfg), ask_rx, tx);
    ask_tx.send(app.instances_ask()).unwrap();
    until_shown(&mut rx, &mut app, |t| t.contains("registry: ")).await;
    let all = text(&screen(&mut app));
    assert!(!all.contains("! stray"), "{all}");
    feed.abort();
}
