//! Stamps the build with the commit it was made from, for `flightdeck --version` (an
//! on-call engineer comparing two bastions' binaries needs more than "0.1.0"), and writes
//! the shell completions and the man page from the parser's own definitions into OUT_DIR
//! (`completions/flightdeck.<shell>`, `flightdeck.1`), which the binary embeds.

use std::path::Path;
use std::process::Command;

use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;

/// The command line's definitions, the very file the binary parses with (see its header).
#[path = "src/cli/args/mod.rs"]
mod args;

/// `args` names `super::VERSION`; the real one, with the commit, is set below at run time.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown commit".to_string());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    let suffix = if dirty { "+changes" } else { "" };
    let stamp = format!("{commit}{suffix}");
    println!("cargo:rustc-env=FLIGHTDECK_COMMIT={stamp}");
    // A new commit or checkout changes HEAD or the ref it points at.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    // A change to `args` rebuilds this script, and a rebuilt script runs again.

    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let out = Path::new(&out);
    // The same string as `cli::VERSION`, so the man page names the binary's version.
    let version: &'static str = Box::leak(format!("{VERSION} ({stamp})").into_boxed_str());
    let command = || args::Cli::command().version(version);

    let dir = out.join("completions");
    std::fs::create_dir_all(&dir).expect("create OUT_DIR/completions");
    for shell in Shell::value_variants() {
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut command(), "flightdeck", &mut script);
        let path = dir.join(format!("flightdeck.{shell}"));
        std::fs::write(&path, script).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command())
        .render(&mut page)
        .expect("render the man page");
    let path = out.join("flightdeck.1");
    std::fs::write(&path, page).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
