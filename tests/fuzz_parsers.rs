//! Fuzzing on a stable toolchain: property tests that feed arbitrary input to every parser
//! of outside input (issue 10, point 8). Each target asserts that nothing panics and that a
//! refusal is one line. Cases per target: `FLIGHTDECK_FUZZ_CASES` (default 256, so the
//! ordinary test run stays fast); `tools/fuzz [CASES]` runs them in release mode and prints
//! each target's time. Inputs that broke a parser are kept in `tests/fuzz_corpus/<parser>/`
//! and replayed by `the_corpus_is_refused_on_one_line_or_accepted` on every run.

use std::collections::BTreeMap;
use std::time::Instant;

use flightdeck::authz::Policy;
use flightdeck::cli::files::SourceFile;
use flightdeck::domain::audit::{AuditHead, verify_chain};
use flightdeck::domain::{AuditEntry, InstanceGroup, Template, Track};
use flightdeck::engine::render::render;
use flightdeck::logs::line::parse_raw;
use flightdeck::model::sanitize::{clean, clean_text};
use flightdeck::sim::Scenario;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

fn cases() -> u32 {
    std::env::var("FLIGHTDECK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Runs `test` on `cases()` inputs from `strategy` and prints the target's time.
fn fuzz<S: Strategy>(
    target: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let n = cases();
    let mut runner = TestRunner::new(Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    });
    let start = Instant::now();
    if let Err(e) = runner.run(&strategy, test) {
        panic!("fuzz {target}: {e}");
    }
    eprintln!(
        "fuzz {target}: {n} cases in {:.1} s, no panic",
        start.elapsed().as_secs_f64()
    );
}

fn one_line(what: &str, msg: &str) -> Result<(), TestCaseError> {
    prop_assert!(!msg.contains('\n'), "{what}: message not one line: {msg:?}");
    prop_assert!(!msg.is_empty(), "{what}: empty message");
    Ok(())
}

// ---------------------------------------------------------------- input shapes

/// Keys the parsers know (so random documents get past the first level) and some they don't.
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "app",
    "spec",
    "cluster",
    "namespace",
    "template",
    "params",
    "image",
    "tag",
    "port",
    "replicas",
    "body",
    "kinds",
    "strategy",
    "steps",
    "weight",
    "pause",
    "health",
    "router",
    "bindings",
    "role",
    "users",
    "groups",
    "scope",
    "rules",
    "behaviour",
    "errorRate",
    "latencyMs",
    "min",
    "max",
    "timings",
    "seq",
    "id",
    "time",
    "user",
    "action",
    "target",
    "request",
    "before",
    "after",
    "outcome",
    "reason",
    "prev",
    "hash",
    "source",
    "via",
    "request_id",
    "fg",
    "bg",
    "header",
    "accent",
    "warning",
    "error",
    "ok",
    "muted",
    "global",
    "quit",
    "up",
    "down",
    "open",
    "",
    "x",
    "<<",
    "*",
    "-",
];

/// Scalars that tend to be interesting: edge numbers, YAML specials, control characters.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "flightdeck/v1",
            "InstanceGroup",
            "Template",
            "Policy",
            "admin",
            "viewer",
            "deployer",
            "releaser",
            "*",
            "prod-*",
            "Deployment",
            "Service",
            "fail",
            "crash",
            "ok",
            "allowed",
            "denied",
            "~",
            "null",
            "yes",
            ".nan",
            "-.inf",
            "0x1F",
            "1e999",
            "red bold",
            "on #ff8800",
            "ctrl-c",
            "shift-",
            "f99",
            "{{ x }}",
            "{% if %}",
            "\u{1b}[31m",
            "a\nb",
            "\t",
            "",
        ])
        .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

/// A JSON value built from known keys and random scalars, a few levels deep.
fn structured() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn to_yaml(v: &Value) -> String {
    serde_norway::to_string(v).unwrap_or_default()
}

/// TOML written by hand: top-level keys and one level of tables, values as random as TOML
/// allows (and sometimes not).
fn to_toml(v: &Value) -> String {
    fn scalar(v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => format!("{s:?}"),
            Value::Array(a) => format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(", ")),
            Value::Object(o) => format!(
                "{{ {} }}",
                o.iter()
                    .map(|(k, v)| format!("{k:?} = {}", scalar(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => other.to_string(),
        }
    }
    let mut out = String::new();
    let Value::Object(o) = v else {
        return scalar(v);
    };
    let (tables, plain): (Vec<_>, Vec<_>) = o.iter().partition(|(_, v)| v.is_object());
    for (k, v) in plain {
        out.push_str(&format!("{k} = {}\n", scalar(v)));
    }
    for (k, v) in tables {
        out.push_str(&format!("[{k}]\n"));
        for (k2, v2) in v.as_object().into_iter().flatten() {
            out.push_str(&format!("{k2} = {}\n", scalar(v2)));
        }
    }
    out
}

/// A real file cut, spliced or sprinkled with random text.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<String>(),
        0..4u8,
    )
        .prop_map(move |(at, len, junk, how)| {
            let mut s = base.to_string();
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            match how {
                0 => s.truncate(i),
                1 => s.insert_str(i, &junk),
                2 => {
                    let mut j = (i + len.index(64)).min(s.len());
                    while !s.is_char_boundary(j) {
                        j -= 1;
                    }
                    s.replace_range(i..j, &junk);
                }
                _ => s.push_str(&junk),
            }
            s
        })
}

/// Text for a YAML parser: random, a random document as YAML or JSON, or a real file mutated.
fn yaml_text(base: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        2 => structured().prop_map(|v| to_yaml(&v)),
        1 => structured().prop_map(|v| v.to_string()),
        3 => mutated(base),
    ]
}

fn toml_text(base: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        3 => structured().prop_map(|v| to_toml(&v)),
        3 => mutated(base),
    ]
}

const GROUP: &str = include_str!("../assets/groups/checkout.yaml");
const TEMPLATE: &str = include_str!("../assets/templates/service.yaml");
const POLICY: &str = include_str!("../assets/policy.yaml");
const SCENARIO: &str = include_str!("../assets/scenario.yaml");
const THEME: &str = include_str!("../themes/high-contrast.toml");
const KEYMAP: &str = include_str!("../keymaps/vim.toml");

// ---------------------------------------------------------------- YAML files

#[test]
fn group_files() {
    fuzz("group files", yaml_text(GROUP), |text| {
        if let Err(e) = SourceFile::from_text("g.yaml", &text).parse_all::<InstanceGroup>() {
            one_line("group file", &e.message)?;
        }
        Ok(())
    });
}

#[test]
fn template_files() {
    fuzz("template files", yaml_text(TEMPLATE), |text| {
        if let Err(e) = SourceFile::from_text("t.yaml", &text).parse_all::<Template>() {
            one_line("template file", &e.message)?;
        }
        Ok(())
    });
}

#[test]
fn policy_files() {
    fuzz("policy files", yaml_text(POLICY), |text| {
        if let Err(e) = Policy::from_yaml(&text) {
            one_line("policy file", &e.to_string())?;
        }
        Ok(())
    });
}

#[test]
fn scenario_files() {
    fuzz("scenario files", yaml_text(SCENARIO), |text| {
        if let Err((_, message)) = Scenario::from_yaml(&text) {
            one_line("scenario file", &message)?;
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- TOML files

/// Writes `file` into a fresh config directory and loads it as the console would.
fn config_target(target: &str, file: &'static str, base: &'static str) {
    let dir = tempfile::tempdir().unwrap();
    fuzz(target, toml_text(base), |text| {
        std::fs::write(dir.path().join(file), &text).unwrap();
        if let Err(e) = flightdeck::config::load_from_dir(dir.path(), None, None, false) {
            one_line(target, &e.to_string())?;
        }
        Ok(())
    });
}

#[test]
fn theme_files() {
    config_target("theme files", "theme.toml", THEME);
}

#[test]
fn keymap_files() {
    config_target("keymap files", "keymap.toml", KEYMAP);
}

#[test]
fn config_files() {
    config_target(
        "config files",
        "config.toml",
        "theme = \"light\"\nkeymap = \"vim\"\n",
    );
}

// ---------------------------------------------------------------- audit entries

fn audit_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        structured(),
        // Every member an entry has, each with a random value.
        prop::collection::vec(scalar(), 16).prop_map(|vals| {
            let names = [
                "seq",
                "id",
                "time",
                "user",
                "action",
                "target",
                "request",
                "before",
                "after",
                "outcome",
                "reason",
                "request_id",
                "via",
                "prev",
                "hash",
                "extra",
            ];
            Value::Object(names.iter().map(|n| n.to_string()).zip(vals).collect())
        }),
    ]
}

#[test]
fn audit_entry_bytes() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        audit_value().prop_map(|v| v.to_string().into_bytes()),
    ];
    fuzz("audit entry bytes", bytes, |bytes| {
        let _ = serde_json::from_slice::<AuditEntry>(&bytes);
        Ok(())
    });
}

#[test]
fn audit_chains() {
    let chain = (
        prop::collection::vec((any::<u64>(), audit_value()), 0..6),
        prop::option::of((any::<u64>(), any::<String>())),
    );
    fuzz("audit chains", chain, |(entries, head)| {
        let _ = serde_json::from_value::<AuditEntry>(
            entries.first().map(|e| e.1.clone()).unwrap_or(Value::Null),
        );
        let head = head.map(|(seq, hash)| AuditHead { seq, hash });
        if let Err(e) = verify_chain(&entries, head.as_ref()) {
            one_line("audit chain", &e.reason)?;
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- log lines

/// Text full of escape sequences and control characters, and their pieces.
fn terminal_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        any::<char>().prop_map(String::from),
        (0u32..0xa0).prop_map(|c| char::from_u32(c).unwrap().to_string()),
        prop::sample::select(vec![
            "\u{1b}",
            "\u{1b}[",
            "\u{1b}[31m",
            "\u{1b}]0;title\u{7}",
            "\u{1b}]8;;x\u{1b}\\",
            "\u{1b}P",
            "\u{1b}(B",
            "\u{9b}",
            "\u{9d}",
            "\u{90}",
            "\u{9c}",
            "\r",
            "\n",
            "\t",
            "\u{7f}",
            "\u{2028}",
            "2026-01-02T03:04:05.5Z ",
            " ",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

fn no_controls(text: &str, newlines: bool) -> Result<(), TestCaseError> {
    let bad = text
        .chars()
        .find(|c| c.is_control() && !(newlines && *c == '\n'));
    prop_assert!(bad.is_none(), "control {bad:?} left in {text:?}");
    Ok(())
}

#[test]
fn log_line_cleaning() {
    fuzz(
        "log-line cleaning",
        (terminal_text(), any::<bool>()),
        |(s, keep)| {
            no_controls(&clean(&s), false)?;
            no_controls(&clean_text(&s, keep), keep)?;
            Ok(())
        },
    );
}

#[test]
fn raw_log_lines() {
    let raw = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        terminal_text().prop_map(String::into_bytes),
    ];
    fuzz(
        "raw log lines",
        (raw, any::<bool>()),
        |(raw, timestamped)| {
            let (_, text) = parse_raw(&raw, timestamped);
            no_controls(&text, false)
        },
    );
}

// ---------------------------------------------------------------- template parameters

fn param_value() -> impl Strategy<Value = Value> {
    let s = prop_oneof![
        any::<String>(),
        prop::sample::select(vec![
            "nginx",
            "v1",
            "x\nnamespace: other",
            "other\n---\nkind: Secret",
            "}}{{",
            "{% raw %}",
            "\" }, namespace: other, x: {\"",
            "'",
            "\"",
            "#",
            "&a",
            "*a",
            "!!str",
            "- a",
            "a: b",
            "kube-system",
            "8080",
            "-1",
            "1e10",
        ])
        .prop_map(str::to_string),
    ];
    prop_oneof![
        s.prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        structured(),
    ]
}

#[test]
fn template_parameters() {
    let template: Template = serde_norway::from_str(TEMPLATE).unwrap();
    let group: InstanceGroup = SourceFile::from_text("g.yaml", GROUP)
        .parse_all::<InstanceGroup>()
        .unwrap()
        .remove(0)
        .0;
    let ns = group.spec.namespace.clone();
    let params = prop::collection::btree_map(
        prop_oneof![
            3 => prop::sample::select(vec!["image", "tag", "port", "replicas"]).prop_map(str::to_string),
            1 => key(),
        ],
        param_value(),
        0..6,
    );
    // Mostly on top of the parameters the template needs, so that most cases render.
    let params = (params, any::<bool>()).prop_map(|(mut p, fill)| {
        if fill {
            for (k, v) in [
                ("image", "nginx".into()),
                ("tag", "v1".into()),
                ("port", 8080.into()),
            ] {
                p.entry(k.to_string()).or_insert(v);
            }
        }
        p
    });
    fuzz(
        "template parameters",
        (params, any::<bool>(), any::<u32>()),
        |(params, canary, replicas)| {
            let track = if canary { Track::Canary } else { Track::Stable };
            let params: BTreeMap<String, Value> = params;
            if let Ok(objects) = render(&template, &group, track, &params, replicas) {
                for o in &objects {
                    let got = o.pointer("/metadata/namespace").and_then(Value::as_str);
                    prop_assert_eq!(got, Some(ns.as_str()), "object {} outside the group", o);
                }
            }
            Ok(())
        },
    );
}

/// Found by `theme_files`: a quoted key holding a newline made a two-line message.
#[test]
fn a_theme_key_with_a_newline_is_refused_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("theme.toml"), "[\"a\\nb\"]\n").unwrap();
    let e = flightdeck::config::load_from_dir(dir.path(), None, None, false).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.ends_with("line 1: key \"a\\nb\": expected a string, e.g. \"yellow bold\""),
        "{msg}"
    );
}

/// Found by `keymap_files`: a key name holding a newline, quoted in the message.
#[test]
fn a_keymap_value_with_a_newline_is_refused_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[global]\nquit = [\"q\\n\"]\n",
    )
    .unwrap();
    let e = flightdeck::config::load_from_dir(dir.path(), None, None, false).unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains('\n') && msg.contains("q\\n"), "{msg}");
}

/// Found by `scenario_files` in the million-case run: a key holding a newline, quoted in
/// the parser's message.
#[test]
fn a_scenario_key_with_a_newline_is_refused_on_one_line() {
    let (_, msg) = flightdeck::sim::Scenario::from_yaml("\"a\\nb\": 1\n").unwrap_err();
    assert!(!msg.contains('\n'), "{msg:?}");
    assert!(msg.contains("a\\nb"), "the key is shown, escaped: {msg}");
}

/// The corpus in `tests/fuzz_corpus/<parser>/`: inputs that once broke a parser (or came
/// close), replayed on every test run — each is accepted or refused on one line.
#[test]
fn the_corpus_is_refused_on_one_line_or_accepted() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let mut seen = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let parser = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let what = format!("{}", path.display());
            let refusal = match parser.as_str() {
                "scenario" => Scenario::from_yaml(&text).err().map(|(_, m)| m),
                "policy" => Policy::from_yaml(&text).err().map(|e| e.to_string()),
                "group" => SourceFile::from_text("g.yaml", &text)
                    .parse_all::<InstanceGroup>()
                    .err()
                    .map(|e| e.message),
                "template" => SourceFile::from_text("t.yaml", &text)
                    .parse_all::<Template>()
                    .err()
                    .map(|e| e.message),
                "theme" | "keymap" | "config" => {
                    let config = tempfile::tempdir().unwrap();
                    std::fs::write(config.path().join(format!("{parser}.toml")), &text).unwrap();
                    flightdeck::config::load_from_dir(config.path(), None, None, false)
                        .err()
                        .map(|e| e.to_string())
                }
                other => panic!("{what}: no parser called {other}"),
            };
            if let Some(msg) = refusal {
                assert!(!msg.contains('\n') && !msg.is_empty(), "{what}: {msg:?}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 8, "the corpus is there: {seen} files");
}
