//! The viewer through real key events and a `TestBackend`: what a user sees.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::config::Theme;
use crate::logs::LogEvent;

fn view() -> LogsView {
    let mut v = LogsView::new("shop/web", BufferLimits::default());
    v.apply(LogEvent::Joined {
        pod: "web-a".into(),
        container: "app".into(),
        track: Track::Stable,
        initial: true,
    });
    v.apply(LogEvent::Joined {
        pod: "web-canary-b".into(),
        container: "app".into(),
        track: Track::Canary,
        initial: true,
    });
    v
}

fn lines(v: &mut LogsView, pod: &str, texts: impl IntoIterator<Item = String>) {
    v.apply(LogEvent::Lines {
        pod: pod.into(),
        container: "app".into(),
        lines: texts.into_iter().map(|t| (None, t)).collect(),
    });
}

fn screen(v: &LogsView, w: u16, h: u16) -> (Vec<String>, ratatui::buffer::Buffer) {
    let theme = Theme::built_in("default").unwrap();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        super::super::views::logs::draw(f, f.area(), v, &theme, &crate::config::Keymap::default());
    })
    .unwrap();
    let buf = t.backend().buffer().clone();
    let rows = (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect();
    (rows, buf)
}

fn key(v: &mut LogsView, code: KeyCode) -> LogsOutcome {
    v.on_key(
        KeyEvent::new(code, KeyModifiers::NONE),
        &crate::config::Keymap::default(),
    )
}

fn typed(v: &mut LogsView, text: &str) {
    for c in text.chars() {
        key(v, KeyCode::Char(c));
    }
}

#[test]
fn following_shows_the_newest_lines_tagged_by_pod() {
    let mut v = view();
    lines(
        &mut v,
        "web-a",
        (0..100).map(|i| format!("stable line {i}")),
    );
    lines(&mut v, "web-canary-b", ["canary says hi".to_string()]);
    let (rows, buf) = screen(&v, 80, 10);
    assert!(rows[0].contains("following"), "{rows:#?}");
    assert!(
        rows[7].contains("web-a") && rows[7].contains("stable line 99"),
        "{rows:#?}"
    );
    assert!(
        rows[8].contains("▲web-canary-b") && rows[8].contains("canary says hi"),
        "{rows:#?}"
    );
    // Stable and canary pods are drawn in different colours.
    let col = rows[8].find("▲").unwrap() as u16;
    assert_ne!(buf[(1, 7)].fg, buf[(col + 1, 8)].fg);
}

#[test]
fn scrolling_up_pauses_and_counts_new_lines_until_end() {
    let mut v = view();
    lines(&mut v, "web-a", (0..50).map(|i| format!("line {i}")));
    key(&mut v, KeyCode::Up);
    assert!(!v.following());
    lines(&mut v, "web-a", (50..57).map(|i| format!("line {i}")));
    let (rows, _) = screen(&v, 80, 10);
    assert!(rows[0].contains("paused · 7 new lines"), "{rows:#?}");
    assert!(
        rows[8].contains("line 48"),
        "paused view stays put: {rows:#?}"
    );
    key(&mut v, KeyCode::End);
    let (rows, _) = screen(&v, 80, 10);
    assert!(rows[0].contains("following"));
    assert!(rows[8].contains("line 56"), "{rows:#?}");
}

#[test]
fn search_highlights_and_n_moves_between_matches() {
    let mut v = view();
    lines(
        &mut v,
        "web-a",
        (0..40).map(|i| {
            if i % 10 == 3 {
                format!("req {i} status=500 boom")
            } else {
                format!("req {i} ok")
            }
        }),
    );
    key(&mut v, KeyCode::Char('/'));
    typed(&mut v, "5\\d\\d");
    key(&mut v, KeyCode::Enter);
    // The search jumps to the newest match above the end.
    let (rows, buf) = screen(&v, 80, 10);
    let y = rows
        .iter()
        .position(|r| r.contains("req 33 status=500"))
        .expect("match on screen") as u16;
    let x = rows[y as usize].find("500").unwrap() as u16;
    let theme = Theme::built_in("default").unwrap();
    assert_eq!(buf[(x, y)].bg, theme.selection.bg.unwrap_or_default());
    assert_ne!(buf[(x - 2, y)].bg, buf[(x, y)].bg);
    key(&mut v, KeyCode::Char('N'));
    let bottom = v.bottom_seq().unwrap();
    assert!(v.buffer().get(bottom).unwrap().text.contains("req 23"));
    key(&mut v, KeyCode::Char('n'));
    assert!(
        v.buffer()
            .get(v.bottom_seq().unwrap())
            .unwrap()
            .text
            .contains("req 33")
    );
}

#[test]
fn filter_shows_only_matching_lines_and_bad_patterns_say_why() {
    let mut v = view();
    key(&mut v, KeyCode::Char('/'));
    typed(&mut v, "a(");
    key(&mut v, KeyCode::Enter);
    assert!(v.notice.as_deref().unwrap().contains("bad search pattern"));
    lines(
        &mut v,
        "web-a",
        (0..30).map(|i| format!("req {i} {}", if i % 3 == 0 { "ERROR" } else { "fine" })),
    );
    v.set_search("error");
    key(&mut v, KeyCode::Char('f'));
    key(&mut v, KeyCode::End);
    let (rows, _) = screen(&v, 80, 14);
    let body: Vec<&String> = rows[1..13].iter().filter(|r| r.contains("req")).collect();
    assert_eq!(body.len(), 10, "{rows:#?}");
    assert!(body.iter().all(|r| r.contains("ERROR")));
    // Lines arriving keep the filter.
    lines(
        &mut v,
        "web-a",
        ["late fine".to_string(), "late ERROR".to_string()],
    );
    let (rows, _) = screen(&v, 80, 14);
    assert!(
        rows.iter().any(|r| r.contains("late ERROR"))
            && !rows.iter().any(|r| r.contains("late fine")),
        "{rows:#?}"
    );
}

#[test]
fn wrap_keeps_long_lines_whole_and_truncation_draws_one_row() {
    let mut v = view();
    let long = format!("start {} FIN", "x".repeat(300));
    lines(&mut v, "web-a", [long.clone()]);
    assert_eq!(
        &*v.buffer().get(v.bottom_seq().unwrap()).unwrap().text,
        long
    );
    let (rows, _) = screen(&v, 80, 12);
    assert!(
        rows[1].contains("start") && !rows.iter().any(|r| r.contains("FIN")),
        "{rows:#?}"
    );
    key(&mut v, KeyCode::Char('w'));
    let (rows, _) = screen(&v, 80, 12);
    let used: Vec<&String> = rows[1..11]
        .iter()
        .filter(|r| r.trim_end().contains('x') || r.contains("FIN"))
        .collect();
    assert!(used.len() >= 4, "{rows:#?}");
    assert!(used.last().unwrap().contains("FIN"));
}

#[test]
fn dropped_lines_are_announced() {
    let mut v = LogsView::new(
        "shop/web",
        BufferLimits {
            max_lines: 10,
            max_bytes: 1 << 20,
        },
    );
    lines(&mut v, "web-a", (0..25).map(|i| format!("l{i}")));
    let (rows, _) = screen(&v, 80, 10);
    assert!(rows[1].contains("15 older lines dropped"), "{rows:#?}");
}

#[test]
fn markers_show_restarts_joins_and_gone_pods() {
    let mut v = view();
    lines(&mut v, "web-a", ["before".to_string()]);
    v.apply(LogEvent::Restarted {
        pod: "web-a".into(),
        container: "app".into(),
    });
    v.apply(LogEvent::Joined {
        pod: "web-canary-c".into(),
        container: "app".into(),
        track: Track::Canary,
        initial: false,
    });
    v.apply(LogEvent::Gone {
        pod: "web-a".into(),
    });
    let (rows, _) = screen(&v, 80, 10);
    let text = rows.join("\n");
    assert!(
        text.contains("— stream restarted, lines may be missing —"),
        "{text}"
    );
    assert!(
        text.contains("web-canary-c") && text.contains("— pod joined —"),
        "{text}"
    );
    assert!(text.contains("— pod deleted —"), "{text}");
}

#[test]
fn escape_sequences_never_reach_the_screen() {
    let mut v = view();
    lines(
        &mut v,
        "web-a",
        ["\u{1b}]0;pwned\u{7}\u{1b}[2Jsafe\u{1b}[31m text".to_string()],
    );
    let (rows, buf) = screen(&v, 80, 6);
    assert!(rows.iter().any(|r| r.contains("safe text")), "{rows:#?}");
    assert!(buf.content().iter().all(|c| !c.symbol().contains('\u{1b}')));
}

#[test]
fn narrowing_to_the_canary_track_and_one_pod() {
    let mut v = view();
    lines(&mut v, "web-a", ["from stable".to_string()]);
    lines(&mut v, "web-canary-b", ["from canary".to_string()]);
    key(&mut v, KeyCode::Char('T'));
    assert_eq!(v.narrow, Narrow::Track(Track::Canary));
    let (rows, _) = screen(&v, 80, 8);
    assert!(
        rows.iter().any(|r| r.contains("from canary"))
            && !rows.iter().any(|r| r.contains("from stable"))
    );
    key(&mut v, KeyCode::Char('p'));
    assert_eq!(v.narrow, Narrow::Pod("web-a".into()));
    let (rows, _) = screen(&v, 80, 8);
    assert!(
        rows.iter().any(|r| r.contains("from stable"))
            && !rows.iter().any(|r| r.contains("from canary"))
    );
}

#[test]
fn save_writes_shown_lines_or_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = view();
    lines(&mut v, "web-a", ["a ok".to_string(), "b ERROR".to_string()]);
    v.set_search("error");
    v.toggle_filter();
    let shown = dir.path().join("shown.log");
    key(&mut v, KeyCode::Char('s'));
    let p = v.prompt.as_mut().unwrap();
    p.input = tui_input::Input::new(shown.display().to_string());
    key(&mut v, KeyCode::Enter);
    assert_eq!(std::fs::read_to_string(&shown).unwrap(), "web-a b ERROR\n");
    assert!(v.notice.as_deref().unwrap().starts_with("saved 1 lines"));
    let all = dir.path().join("all.log");
    v.save(&all, true);
    assert_eq!(
        std::fs::read_to_string(&all).unwrap(),
        "web-a a ok\nweb-a b ERROR\n"
    );
}

#[test]
fn l_on_a_group_opens_its_logs_and_esc_closes_them() {
    use crate::config::Keymap;
    use crate::domain::GroupKey;
    use crate::tui::app::state::{GroupState, Screen};
    use crate::tui::app::{App, AppInit, Effect};

    let mut app = App::new(AppInit {
        context: "sim".into(),
        contexts: vec!["sim".into()],
        user: "alice".into(),
        store: "mem://".into(),
        theme: Theme::built_in("default").unwrap(),
        keymap: Keymap::built_in("default").unwrap(),
        first_run: false,
    });
    app.screen = Screen::Group(GroupState::new(GroupKey::new("sim", "shop", "web")));
    let effect = app.on_key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE));
    let Some(Effect::OpenLogs { cluster, source }) = effect else {
        panic!("{effect:?}")
    };
    assert_eq!(cluster, "sim");
    assert_eq!(source.namespace, "shop");
    assert_eq!(source.label_selector(), "flightdeck.dev/group=web");
    app.on_log_event(LogEvent::Joined {
        pod: "web-1".into(),
        container: "app".into(),
        track: Track::Stable,
        initial: true,
    });
    app.on_log_event(LogEvent::Lines {
        pod: "web-1".into(),
        container: "app".into(),
        lines: vec![(None, "hello from web-1".into())],
    });
    let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    let text: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        text.contains("logs shop/web") && text.contains("hello from web-1"),
        "{text}"
    );
    // Keys the viewer owns stay with it: `q` closes the logs, not the console.
    let effect = app.on_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE));
    assert_eq!(effect, Some(Effect::CloseLogs));
    assert!(app.logs_view().is_none());
}

#[test]
fn the_viewer_keys_come_from_the_keymap_and_can_be_rebound() {
    use crate::config::error::Source;
    let mut km = crate::config::Keymap::default();
    km.apply(&Source::new("keymap.toml", "[logs]\nwrap = [\"W\"]\n"))
        .unwrap();
    let mut v = view();
    let before = v.wrap;
    let press = |v: &mut LogsView, c: char| {
        v.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), &km)
    };
    assert_eq!(press(&mut v, 'W'), LogsOutcome::Consumed);
    assert_ne!(v.wrap, before, "W wraps now");
    // `w` is no longer the viewer's: the console may use it.
    assert_eq!(press(&mut v, 'w'), LogsOutcome::Ignored);
    // The hint line follows the keymap.
    let theme = Theme::built_in("default").unwrap();
    let mut t = Terminal::new(TestBackend::new(120, 10)).unwrap();
    t.draw(|f| {
        super::super::views::logs::draw(f, f.area(), &v, &theme, &km);
    })
    .unwrap();
    let bottom: String = (0..120)
        .map(|x| t.backend().buffer()[(x, 9)].symbol().to_string())
        .collect();
    assert!(bottom.contains("W wrap"), "{bottom}");
}
