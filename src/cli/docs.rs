//! `flightdeck completions SHELL` and `flightdeck man`: print what build.rs generated from
//! the parser's definitions (`cli/args`), so packagers can also take the files from the
//! build and the binary carries no generator.

use clap_complete::Shell;

use super::output::write_stdout;
use super::{CliError, Exit};

pub fn completions(shell: Shell) -> Result<(), CliError> {
    let script = match shell {
        Shell::Bash => include_str!(concat!(env!("OUT_DIR"), "/completions/flightdeck.bash")),
        Shell::Zsh => include_str!(concat!(env!("OUT_DIR"), "/completions/flightdeck.zsh")),
        Shell::Fish => include_str!(concat!(env!("OUT_DIR"), "/completions/flightdeck.fish")),
        Shell::Elvish => include_str!(concat!(env!("OUT_DIR"), "/completions/flightdeck.elvish")),
        Shell::PowerShell => {
            include_str!(concat!(
                env!("OUT_DIR"),
                "/completions/flightdeck.powershell"
            ))
        }
        // Shell is non-exhaustive: a shell clap_complete adds later was not generated.
        other => {
            return Err(CliError::new(
                Exit::BadInput,
                format!("no completions were built for {other}"),
            ));
        }
    };
    write_stdout(script.as_bytes())
}

pub fn man() -> Result<(), CliError> {
    write_stdout(include_bytes!(concat!(env!("OUT_DIR"), "/flightdeck.1")))
}
