//! The shared test rig. [`world::World`] starts what a test asks for — a real etcd
//! ([`etcd`]), the simulated cluster ([`Sim`]), the release controller as a `flightdeck
//! agent` process and an estate ([`cli`]), consoles in tmux ([`tmux`]) — and stops it all
//! when dropped. The parts stay usable on their own for tests that need one of them.
//!
//! Include with `mod support;` (benches: `#[path = "../tests/support/mod.rs"] mod support;`).
#![allow(dead_code)]

pub mod cli;
pub mod delay_proxy;
pub mod etcd;
pub mod groups;
pub mod seeded;
pub mod tmux;
pub mod world;

use std::path::PathBuf;
use std::time::Duration;

use flightdeck::sim::{Scenario, SimConfig, SimHandle};
use serde_json::{Value, json};

/// A simulated cluster with its kubeconfig written to a temporary directory.
pub struct Sim {
    pub handle: SimHandle,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

/// Tests run the cluster 20 times faster than life.
pub const TIME_SCALE: f64 = 0.05;

impl Sim {
    pub async fn start() -> Sim {
        Sim::start_with(Scenario::default(), Vec::new()).await
    }

    pub async fn start_with(scenario: Scenario, preload: Vec<Value>) -> Sim {
        Sim::start_scaled(scenario, preload, TIME_SCALE).await
    }

    /// [`Sim::start_with`] at another speed (the benchmarks run at 0.2).
    pub async fn start_scaled(scenario: Scenario, preload: Vec<Value>, time_scale: f64) -> Sim {
        Sim::start_named("sim", scenario, preload, time_scale).await
    }

    /// A cluster whose kubeconfig context is `context` (one of several clusters).
    pub async fn start_named(
        context: &str,
        scenario: Scenario,
        preload: Vec<Value>,
        time_scale: f64,
    ) -> Sim {
        Sim::start_config(SimConfig {
            scenario,
            preload,
            time_scale,
            context: context.to_string(),
            ..SimConfig::default()
        })
        .await
    }

    /// A cluster started from a whole [`SimConfig`] (a registry, a listening address).
    pub async fn start_config(cfg: SimConfig) -> Sim {
        let handle = SimHandle::start(cfg).await.expect("sim starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        handle
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        Sim {
            handle,
            dir,
            kubeconfig,
        }
    }

    /// The real `kubectl` on this cluster: (it succeeded, its stdout and stderr).
    pub fn kubectl(&self, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(["--request-timeout", "20s"])
            .args(args)
            .output()
            .expect("kubectl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// A kube-rs client built from the written kubeconfig, as flightdeck builds its own.
    pub async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig parses");
        let cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .expect("kube config");
        kube::Client::try_from(cfg).expect("client")
    }

    pub fn sample_scenario() -> Scenario {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/scenario.yaml");
        Scenario::from_file(&path).expect("sample scenario parses")
    }
}

pub fn deployment(ns: &str, name: &str, image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]}
            }
        }
    })
}

/// Peak resident memory (VmHWM) of process `pid`, in KiB (0 when it cannot be read).
pub fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) process `pid` used so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

/// Clock ticks per second, for [`cpu_ticks`].
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// Polls `check` until it returns Some, failing the test after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs}s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
