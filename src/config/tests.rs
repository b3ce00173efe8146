use ratatui::style::{Color, Modifier};

use super::*;
use crate::config::action::Action;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn err(files: &[(&str, &str)]) -> String {
    let dir = dir_with(files);
    let e = load_from_dir(dir.path(), None, None, false).unwrap_err();
    // The directory's own path is not the point; the file name, line and key are.
    e.to_string()
        .replace(&format!("{}/", dir.path().display()), "")
}

#[test]
fn no_files_means_the_defaults() {
    let dir = dir_with(&[]);
    let (theme, keymap) = load_from_dir(dir.path(), None, None, false).unwrap();
    assert_eq!(theme, Theme::built_in("default").unwrap());
    assert_eq!(keymap, Keymap::built_in("default").unwrap());
}

#[test]
fn config_toml_picks_the_built_ins_and_the_command_line_wins() {
    let dir = dir_with(&[(
        "config.toml",
        "theme = \"light\"\nkeymap = \"vim\"\nstore = \"mem://\"\n",
    )]);
    let (theme, keymap) = load_from_dir(dir.path(), None, None, false).unwrap();
    assert_eq!(
        (theme.name.as_str(), keymap.name.as_str()),
        ("light", "vim")
    );
    let (theme, _) = load_from_dir(dir.path(), Some("high-contrast"), None, false).unwrap();
    assert_eq!(theme.name, "high-contrast");
}

#[test]
fn a_theme_file_changes_only_the_keys_it_names() {
    let dir = dir_with(&[("theme.toml", "# mine\nwarning = \"#ff8800 underline\"\n")]);
    let (theme, _) = load_from_dir(dir.path(), None, None, false).unwrap();
    let base = Theme::built_in("default").unwrap();
    assert_eq!(theme.warning.fg, Some(Color::Rgb(0xff, 0x88, 0)));
    assert!(theme.warning.add_modifier.contains(Modifier::UNDERLINED));
    assert_eq!(
        Theme {
            warning: base.warning,
            ..theme
        },
        base
    );
}

#[test]
fn a_keymap_file_changes_only_the_actions_it_names() {
    let dir = dir_with(&[("keymap.toml", "[groups]\nsort-next = [\"o\", \"f2\"]\n")]);
    let (_, keymap) = load_from_dir(dir.path(), None, None, false).unwrap();
    let base = Keymap::built_in("default").unwrap();
    let o = Key::parse("o").unwrap();
    assert_eq!(keymap.action(Mode::Groups, o), Some(Action::SortNext));
    assert_eq!(keymap.action(Mode::Groups, Key::parse("s").unwrap()), None);
    for mode in Mode::ALL {
        for a in Action::all().filter(|a| *a != Action::SortNext) {
            assert_eq!(keymap.keys(mode, a), base.keys(mode, a), "[{mode}] {a}");
        }
    }
}

#[test]
fn no_color_gives_mono_whatever_was_chosen() {
    let dir = dir_with(&[("config.toml", "theme = \"high-contrast\"\n")]);
    let (theme, _) = load_from_dir(dir.path(), Some("light"), None, true).unwrap();
    assert_eq!(theme.name, "mono");
    assert!(
        theme
            .styles()
            .iter()
            .all(|s| s.fg.is_none() && s.bg.is_none())
    );
}

#[test]
fn a_bad_colour_names_file_line_and_key() {
    assert_eq!(
        err(&[("theme.toml", "fg = \"white\"\n\nwarning = \"reddish\"\n")]),
        "theme.toml line 3: key \"warning\": unknown colour \"reddish\""
    );
}

#[test]
fn an_unknown_theme_key_is_refused() {
    assert_eq!(
        err(&[("theme.toml", "warn = \"red\"\n")]),
        format!(
            "theme.toml line 1: key \"warn\": unknown key (known: {})",
            theme::KEYS.join(", ")
        )
    );
}

#[test]
fn an_unknown_action_names_file_line_and_key() {
    let msg = err(&[("keymap.toml", "[groups]\nup = [\"k\"]\nopne = [\"o\"]\n")]);
    assert!(
        msg.starts_with(
            "keymap.toml line 3: key \"opne\": unknown action (known in [groups]: up, down"
        ),
        "{msg}"
    );
}

#[test]
fn an_unreadable_key_names_file_line_and_key() {
    assert_eq!(
        err(&[("keymap.toml", "[global]\nquit = [\"ctrl-\"]\n")]),
        "keymap.toml line 2: key \"quit\": cannot read key \"ctrl-\""
    );
}

#[test]
fn one_key_for_two_actions_in_a_mode_is_a_conflict() {
    assert_eq!(
        err(&[("keymap.toml", "[groups]\n\nfilter = [\"s\"]\n")]),
        "keymap.toml line 3: key \"filter\": \"s\" is already bound to \"sort-next\" in [groups]"
    );
    assert_eq!(
        err(&[("keymap.toml", "[groups]\nup = [\"x\"]\ndown = [\"x\"]\n")]),
        "keymap.toml line 3: key \"down\": \"x\" is already bound to \"up\" in [groups]"
    );
}

#[test]
fn an_action_in_the_wrong_mode_is_refused() {
    assert_eq!(
        err(&[("keymap.toml", "[input]\nquit = [\"q\"]\n")]),
        "keymap.toml line 2: key \"quit\": action not available in [input]"
    );
}

#[test]
fn broken_toml_names_file_and_line() {
    let msg = err(&[("theme.toml", "fg = \"white\"\nwarning = \n")]);
    assert!(msg.starts_with("theme.toml line 2: "), "{msg}");
}

#[test]
fn an_unknown_built_in_in_config_toml_names_the_line() {
    assert_eq!(
        err(&[("config.toml", "keymap = \"emacs\"\n")]),
        "config.toml line 1: key \"keymap\": unknown keymap \"emacs\" (built in: default, vim)"
    );
    let dir = dir_with(&[]);
    assert_eq!(
        load_from_dir(dir.path(), Some("neon"), None, false)
            .unwrap_err()
            .to_string(),
        "unknown theme \"neon\" (built in: default, light, high-contrast, mono)"
    );
}

#[test]
fn paths_under_home_are_shown_with_a_tilde() {
    let shown = error::display_path(
        Path::new("/home/ann/.config/flightdeck/theme.toml"),
        Some(Path::new("/home/ann")),
    );
    assert_eq!(shown, "~/.config/flightdeck/theme.toml");
}
