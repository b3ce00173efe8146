//! A group's revisions as the on-call engineer reads them: what each one changed, who
//! deployed it when, how long it ran as stable and how its release ended — put together
//! from the stored revisions and the audit log's before/after states, so it is true for
//! every release the log has seen. `flightdeck history`/`diff` and the console's history
//! tab read the same [`GroupHistory`] the same way; everything but [`GroupHistory::read`]
//! is pure.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::domain::audit::{AuditEntry, Outcome};
use crate::domain::{GroupKey, Release, Revision};
use crate::store::{AuditFilter, Store, StoreError};

/// What a group's history is made of, as read from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupHistory {
    pub revisions: Vec<Revision>,
    /// The group's audit entries, oldest first.
    pub audit: Vec<AuditEntry>,
    pub release: Option<Release>,
}

impl GroupHistory {
    /// The group's revisions, its whole audit trail and its release now.
    pub async fn read(store: &dyn Store, key: &GroupKey) -> Result<GroupHistory, StoreError> {
        let revisions = store.list_revisions(key).await?;
        let filter = AuditFilter {
            group: Some(key.clone()),
            ..AuditFilter::default()
        };
        let audit = store.list_audit(&filter).await?;
        let release = store.get_release(key).await?.map(|v| v.value);
        Ok(GroupHistory {
            revisions,
            audit,
            release,
        })
    }

    /// One line per revision, newest first.
    pub fn lines(&self) -> Vec<RevisionHistory> {
        history(&self.revisions, &self.audit, self.release.as_ref())
    }

    /// The stable revision running now.
    pub fn stable(&self) -> Option<u64> {
        self.release.as_ref().map(|r| r.stable_revision)
    }

    pub fn revision(&self, n: u64) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == n)
    }

    /// What `n` renders differently from the stable revision running now (see [`diff`]);
    /// `None` when either is unknown.
    pub fn diff_with_stable(&self, n: u64) -> Option<String> {
        Some(diff(self.revision(self.stable()?)?, self.revision(n)?))
    }
}

/// A group's history as the console draws it: the lines, cleaned of control sequences,
/// and what they were made from (for diffs). Built by the console's history loader, off
/// the render loop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryRows {
    /// Newest first.
    pub lines: Vec<RevisionHistory>,
    pub source: GroupHistory,
}

impl From<GroupHistory> for HistoryRows {
    fn from(source: GroupHistory) -> Self {
        HistoryRows {
            lines: source
                .lines()
                .into_iter()
                .map(RevisionHistory::cleaned)
                .collect(),
            source,
        }
    }
}

/// One revision's line of history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionHistory {
    pub number: u64,
    pub tag: Option<String>,
    /// Parameters that differ from the revision before: (name, before, after); `None` is absent.
    pub changed: Vec<(String, Option<Value>, Option<Value>)>,
    pub created_by: String,
    pub created: Timestamp,
    /// When it became stable, and when it stopped being stable (`None`: it still is).
    pub stable_from: Option<Timestamp>,
    pub stable_until: Option<Timestamp>,
    /// How its release as a canary ended: promoted, aborted, rolled back; or still in
    /// flight; `None` for a revision that never was a canary (a first deploy).
    pub ended: Option<String>,
    /// The controller's last analysis verdict about it, in its words.
    pub analysis: Option<String>,
}

impl RevisionHistory {
    /// How long it ran as stable, up to `now` for the running one.
    pub fn stable_for(&self, now: Timestamp) -> Option<SignedDuration> {
        let from = self.stable_from?;
        Some(self.stable_until.unwrap_or(now).duration_since(from))
    }

    /// Is it the stable revision now?
    pub fn is_stable(&self) -> bool {
        self.stable_from.is_some() && self.stable_until.is_none()
    }

    /// `replicas 4→6, tag 1.1→1.2`; empty when nothing changed (or it is the first).
    pub fn changed_text(&self) -> String {
        self.changed
            .iter()
            .map(|(name, was, is)| format!("{name} {}→{}", value_text(was), value_text(is)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How long it ran as stable (`2h 5m`), `… (now)` for the running one, `-` never.
    pub fn stable_text(&self, now: Timestamp) -> String {
        match (self.stable_for(now), self.stable_until) {
            (Some(d), None) => format!("{} (now)", span(d)),
            (Some(d), Some(_)) => span(d),
            (None, _) => "-".into(),
        }
    }

    /// The same line with every text taken from the store stripped of control sequences
    /// (tags, names, reasons and parameter values are anyone's input), for drawing.
    pub fn cleaned(mut self) -> RevisionHistory {
        use super::sanitize::clean;
        self.tag = self.tag.as_deref().map(clean);
        self.created_by = clean(&self.created_by);
        self.ended = self.ended.as_deref().map(clean);
        self.analysis = self.analysis.as_deref().map(clean);
        for (name, was, is) in &mut self.changed {
            *name = clean(name);
            for v in [was, is].into_iter().flatten() {
                clean_value(v);
            }
        }
        self
    }
}

fn clean_value(v: &mut Value) {
    match v {
        Value::String(s) => *s = super::sanitize::clean(s),
        Value::Array(items) => items.iter_mut().for_each(clean_value),
        Value::Object(fields) => {
            let cleaned: serde_json::Map<String, Value> = std::mem::take(fields)
                .into_iter()
                .map(|(k, mut v)| {
                    clean_value(&mut v);
                    (super::sanitize::clean(&k), v)
                })
                .collect();
            *fields = cleaned;
        }
        _ => {}
    }
}

/// A parameter's value as people write it: text bare, other values as JSON, `(none)`
/// for absent.
pub fn value_text(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `3d 4h`, `2h 5m`, `7m`, `12s`: the two largest units.
pub fn span(d: SignedDuration) -> String {
    let s = d.as_secs().max(0);
    let (days, hours, mins) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn revision_of(v: &Value, field: &str) -> Option<u64> {
    v.get(field).and_then(Value::as_u64).filter(|n| *n > 0)
}

/// The history of `revisions` (any order), newest first, from the group's audit entries
/// (oldest first) and its release now.
pub fn history(
    revisions: &[Revision],
    audit: &[AuditEntry],
    release: Option<&Release>,
) -> Vec<RevisionHistory> {
    let mut revisions: Vec<&Revision> = revisions.iter().collect();
    revisions.sort_by_key(|r| r.number);
    let mut out: BTreeMap<u64, RevisionHistory> = BTreeMap::new();
    let mut before: Option<&Revision> = None;
    for r in &revisions {
        out.insert(
            r.number,
            RevisionHistory {
                number: r.number,
                tag: r
                    .params
                    .get("tag")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                changed: changes(before.map(|b| &b.params), &r.params),
                created_by: r.created_by.clone(),
                created: r.created,
                stable_from: None,
                stable_until: None,
                ended: None,
                analysis: None,
            },
        );
        before = Some(r);
    }
    for e in audit {
        if e.outcome != Outcome::Allowed {
            continue;
        }
        let Some(at) = e.timestamp() else { continue };
        let (was, now) = (&e.before, &e.after);
        let (stable_was, stable_now) = (
            revision_of(was, "stable_revision"),
            revision_of(now, "stable_revision"),
        );
        if stable_now != stable_was {
            if let Some(h) = stable_was.and_then(|n| out.get_mut(&n)) {
                h.stable_until = Some(at);
            }
            if let Some(h) = stable_now.and_then(|n| out.get_mut(&n)) {
                h.stable_from = Some(at);
                h.stable_until = None;
            }
        }
        let (canary_was, canary_now) = (
            revision_of(was, "canary_revision"),
            revision_of(now, "canary_revision"),
        );
        if let Some(h) = canary_now.and_then(|n| out.get_mut(&n)) {
            if h.ended.is_none() {
                h.ended = Some("in flight".into());
            }
            if is_analysis(e) {
                h.analysis = Some(e.reason.clone());
            }
        }
        // An aborted release keeps its canary revision for the record: it ended with the
        // abort, not with whatever comes after.
        let phase = |v: &Value| v.get("phase").and_then(Value::as_str).map(str::to_string);
        let was_live = phase(was).as_deref() != Some("Aborted");
        if let Some(c) = canary_was
            && was_live
            && (canary_now != Some(c) || phase(now).as_deref() == Some("Aborted"))
            && let Some(h) = out.get_mut(&c)
        {
            if is_analysis(e) {
                h.analysis = Some(e.reason.clone());
            }
            h.ended = Some(if stable_now == Some(c) {
                format!("promoted by {}", e.user.name)
            } else if e.action == "rollback" {
                format!("rolled back by {}", e.user.name)
            } else {
                format!("aborted by {}", e.user.name)
            });
        }
    }
    // What the release says now wins over an audit log that was cut short.
    if let Some(r) = release {
        if let Some(h) = out.get_mut(&r.stable_revision) {
            h.stable_until = None;
            if h.stable_from.is_none() && h.ended.is_some() {
                h.stable_from = Some(r.updated_at);
            }
            h.stable_from.get_or_insert(h.created);
        }
        if let Some(c) = r.canary_revision.filter(|_| r.phase.in_flight())
            && let Some(h) = out.get_mut(&c)
        {
            h.ended = Some(format!("in flight ({}, {}%)", r.phase, r.weight));
        }
    }
    // A revision that never was a canary went straight to stable as it was made (a first
    // deploy, a seeded or adopted group): when the log does not say when, that is when.
    for h in out.values_mut() {
        if h.stable_from.is_none() && h.stable_until.is_some() && h.ended.is_none() {
            h.stable_from = Some(h.created);
        }
    }
    out.into_values().rev().collect()
}

/// The controller's actions at the end of an analysis say so first ("analysis at step 2
/// passed: …").
fn is_analysis(e: &AuditEntry) -> bool {
    e.reason.starts_with("analysis at step")
}

fn changes(
    before: Option<&BTreeMap<String, Value>>,
    after: &BTreeMap<String, Value>,
) -> Vec<(String, Option<Value>, Option<Value>)> {
    let Some(before) = before else {
        return Vec::new();
    };
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| (k.clone(), before.get(k).cloned(), after.get(k).cloned()))
        .collect()
}

/// A revision's rendered objects as YAML text, one document per object, for diffs.
pub fn rendered_text(r: &Revision) -> String {
    r.rendered
        .iter()
        .map(|o| serde_norway::to_string(o).unwrap_or_else(|e| format!("# unreadable: {e}\n")))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// A unified diff of two revisions' rendered objects (empty when they render the same).
pub fn diff(from: &Revision, to: &Revision) -> String {
    let (a, b) = (rendered_text(from), rendered_text(to));
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("r{}", from.number), &format!("r{}", to.number))
        .to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::audit::{AuditDraft, AuditTarget, AuditUser};
    use crate::domain::{GroupKey, Phase};

    fn key() -> GroupKey {
        GroupKey::new("c", "shop", "web")
    }

    fn revision(n: u64, tag: &str, replicas: u64, by: &str) -> Revision {
        Revision {
            number: n,
            group: key(),
            params: [
                ("tag".to_string(), json!(tag)),
                ("replicas".to_string(), json!(replicas)),
            ]
            .into_iter()
            .collect(),
            rendered: vec![json!({"kind": "Deployment", "spec": {"image": format!("web:{tag}")}})],
            created: at(n as i64 * 100),
            created_by: by.into(),
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn state(stable: u64, canary: Option<u64>, phase: &str) -> Value {
        json!({ "phase": phase, "stable_revision": stable, "canary_revision": canary })
    }

    fn entry(
        secs: i64,
        who: &str,
        action: &str,
        before: Value,
        after: Value,
        reason: &str,
    ) -> AuditEntry {
        let mut d = AuditDraft::new(
            AuditUser::named(who, "os"),
            action,
            AuditTarget::from(&key()),
        );
        (d.before, d.after, d.reason) = (before, after, reason.to_string());
        AuditEntry::seal(d, 1, "", at(secs))
    }

    #[test]
    fn three_deploys_an_abort_and_a_rollback_read_as_the_on_call_needs() {
        let revs = [
            revision(1, "1.0", 4, "alice"),
            revision(2, "1.1", 4, "bob"),
            revision(3, "1.2", 6, "bob"),
        ];
        let audit = [
            entry(
                100,
                "alice",
                "deploy",
                Value::Null,
                state(1, None, "Stable"),
                "",
            ),
            entry(
                200,
                "bob",
                "deploy",
                state(1, None, "Stable"),
                state(1, Some(2), "Paused"),
                "",
            ),
            entry(
                250,
                "system:agent",
                "step",
                state(1, Some(2), "Progressing"),
                state(2, None, "Promoted"),
                "analysis at step 1 passed: success-rate 99.9%",
            ),
            entry(
                300,
                "bob",
                "deploy",
                state(2, None, "Promoted"),
                state(2, Some(3), "Paused"),
                "",
            ),
            entry(
                350,
                "system:agent",
                "abort",
                state(2, Some(3), "Progressing"),
                state(2, Some(3), "Aborted"),
                "analysis at step 1 failed, autoAbort: success-rate 91%",
            ),
            entry(
                400,
                "carol",
                "rollback",
                state(2, Some(3), "Aborted"),
                state(1, None, "Stable"),
                "",
            ),
        ];
        let mut release = Release::stable(key(), 1, "carol");
        release.phase = Phase::Stable;
        let h = history(&revs, &audit, Some(&release));
        let numbers: Vec<u64> = h.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [3, 2, 1], "newest first");
        let (r3, r2, r1) = (&h[0], &h[1], &h[2]);
        assert_eq!(
            r3.changed,
            vec![
                ("replicas".to_string(), Some(json!(4)), Some(json!(6))),
                ("tag".to_string(), Some(json!("1.1")), Some(json!("1.2"))),
            ]
        );
        assert_eq!(r3.ended.as_deref(), Some("aborted by system:agent"));
        assert!(r3.analysis.as_deref().unwrap().contains("failed"));
        assert_eq!(r3.stable_from, None);
        assert_eq!(r2.ended.as_deref(), Some("promoted by system:agent"));
        assert_eq!(
            (r2.stable_from, r2.stable_until),
            (Some(at(250)), Some(at(400)))
        );
        assert_eq!(
            r2.stable_for(at(1000)),
            Some(SignedDuration::from_secs(150))
        );
        assert!(r2.analysis.as_deref().unwrap().contains("passed"));
        assert_eq!(r1.ended, None, "a first deploy was never a canary");
        assert_eq!((r1.stable_from, r1.stable_until), (Some(at(400)), None));
    }

    #[test]
    fn a_first_revision_the_log_does_not_show_becoming_stable_was_stable_from_its_making() {
        // The demo's seed (and an adopted group) writes its first revision with an entry
        // that says nothing of stable revisions; the next release's promote ends it.
        let revs = [revision(1, "1.0", 4, "seed"), revision(2, "1.1", 4, "bob")];
        let audit = [
            entry(
                150,
                "seed",
                "seed",
                Value::Null,
                json!({"phase": "Stable"}),
                "",
            ),
            entry(
                200,
                "bob",
                "deploy",
                state(1, None, "Stable"),
                state(1, Some(2), "Paused"),
                "",
            ),
            entry(
                300,
                "bob",
                "promote",
                state(1, Some(2), "Paused"),
                state(2, None, "Promoted"),
                "",
            ),
        ];
        let h = history(&revs, &audit, Some(&Release::stable(key(), 2, "bob")));
        assert_eq!(
            (h[1].stable_from, h[1].stable_until),
            (Some(at(100)), Some(at(300)))
        );
        assert_eq!(h[0].stable_from, Some(at(300)));
        // With no log at all, the running first revision is stable since it was made.
        let h = history(&revs[..1], &[], Some(&Release::stable(key(), 1, "seed")));
        assert_eq!((h[0].stable_from, h[0].stable_until), (Some(at(100)), None));
    }

    #[test]
    fn texts_read_the_same_in_the_cli_and_the_console_and_are_cleaned_for_drawing() {
        let mut h = history(
            &[
                revision(1, "1.0", 4, "alice"),
                revision(2, "1.1\u{1b}[2J", 6, "bob\u{1b}]0;x\u{7}"),
            ],
            &[],
            None,
        )
        .remove(0);
        h.stable_from = Some(at(0));
        assert_eq!(h.stable_text(at(2 * 3600 + 300)), "2h 5m (now)");
        assert!(h.is_stable());
        h.stable_until = Some(at(90));
        assert_eq!(h.stable_text(at(5000)), "1m");
        assert!(!h.is_stable());
        let h = h.cleaned();
        assert_eq!(h.changed_text(), "replicas 4→6, tag 1.0→1.1");
        assert_eq!(
            (h.tag.as_deref(), h.created_by.as_str()),
            (Some("1.1"), "bob")
        );
        assert_eq!(
            span(SignedDuration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d 4h"
        );
        assert_eq!(value_text(&None), "(none)");
    }

    #[test]
    fn a_diff_shows_what_the_rendered_objects_change() {
        let (a, b) = (revision(1, "1.0", 4, "a"), revision(2, "1.1", 4, "b"));
        let d = diff(&a, &b);
        assert!(d.contains("--- r1") && d.contains("+++ r2"), "{d}");
        assert!(
            d.contains("-  image: web:1.0") && d.contains("+  image: web:1.1"),
            "{d}"
        );
        assert_eq!(diff(&a, &a), "");
    }
}
