//! Scenarios: what the simulated kubelet does with a pod, chosen by its image tag.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SimError;

/// What the simulated cluster does. `Scenario::default()` runs every pod healthily.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Base delays of a pod's life, in seconds (before `time_scale`).
    #[serde(default)]
    pub timings: Timings,
    /// Rules in order; the first whose `tag` glob matches a container's image tag wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The simulated clients: how many requests, and which carry headers the routers
    /// match on.
    #[serde(default)]
    pub traffic: TrafficSpec,
    /// A registrator beside the kubelet that writes each ready pod into a service registry
    /// (the registry itself comes with `SimConfig::registry`); off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationSim>,
}

/// `registration: { prefix: /services, ttl: 10, ghosts: false, groups: [] }`: each pod
/// whose containers are ready is registered at `<prefix>/<flightdeck.dev/group label>/<podIP>:<port>`
/// (port: the first container's first `containerPort`, else 8080) with the value
/// `{"weight":100,"metadata":{"pod","node","version"}}` on a lease of `ttl`, kept alive
/// while the pod lives and revoked when it terminates. The value is written once: what a
/// drain changes afterwards (weight 0, or the key removed) stays so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationSim {
    /// Absolute registry prefix, e.g. `/services`.
    pub prefix: String,
    /// Lease TTL in whole seconds of real time — not scaled by the time scale: the lease is
    /// kept by etcd's clock, which counts whole seconds and has a floor of its own.
    #[serde(default = "default_ttl")]
    pub ttl: u64,
    /// A registrator that lost track: a terminated pod's registration is not revoked but
    /// kept alive, so every replaced pod leaves a ghost.
    #[serde(default)]
    pub ghosts: bool,
    /// Only pods of these groups (`flightdeck.dev/group` label); empty: every pod that has
    /// the label.
    #[serde(default)]
    pub groups: Vec<String>,
}

fn default_ttl() -> u64 {
    10
}

impl Default for RegistrationSim {
    fn default() -> Self {
        RegistrationSim {
            prefix: "/services".into(),
            ttl: default_ttl(),
            ghosts: false,
            groups: Vec::new(),
        }
    }
}

impl RegistrationSim {
    fn validate(&self) -> Result<(), String> {
        let p = self.prefix.trim_end_matches('/');
        if !p.starts_with('/') || p.len() < 2 {
            return Err(format!(
                "registration.prefix '{}' is not an absolute prefix (e.g. /services)",
                self.prefix
            ));
        }
        if !(1..=3600).contains(&self.ttl) {
            return Err(format!(
                "registration.ttl {} is not between 1 and 3600 seconds",
                self.ttl
            ));
        }
        Ok(())
    }

    /// The prefix without trailing slashes.
    pub fn prefix(&self) -> &str {
        self.prefix.trim_end_matches('/')
    }

    /// Whether pods of `group` register.
    pub fn covers(&self, group: &str) -> bool {
        !group.is_empty() && (self.groups.is_empty() || self.groups.iter().any(|g| g == group))
    }
}

/// `traffic: { rps: 200, headers: [{ name: x-canary, value: always, share: 0.1 }] }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficSpec {
    /// Requests a second that one Service (or router) receives; 200 when absent.
    #[serde(default)]
    pub rps: Option<f64>,
    /// Disjoint shares of the requests that carry one header each (a cookie is the header
    /// `cookie` with the value `name=value`); the rest carry none of them.
    #[serde(default)]
    pub headers: Vec<HeaderShare>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderShare {
    pub name: String,
    pub value: String,
    /// Fraction of all requests (0–1).
    pub share: f64,
}

impl TrafficSpec {
    fn validate(&self) -> Result<(), String> {
        if let Some(rps) = self.rps.filter(|r| !(r.is_finite() && *r >= 0.0)) {
            return Err(format!(
                "traffic.rps {rps} is not a number of requests a second"
            ));
        }
        let mut total = 0.0;
        for h in &self.headers {
            if h.name.is_empty() {
                return Err("traffic.headers: a header without a name".into());
            }
            if !(0.0..=1.0).contains(&h.share) {
                return Err(format!(
                    "traffic.headers {}: share {} is not between 0 and 1",
                    h.name, h.share
                ));
            }
            total += h.share;
        }
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "traffic.headers: the shares add up to {total}, more than 1"
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Timings {
    pub schedule: f64,
    pub pull: f64,
    pub start: f64,
    /// From container start to the first successful readiness probe.
    pub readiness: f64,
    /// Between readiness probes (also the period of Unhealthy events).
    pub probe_period: f64,
    /// From deletion to the pod's removal.
    pub terminate: f64,
    /// First restart back-off; it doubles up to `backoff_max`.
    pub backoff_base: f64,
    pub backoff_max: f64,
    /// How long a Job's container runs before it exits (0 on success; images the rules
    /// make crash exit 1 after their `crashAfter`).
    pub job_run: f64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            schedule: 0.2,
            pull: 1.5,
            start: 0.5,
            readiness: 2.0,
            probe_period: 10.0,
            terminate: 2.0,
            backoff_base: 10.0,
            backoff_max: 300.0,
            job_run: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Glob on the image tag: `*` any run of characters, `?` one character.
    pub tag: String,
    pub behaviour: Behaviour,
    /// `slowStart`: seconds between container start and readiness.
    #[serde(default)]
    pub start_delay: Option<f64>,
    /// `crashLoop`: seconds the container runs before it exits with code 1.
    #[serde(default)]
    pub crash_after: Option<f64>,
    /// Traffic simulation: fraction of requests answered with a 5xx (0–1).
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// Traffic simulation: request latency, `{p50: 40, p99: 900}` or one number (the p50,
    /// with the default spread).
    #[serde(default)]
    pub latency_ms: Option<super::metrics::LatencyMs>,
    /// Reserved for the log simulation: log lines per second.
    #[serde(default)]
    pub log_rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Behaviour {
    Healthy,
    CrashLoop,
    FailReadiness,
    FailPull,
    SlowStart,
}

impl Scenario {
    pub fn from_file(path: &Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            what: format!("reading scenario {}", path.display()),
            source,
        })?;
        Scenario::from_yaml(&text).map_err(|(line, message)| SimError::Scenario {
            path: path.to_path_buf(),
            line,
            message,
        })
    }

    /// Parse YAML; the error carries the line (1-based, 0 when unknown) and the message.
    pub fn from_yaml(text: &str) -> Result<Scenario, (usize, String)> {
        // A key or value the message quotes may hold a newline: the refusal stays one line.
        let escaped = flightdeck_core::domain::sanitize::escape_controls;
        let s: Scenario = serde_norway::from_str(text).map_err(|e| {
            (
                e.location().map(|l| l.line()).unwrap_or(0),
                escaped(&e.to_string()),
            )
        })?;
        s.validate().map_err(|m| (0, escaped(&m)))?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), String> {
        self.traffic.validate()?;
        if let Some(r) = &self.registration {
            r.validate()?;
        }
        for r in &self.rules {
            if r.tag.is_empty() {
                return Err("rule with an empty tag glob".into());
            }
            if let Some(e) = r.error_rate.filter(|e| !(0.0..=1.0).contains(e)) {
                return Err(format!(
                    "rule {}: errorRate {e} is not between 0 and 1",
                    r.tag
                ));
            }
            if let Some(l) = &r.latency_ms {
                l.validate()
                    .map_err(|m| format!("rule {}: latencyMs {m}", r.tag))?;
            }
        }
        Ok(())
    }

    /// The rule for an image (`repo/name:tag`); images without a tag have tag `latest`.
    pub fn rule_for(&self, image: &str) -> Option<&Rule> {
        let tag = image_tag(image);
        self.rules.iter().find(|r| glob(&r.tag, tag))
    }

    pub fn behaviour_for(&self, image: &str) -> Behaviour {
        self.rule_for(image)
            .map(|r| r.behaviour)
            .unwrap_or(Behaviour::Healthy)
    }
}

pub fn image_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, t)| t).unwrap_or("latest")
}

/// Glob with `*` and `?`, iterative with backtracking on the last `*`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*-crash", "v2-crash"));
        assert!(!glob("*-crash", "v2-crash-not"));
        assert!(glob("v?-*", "v1-x"));
        assert!(glob("*", ""));
        assert!(!glob("a", ""));
    }

    #[test]
    fn tags_come_from_the_last_path_segment() {
        assert_eq!(image_tag("registry.local:5000/go/app:v1-crash"), "v1-crash");
        assert_eq!(image_tag("nginx"), "latest");
    }

    #[test]
    fn the_sample_scenario_maps_the_documented_suffixes() {
        let s = Scenario::from_yaml(include_str!("../../../assets/scenario.yaml")).unwrap();
        assert_eq!(s.behaviour_for("app:v2-crash"), Behaviour::CrashLoop);
        assert_eq!(s.behaviour_for("app:v2-unready"), Behaviour::FailReadiness);
        assert_eq!(s.behaviour_for("app:v2-badpull"), Behaviour::FailPull);
        let slow = s.rule_for("app:v2-slow").unwrap();
        assert_eq!(
            (slow.behaviour, slow.start_delay),
            (Behaviour::SlowStart, Some(20.0))
        );
        assert_eq!(s.behaviour_for("app:v2"), Behaviour::Healthy);
    }

    #[test]
    fn header_shares_must_fit_in_the_traffic() {
        let s = Scenario::from_yaml(
            "traffic:\n  rps: 5000\n  headers:\n    - { name: x-canary, value: always, share: 0.1 }\n",
        )
        .unwrap();
        assert_eq!(s.traffic.rps, Some(5000.0));
        assert_eq!(s.traffic.headers[0].share, 0.1);
        let (_, msg) = Scenario::from_yaml(
            "traffic:\n  headers:\n    - { name: a, value: x, share: 0.6 }\n    - { name: b, value: y, share: 0.6 }\n",
        )
        .unwrap_err();
        assert!(msg.contains("more than 1"), "{msg}");
    }

    #[test]
    fn registration_reads_with_defaults_and_checks_its_prefix() {
        let s =
            Scenario::from_yaml("registration:\n  prefix: /services/\n  ghosts: true\n").unwrap();
        let r = s.registration.unwrap();
        assert_eq!((r.prefix(), r.ttl, r.ghosts), ("/services", 10, true));
        assert!(r.covers("web") && !r.covers(""));
        let (_, msg) = Scenario::from_yaml("registration: { prefix: services }\n").unwrap_err();
        assert!(msg.contains("absolute"), "{msg}");
        let (_, msg) = Scenario::from_yaml("registration: { prefix: /s, ttl: 0 }\n").unwrap_err();
        assert!(msg.contains("ttl"), "{msg}");
    }

    #[test]
    fn bad_yaml_names_the_line() {
        let (line, msg) =
            Scenario::from_yaml("rules:\n  - tag: x\n    behaviour: explode\n").unwrap_err();
        assert_eq!(line, 3, "{msg}");
        assert!(msg.contains("explode"), "{msg}");
    }
}
