//! The people and the controller `flightdeck admin` sets up (DESIGN.md §3, §5): who they
//! are in etcd and which groups (etcd roles) they belong to. No secrets live here.

use serde::{Deserialize, Serialize};

/// The user the controller's own acts are made as, in the policy and the audit log.
pub const AGENT_USER: &str = "system:agent";

/// The controller's etcd user (and the name of its etcd role): read-write on the prefix.
pub const CONTROLLER_USER: &str = "flightdeck-controller";

/// `users/<name>`: one person, as `flightdeck admin add-user` made them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    pub name: String,
    /// Their groups; each is the etcd role `flightdeck-group-<g>` granted to them.
    pub groups: Vec<String>,
    pub added: jiff::Timestamp,
    /// No password: they log in with a client certificate whose common name is `name`.
    pub cert_only: bool,
}

/// `controller`: the controller's etcd user and (once it has one) its public key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerRecord {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// A name usable as an etcd user, a key segment and a policy subject:
/// `[a-z0-9][a-z0-9._@-]{0,62}`, not `root`, not `system:…` or `flightdeck-…`.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("user name '{name}' {why}"));
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("is empty"),
        Some(c) if !(c.is_ascii_lowercase() || c.is_ascii_digit()) => {
            return bad("must start with a lowercase letter or a digit");
        }
        Some(_) => {}
    }
    if name.len() > 63 {
        return bad("is longer than 63 characters");
    }
    if let Some(c) = chars.find(|c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '@' | '-'))
    }) {
        return bad(&format!(
            "contains '{c}': use lowercase letters, digits and . _ @ -"
        ));
    }
    if name == "root" {
        return bad("is etcd's administrator; choose another");
    }
    if name.starts_with("system:") || name.starts_with("flightdeck-") {
        return bad("is reserved for flightdeck itself");
    }
    Ok(())
}

/// A group name: the same rules, since it becomes the etcd role `flightdeck-group-<g>`.
pub fn check_group_name(name: &str) -> Result<(), String> {
    check_user_name(name).map_err(|e| e.replacen("user name", "group name", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_the_rules() {
        for ok in ["dave", "a", "alice.b@example.com", "x-1_2", &"a".repeat(63)] {
            assert!(check_user_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "root",
            "Dave",
            "a/b",
            "-a",
            "system:agent",
            "flightdeck-controller",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn records_are_camel_case() {
        let r = UserRecord {
            name: "dave".into(),
            groups: vec!["payments".into()],
            added: jiff::Timestamp::UNIX_EPOCH,
            cert_only: true,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["certOnly"], true);
        let c = ControllerRecord {
            user: CONTROLLER_USER.into(),
            public_key: None,
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"user":"flightdeck-controller"}"#
        );
    }
}
