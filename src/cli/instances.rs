//! `flightdeck instances GROUP [--json]`: a group's pods and its service's registrations
//! side by side — serving, drained, draining, ghosts (registered, no ready pod) and strays
//! (ready, not registered). Read-only: the pods from the group's cluster, the
//! registrations from the registry next to the store.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use super::context::store_error;
use super::output::{cell, out, print_json, table};
use super::{CliError, Exit, Global};
use crate::domain::labels;
use crate::domain::registration::{Instance, PodAddress, side_by_side};
use crate::engine::release_engine::GroupPod;

pub use super::args::release::InstancesArgs;

#[derive(Serialize)]
struct Line {
    pod: Option<String>,
    address: Option<String>,
    ready: bool,
    registered: bool,
    weight: Option<u32>,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

pub async fn run(global: &Global, args: InstancesArgs) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let group = super::target::resolve(store.as_ref(), &args.group).await?;
    let Some(reg) = group.spec.registration.clone() else {
        return Err(CliError::new(
            Exit::BadInput,
            format!(
                "{} has no registration (spec.registration names where its instances register)",
                group.key()
            ),
        ));
    };
    let conn = global.connect_cluster().await?;
    let unreachable = |m: String| CliError::new(Exit::Unreachable, m);
    let conn = match conn.for_context(&group.spec.cluster).await {
        Some(c) => c.map_err(|e| unreachable(e.to_string()))?,
        None => {
            return Err(CliError::new(
                Exit::BadInput,
                format!(
                    "the kubeconfig has no context {} (the cluster of {})",
                    group.spec.cluster,
                    group.key()
                ),
            ));
        }
    };
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &group.spec.namespace);
    let selector = format!("{}={}", labels::GROUP, group.name());
    let listed = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| unreachable(format!("cannot list the pods of {}: {e}", group.key())))?;
    let pods: Vec<PodAddress> = listed
        .items
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .filter_map(|v| GroupPod::from_json(&v))
        .filter(|p| !p.terminating)
        .map(|p| PodAddress {
            name: p.name,
            ip: p.ip,
            ready: p.ready,
        })
        .collect();
    let registry = crate::store::connect_registry(&global.store_config()?)
        .await
        .map_err(store_error)?;
    let prefix = reg.service_prefix(group.name());
    let (kvs, _) = registry.list(&prefix).await.map_err(store_error)?;
    let registered: Vec<Instance> = kvs
        .iter()
        .filter_map(|kv| Instance::parse(&prefix, &kv.key, &kv.value, kv.mod_revision))
        .collect();
    let drains = store
        .get_release(&group.key())
        .await
        .map_err(store_error)?
        .map(|v| v.value.drains)
        .unwrap_or_default();
    let rows = side_by_side(&pods, reg.port(&group.spec.params), &registered);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|r| {
            let draining = r
                .pod
                .as_ref()
                .and_then(|p| drains.iter().find(|d| &d.pod == p));
            let state = match draining {
                Some(d) => format!("draining until {}", d.until.strftime("%H:%M:%SZ")),
                None => r.standing.as_str().to_string(),
            };
            Line {
                pod: r.pod,
                address: r.address,
                ready: r.ready,
                registered: r.registered,
                weight: r.weight,
                state,
                note: r.note,
            }
        })
        .collect();
    if args.json {
        return print_json(&lines);
    }
    if lines.is_empty() {
        return out(&format!(
            "{}: no pods and nothing registered under {prefix}\n",
            group.key()
        ));
    }
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let rows = lines
        .iter()
        .map(|l| {
            vec![
                l.pod.clone().unwrap_or_else(|| "-".into()),
                l.address.clone().unwrap_or_else(|| "-".into()),
                yes(l.ready),
                yes(l.registered),
                l.weight.map_or("-".into(), |w| w.to_string()),
                match &l.note {
                    Some(n) => cell(&format!("{} ({n})", l.state), 60),
                    None => l.state.clone(),
                },
            ]
        })
        .collect();
    out(&table(
        &["POD", "ADDRESS", "READY", "REGISTERED", "WEIGHT", "STATE"],
        rows,
    ))
}
