//! The `:` command line, as in k9s: `:group NAME`, `:ns NAME|all`, `:ctx NAME|all` (narrows
//! the list to one cluster; every cluster is watched at once), `:by cluster|app`,
//! `:audit [group NAME] [user NAME] [since 10m]`, `:q`.

use std::collections::BTreeSet;

use super::state::{GroupState, Screen};
use super::{App, Effect};

const USAGE: &str =
    "try :group NAME, :ns NAME|all, :ctx NAME|all, :by cluster|app, :audit, :help, :q";
const COMMANDS: &[&str] = &["group", "ns", "ctx", "by", "audit", "help", "quit"];

impl App {
    /// The clusters `:ctx` knows: those holding groups and the kubeconfig's contexts.
    fn cluster_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.contexts.iter().cloned().collect();
        names.extend(self.estate.clusters().into_iter().map(str::to_string));
        names.into_iter().collect()
    }

    fn narrow_to_cluster(&mut self, cluster: Option<String>) {
        self.show_info(format!("cluster: {}", cluster.as_deref().unwrap_or("all")));
        self.groups.cluster = cluster;
        self.groups.selected = 0;
        self.groups.selected_key = None;
        self.screen = Screen::Groups;
        self.invalidate_rows();
    }

    pub(super) fn run_command(&mut self, line: &str) -> Option<Effect> {
        let line = line.trim().trim_start_matches(':');
        let mut words = line.split_whitespace();
        let cmd = words.next()?;
        let arg = words.next();
        let cmd = crate::model::sanitize::clean(cmd);
        if cmd == "audit" {
            let rest: Vec<&str> = line.split_whitespace().skip(1).collect();
            match super::audit::AuditFilter::parse(&rest) {
                Ok(filter) => self.open_audit(filter),
                Err(why) => self.show_error(why),
            }
            return None;
        }
        match (cmd.as_str(), arg) {
            ("q" | "q!" | "quit" | "exit", _) => return Some(Effect::Quit),
            ("help" | "h", _) => self.help = Some(0),
            ("group" | "g" | "groups", None) => self.screen = Screen::Groups,
            ("group" | "g" | "groups", Some(name)) => match self.estate.find_group(name) {
                Some(key) => self.screen = Screen::Group(GroupState::new(key.clone())),
                None => self.show_error(format!("no instance group named \"{name}\"")),
            },
            ("ns" | "namespace", None) => self.show_error("usage: :ns NAME or :ns all".into()),
            ("ns" | "namespace", Some(ns)) => {
                self.groups.namespace = (ns != "all").then(|| ns.to_string());
                self.groups.selected = 0;
                self.groups.selected_key = None;
                self.screen = Screen::Groups;
                self.invalidate_rows();
                self.show_info(format!("namespace: {ns}"));
            }
            ("ctx" | "context" | "cluster", None) => self.show_error(format!(
                "usage: :ctx NAME or :ctx all (known: {})",
                self.cluster_names().join(", ")
            )),
            ("ctx" | "context" | "cluster", Some(name)) => {
                let known = self.cluster_names();
                if name == "all" {
                    self.narrow_to_cluster(None);
                } else if known.iter().any(|c| c == name) {
                    self.narrow_to_cluster(Some(name.to_string()));
                } else {
                    self.show_error(format!(
                        "unknown cluster \"{name}\" (known: {})",
                        known.join(", ")
                    ));
                }
            }
            ("by", Some(what @ ("cluster" | "app"))) => {
                self.groups.by_cluster = what == "cluster";
                self.groups.selected = 0;
                self.groups.selected_key = None;
                self.screen = Screen::Groups;
                self.invalidate_rows();
                self.show_info(format!("grouped by {what}"));
            }
            ("by", _) => self.show_error("usage: :by cluster or :by app".into()),
            _ => self.show_error(format!("unknown command \":{cmd}\" ({USAGE})")),
        }
        None
    }

    /// Tab on the command line: completes the command word, then group names, namespaces
    /// or contexts; with several candidates it completes their common start and lists them.
    pub(super) fn complete_command(&mut self) {
        let Some(line) = self.input.as_ref() else {
            return;
        };
        let value = line.input.value().to_string();
        let (head, word, candidates): (String, &str, BTreeSet<String>) = match value.split_once(' ')
        {
            None => (
                String::new(),
                value.as_str(),
                COMMANDS.iter().map(|c| c.to_string()).collect(),
            ),
            Some((cmd, arg)) => {
                let pool: BTreeSet<String> = match cmd {
                    "group" | "g" | "groups" | "audit" => self
                        .estate
                        .groups()
                        .map(|e| e.group.name().to_string())
                        .collect(),
                    "ns" | "namespace" => self
                        .estate
                        .groups()
                        .map(|e| e.group.spec.namespace.clone())
                        .chain(["all".to_string()])
                        .collect(),
                    "ctx" | "context" | "cluster" => self.cluster_names().into_iter().collect(),
                    _ => BTreeSet::new(),
                };
                (format!("{cmd} "), arg.trim_start(), pool)
            }
        };
        let hits: Vec<&String> = candidates.iter().filter(|c| c.starts_with(word)).collect();
        let Some(first) = hits.first() else {
            return;
        };
        let common = hits.iter().fold(first.to_string(), |acc, h| {
            acc.chars()
                .zip(h.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect()
        });
        let mut completed = format!("{head}{common}");
        if hits.len() == 1 && head.is_empty() {
            completed.push(' ');
        }
        if hits.len() > 1 {
            let shown: Vec<&str> = hits.iter().take(8).map(|h| h.as_str()).collect();
            let more = if hits.len() > 8 { " …" } else { "" };
            self.show_info(format!("{}{more}", shown.join("  ")));
        }
        if let Some(line) = self.input.as_mut() {
            line.input = tui_input::Input::new(completed);
        }
    }
}
