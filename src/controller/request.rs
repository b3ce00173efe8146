//! The request path's wire format (DESIGN.md §2–§3): what a console or the command line
//! writes under `requests/<user>/<id>`, and what the controller answers under
//! `responses/<user>/<id>`. The user in the key is the identity: etcd lets only that user
//! write there, so nothing in the body is trusted to say who asks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::authz::policy::Policy;
use crate::domain::{GroupKey, InstanceGroup, Release, Template};
use crate::engine::Action;

/// How long an unanswered request stays in the store (its etcd lease).
pub const REQUEST_TTL: Duration = Duration::from_secs(30);
/// How long an answer stays for its asker to read before the controller sweeps it.
pub const ANSWER_KEEP: Duration = Duration::from_secs(300);
/// The most a request body may hold; larger ones are refused unread.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

pub fn request_key(user: &str, id: &str) -> String {
    format!("requests/{user}/{id}")
}

pub fn response_key(user: &str, id: &str) -> String {
    format!("responses/{user}/{id}")
}

/// `requests/<user>/<id>` → (user, id); `None` for anything else (a deeper key, an
/// empty part), which the controller ignores.
pub fn parse_request_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("requests/")?;
    let (user, id) = rest.split_once('/')?;
    (!user.is_empty() && !id.is_empty() && !id.contains('/')).then_some((user, id))
}

/// What the asker's machine says about itself: shown in the audit log, never used to
/// decide anything (a user can write what they like here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    pub uid: Option<u32>,
    pub host: Option<String>,
    pub ssh: Option<String>,
    pub pid: Option<u32>,
}

impl ClientInfo {
    pub fn of_this_process() -> ClientInfo {
        let os = crate::authz::Identity::os();
        ClientInfo {
            uid: os.uid,
            host: Some(os.host),
            ssh: os.ssh,
            pid: Some(std::process::id()),
        }
    }
}

// The record lives beside the connection facts it is compared with, so the release
// engine (in flightdeck-core) reads it without knowing about requests.
pub use crate::kube::connect::{ClusterRecord, Mismatch};

/// What is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Ask {
    /// A release action on one group.
    Act {
        group: GroupKey,
        action: Action,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Write these groups (a file is one change: all are checked before any is written).
    ApplyGroups {
        groups: Vec<InstanceGroup>,
        #[serde(default)]
        file: Option<String>,
    },
    ApplyTemplates {
        templates: Vec<Template>,
        #[serde(default)]
        file: Option<String>,
    },
    ApplyPolicy {
        policy: Policy,
        #[serde(default)]
        file: Option<String>,
    },
    AddCluster {
        cluster: ClusterRecord,
    },
    /// Adopt the Deployments and CronJobs that run in a namespace (those a label
    /// selector picks): the controller reads them itself, so what a first revision
    /// records is the cluster's word, not the asker's.
    Import {
        cluster: String,
        namespace: String,
        #[serde(default)]
        selector: Option<String>,
    },
    /// An action the console refused before asking (a dimmed key): recorded as refused.
    Refused {
        group: GroupKey,
        verb: crate::authz::Verb,
        reason: String,
    },
}

impl Ask {
    /// The action's name in the audit log.
    pub fn name(&self) -> &str {
        match self {
            Ask::Act { action, .. } => action.name(),
            Ask::ApplyGroups { .. } => "groups.apply",
            Ask::ApplyTemplates { .. } => "templates.apply",
            Ask::ApplyPolicy { .. } => "policy.apply",
            Ask::AddCluster { .. } => "clusters.add",
            Ask::Import { .. } => "groups.import",
            Ask::Refused { verb, .. } => verb.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub ask: Ask,
    #[serde(default)]
    pub client: ClientInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerState {
    /// Taken and committed; the cluster is being changed. Written in the same
    /// transaction as the first audit entry, so a request is acted on once.
    Accepted,
    /// Finished: `exit` and `message` say how.
    Done,
}

/// The controller's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub state: AnswerState,
    /// The command line's exit code (DESIGN.md §6): 0 done, 1 refused, 2 bad input, 3
    /// store or cluster unreachable.
    pub exit: u8,
    /// One line: the summary, or why not.
    pub message: String,
    /// Further lines for the asker (one per group written, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// The release after an action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Release>,
    /// The controller instance that answered.
    pub via: String,
    pub time: String,
}

impl Answer {
    pub fn accepted(via: &str) -> Answer {
        Answer {
            state: AnswerState::Accepted,
            exit: 0,
            message: "accepted".into(),
            lines: Vec::new(),
            release: None,
            via: via.to_string(),
            time: crate::domain::audit::format_time(jiff::Timestamp::now()),
        }
    }

    pub fn done(via: &str, exit: u8, message: impl Into<String>) -> Answer {
        Answer {
            state: AnswerState::Done,
            exit,
            message: message.into(),
            ..Answer::accepted(via)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_name_exactly_one_user_and_id() {
        assert_eq!(
            parse_request_key("requests/alice/01J"),
            Some(("alice", "01J"))
        );
        assert_eq!(parse_request_key("requests/alice/01J/x"), None);
        assert_eq!(parse_request_key("requests//01J"), None);
        assert_eq!(parse_request_key("requests/alice/"), None);
        assert_eq!(parse_request_key("responses/alice/01J"), None);
    }

    #[test]
    fn asks_round_trip_as_json() {
        let ask = Ask::Act {
            group: GroupKey::new("sim", "shop", "web"),
            action: Action::Weight(50),
            reason: Some("why".into()),
        };
        let req = Request {
            ask,
            client: ClientInfo::default(),
        };
        let text = serde_json::to_string(&req).unwrap();
        assert!(text.contains(r#""kind":"act""#), "{text}");
        assert!(
            text.contains(r#""action":{"name":"weight","args":50}"#),
            "{text}"
        );
        let back: Request = serde_json::from_str(&text).unwrap();
        assert_eq!(back, req);
    }
}
