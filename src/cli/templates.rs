//! `flightdeck templates apply -f FILE` (and `templates list`): every template of the file
//! checked — shape, name, syntax, and a trial render for each group in the store that uses
//! it — then written by the release controller (admin-only, audited as `templates.apply`).

use super::context::{ask_error, finish, store_error};
use super::files::SourceFile;
use super::output::{out, print_json, report_unreadable, table};
use super::{CliError, Global};
use crate::controller::Ask;
use crate::controller::edits::{check_document_count, check_template_shape, check_template_syntax};
use crate::domain::{Template, Track};
use crate::engine::render::render;
use crate::store::Scope;

pub use super::args::templates::TemplatesCommand;

pub async fn run(global: &Global, cmd: TemplatesCommand) -> Result<(), CliError> {
    match cmd {
        TemplatesCommand::Apply { file } => apply(global, &SourceFile::read(&file)?).await,
        TemplatesCommand::List { json } => list(global, json).await,
    }
}

async fn list(global: &Global, json: bool) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let listed = store.read_templates().await.map_err(store_error)?;
    report_unreadable(&listed.unreadable);
    let templates = listed.items;
    if json {
        return print_json(&templates);
    }
    let rows = templates
        .iter()
        .map(|t| {
            vec![
                t.metadata.name.clone(),
                t.spec.body.lines().count().to_string(),
            ]
        })
        .collect();
    out(&table(&["NAME", "LINES"], rows))
}

async fn apply(global: &Global, file: &SourceFile) -> Result<(), CliError> {
    let parsed = file.parse_all::<Template>()?;
    check_document_count("templates", parsed.len())
        .map_err(|m| CliError::new(super::Exit::BadInput, format!("{}: {m}", file.name)))?;
    let requester = global.requester().await?;
    let groups = requester
        .store()
        .list_groups(&Scope::all())
        .await
        .map_err(store_error)?;
    let mut names = Vec::new();
    for (t, line) in &parsed {
        check_template_shape(t).map_err(|why| file.error(*line, why))?;
        if names.contains(&t.metadata.name) {
            return Err(file.error(
                *line,
                format!("template {} appears twice in the file", t.metadata.name),
            ));
        }
        names.push(t.metadata.name.clone());
        check_template_syntax(t).map_err(|why| file.error(*line, why))?;
        for g in groups.iter().filter(|g| g.spec.template == t.metadata.name) {
            for track in [Track::Stable, Track::Canary] {
                render(t, g, track, &g.spec.params, g.replicas()).map_err(|e| {
                    file.error(*line, format!("does not render for group {}: {e}", g.key()))
                })?;
            }
        }
    }
    let answer = requester
        .ask(Ask::ApplyTemplates {
            templates: parsed.into_iter().map(|(t, _)| t).collect(),
            file: Some(file.name.clone()),
        })
        .await
        .map_err(ask_error)?;
    finish(answer)
}
