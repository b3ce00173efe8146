use std::process::ExitCode;

use clap::Parser;
use flightdeck::cli::{self, Cli};

fn main() -> ExitCode {
    flightdeck::tui::bench::mark_process_start();
    // glibc gives every thread that allocates its own arena; a console's few worker
    // threads then hold many half-empty heaps. Two arenas keep the resident set small at
    // no measurable cost to a program this lightly threaded.
    // SAFETY: mallopt only tunes the allocator; called before any other thread exists.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    let cli = Cli::parse();
    let _log = match flightdeck::logging::init(&cli.global.log_level) {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("flightdeck: {e:#} (continuing without a log file)");
            None
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), command = ?std::env::args().nth(1), "flightdeck starting");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("flightdeck: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(message = %e.message, "command failed");
            eprintln!("flightdeck: {}", e.message);
            ExitCode::from(e.exit as u8)
        }
    }
}
