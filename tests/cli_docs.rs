//! What a newcomer installs with the binary: `--version` naming the commit, shell
//! completions that the shells accept, and a man page, all from the parser's definitions.

mod support;

use std::process::Command;

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
