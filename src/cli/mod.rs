//! The command line (DESIGN.md §6): one file per command group. Each command returns an
//! [`ExitCode`] from the design's table: 0 done, 1 refused, 2 bad input, 3 store or cluster
//! unreachable.

pub mod agent;
pub mod console;
pub mod context;
pub mod demo;
pub mod sim;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
}

#[derive(Debug, Parser)]
#[command(
    name = "flightdeck",
    version,
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
    /// Key prefix in etcd.
    #[arg(long, global = true, default_value = crate::store::DEFAULT_PREFIX, value_name = "PREFIX")]
    pub etcd_prefix: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulated cluster + in-memory store + the console; no set-up.
    Demo(demo::DemoArgs),
    /// Run the simulated cluster alone (for kubectl, tests and benchmarks).
    Sim(sim::SimArgs),
    /// Headless: timed pauses, analysis steps, automatic abort, re-apply.
    Agent(agent::AgentArgs),
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        None => console::run(&cli.global).await,
        Some(Command::Demo(args)) => demo::run(&cli.global, args).await,
        Some(Command::Sim(args)) => sim::run(args).await,
        Some(Command::Agent(args)) => agent::run(&cli.global, args).await,
    }
}
