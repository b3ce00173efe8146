//! May this user do this release action to this group now? The console asks before it
//! opens a dialog, so that what cannot work is greyed out and says why in one line. The
//! engine asks again when the action runs; this is for the eyes, not the wall.

use std::collections::BTreeMap;

use super::App;
use crate::authz::{Decision, Subject, Verb};
use crate::domain::{GroupKey, Release, Track};
use crate::engine::{self, Context};

/// Shown for every action until the store's policy arrives.
pub const CHECKING: &str = "checking permissions…";

impl App {
    /// Whether `key` is a cron group (its action bar shows the cron actions).
    pub fn is_cron(&self, key: &GroupKey) -> bool {
        self.estate
            .group(key)
            .is_some_and(|e| e.group.spec.kind == crate::domain::group::Workload::Cron)
    }

    /// `Ok` when the action may run, else the one-line reason it may not.
    pub(crate) fn gate(&self, key: &GroupKey, verb: Verb) -> Result<(), String> {
        let entry = self
            .estate
            .group(key)
            .ok_or_else(|| format!("instance group {key} is no longer in the store"))?;
        let Some(policy) = &self.policy else {
            return Err(CHECKING.to_string());
        };
        let who = Subject {
            user: &self.user,
            groups: &self.user_groups,
        };
        if let Decision::Deny { reason } = policy.decide(&who, verb, key, entry.group.app()) {
            return Err(reason);
        }
        let name = entry.group.name();
        if verb == Verb::Drain && entry.group.spec.registration.is_none() {
            return Err(format!(
                "cannot drain: {name} has no registration (registration: in the group)"
            ));
        }
        let Some(release) = &entry.release else {
            // A group that has never been deployed: the first deploy makes it stable.
            return match verb {
                Verb::Deploy => Ok(()),
                v => Err(format!(
                    "cannot {}: {name} has never been deployed; deploy first",
                    v.phrase()
                )),
            };
        };
        let Some(probe) = probe(verb, release) else {
            return Ok(());
        };
        let ctx = Context {
            now: self.now,
            by: &self.user,
            revisions: &[],
            previous_stable: release.stable_history.last().copied(),
            tracks: None,
            jobs: None,
            instances: None,
        };
        engine::transition(&entry.group, release, &probe, &ctx)
            .map(|_| ())
            .map_err(|r| r.reason)
    }
}

/// An action of `verb` with stand-in arguments, to ask the phase machine whether the
/// phase allows it at all. Rollback goes to a revision the console does not list (the
/// store does), and fits every phase, so only the engine can judge it.
fn probe(verb: Verb, release: &Release) -> Option<engine::Action> {
    use engine::Action as A;
    Some(match verb {
        Verb::Deploy => A::Deploy {
            tag: "probe".into(),
            params: BTreeMap::new(),
        },
        Verb::Step => A::Step,
        Verb::Weight => A::Weight(release.weight),
        Verb::Pause => A::Pause,
        Verb::Resume => A::Resume,
        Verb::Promote => A::Promote,
        Verb::Abort => A::Abort,
        Verb::Restart => A::Restart {
            track: Track::Stable,
        },
        Verb::Suspend => A::Suspend,
        Verb::Trigger => A::Trigger,
        Verb::Kill => A::Kill { job: None },
        Verb::Rollback
        | Verb::Drain
        | Verb::View
        | Verb::EditGroups
        | Verb::EditTemplates
        | Verb::EditPolicy => {
            return None;
        }
    })
}
