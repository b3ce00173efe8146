//! Harness for the health tests: a simulated cluster, an in-memory store holding one
//! service group with an analysis step, a release engine for a person and an agent.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use flightdeck::agent::{AGENT_USER, AgentConfig, AgentEvent, Reports};
use flightdeck::authz::policy::{Binding, Policy, Role, Scope};
use flightdeck::domain::{GroupKey, InstanceGroup, Release, Template};
use flightdeck::engine::Action;
use flightdeck::engine::release_engine::{Actor, ReleaseEngine};
use flightdeck::kube::ClusterConn;
use flightdeck::sim::{Scenario, SimConfig, SimHandle};
use flightdeck::store::{MemoryStore, Store};
use tokio::sync::{broadcast, watch};

pub const PERSON: &str = "tester";
pub const NAMESPACE: &str = "shop";
pub const GROUP: &str = "web";

/// Canaries tagged `*-bad` answer 8% of requests with a 5xx and are slow; `*-crash` ones
/// crash-loop; every other version answers without errors. (The simulated cluster's
/// default 0.1 % error rate made a good canary fail `min: 0.99` now and then: one error in
/// a 2 s window of a few dozen requests is 98.7 %. The judge is right to fail that; these
/// tests are about the verdicts, so good versions are made error-free.)
pub const SCENARIO: &str = r#"
timings: { readiness: 1.0, probePeriod: 2.0 }
rules:
  - tag: "*-bad"
    behaviour: healthy
    errorRate: 0.08
    latencyMs: { p50: 40, p99: 900 }
  - tag: "*-crash"
    behaviour: crashLoop
    crashAfter: 1
  - tag: "*"
    behaviour: healthy
    errorRate: 0
"#;

pub struct Harness {
    pub sim: SimHandle,
    pub store: Arc<dyn Store>,
    pub conn: ClusterConn,
    pub person: ReleaseEngine,
    pub agent_engine: Arc<ReleaseEngine>,
    pub key: GroupKey,
}

pub fn group_yaml(health: &str, auto_abort: bool) -> String {
    format!(
        r#"
apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: {{ name: {GROUP}, app: shop }}
spec:
  cluster: sim
  namespace: {NAMESPACE}
  template: service
  params: {{ image: registry.local/shop/web, tag: "v1", replicas: 4, port: 9000 }}
  strategy:
    autoAbort: {auto_abort}
    steps:
      - setWeight: 25
      - analysis: {{ interval: 1s, count: 3 }}
      - pause: {{}}
  health: {health}
"#
    )
}

pub const POD_METRICS: &str = "{ source: pod-metrics, metrics: [ { name: success-rate, min: 0.99 }, { name: latency-p99, max: 500ms } ] }";

impl Harness {
    pub async fn start(group: &str) -> Harness {
        let scenario = Scenario::from_yaml(SCENARIO).expect("scenario");
        let sim = SimHandle::start(SimConfig {
            scenario,
            time_scale: 0.05,
            preload: vec![serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}
            })],
            ..SimConfig::default()
        })
        .await
        .expect("sim starts");
        let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).expect("kubeconfig");
        let conn = flightdeck::kube::connect_kubeconfig(kc, None)
            .await
            .expect("connect");
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let policy = Policy::new(vec![Binding {
            role: Role::Admin,
            users: vec![PERSON.into(), AGENT_USER.into()],
            groups: vec![],
            scope: Scope::everywhere(),
        }]);
        store
            .put_policy(&serde_json::to_value(policy).unwrap())
            .await
            .unwrap();
        let template: Template =
            serde_norway::from_str(include_str!("../../assets/templates/service.yaml")).unwrap();
        store.put_template(&template).await.unwrap();
        let g: InstanceGroup = serde_norway::from_str(group).expect("group yaml");
        store.put_group(&g).await.unwrap();
        let person = ReleaseEngine::new(store.clone(), conn.clone(), Actor::system(PERSON));
        let agent_engine = Arc::new(ReleaseEngine::new(
            store.clone(),
            conn.clone(),
            Actor::system(AGENT_USER),
        ));
        let h = Harness {
            sim,
            store,
            conn,
            person,
            agent_engine,
            key: g.key(),
        };
        h.deploy("v1").await;
        h.wait_ready(4).await;
        h
    }

    pub async fn deploy(&self, tag: &str) -> Release {
        let report = self
            .person
            .act(
                &self.key,
                Action::Deploy {
                    tag: tag.into(),
                    params: Default::default(),
                },
                None,
            )
            .await
            .expect("deploy");
        assert_eq!(report.apply_error, None, "deploy {tag} applied");
        report.release
    }

    pub fn agent_config(&self) -> AgentConfig {
        let mut cfg = AgentConfig::new(AgentConfig::default_holder("test-agent"));
        cfg.poll = Duration::from_millis(100);
        cfg.reapply_after = Duration::from_secs(2);
        cfg.lease_ttl = Duration::from_secs(3);
        cfg
    }

    pub fn spawn_agent(
        &self,
        cfg: AgentConfig,
    ) -> (
        watch::Receiver<Reports>,
        broadcast::Receiver<AgentEvent>,
        watch::Sender<bool>,
    ) {
        let h = flightdeck::agent::spawn(self.agent_engine.clone(), self.conn.clone(), cfg);
        (h.reports, h.events, h.stop)
    }

    /// Ready pods of the group in the simulated cluster.
    pub fn ready_pods(&self) -> usize {
        let (pods, _) = self
            .sim
            .store()
            .list(flightdeck::sim::Kind::Pod, Some(NAMESPACE));
        pods.iter()
            .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
            .filter(|p| {
                p.pointer("/status/conditions")
                    .and_then(|c| c.as_array())
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            })
            .count()
    }

    pub async fn wait_ready(&self, n: usize) {
        for _ in 0..200 {
            if self.ready_pods() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} pods never became ready");
    }

    pub async fn release(&self) -> Release {
        self.store
            .get_release(&self.key)
            .await
            .unwrap()
            .expect("release")
            .value
    }

    /// Replicas the canary Deployment asks for.
    pub fn canary_replicas(&self) -> Option<i64> {
        let key = flightdeck::sim::resource::ObjectKey::new(NAMESPACE, format!("{GROUP}-canary"));
        self.sim
            .store()
            .get(flightdeck::sim::Kind::Deployment, &key)
            .and_then(|d| d.pointer("/spec/replicas").and_then(|r| r.as_i64()))
    }
}

/// The agent's first action (not a judgement), within `limit`. A timeout names every
/// event seen meanwhile, so a slow run says where it stood (lease, judgements, re-applies).
pub async fn next_action(
    events: &mut broadcast::Receiver<AgentEvent>,
    limit: Duration,
) -> (String, String, String) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let ev = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(ev)) => ev,
            Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                seen.push(format!("(missed {n} events)"));
                continue;
            }
            Ok(Err(e)) => panic!("agent events ended: {e}; seen: {seen:#?}"),
            Err(_) => panic!("the agent did not act within {limit:?}; it said: {seen:#?}"),
        };
        if let AgentEvent::Acted {
            action,
            reason,
            outcome,
            ..
        } = ev
        {
            // A re-apply (the cluster slower than `reapply_after` on a busy machine) is
            // housekeeping, not the decision the tests wait for.
            if action == "reapply" {
                seen.push(format!("reapply: {reason} -> {outcome}"));
                continue;
            }
            return (action, reason, outcome);
        }
        seen.push(format!("{ev:?}"));
    }
}
