//! The audit log as the console keeps it: the entries the store sent, the filters of
//! `:audit group NAME user NAME since 10m`, and the words that tell people what someone
//! else just did ("bob set weight 50% on search-api").

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::domain::audit::{AuditEntry, Outcome};

impl super::App {
    /// The entries the audit view shows, newest first, through its filters.
    pub(crate) fn audit_rows(&self) -> Vec<&AuditEntry> {
        let super::state::Screen::Audit(a) = &self.screen else {
            return Vec::new();
        };
        let needle = a.text.to_lowercase();
        self.audit
            .iter()
            .rev()
            .filter(|e| a.filter.matches(e, self.now) && text_matches(e, &needle))
            .collect()
    }
}

/// Entries kept as the log grows live; older ones go first. The store holds the full log
/// (`flightdeck audit`), and paging back brings older entries in again.
pub const KEEP: usize = 5_000;
/// Entries the view holds at most when paging back; past this, `flightdeck audit` reads on.
pub const MAX_LOADED: usize = 50_000;

/// How far back the audit view has read the store's log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paging {
    /// A page is being read.
    pub loading: bool,
    /// The oldest entry held is the log's first: there is nothing older to read.
    pub complete: bool,
    /// Why the last read failed, shown instead of an empty or short list.
    pub error: Option<String>,
    /// Entries held thanks to paging back, which live trimming keeps.
    pub paged_in: usize,
}

impl Paging {
    /// After the first load: complete when it reached back to the first entry.
    pub fn after_load(entries: &[AuditEntry]) -> Paging {
        Paging {
            complete: entries.first().is_none_or(|e| e.seq <= 1),
            ..Paging::default()
        }
    }
}

impl super::App {
    /// Asks for the page before the oldest entry held when the selection is on the last
    /// row (or there are no rows) and more can be read.
    pub(crate) fn want_older_audit(&mut self) -> Option<super::Effect> {
        let super::state::Screen::Audit(a) = &self.screen else {
            return None;
        };
        let rows = self.audit_rows().len();
        let at_end = rows == 0 || a.selected + 1 >= rows;
        let p = &self.audit_pages;
        if !at_end || p.loading || p.complete || self.audit.len() >= MAX_LOADED {
            return None;
        }
        let before = self.audit.first().map_or(u64::MAX, |e| e.seq);
        self.audit_pages.loading = true;
        self.audit_pages.error = None;
        Some(super::Effect::LoadOlderAudit { before })
    }

    /// The audit view's last line: where the list ends, and why.
    pub(crate) fn audit_footer(&self) -> (String, bool) {
        let p = &self.audit_pages;
        if let Some(e) = &p.error {
            return (format!("cannot read the audit log: {e}"), true);
        }
        let text = if p.loading {
            "reading older entries…".to_string()
        } else if p.complete {
            "the first entry of the log".to_string()
        } else if self.audit.len() >= MAX_LOADED {
            format!("{MAX_LOADED} entries held; older: flightdeck audit --json")
        } else {
            "older entries: ↓ on the last row".to_string()
        };
        (text, false)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub group: Option<String>,
    pub user: Option<String>,
    pub since: Option<SignedDuration>,
}

impl AuditFilter {
    /// Reads the words after `:audit`: pairs of `group NAME`, `user NAME`, `since 10m`.
    pub fn parse(words: &[&str]) -> Result<AuditFilter, String> {
        let mut f = AuditFilter::default();
        let mut it = words.iter();
        while let Some(word) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("\":audit {word}\" needs a value ({USAGE})"))?;
            match *word {
                "group" | "g" => f.group = Some(value.to_string()),
                "user" | "u" => f.user = Some(value.to_string()),
                "since" => f.since = Some(parse_age(value)?),
                other => return Err(format!("unknown audit filter \"{other}\" ({USAGE})")),
            }
        }
        Ok(f)
    }

    pub fn matches(&self, e: &AuditEntry, now: Timestamp) -> bool {
        if self.group.as_deref().is_some_and(|g| g != e.target.group) {
            return false;
        }
        if self.user.as_deref().is_some_and(|u| u != e.user.name) {
            return false;
        }
        match (self.since, e.timestamp()) {
            (Some(since), Some(t)) => now.duration_since(t) <= since,
            // An entry whose time cannot be read is shown rather than hidden.
            _ => true,
        }
    }

    /// `group web · user bob · since 10m`, for the view's title.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(g) = &self.group {
            out.push(format!("group {g}"));
        }
        if let Some(u) = &self.user {
            out.push(format!("user {u}"));
        }
        if let Some(s) = self.since {
            out.push(format!("since {}", short_duration(s)));
        }
        out
    }
}

pub const USAGE: &str = ":audit [group NAME] [user NAME] [since 10m|2h|1d]";

/// `30s`, `10m`, `2h`, `1d`.
fn parse_age(text: &str) -> Result<SignedDuration, String> {
    let bad = || format!("cannot read \"{text}\" as an age: try 30s, 10m, 2h or 1d");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(secs)
        .map(SignedDuration::from_secs)
        .ok_or_else(bad)
}

fn short_duration(d: SignedDuration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 && s > 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The action with its arguments, as the ACTION column shows it: `weight 50%`,
/// `deploy 2.8.0`, `rollback r3`, `restart canary`.
pub fn action_text(e: &AuditEntry) -> String {
    let r = &e.request;
    match e.action.as_str() {
        "weight" => match r.get("weight").and_then(Value::as_u64) {
            Some(w) => format!("weight {w}%"),
            None => "weight".into(),
        },
        "deploy" => match r.get("tag").and_then(Value::as_str) {
            Some(t) => format!("deploy {t}"),
            None => "deploy".into(),
        },
        "rollback" => match r.get("toRevision").and_then(Value::as_u64) {
            Some(n) => format!("rollback r{n}"),
            None => "rollback".into(),
        },
        "restart" => match r.get("track").and_then(Value::as_str) {
            Some(t) => format!("restart {t}"),
            None => "restart".into(),
        },
        other => other.to_string(),
    }
}

/// What someone did, as a sentence for a toast; `None` for entries not worth one (denied
/// attempts, and the "applied" record that follows every allowed action).
pub fn toast_text(e: &AuditEntry) -> Option<String> {
    let who = &e.user.name;
    let g = &e.target.group;
    let r = &e.request;
    let said = r
        .get("reason")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| format!(" — \"{s}\""))
        .unwrap_or_default();
    match e.outcome {
        Outcome::Denied | Outcome::Applied => return None,
        Outcome::Failed => {
            return Some(format!(
                "{who}'s {} on {g} failed: {}",
                action_text(e),
                e.reason
            ));
        }
        Outcome::Allowed => {}
    }
    let deed = match e.action.as_str() {
        "weight" => match r.get("weight").and_then(Value::as_u64) {
            Some(w) => format!("set weight {w}% on {g}"),
            None => format!("set the weight on {g}"),
        },
        "deploy" => match r.get("tag").and_then(Value::as_str) {
            Some(t) => format!("deployed {t} to {g}"),
            None => format!("deployed {g}"),
        },
        "step" => format!("stepped {g}"),
        "pause" => format!("paused {g}"),
        "resume" => format!("resumed {g}"),
        "promote" => format!("promoted {g}"),
        "abort" => format!("aborted {g}"),
        "rollback" => match r.get("toRevision").and_then(Value::as_u64) {
            Some(n) => format!("rolled back {g} to r{n}"),
            None => format!("rolled back {g}"),
        },
        "restart" => match r.get("track").and_then(Value::as_str) {
            Some(t) => format!("restarted the {t} track of {g}"),
            None => format!("restarted {g}"),
        },
        other => format!("did {other} on {g}"),
    };
    Some(format!("{who} {deed}{said}"))
}

/// Does `needle` (lower case) occur in what the audit view shows of the entry?
pub fn text_matches(e: &AuditEntry, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let hit = |s: &str| s.to_lowercase().contains(needle);
    hit(&e.user.name)
        || hit(&action_text(e))
        || hit(&e.target.group)
        || hit(&e.target.namespace)
        || hit(&e.reason)
        || hit(&e.outcome.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_like_the_command_line() {
        let f = AuditFilter::parse(&["group", "web", "since", "10m"]).unwrap();
        assert_eq!(f.group.as_deref(), Some("web"));
        assert_eq!(f.since, Some(SignedDuration::from_secs(600)));
        assert_eq!(f.describe(), ["group web", "since 10m"]);
        assert!(
            AuditFilter::parse(&["since", "ten"])
                .unwrap_err()
                .contains("try 30s")
        );
        assert!(
            AuditFilter::parse(&["user"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            AuditFilter::parse(&["colour", "red"])
                .unwrap_err()
                .contains("unknown")
        );
    }
}
