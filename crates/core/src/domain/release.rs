use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::GroupKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Track {
    Stable,
    Canary,
}

impl Track {
    pub fn as_str(self) -> &'static str {
        match self {
            Track::Stable => "stable",
            Track::Canary => "canary",
        }
    }

    pub fn parse(s: &str) -> Option<Track> {
        match s {
            "stable" => Some(Track::Stable),
            "canary" => Some(Track::Canary),
            _ => None,
        }
    }
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Phase of a group's release (DESIGN.md §1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    #[default]
    Stable,
    Progressing,
    Paused,
    Promoted,
    Aborted,
    Degraded,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Stable => "Stable",
            Phase::Progressing => "Progressing",
            Phase::Paused => "Paused",
            Phase::Promoted => "Promoted",
            Phase::Aborted => "Aborted",
            Phase::Degraded => "Degraded",
        }
    }

    /// A release is in flight: a canary exists and takes (or may take) traffic.
    pub fn in_flight(self) -> bool {
        matches!(self, Phase::Progressing | Phase::Paused | Phase::Degraded)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An immutable, numbered snapshot of a group's parameters. Every deploy creates one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub number: u64,
    pub group: GroupKey,
    pub params: BTreeMap<String, serde_json::Value>,
    /// The rendered objects (one YAML/JSON document per object), so a rollback re-applies
    /// exactly what ran, even if the template changed since.
    #[serde(default)]
    pub rendered: Vec<serde_json::Value>,
    pub created: jiff::Timestamp,
    pub created_by: String,
}

/// A router's objects as read back from the cluster after an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterState {
    /// The canary's weight the router object holds; `None` when it could not be read
    /// (missing object, unreadable shape — said in `note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
    /// Header routes found, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_routes: Vec<String>,
    /// When it was read.
    pub at: jiff::Timestamp,
    /// What was wrong, in words, when the router did not hold what was asked (or, with
    /// `unread`, why it could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The object could not be read (the cluster did not answer): no verdict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unread: bool,
}

impl RouterState {
    /// The router was read and holds something else than was asked.
    pub fn mismatch(&self) -> bool {
        !self.unread && self.note.is_some()
    }
}

/// How the controller's analysis of a canary ended, as the judge said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnalysisVerdict {
    Pass,
    Marginal,
    Fail,
    Inconclusive,
}

impl AnalysisVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisVerdict::Pass => "Pass",
            AnalysisVerdict::Marginal => "Marginal",
            AnalysisVerdict::Fail => "Fail",
            AnalysisVerdict::Inconclusive => "Inconclusive",
        }
    }
}

/// The controller's last analysis of the release's canary: stored with the release in the
/// same commit as the action it led to, so every console and `status` tell the same verdict
/// whoever holds the lease. A deploy clears it (it belongs to the canary before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRecord {
    pub verdict: AnalysisVerdict,
    /// 0–100; absent when the analysis could not run at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// One line per check (or why the analysis could not run), as the judge wrote them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The analysis step (index in the strategy) and the canary revision it judged.
    pub step: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_revision: Option<u64>,
    /// What the controller did about it: step, pause or abort.
    pub action: String,
    pub at: jiff::Timestamp,
}

/// Current state of a group's release: `/flightdeck/releases/<cluster>/<ns>/<group>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub group: GroupKey,
    pub phase: Phase,
    pub stable_revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_revision: Option<u64>,
    /// Index of the current step in the group's strategy.
    #[serde(default)]
    pub step: usize,
    /// Canary traffic weight, 0–100.
    #[serde(default)]
    pub weight: u8,
    /// Generation of the desired state, bumped by every change…
    #[serde(default)]
    pub desired: u64,
    /// …and the generation last applied to the cluster; desired ≠ applied means re-apply.
    #[serde(default)]
    pub applied: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Revisions that were stable before the current one, oldest first: where a rollback
    /// without `--to-revision` goes (the last one), like `kubectl rollout undo`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stable_history: Vec<u64>,
    /// Header and cookie routes the strategy has set so far (promote and abort clear them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_routes: Vec<crate::domain::group::HeaderRoute>,
    /// What the router really held when last read back (mesh and ingress routers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<RouterState>,
    /// The controller's verdict on the current (or last) canary, once an analysis ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisRecord>,
    /// A cron group's CronJob is suspended (by `suspend`, until `resume`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Pods being drained: out of rotation, deleted (or let go by a rollout) when their
    /// time is up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drains: Vec<Drain>,
    pub updated_by: String,
    pub updated_at: jiff::Timestamp,
}

/// One pod's drain: its instance at `address` is out of rotation since the drain began;
/// at `until` the controller deletes the pod — or, in a rollout (`for_pod`), lets the new
/// pod `for_pod` count as available so the Deployment removes this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drain {
    pub pod: String,
    pub address: String,
    pub until: jiff::Timestamp,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_pod: Option<String>,
}

impl Release {
    /// The state of a group that has only ever run one revision.
    pub fn stable(group: GroupKey, revision: u64, by: &str) -> Self {
        Release {
            group,
            phase: Phase::Stable,
            stable_revision: revision,
            canary_revision: None,
            step: 0,
            weight: 0,
            desired: 1,
            applied: 1,
            message: None,
            stable_history: Vec::new(),
            header_routes: Vec::new(),
            router: None,
            analysis: None,
            suspended: false,
            drains: Vec::new(),
            updated_by: by.to_string(),
            updated_at: jiff::Timestamp::now(),
        }
    }
}
