use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a group lives: cluster (kubeconfig context), namespace and name. Also the key of
/// the group's release in the store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupKey {
    pub cluster: String,
    pub namespace: String,
    pub group: String,
}

impl GroupKey {
    pub fn new(
        cluster: impl Into<String>,
        namespace: impl Into<String>,
        group: impl Into<String>,
    ) -> Self {
        Self {
            cluster: cluster.into(),
            namespace: namespace.into(),
            group: group.into(),
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.cluster, self.namespace, self.group)
    }
}

/// `kind: InstanceGroup` — one way of running one service's code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceGroup {
    pub api_version: String,
    pub kind: String,
    pub metadata: GroupMetadata,
    pub spec: GroupSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMetadata {
    pub name: String,
    pub app: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSpec {
    pub cluster: String,
    pub namespace: String,
    pub template: String,
    /// image, tag, replicas, port, env, resources … — whatever the template uses.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub strategy: Strategy,
    /// `service` (default: Deployments, released by the strategy) or `cron` (the template
    /// renders a CronJob `<group>`; a deploy replaces its spec).
    #[serde(default, skip_serializing_if = "Workload::is_service")]
    pub kind: Workload,
    /// A cron group: what a deploy does while one of its Jobs runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSpec>,
    /// Promote, abort and rollback ask the user to type the group's name first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
    /// Who may deploy another image than the group's own, and which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_policy: Option<ImagePolicy>,
    /// Where a registrator records the group's instances (service discovery in etcd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<super::registration::Registration>,
}

/// What a group runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    #[default]
    Service,
    Cron,
}

impl Workload {
    pub fn is_service(&self) -> bool {
        *self == Workload::Service
    }
}

/// `concurrency:` of a cron group — a deploy while a Job runs: `forbid` (default) refuses
/// it, `wait` holds it until no Job runs, `replace` kills the running Jobs first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concurrency {
    #[default]
    Forbid,
    Wait,
    Replace,
}

impl Concurrency {
    pub fn as_str(self) -> &'static str {
        match self {
            Concurrency::Forbid => "forbid",
            Concurrency::Wait => "wait",
            Concurrency::Replace => "replace",
        }
    }
}

/// `imagePolicy: { allowed: ["registry.local/shop/*"], change: releaser }`: a deploy whose
/// `image` parameter differs from the group's needs the `change` role (deployer when not
/// said), and the image must match one of `allowed` (`*` matches any run of characters;
/// any image when the list is empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePolicy {
    #[serde(default)]
    pub allowed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<crate::authz::policy::Role>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    #[serde(default)]
    pub traffic: Traffic,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_abort: bool,
    /// `blueGreen: {…}`: the new version comes up beside the old one as a preview and
    /// takes all traffic at once on promote. Absent (and no `rolling`): a canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreen>,
    /// `rolling: {}`: one Deployment replaced pod by pod, no second track.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling: Option<Rolling>,
}

/// How a group's releases reach its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyKind {
    Canary,
    BlueGreen,
    Rolling,
}

impl StrategyKind {
    /// As the strategy is written and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyKind::Canary => "canary",
            StrategyKind::BlueGreen => "blueGreen",
            StrategyKind::Rolling => "rolling",
        }
    }
}

impl Strategy {
    pub fn kind(&self) -> StrategyKind {
        match (&self.blue_green, &self.rolling) {
            (Some(_), _) => StrategyKind::BlueGreen,
            (None, Some(_)) => StrategyKind::Rolling,
            (None, None) => StrategyKind::Canary,
        }
    }
}

/// `strategy.blueGreen`: the Deployment `<group>` is the active colour behind the
/// template's Service `<group>`; `<group>-canary` is the preview behind `<group>-preview`.
/// Steps (`pause`, `analysis`) are gates before the switch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlueGreen {
    /// The preview's pods (default: `replicas`, so the switch needs no scale-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_replicas: Option<u32>,
    /// How long the old version keeps running after the switch, so an abort can switch
    /// back at once (default `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay: Option<String>,
    /// Switch by itself once the gates are passed and the preview is ready.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_promote: bool,
}

/// The default of [`BlueGreen::scale_down_delay`].
pub const SCALE_DOWN_DELAY: &str = "30s";

impl BlueGreen {
    /// The scale-down delay as written (the default when not).
    pub fn delay_text(&self) -> &str {
        self.scale_down_delay.as_deref().unwrap_or(SCALE_DOWN_DELAY)
    }

    /// The scale-down delay, or why it cannot be read.
    pub fn delay(&self) -> Result<jiff::SignedDuration, String> {
        let text = self.delay_text();
        text.parse::<jiff::SignedDuration>()
            .ok()
            .filter(|d| !d.is_negative() && d.as_secs() <= 86_400)
            .ok_or_else(|| {
                format!(
                    "blueGreen.scaleDownDelay '{text}' is not a duration up to 24h (e.g. 30s, 5m)"
                )
            })
    }
}

/// `strategy.rolling`: the Deployment's own rolling update; flightdeck follows it, pauses
/// it (`spec.paused`) and rolls it back on abort.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rolling {}

/// `strategy.traffic`: who splits requests between the tracks, and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Traffic {
    #[serde(default)]
    pub router: TrafficRouter,
    /// With a mesh or ingress router: the canary's pods while it is live (default: the
    /// weight's share of `replicas`, at least 1). The `replicas` router ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_replicas: Option<u32>,
    /// The router object's name (VirtualService, HTTPRoute, or the stable Ingress);
    /// default: the group's name. An existing one is adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// `gateway-api`: the Gateway the HTTPRoute attaches to (`name` or `namespace/name`),
    /// when flightdeck creates the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The host the route serves, when flightdeck creates it (istio: default the Service;
    /// nginx: needed unless the stable Ingress exists; gateway-api: optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// Istio's networking API (VirtualService, DestinationRule).
pub const ISTIO_API: &str = "networking.istio.io/v1";
/// The Gateway API (HTTPRoute).
pub const GATEWAY_API: &str = "gateway.networking.k8s.io/v1";
/// The objects routers' weights live in, as (apiVersion, kind): what the engine writes and
/// reads back, and what every console watches for drift.
pub const ROUTER_KINDS: [(&str, &str); 3] = [
    (ISTIO_API, "VirtualService"),
    (GATEWAY_API, "HTTPRoute"),
    ("networking.k8s.io/v1", "Ingress"),
];

impl TrafficRouter {
    /// How the strategy and messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficRouter::Replicas => "replicas",
            TrafficRouter::Nginx => "nginx",
            TrafficRouter::Istio => "istio",
            TrafficRouter::GatewayApi => "gateway-api",
        }
    }

    /// A mesh or ingress splits requests by weight, whatever the pod counts.
    pub fn splits_by_weight(self) -> bool {
        self != TrafficRouter::Replicas
    }
}

/// `setHeaderRoute: { name: beta, match: [{ header: x-beta, exact: "1" }] }`: requests
/// that match go to the canary whatever the weight (A/B by header or cookie). An empty
/// `match` removes the route of that name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRoute {
    pub name: String,
    #[serde(default, rename = "match")]
    pub matches: Vec<RouteMatch>,
}

/// One condition of a header route: a header or a cookie, and how its value matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// How a [`RouteMatch`] compares the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    Prefix,
    Regex,
}

impl RouteMatch {
    /// (is it a cookie, its name, how it matches, the value), or why the match is wrong.
    pub fn parts(&self) -> Result<(bool, &str, MatchKind, &str), String> {
        let (cookie, name) = match (&self.header, &self.cookie) {
            (Some(h), None) => (false, h.as_str()),
            (None, Some(c)) => (true, c.as_str()),
            _ => return Err("a match names exactly one of header or cookie".into()),
        };
        if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!(
                "a match's header or cookie name '{name}' is not usable"
            ));
        }
        let (kind, value) = match (&self.exact, &self.prefix, &self.regex) {
            (Some(v), None, None) => (MatchKind::Exact, v.as_str()),
            (None, Some(v), None) => (MatchKind::Prefix, v.as_str()),
            (None, None, Some(v)) => (MatchKind::Regex, v.as_str()),
            _ => {
                return Err(format!(
                    "the match on {name} has exactly one of exact, prefix, regex"
                ));
            }
        };
        if cookie && kind == MatchKind::Prefix {
            return Err(format!(
                "the cookie {name} matches by exact or regex, not prefix"
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(format!(
                "the match on {name} has a control character in its value"
            ));
        }
        if kind == MatchKind::Regex {
            regex::Regex::new(value).map_err(|e| format!("the match on {name}: {e}"))?;
        }
        Ok((cookie, name, kind, value))
    }
}

impl HeaderRoute {
    /// `headerRoute beta: header x-beta = "1"`, or `remove headerRoute beta`.
    pub fn describe(&self) -> String {
        if self.matches.is_empty() {
            return format!("remove headerRoute {}", self.name);
        }
        let conds: Vec<String> = self
            .matches
            .iter()
            .map(|m| match m.parts() {
                Ok((cookie, name, kind, value)) => {
                    let what = if cookie { "cookie" } else { "header" };
                    let op = match kind {
                        MatchKind::Exact => "=",
                        MatchKind::Prefix => "starts with",
                        MatchKind::Regex => "~",
                    };
                    format!("{what} {name} {op} {value:?}")
                }
                Err(e) => e,
            })
            .collect();
        format!("headerRoute {}: {}", self.name, conds.join(" and "))
    }

    /// The route's name and matches are usable by every router that supports routes.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(format!(
                "setHeaderRoute name '{}' must be letters, digits and '-'",
                self.name
            ));
        }
        for m in &self.matches {
            m.parts()?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrafficRouter {
    #[default]
    Replicas,
    Nginx,
    Istio,
    GatewayApi,
}

/// One step of a release strategy, written as a one-key map in YAML (`- setWeight: 5`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StepRepr", into = "StepRepr")]
pub enum Step {
    SetWeight(u8),
    Pause(PauseStep),
    Analysis(AnalysisStep),
    SetHeaderRoute(HeaderRoute),
}

/// The YAML shape of a step: exactly one of the keys. (YAML libraries write enums as
/// tags; people write one-key maps, as Argo Rollouts does.)
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StepRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    set_weight: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pause: Option<PauseStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    analysis: Option<AnalysisStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    set_header_route: Option<HeaderRoute>,
}

impl TryFrom<StepRepr> for Step {
    type Error = String;

    fn try_from(r: StepRepr) -> Result<Self, String> {
        match (r.set_weight, r.pause, r.analysis, r.set_header_route) {
            (Some(w), None, None, None) if w <= 100 => Ok(Step::SetWeight(w)),
            (Some(w), None, None, None) => Err(format!("setWeight {w} is out of range 0-100")),
            (None, Some(p), None, None) => Ok(Step::Pause(p)),
            (None, None, Some(a), None) => Ok(Step::Analysis(a)),
            (None, None, None, Some(h)) => {
                h.check()?;
                Ok(Step::SetHeaderRoute(h))
            }
            _ => Err(
                "a step has exactly one of setWeight, pause, analysis, setHeaderRoute".to_string(),
            ),
        }
    }
}

impl From<Step> for StepRepr {
    fn from(s: Step) -> Self {
        let mut r = StepRepr {
            set_weight: None,
            pause: None,
            analysis: None,
            set_header_route: None,
        };
        match s {
            Step::SetWeight(w) => r.set_weight = Some(w),
            Step::Pause(p) => r.pause = Some(p),
            Step::Analysis(a) => r.analysis = Some(a),
            Step::SetHeaderRoute(h) => r.set_header_route = Some(h),
        }
        r
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PauseStep {
    /// e.g. `5m`; none means the release waits for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisStep {
    pub interval: String,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthSpec {
    pub source: String,
    #[serde(default)]
    pub metrics: Vec<serde_json::Value>,
}

impl InstanceGroup {
    pub fn key(&self) -> GroupKey {
        GroupKey::new(
            &self.spec.cluster,
            &self.spec.namespace,
            &self.metadata.name,
        )
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn app(&self) -> &str {
        &self.metadata.app
    }

    /// The `tag` parameter, which is what people call "the version" of a group.
    pub fn tag(&self) -> Option<&str> {
        self.spec.params.get("tag").and_then(|v| v.as_str())
    }

    pub fn replicas(&self) -> u32 {
        self.spec
            .params
            .get("replicas")
            .and_then(|v| v.as_u64())
            .unwrap_or(1) as u32
    }

    /// Name of the stable Deployment.
    pub fn stable_deployment(&self) -> String {
        self.metadata.name.clone()
    }

    /// Name of the canary Deployment.
    pub fn canary_deployment(&self) -> String {
        format!("{}-canary", self.metadata.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_design_example() {
        let yaml = r#"
apiVersion: flightdeck/v1
kind: InstanceGroup
metadata: { name: user-info-grpc, app: user-info }
spec:
  cluster: prod-hz
  namespace: user
  template: grpc-service
  params: { image: registry.local/go/user-info, tag: master-3f2a1c, replicas: 10, port: 9000 }
  strategy:
    traffic: { router: replicas }
    steps:
      - setWeight: 5
      - pause: {}
      - setWeight: 25
      - pause: { duration: 5m }
      - analysis: { interval: 30s, count: 6 }
  health:
    source: pod-metrics
    metrics:
      - { name: success-rate, min: 0.99 }
"#;
        let g: InstanceGroup = serde_norway::from_str(yaml).unwrap();
        assert_eq!(g.key().to_string(), "prod-hz/user/user-info-grpc");
        assert_eq!(g.tag(), Some("master-3f2a1c"));
        assert_eq!(g.replicas(), 10);
        assert_eq!(g.spec.strategy.steps[0], Step::SetWeight(5));
        assert_eq!(
            g.spec.strategy.steps[1],
            Step::Pause(PauseStep { duration: None })
        );
        assert_eq!(g.canary_deployment(), "user-info-grpc-canary");
        let back: InstanceGroup =
            serde_norway::from_str(&serde_norway::to_string(&g).unwrap()).unwrap();
        assert_eq!(back, g);
    }

    #[test]
    fn a_step_with_two_keys_or_a_weight_over_100_is_refused() {
        let two: Result<Vec<Step>, _> = serde_norway::from_str("- { setWeight: 5, pause: {} }");
        assert!(two.unwrap_err().to_string().contains("exactly one"));
        let big: Result<Vec<Step>, _> = serde_norway::from_str("- setWeight: 150");
        assert!(big.unwrap_err().to_string().contains("out of range"));
    }
}
