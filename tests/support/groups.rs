//! The shop's groups as the end-to-end tests write them, on the templates users start
//! from (`assets/templates`): each test says only what its group does differently.
//!
//! Part of the shared rig: `mod support;` then `use support::groups::*;`.
#![allow(dead_code)]

pub const SERVICE_TEMPLATE: &str = include_str!("../../assets/templates/service.yaml");
pub const CRON_TEMPLATE: &str = include_str!("../../assets/templates/cron.yaml");

/// The shop's group `name` in namespace `shop` of the cluster `sim`, rendered by
/// `template` from the image `registry.local/shop/<name>` at tag 1.0.0 with `params`
/// besides; `spec` is the rest of its spec, lines indented by two spaces.
pub fn shop_group(name: &str, template: &str, params: &str, spec: &str) -> String {
    format!(
        r#"apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: {{ name: {name}, app: shop }}
spec:
  cluster: sim
  namespace: shop
  template: {template}
  params: {{ image: registry.local/shop/{name}, tag: "1.0.0", {params} }}
{spec}"#
    )
}

/// The shop's `web`: `replicas` pods of the service template listening on 8080.
pub fn web_group(replicas: u32, spec: &str) -> String {
    shop_group(
        "web",
        "service",
        &format!("replicas: {replicas}, port: 8080"),
        spec,
    )
}
