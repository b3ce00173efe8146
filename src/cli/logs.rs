//! `flightdeck logs GROUP`: the group's pod logs as plain lines, each prefixed by its pod
//! (and container when a pod has several), sanitised, like `stern` for one group.
//!
//! The group is found in the store (its cluster must be the current context; `-n` picks
//! the namespace when the name is in several). A group the store does not know is looked
//! up by label `flightdeck.dev/group=NAME` in `-n` or the context's namespace, so the
//! command also works without a platform store.

use std::io::Write;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tokio::sync::mpsc;

use super::{CliError, Exit, Global};
use crate::logs::line::{GONE, JOINED, RESTARTED};
use crate::logs::{
    LogEvent, LogOptions, LogSource, Pattern, Track, parse_duration, spawn_log_streams,
};
use crate::model::sanitize::clean;
use crate::store::Scope;

pub use super::args::logs::LogsArgs;

impl LogsArgs {
    /// The source for `namespace`, with the flags checked (bad input is exit 2).
    pub fn source(&self, namespace: &str) -> Result<LogSource, CliError> {
        let bad = |m: String| CliError::new(Exit::BadInput, m);
        let since = self
            .since
            .as_deref()
            .map(|s| {
                parse_duration(s)
                    .ok_or_else(|| bad(format!("--since {s:?}: expected e.g. 30s, 5m, 2h")))
            })
            .transpose()?;
        let mut source = LogSource::group(namespace, &self.group).with_options(LogOptions {
            tail: (self.tail >= 0).then_some(self.tail),
            since,
            previous: self.previous,
            follow: self.follow,
        });
        if let Some(t) = &self.track {
            source = match t.as_str() {
                "stable" => source.with_track(Track::Stable),
                "canary" => source.with_track(Track::Canary),
                other => return Err(bad(format!("--track {other:?}: expected stable or canary"))),
            };
        }
        if let Some(p) = &self.pod {
            source = source.with_pod(p);
        }
        if let Some(c) = &self.container {
            source = source.with_container(c);
        }
        Ok(source)
    }

    pub fn pattern(&self) -> Result<Option<Pattern>, CliError> {
        self.grep
            .as_deref()
            .map(|g| Pattern::new(g).map_err(|e| CliError::new(Exit::BadInput, e.to_string())))
            .transpose()
    }
}

pub async fn run(global: &Global, args: LogsArgs) -> Result<(), CliError> {
    let pattern = args.pattern()?;
    let conn = global.connect_cluster().await?;
    let store = global.connect_store().await?;
    let groups = store
        .list_groups(&Scope::cluster(conn.context.clone()))
        .await
        .map_err(super::context::store_error)?;
    let in_store: Vec<String> = groups
        .iter()
        .filter(|g| g.metadata.name == args.group)
        .map(|g| g.spec.namespace.clone())
        .filter(|ns| args.namespace.as_ref().is_none_or(|want| want == ns))
        .collect();
    let namespace = match (in_store.as_slice(), &args.namespace) {
        ([one], _) => one.clone(),
        ([], Some(ns)) => ns.clone(),
        ([], None) => conn.client.default_namespace().to_string(),
        (many, _) => {
            return Err(CliError::new(
                Exit::BadInput,
                format!(
                    "group {} is in namespaces {}: pick one with -n",
                    args.group,
                    many.join(", ")
                ),
            ));
        }
    };
    let source = args.source(&namespace)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    print_logs(conn.client, source, pattern, &mut out).await
}

/// Streams the source's lines to `out` until the logs end (or, following, forever). An
/// unknown group (no pods with its label) is exit 2; a cluster that does not answer, 3.
pub async fn print_logs(
    client: kube::Client,
    source: LogSource,
    pattern: Option<Pattern>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &source.namespace);
    let list = pods
        .list(
            &ListParams::default()
                .labels(&source.label_selector())
                .limit(1),
        )
        .await
        .map_err(|e| {
            CliError::new(
                Exit::Unreachable,
                format!("listing pods in {}: {e}", source.namespace),
            )
        })?;
    if list.items.is_empty() && !source.options.follow {
        return Err(CliError::new(
            Exit::BadInput,
            format!(
                "unknown group: no pods match {} in namespace {}",
                source.label_selector(),
                source.namespace
            ),
        ));
    }
    let (tx, mut rx) = mpsc::channel(256);
    let _streams = spawn_log_streams(client, source, tx);
    let mut multi: std::collections::HashMap<String, usize> = Default::default();
    while let Some(ev) = rx.recv().await {
        let written = match ev {
            LogEvent::Joined { pod, initial, .. } => {
                *multi.entry(pod.clone()).or_default() += 1;
                if initial {
                    Ok(())
                } else {
                    writeln!(out, "{} {JOINED}", clean(&pod))
                }
            }
            LogEvent::Lines {
                pod,
                container,
                lines,
            } => {
                let tag = if multi.get(&pod).is_some_and(|n| *n > 1) {
                    format!("{pod}/{container}")
                } else {
                    pod
                };
                // Names and lines come from the cluster: nothing a terminal would act on.
                let tag = clean(&tag);
                let mut r = Ok(());
                for (_, text) in lines {
                    if pattern.as_ref().is_none_or(|p| p.is_match(&text)) {
                        r = writeln!(out, "{tag} {}", clean(&text));
                        if r.is_err() {
                            break;
                        }
                    }
                }
                r.and_then(|_| out.flush())
            }
            LogEvent::Restarted { pod, container } => {
                writeln!(out, "{} {RESTARTED}", clean(&format!("{pod}/{container}")))
            }
            LogEvent::Gone { pod } => writeln!(out, "{} {GONE}", clean(&pod)),
            LogEvent::Finished => break,
            LogEvent::Failed { message, fatal } => {
                if fatal {
                    return Err(CliError::new(Exit::Unreachable, message));
                }
                super::output::warn(&format!("flightdeck logs: {message}"));
                Ok(())
            }
        };
        // A closed pipe (`| head`) is the reader's choice, not an error.
        if written.is_err() {
            return Ok(());
        }
    }
    let _ = out.flush();
    Ok(())
}
