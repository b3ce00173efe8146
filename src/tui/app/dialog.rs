//! The dialog a release action opens: its fields, and turning what was typed into an
//! [`engine::Action`] or a one-line error about the field that is wrong. Pure: the keys in
//! `keys.rs` edit it and the view draws it.

use std::collections::BTreeMap;

use serde_json::Value;
use tui_input::Input;

use crate::authz::Verb;
use crate::domain::{GroupKey, InstanceGroup, Phase, Release, Track, TrafficRouter};
use crate::engine::{self, parse_weight};

/// Longest tag a registry takes (the OCI distribution spec's limit).
const TAG_MAX: usize = 128;
const NUDGE: u8 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Tag,
    Params,
    Weight,
    Revision,
    Track,
    Reason,
    /// A protected group's name, typed to confirm.
    ConfirmName,
}

impl FieldKind {
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Tag => "tag",
            FieldKind::Params => "params",
            FieldKind::Weight => "weight %",
            FieldKind::Revision => "revision",
            FieldKind::Track => "track",
            FieldKind::Reason => "reason",
            FieldKind::ConfirmName => "group name",
        }
    }

    /// Shown greyed in an empty field.
    pub fn placeholder(self) -> &'static str {
        match self {
            FieldKind::Tag => "required, e.g. 2.8.0",
            FieldKind::Params => "optional key=value …",
            FieldKind::Weight => "0–100",
            FieldKind::Revision => "empty = the previous stable revision",
            FieldKind::Track => "stable or canary",
            FieldKind::Reason => "optional, one line for the audit log",
            FieldKind::ConfirmName => "protected: type the group's name",
        }
    }
}

#[derive(Debug)]
pub struct Field {
    pub kind: FieldKind,
    pub input: Input,
}

/// What the weight dialog needs to show the real granularity.
#[derive(Debug, Clone, Copy)]
pub struct WeightFacts {
    pub replicas: u32,
    pub router: TrafficRouter,
    pub current: u8,
}

#[derive(Debug)]
pub struct Dialog {
    pub key: GroupKey,
    pub verb: Verb,
    /// What the action will do, in one line.
    pub about: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Why the last Enter did not go through.
    pub error: Option<String>,
    pub weight: WeightFacts,
    /// The revision chosen before the dialog opened (a rollback from the history tab).
    pub target: Option<u64>,
    /// The pod a drain takes out of rotation.
    pub pod: Option<String>,
}

impl Dialog {
    pub fn new(group: &InstanceGroup, release: Option<&Release>, verb: Verb) -> Dialog {
        use FieldKind as F;
        let current = release.map(|r| r.weight).unwrap_or(0);
        let mut kinds = match verb {
            Verb::Deploy => vec![F::Tag, F::Params, F::Reason],
            Verb::Weight => vec![F::Weight, F::Reason],
            Verb::Rollback => vec![F::Revision, F::Reason],
            Verb::Restart => vec![F::Track, F::Reason],
            _ => vec![F::Reason],
        };
        if group.spec.protected && matches!(verb, Verb::Promote | Verb::Abort | Verb::Rollback) {
            kinds.push(F::ConfirmName);
        }
        let fields = kinds
            .into_iter()
            .map(|kind| Field {
                kind,
                input: Input::new(match kind {
                    F::Track => "stable".to_string(),
                    _ => String::new(),
                }),
            })
            .collect();
        Dialog {
            key: group.key(),
            verb,
            about: about(group, release, verb),
            fields,
            focus: 0,
            error: None,
            weight: WeightFacts {
                replicas: group.replicas(),
                router: group.spec.strategy.traffic.router,
                current,
            },
            target: None,
            pod: None,
        }
    }

    /// A drain of `pod` (registered at `address`, if it is): names the pod, the address
    /// and what the group's registration does to it, and how long before the pod goes.
    pub fn drain(
        group: &InstanceGroup,
        release: Option<&Release>,
        pod: &str,
        address: Option<&str>,
    ) -> Dialog {
        let mut d = Dialog::new(group, release, Verb::Drain);
        let reg = group.spec.registration.as_ref();
        let drain_for = reg.map_or(crate::domain::registration::DRAIN_FOR, |r| {
            r.drain_for_text()
        });
        let what = match reg.map(|r| r.drain) {
            Some(crate::domain::registration::DrainMode::Remove) => "remove its registration",
            _ => "set its weight to 0",
        };
        let at = match address {
            Some(a) => format!("{pod} at {a}"),
            None => format!("{pod} (no address yet)"),
        };
        d.about = format!("{what} for {at}; after drainFor {drain_for} delete the pod");
        d.pod = Some(pod.to_string());
        d
    }

    /// A rollback aimed at revision `n` (chosen in the history tab, with its `tag`): the
    /// revision field holds it, the line above says what it brings back, and the focus
    /// waits on the next field. Confirming goes the way of any rollback dialog.
    pub fn aim_at(&mut self, release: Option<&Release>, n: u64, tag: Option<&str>) {
        use FieldKind as F;
        if let Some(i) = self.fields.iter().position(|f| f.kind == F::Revision) {
            self.fields[i].input = Input::new(format!("r{n}"));
            self.focus = (i + 1) % self.fields.len();
        }
        let what = match tag {
            Some(t) => format!("r{n} (tag {t})"),
            None => format!("r{n}"),
        };
        let stable = release.map(|r| r.stable_revision).unwrap_or(0);
        let canary = release
            .filter(|r| r.phase.in_flight())
            .and_then(|r| r.canary_revision);
        self.about = match canary {
            _ if n == stable => format!("{what} is the stable revision already"),
            Some(c) => format!("abort r{c} and make {what} stable again (now r{stable})"),
            None => format!("make {what} stable again (now r{stable})"),
        };
        self.target = Some(n);
    }

    pub fn title(&self) -> String {
        if let Some(pod) = &self.pod {
            return format!("drain {pod} of {}", self.key.group);
        }
        let word = match self.verb {
            Verb::Weight => "set weight",
            Verb::Rollback => "roll back",
            v => v.phrase(),
        };
        match self.target {
            Some(n) => format!("{word} {} to r{n}", self.key.group),
            None => format!("{word} {}", self.key.group),
        }
    }

    pub fn focused(&self) -> Option<&Field> {
        self.fields.get(self.focus)
    }

    pub fn focused_mut(&mut self) -> Option<&mut Field> {
        self.fields.get_mut(self.focus)
    }

    pub fn next_field(&mut self) {
        self.focus = (self.focus + 1) % self.fields.len().max(1);
    }

    fn value(&self, kind: FieldKind) -> &str {
        self.fields
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.input.value())
            .unwrap_or("")
    }

    /// ±5% in the weight field, from what is typed or else from the current weight.
    /// `false` when the focused field is not the weight (the key then types as usual).
    pub fn nudge(&mut self, up: bool) -> bool {
        let current = self.weight.current;
        let Some(field) = self.focused_mut() else {
            return false;
        };
        if field.kind != FieldKind::Weight {
            return false;
        }
        let from = parse_weight(field.input.value()).unwrap_or(current);
        let to = if up {
            from.saturating_add(NUDGE).min(100)
        } else {
            from.saturating_sub(NUDGE)
        };
        field.input = Input::new(to.to_string());
        self.error = None;
        true
    }

    /// The granularity line of the weight dialog for what is typed now, e.g.
    /// `10 pods: 50% → 5 canary / 5 stable`; `None` when nothing readable is typed.
    pub fn split_line(&self) -> Option<String> {
        let w = parse_weight(self.value(FieldKind::Weight)).ok()?;
        let WeightFacts {
            replicas, router, ..
        } = self.weight;
        if router != TrafficRouter::Replicas {
            return Some(format!(
                "{w}% of requests to the canary, exact through {}",
                router.as_str()
            ));
        }
        let (stable, canary) = engine::router::replica_split(replicas, w);
        let pods = if replicas == 1 { "pod" } else { "pods" };
        let mut line = format!("{replicas} {pods}: {w}% → {canary} canary / {stable} stable");
        let effective = engine::router::effective_weight(replicas, w);
        if effective != w {
            line.push_str(&format!(" (effective {effective}%)"));
        }
        Some(line)
    }

    /// The action and reason to run, or the field that is wrong (focused) and why.
    pub fn submit(&mut self, group_name: &str) -> Option<(engine::Action, Option<String>)> {
        match self.build(group_name) {
            Ok(done) => Some(done),
            Err((kind, why)) => {
                if let Some(i) = self.fields.iter().position(|f| f.kind == kind) {
                    self.focus = i;
                }
                self.error = Some(why);
                None
            }
        }
    }

    fn build(
        &self,
        group_name: &str,
    ) -> Result<(engine::Action, Option<String>), (FieldKind, String)> {
        use FieldKind as F;
        if self.fields.iter().any(|f| f.kind == F::ConfirmName)
            && self.value(F::ConfirmName) != group_name
        {
            return Err((
                F::ConfirmName,
                format!(
                    "{group_name} is protected: type its name exactly to {}",
                    self.verb.phrase()
                ),
            ));
        }
        let action = match self.verb {
            Verb::Deploy => engine::Action::Deploy {
                tag: check_tag(self.value(F::Tag)).map_err(|e| (F::Tag, e))?,
                params: parse_params(self.value(F::Params)).map_err(|e| (F::Params, e))?,
            },
            Verb::Weight => engine::Action::Weight(
                parse_weight(self.value(F::Weight)).map_err(|e| (F::Weight, e.to_string()))?,
            ),
            Verb::Rollback => engine::Action::Rollback {
                to_revision: parse_revision(self.value(F::Revision))
                    .map_err(|e| (F::Revision, e))?,
            },
            Verb::Restart => {
                let t = self.value(F::Track).trim();
                engine::Action::Restart {
                    track: Track::parse(t).ok_or_else(|| {
                        (
                            F::Track,
                            format!("track \"{t}\" is neither stable nor canary"),
                        )
                    })?,
                }
            }
            Verb::Step => engine::Action::Step,
            Verb::Pause => engine::Action::Pause,
            Verb::Resume => engine::Action::Resume,
            Verb::Promote => engine::Action::Promote,
            Verb::Abort => engine::Action::Abort,
            Verb::Suspend => engine::Action::Suspend,
            Verb::Trigger => engine::Action::Trigger,
            Verb::Kill => engine::Action::Kill { job: None },
            Verb::Drain if self.pod.is_some() => engine::Action::Drain {
                pod: self.pod.clone().unwrap_or_default(),
                for_pod: None,
            },
            other => {
                return Err((
                    F::Reason,
                    format!("{} is not a release action", other.phrase()),
                ));
            }
        };
        let reason = crate::model::sanitize::clean(self.value(F::Reason).trim());
        Ok((action, (!reason.is_empty()).then_some(reason)))
    }
}

/// One line about what the action will do, so nobody has to remember.
fn about(group: &InstanceGroup, release: Option<&Release>, verb: Verb) -> String {
    let phase = release.map(|r| r.phase).unwrap_or(Phase::Stable);
    let canary = release
        .and_then(|r| r.canary_revision)
        .map(|n| format!("r{n}"))
        .unwrap_or_else(|| "the canary".into());
    let stable = release.map(|r| r.stable_revision).unwrap_or(0);
    let name = group.name();
    let kind = group.spec.strategy.kind();
    let bg_stage = release.map(|r| crate::engine::strategy::Stage::of(group, r));
    use crate::domain::group::StrategyKind as K;
    use crate::engine::strategy::Stage;
    if group.spec.kind == crate::domain::group::Workload::Cron {
        let text = match verb {
            Verb::Deploy => Some(format!(
                "replace the CronJob's spec from its next run (a running Job: concurrency {})",
                crate::engine::cron::concurrency(group).as_str()
            )),
            Verb::Suspend => Some("no scheduled runs until resume; a running Job goes on".into()),
            Verb::Resume => Some("run on the schedule again".into()),
            Verb::Trigger => Some(format!("run {name}'s Job now, from the CronJob's template")),
            Verb::Kill => Some(format!(
                "stop every running Job of {name}, deleting its pods"
            )),
            Verb::Abort => Some("drop the deploy that waits for a running Job".into()),
            _ => None,
        };
        if let Some(text) = text {
            return text;
        }
    }
    match (kind, verb) {
        (K::BlueGreen, Verb::Promote) => {
            return match bg_stage {
                Some(Stage::Switched) => format!(
                    "replace the old r{stable} now: {name} rolls to {canary}, no more waiting"
                ),
                _ => format!(
                    "switch all traffic to the preview {canary} at once (r{stable} kept for the scale-down delay)"
                ),
            };
        }
        (K::BlueGreen, Verb::Abort) => {
            return format!("active Service back on r{stable} at once, preview {canary} to 0 pods");
        }
        (K::BlueGreen, Verb::Step) => {
            return match bg_stage {
                Some(Stage::Gate(_)) => "pass the current gate".into(),
                Some(Stage::Preview) => {
                    format!("switch all traffic to the preview {canary} at once")
                }
                _ => "go on to the next stage now".into(),
            };
        }
        (K::Rolling, Verb::Abort) => {
            return format!("{name} rolls back to r{stable} (its previous ReplicaSet)");
        }
        (K::Rolling, Verb::Pause) => {
            return format!("pause the Deployment {name} where its rollout is (spec.paused)");
        }
        (K::Rolling, Verb::Resume) => return format!("let the Deployment {name} roll on"),
        (K::Rolling, Verb::Step | Verb::Promote) => {
            return format!("mark {canary} stable once every pod of {name} runs it");
        }
        _ => {}
    }
    match verb {
        Verb::Deploy => match group.tag() {
            Some(t) => format!("start a release of a new tag (the group's tag is {t})"),
            None => "start a release of a new tag".into(),
        },
        Verb::Step => "skip the current step and run on to the next one that waits".into(),
        Verb::Weight => format!(
            "send this share of traffic to the canary now (now {}%)",
            release.map(|r| r.weight).unwrap_or(0)
        ),
        Verb::Pause => "hold the release where it is".into(),
        Verb::Resume => "continue the release from where it paused".into(),
        Verb::Promote => format!("{canary} becomes stable, the remaining steps are skipped"),
        Verb::Abort => format!("all traffic back to stable r{stable} at once, {canary} to 0 pods"),
        Verb::Rollback if phase.in_flight() => {
            format!("abort {canary} and make an older revision stable (now r{stable})")
        }
        Verb::Rollback => format!("make an older revision stable again (now r{stable})"),
        Verb::Restart => "rolling restart of one track's pods".into(),
        v => v.phrase().to_string(),
    }
}

/// A container image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn check_tag(text: &str) -> Result<String, String> {
    let tag = text.trim();
    if tag.is_empty() {
        return Err("the tag is required".into());
    }
    if tag.chars().any(char::is_whitespace) {
        return Err(format!("tag \"{tag}\" has a space; a tag is one word"));
    }
    let n = tag.chars().count();
    if n > TAG_MAX {
        return Err(format!("the tag is {n} characters long; at most {TAG_MAX}"));
    }
    if let Some(c) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "tag \"{tag}\" has '{c}'; tags use letters, digits, _ . and -"
        ));
    }
    if tag.starts_with(['.', '-']) {
        return Err(format!(
            "tag \"{tag}\" starts with '{}'; start with a letter, digit or _",
            &tag[..1]
        ));
    }
    Ok(tag.to_string())
}

/// `replicas=4 debug=true region=eu`: numbers and booleans as such, the rest as text.
pub fn parse_params(text: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut out = BTreeMap::new();
    for word in text.split_whitespace() {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!("\"{word}\" is not key=value"));
        };
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(format!("\"{k}\" is not a parameter name"));
        }
        if k == "tag" {
            return Err("the tag has its own field".into());
        }
        let value = if let Ok(n) = v.parse::<i64>() {
            Value::from(n)
        } else if let Ok(b) = v.parse::<bool>() {
            Value::from(b)
        } else {
            Value::from(v)
        };
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

/// Empty is the previous stable revision; `3` and `r3` are revision 3.
fn parse_revision(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.strip_prefix('r')
        .unwrap_or(t)
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| format!("revision \"{t}\" is not a revision number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_registry_rules() {
        assert_eq!(check_tag(" 2.8.0 ").unwrap(), "2.8.0");
        assert_eq!(check_tag("master-3f2a1c").unwrap(), "master-3f2a1c");
        assert!(check_tag("").unwrap_err().contains("required"));
        assert!(check_tag("a b").unwrap_err().contains("space"));
        assert!(check_tag("v1/x").unwrap_err().contains("'/'"));
        assert!(check_tag("-x").unwrap_err().contains("starts with"));
        assert!(
            check_tag(&"a".repeat(129))
                .unwrap_err()
                .contains("at most 128")
        );
        assert!(check_tag(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn params_are_typed() {
        let p = parse_params("replicas=4 debug=true region=eu").unwrap();
        assert_eq!(p["replicas"], Value::from(4));
        assert_eq!(p["debug"], Value::from(true));
        assert_eq!(p["region"], Value::from("eu"));
        assert!(parse_params("oops").unwrap_err().contains("key=value"));
        assert!(parse_params("tag=x").is_err());
    }

    #[test]
    fn revisions_read_with_or_without_r() {
        assert_eq!(parse_revision(""), Ok(None));
        assert_eq!(parse_revision("r3"), Ok(Some(3)));
        assert_eq!(parse_revision("3"), Ok(Some(3)));
        assert!(parse_revision("x").is_err());
        assert!(parse_revision("0").is_err());
    }
}
