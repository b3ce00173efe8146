//! A three-member etcd on loopback, its leader killed in the middle of a release: the
//! controller and the command line go on through the other two members and nothing
//! committed is lost. Its own command (it starts three etcd processes and waits out
//! an election): `cargo test --test etcd_cluster -- --ignored`.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flightdeck::domain::{GroupKey, Phase};
use flightdeck::store::AuditFilter;
use support::cli::*;
use support::{Sim, eventually};

struct Member {
    child: Child,
    client: String,
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Three members, each with its own data dir under `dir`.
fn cluster(dir: &std::path::Path) -> Vec<Member> {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (port(), port())).collect();
    let initial = ports
        .iter()
        .enumerate()
        .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
        .collect::<Vec<_>>()
        .join(",");
    ports
        .iter()
        .enumerate()
        .map(|(i, (client, peer))| {
            let client = format!("http://127.0.0.1:{client}");
            let peer = format!("http://127.0.0.1:{peer}");
            let log = std::fs::File::create(dir.join(format!("m{i}.log"))).unwrap();
            let child = Command::new("/usr/bin/etcd")
                .arg(format!("--name=m{i}"))
                .arg(format!(
                    "--data-dir={}",
                    dir.join(format!("m{i}")).display()
                ))
                .arg(format!("--listen-client-urls={client}"))
                .arg(format!("--advertise-client-urls={client}"))
                .arg(format!("--listen-peer-urls={peer}"))
                .arg(format!("--initial-advertise-peer-urls={peer}"))
                .arg(format!("--initial-cluster={initial}"))
                .arg("--initial-cluster-state=new")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start etcd (install etcd-server)");
            Member {
                child,
                client: client.trim_start_matches("http://").to_string(),
            }
        })
        .collect()
}

/// The index of the member that leads now, asked of the members in `alive`.
async fn leader(members: &[Member], alive: &[usize]) -> Option<usize> {
    for &i in alive {
        let Ok(mut c) = etcd_client::Client::connect([members[i].client.clone()], None).await
        else {
            continue;
        };
        let Ok(status) = c.status().await else {
            continue;
        };
        let leader_id = status.leader();
        if leader_id == 0 {
            continue;
        }
        let Ok(list) = c.member_list().await else {
            continue;
        };
        let url = list
            .members()
            .iter()
            .find(|m| m.id() == leader_id)
            .and_then(|m| m.client_urls().first().cloned())?;
        return members
            .iter()
            .position(|m| url.ends_with(m.client.as_str()));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "its own command: starts a three-member etcd and kills its leader"]
async fn the_leader_killed_mid_release_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut members = cluster(dir.path());
    let t = Instant::now();
    let first = loop {
        if let Some(l) = leader(&members, &[0, 1, 2]).await {
            break l;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no leader elected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let url = format!(
        "etcd://{}",
        members
            .iter()
            .map(|m| m.client.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let sim = Sim::start_with(Default::default(), vec![namespace_object()]).await;
    let fd = Flightdeck::new(&url, &sim.kubeconfig);
    let _controller = fd.controller().await;
    fd.estate(&[&me()], &[]).await;
    fd.run(&["deploy", "web", "--tag", "1.0.0"]).await.expect(0);
    fd.run(&["deploy", "web", "--tag", "1.1.0"]).await.expect(0);
    let key = GroupKey::new("sim", NAMESPACE, "web");
    let store = open_store(&url, None).await;
    let before = store
        .list_audit(&AuditFilter::default())
        .await
        .unwrap()
        .len();

    // SIGKILL the leader, mid-release (the canary is at 10%).
    let _ = members[first].child.kill();
    let _ = members[first].child.wait();
    let alive: Vec<usize> = (0..3).filter(|i| *i != first).collect();
    let t = Instant::now();
    let next = loop {
        if let Some(l) = leader(&members, &alive).await
            && l != first
        {
            break l;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no new leader");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(next, first);

    // Actions go on through the two members left.
    fd.run(&["weight", "web", "50"]).await.expect(0);
    fd.run(&["step", "web"]).await.expect(0);
    let r = eventually(20, "the release applied at 50%", || async {
        let r = store.get_release(&key).await.ok()??.value;
        (r.applied == r.desired).then_some(r)
    })
    .await;
    assert_eq!(r.phase, Phase::Paused);
    assert_eq!(r.weight, 50);
    let after = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert!(after.len() > before, "new entries after the failover");
    fd.run(&["audit", "verify"]).await.expect(0);
    members.clear();
    sim.handle.shutdown().await;
}
