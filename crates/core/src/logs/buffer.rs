//! The ring buffer behind a log view: bounded by lines and by bytes, oldest out first, and
//! it counts what it dropped so the view can say so. Every line has a sequence number that
//! stays with it, so a paused view keeps its place while lines come and go.

use std::collections::VecDeque;

use super::line::LogLine;

/// Limits of one buffer. The defaults suit a bastion host shared by many people: a
/// million lines of about 120 bytes stays well under 200 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    pub max_lines: usize,
    pub max_bytes: usize,
}

impl Default for BufferLimits {
    fn default() -> Self {
        BufferLimits {
            max_lines: 200_000,
            max_bytes: 64 << 20,
        }
    }
}

#[derive(Debug)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    /// Sequence number of `lines[0]`.
    first_seq: u64,
    bytes: usize,
    dropped: u64,
    limits: BufferLimits,
}

impl LogBuffer {
    pub fn new(limits: BufferLimits) -> LogBuffer {
        LogBuffer {
            lines: VecDeque::new(),
            first_seq: 0,
            bytes: 0,
            dropped: 0,
            limits: BufferLimits {
                max_lines: limits.max_lines.max(1),
                max_bytes: limits.max_bytes.max(1),
            },
        }
    }

    /// Appends a line and returns its sequence number; the oldest lines go when a limit is
    /// passed (the newest line always stays, however long).
    pub fn push(&mut self, line: LogLine) -> u64 {
        self.bytes += line.cost();
        self.lines.push_back(line);
        while self.lines.len() > 1
            && (self.lines.len() > self.limits.max_lines || self.bytes > self.limits.max_bytes)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.cost();
                self.first_seq += 1;
                self.dropped += 1;
            }
        }
        self.end_seq() - 1
    }

    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        let i = seq.checked_sub(self.first_seq)?;
        self.lines.get(usize::try_from(i).ok()?)
    }

    /// The oldest sequence number still held.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// One past the newest sequence number.
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.lines.len() as u64
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Lines pushed out by the limits since the buffer was made.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn limits(&self) -> BufferLimits {
        self.limits
    }

    /// `(seq, line)` from oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, &LogLine)> {
        let first = self.first_seq;
        self.lines
            .iter()
            .enumerate()
            .map(move |(i, l)| (first + i as u64, l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> LogLine {
        LogLine::log(0, None, text)
    }

    #[test]
    fn the_line_limit_drops_the_oldest_and_counts_them() {
        let mut b = LogBuffer::new(BufferLimits {
            max_lines: 3,
            max_bytes: usize::MAX,
        });
        for i in 0..5 {
            assert_eq!(b.push(line(&format!("l{i}"))), i);
        }
        assert_eq!((b.len(), b.dropped(), b.first_seq()), (3, 2, 2));
        assert_eq!(&*b.get(2).unwrap().text, "l2");
        assert!(b.get(1).is_none());
        assert_eq!(&*b.get(4).unwrap().text, "l4");
    }

    #[test]
    fn the_byte_limit_holds_but_keeps_one_long_line_whole() {
        let per = line("x").cost();
        let mut b = LogBuffer::new(BufferLimits {
            max_lines: 100,
            max_bytes: per * 2,
        });
        b.push(line("a"));
        b.push(line("b"));
        b.push(line("c"));
        assert_eq!((b.len(), b.dropped()), (2, 1));
        let long = "y".repeat(10_000);
        b.push(line(&long));
        assert_eq!(b.len(), 1);
        assert_eq!(b.get(b.end_seq() - 1).unwrap().text.len(), 10_000);
        assert_eq!(b.bytes(), line(&long).cost());
    }
}
