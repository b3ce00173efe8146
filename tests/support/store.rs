//! Domain values for store tests, and ways to open a store on a backend.
//!
//! Include with `#[path = "support/store.rs"] mod store_support;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use flightdeck::domain::group::{GroupMetadata, GroupSpec};
use flightdeck::domain::template::{TemplateMetadata, TemplateSpec};
use flightdeck::domain::{
    AuditDraft, AuditTarget, AuditUser, GroupKey, InstanceGroup, Phase, Release, Revision, Template,
};
use flightdeck::store::{Store, StoreConfig, StoreOptions, connect};

pub fn template(name: &str) -> Template {
    Template {
        api_version: "flightdeck/v1".into(),
        kind: "Template".into(),
        metadata: TemplateMetadata { name: name.into() },
        spec: TemplateSpec {
            body: "kind: Deployment\nmetadata: { name: '{{ group }}' }\n".into(),
            kinds: Vec::new(),
        },
    }
}

pub fn group(cluster: &str, namespace: &str, name: &str) -> InstanceGroup {
    let mut params = BTreeMap::new();
    params.insert("tag".to_string(), serde_json::json!("v1"));
    InstanceGroup {
        api_version: "flightdeck/v1".into(),
        kind: "InstanceGroup".into(),
        metadata: GroupMetadata {
            name: name.into(),
            app: "app".into(),
        },
        spec: GroupSpec {
            cluster: cluster.into(),
            namespace: namespace.into(),
            template: "grpc-service".into(),
            params,
            strategy: Default::default(),
            kind: Default::default(),
            concurrency: None,
            health: None,
            protected: false,
            image_policy: None,
            registration: None,
        },
    }
}

pub fn key() -> GroupKey {
    GroupKey::new("prod-hz", "user", "user-info-grpc")
}

pub fn revision(k: &GroupKey, n: u64, tag: &str) -> Revision {
    let mut params = BTreeMap::new();
    params.insert("tag".to_string(), serde_json::json!(tag));
    Revision {
        number: n,
        group: k.clone(),
        params,
        rendered: vec![],
        created: jiff::Timestamp::now(),
        created_by: "alice".into(),
    }
}

pub fn release(k: &GroupKey, by: &str, weight: u8) -> Release {
    let mut r = Release::stable(k.clone(), 1, by);
    r.phase = Phase::Paused;
    r.canary_revision = Some(2);
    r.weight = weight;
    r
}

pub fn draft(user: &str, action: &str, k: &GroupKey) -> AuditDraft {
    let mut d = AuditDraft::new(AuditUser::named(user, "os"), action, AuditTarget::from(k));
    d.request = serde_json::json!({ "weight": 50 });
    d
}

pub fn options(prefix: &str) -> StoreOptions {
    StoreOptions {
        prefix: prefix.to_string(),
        request_timeout: Duration::from_secs(2),
        dial_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    }
}

pub async fn open(url: &str, options: StoreOptions) -> Arc<dyn Store> {
    let cfg = StoreConfig::parse(url, options).expect("store config");
    connect(&cfg).await.expect("connect to the store")
}
