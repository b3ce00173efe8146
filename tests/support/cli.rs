//! Running the real `flightdeck` binary against a real etcd and an in-process simulated
//! cluster, with a small estate: one template, one group `web` in namespace `shop`.
//!
//! Part of the shared rig: `mod support;` then `use support::cli::*;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use flightdeck::store::{Store, StoreConfig, StoreOptions};
use serde_json::{Value, json};

pub const PREFIX: &str = "/flightdeck/";
pub const NAMESPACE: &str = "shop";
pub const REPLICAS: i32 = 4;

pub const TEMPLATE: &str = r#"apiVersion: flightdeck/v1
kind: Template
metadata: { name: web }
spec:
  body: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {{ name }}
      namespace: {{ namespace }}
      labels: {{ labels | tojson }}
    spec:
      replicas: {{ replicas }}
      selector:
        matchLabels: { "flightdeck.dev/group": "{{ group }}", "flightdeck.dev/track": "{{ track }}" }
      template:
        metadata:
          labels: {{ labels | tojson }}
        spec:
          containers:
            - name: app
              image: "{{ params.image }}:{{ params.tag }}"
"#;

pub const GROUP: &str = r#"# the shop's web front end
apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: web, app: shop }
spec:
  cluster: sim
  namespace: shop
  template: web
  params: { image: registry.local/shop/web, tag: "1.0.0", replicas: 4 }
  strategy:
    steps: [ { setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} } ]
"#;

/// The group with a timed pause after the first step, for the controller to drive.
pub const TIMED_GROUP: &str = r#"apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: web, app: shop }
spec:
  cluster: sim
  namespace: shop
  template: web
  params: { image: registry.local/shop/web, tag: "1.0.0", replicas: 4 }
  strategy:
    steps: [ { setWeight: 10 }, { pause: { duration: 4s } }, { setWeight: 50 }, { pause: {} } ]
"#;

/// A policy making `admins` admin everywhere and `viewers` viewers.
pub fn policy(admins: &[&str], viewers: &[&str]) -> String {
    let list = |v: &[&str]| format!("[{}]", v.join(", "));
    let mut p = format!(
        "apiVersion: flightdeck/v1\nkind: Policy\nbindings:\n  - role: admin\n    users: {}\n",
        list(admins)
    );
    if !viewers.is_empty() {
        p.push_str(&format!("  - role: viewer\n    users: {}\n", list(viewers)));
    }
    p
}

/// The binary under test: `FLIGHTDECK_TEST_BIN` when set (a copy, for checkouts that
/// share a target dir), else cargo's.
pub fn bin() -> PathBuf {
    std::env::var_os("FLIGHTDECK_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_flightdeck")))
}

/// The OS user the tests run as: the identity flightdeck uses without etcd auth.
pub fn me() -> String {
    flightdeck::authz::Identity::os().name
}

/// The Namespace the simulated cluster must hold before groups are deployed into it.
pub fn namespace_object() -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Panics with everything the command said unless it exited with `code`.
    pub fn expect(self, code: i32) -> Out {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Everything a command said, stdout then stderr.
pub fn said(out: &Out) -> String {
    format!("{}{}", out.stdout, out.stderr)
}

/// How to run the binary: the store, the kubeconfig, and an isolated home for its log.
pub struct Flightdeck {
    pub store: String,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
    /// Extra global flags, e.g. an etcd user.
    pub extra: Vec<String>,
}

impl Flightdeck {
    pub fn new(store: &str, kubeconfig: &Path) -> Flightdeck {
        Flightdeck {
            store: store.to_string(),
            kubeconfig: kubeconfig.to_path_buf(),
            dir: tempfile::tempdir().expect("tempdir"),
            extra: Vec::new(),
        }
    }

    /// The same store and cluster as an etcd user whose password is in a file.
    pub fn as_etcd_user(&self, user: &str, password: &str) -> Flightdeck {
        let fd = Flightdeck::new(&self.store, &self.kubeconfig);
        let file = fd.dir.path().join("password");
        std::fs::write(&file, format!("{password}\n")).expect("password file");
        Flightdeck {
            extra: vec![
                "--etcd-user".into(),
                user.into(),
                "--etcd-password-file".into(),
                file.display().to_string(),
            ],
            ..fd
        }
    }

    /// Writes `text` to a file in the temporary dir and returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write test file");
        path.display().to_string()
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(bin());
        cmd.args(args)
            .arg("--store")
            .arg(&self.store)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(&self.extra);
        // Without an etcd login, the tests are one person on a store without auth.
        if !self
            .extra
            .iter()
            .any(|a| a == "--etcd-user" || a == "--etcd-cert")
        {
            cmd.arg("--local");
        }
        cmd.env_remove("FLIGHTDECK_STORE")
            .env_remove("FLIGHTDECK_ETCD_USER")
            .env_remove("FLIGHTDECK_ETCD_PASSWORD")
            .env_remove("KUBECONFIG")
            .env("XDG_STATE_HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Out {
        let out = self
            .command(args)
            .output()
            .await
            .expect("run the flightdeck binary");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Policy (with `admins`), the cluster `sim`, the template and the group, each applied
    /// through the binary (a controller must be running).
    pub async fn estate(&self, admins: &[&str], viewers: &[&str]) {
        let p = self.file("policy.yaml", &policy(admins, viewers));
        self.run(&["policy", "apply", "-f", &p]).await.expect(0);
        self.run(&["clusters", "add", "sim"]).await.expect(0);
        let t = self.file("template.yaml", TEMPLATE);
        self.run(&["templates", "apply", "-f", &t]).await.expect(0);
        let g = self.file("group.yaml", GROUP);
        self.run(&["groups", "apply", "-f", &g]).await.expect(0);
    }

    /// Starts `flightdeck agent` (the release controller) with this store, cluster and
    /// login, and waits until it holds the lease.
    pub async fn controller(&self) -> Controller {
        self.controller_with(&[]).await
    }

    /// [`Flightdeck::controller`] with more agent flags (a signing key, a checkpoint cadence).
    pub async fn controller_with(&self, flags: &[&str]) -> Controller {
        let mut args = vec!["agent", "--poll", "100ms", "--lease-ttl", "3s"];
        args.extend_from_slice(flags);
        let mut cmd = self.command(&args);
        cmd.stdout(Stdio::null());
        let c = Controller::from_child(cmd.spawn().expect("start flightdeck agent"));
        c.wait_for("holding the lease", 30).await;
        c
    }
}

/// A running `flightdeck agent`, killed when dropped.
pub struct Controller {
    pub child: tokio::process::Child,
    said: tokio::sync::watch::Receiver<String>,
}

impl Controller {
    /// Follows a started `flightdeck agent` (stderr piped).
    pub fn from_child(mut child: tokio::process::Child) -> Controller {
        let stderr = child.stderr.take().expect("agent stderr");
        let (tx, said) = tokio::sync::watch::channel(String::new());
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tx.send_modify(|all| {
                    all.push_str(&line);
                    all.push('\n');
                });
            }
        });
        Controller { child, said }
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.said.borrow().clone()
    }

    /// Waits until its stderr contains `text`.
    pub async fn wait_for(&self, text: &str, secs: u64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        let mut said = self.said.clone();
        loop {
            if said.borrow_and_update().contains(text) {
                return;
            }
            match tokio::time::timeout_at(deadline, said.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => panic!(
                    "the controller exited before saying {text:?}; it said:\n{}",
                    self.stderr()
                ),
                Err(_) => panic!(
                    "the controller never said {text:?}; it said:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    /// SIGTERM, and wait for it to exit (it gives the lease back on the way out).
    pub async fn terminate(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait()).await;
    }

    /// SIGKILL: no goodbye, the lease stays until its TTL.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// The store, opened by the test itself (to look at what the binary wrote).
pub async fn open_store(url: &str, user: Option<(&str, &str)>) -> Arc<dyn Store> {
    let options = StoreOptions {
        user: user.map(|u| u.0.to_string()),
        password: user.map(|u| u.1.to_string()),
        ..StoreOptions::default()
    };
    let cfg = StoreConfig::parse(url, options).expect("store url");
    flightdeck::store::connect(&cfg).await.expect("store")
}

/// (action, outcome) of every audit entry about `web`, oldest first.
pub async fn audit_trail(store: &dyn Store) -> Vec<(String, String)> {
    let filter = flightdeck::store::AuditFilter {
        group: Some(flightdeck::domain::GroupKey::new("sim", NAMESPACE, "web")),
        ..Default::default()
    };
    store
        .list_audit(&filter)
        .await
        .expect("list audit")
        .into_iter()
        .map(|e| (e.action, e.outcome.to_string()))
        .collect()
}

/// An etcd made ready as a platform team would: `admin init` (auth on, the controller's
/// user, the first policy with `admins`), `admin add-user` for each (name, groups), and the
/// controller running as its own etcd user.
pub struct Secured {
    pub root: Flightdeck,
    /// The binary logged in as the controller's etcd user.
    pub controller_login: Flightdeck,
    pub controller: Controller,
    users: Vec<(String, Flightdeck)>,
}

impl Secured {
    /// The binary logged in as `name`.
    pub fn user(&self, name: &str) -> &Flightdeck {
        &self
            .users
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no user {name}"))
            .1
    }
}

pub async fn secure(fd: &Flightdeck, admins: &[&str], users: &[(&str, &[&str])]) -> Secured {
    let root_file = fd.dir.path().join("root-password");
    let controller_file = fd.dir.path().join("controller-password");
    let mut init = vec![
        "admin".to_string(),
        "init".into(),
        "--root-password-file".into(),
        root_file.display().to_string(),
        "--controller-password-file".into(),
        controller_file.display().to_string(),
    ];
    for a in admins {
        init.push("--admin".into());
        init.push(a.to_string());
    }
    let init: Vec<&str> = init.iter().map(String::as_str).collect();
    fd.run(&init).await.expect(0);
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .expect("password file")
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let root = fd.as_etcd_user("root", &read(&root_file));
    let mut made = Vec::new();
    for (name, groups) in users {
        let file = fd.dir.path().join(format!("{name}-password"));
        let file_arg = file.display().to_string();
        let groups = groups.join(",");
        let mut args = vec!["admin", "add-user", name, "--password-file", &file_arg];
        if !groups.is_empty() {
            args.extend(["--groups", &groups]);
        }
        root.run(&args).await.expect(0);
        made.push((name.to_string(), fd.as_etcd_user(name, &read(&file))));
    }
    let controller_login = fd.as_etcd_user("flightdeck-controller", &read(&controller_file));
    let controller = controller_login.controller().await;
    Secured {
        root,
        controller_login,
        controller,
        users: made,
    }
}
