//! `flightdeck policy show` and `policy apply -f FILE`: the roles and bindings of
//! DESIGN.md §5. Applying asks the release controller: admins over the whole estate, audited
//! as `policy.apply`. On an etcd with auth `flightdeck admin init --admin NAME` writes the
//! first policy; on a store without auth (the demo, `--local`) the first apply may.

use super::context::{ask_error, finish, store_error};
use super::output::{out, print_json, table};
use super::{CliError, Exit, Global};
use crate::authz::policy::Policy;
use crate::controller::Ask;

pub use super::args::policy::PolicyCommand;

pub async fn run(global: &Global, cmd: PolicyCommand) -> Result<(), CliError> {
    match cmd {
        PolicyCommand::Show { json } => show(global, json).await,
        PolicyCommand::Apply { file } => apply(global, &file).await,
    }
}

async fn show(global: &Global, json: bool) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let stored = store.get_policy().await.map_err(store_error)?;
    let policy = match stored {
        Some(v) => Some(serde_json::from_value::<Policy>(v.value).map_err(|e| {
            CliError::new(
                Exit::Refused,
                format!("the store's policy is unreadable ({e}); an admin re-applies it with `flightdeck policy apply -f FILE`"),
            )
        })?),
        None => None,
    };
    let Some(policy) = policy else {
        return Err(CliError::new(
            Exit::Refused,
            "the store has no policy yet: apply one with `flightdeck policy apply -f FILE`",
        ));
    };
    if json {
        return print_json(&policy);
    }
    let rows = policy
        .bindings
        .iter()
        .map(|b| {
            let s = &b.scope;
            vec![
                b.role.to_string(),
                b.users.join(","),
                b.groups.join(","),
                format!("{}/{}/{}/{}", s.cluster, s.namespace, s.app, s.group),
            ]
        })
        .collect();
    out(&table(
        &[
            "ROLE",
            "USERS",
            "GROUPS",
            "SCOPE (cluster/namespace/app/group)",
        ],
        rows,
    ))
}

async fn apply(global: &Global, path: &std::path::Path) -> Result<(), CliError> {
    let name = path.display().to_string();
    let text = super::files::read_capped(path)?;
    let policy = Policy::from_yaml(&text).map_err(|e| {
        // "policy: line 3 column 5: …" becomes "FILE line 3 column 5: …".
        let msg = e.to_string();
        let msg = msg.strip_prefix("policy: ").unwrap_or(&msg);
        let msg = super::files::one_line(msg);
        let sep = if msg.starts_with("line ") { " " } else { ": " };
        CliError::new(Exit::BadInput, format!("{name}{sep}{msg}"))
    })?;
    let requester = global.requester().await?;
    let answer = requester
        .ask(Ask::ApplyPolicy {
            policy,
            file: Some(name),
        })
        .await
        .map_err(ask_error)?;
    finish(answer)
}
