//! Search and filter over a log buffer: one regex, the sequence numbers of the lines it
//! matches kept up to date as lines arrive, so `n`/`N` and the filtered view never rescan
//! a million lines per frame.

use std::collections::VecDeque;

use regex::Regex;

use super::buffer::LogBuffer;
use super::line::{LineKind, LogLine};

#[derive(Debug, thiserror::Error)]
#[error("bad search pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

/// A compiled search. Case-insensitive unless the pattern has an upper-case letter, the
/// way `less` and vim's smartcase do it.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        let smart = if pattern.chars().any(char::is_uppercase) {
            pattern.to_string()
        } else {
            format!("(?i){pattern}")
        };
        let regex = regex::RegexBuilder::new(&smart)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| PatternError {
                pattern: pattern.to_string(),
                reason: e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            })?;
        Ok(Pattern {
            source: pattern.to_string(),
            regex,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// Byte ranges of the matches in `text`, for highlighting.
    pub fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        self.regex
            .find_iter(text)
            .filter(|m| !m.is_empty())
            .map(|m| (m.start(), m.end()))
            .collect()
    }
}

/// The lines of a buffer the pattern matches (markers always match: a gap must show
/// through a filter).
#[derive(Debug)]
pub struct MatchIndex {
    pattern: Pattern,
    seqs: VecDeque<u64>,
}

impl MatchIndex {
    pub fn build(pattern: Pattern, buffer: &LogBuffer) -> MatchIndex {
        let seqs = buffer
            .iter()
            .filter(|(_, l)| matches(&pattern, l))
            .map(|(s, _)| s)
            .collect();
        MatchIndex { pattern, seqs }
    }

    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// Call after each push, with the new line's sequence number.
    pub fn on_push(&mut self, seq: u64, line: &LogLine, buffer: &LogBuffer) {
        if matches(&self.pattern, line) {
            self.seqs.push_back(seq);
        }
        let first = buffer.first_seq();
        while self.seqs.front().is_some_and(|s| *s < first) {
            self.seqs.pop_front();
        }
    }

    pub fn seqs(&self) -> &VecDeque<u64> {
        &self.seqs
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.seqs.binary_search(&seq).is_ok()
    }

    /// How many matching lines come at or before `seq`.
    pub fn rank(&self, seq: u64) -> usize {
        self.seqs.partition_point(|s| *s <= seq)
    }
}

pub fn matches(p: &Pattern, l: &LogLine) -> bool {
    l.kind == LineKind::Marker || p.is_match(&l.text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::buffer::BufferLimits;

    #[test]
    fn smartcase_and_bad_patterns() {
        let p = Pattern::new("error").unwrap();
        assert!(p.is_match("ERROR: x"));
        assert!(!Pattern::new("Error").unwrap().is_match("error"));
        let e = Pattern::new("a(").unwrap_err();
        assert!(e.to_string().contains("a("), "{e}");
        assert_eq!(p.ranges("error, error"), [(0, 5), (7, 12)]);
    }

    #[test]
    fn the_index_follows_pushes_and_evictions() {
        let mut b = LogBuffer::new(BufferLimits {
            max_lines: 4,
            max_bytes: usize::MAX,
        });
        let mut ix = MatchIndex::build(Pattern::new(" 5\\d\\d ").unwrap(), &b);
        for (i, t) in [
            "a 200 x", "b 503 x", "c 200 x", "d 500 x", "e 200 x", "f 502 x",
        ]
        .iter()
        .enumerate()
        {
            let line = LogLine::log(0, None, *t);
            let seq = b.push(line.clone());
            assert_eq!(seq, i as u64);
            ix.on_push(seq, &line, &b);
        }
        assert_eq!(ix.seqs().iter().copied().collect::<Vec<_>>(), [3, 5]);
        assert_eq!(ix.rank(4), 1);
        assert!(ix.contains(5) && !ix.contains(4));
    }
}
