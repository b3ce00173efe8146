//! `flightdeck groups apply -f FILE`, `groups list` and `groups import` (in `import.rs`). Apply checks every group of the file
//! — shape, names, steps, template, a trial render of both tracks — and then asks the
//! release controller, which checks again, writes them (admins of the group's scope, old
//! and new) and audits each as `groups.apply`.

use std::collections::BTreeSet;

use super::context::{ask_error, finish, store_error};
use super::files::SourceFile;
use super::output::{out, print_json, report_unreadable, table};
use super::{CliError, Global};
use crate::controller::Ask;
use crate::controller::edits::{check_document_count, check_group_renders, check_group_shape};
use crate::domain::InstanceGroup;
use crate::store::Scope;

pub use super::args::groups::{GroupsCommand, ImportArgs};

pub async fn run(global: &Global, cmd: GroupsCommand) -> Result<(), CliError> {
    match cmd {
        GroupsCommand::Apply { file } => apply(global, &SourceFile::read(&file)?).await,
        GroupsCommand::List { json } => list(global, json).await,
        GroupsCommand::Import(args) if args.dry_run => super::import::dry_run(global, &args).await,
        GroupsCommand::Import(args) => super::import::import(global, &args).await,
    }
}

async fn list(global: &Global, json: bool) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let listed = store
        .read_groups(&Scope::all())
        .await
        .map_err(store_error)?;
    // An unreadable group is named on stderr; the others are listed (exit 0).
    report_unreadable(&listed.unreadable);
    let groups = listed.items;
    if json {
        return print_json(&groups);
    }
    let rows = groups
        .iter()
        .map(|g| {
            vec![
                g.spec.cluster.clone(),
                g.spec.namespace.clone(),
                g.name().to_string(),
                g.app().to_string(),
                g.spec.template.clone(),
                g.tag().unwrap_or("-").to_string(),
                g.replicas().to_string(),
                g.spec.strategy.steps.len().to_string(),
            ]
        })
        .collect();
    out(&table(
        &[
            "CLUSTER",
            "NAMESPACE",
            "GROUP",
            "APP",
            "TEMPLATE",
            "TAG",
            "REPLICAS",
            "STEPS",
        ],
        rows,
    ))
}

async fn apply(global: &Global, file: &SourceFile) -> Result<(), CliError> {
    let parsed = file.parse_all::<InstanceGroup>()?;
    check_document_count("groups", parsed.len())
        .map_err(|m| CliError::new(super::Exit::BadInput, format!("{}: {m}", file.name)))?;
    let requester = global.requester().await?;
    let store = requester.store().clone();
    // The controller checks all of it again; checking here first names the file's line.
    let mut seen = BTreeSet::new();
    for (g, line) in &parsed {
        check_group_shape(g).map_err(|why| file.error(*line, why))?;
        if !seen.insert(g.key()) {
            return Err(file.error(
                *line,
                format!("group {} appears twice in the file", g.key()),
            ));
        }
        let template = store
            .get_template(&g.spec.template)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                file.error(
                    *line,
                    format!(
                        "group {}: unknown template {:?} (apply it first with `flightdeck templates apply -f FILE`)",
                        g.name(),
                        g.spec.template
                    ),
                )
            })?;
        check_group_renders(g, &template).map_err(|why| file.error(*line, why))?;
    }
    let answer = requester
        .ask(Ask::ApplyGroups {
            groups: parsed.into_iter().map(|(g, _)| g).collect(),
            file: Some(file.name.clone()),
        })
        .await
        .map_err(ask_error)?;
    finish(answer)
}
