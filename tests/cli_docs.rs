//! What a newcomer installs with the binary: `--version` naming the commit, shell
//! completions that the shells accept, and a man page, all from the parser's definitions.
//! build.rs generates them at build time from `src/cli/args`; the binary prints its copies.

mod support;

use std::process::Command;

use clap::CommandFactory;
use flightdeck::cli::Cli;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(support::cli::bin())
        .args(args)
        .output()
        .expect("run flightdeck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_commit() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    let commit = out
        .split(['(', ')'])
        .nth(1)
        .unwrap_or_else(|| panic!("no commit in {out:?}"));
    let hex = commit.trim_end_matches("+changes");
    assert!(
        hex == "unknown commit" || (hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit())),
        "{out:?}"
    );
}

#[test]
fn completions_cover_every_command_and_bash_accepts_them() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        for word in ["deploy", "rollback", "audit", "agent"] {
            assert!(out.contains(word), "{shell} completions lack {word}");
        }
    }
    let (_, script, _) = run(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flightdeck.bash");
    std::fs::write(&path, script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is bad input: {err}");
}

#[test]
fn the_man_page_describes_the_commands() {
    let (code, page, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        page.starts_with(".ie") || page.contains(".TH flightdeck 1"),
        "{page}"
    );
    assert!(page.contains("A terminal release console for Kubernetes"));
    for command in ["deploy", "weight", "rollback", "audit"] {
        assert!(page.contains(command), "the man page lacks {command}");
    }
}

/// The embedded copies are what the parser the binary runs with generates: build.rs compiled
/// the same definitions, not an older or different set.
#[test]
fn the_built_completions_and_man_page_match_the_parser() {
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let mut expected = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "flightdeck", &mut expected);
        let (code, out, err) = run(&["completions", &shell.to_string()]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.as_bytes() == expected.as_slice(),
            "{shell} completions differ from the parser's"
        );
    }
    let mut expected = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut expected)
        .unwrap();
    let (code, page, err) = run(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        page.as_bytes() == expected.as_slice(),
        "the man page differs from the parser's"
    );
    // The page names the version --version prints, commit included.
    let (_, version, _) = run(&["--version"]);
    let version = version.trim().trim_start_matches("flightdeck ");
    assert!(page.contains(version), "the man page lacks {version:?}");
}

/// A build without the simulated cluster keeps `demo` and `sim` in its parser, and says
/// in one line why they cannot run (checked only when such a binary was built, as
/// tools/test does: `cargo build --no-default-features`).
#[test]
fn demo_without_the_simulated_cluster_says_so() {
    let Some(bin) = std::env::var_os("FLIGHTDECK_NO_SIM_BIN") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let kubeconfig = kubeconfig.to_str().unwrap();
    for args in [
        &["demo", "--groups", "3"][..],
        &["sim", "--kubeconfig-out", kubeconfig],
    ] {
        let command = args[0];
        let out = Command::new(&bin).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert_eq!(err.lines().count(), 1, "{command}: {err}");
        assert!(err.contains("without the simulated cluster"), "{err}");
    }
    assert!(
        !dir.path().join("kubeconfig").exists(),
        "sim wrote a kubeconfig"
    );
}
