//! The simulated Kubernetes cluster: an HTTP server on loopback that speaks enough of the
//! Kubernetes API for kube-rs and kubectl, with a built-in controller manager and kubelet
//! whose behaviour a [`Scenario`] decides. flightdeck's demo, tests and benchmarks run
//! against it.

pub mod api;
mod controller;
pub mod custom;
mod defaults;
mod events;
pub mod faults;
mod kubelet;
pub mod logs;
pub mod metrics;
mod objects;
mod patch;
mod registrator;
pub mod resource;
pub mod routers;
pub mod scenario;
mod selectors;
mod server;
pub mod store;
mod time;
mod timer;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::Fault;
pub use resource::Kind;
pub use scenario::{Behaviour, HeaderShare, RegistrationSim, Rule, Scenario, Timings, TrafficSpec};
use store::Store;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Reading or writing a file, or binding the listening socket.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A scenario file that does not parse; `line` is 1-based, 0 when unknown.
    #[error("{}:{line}: {message}", path.display())]
    Scenario {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A preloaded object the API server refused.
    #[error("preload object #{index} ({what}): {message}")]
    Preload {
        index: usize,
        what: String,
        message: String,
    },
}

#[derive(Clone)]
pub struct SimConfig {
    /// Port 0 picks a free port.
    pub listen: SocketAddr,
    pub scenario: Scenario,
    /// Objects to create at start (Namespaces, Deployments, Services…), in order;
    /// missing namespaces are created.
    pub preload: Vec<Value>,
    /// 1.0 = realistic delays; tests use e.g. 0.05 to run 20 times faster.
    pub time_scale: f64,
    /// kubeconfig context and cluster name.
    pub context: String,
    /// Where the scenario's `registration:` registers pods (an etcd without prefix, or an
    /// in-memory registry); without one the scenario's registration does nothing.
    pub registry: Option<Arc<dyn flightdeck_core::store::Registry>>,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("scenario", &self.scenario)
            .field("preload", &self.preload.len())
            .field("time_scale", &self.time_scale)
            .field("context", &self.context)
            .field("registry", &self.registry.as_ref().map(|r| r.location()))
            .finish()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            scenario: Scenario::default(),
            preload: Vec::new(),
            time_scale: 1.0,
            context: "sim".into(),
            registry: None,
        }
    }
}

/// A running simulated cluster. `shutdown` stops it and waits; dropping it stops it
/// without waiting.
pub struct SimHandle {
    addr: SocketAddr,
    context: String,
    store: Arc<Store>,
    server: server::ApiServer,
    scenario: watch::Sender<Arc<Scenario>>,
    logs: Arc<logs::LogHub>,
    faults: Arc<faults::Faults>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
        let store = Arc::new(Store::new());
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            ensure_namespace(&store, ns);
        }
        for (i, name) in kubelet::NODES.iter().enumerate() {
            // A fresh store has no nodes, so this cannot conflict.
            let _ = objects::create(&store, Kind::Node, kubelet::node_object(name, i));
        }
        // The routers' CRDs, as if installed with the mesh and the Gateway API.
        for crd in custom::shipped() {
            objects::create(&store, Kind::CustomResourceDefinition, crd).map_err(|e| {
                SimError::Preload {
                    index: 0,
                    what: "a shipped CustomResourceDefinition".into(),
                    message: e.to_string(),
                }
            })?;
        }
        let listener = server::bind(cfg.listen).map_err(|source| SimError::Io {
            what: format!("listening on {}", cfg.listen),
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| SimError::Io {
            what: "reading the listening address".into(),
            source,
        })?;
        let (scenario_tx, scenario_rx) = watch::channel(Arc::new(cfg.scenario));
        let logs = logs::LogHub::new(scenario_tx.subscribe());
        let recorder = Arc::new(events::EventRecorder::new(store.clone()));
        let time_scale = if cfg.time_scale.is_finite() && cfg.time_scale > 0.0 {
            cfg.time_scale
        } else {
            1.0
        };
        // Subscribe before preloading so the controllers see every preloaded object.
        let controllers = controller::Controllers::new(store.clone(), recorder.clone(), time_scale);
        let kubelet =
            kubelet::Kubelet::new(store.clone(), recorder, scenario_rx.clone(), time_scale);
        let mut tasks = vec![
            tokio::spawn(controllers.run(store.subscribe())),
            tokio::spawn(kubelet.run(store.subscribe())),
        ];
        if let Some(registry) = cfg.registry {
            let registrator =
                registrator::Registrator::new(store.clone(), registry, scenario_rx.clone());
            tasks.push(tokio::spawn(registrator.run(store.subscribe())));
        }
        let faults = Arc::new(faults::Faults::default());
        let handle = SimHandle {
            addr,
            context: cfg.context,
            store: store.clone(),
            server: server::ApiServer::start(
                listener,
                api::router(api::Api::new(store.clone(), addr, logs.clone()))
                    .merge(metrics::routes(metrics::Traffic::new(store, scenario_rx)))
                    .layer(axum::middleware::from_fn_with_state(
                        faults.clone(),
                        faults::inject,
                    )),
            )
            .map_err(|source| SimError::Io {
                what: "starting the API server".into(),
                source,
            })?,
            scenario: scenario_tx,
            logs,
            faults,
            tasks,
        };
        handle.preload(cfg.preload)?;
        Ok(handle)
    }

    fn preload(&self, objects: Vec<Value>) -> Result<(), SimError> {
        for (index, mut obj) in objects.into_iter().enumerate() {
            let kind_name = resource::str_at(&obj, "/kind").to_string();
            let what = format!("{kind_name} {}", resource::str_at(&obj, "/metadata/name"));
            let fail = |message: String| SimError::Preload {
                index,
                what: what.clone(),
                message,
            };
            let api_version = resource::str_at(&obj, "/apiVersion");
            let kind = Kind::from_kind_name(&kind_name)
                .or_else(|| custom::by_kind(&self.store, api_version, &kind_name).map(|s| s.kind))
                .ok_or_else(|| fail(format!("unknown kind {kind_name:?}")))?;
            if kind.namespaced() {
                let ns = match resource::str_at(&obj, "/metadata/namespace") {
                    "" => "default".to_string(),
                    ns => ns.to_string(),
                };
                ensure_namespace(&self.store, &ns);
                obj["metadata"]["namespace"] = json!(ns);
            }
            objects::create(&self.store, kind, obj).map_err(|e| fail(e.to_string()))?;
        }
        Ok(())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The object store, for tests and benchmarks that look behind the API.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A kubeconfig for this cluster: plain http on loopback, no credentials.
    pub fn kubeconfig_yaml(&self) -> String {
        let name = &self.context;
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\ncurrent-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n  user: {{}}\n",
            addr = self.addr,
        )
    }

    /// Writes the kubeconfig with mode 0600.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |source| SimError::Io {
            what: format!("writing kubeconfig {}", path.display()),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        f.write_all(self.kubeconfig_yaml().as_bytes()).map_err(io)
    }

    /// Drops every connection and watch, then listens again on the same port; the
    /// cluster's state is kept.
    pub async fn restart_api(&self) -> Result<(), SimError> {
        self.server.restart().await.map_err(|source| SimError::Io {
            what: format!("listening again on {}", self.addr),
            source,
        })
    }

    /// An outage: stop listening and drop every connection until [`Self::start_api`].
    pub async fn stop_api(&self) {
        self.server.stop().await;
    }

    /// End an outage begun with [`Self::stop_api`]; the cluster's state was kept.
    pub fn start_api(&self) -> Result<(), SimError> {
        self.server.resume().map_err(|source| SimError::Io {
            what: format!("listening again on {}", self.addr),
            source,
        })
    }

    /// From now on the API server answers requests that `fault` matches with its error
    /// (a burst of 503s, a 422 for one resource) instead of serving them.
    pub fn inject_fault(&self, fault: Fault) {
        self.faults.add(fault);
    }

    /// The API server takes requests and never answers them, like a stopped process, until
    /// [`Self::clear_faults`].
    pub fn stall_api(&self) {
        self.faults.stall();
    }

    /// Ends every injected fault and stall.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// Forgets the watch history: a watch from any earlier resourceVersion gets 410 Gone.
    pub fn expire_watch_history(&self) {
        self.store.expire_history();
    }

    /// Switches the scenario; pods started (or restarted) from now on follow it.
    pub fn set_scenario(&self, s: Scenario) {
        self.scenario.send_replace(Arc::new(s));
    }

    /// Ends every open `follow` log stream, as a kubelet restart would; clients see their
    /// stream end and must reconnect.
    pub fn cut_log_streams(&self) {
        self.logs.cut_streams();
    }

    /// Writes raw bytes (escape sequences, invalid UTF-8 and all) as one log line of a pod,
    /// in one container or, with `None`, in each.
    pub fn inject_log_line(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        bytes: &[u8],
    ) {
        self.logs.inject(namespace, pod, container, bytes);
    }

    pub async fn shutdown(mut self) {
        self.server.stop().await;
        for t in std::mem::take(&mut self.tasks) {
            t.abort();
            // Aborted on purpose.
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.server.abort();
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn ensure_namespace(store: &Store, name: &str) {
    if store
        .get(Kind::Namespace, &resource::ObjectKey::new("", name))
        .is_none()
    {
        // Creating a namespace that does not exist yet cannot conflict.
        let _ = objects::create(store, Kind::Namespace, json!({"metadata": {"name": name}}));
    }
}

/// Five characters of the alphabet Kubernetes uses for generated names.
pub(crate) fn random_suffix() -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHANUMS[rand::random_range(0..ALPHANUMS.len())] as char)
        .collect()
}
