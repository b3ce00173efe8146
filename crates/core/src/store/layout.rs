//! The key layout of DESIGN.md §3, relative to the store's prefix (`/flightdeck/`).
//! Backends add the prefix; everything above them speaks in these relative keys.

use crate::domain::GroupKey;

use super::StoreError;

pub const TEMPLATES: &str = "templates/";
pub const GROUPS: &str = "groups/";
pub const REVISIONS: &str = "revisions/";
pub const RELEASES: &str = "releases/";
pub const AUDIT: &str = "audit/";
pub const AUDIT_HEAD: &str = "audit-head";
/// `audit-checkpoints/<seq:020>`: the controller's signature over entry `seq`'s hash.
pub const AUDIT_CHECKPOINTS: &str = "audit-checkpoints/";
pub const POLICY: &str = "policy";
/// `users/<name>`: a person `flightdeck admin add-user` made (their groups; no secrets).
pub const USERS: &str = "users/";
/// The controller's record (its etcd user and public key); the lease key lives beside it.
pub const CONTROLLER: &str = "controller";
/// `requests/<user>/<id>`: writable by `<user>` only (etcd role `flightdeck-user-<user>`).
pub const REQUESTS: &str = "requests/";
/// `responses/<user>/<id>`: the controller's answers.
pub const RESPONSES: &str = "responses/";
pub const LEASES: &str = "leases/";
/// `clusters/<name>`: a registered cluster's public facts (`kube::connect::ClusterRecord`).
pub const CLUSTERS: &str = "clusters/";

pub fn cluster_key(name: &str) -> String {
    format!("{CLUSTERS}{name}")
}

/// A name used as one key segment: not empty, no `/`, no control characters.
pub fn check_segment(kind: &str, s: &str) -> Result<(), StoreError> {
    if s.is_empty() || s.contains('/') || s.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{kind} name '{s}' is not usable in the store: it must be non-empty, without '/'"
        )));
    }
    Ok(())
}

pub fn check_group(k: &GroupKey) -> Result<(), StoreError> {
    check_segment("cluster", &k.cluster)?;
    check_segment("namespace", &k.namespace)?;
    check_segment("group", &k.group)
}

pub fn template(name: &str) -> String {
    format!("{TEMPLATES}{name}")
}

fn group_path(k: &GroupKey) -> String {
    format!("{}/{}/{}", k.cluster, k.namespace, k.group)
}

pub fn group(k: &GroupKey) -> String {
    format!("{GROUPS}{}", group_path(k))
}

pub fn release(k: &GroupKey) -> String {
    format!("{RELEASES}{}", group_path(k))
}

/// Prefix of one group's revisions (ends with `/`).
pub fn revisions(k: &GroupKey) -> String {
    format!("{REVISIONS}{}/", group_path(k))
}

pub fn revision(k: &GroupKey, n: u64) -> String {
    format!("{}{n:010}", revisions(k))
}

pub fn user(name: &str) -> String {
    format!("{USERS}{name}")
}

pub fn audit(seq: u64) -> String {
    format!("{AUDIT}{seq:020}")
}

pub fn audit_checkpoint(seq: u64) -> String {
    format!("{AUDIT_CHECKPOINTS}{seq:020}")
}

/// Which groups or releases to list: all, one cluster, or one namespace of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
}

impl Scope {
    pub fn all() -> Scope {
        Scope::default()
    }

    pub fn cluster(c: impl Into<String>) -> Scope {
        Scope {
            cluster: Some(c.into()),
            namespace: None,
        }
    }

    pub fn namespace(c: impl Into<String>, ns: impl Into<String>) -> Scope {
        Scope {
            cluster: Some(c.into()),
            namespace: Some(ns.into()),
        }
    }

    /// The key prefix under `base` (`groups/` or `releases/`) this scope covers.
    pub fn prefix(&self, base: &str) -> Result<String, StoreError> {
        match (&self.cluster, &self.namespace) {
            (None, None) => Ok(base.to_string()),
            (Some(c), None) => {
                check_segment("cluster", c)?;
                Ok(format!("{base}{c}/"))
            }
            (Some(c), Some(ns)) => {
                check_segment("cluster", c)?;
                check_segment("namespace", ns)?;
                Ok(format!("{base}{c}/{ns}/"))
            }
            (None, Some(_)) => Err(StoreError::Invalid(
                "a namespace scope needs its cluster".to_string(),
            )),
        }
    }
}

/// What a relative key names, for turning watch events into domain events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    Template(String),
    Group(GroupKey),
    Revision(GroupKey, u64),
    Release(GroupKey),
    Audit(u64),
    AuditHead,
    Policy,
}

pub fn parse(key: &str) -> Option<KeyKind> {
    let three = |rest: &str| -> Option<GroupKey> {
        let mut it = rest.splitn(3, '/');
        let (c, n, g) = (it.next()?, it.next()?, it.next()?);
        (!g.contains('/')).then(|| GroupKey::new(c, n, g))
    };
    if let Some(name) = key.strip_prefix(TEMPLATES) {
        return Some(KeyKind::Template(name.to_string()));
    }
    if let Some(rest) = key.strip_prefix(GROUPS) {
        return three(rest).map(KeyKind::Group);
    }
    if let Some(rest) = key.strip_prefix(RELEASES) {
        return three(rest).map(KeyKind::Release);
    }
    if let Some(rest) = key.strip_prefix(REVISIONS) {
        let (group, n) = rest.rsplit_once('/')?;
        return Some(KeyKind::Revision(three(group)?, n.parse().ok()?));
    }
    if let Some(seq) = key.strip_prefix(AUDIT) {
        return seq.parse().ok().map(KeyKind::Audit);
    }
    match key {
        AUDIT_HEAD => Some(KeyKind::AuditHead),
        POLICY => Some(KeyKind::Policy),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_the_design_and_parse_back() {
        let g = GroupKey::new("prod-hz", "user", "user-info-grpc");
        assert_eq!(group(&g), "groups/prod-hz/user/user-info-grpc");
        assert_eq!(
            revision(&g, 7),
            "revisions/prod-hz/user/user-info-grpc/0000000007"
        );
        assert_eq!(audit(42), "audit/00000000000000000042");
        assert_eq!(
            audit_checkpoint(42),
            "audit-checkpoints/00000000000000000042"
        );
        assert_eq!(parse(&audit_checkpoint(42)), None);
        assert_eq!(
            parse(&revision(&g, 7)),
            Some(KeyKind::Revision(g.clone(), 7))
        );
        assert_eq!(parse(&release(&g)), Some(KeyKind::Release(g.clone())));
        assert_eq!(parse(&audit(42)), Some(KeyKind::Audit(42)));
        assert_eq!(parse("audit-head"), Some(KeyKind::AuditHead));
        assert_eq!(parse("groups/a/b"), None);
    }

    #[test]
    fn names_with_slashes_are_refused() {
        assert!(check_group(&GroupKey::new("a", "b/c", "d")).is_err());
        assert!(Scope::namespace("a", "").prefix(GROUPS).is_err());
        assert_eq!(Scope::cluster("a").prefix(GROUPS).unwrap(), "groups/a/");
    }
}
