//! `flightdeck groups import --cluster C -n N [-l SELECTOR] [--dry-run]`: adopt what
//! already runs. The import itself is the controller's (it reads the cluster with its own
//! credentials, writes and audits); `--dry-run` plans the same way from what this user's
//! credentials read and prints the files, writing nothing.

use super::context::{ask_error, finish, store_error};
use super::groups::ImportArgs;
use super::output::out;
use super::{CliError, Exit, Global};
use crate::controller::Ask;
use crate::controller::import::MAX_SELECTOR_BYTES;
use crate::engine::adopt;
use crate::kube::apply::{Applier, Deadline};

fn check_selector(args: &ImportArgs) -> Result<(), CliError> {
    match &args.selector {
        Some(s) if s.len() > MAX_SELECTOR_BYTES || s.chars().any(char::is_control) => {
            Err(CliError::new(
                Exit::BadInput,
                format!("--selector must be one line of at most {MAX_SELECTOR_BYTES} bytes"),
            ))
        }
        _ => Ok(()),
    }
}

pub async fn import(global: &Global, args: &ImportArgs) -> Result<(), CliError> {
    check_selector(args)?;
    let requester = global.requester().await?;
    let answer = requester
        .ask(Ask::Import {
            cluster: args.cluster.clone(),
            namespace: args.namespace.clone(),
            selector: args.selector.clone(),
        })
        .await
        .map_err(ask_error)?;
    finish(answer)
}

pub async fn dry_run(global: &Global, args: &ImportArgs) -> Result<(), CliError> {
    check_selector(args)?;
    let conn = crate::kube::connect(global.kubeconfig.clone(), Some(args.cluster.clone()))
        .await
        .map_err(|e| CliError::new(Exit::Unreachable, e.to_string()))?;
    let applier = Applier::new(conn.client);
    let deadline = Deadline::action();
    let (ns, sel) = (args.namespace.as_str(), args.selector.as_deref());
    let unreadable = |e: crate::kube::apply::ApplyError| {
        let exit = if e.is_transient() {
            Exit::Unreachable
        } else {
            Exit::Refused
        };
        CliError::new(
            exit,
            format!("cannot read what runs in {}/{ns}: {e}", args.cluster),
        )
    };
    let mut objects = applier
        .list_selected("apps/v1", "Deployment", ns, sel, deadline)
        .await
        .map_err(unreadable)?;
    objects.extend(
        applier
            .list_selected("batch/v1", "CronJob", ns, sel, deadline)
            .await
            .map_err(unreadable)?,
    );
    if objects.is_empty() {
        let picked = sel.map_or(String::new(), |s| format!(" matching {s:?}"));
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "nothing to adopt: no Deployment or CronJob in {}/{ns}{picked}",
                args.cluster
            ),
        ));
    }
    for o in &objects {
        if let Some(why) = adopt::refuse_reason(o) {
            return Err(CliError::new(
                Exit::Refused,
                format!("{why}; leave it out with --selector"),
            ));
        }
    }
    let adoption =
        adopt::plan(&args.cluster, ns, &objects).map_err(|m| CliError::new(Exit::BadInput, m))?;
    // What the import would refuse for the store's sake is said now too.
    let store = global.connect_store().await?;
    for t in &adoption.templates {
        if store
            .get_template(&t.metadata.name)
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Err(CliError::new(
                Exit::Refused,
                format!("template {} already exists", t.metadata.name),
            ));
        }
    }
    for a in &adoption.groups {
        if store
            .get_group(&a.group.key())
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Err(CliError::new(
                Exit::Refused,
                format!("group {} already exists", a.group.key()),
            ));
        }
    }
    let mut text = format!(
        "# flightdeck groups import --dry-run: {} template(s), {} group(s) from {}/{ns}; nothing was written.\n# Revision 1 of each group is the object as it runs ({}: false); the groups' own\n# parameters put the flightdeck labels on the pods of the next deploy.\n",
        adoption.templates.len(),
        adoption.groups.len(),
        args.cluster,
        adopt::POD_LABELS
    );
    for t in &adoption.templates {
        text.push_str("---\n");
        text.push_str(&to_yaml(t)?);
    }
    for a in &adoption.groups {
        text.push_str("---\n");
        text.push_str(&to_yaml(&a.group)?);
    }
    out(&text)
}

fn to_yaml<T: serde::Serialize>(v: &T) -> Result<String, CliError> {
    serde_norway::to_string(v)
        .map_err(|e| CliError::new(Exit::BadInput, format!("cannot write YAML: {e}")))
}
