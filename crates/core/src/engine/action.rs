//! What a person (or the agent) asks the release engine to do (DESIGN.md §1 "Actions").
//! The same values come from the console's keys and dialogs, the command line and the agent.

use std::collections::BTreeMap;

use serde_json::json;

use crate::authz::Verb;
use crate::domain::Track;

/// On the wire (a request to the controller) as `{"name": "weight", "args": 50}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", content = "args", rename_all = "kebab-case")]
pub enum Action {
    /// Start a release of a new tag, with parameters overriding the group's for this revision.
    Deploy {
        tag: String,
        params: BTreeMap<String, serde_json::Value>,
    },
    /// Advance past the current step (a pause or an analysis) to the next one that waits.
    Step,
    /// Set canary traffic to this percentage now, without moving through the steps.
    Weight(u8),
    Pause,
    Resume,
    /// Skip the remaining steps: the canary becomes stable.
    Promote,
    /// All traffic back to stable at once, canary scaled to 0.
    Abort,
    /// Make an older revision stable again: the previous stable one, or the one named.
    Rollback {
        to_revision: Option<u64>,
    },
    /// Rolling restart of one track's pods.
    Restart {
        track: Track,
    },
    /// A cron group: no more scheduled runs until `resume`.
    Suspend,
    /// A cron group: run its Job now, as `kubectl create job --from=cronjob/…`.
    Trigger,
    /// A cron group: stop a running Job (the one named, or every running one).
    Kill {
        job: Option<String>,
    },
    /// A group with a registration: take the pod's instance out of rotation (weight 0 or
    /// removed, by the group's `registration.drain`), wait `drainFor`, delete the pod.
    Drain {
        pod: String,
        /// The controller's own, in a rollout: the new pod that waits for this drain.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_pod: Option<String>,
    },
    /// The controller's own: a drain's time is up — delete the pod (or, in a rollout, let
    /// the new pod waiting on it count as available) and forget the drain.
    FinishDrain {
        pod: String,
    },
}

impl Action {
    /// The action's name in the audit log and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Deploy { .. } => "deploy",
            Action::Step => "step",
            Action::Weight(_) => "weight",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Promote => "promote",
            Action::Abort => "abort",
            Action::Rollback { .. } => "rollback",
            Action::Restart { .. } => "restart",
            Action::Suspend => "suspend",
            Action::Trigger => "trigger",
            Action::Kill { .. } => "kill",
            Action::Drain { .. } => "drain",
            Action::FinishDrain { .. } => "drain-done",
        }
    }

    /// What the policy checks before the action may run.
    pub fn verb(&self) -> Verb {
        match self {
            Action::Deploy { .. } => Verb::Deploy,
            Action::Step => Verb::Step,
            Action::Weight(_) => Verb::Weight,
            Action::Pause => Verb::Pause,
            Action::Resume => Verb::Resume,
            Action::Promote => Verb::Promote,
            Action::Abort => Verb::Abort,
            Action::Rollback { .. } => Verb::Rollback,
            Action::Restart { .. } => Verb::Restart,
            Action::Suspend => Verb::Suspend,
            Action::Trigger => Verb::Trigger,
            Action::Kill { .. } => Verb::Kill,
            Action::Drain { .. } | Action::FinishDrain { .. } => Verb::Drain,
        }
    }

    /// The audit entry's `request`: the action's arguments, `{}` when it has none.
    pub fn request_json(&self) -> serde_json::Value {
        match self {
            Action::Deploy { tag, params } if params.is_empty() => json!({ "tag": tag }),
            Action::Deploy { tag, params } => json!({ "tag": tag, "params": params }),
            Action::Weight(w) => json!({ "weight": w }),
            Action::Rollback {
                to_revision: Some(n),
            } => json!({ "toRevision": n }),
            Action::Restart { track } => json!({ "track": track.as_str() }),
            Action::Kill { job: Some(j) } => json!({ "job": j }),
            Action::Drain {
                pod,
                for_pod: Some(new),
            } => json!({ "pod": pod, "forPod": new }),
            Action::Drain { pod, for_pod: None } | Action::FinishDrain { pod } => {
                json!({ "pod": pod })
            }
            Action::Kill { job: None }
            | Action::Suspend
            | Action::Trigger
            | Action::Step
            | Action::Pause
            | Action::Resume
            | Action::Promote
            | Action::Abort
            | Action::Rollback { to_revision: None } => json!({}),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The text typed as a weight is not a whole percentage; the message says what was typed.
    #[error("{0}")]
    Weight(String),
}

/// Reads a weight as typed in the weight dialog or on the command line: a whole number
/// from 0 to 100, with an optional `%` and surrounding spaces.
pub fn parse_weight(s: &str) -> Result<u8, ActionError> {
    let t = s.trim();
    let digits = t.strip_suffix('%').unwrap_or(t).trim();
    if digits.is_empty() {
        return Err(ActionError::Weight(
            "weight is empty: type a number from 0 to 100".into(),
        ));
    }
    match digits.parse::<i64>() {
        Ok(n) if (0..=100).contains(&n) => Ok(n as u8),
        Ok(n) if n < 0 => Err(ActionError::Weight(format!(
            "weight {n} is below 0: type a number from 0 to 100"
        ))),
        Ok(n) => Err(ActionError::Weight(format!(
            "weight {n} is above 100: type a number from 0 to 100"
        ))),
        // Too long for i64 is also just "not a percentage".
        Err(_) if digits.bytes().all(|b| b.is_ascii_digit()) => Err(ActionError::Weight(format!(
            "weight {digits} is above 100: type a number from 0 to 100"
        ))),
        Err(_) => Err(ActionError::Weight(format!(
            "weight {:?} is not a whole number: type a number from 0 to 100",
            t
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_from_what_people_type() {
        assert_eq!(parse_weight("50"), Ok(50));
        assert_eq!(parse_weight(" 0 "), Ok(0));
        assert_eq!(parse_weight("100"), Ok(100));
        assert_eq!(parse_weight("25%"), Ok(25));
    }

    #[test]
    fn bad_weights_are_refused_with_one_line() {
        let err = |s: &str| parse_weight(s).unwrap_err().to_string();
        assert_eq!(
            err("150"),
            "weight 150 is above 100: type a number from 0 to 100"
        );
        assert_eq!(
            err("-1"),
            "weight -1 is below 0: type a number from 0 to 100"
        );
        assert_eq!(
            err("abc"),
            "weight \"abc\" is not a whole number: type a number from 0 to 100"
        );
        assert_eq!(err(""), "weight is empty: type a number from 0 to 100");
        assert_eq!(err("  %"), "weight is empty: type a number from 0 to 100");
        assert!(err("99999999999999999999999").contains("above 100"));
        assert!(err("12.5").contains("not a whole number"));
        assert!(err("5\n0").contains("not a whole number"));
        for s in ["150", "-1", "abc", "", "5\n0"] {
            assert!(!err(s).contains('\n'), "{s:?}");
        }
    }

    #[test]
    fn names_verbs_and_requests_match_the_audit_log() {
        let deploy = Action::Deploy {
            tag: "2.8.0".into(),
            params: BTreeMap::new(),
        };
        assert_eq!(deploy.name(), "deploy");
        assert_eq!(deploy.verb(), Verb::Deploy);
        assert_eq!(deploy.request_json(), json!({"tag": "2.8.0"}));
        assert_eq!(Action::Weight(50).request_json(), json!({"weight": 50}));
        assert_eq!(Action::Weight(50).verb(), Verb::Weight);
        assert_eq!(
            Action::Rollback {
                to_revision: Some(3)
            }
            .request_json(),
            json!({"toRevision": 3})
        );
        assert_eq!(
            Action::Rollback { to_revision: None }.verb(),
            Verb::Rollback
        );
        assert_eq!(
            Action::Restart {
                track: Track::Canary
            }
            .request_json(),
            json!({"track": "canary"})
        );
        assert_eq!(Action::Promote.verb(), Verb::Promote);
        assert_eq!(Action::Step.request_json(), json!({}));
    }
}
