//! flightdeck builds where people run it (issue 13): Linux with glibc or musl, and macOS.
//! Every direct call into the C library is named here, and one that exists on only some of
//! those platforms must sit behind a `cfg`. A new `libc::` call fails this test until it is
//! listed — with the reason it is portable, or gated.

use std::path::Path;

/// POSIX calls that glibc, musl and macOS all have.
const PORTABLE: &[&str] = &[
    "umask",
    "getuid",
    "passwd",
    "getpwuid_r",
    "gethostname",
    "kill",
    "SIGTERM",
    "SIGKILL",
    "SIGSTOP",
    "SIGCONT",
    "pid_t",
];

/// Calls that exist on some platforms only, each with the `cfg` it must sit behind.
const GATED: &[(&str, &str)] = &[
    (
        "mallopt",
        r#"#[cfg(all(target_os = "linux", target_env = "gnu"))]"#,
    ),
    (
        "M_ARENA_MAX",
        r#"#[cfg(all(target_os = "linux", target_env = "gnu"))]"#,
    ),
    (
        "M_MMAP_THRESHOLD",
        r#"#[cfg(all(target_os = "linux", target_env = "gnu"))]"#,
    ),
];

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn every_c_library_call_is_portable_or_gated() {
    let mut files = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Every crate of the workspace ends up in the same binary.
    for dir in ["src", "crates/core/src", "crates/sim/src"] {
        sources(&root.join(dir), &mut files);
    }
    let mut seen = 0;
    for (path, text) in &files {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            for (at, _) in line.match_indices("libc::") {
                let name: String = line[at + 6..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                seen += 1;
                if PORTABLE.contains(&name.as_str()) {
                    continue;
                }
                let Some((_, cfg)) = GATED.iter().find(|(n, _)| *n == name) else {
                    panic!(
                        "{path}:{}: libc::{name} is not known to be portable; list it here or gate it",
                        i + 1
                    );
                };
                let gated = lines[i.saturating_sub(4)..i]
                    .iter()
                    .any(|l| l.trim() == *cfg);
                assert!(
                    gated,
                    "{path}:{}: libc::{name} must sit behind {cfg}",
                    i + 1
                );
            }
        }
    }
    assert!(
        seen > 0,
        "the scan found no libc calls at all: is it reading the crates' sources?"
    );
}
