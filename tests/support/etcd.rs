//! A real etcd for tests: `/usr/bin/etcd` (Debian `etcd-server`) on free loopback ports
//! with a temporary data dir. It can be stopped and started again on the same ports and
//! data (to test reconnects), and is killed when dropped.
//!
//! Part of the shared rig: `mod support;` then `support::etcd::Etcd`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_client::{Certificate, Client, ConnectOptions, Identity, Permission, TlsOptions};

pub const ETCD_BIN: &str = "/usr/bin/etcd";

pub struct Etcd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    tls: Option<Pki>,
    /// More etcd flags, kept across [`Etcd::start_again`].
    flags: Vec<String>,
}

/// Files of a throw-away CA, etcd's server certificate and one client certificate.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
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
        Etcd::launch(false).await
    }

    /// Serves clients over TLS only and requires a client certificate signed by its CA.
    pub async fn start_tls() -> Etcd {
        Etcd::launch(true).await
    }

    /// A fresh etcd whose data lives under `parent` (e.g. a tmpfs, to see what the disk's
    /// fsync costs).
    pub async fn start_in(parent: &std::path::Path) -> Etcd {
        Etcd::launch_in(false, Some(parent)).await
    }

    /// A fresh etcd started with more flags, e.g. `--quota-backend-bytes=2097152`.
    pub async fn start_with(flags: &[&str]) -> Etcd {
        Etcd::launch_with(false, None, flags).await
    }

    async fn launch(tls: bool) -> Etcd {
        Etcd::launch_in(tls, None).await
    }

    async fn launch_in(tls: bool, parent: Option<&std::path::Path>) -> Etcd {
        Etcd::launch_with(tls, parent, &[]).await
    }

    async fn launch_with(tls: bool, parent: Option<&std::path::Path>, flags: &[&str]) -> Etcd {
        let (client_port, peer_port) = free_ports();
        let dir = match parent {
            Some(p) => tempfile::tempdir_in(p),
            None => tempfile::tempdir(),
        }
        .expect("temp dir for etcd");
        let tls = tls.then(|| make_pki(dir.path()));
        let mut etcd = Etcd {
            child: None,
            dir,
            client_port,
            peer_port,
            tls,
            flags: flags.iter().map(|f| f.to_string()).collect(),
        };
        etcd.spawn();
        etcd.wait_ready().await;
        etcd
    }

    pub fn pki(&self) -> Option<&Pki> {
        self.tls.as_ref()
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
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("etcd log file");
        let mut cmd = Command::new(ETCD_BIN);
        if let Some(pki) = &self.tls {
            cmd.arg(format!("--cert-file={}", pki.server_cert.display()))
                .arg(format!("--key-file={}", pki.server_key.display()))
                .arg(format!("--trusted-ca-file={}", pki.ca.display()))
                .arg("--client-cert-auth");
        }
        // If the test process dies without dropping us (killed by a timeout), take etcd
        // along instead of leaving it bound to the port.
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
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
            .args(&self.flags)
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
            let opts = self
                .connect_options()
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

    /// etcd's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes etcd (SIGSTOP): its connections stay open and nothing answers, as from a
    /// machine that hangs. SIGKILL still ends it, so dropping a paused etcd is fine.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused etcd go on (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        let pid = self.pid().expect("etcd is running");
        // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
        let done = unsafe { libc::kill(pid as i32, signal) };
        assert_eq!(done, 0, "kill({pid}, {signal}) failed");
    }

    /// Starts etcd again on the same ports with the same data.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "etcd is still running");
        self.spawn();
        self.wait_ready().await;
    }

    fn connect_options(&self) -> ConnectOptions {
        let mut opts = ConnectOptions::new();
        if let Some(pki) = &self.tls {
            let read = |p: &PathBuf| std::fs::read(p).expect("test certificate");
            opts = opts.with_tls(
                TlsOptions::new()
                    .ca_certificate(Certificate::from_pem(read(&pki.ca)))
                    .identity(Identity::from_pem(
                        read(&pki.client_cert),
                        read(&pki.client_key),
                    )),
            );
        }
        opts
    }

    /// A client without a login, for writing around flightdeck (before auth is on).
    pub async fn client(&self) -> Client {
        Client::connect([self.endpoint()], Some(self.connect_options()))
            .await
            .expect("etcd client")
    }

    /// A client logged in as etcd's root user (after [`Etcd::enable_auth`]).
    pub async fn root_client(&self) -> Client {
        let opts = self.connect_options().with_user("root", ROOT_PASSWORD);
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

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (install the openssl package)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new EC P-256 key (PKCS#8) in `dir/name`.
fn make_key(dir: &std::path::Path, name: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            name,
        ],
    )
}

/// `dir/<name>.pem` and `dir/<name>.key`: a certificate for `cn` signed by `dir/ca.pem`.
fn sign(dir: &std::path::Path, name: &str, cn: &str, ext: &str) -> (PathBuf, PathBuf) {
    make_key(dir, &format!("{name}.key"));
    std::fs::write(dir.join(format!("{name}.ext")), ext).expect("write extfile");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={cn}"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}.pem"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
    (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    )
}

impl Etcd {
    /// Another client certificate (and key) from the test CA, for the user `cn`
    /// (etcd's `--client-cert-auth` logs a certificate in as its common name).
    pub fn client_cert(&self, cn: &str) -> (PathBuf, PathBuf) {
        assert!(
            self.tls.is_some(),
            "client certificates need Etcd::start_tls()"
        );
        sign(
            self.dir.path(),
            &format!("client-{cn}"),
            cn,
            "extendedKeyUsage=clientAuth\n",
        )
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the
/// openssl command (EC P-256 keys in PKCS#8, which both etcd and rustls read).
fn make_pki(dir: &std::path::Path) -> Pki {
    make_key(dir, "ca.key");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=flightdeck-test-ca",
            "-days",
            "2",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    sign(
        dir,
        "server",
        "etcd",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    );
    sign(dir, "client", "alice", "extendedKeyUsage=clientAuth\n");
    Pki {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}
