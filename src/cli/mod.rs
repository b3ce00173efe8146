//! The command line (DESIGN.md §6): one file per command group. Each command returns an
//! [`ExitCode`] from the design's table: 0 done, 1 refused, 2 bad input, 3 store or cluster
//! unreachable.

pub mod agent;
pub mod args;
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
pub mod import;
mod instances;
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

use crate::engine;

/// What `--version` says: the commit too (stamped by build.rs), for an on-call engineer
/// comparing two bastions' binaries. The parser's definitions (`args`) read it from here.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FLIGHTDECK_COMMIT"),
    ")"
);

// `args` cannot name flightdeck's constants (build.rs compiles it alone), so it holds
// copies; these make a copy that drifts a compile error.
const _: () = assert!(args::CHECKPOINT_EVERY == crate::controller::checkpoint::EVERY);
const _: () = assert!(same_str(args::DEFAULT_PREFIX, crate::store::DEFAULT_PREFIX));

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

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

pub use args::{Cli, Command, Global};

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
        Command::Drain(a) => {
            let action = Action::Drain {
                pod: a.pod.clone(),
                for_pod: None,
            };
            release::act(g, &a.group, action, &a.opts).await
        }
        Command::Instances(args) => instances::run(g, args).await,
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
