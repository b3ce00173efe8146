//! Reading the YAML files people hand to `apply -f`: every document with the line it starts
//! on, so that any refusal — a parse error or a semantic one found later — names the file
//! and the line in one message.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::{CliError, Exit};

/// One YAML document of a file: its text and the 1-based line of the file it starts on.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub line: usize,
}

/// A file given with `-f`, read whole (`-` reads standard input).
pub struct SourceFile {
    pub name: String,
    pub documents: Vec<Document>,
}

impl SourceFile {
    pub fn read(path: &Path) -> Result<SourceFile, CliError> {
        let text = read_capped(path)?;
        Ok(SourceFile::from_text(path.display().to_string(), &text))
    }

    pub fn from_text(name: impl Into<String>, text: &str) -> SourceFile {
        SourceFile {
            name: name.into(),
            documents: split_documents(text),
        }
    }

    /// A refusal about the document that starts at `line`.
    pub fn error(&self, line: usize, reason: impl std::fmt::Display) -> CliError {
        CliError::new(
            Exit::BadInput,
            format!(
                "{} line {line}: {}",
                self.name,
                one_line(&reason.to_string())
            ),
        )
    }

    /// Every document as `T`; the first that does not parse is refused with its line.
    pub fn parse_all<T: DeserializeOwned>(&self) -> Result<Vec<(T, usize)>, CliError> {
        if self.documents.is_empty() {
            return Err(CliError::new(
                Exit::BadInput,
                format!("{}: no YAML documents in the file", self.name),
            ));
        }
        self.documents
            .iter()
            .map(|d| {
                serde_norway::from_str::<T>(&d.text)
                    .map(|v| (v, d.line))
                    .map_err(|e| {
                        // The parser's line is relative to the document; the message repeats it.
                        let line = e
                            .location()
                            .map(|l| d.line + l.line() - 1)
                            .unwrap_or(d.line);
                        self.error(line, strip_location(&e.to_string()))
                    })
            })
            .collect()
    }
}

/// The most a group, template or policy file may hold (the controller's request cap is
/// the same, so a file that passes here is never refused there for its size).
pub const MAX_FILE_BYTES: usize = crate::controller::request::MAX_REQUEST_BYTES;

/// A file given with `-f` (`-` is standard input), refused (exit 2) past
/// [`MAX_FILE_BYTES`] without reading further.
pub fn read_capped(path: &Path) -> Result<String, CliError> {
    use std::io::Read;
    let name = path.display().to_string();
    let cant =
        |e: std::io::Error| CliError::new(Exit::BadInput, format!("cannot read {name}: {e}"));
    let reader: Box<dyn Read> = if name == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(cant)?)
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cant)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CliError::new(
            Exit::BadInput,
            format!(
                "{name} is larger than {} KiB; split it into smaller files",
                MAX_FILE_BYTES / 1024
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        CliError::new(
            Exit::BadInput,
            format!("cannot read {name}: it is not UTF-8 text"),
        )
    })
}

/// Splits at `---` lines in column 0 (a document marker also ends a block scalar there, so
/// an indented `---` inside a template body is never a split). Documents holding only
/// comments and blank lines are dropped.
fn split_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if marker {
            push_document(&mut docs, std::mem::take(&mut current), start);
            start = i + 2;
            // Content after the marker on the same line belongs to the new document.
            let rest = line[3..].trim_start();
            if !rest.is_empty() && !rest.starts_with('#') {
                current.push_str(rest);
                current.push('\n');
                start = i + 1;
            }
            continue;
        }
        if current.is_empty() && is_blank(line) {
            // Leading blank or comment lines: the document starts further down.
            start = i + 2;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    push_document(&mut docs, current, start);
    docs
}

fn push_document(docs: &mut Vec<Document>, text: String, line: usize) {
    if text.lines().any(|l| !is_blank(l)) {
        docs.push(Document { text, line });
    }
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// serde_norway ends its messages with " at line N column M"; the caller names the line.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Messages are one line, whatever a parser put in them.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_know_their_first_line() {
        let f = SourceFile::from_text(
            "g.yaml",
            "# groups\n\na: 1\n---\nb: 2\n---\n# only a comment\n---\n\n  \nc: |\n  x\n  ---\n  y\n",
        );
        let lines: Vec<usize> = f.documents.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![3, 5, 11]);
        assert!(f.documents[2].text.contains("  ---"));
    }

    #[test]
    fn parse_errors_name_the_file_line() {
        let f = SourceFile::from_text("g.yaml", "a: 1\n---\nb: 2\nc: [\n");
        let err = f.parse_all::<serde_json::Value>().unwrap_err();
        assert_eq!(err.exit, Exit::BadInput);
        assert!(err.message.starts_with("g.yaml line "), "{}", err.message);
        assert!(!err.message.contains('\n'));
        let missing = SourceFile::from_text("t.yaml", "x: 1\n---\nname: 5\n");
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            name: String,
            body: String,
        }
        let err = missing.parse_all::<T>().unwrap_err();
        assert!(err.message.starts_with("t.yaml line 1:"), "{}", err.message);
    }
}
