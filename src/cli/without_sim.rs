//! `flightdeck demo` and `flightdeck sim` in a build without the simulated cluster
//! (`--no-default-features`): the commands stay known, so whoever types them hears why
//! they cannot run rather than "unrecognised subcommand".

use super::{CliError, Exit, Global};

/// Whatever was typed after `demo` or `sim`; none of it can be used here.
#[derive(Debug, clap::Args)]
pub struct WithoutSimArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

pub type DemoArgs = WithoutSimArgs;
pub type SimArgs = WithoutSimArgs;

pub async fn run(_global: &Global, _args: WithoutSimArgs) -> Result<(), CliError> {
    Err(CliError::new(
        Exit::BadInput,
        "this flightdeck was built without the simulated cluster (cargo feature `sim`), so it has no `demo` or `sim`",
    ))
}
