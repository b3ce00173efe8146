//! Service registration (issue 12, point 3): a registrator beside the cluster writes one key
//! per instance, `<prefix>/<service>/<ip:port>`, bound to a lease, whose value is JSON
//! `{"weight": 100, "metadata": {…}}`. A group's `registration:` names where its instances
//! are, so the console can put them beside its pods and a drain can take one out of
//! rotation before its pod goes.
//!
//! The keys live in the platform's etcd but outside flightdeck's own prefix: a registrator
//! writes them, people read them, and the release controller — the only one that changes
//! anything — sets a drained instance's weight to 0 or removes it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a drain waits between taking an instance out of rotation and deleting its pod,
/// when the group does not say.
pub const DRAIN_FOR: &str = "30s";

/// The longest `drainFor` a group may ask for.
const MAX_DRAIN: Duration = Duration::from_secs(3_600);

/// The readiness gate a pod of a group with `drainOnRollout` carries: the Deployment counts
/// a new pod available — and so removes an old one — only once the controller has drained
/// the old pod that goes next and set this condition to `True`.
pub const DRAIN_GATE: &str = "flightdeck.dev/drained-predecessor";

/// The annotation the ReplicaSet controller reads to choose which pod a scale-down removes
/// first (the lowest cost goes first; Kubernetes ≥ 1.22).
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// `registration: { prefix: /services, service: shop-web, port: 8080, drain: zero,
/// drainFor: 30s, drainOnRollout: true }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Registration {
    /// The etcd prefix the registrator writes under (absolute, e.g. `/services`).
    pub prefix: String,
    /// The service's name under the prefix (default: the group's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The port the instances register with (default: the `port` parameter, else 8080).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// What a drain does to the registration: `zero` (weight 0, the default) or `remove`.
    #[serde(default)]
    pub drain: DrainMode,
    /// How long a drained instance keeps running before its pod is deleted (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_for: Option<String>,
    /// `rolling` strategy: drain each old pod before the Deployment removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drain_on_rollout: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrainMode {
    #[default]
    Zero,
    Remove,
}

impl DrainMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DrainMode::Zero => "zero",
            DrainMode::Remove => "remove",
        }
    }
}

impl Registration {
    /// The prefix without its trailing slashes.
    pub fn prefix(&self) -> &str {
        self.prefix.trim_end_matches('/')
    }

    /// The service's name: the one written, or the group's.
    pub fn service<'a>(&'a self, group: &'a str) -> &'a str {
        self.service.as_deref().unwrap_or(group)
    }

    /// The port instances register with: the one written, the group's `port` parameter,
    /// or 8080.
    pub fn port(&self, params: &std::collections::BTreeMap<String, serde_json::Value>) -> u16 {
        self.port
            .or_else(|| {
                params
                    .get("port")
                    .and_then(|v| v.as_u64())
                    .and_then(|p| u16::try_from(p).ok())
            })
            .unwrap_or(8080)
    }

    /// Where the service's instances are: `<prefix>/<service>/`.
    pub fn service_prefix(&self, group: &str) -> String {
        format!("{}/{}/", self.prefix(), self.service(group))
    }

    /// The key of the instance at `address` (`ip:port`).
    pub fn key(&self, group: &str, address: &str) -> String {
        format!("{}{address}", self.service_prefix(group))
    }

    pub fn drain_for_text(&self) -> &str {
        self.drain_for.as_deref().unwrap_or(DRAIN_FOR)
    }

    /// `drainFor`, or why it cannot be read.
    pub fn drain_for(&self) -> Result<Duration, String> {
        let text = self.drain_for_text();
        text.parse::<jiff::SignedDuration>()
            .ok()
            .filter(|d| !d.is_negative())
            .and_then(|d| Duration::try_from(d).ok())
            .filter(|d| *d <= MAX_DRAIN)
            .ok_or_else(|| {
                format!("registration.drainFor '{text}' is not a duration up to 1h (e.g. 30s, 2m)")
            })
    }

    /// The checks a group's registration passes before it is stored: a prefix that is a
    /// plain absolute etcd path outside flightdeck's own keys (`store_prefix`), a service
    /// name that is one path segment, and a readable `drainFor`.
    pub fn check(&self, group: &str, store_prefix: &str) -> Result<(), String> {
        let p = self.prefix();
        if !p.starts_with('/') || p.len() < 2 {
            return Err(format!(
                "registration.prefix '{}' is not an absolute etcd prefix (e.g. /services)",
                self.prefix
            ));
        }
        if p.len() > 256
            || p.chars().any(|c| c.is_control() || c.is_whitespace())
            || p.split('/')
                .skip(1)
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(format!(
                "registration.prefix '{}' is not a plain path of names",
                self.prefix.escape_debug()
            ));
        }
        let ours = store_prefix.trim_end_matches('/');
        let overlaps = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
        if !ours.is_empty() && (overlaps(p, ours) || overlaps(ours, p)) {
            return Err(format!(
                "registration.prefix '{p}' overlaps flightdeck's own keys ({store_prefix}): registrations live outside them"
            ));
        }
        let service = self.service(group);
        if service.is_empty()
            || service.len() > 253
            || service
                .chars()
                .any(|c| c == '/' || c.is_control() || c.is_whitespace())
        {
            return Err(format!(
                "registration.service '{}' is not one name (no '/', spaces or control characters)",
                service.escape_debug()
            ));
        }
        if self.port == Some(0) {
            return Err("registration.port 0 is not a port".into());
        }
        self.drain_for().map(|_| ())
    }
}

/// One registered instance as read from its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// `ip:port`, the last segment of the key.
    pub address: String,
    /// The full key.
    pub key: String,
    /// The registered weight; `None` when the value could not be read.
    pub weight: Option<u32>,
    /// The value's `metadata`, flattened to `k=v` pairs for display.
    pub metadata: Vec<(String, String)>,
    /// Why the value is not a registration (garbage in the key), if it is not.
    pub unreadable: Option<String>,
    /// The key's etcd mod_revision, so a drain changes only what it read.
    pub mod_revision: i64,
}

/// The value a registrator writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisteredValue {
    #[serde(default = "full_weight")]
    pub weight: u32,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

fn full_weight() -> u32 {
    100
}

/// Longest value read from a registration key; anything longer is reported, not parsed.
const MAX_VALUE: usize = 64 * 1024;

impl Instance {
    /// Reads the key `key` under `service_prefix` with `value`; `None` when the key is not
    /// one instance directly under the prefix.
    pub fn parse(
        service_prefix: &str,
        key: &str,
        value: &[u8],
        mod_revision: i64,
    ) -> Option<Instance> {
        let address = key.strip_prefix(service_prefix)?;
        if address.is_empty() || address.contains('/') {
            return None;
        }
        let address = crate::domain::sanitize::clean(address);
        let parsed = if value.len() > MAX_VALUE {
            Err(format!("value of {} bytes", value.len()))
        } else {
            serde_json::from_slice::<RegisteredValue>(value).map_err(|e| {
                let mut m = e.to_string();
                m.truncate(80);
                m
            })
        };
        let (weight, metadata, unreadable) = match parsed {
            Ok(v) => {
                let metadata = v
                    .metadata
                    .iter()
                    .take(16)
                    .map(|(k, v)| {
                        let v = match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (
                            crate::domain::sanitize::clean(k),
                            crate::domain::sanitize::clean(&v),
                        )
                    })
                    .collect();
                (Some(v.weight), metadata, None)
            }
            Err(e) => (None, Vec::new(), Some(format!("not a registration: {e}"))),
        };
        Some(Instance {
            address,
            key: key.to_string(),
            weight,
            metadata,
            unreadable,
            mod_revision,
        })
    }

    /// Takes traffic: readable, with a weight above 0.
    pub fn in_rotation(&self) -> bool {
        self.weight.is_some_and(|w| w > 0)
    }
}

/// One pod of the group as the instances view needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodAddress {
    pub name: String,
    pub ip: Option<String>,
    pub ready: bool,
}

/// How a pod and its registration agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Ready and registered with a weight: takes traffic.
    Serving,
    /// Registered with weight 0: out of rotation (drained or draining).
    Drained,
    /// Not ready, not registered (starting, or going).
    Down,
    /// Registered with a weight, but no ready pod has the address: traffic goes nowhere.
    Ghost,
    /// Ready but not registered: takes no traffic.
    Stray,
    /// Registered, but the value is not a registration.
    Unreadable,
    /// Registered with a weight while its pod is not ready: traffic to a pod that
    /// cannot answer.
    NotReady,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Serving => "serving",
            Standing::Drained => "drained",
            Standing::Down => "down",
            Standing::Ghost => "ghost",
            Standing::Stray => "stray",
            Standing::Unreadable => "unreadable",
            Standing::NotReady => "not ready",
        }
    }

    /// Something a person should look at.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Standing::Ghost | Standing::Stray | Standing::Unreadable | Standing::NotReady
        )
    }
}

/// One row of the instances view: a pod, a registration, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    pub pod: Option<String>,
    pub address: Option<String>,
    pub ready: bool,
    pub registered: bool,
    pub weight: Option<u32>,
    pub standing: Standing,
    /// Why an unreadable registration is so.
    pub note: Option<String>,
}

/// The address an instance registers under: `ip:port`, `[ip]:port` for IPv6 (as a socket
/// address is written), so a pod and its registration are matched on one spelling.
pub fn address(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Puts the group's pods and its service's registrations side by side: one row per pod
/// (matched on `ip:port`), then one per registration no pod has (ghosts). Pods first in
/// name order, then ghosts by address.
pub fn side_by_side(pods: &[PodAddress], port: u16, instances: &[Instance]) -> Vec<InstanceRow> {
    let mut rows = Vec::with_capacity(pods.len() + instances.len());
    let mut matched = vec![false; instances.len()];
    let mut pods: Vec<&PodAddress> = pods.iter().collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    for pod in pods {
        let address = pod.ip.as_deref().map(|ip| address(ip, port));
        let found = address
            .as_ref()
            .and_then(|a| instances.iter().position(|i| &i.address == a));
        if let Some(i) = found {
            matched[i] = true;
        }
        let inst = found.map(|i| &instances[i]);
        let standing = match (pod.ready, inst) {
            (_, Some(i)) if i.unreadable.is_some() => Standing::Unreadable,
            (_, Some(i)) if !i.in_rotation() => Standing::Drained,
            (true, Some(_)) => Standing::Serving,
            (false, Some(_)) => Standing::NotReady,
            (true, None) => Standing::Stray,
            (false, None) => Standing::Down,
        };
        rows.push(InstanceRow {
            pod: Some(pod.name.clone()),
            address,
            ready: pod.ready,
            registered: inst.is_some(),
            weight: inst.and_then(|i| i.weight),
            standing,
            note: inst.and_then(|i| i.unreadable.clone()),
        });
    }
    let mut ghosts: Vec<&Instance> = instances
        .iter()
        .zip(&matched)
        .filter(|(_, m)| !**m)
        .map(|(i, _)| i)
        .collect();
    ghosts.sort_by(|a, b| a.address.cmp(&b.address));
    for i in ghosts {
        rows.push(InstanceRow {
            pod: None,
            address: Some(i.address.clone()),
            ready: false,
            registered: true,
            weight: i.weight,
            standing: if i.unreadable.is_some() {
                Standing::Unreadable
            } else if i.in_rotation() {
                Standing::Ghost
            } else {
                Standing::Drained
            },
            note: i.unreadable.clone(),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_written_as_a_socket_address() {
        assert_eq!(address("10.0.0.7", 8080), "10.0.0.7:8080");
        assert_eq!(address("fd00::7", 8080), "[fd00::7]:8080");
    }

    fn reg(yaml: &str) -> Registration {
        serde_norway::from_str(yaml).unwrap()
    }

    fn inst(address: &str, value: &str) -> Instance {
        Instance::parse(
            "/services/web/",
            &format!("/services/web/{address}"),
            value.as_bytes(),
            1,
        )
        .unwrap()
    }

    fn pod(name: &str, ip: &str, ready: bool) -> PodAddress {
        PodAddress {
            name: name.into(),
            ip: Some(ip.into()),
            ready,
        }
    }

    #[test]
    fn keys_follow_prefix_service_and_address() {
        let r = reg("{ prefix: /services/, port: 9000 }");
        assert_eq!(r.service_prefix("web"), "/services/web/");
        assert_eq!(r.key("web", "10.0.0.1:9000"), "/services/web/10.0.0.1:9000");
        assert_eq!(r.port(&Default::default()), 9000);
        let r = reg("{ prefix: /s, service: shop }");
        assert_eq!(r.service_prefix("web"), "/s/shop/");
        let params = [("port".to_string(), serde_json::json!(7000))].into();
        assert_eq!(r.port(&params), 7000);
        assert_eq!(r.drain_for().unwrap(), Duration::from_secs(30));
        assert_eq!(r.drain, DrainMode::Zero);
    }

    #[test]
    fn a_prefix_over_flightdecks_own_keys_or_a_crafted_service_is_refused() {
        let check = |y: &str| reg(y).check("web", "/flightdeck/");
        assert!(check("{ prefix: /services }").is_ok());
        assert!(
            check("{ prefix: /flightdeck }")
                .unwrap_err()
                .contains("overlaps")
        );
        assert!(
            check("{ prefix: /flightdeck/groups }")
                .unwrap_err()
                .contains("overlaps")
        );
        assert!(check("{ prefix: / }").is_err());
        assert!(check("{ prefix: services }").is_err());
        assert!(check("{ prefix: /a/../flightdeck }").is_err());
        assert!(check("{ prefix: /services, service: a/b }").is_err());
        assert!(check("{ prefix: /services, drainFor: 2h }").is_err());
        assert!(check("{ prefix: /services, drainFor: soon }").is_err());
        // A sibling whose name only starts like ours is not ours.
        assert!(check("{ prefix: /flightdeck-registry }").is_ok());
    }

    #[test]
    fn values_are_read_and_garbage_is_reported_not_trusted() {
        let i = inst(
            "10.0.0.1:80",
            r#"{"weight": 50, "metadata": {"zone": "a"}}"#,
        );
        assert_eq!(i.weight, Some(50));
        assert_eq!(i.metadata, vec![("zone".into(), "a".into())]);
        assert!(i.in_rotation());
        assert_eq!(inst("10.0.0.1:80", "{}").weight, Some(100));
        let bad = inst("10.0.0.1:80", "\u{1b}[2Jnot json");
        assert_eq!(bad.weight, None);
        assert!(bad.unreadable.unwrap().starts_with("not a registration"));
        assert!(!inst("10.0.0.1:80", r#"{"weight": 0}"#).in_rotation());
        // Not directly under the service: not an instance of it.
        assert!(Instance::parse("/services/web/", "/services/web/a/b", b"{}", 1).is_none());
        assert!(Instance::parse("/services/web/", "/services/webx/a", b"{}", 1).is_none());
    }

    #[test]
    fn pods_and_registrations_side_by_side_flag_ghosts_and_strays() {
        let pods = [
            pod("web-b", "10.0.0.2", true),
            pod("web-a", "10.0.0.1", true),
            pod("web-c", "10.0.0.3", false),
            pod("web-d", "10.0.0.4", true),
        ];
        let instances = [
            inst("10.0.0.1:80", r#"{"weight": 100}"#),
            inst("10.0.0.2:80", r#"{"weight": 0}"#),
            inst("10.0.0.9:80", r#"{"weight": 100}"#),
            inst("10.0.0.4:80", "garbage"),
        ];
        let rows = side_by_side(&pods, 80, &instances);
        let got: Vec<(Option<&str>, Standing)> = rows
            .iter()
            .map(|r| (r.pod.as_deref(), r.standing))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("web-a"), Standing::Serving),
                (Some("web-b"), Standing::Drained),
                (Some("web-c"), Standing::Down),
                (Some("web-d"), Standing::Unreadable),
                (None, Standing::Ghost),
            ]
        );
        assert_eq!(rows[4].address.as_deref(), Some("10.0.0.9:80"));
        // A ready pod on the wrong port is a stray, and its registration a ghost.
        let rows = side_by_side(&pods[..1], 81, &instances[..1]);
        assert_eq!(rows[0].standing, Standing::Stray);
        assert_eq!(rows[1].standing, Standing::Ghost);
    }
}
