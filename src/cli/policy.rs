//! `flightdeck policy show` and `policy apply -f FILE`: the roles and bindings of
//! DESIGN.md §5. Applying is for admins over the whole estate and audited as
//! `policy.apply`; the very first policy of an empty store may be applied by anyone who can
//! write to the store (etcd's own auth is the wall there), and says so in the audit log.

use std::path::PathBuf;

use serde_json::json;

use super::admin::Editor;
use super::context::store_error;
use super::output::{print_json, table};
use super::{CliError, Exit, Global};
use crate::authz::policy::{Decision, Policy, Verb};
use crate::domain::audit::{AuditTarget, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// The policy in the store.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy file and write it into the store.
    Apply {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
}

pub async fn run(global: &Global, cmd: PolicyCommand) -> Result<(), CliError> {
    match cmd {
        PolicyCommand::Show { json } => show(global, json).await,
        PolicyCommand::Apply { file } => apply(global, &file).await,
    }
}

async fn show(global: &Global, json: bool) -> Result<(), CliError> {
    let editor = Editor::connect(global).await?;
    let Some(policy) = editor.policy else {
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
    print!(
        "{}",
        table(
            &[
                "ROLE",
                "USERS",
                "GROUPS",
                "SCOPE (cluster/namespace/app/group)"
            ],
            rows
        )
    );
    Ok(())
}

async fn apply(global: &Global, path: &std::path::Path) -> Result<(), CliError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(Exit::BadInput, format!("cannot read {name}: {e}")))?;
    let policy = Policy::from_yaml(&text).map_err(|e| {
        // "policy: line 3 column 5: …" becomes "FILE line 3 column 5: …".
        let msg = e.to_string();
        let msg = msg.strip_prefix("policy: ").unwrap_or(&msg);
        let msg = super::files::one_line(msg);
        let sep = if msg.starts_with("line ") { " " } else { ": " };
        CliError::new(Exit::BadInput, format!("{name}{sep}{msg}"))
    })?;
    let editor = Editor::connect(global).await?;
    let request = json!({ "file": name, "bindings": policy.bindings.len() });
    let first = editor.policy.is_none();
    if !first && let Decision::Deny { reason } = editor.decide_global(Verb::EditPolicy) {
        return Err(editor
            .deny("policy.apply", AuditTarget::default(), request, reason)
            .await);
    }
    let value = serde_json::to_value(&policy)
        .map_err(|e| CliError::new(Exit::BadInput, format!("{name}: {e}")))?;
    if editor.policy.as_ref() == Some(&policy) {
        println!("policy unchanged ({} bindings)", policy.bindings.len());
        return Ok(());
    }
    editor.store.put_policy(&value).await.map_err(store_error)?;
    let reason = if first {
        format!(
            "first policy of the store ({} bindings)",
            policy.bindings.len()
        )
    } else {
        format!("policy replaced ({} bindings)", policy.bindings.len())
    };
    editor
        .audit(
            "policy.apply",
            AuditTarget::default(),
            request,
            Outcome::Applied,
            reason.clone(),
        )
        .await?;
    println!("{reason}");
    Ok(())
}
