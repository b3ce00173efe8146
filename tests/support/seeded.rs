//! The demo's estate for the console benchmarks: a real etcd holding the groups, the
//! simulated cluster (in this process, time scale 0.2) running their pods, and 8 s for the
//! kubelet to bring every pod up, so that what is measured next is the console alone.

use std::time::Duration;

use flightdeck::demo::{seed, seed_store};
use flightdeck::sim::{SimConfig, SimHandle};
use flightdeck::store::{StoreConfig, StoreOptions};

use super::etcd::Etcd;

pub struct SeededEstate {
    pub etcd: Etcd,
    pub sim: SimHandle,
    pub groups: usize,
    /// Pods the estate's Deployments ask for.
    pub pods: u64,
    pub namespaces: usize,
}

impl SeededEstate {
    pub async fn start(groups: usize, pods_per_group: u32) -> SeededEstate {
        let etcd = Etcd::start().await;
        let seed = seed("sim", groups, pods_per_group).expect("estate");
        let pods = seed
            .objects
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .filter_map(|o| o["spec"]["replicas"].as_u64())
            .sum();
        let namespaces = seed
            .objects
            .iter()
            .filter(|o| o["kind"] == "Namespace")
            .count();
        let sim = SimHandle::start(SimConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            scenario: flightdeck::demo::scenario(),
            preload: seed.objects.clone(),
            time_scale: 0.2,
            context: "sim".into(),
            registry: None,
        })
        .await
        .expect("simulated cluster");
        let store = flightdeck::store::connect(
            &StoreConfig::parse(&etcd.url(), StoreOptions::default()).unwrap(),
        )
        .await
        .unwrap();
        seed_store(store.as_ref(), &seed, "bench")
            .await
            .expect("seed etcd");
        tokio::time::sleep(Duration::from_secs(8)).await;
        SeededEstate {
            etcd,
            sim,
            groups: seed.groups.len(),
            pods,
            namespaces,
        }
    }
}
