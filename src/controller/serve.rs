//! Taking requests: while this controller leads, every key under `requests/` is read
//! (those waiting when it took over, then each new one from a watch), acted on once, and
//! answered.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::sync::{Semaphore, watch};

use super::Trust;
use super::edits::{Editor, Refusal};
use super::request::{
    ANSWER_KEEP, Answer, Ask, MAX_REQUEST_BYTES, Request, parse_request_key, response_key,
};
use crate::domain::audit::{AuditDraft, AuditTarget, AuditUser, Outcome};
use crate::domain::{Phase, UserRecord};
use crate::engine::release_engine::{
    ActionReport, Actor, EngineError, Finish, ReleaseEngine, Trace,
};
use crate::store::{Cond, Kv, RawEvent, Store, StoreError, Write, layout};

/// Requests handled at once; more wait their turn.
const PARALLEL: usize = 16;
/// How often old answers are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Server {
    pub store: Arc<dyn Store>,
    pub engine: Arc<ReleaseEngine>,
    pub via: String,
    pub trust: Trust,
    pub leader: watch::Receiver<bool>,
}

pub(super) async fn serve(mut s: Server) {
    let server = Arc::new(Shared {
        store: s.store.clone(),
        engine: s.engine.clone(),
        via: s.via.clone(),
        trust: s.trust,
        slots: Semaphore::new(PARALLEL),
        in_flight: Mutex::new(HashSet::new()),
    });
    loop {
        // Only the lease holder takes requests.
        while !*s.leader.borrow_and_update() {
            if s.leader.changed().await.is_err() {
                return;
            }
        }
        if let Err(e) = lead(&server, &mut s.leader).await {
            tracing::warn!(error = %e, "request server interrupted; starting over");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

struct Shared {
    store: Arc<dyn Store>,
    engine: Arc<ReleaseEngine>,
    via: String,
    trust: Trust,
    slots: Semaphore,
    /// Requests being handled now: a key seen again (a re-read after a watch restart) is
    /// not taken twice.
    in_flight: Mutex<HashSet<String>>,
}

/// Serves until the lease is lost (Ok) or the store fails (Err).
async fn lead(server: &Arc<Shared>, leader: &mut watch::Receiver<bool>) -> Result<(), StoreError> {
    let backend = server.store.backend();
    let (waiting, rev) = backend.range("requests/").await?;
    let mut stream = backend.watch_prefix("requests/", rev + 1).await?;
    tracing::info!(waiting = waiting.len(), "taking requests");
    for kv in waiting {
        take(server, kv);
    }
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            ev = stream.next() => match ev {
                Some(RawEvent::Put(kv)) => take(server, kv),
                Some(RawEvent::Delete { .. }) => {}
                // History gone: what still waits is in a fresh read.
                Some(RawEvent::Compacted { .. }) | None => return Ok(()),
            },
            changed = leader.changed() => {
                if changed.is_err() || !*leader.borrow() {
                    tracing::info!("lease lost: no longer taking requests");
                    return Ok(());
                }
            }
            _ = sweep.tick() => {
                if let Err(e) = sweep_answers(server.store.as_ref()).await {
                    tracing::warn!(error = %e, "sweeping old answers failed");
                }
            }
        }
    }
}

fn take(server: &Arc<Shared>, kv: Kv) {
    let fresh = server
        .in_flight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(kv.key.clone());
    if !fresh {
        return;
    }
    let server = server.clone();
    tokio::spawn(async move {
        let key = kv.key.clone();
        if let Ok(_slot) = server.slots.acquire().await
            && let Err(e) = handle(&server, kv).await
        {
            tracing::warn!(error = %e, "request not answered");
        }
        server
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    });
}

/// Acts on one request and answers it. Errors are store failures (including a lost
/// fence): the request stays, for whoever leads next.
async fn handle(server: &Shared, kv: Kv) -> Result<(), StoreError> {
    let Some((user, id)) = parse_request_key(&kv.key) else {
        return Ok(());
    };
    let (user, id) = (user.to_string(), id.to_string());
    let answer_key = response_key(&user, &id);
    let backend = server.store.backend();
    let request_key = kv.key.clone();
    // One read: has it been answered, and who is asking (their groups).
    let users_key = layout::user(&user);
    let (found, _) = backend.range_many(&[&answer_key, &users_key]).await?;
    let exact = |k: &str| found.iter().find(|kv| kv.key == k);
    let groups = exact(&users_key)
        .and_then(|kv| serde_json::from_slice::<UserRecord>(&kv.value).ok())
        .map(|r| r.groups)
        .unwrap_or_default();
    if exact(&answer_key).is_some() {
        // Taken before (by us, or by the controller before us): never act twice.
        backend
            .txn(vec![], vec![Write::Delete(request_key)])
            .await?;
        return Ok(());
    }
    let bad_name = layout::check_segment("user", &user).is_err()
        || user.starts_with("system:")
        || id.len() > 64
        || !id.bytes().all(|b| b.is_ascii_alphanumeric());
    if bad_name {
        // Not a key flightdeck writes; nobody waits for an answer to it.
        tracing::warn!(key = %kv.key, "ignoring a request under a malformed key");
        backend
            .txn(vec![], vec![Write::Delete(request_key)])
            .await?;
        return Ok(());
    }
    let accepted = Write::Put(answer_key.clone(), encode(&Answer::accepted(&server.via)));
    // The final answer of an action goes with its recorded outcome, in one write.
    let finish = {
        let (via, answer_key, request_key) =
            (server.via.clone(), answer_key.clone(), kv.key.clone());
        Finish(Arc::new(move |report: &ActionReport| {
            vec![
                Write::Put(answer_key.clone(), encode(&report_answer(&via, report))),
                Write::Delete(request_key.clone()),
            ]
        }))
    };
    let trace = Trace {
        request_id: Some(id.clone()),
        via: Some(server.via.clone()),
        also: vec![accepted],
        finish: Some(finish),
        // A person's request never carries a verdict: only the controller's analysis does.
        analysis: None,
    };
    let parsed = if kv.value.len() > MAX_REQUEST_BYTES {
        Err(format!(
            "request of {} bytes refused (at most {MAX_REQUEST_BYTES})",
            kv.value.len()
        ))
    } else {
        serde_json::from_slice::<Request>(&kv.value).map_err(|e| format!("unreadable request: {e}"))
    };
    let answer = match parsed {
        Ok(request) => {
            let actor = actor(server, &user, groups, &request);
            match answer(server, &actor, request.ask, trace).await? {
                Some(a) => a,
                // Already written with the action's recorded outcome.
                None => return Ok(()),
            }
        }
        Err(why) => {
            let mut d = AuditDraft::new(
                AuditUser::named(&user, source(server.trust)),
                "request",
                AuditTarget::default(),
            );
            d.request_id = trace.request_id.clone();
            refuse(
                server,
                d,
                trace.also,
                2,
                crate::model::sanitize::clean(&why),
            )
            .await?
        }
    };
    backend
        .txn(
            vec![],
            vec![
                Write::Put(answer_key, encode(&answer)),
                Write::Delete(request_key),
            ],
        )
        .await?;
    Ok(())
}

fn source(trust: Trust) -> &'static str {
    match trust {
        Trust::EtcdAuth => "etcd-auth",
        Trust::Local => "os",
    }
}

/// The asker as the policy sees them: the name from the key, the groups `admin add-user`
/// recorded (their etcd roles, read by the caller), and the machine details they sent
/// (shown, not trusted).
fn actor(server: &Shared, user: &str, groups: Vec<String>, request: &Request) -> Actor {
    let c = &request.client;
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(|v| crate::model::sanitize::clean(&v.chars().take(128).collect::<String>()))
    };
    Actor {
        user: AuditUser {
            name: user.to_string(),
            source: source(server.trust).to_string(),
            uid: c.uid,
            host: clean(&c.host),
            ssh: clean(&c.ssh),
        },
        groups,
    }
}

/// The answer to write, or `None` when it was written with the action's outcome.
async fn answer(
    server: &Shared,
    actor: &Actor,
    ask: Ask,
    trace: Trace,
) -> Result<Option<Answer>, StoreError> {
    let via = server.via.as_str();
    let edited = |r: Result<super::edits::Edited, Refusal>| match r {
        Ok(e) => {
            let mut a = Answer::done(via, 0, e.message);
            a.lines = e.lines;
            a
        }
        Err(r) => Answer::done(via, r.exit, r.message),
    };
    let mut editor = Editor {
        store: server.store.as_ref(),
        actor,
        trace,
        local: server.trust == Trust::Local,
    };
    let a = match ask {
        Ask::Act {
            group,
            action,
            reason,
        } => {
            let trace = std::mem::take(&mut editor.trace);
            return act(server, actor, group, action, reason, trace).await;
        }
        Ask::ApplyGroups { groups, file } => {
            edited(editor.apply_groups(&groups, file.as_deref()).await)
        }
        Ask::ApplyTemplates { templates, file } => {
            edited(editor.apply_templates(&templates, file.as_deref()).await)
        }
        Ask::ApplyPolicy { policy, file } => {
            edited(editor.apply_policy(&policy, file.as_deref()).await)
        }
        Ask::AddCluster { cluster } => edited(editor.add_cluster(&cluster).await),
        Ask::Import {
            cluster,
            namespace,
            selector,
        } => edited(
            editor
                .import(&server.engine, &cluster, &namespace, selector.as_deref())
                .await,
        ),
        Ask::Refused {
            group,
            verb,
            reason,
        } => {
            let why: String = reason.chars().take(1024).collect();
            let why = format!(
                "refused in the console: {}",
                crate::model::sanitize::clean(&why)
            );
            let mut d =
                AuditDraft::new(actor.user.clone(), verb.as_str(), AuditTarget::from(&group));
            d.request_id = editor.trace.request_id.clone();
            let also = std::mem::take(&mut editor.trace.also);
            refuse(server, d, also, 1, why).await?
        }
    };
    Ok(Some(a))
}

async fn act(
    server: &Shared,
    actor: &Actor,
    key: crate::domain::GroupKey,
    action: crate::engine::Action,
    reason: Option<String>,
    trace: Trace,
) -> Result<Option<Answer>, StoreError> {
    let via = server.via.as_str();
    let also = trace.also.clone();
    let request_id = trace.request_id.clone();
    let name = action.name().to_string();
    // A reason past the cap is refused before anything is read or acted on; the entry
    // records its size, not its text (the log is everyone's to read).
    if let Err(m) = super::edits::check_reason(reason.as_deref()) {
        let mut d = AuditDraft::new(actor.user.clone(), &name, AuditTarget::from(&key));
        d.request = json!({ "reasonBytes": reason.as_deref().map_or(0, str::len) });
        d.request_id = request_id;
        return refuse(server, d, also, 2, m).await.map(Some);
    }
    let request = action.request_json();
    // Ending a drain and a rollout's drains are the controller's own moves: asked for by
    // someone, they would open a gate or cut a wait short on their word.
    if matches!(
        action,
        crate::engine::Action::FinishDrain { .. }
            | crate::engine::Action::Drain {
                for_pod: Some(_),
                ..
            }
    ) {
        let mut d = AuditDraft::new(actor.user.clone(), &name, AuditTarget::from(&key));
        d.request = request;
        d.request_id = request_id;
        let m = "a drain's end and a rollout's drains are the release controller's own; ask for `drain POD`".to_string();
        return refuse(server, d, also, 1, m).await.map(Some);
    }
    // A group in a cluster nobody registered: the controller does not know which server
    // that name means, so it changes nothing there.
    let (group_key, cluster_key) = (layout::group(&key), super::edits::cluster_key(&key.cluster));
    let (found, _) = server
        .store
        .backend()
        .range_many(&[&group_key, &cluster_key])
        .await?;
    let has = |k: &str| found.iter().any(|kv| kv.key == k);
    if has(&group_key) && !has(&cluster_key) {
        let m = format!(
            "cluster {} is not registered: an admin registers it with `flightdeck clusters add {} --kubeconfig F`",
            key.cluster, key.cluster
        );
        let mut d = AuditDraft::new(actor.user.clone(), &name, AuditTarget::from(&key));
        d.request = request;
        d.request_id = request_id;
        return refuse(server, d, also, 1, m).await.map(Some);
    }
    match server
        .engine
        .act_as(actor, &key, action, reason, trace)
        .await
    {
        // The answer went with the recorded outcome.
        Ok(_) => Ok(None),
        // Refusals the engine audits itself (policy, phase, render).
        Err(e @ (EngineError::Denied(_) | EngineError::Refused(_) | EngineError::Conflict(_))) => {
            Ok(Some(Answer::done(via, e.exit_code(), e.to_string())))
        }
        Err(EngineError::BadInput(m)) => Ok(Some(Answer::done(via, 2, m))),
        // An unknown group is refused before the engine has anything to audit.
        Err(EngineError::NotFound(m)) => {
            let mut d = AuditDraft::new(actor.user.clone(), &name, AuditTarget::from(&key));
            d.request = request;
            d.request_id = request_id;
            refuse(server, d, also, 2, m).await.map(Some)
        }
        Err(EngineError::Store(e @ StoreError::Fenced { .. })) => Err(e),
        Err(e) => Ok(Some(Answer::done(via, e.exit_code(), e.to_string()))),
    }
}

/// Audits `draft` as a refusal (with the accepted marker `also`) and answers `exit`.
async fn refuse(
    server: &Shared,
    mut draft: AuditDraft,
    also: Vec<Write>,
    exit: u8,
    why: String,
) -> Result<Answer, StoreError> {
    draft.outcome = Outcome::Denied;
    draft.reason = why.clone();
    draft.via = Some(server.via.clone());
    server.store.append_audit_with(draft, vec![], also).await?;
    Ok(Answer::done(&server.via, exit, why))
}

/// How a finished action reads to its asker: the summary, or what the cluster said.
fn report_answer(via: &str, report: &ActionReport) -> Answer {
    let (exit, message) = match &report.apply_error {
        None => (0, report.summary.clone()),
        Some(e) if report.release.phase == Phase::Degraded => (
            1,
            format!(
                "{} — recorded, but the cluster refused it: {e}",
                report.summary
            ),
        ),
        Some(e) => (
            3,
            format!(
                "{} — recorded, but not applied (the cluster did not answer; it is re-applied later): {e}",
                report.summary
            ),
        ),
    };
    let mut a = Answer::done(via, exit, message);
    a.release = Some(report.release.clone());
    a
}

fn encode(a: &Answer) -> Vec<u8> {
    // An answer is strings and numbers: it always serialises.
    serde_json::to_vec(a)
        .unwrap_or_else(|_| json!({"state": "done", "exit": 1}).to_string().into_bytes())
}

/// Answers older than [`ANSWER_KEEP`] are gone: their askers have read them or left.
async fn sweep_answers(store: &dyn Store) -> Result<(), StoreError> {
    let backend = store.backend();
    let (kvs, _) = backend.range("responses/").await?;
    let now = jiff::Timestamp::now();
    for kv in kvs {
        let old = serde_json::from_slice::<Answer>(&kv.value)
            .ok()
            .and_then(|a| a.time.parse::<jiff::Timestamp>().ok())
            .is_none_or(|t| now.duration_since(t).as_secs_f64() > ANSWER_KEEP.as_secs_f64());
        if old {
            backend
                .txn(
                    vec![Cond::ModRevision(kv.key.clone(), kv.mod_revision)],
                    vec![Write::Delete(kv.key)],
                )
                .await?;
        }
    }
    Ok(())
}
