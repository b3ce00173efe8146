//! What `templates apply`, `groups apply` and `policy apply` share: who is acting, whether
//! the store's policy lets them edit, and the audit entry of every attempt — written or
//! denied — so edits of the estate are as visible as releases.

use std::sync::Arc;

use serde_json::Value;

use super::context::store_error;
use super::{CliError, Exit, Global};
use crate::authz::Identity;
use crate::authz::policy::{Decision, Policy, Subject, Verb};
use crate::domain::InstanceGroup;
use crate::domain::audit::{AuditDraft, AuditTarget, Outcome};
use crate::engine::release_engine::Actor;
use crate::store::Store;

/// The store and the person using it, for the commands that edit the estate.
pub struct Editor {
    pub store: Arc<dyn Store>,
    pub actor: Actor,
    /// `None` when the store holds no policy yet.
    pub policy: Option<Policy>,
}

impl Editor {
    pub async fn connect(global: &Global) -> Result<Editor, CliError> {
        let store = global.connect_store().await?;
        let actor = Actor::resolve(store.as_ref(), &Identity::os());
        let policy = match store.get_policy().await.map_err(store_error)? {
            Some(v) => Some(serde_json::from_value::<Policy>(v.value).map_err(|e| {
                CliError::new(
                    Exit::Refused,
                    format!("the store's policy is unreadable ({e}); re-apply it with `flightdeck policy apply -f FILE`"),
                )
            })?),
            None => None,
        };
        Ok(Editor {
            store,
            actor,
            policy,
        })
    }

    fn subject(&self) -> Subject<'_> {
        Subject {
            user: &self.actor.user.name,
            groups: &self.actor.groups,
        }
    }

    /// May the actor edit what belongs to no group (templates, the policy)?
    pub fn decide_global(&self, verb: Verb) -> Decision {
        match &self.policy {
            Some(p) => p.decide_global(&self.subject(), verb),
            None => no_policy(),
        }
    }

    /// May the actor edit `group` where it lives?
    pub fn decide_group(&self, group: &InstanceGroup) -> Decision {
        match &self.policy {
            Some(p) => p.decide(&self.subject(), Verb::EditGroups, &group.key(), group.app()),
            None => no_policy(),
        }
    }

    /// Appends one audit entry for this actor.
    pub async fn audit(
        &self,
        action: &str,
        target: AuditTarget,
        request: Value,
        outcome: Outcome,
        reason: String,
    ) -> Result<(), CliError> {
        let mut draft = AuditDraft::new(self.actor.user.clone(), action, target);
        draft.request = request;
        draft.outcome = outcome;
        draft.reason = reason;
        self.store.append_audit(draft).await.map_err(store_error)?;
        Ok(())
    }

    /// Audits a denial and returns the refusal the command exits with.
    pub async fn deny(
        &self,
        action: &str,
        target: AuditTarget,
        request: Value,
        reason: String,
    ) -> CliError {
        match self
            .audit(action, target, request, Outcome::Denied, reason.clone())
            .await
        {
            Ok(()) => CliError::new(Exit::Refused, reason),
            Err(e) => e,
        }
    }
}

fn no_policy() -> Decision {
    Decision::Deny {
        reason:
            "the store has no policy yet: apply one first with `flightdeck policy apply -f FILE`"
                .into(),
    }
}
