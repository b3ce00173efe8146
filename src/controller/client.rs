//! Asking the controller: write the request under your own key, wait for the answer.
//! Used by every command that changes something and by the console's action worker.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use super::request::{
    Answer, AnswerState, Ask, ClientInfo, REQUEST_TTL, Request, request_key, response_key,
};
use crate::store::{Store, StoreError};

/// How long to wait for an answer before saying no controller answered.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(15);

// The controller must give up applying before the asker gives up waiting, so the answer is
// "recorded, not applied" rather than "no answer".
const _: () = assert!(crate::kube::apply::ACTION_TIMEOUT.as_secs() < DEFAULT_WAIT.as_secs());

#[derive(Debug, Error)]
pub enum AskError {
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The store failed while or after the request was written: it may be there, and the
    /// controller may have acted on it or still act on it once the store is back (the
    /// request lives until its lease ends).
    #[error(
        "{0}; the request may have reached the store, so the release controller may carry it out once the store answers (`flightdeck audit` shows whether it did)"
    )]
    Sent(StoreError),
    /// Nobody answered in time (exit 3).
    #[error("{0}")]
    NoAnswer(String),
}

impl AskError {
    /// DESIGN.md §6 exit codes.
    pub fn exit_code(&self) -> u8 {
        match self {
            AskError::Store(e) | AskError::Sent(e) => match e {
                StoreError::Unavailable { .. } | StoreError::NoSpace { .. } => 3,
                StoreError::Invalid(_) => 2,
                _ => 1,
            },
            AskError::NoAnswer(_) => 3,
        }
    }
}

/// One user's way to the controller.
#[derive(Clone)]
pub struct Requester {
    store: Arc<dyn Store>,
    user: String,
    wait: Duration,
}

impl Requester {
    /// `user` must be who the store knows this connection as (the etcd login), or the
    /// OS user for a store without auth; etcd refuses a request key under anyone else.
    pub fn new(store: Arc<dyn Store>, user: impl Into<String>) -> Requester {
        Requester {
            store,
            user: user.into(),
            wait: DEFAULT_WAIT,
        }
    }

    pub fn with_wait(mut self, wait: Duration) -> Requester {
        self.wait = wait;
        self
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Sends `ask` and waits for the controller's final answer.
    pub async fn ask(&self, ask: Ask) -> Result<Answer, AskError> {
        let id = crate::domain::audit::ulid(jiff::Timestamp::now());
        let request = Request {
            ask,
            client: ClientInfo::of_this_process(),
        };
        let body = serde_json::to_vec(&request)
            .map_err(|e| StoreError::Invalid(format!("request cannot be written: {e}")))?;
        let backend = self.store.backend();
        let req_key = request_key(&self.user, &id);
        let answer_key = response_key(&self.user, &id);
        backend
            .put_leased(&req_key, body, REQUEST_TTL)
            .await
            .map_err(|e| match e {
                // Lost on the way: etcd may have written it before the connection went.
                e @ StoreError::Unavailable { .. } => AskError::Sent(e),
                e => self.explain(e),
            })?;
        // Polled, not watched: a watch opened at a revision already past is served by
        // etcd's 100 ms catch-up loop, which would be most of an action's time. Quick
        // polls while an answer is likely, slower ones after.
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        // Seen the "accepted" answer: the change is committed, only its outcome is missing.
        let mut accepted = false;
        while started.elapsed() < self.wait {
            if let Some(kv) = backend.get(&answer_key).await.map_err(AskError::Sent)? {
                match serde_json::from_slice::<Answer>(&kv.value) {
                    Ok(a) if a.state == AnswerState::Done => return Ok(a),
                    Ok(_) => accepted = true,
                    Err(e) => {
                        return Err(StoreError::Corrupt {
                            key: answer_key,
                            detail: e.to_string(),
                        }
                        .into());
                    }
                }
            }
            tokio::time::sleep(pause).await;
            let cap = if started.elapsed() < Duration::from_millis(500) {
                Duration::from_millis(2)
            } else {
                Duration::from_millis(50)
            };
            pause = (pause * 2).min(cap);
        }
        // Take the request back so a controller that comes later does not act on
        // something its asker was told failed (best effort: it may be underway).
        let _ = backend
            .txn(
                vec![crate::store::Cond::Absent(answer_key.clone())],
                vec![crate::store::Write::Delete(req_key)],
            )
            .await;
        let secs = self.wait.as_secs_f64();
        // A store that refuses writes refuses the controller's too, answers included:
        // say so rather than blame the controller.
        if let Some(alarm) = backend.write_alarm().await {
            return Err(AskError::NoAnswer(match (accepted, &alarm) {
                (true, StoreError::NoSpace { at }) => format!(
                    "the release controller took the request but could not record how it ended within {secs:.0}s: the store at {at} is out of space (etcd: database space exceeded) and takes no writes; `flightdeck audit` shows what was recorded, and an etcd admin must compact and defragment the store, then clear the alarm (`etcdctl alarm disarm`)"
                ),
                _ => format!("no answer within {secs:.0}s: {alarm}"),
            }));
        }
        let holder = self.store.lease_holder(super::LEASE).await.ok().flatten();
        Err(AskError::NoAnswer(match holder {
            Some(h) => format!(
                "the release controller ({h}) did not answer within {secs:.0}s; nothing was changed by this request unless `flightdeck audit` shows it"
            ),
            None => format!(
                "no release controller answered within {secs:.0}s: none is running (start `flightdeck agent`; see README, Running the controller)"
            ),
        }))
    }

    /// etcd refusing the request key means the login is not who we think.
    fn explain(&self, e: StoreError) -> AskError {
        match e {
            StoreError::Denied { user, .. } => AskError::Store(StoreError::Denied {
                user,
                detail: format!(
                    "may not write requests/{}/ (each user may write only their own requests; is your etcd user '{}'?)",
                    self.user, self.user
                ),
            }),
            other => AskError::Store(other),
        }
    }
}
