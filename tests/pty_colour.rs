//! Colour as the terminal and the user say, on the whole binary in tmux (issue 13, point
//! 1): with `NO_COLOR` inside `TERM=screen-256color` the screen carries no colour at all,
//! only the attributes the mono theme reads by (bold, reverse…); 24-bit colour only when
//! `COLORTERM` says `truecolor`, else the nearest of the 256. Read back with
//! `capture-pane -e`, which writes every cell's style as SGR escapes.

mod support;

use std::time::Duration;

use support::tmux::Tmux;
use support::world::World;

/// The SGR parameters of every `ESC [ … m` on the captured screen, one list per escape.
fn sgr(screen: &str) -> Vec<Vec<u16>> {
    let mut out = Vec::new();
    let mut rest = screen;
    while let Some(at) = rest.find("\x1b[") {
        rest = &rest[at + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
            .unwrap_or(rest.len());
        if rest[end..].starts_with('m') {
            out.push(
                rest[..end]
                    .split([';', ':'])
                    .map(|p| p.parse().unwrap_or(0))
                    .collect(),
            );
        }
        rest = &rest[end..];
    }
    out
}

#[derive(Debug, Default)]
struct Styles {
    /// Basic and bright colours (30–37, 40–47, 90–97, 100–107).
    basic: usize,
    /// `38;5;n` / `48;5;n` (tmux writes the basic colours this way too), with the colours.
    indexed: Vec<u16>,
    /// `38;2;r;g;b` / `48;2;r;g;b`, with the colours seen.
    rgb: Vec<(u16, u16, u16)>,
    /// Attributes: bold, dim, italic, underline, reverse…
    attributes: Vec<u16>,
}

impl Styles {
    fn of(screen: &str) -> Styles {
        let mut s = Styles::default();
        for params in sgr(screen) {
            let mut i = 0;
            while i < params.len() {
                match params[i] {
                    38 | 48 if params.get(i + 1) == Some(&5) => {
                        s.indexed.push(params.get(i + 2).copied().unwrap_or(0));
                        i += 3;
                        continue;
                    }
                    38 | 48 if params.get(i + 1) == Some(&2) => {
                        let c = |k| params.get(i + k).copied().unwrap_or(0);
                        s.rgb.push((c(2), c(3), c(4)));
                        i += 5;
                        continue;
                    }
                    30..=37 | 40..=47 | 90..=97 | 100..=107 => s.basic += 1,
                    a @ 1..=9 => s.attributes.push(a),
                    _ => {}
                }
                i += 1;
            }
        }
        s
    }

    fn colours(&self) -> usize {
        self.basic + self.indexed.len() + self.rgb.len()
    }
}

/// A theme with two 24-bit colours, so that truecolor has something to show.
const THEME: &str = "accent = \"#ff8800 bold\"\nheader = \"#00aaff bold\"\n";

fn styled_screen(t: &Tmux) -> String {
    t.wait_for("the groups list", Duration::from_secs(30), |s| {
        s.contains("checkout-web") && s.contains("user-info-grpc")
    });
    // One more frame after the list filled in.
    std::thread::sleep(Duration::from_millis(500));
    t.screen_styled()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_color_draws_only_attributes_and_truecolor_only_when_the_terminal_says_so() {
    let w = World::builder().demo(7, 2).start().await;
    let config = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(config.path().join("flightdeck")).unwrap();
    std::fs::write(config.path().join("flightdeck/theme.toml"), THEME).unwrap();
    let config = config.path().display().to_string();
    let console = |name: &str, env: &[(&str, &str)]| {
        let mut c = w
            .console(name)
            .size(100, 30)
            .env("XDG_CONFIG_HOME", &config)
            .env("TERM", "screen-256color");
        for (k, v) in env {
            c = c.env(k, v);
        }
        c.start()
    };
    let mono = console("mono", &[("NO_COLOR", "1")]);
    let plain = console("c256", &[]);
    let truecolor = console("truecolor", &[("COLORTERM", "truecolor")]);

    let screen = styled_screen(&mono);
    let s = Styles::of(&screen);
    assert_eq!(
        s.colours(),
        0,
        "NO_COLOR: no colour escapes at all ({s:?}):\n{screen:?}"
    );
    // Still readable: the headings are bold and the selected row is reversed.
    assert!(
        s.attributes.contains(&1) && s.attributes.contains(&7),
        "bold and reverse carry the mono theme ({s:?})"
    );

    let screen = styled_screen(&plain);
    let s = Styles::of(&screen);
    assert!(
        s.rgb.is_empty(),
        "no 24-bit colour without COLORTERM ({s:?})"
    );
    // #ff8800 and #00aaff are 208 and 39 in xterm's 256.
    assert!(
        s.indexed.contains(&208) && s.indexed.contains(&39),
        "the theme's 24-bit colours become the nearest of the 256 ({s:?})"
    );

    let screen = styled_screen(&truecolor);
    let s = Styles::of(&screen);
    assert!(
        s.rgb.contains(&(0xff, 0x88, 0x00)) && s.rgb.contains(&(0x00, 0xaa, 0xff)),
        "COLORTERM=truecolor draws the theme's own colours ({s:?})"
    );

    for t in [&mono, &plain, &truecolor] {
        t.send(&["q"]);
        t.wait_text("EXIT=0", Duration::from_secs(10));
    }
}
