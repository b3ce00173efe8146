//! One rig for the tests and benchmarks that run the real thing: a real etcd on a free
//! loopback port, the simulated cluster, an estate, the release controller (`flightdeck
//! agent`, its own process) and consoles (the binary in tmux) — each only when asked for.
//!
//! ```ignore
//! let w = World::builder().controller().shop(&[&me()], &[]).start().await;
//! w.fd.run(&["deploy", "web", "--tag", "1.0.0"]).await.expect(0);
//!
//! let w = World::builder().demo(7, 2).controller().start().await;
//! let console = w.console("release").size(150, 45).start();
//! ```
//!
//! Everything it started stops when the `World` is dropped (the controller and consoles
//! first: fields drop in order).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flightdeck::controller::{Ask, Requester};
use flightdeck::demo::Seed;
use flightdeck::domain::GroupKey;
use flightdeck::engine::Action;
use flightdeck::sim::{RegistrationSim, Scenario, SimConfig};
use flightdeck::store::{Registry, Store};
use serde_json::Value;

use super::Sim;
use super::cli::{Controller, Flightdeck, Secured, me, namespace_object, open_store, secure};
use super::etcd::Etcd;
use super::tmux::Tmux;

/// What is running. Fields drop top to bottom: the controller goes before etcd and the
/// cluster it talks to.
pub struct World {
    /// `flightdeck agent`, when the builder asked for one ([`WorldBuilder::controller`]).
    pub controller: Option<Controller>,
    /// etcd auth on, with its users and the controller logged in as its own etcd user
    /// ([`WorldBuilder::secure`]).
    pub secured: Option<Secured>,
    /// The binary, pointed at this store and cluster (`--local`: no etcd login).
    pub fd: Flightdeck,
    /// The store, opened by the test itself (no login).
    pub store: Arc<dyn Store>,
    /// The sample estate, when the builder asked for it ([`WorldBuilder::demo`]).
    pub seed: Option<Seed>,
    pub sim: Sim,
    /// The other clusters of [`WorldBuilder::clusters`], in order (`sim` is the first).
    pub more: Vec<Sim>,
    /// One kubeconfig with every cluster's context (`fd` and the consoles use it).
    pub kubeconfig: PathBuf,
    /// The service registry in this etcd (no prefix) the clusters register their pods in,
    /// when the builder asked for [`WorldBuilder::registration`].
    pub registry: Option<Arc<dyn Registry>>,
    pub etcd: Etcd,
}

enum Estate {
    /// The cluster holds the shop's Namespace; nothing is in the store.
    Bare,
    /// The one-group shop of `support/cli.rs`, applied through the binary.
    Shop {
        admins: Vec<String>,
        viewers: Vec<String>,
    },
    /// `flightdeck::demo`'s sample estate: seeded into etcd (policy: `admin` may do
    /// everything), preloaded into the cluster, which is registered.
    Demo {
        groups: usize,
        pods: u32,
        admin: String,
    },
}

/// Who `admin init` and `admin add-user` make: the admins, and each user with their etcd
/// groups.
struct Logins {
    admins: Vec<String>,
    users: Vec<(String, Vec<String>)>,
}

/// What to start; [`WorldBuilder::start`] starts it.
pub struct WorldBuilder {
    etcd_flags: Vec<String>,
    etcd_dir: Option<PathBuf>,
    scenario: Option<Scenario>,
    objects: Vec<Value>,
    time_scale: f64,
    estate: Estate,
    controller: Option<Vec<String>>,
    secure: Option<Logins>,
    deploys: Vec<String>,
    clusters: Vec<String>,
    registration: Option<RegistrationSim>,
}

impl World {
    /// Nothing but etcd and the cluster until asked for more.
    pub fn builder() -> WorldBuilder {
        WorldBuilder {
            etcd_flags: Vec::new(),
            etcd_dir: None,
            scenario: None,
            objects: Vec::new(),
            time_scale: super::TIME_SCALE,
            estate: Estate::Bare,
            controller: None,
            secure: None,
            deploys: Vec::new(),
            clusters: vec!["sim".to_string()],
            registration: None,
        }
    }

    /// The service registry the clusters register their pods in; panics if the builder
    /// did not ask for [`WorldBuilder::registration`].
    pub fn registry(&self) -> Arc<dyn Registry> {
        self.registry
            .clone()
            .expect("World::builder().registration(…) connects the registry")
    }

    /// The controller process; panics if the builder did not ask for one.
    pub fn controller(&self) -> &Controller {
        self.controller
            .as_ref()
            .or(self.secured.as_ref().map(|s| &s.controller))
            .expect("World::builder().controller() or .secure(…) starts a controller")
    }

    pub fn controller_mut(&mut self) -> &mut Controller {
        match (&mut self.controller, &mut self.secured) {
            (Some(c), _) => c,
            (None, Some(s)) => &mut s.controller,
            (None, None) => {
                panic!("World::builder().controller() or .secure(…) starts a controller")
            }
        }
    }

    /// The users of a [`WorldBuilder::secure`] world.
    pub fn secured(&self) -> &Secured {
        self.secured
            .as_ref()
            .expect("World::builder().secure(…) turns etcd auth on")
    }

    /// A console (the binary in tmux) on this store and cluster; see [`ConsoleBuilder`].
    pub fn console(&self, name: &str) -> ConsoleBuilder<'_> {
        ConsoleBuilder {
            fd: &self.fd,
            name: name.to_string(),
            cols: 150,
            rows: 45,
            env: Vec::new(),
        }
    }

    /// A bare world made ready through the binary: the policy (this OS user and the
    /// controller admin), the cluster `sim` registered, `template` and, when given,
    /// `group` applied. Needs a controller.
    pub async fn apply_estate(&self, template: &str, group: Option<&str>) {
        let fd = &self.fd;
        let p = fd.file(
            "policy.yaml",
            &super::cli::policy(&[&me(), "system:agent"], &[]),
        );
        fd.run(&["policy", "apply", "-f", &p]).await.expect(0);
        fd.run(&["clusters", "add", "sim"]).await.expect(0);
        let t = fd.file("template.yaml", template);
        fd.run(&["templates", "apply", "-f", &t]).await.expect(0);
        if let Some(group) = group {
            let g = fd.file("group.yaml", group);
            fd.run(&["groups", "apply", "-f", &g]).await.expect(0);
        }
    }

    /// One action through the request path as this OS user (what a console's key press
    /// sends), asserting that the controller answered exit 0; returns its message.
    pub async fn ask(&self, group: &GroupKey, action: Action) -> String {
        ask(&Requester::new(self.store.clone(), me()), group, action).await
    }
}

/// One action through `requester`, asserting that the controller answered exit 0; returns
/// its message.
pub async fn ask(requester: &Requester, group: &GroupKey, action: Action) -> String {
    let answer = requester
        .ask(Ask::Act {
            group: group.clone(),
            action,
            reason: None,
        })
        .await
        .expect("an answer from the controller");
    assert_eq!(answer.exit, 0, "{}", answer.message);
    answer.message
}

impl WorldBuilder {
    /// More etcd flags, e.g. `--quota-backend-bytes=2097152`.
    pub fn etcd_flags(mut self, flags: &[&str]) -> Self {
        self.etcd_flags = flags.iter().map(|f| f.to_string()).collect();
        self
    }

    /// etcd's data under `dir` (a tmpfs, to see what the disk's fsync costs).
    pub fn etcd_in(mut self, dir: Option<&Path>) -> Self {
        self.etcd_dir = dir.map(Path::to_path_buf);
        self
    }

    /// The cluster's scenario (default: the empty one; with [`WorldBuilder::demo`], the
    /// demo's).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = Some(scenario);
        self
    }

    /// More objects for the cluster to hold from the start.
    pub fn objects(mut self, objects: Vec<Value>) -> Self {
        self.objects = objects;
        self
    }

    /// The cluster's speed (default [`super::TIME_SCALE`]).
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// The shop (`support/cli.rs`: policy with `admins` and `viewers`, the cluster `sim`,
    /// the template and the group `web`), applied through the binary. Needs a controller.
    pub fn shop(mut self, admins: &[&str], viewers: &[&str]) -> Self {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        self.estate = Estate::Shop {
            admins: own(admins),
            viewers: own(viewers),
        };
        self
    }

    /// The demo's sample estate with `groups` groups of `pods` pods, seeded by this OS user
    /// (the policy makes them admin).
    pub fn demo(mut self, groups: usize, pods: u32) -> Self {
        self.estate = Estate::Demo {
            groups,
            pods,
            admin: me(),
        };
        self
    }

    /// The demo estate's admin, instead of this OS user.
    pub fn demo_admin(mut self, name: &str) -> Self {
        if let Estate::Demo { admin, .. } = &mut self.estate {
            *admin = name.to_string();
        } else {
            panic!("demo_admin goes after demo(…)");
        }
        self
    }

    /// A `flightdeck agent` (poll 100ms, lease 3s), started before the estate is applied
    /// and waited for until it holds the lease.
    pub fn controller(self) -> Self {
        self.controller_with(&[])
    }

    /// [`WorldBuilder::controller`] with more agent flags (a signing key, a cadence).
    pub fn controller_with(mut self, flags: &[&str]) -> Self {
        self.controller = Some(flags.iter().map(|f| f.to_string()).collect());
        self
    }

    /// etcd auth on, as a platform team would (`admin init` with `admins`, `admin
    /// add-user` for each (name, etcd groups)), the controller running as its own etcd
    /// user — after the estate is in the store.
    pub fn secure(mut self, admins: &[&str], users: &[(&str, &[&str])]) -> Self {
        self.secure = Some(Logins {
            admins: admins.iter().map(|a| a.to_string()).collect(),
            users: users
                .iter()
                .map(|(n, g)| (n.to_string(), g.iter().map(|g| g.to_string()).collect()))
                .collect(),
        });
        self
    }

    /// Several simulated clusters, each its own API server with the same estate (the
    /// demo's, when asked for), reached through one kubeconfig with a context per name.
    pub fn clusters(mut self, names: &[&str]) -> Self {
        assert!(!names.is_empty(), "at least one cluster");
        self.clusters = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// Every cluster registers its ready pods in the test etcd (keys outside flightdeck's
    /// prefix, [`World::registry`]) as `registration` says; it replaces the scenario's own.
    pub fn registration(mut self, registration: RegistrationSim) -> Self {
        self.registration = Some(registration);
        self
    }

    /// After the shop is applied: `flightdeck deploy web --tag TAG` (twice makes a canary).
    pub fn deploy(mut self, tag: &str) -> Self {
        self.deploys.push(tag.to_string());
        self
    }

    pub async fn start(self) -> World {
        let etcd = match &self.etcd_dir {
            Some(dir) => Etcd::start_in(dir).await,
            None => {
                let flags: Vec<&str> = self.etcd_flags.iter().map(String::as_str).collect();
                Etcd::start_with(&flags).await
            }
        };
        let registry = match &self.registration {
            Some(_) => {
                let cfg = flightdeck::store::StoreConfig::parse(
                    &etcd.url(),
                    flightdeck::store::StoreOptions::default(),
                )
                .expect("store url");
                Some(
                    flightdeck::store::connect_registry(&cfg)
                        .await
                        .expect("the registry in the test etcd"),
                )
            }
            None => None,
        };
        let mut seeds = Vec::new();
        let mut sims = Vec::new();
        for name in &self.clusters {
            let seed = match &self.estate {
                Estate::Demo { groups, pods, .. } => {
                    Some(flightdeck::demo::seed(name, *groups, *pods).expect("sample estate"))
                }
                _ => None,
            };
            let (scenario, mut preload) = match &seed {
                Some(s) => (flightdeck::demo::scenario(), s.objects.clone()),
                None => (Scenario::default(), vec![namespace_object()]),
            };
            preload.extend(self.objects.iter().cloned());
            let mut scenario = self.scenario.clone().unwrap_or(scenario);
            if let Some(r) = &self.registration {
                scenario.registration = Some(r.clone());
            }
            sims.push(
                Sim::start_config(SimConfig {
                    scenario,
                    preload,
                    time_scale: self.time_scale,
                    context: name.clone(),
                    registry: registry.clone(),
                    ..SimConfig::default()
                })
                .await,
            );
            seeds.extend(seed);
        }
        let kubeconfig = if sims.len() == 1 {
            sims[0].kubeconfig.clone()
        } else {
            let mut all: Option<kube::config::Kubeconfig> = None;
            for s in &sims {
                let kc = kube::config::Kubeconfig::read_from(&s.kubeconfig).expect("kubeconfig");
                all = Some(match all {
                    None => kc,
                    Some(a) => a.merge(kc).expect("kubeconfigs merge"),
                });
            }
            let path = sims[0].dir.path().join("kubeconfig-all");
            let yaml = serde_norway::to_string(&all.expect("a cluster")).expect("kubeconfig yaml");
            std::fs::write(&path, yaml).expect("kubeconfig written");
            path
        };
        let store = open_store(&etcd.url(), None).await;
        if let Estate::Demo { admin, .. } = &self.estate {
            for (seed, name) in seeds.iter().zip(&self.clusters) {
                flightdeck::demo::seed_store(store.as_ref(), seed, admin)
                    .await
                    .expect("seed the store");
                let conn = flightdeck::kube::connect(Some(kubeconfig.clone()), Some(name.clone()))
                    .await
                    .expect("connect to the simulated cluster");
                flightdeck::demo::register_cluster(store.as_ref(), &conn)
                    .await
                    .expect("register the cluster");
            }
        }
        let seed = seeds.into_iter().next();
        let mut sims = sims.into_iter();
        let sim = sims.next().expect("a cluster");
        let more: Vec<Sim> = sims.collect();
        let fd = Flightdeck::new(&etcd.url(), &kubeconfig);
        let controller = match &self.controller {
            Some(flags) => {
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                Some(fd.controller_with(&flags).await)
            }
            None => None,
        };
        if let Estate::Shop { admins, viewers } = &self.estate {
            assert!(
                controller.is_some(),
                "the shop is applied through a controller"
            );
            let admins: Vec<&str> = admins.iter().map(String::as_str).collect();
            let viewers: Vec<&str> = viewers.iter().map(String::as_str).collect();
            fd.estate(&admins, &viewers).await;
        }
        for tag in &self.deploys {
            fd.run(&["deploy", "web", "--tag", tag]).await.expect(0);
        }
        let secured = match &self.secure {
            Some(Logins { admins, users }) => {
                let admins: Vec<&str> = admins.iter().map(String::as_str).collect();
                let groups: Vec<Vec<&str>> = users
                    .iter()
                    .map(|(_, g)| g.iter().map(String::as_str).collect())
                    .collect();
                let users: Vec<(&str, &[&str])> = users
                    .iter()
                    .zip(&groups)
                    .map(|((n, _), g)| (n.as_str(), g.as_slice()))
                    .collect();
                Some(secure(&fd, &admins, &users).await)
            }
            None => None,
        };
        World {
            controller,
            secured,
            fd,
            store,
            seed,
            sim,
            more,
            kubeconfig,
            registry,
            etcd,
        }
    }
}

/// A console to start: `flightdeck --kubeconfig … --store …` in a tmux session of its
/// own, as this OS user (`--local`) unless [`ConsoleBuilder::user`] logs it in.
pub struct ConsoleBuilder<'w> {
    fd: &'w Flightdeck,
    name: String,
    cols: u16,
    rows: u16,
    env: Vec<(String, String)>,
}

impl<'w> ConsoleBuilder<'w> {
    /// The terminal's size (default 150×45).
    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    /// An environment variable for the console (after tmux's defaults, so `TERM`,
    /// `NO_COLOR`, `COLORTERM` and `XDG_CONFIG_HOME` set here win).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Logged in as the etcd user `fd` is (from [`Secured::user`]).
    pub fn user(mut self, fd: &'w Flightdeck) -> Self {
        self.fd = fd;
        self
    }

    pub fn start(self) -> Tmux {
        let mut line = String::from("env");
        for (k, v) in &self.env {
            // Quoted for the shell tmux runs the line in.
            line.push_str(&format!(" {k}='{}'", v.replace('\'', "'\\''")));
        }
        line.push_str(&format!(
            " {} --kubeconfig {} --store {}",
            super::cli::bin().display(),
            self.fd.kubeconfig.display(),
            self.fd.store
        ));
        if self.fd.extra.is_empty() {
            line.push_str(" --local");
        }
        for arg in &self.fd.extra {
            line.push_str(&format!(" {arg}"));
        }
        Tmux::start(&self.name, self.cols, self.rows, &line)
    }
}
