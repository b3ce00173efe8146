//! `flightdeck templates apply -f FILE` (and `templates list`): every template of the file
//! checked — shape, name, syntax, and a trial render for each group in the store that uses
//! it — before any is written; admin-only and audited as `templates.apply`.

use std::path::PathBuf;

use serde_json::json;

use super::admin::Editor;
use super::context::store_error;
use super::files::SourceFile;
use super::output::{print_json, table};
use super::{CliError, Global};
use crate::authz::policy::{Decision, Verb};
use crate::domain::audit::{AuditTarget, Outcome};
use crate::domain::{Template, Track};
use crate::engine::render::{check_template, render};
use crate::store::{Scope, layout};

#[derive(Debug, clap::Subcommand)]
pub enum TemplatesCommand {
    /// Write the templates of a YAML file (several documents allowed) into the store.
    Apply {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
    /// The templates in the store.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(global: &Global, cmd: TemplatesCommand) -> Result<(), CliError> {
    match cmd {
        TemplatesCommand::Apply { file } => apply(global, &SourceFile::read(&file)?).await,
        TemplatesCommand::List { json } => list(global, json).await,
    }
}

async fn list(global: &Global, json: bool) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let templates = store.list_templates().await.map_err(store_error)?;
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
    print!("{}", table(&["NAME", "LINES"], rows));
    Ok(())
}

async fn apply(global: &Global, file: &SourceFile) -> Result<(), CliError> {
    let parsed = file.parse_all::<Template>()?;
    let editor = Editor::connect(global).await?;
    let groups = editor
        .store
        .list_groups(&Scope::all())
        .await
        .map_err(store_error)?;
    let mut names = Vec::new();
    for (t, line) in &parsed {
        check_shape(t).map_err(|why| file.error(*line, why))?;
        if names.contains(&t.metadata.name) {
            return Err(file.error(
                *line,
                format!("template {} appears twice in the file", t.metadata.name),
            ));
        }
        names.push(t.metadata.name.clone());
        check_syntax(t).map_err(|why| file.error(*line, why))?;
        for g in groups.iter().filter(|g| g.spec.template == t.metadata.name) {
            for track in [Track::Stable, Track::Canary] {
                render(t, g, track, &g.spec.params, g.replicas()).map_err(|e| {
                    file.error(*line, format!("does not render for group {}: {e}", g.key()))
                })?;
            }
        }
    }

    let request = json!({ "templates": names, "file": file.name });
    if let Decision::Deny { reason } = editor.decide_global(Verb::EditTemplates) {
        return Err(editor
            .deny("templates.apply", AuditTarget::default(), request, reason)
            .await);
    }
    for (t, _) in &parsed {
        editor.store.put_template(t).await.map_err(store_error)?;
        editor
            .audit(
                "templates.apply",
                AuditTarget::default(),
                json!({ "template": t.metadata.name, "file": file.name }),
                Outcome::Applied,
                format!("template {} written", t.metadata.name),
            )
            .await?;
        println!("template {} applied", t.metadata.name);
    }
    Ok(())
}

fn check_shape(t: &Template) -> Result<(), String> {
    if t.kind != "Template" {
        return Err(format!("kind is {:?}, expected \"Template\"", t.kind));
    }
    if t.api_version != "flightdeck/v1" {
        return Err(format!(
            "apiVersion is {:?}, expected \"flightdeck/v1\"",
            t.api_version
        ));
    }
    layout::check_segment("template", &t.metadata.name).map_err(|e| e.to_string())?;
    if t.spec.body.trim().is_empty() {
        return Err(format!(
            "template {} has an empty spec.body",
            t.metadata.name
        ));
    }
    Ok(())
}

/// Checks kinds and compiles the body, so a template no group uses yet is still checked.
fn check_syntax(t: &Template) -> Result<(), String> {
    check_template(t).map_err(|e| e.to_string())
}
