//! `flightdeck groups apply -f FILE` and `groups list`. Apply checks every group of the file
//! — shape, names, steps, template, a trial render of both tracks — before writing any;
//! writing is for admins of the group's scope and audited as `groups.apply`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::json;

use super::admin::Editor;
use super::context::store_error;
use super::files::SourceFile;
use super::output::{print_json, table};
use super::{CliError, Global};
use crate::authz::policy::Decision;
use crate::domain::audit::{AuditTarget, Outcome};
use crate::domain::{InstanceGroup, Step, Track, TrafficRouter};
use crate::engine::render::render;
use crate::store::{Scope, layout};

#[derive(Debug, clap::Subcommand)]
pub enum GroupsCommand {
    /// Write the instance groups of a YAML file (several documents allowed) into the store.
    Apply {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
    /// The instance groups in the store.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(global: &Global, cmd: GroupsCommand) -> Result<(), CliError> {
    match cmd {
        GroupsCommand::Apply { file } => apply(global, &SourceFile::read(&file)?).await,
        GroupsCommand::List { json } => list(global, json).await,
    }
}

async fn list(global: &Global, json: bool) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    let groups = store
        .list_groups(&Scope::all())
        .await
        .map_err(store_error)?;
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
    print!(
        "{}",
        table(
            &[
                "CLUSTER",
                "NAMESPACE",
                "GROUP",
                "APP",
                "TEMPLATE",
                "TAG",
                "REPLICAS",
                "STEPS"
            ],
            rows
        )
    );
    Ok(())
}

async fn apply(global: &Global, file: &SourceFile) -> Result<(), CliError> {
    let parsed = file.parse_all::<InstanceGroup>()?;
    let editor = Editor::connect(global).await?;
    let mut seen = BTreeSet::new();
    for (g, line) in &parsed {
        check_shape(g).map_err(|why| file.error(*line, why))?;
        if !seen.insert(g.key()) {
            return Err(file.error(
                *line,
                format!("group {} appears twice in the file", g.key()),
            ));
        }
        let template = editor
            .store
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
        for track in [Track::Stable, Track::Canary] {
            render(&template, g, track, &g.spec.params, g.replicas())
                .map_err(|e| file.error(*line, format!("group {}: {e}", g.name())))?;
        }
    }

    // Every group must be allowed before any is written: a file is one change.
    for (g, _) in &parsed {
        if let Decision::Deny { reason } = editor.decide_group(g) {
            return Err(editor
                .deny(
                    "groups.apply",
                    AuditTarget::from(&g.key()),
                    json!({ "file": file.name }),
                    reason,
                )
                .await);
        }
    }
    for (g, _) in &parsed {
        let existed = editor
            .store
            .get_group(&g.key())
            .await
            .map_err(store_error)?;
        if existed.as_ref() == Some(g) {
            println!("group {} unchanged", g.key());
            continue;
        }
        editor.store.put_group(g).await.map_err(store_error)?;
        let verb = if existed.is_some() {
            "updated"
        } else {
            "created"
        };
        editor
            .audit(
                "groups.apply",
                AuditTarget::from(&g.key()),
                json!({ "file": file.name, "template": g.spec.template, "params": g.spec.params }),
                Outcome::Applied,
                format!("group {} {verb}", g.name()),
            )
            .await?;
        println!("group {} {verb}", g.key());
    }
    Ok(())
}

fn check_shape(g: &InstanceGroup) -> Result<(), String> {
    if g.kind != "InstanceGroup" {
        return Err(format!("kind is {:?}, expected \"InstanceGroup\"", g.kind));
    }
    if g.api_version != "flightdeck/v1" {
        return Err(format!(
            "apiVersion is {:?}, expected \"flightdeck/v1\"",
            g.api_version
        ));
    }
    layout::check_group(&g.key()).map_err(|e| e.to_string())?;
    if g.app().trim().is_empty() {
        return Err(format!("group {}: metadata.app is empty", g.name()));
    }
    for (k, v) in [
        ("image", "a string"),
        ("tag", "a string (quote versions such as \"2.10\")"),
    ] {
        if !g.spec.params.get(k).is_some_and(|p| p.is_string()) {
            return Err(format!("group {}: params.{k} must be {v}", g.name()));
        }
    }
    if let Some(r) = g.spec.params.get("replicas")
        && !r.is_u64()
    {
        return Err(format!(
            "group {}: params.replicas must be a whole number, not {r}",
            g.name()
        ));
    }
    if g.spec.strategy.traffic.router != TrafficRouter::Replicas {
        return Err(format!(
            "group {}: traffic router {:?} is not available yet; use router: replicas",
            g.name(),
            g.spec.strategy.traffic.router
        ));
    }
    for (i, step) in g.spec.strategy.steps.iter().enumerate() {
        let bad = |what: &str, v: &str| {
            format!(
                "group {}: step {} has {what} {v:?}, expected a duration such as 30s or 5m",
                g.name(),
                i + 1
            )
        };
        match step {
            Step::Pause(p) => {
                if let Some(d) = &p.duration
                    && d.parse::<jiff::SignedDuration>().is_err()
                {
                    return Err(bad("pause duration", d));
                }
            }
            Step::Analysis(a) => {
                if a.interval.parse::<jiff::SignedDuration>().is_err() {
                    return Err(bad("analysis interval", &a.interval));
                }
            }
            Step::SetWeight(_) => {}
        }
    }
    Ok(())
}
