use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use flightdeck::cli::{self, Cli};

fn main() -> ExitCode {
    flightdeck::tui::bench::mark_process_start();
    // glibc gives every thread that allocates its own arena; a console's few worker
    // threads then hold many half-empty heaps. Two arenas keep the resident set small at
    // no measurable cost to a program this lightly threaded.
    // Only glibc has mallopt; musl and macOS allocators need no such tuning.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2)
    };
    // A page of a list is read into buffers of a megabyte or so. glibc serves the first
    // from mmap and gives it back, then raises its threshold and serves the next ones from
    // the heap, where small rows allocated meanwhile pin them: at 6,000 pods that was
    // 6–10 MB of peak RSS (`cargo bench --bench memory`). A fixed threshold keeps big
    // buffers in mmap, returned when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as above.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024)
    };
    quiet_on_closed_stdout();
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
        // The reader closed stdout (`| head -1`): not an error (cli::output explains).
        Err(e) if e.is_closed() => ExitCode::SUCCESS,
        Err(e) => {
            // Messages may quote store or cluster text: never a raw control sequence.
            let message = flightdeck::model::sanitize::clean(&e.message);
            tracing::error!(%message, "command failed");
            let _ = writeln!(std::io::stderr(), "flightdeck: {message}");
            ExitCode::from(e.exit as u8)
        }
    }
}

/// Commands write through `cli::output`, which ends quietly on a closed stdout. Should a
/// stray `println!` meet one (Rust ignores SIGPIPE, so it panics instead), exit the same
/// way — 0, nothing on stderr — rather than print a panic at whoever piped us into `head`.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if text.starts_with("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
