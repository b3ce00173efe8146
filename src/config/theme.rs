//! Colours and emphasis, as data: `themes/*.toml` are embedded; a user's `theme.toml`
//! changes only the keys it names. Every key but `fg`/`bg` holds a style: colours and
//! modifiers separated by spaces, `on COLOUR` for the background, e.g. `"black on cyan
//! bold"`, `"reverse"`, `"#ff8800 underline"`.

use ratatui::style::{Color, Modifier, Style};

use super::error::{ConfigError, Source};

pub const BUILT_IN: &[&str] = &["default", "light", "high-contrast", "mono"];

fn embedded(name: &str) -> Option<&'static str> {
    Some(match name {
        "default" => include_str!("../../themes/default.toml"),
        "light" => include_str!("../../themes/light.toml"),
        "high-contrast" => include_str!("../../themes/high-contrast.toml"),
        "mono" => include_str!("../../themes/mono.toml"),
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Plain text: the `fg` and `bg` keys.
    pub text: Style,
    /// Header lines and table headings.
    pub header: Style,
    /// Titles, the selected column of the sort, the input line's prompt.
    pub accent: Style,
    pub warning: Style,
    pub error: Style,
    pub ok: Style,
    /// Less important text: ages, hints, app headings' rules.
    pub muted: Style,
    /// The selected row.
    pub selection: Style,
    pub canary: Style,
    pub stable: Style,
    pub border: Style,
}

impl Theme {
    /// The theme with every 24-bit colour turned into the nearest of the 256 a terminal
    /// without truecolor has: what to draw with unless `COLORTERM` says `truecolor` or
    /// `24bit` (tmux's `screen-256color`, many SSH sessions).
    pub fn without_truecolor(mut self) -> Theme {
        for style in [
            &mut self.text,
            &mut self.header,
            &mut self.accent,
            &mut self.warning,
            &mut self.error,
            &mut self.ok,
            &mut self.muted,
            &mut self.selection,
            &mut self.canary,
            &mut self.stable,
            &mut self.border,
        ] {
            style.fg = style.fg.map(to_256);
            style.bg = style.bg.map(to_256);
        }
        self
    }
}

/// Whether the terminal says it draws 24-bit colour.
pub fn truecolor_terminal() -> bool {
    std::env::var("COLORTERM").is_ok_and(|v| v == "truecolor" || v == "24bit")
}

/// The nearest xterm-256 colour (the 6×6×6 cube or the grey ramp) to an RGB one.
fn to_256(c: Color) -> Color {
    let Color::Rgb(r, g, b) = c else {
        return c;
    };
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let level = |v: u8| {
        (0..6)
            .min_by_key(|i| (i32::from(LEVELS[*i]) - i32::from(v)).abs())
            .unwrap_or(0)
    };
    let (ri, gi, bi) = (level(r), level(g), level(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let grey_i = ((u32::from(r) + u32::from(g) + u32::from(b)) / 3).saturating_sub(8) / 10;
    let grey_i = grey_i.min(23) as u8;
    let grey = 8 + 10 * grey_i;
    let dist = |(x, y, z): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(x, r) + d(y, g) + d(z, b)
    };
    if dist((grey, grey, grey)) < dist(cube) {
        Color::Indexed(232 + grey_i)
    } else {
        Color::Indexed(16 + 36 * ri as u8 + 6 * gi as u8 + bi as u8)
    }
}

/// The keys a theme file may set, in the order the built-ins list them.
pub const KEYS: &[&str] = &[
    "fg",
    "bg",
    "header",
    "accent",
    "warning",
    "error",
    "ok",
    "muted",
    "selection",
    "canary",
    "stable",
    "border",
];

impl Default for Theme {
    fn default() -> Self {
        Theme::built_in("default").unwrap_or_else(|_| Theme::blank("default"))
    }
}

impl Theme {
    fn blank(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            text: Style::default(),
            header: Style::default(),
            accent: Style::default(),
            warning: Style::default(),
            error: Style::default(),
            ok: Style::default(),
            muted: Style::default(),
            selection: Style::default(),
            canary: Style::default(),
            stable: Style::default(),
            border: Style::default(),
        }
    }

    pub fn built_in(name: &str) -> Result<Theme, ConfigError> {
        let text = embedded(name).ok_or_else(|| ConfigError::UnknownTheme(name.to_string()))?;
        let mut theme = Theme::blank(name);
        theme.apply(&Source::new(format!("built-in theme \"{name}\""), text))?;
        Ok(theme)
    }

    /// Lays the keys of a TOML file over this theme; keys not in the file stay.
    pub(crate) fn apply(&mut self, src: &Source<'_>) -> Result<(), ConfigError> {
        let table = src.parse()?;
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            let span = key.span();
            let Some(text) = value.get_ref().as_str() else {
                return Err(src.key_error(span, name, "expected a string, e.g. \"yellow bold\""));
            };
            match name {
                "fg" => {
                    self.text.fg = colour(text).map_err(|m| src.key_error(span.clone(), name, m))?
                }
                "bg" => {
                    self.text.bg = colour(text).map_err(|m| src.key_error(span.clone(), name, m))?
                }
                _ => {
                    let style =
                        parse_style(text).map_err(|m| src.key_error(span.clone(), name, m))?;
                    let Some(slot) = self.slot(name) else {
                        return Err(src.key_error(
                            span,
                            name,
                            format!("unknown key (known: {})", KEYS.join(", ")),
                        ));
                    };
                    *slot = style;
                }
            }
        }
        Ok(())
    }

    fn slot(&mut self, key: &str) -> Option<&mut Style> {
        Some(match key {
            "header" => &mut self.header,
            "accent" => &mut self.accent,
            "warning" => &mut self.warning,
            "error" => &mut self.error,
            "ok" => &mut self.ok,
            "muted" => &mut self.muted,
            "selection" => &mut self.selection,
            "canary" => &mut self.canary,
            "stable" => &mut self.stable,
            "border" => &mut self.border,
            _ => return None,
        })
    }

    /// Every style the theme holds, to check a theme as a whole (e.g. mono has no colour).
    pub fn styles(&self) -> [Style; 11] {
        [
            self.text,
            self.header,
            self.accent,
            self.warning,
            self.error,
            self.ok,
            self.muted,
            self.selection,
            self.canary,
            self.stable,
            self.border,
        ]
    }
}

/// `"yellow"`, `"#ff8800"`, `"214"`; `"default"` leaves the terminal's own colour.
fn colour(text: &str) -> Result<Option<Color>, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "default" || t == "reset" || t.is_empty() {
        return Ok(None);
    }
    let c = match t.as_str() {
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" | "dark-gray" | "dark-grey" => Color::DarkGray,
        "lightred" | "light-red" => Color::LightRed,
        "lightgreen" | "light-green" => Color::LightGreen,
        "lightyellow" | "light-yellow" => Color::LightYellow,
        "lightblue" | "light-blue" => Color::LightBlue,
        "lightmagenta" | "light-magenta" => Color::LightMagenta,
        "lightcyan" | "light-cyan" => Color::LightCyan,
        "white" => Color::White,
        hex if hex.starts_with('#') && hex.len() == 7 => {
            let n = u32::from_str_radix(&hex[1..], 16)
                .map_err(|_| format!("unknown colour \"{text}\""))?;
            Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8)
        }
        n => Color::Indexed(
            n.parse()
                .map_err(|_| format!("unknown colour \"{text}\""))?,
        ),
    };
    Ok(Some(c))
}

fn parse_style(text: &str) -> Result<Style, String> {
    let mut style = Style::default();
    let mut words = text.split_whitespace();
    while let Some(w) = words.next() {
        let modifier = match w.to_ascii_lowercase().as_str() {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underline" | "underlined" => Some(Modifier::UNDERLINED),
            "reverse" | "reversed" => Some(Modifier::REVERSED),
            "crossed" | "crossed-out" => Some(Modifier::CROSSED_OUT),
            "on" => {
                let bg = words
                    .next()
                    .ok_or_else(|| "\"on\" needs a colour after it".to_string())?;
                style.bg = colour(bg)?;
                continue;
            }
            _ => None,
        };
        match modifier {
            Some(m) => style = style.add_modifier(m),
            None => style.fg = colour(w)?,
        }
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_and_sets_every_key() {
        for name in BUILT_IN {
            let text = embedded(name).unwrap();
            let table = toml::de::DeTable::parse(text).unwrap().into_inner();
            let keys: Vec<&str> = table.keys().map(|k| k.get_ref().as_ref()).collect();
            for k in KEYS {
                assert!(keys.contains(k), "theme {name} lacks {k}");
            }
            let t = Theme::built_in(name).unwrap();
            assert_eq!(t.name, *name);
        }
    }

    #[test]
    fn mono_uses_no_colour_only_emphasis() {
        let t = Theme::built_in("mono").unwrap();
        for s in t.styles() {
            assert_eq!((s.fg, s.bg), (None, None), "{s:?}");
        }
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
        assert!(t.warning.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn styles_read_colours_backgrounds_and_modifiers() {
        let s = parse_style("black on #ff8800 bold underline").unwrap();
        assert_eq!(s.fg, Some(Color::Black));
        assert_eq!(s.bg, Some(Color::Rgb(0xff, 0x88, 0)));
        assert_eq!(to_256(Color::Rgb(0xff, 0x88, 0)), Color::Indexed(208));
        assert_eq!(to_256(Color::Rgb(0x80, 0x80, 0x80)), Color::Indexed(244));
        assert_eq!(to_256(Color::Red), Color::Red);
        assert!(
            s.add_modifier
                .contains(Modifier::BOLD | Modifier::UNDERLINED)
        );
        assert_eq!(parse_style("214").unwrap().fg, Some(Color::Indexed(214)));
        assert_eq!(
            parse_style("reddish").unwrap_err(),
            "unknown colour \"reddish\""
        );
    }
}
