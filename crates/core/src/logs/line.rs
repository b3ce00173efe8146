//! One log line as the buffer keeps it: cleaned of anything a terminal would act on, with
//! the time the container wrote it when the API server said.

use jiff::Timestamp;

use crate::model::sanitize;

/// Index into the [`super::PodTable`]: which pod and container a line came from.
pub type SourceId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A line the container wrote.
    Log,
    /// A line flightdeck wrote into the stream: a gap, a pod joining or leaving.
    Marker,
}

/// What a marker line says; the words the viewer and `flightdeck logs` print.
pub const RESTARTED: &str = "— stream restarted, lines may be missing —";
pub const JOINED: &str = "— pod joined —";
pub const GONE: &str = "— pod deleted —";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub source: SourceId,
    pub kind: LineKind,
    /// Unix nanoseconds, or `i64::MIN` when unknown.
    pub time_ns: i64,
    /// Safe to draw: no control characters, valid UTF-8. Kept whole however long.
    pub text: Box<str>,
}

impl LogLine {
    pub fn log(source: SourceId, time_ns: Option<i64>, text: impl Into<Box<str>>) -> LogLine {
        LogLine {
            source,
            kind: LineKind::Log,
            time_ns: time_ns.unwrap_or(i64::MIN),
            text: text.into(),
        }
    }

    pub fn marker(source: SourceId, time_ns: Option<i64>, text: &str) -> LogLine {
        LogLine {
            source,
            kind: LineKind::Marker,
            time_ns: time_ns.unwrap_or(i64::MIN),
            text: text.into(),
        }
    }

    pub fn time(&self) -> Option<Timestamp> {
        if self.time_ns == i64::MIN {
            return None;
        }
        Timestamp::from_nanosecond(i128::from(self.time_ns)).ok()
    }

    /// What the line costs the buffer: its text and its slot.
    pub fn cost(&self) -> usize {
        self.text.len() + std::mem::size_of::<LogLine>()
    }
}

/// A raw line from the API server (without its newline): invalid UTF-8 replaced, the
/// `timestamps=true` prefix split off when `timestamped`, control sequences stripped.
pub fn parse_raw(raw: &[u8], timestamped: bool) -> (Option<i64>, String) {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let text = String::from_utf8_lossy(raw);
    let (time, rest) = if timestamped {
        match text.split_once(' ') {
            Some((t, rest)) => match t.parse::<Timestamp>() {
                Ok(t) => (Some(t.as_nanosecond() as i64), rest),
                Err(_) => (None, &*text),
            },
            None => match text.parse::<Timestamp>() {
                Ok(t) => (Some(t.as_nanosecond() as i64), ""),
                Err(_) => (None, &*text),
            },
        }
    } else {
        (None, &*text)
    };
    (time, sanitize::clean(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_split_and_escapes_go() {
        let (t, text) = parse_raw(
            b"2026-01-02T03:04:05.5Z \x1b[31mred\x1b[0m \x1b]0;title\x07ok",
            true,
        );
        assert_eq!(t, Some(1_767_323_045_500_000_000));
        assert_eq!(text, "red ok");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        let (t, text) = parse_raw(b"caf\xe9 \xff end\r", false);
        assert_eq!(t, None);
        assert_eq!(text, "caf\u{fffd} \u{fffd} end");
    }

    #[test]
    fn a_line_without_a_timestamp_keeps_its_text() {
        let (t, text) = parse_raw(b"no timestamp here", true);
        assert_eq!((t, text.as_str()), (None, "no timestamp here"));
    }
}
