//! `flightdeck demo` and `flightdeck sim` in a build without the simulated cluster
//! (`--no-default-features`): the commands stay in the parser (and the man page), so
//! whoever types them hears why they cannot run rather than "unrecognised subcommand".

use super::{CliError, Exit, Global};

pub async fn run<A>(_global: &Global, _args: A) -> Result<(), CliError> {
    Err(CliError::new(
        Exit::BadInput,
        "this flightdeck was built without the simulated cluster (cargo feature `sim`), so it has no `demo` or `sim`",
    ))
}
