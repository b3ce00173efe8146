//! A group's revisions as the on-call engineer reads them: what each one changed, who
//! deployed it when, how long it ran as stable and how its release ended — put together
//! from the stored revisions and the audit log's before/after states, so it is true for
//! every release the log has seen. Pure: `flightdeck history` and the console read it.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::domain::audit::{AuditEntry, Outcome};
use crate::domain::{Release, Revision};

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
            if h.stable_from.is_none() {
                h.stable_from = Some(r.updated_at);
            }
        }
        if let Some(c) = r.canary_revision.filter(|_| r.phase.in_flight())
            && let Some(h) = out.get_mut(&c)
        {
            h.ended = Some(format!("in flight ({}, {}%)", r.phase, r.weight));
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
