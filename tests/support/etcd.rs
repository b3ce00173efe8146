//! A real etcd for tests: `/usr/bin/etcd` (Debian `etcd-server`) on free loopback ports
//! with a temporary data dir. It can be stopped and started again on the same ports and
//! data (to test reconnects), and is killed when dropped.
//!
//! Include with `#[path = "support/etcd.rs"] mod etcd_support;`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_client::{Client, ConnectOptions, Permission};

pub const ETCD_BIN: &str = "/usr/bin/etcd";

pub struct Etcd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
}

/// Two distinct free ports. Holding both listeners until both are known keeps them apart;
/// another process could still take one before etcd binds, which start() reports.
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

impl Etcd {
    /// Starts a fresh single-member etcd and waits until it answers.
    pub async fn start() -> Etcd {
        let (client_port, peer_port) = free_ports();
        let mut etcd = Etcd {
            child: None,
            dir: tempfile::tempdir().expect("temp dir for etcd"),
            client_port,
            peer_port,
        };
        etcd.spawn();
        etcd.wait_ready().await;
        etcd
    }

    /// `127.0.0.1:PORT`, as a store endpoint.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// `etcd://127.0.0.1:PORT`, as a store URL.
    pub fn url(&self) -> String {
        format!("etcd://{}", self.endpoint())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    fn spawn(&mut self) {
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("etcd log file");
        let child = Command::new(ETCD_BIN)
            .arg("--name=test")
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=test={peer}"))
            .arg("--initial-cluster-state=new")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("etcd log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {ETCD_BIN}: {e} (install etcd-server)"));
        self.child = Some(child);
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("etcd exited with {status}:\n{}", self.log());
            }
            let opts = ConnectOptions::new()
                .with_connect_timeout(Duration::from_millis(300))
                .with_timeout(Duration::from_millis(500));
            if let Ok(Ok(mut c)) = tokio::time::timeout(
                Duration::from_secs(1),
                Client::connect([self.endpoint()], Some(opts)),
            )
            .await
                && c.status().await.is_ok()
            {
                return;
            }
            if Instant::now() > deadline {
                panic!("etcd did not become ready in 15s:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills etcd (SIGKILL: no goodbye to clients) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same ports with the same data.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "etcd is still running");
        self.spawn();
        self.wait_ready().await;
    }

    /// A plain client (as root once auth is on), for writing around flightdeck.
    pub async fn client(&self) -> Client {
        Client::connect([self.endpoint()], None)
            .await
            .expect("etcd client")
    }

    pub async fn root_client(&self) -> Client {
        let opts = ConnectOptions::new().with_user("root", ROOT_PASSWORD);
        Client::connect([self.endpoint()], Some(opts))
            .await
            .expect("etcd root client")
    }

    /// Turns on etcd auth with a root user and `users` (name, password), each granted
    /// read-write on `prefix`.
    pub async fn enable_auth(&self, prefix: &str, users: &[(&str, &str)]) {
        let mut c = self.client().await;
        c.user_add("root", ROOT_PASSWORD, None)
            .await
            .expect("add root");
        // etcd has a built-in root role in newer versions; older ones want it created.
        let _ = c.role_add("root").await;
        c.user_grant_role("root", "root").await.expect("grant root");
        c.role_add("flightdeck").await.expect("add role");
        c.role_grant_permission("flightdeck", Permission::read_write(prefix).with_prefix())
            .await
            .expect("grant prefix");
        for (name, password) in users {
            c.user_add(*name, *password, None).await.expect("add user");
            c.user_grant_role(*name, "flightdeck")
                .await
                .expect("grant user");
        }
        c.auth_enable().await.expect("enable auth");
    }
}

pub const ROOT_PASSWORD: &str = "root-secret";

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
    }
}
