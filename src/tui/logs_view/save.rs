//! Saving lines to a file: what the view shows (narrowing and filter applied) or the whole
//! buffer, as plain text with the pod and, when shown, the time.

use std::io::Write;
use std::path::Path;

use super::LogsView;
use crate::logs::LogLine;

impl LogsView {
    /// The line as text for a file or stdout: `pod[/container] [time] text`.
    pub fn plain(&self, line: &LogLine, timestamps: bool) -> String {
        let mut out = String::with_capacity(line.text.len() + 48);
        if let Some(s) = self.sources.get(line.source) {
            out.push_str(&s.label(self.sources.multi_container(line.source)));
            out.push(' ');
        }
        if timestamps && let Some(t) = line.time() {
            out.push_str(&t.to_string());
            out.push(' ');
        }
        out.push_str(&line.text);
        out
    }

    /// Writes the lines and says how it went in the notice. A save is a deliberate act the
    /// user waits for, so it runs here rather than as a background task.
    pub fn save(&mut self, path: &Path, all: bool) {
        let result = (|| -> std::io::Result<usize> {
            let file = std::fs::File::create(path)?;
            let mut w = std::io::BufWriter::new(file);
            let mut n = 0;
            for (_, line) in self.buffer.iter() {
                if all || self.shown(line) {
                    writeln!(w, "{}", self.plain(line, self.timestamps))?;
                    n += 1;
                }
            }
            w.flush()?;
            Ok(n)
        })();
        self.notice = Some(match result {
            Ok(n) => format!("saved {n} lines to {}", path.display()),
            Err(e) => format!("cannot save to {}: {e}", path.display()),
        });
    }
}
