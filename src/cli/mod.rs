//! The command line (DESIGN.md §6): one file per command group. Each command returns an
//! [`ExitCode`] from the design's table: 0 done, 1 refused, 2 bad input, 3 store or cluster
//! unreachable.

pub mod agent;
pub mod audit;
mod bootstrap;
pub mod clusters;
pub mod console;
pub mod context;
#[cfg(feature = "sim")]
pub mod demo;
mod docs;
pub mod files;
pub mod groups;
pub mod history;
pub mod logs;
pub mod output;
pub mod policy;
pub mod release;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(not(feature = "sim"))]
mod without_sim;
#[cfg(not(feature = "sim"))]
use without_sim as demo;
#[cfg(not(feature = "sim"))]
use without_sim as sim;
pub mod status;
pub mod target;
pub mod templates;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine;

/// Exit codes of DESIGN.md §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done = 0,
    Refused = 1,
    BadInput = 2,
    Unreachable = 3,
}

/// An error for the user: one line, and the exit code it means.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
        }
    }

    /// Stdout was closed by its reader (`| head -1`): stop writing, exit 0, say nothing
    /// (see [`output`]).
    pub fn closed() -> Self {
        CliError::new(Exit::Done, "")
    }

    pub fn is_closed(&self) -> bool {
        self.exit == Exit::Done && self.message.is_empty()
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "flightdeck",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("FLIGHTDECK_COMMIT"), ")"),
    about = "A terminal release console for Kubernetes"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Args)]
pub struct Global {
    /// Kubeconfig file (else KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (else the current one).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Platform store: etcd://host:2379[,host:2379] or mem://.
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_STORE",
        default_value = "mem://",
        value_name = "URL"
    )]
    pub store: String,
    /// Diagnostics level for the log file (an env-filter expression, e.g. debug or flightdeck=trace).
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_LOG",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: String,
    /// Theme: default, light, high-contrast, mono (NO_COLOR forces mono).
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap: default or vim.
    #[arg(long, global = true, value_name = "NAME")]
    pub keymap: Option<String>,
    /// etcd user (etcd auth); the password comes from FLIGHTDECK_ETCD_PASSWORD or --etcd-password-file.
    #[arg(long, global = true, env = "FLIGHTDECK_ETCD_USER", value_name = "NAME")]
    pub etcd_user: Option<String>,
    /// File holding the etcd password (first line).
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_password_file: Option<PathBuf>,
    /// CA bundle for etcd's server certificate (switches to TLS).
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_ca: Option<PathBuf>,
    /// Client certificate for etcd's --client-cert-auth.
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_cert: Option<PathBuf>,
    /// Client key for --etcd-cert.
    #[arg(long, global = true, value_name = "FILE")]
    pub etcd_key: Option<PathBuf>,
    /// Single-user mode on an etcd without auth: you are your OS user, unproven (the
    /// console says `unauthenticated`). Without it, an etcd store needs a login.
    #[arg(long, global = true, env = "FLIGHTDECK_LOCAL")]
    pub local: bool,
    /// How long to wait for the release controller's answer.
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_WAIT",
        default_value = "15s",
        value_name = "DURATION"
    )]
    pub wait: String,
    /// Prometheus for groups whose health source is `prometheus` (e.g.
    /// http://prometheus:9090): the controller's analyses and every console's live health.
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_PROMETHEUS_URL",
        value_name = "URL"
    )]
    pub prometheus_url: Option<String>,
    /// Key prefix in etcd.
    #[arg(long, global = true, default_value = crate::store::DEFAULT_PREFIX, value_name = "PREFIX")]
    pub etcd_prefix: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulated cluster + in-memory store + the console; no set-up.
    Demo(demo::DemoArgs),
    /// A group's pod logs, prefixed by pod: logs GROUP [--track canary] [--grep RE] [-f].
    Logs(logs::LogsArgs),
    /// Run the simulated cluster alone (for kubectl, tests and benchmarks).
    Sim(sim::SimArgs),
    /// Instance groups: list, or apply a YAML file.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Templates: list, or apply a YAML file.
    #[command(subcommand)]
    Templates(templates::TemplatesCommand),
    /// Releases at a glance, or one group in detail.
    Status(status::StatusArgs),
    /// Start a release of a new tag (the first deploy goes straight to stable).
    Deploy(release::DeployArgs),
    /// Advance the release past the step it waits at.
    Step(release::GroupArgs),
    /// Hold the release where it is.
    Pause(release::GroupArgs),
    /// Let a paused release go on.
    Resume(release::GroupArgs),
    /// Finish the release now: the canary becomes stable.
    Promote(release::GroupArgs),
    /// All traffic back to stable at once; the canary goes to 0.
    Abort(release::GroupArgs),
    /// Rolling restart of one track's pods.
    Restart(release::RestartArgs),
    /// Set the canary's share of traffic now (0–100).
    Weight(release::WeightArgs),
    /// Make an older revision stable again, at once.
    Rollback(release::RollbackArgs),
    /// A cron group: no more scheduled runs until `resume` (a running Job goes on).
    Suspend(release::GroupArgs),
    /// A cron group: run its Job now, from the CronJob's template.
    Trigger(release::GroupArgs),
    /// A cron group: stop its running Job (or the one named), deleting its pods.
    Kill(release::KillArgs),
    /// Every revision of a group: what it changed, who deployed it, how long it ran as
    /// stable, how its release ended.
    History(history::HistoryArgs),
    /// What one revision renders differently from another (default: the stable one).
    Diff(history::DiffArgs),
    /// The audit log, or `audit verify` to check its hash chain.
    Audit(audit::AuditArgs),
    /// Who may do what: show, or apply a YAML file.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// The release controller: answers requests; timed pauses, analysis, auto-abort, re-apply.
    Agent(agent::AgentArgs),
    /// Registered clusters: add (public facts only), list.
    #[command(subcommand)]
    Clusters(clusters::ClustersCommand),
    /// etcd roles and users for the controller and for people.
    #[command(subcommand)]
    Admin(bootstrap::AdminCommand),
    /// Shell completions on stdout: `flightdeck completions bash > /etc/bash_completion.d/flightdeck`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: `flightdeck man | man -l -`.
    Man,
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    use engine::Action;
    let g = &cli.global;
    let Some(command) = cli.command else {
        return console::run(g).await;
    };
    match command {
        Command::Demo(args) => demo::run(g, args).await,
        Command::Sim(args) => sim::run(g, args).await,
        Command::Groups(cmd) => groups::run(g, cmd).await,
        Command::Templates(cmd) => templates::run(g, cmd).await,
        Command::Status(args) => status::run(g, args).await,
        Command::Deploy(a) => match &a.tag_from {
            Some(from) => release::deploy_from(g, &a, from).await,
            None => release::act(g, &a.group, a.action()?, &a.opts).await,
        },
        Command::Step(a) => release::act(g, &a.group, Action::Step, &a.opts).await,
        Command::Pause(a) => release::act(g, &a.group, Action::Pause, &a.opts).await,
        Command::Resume(a) => release::act(g, &a.group, Action::Resume, &a.opts).await,
        Command::Promote(a) => release::act(g, &a.group, Action::Promote, &a.opts).await,
        Command::Abort(a) => release::act(g, &a.group, Action::Abort, &a.opts).await,
        Command::Restart(a) => release::act(g, &a.group, a.action(), &a.opts).await,
        Command::Weight(a) => release::act(g, &a.group, a.action()?, &a.opts).await,
        Command::Rollback(a) => {
            let action = Action::Rollback {
                to_revision: a.to_revision,
            };
            release::act(g, &a.group, action, &a.opts).await
        }
        Command::Suspend(a) => release::act(g, &a.group, Action::Suspend, &a.opts).await,
        Command::Trigger(a) => release::act(g, &a.group, Action::Trigger, &a.opts).await,
        Command::Kill(a) => {
            let action = Action::Kill { job: a.job.clone() };
            release::act(g, &a.group, action, &a.opts).await
        }
        Command::Audit(args) => audit::run(g, args).await,
        Command::History(args) => history::history_run(g, args).await,
        Command::Diff(args) => history::diff_run(g, args).await,
        Command::Policy(cmd) => policy::run(g, cmd).await,
        Command::Logs(args) => logs::run(g, args).await,
        Command::Agent(args) => agent::run(g, args).await,
        Command::Clusters(cmd) => clusters::run(g, cmd).await,
        Command::Admin(cmd) => bootstrap::run(g, cmd).await,
        Command::Completions { shell } => docs::completions(shell),
        Command::Man => docs::man(),
    }
}
