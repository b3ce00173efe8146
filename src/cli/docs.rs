//! `flightdeck completions SHELL` and `flightdeck man`: generated from the same clap
//! definitions as the parser, so they cannot drift from what the binary accepts.

use clap::CommandFactory;

use super::output::write_stdout;
use super::{Cli, CliError};

pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "flightdeck", &mut out);
    write_stdout(&out)
}

pub fn man() -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| {
            CliError::new(
                super::Exit::Refused,
                format!("cannot render the man page: {e}"),
            )
        })?;
    write_stdout(&out)
}
