//! Who may do what (DESIGN.md §5): built-in roles bound to users or groups over a scope.
//!
//! The policy is data, stored as JSON at `/flightdeck/policy` and written with
//! `flightdeck policy apply -f FILE` from YAML of this shape (sample: `assets/policy.yaml`):
//!
//! ```yaml
//! apiVersion: flightdeck/v1
//! kind: Policy
//! bindings:
//!   - role: deployer              # viewer | deployer | releaser | admin
//!     users: [bob]                # user names ("*" = everyone) …
//!     groups: [payments-devs]     # … and/or groups of the subject
//!     scope: { cluster: "*", namespace: checkout, app: "*", group: "*" }
//! ```
//!
//! Scope fields default to `*` and may use `*` as a wildcard anywhere (`prod-*`). Roles are
//! fixed and cumulative (viewer ⊂ deployer ⊂ releaser ⊂ admin), so a binding never needs a
//! list of verbs and a reader of the file knows what each line grants. Deny by default: a
//! subject with no matching binding may not even view.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::GroupKey;

/// What a binding grants, from least to most. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Deployer,
    Releaser,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Deployer => "deployer",
            Role::Releaser => "releaser",
            Role::Admin => "admin",
        }
    }

    /// The least role that may do `verb`.
    pub fn least_for(verb: Verb) -> Role {
        match verb {
            Verb::View => Role::Viewer,
            Verb::Deploy
            | Verb::Step
            | Verb::Weight
            | Verb::Pause
            | Verb::Resume
            | Verb::Abort
            | Verb::Restart
            | Verb::Suspend
            | Verb::Trigger
            | Verb::Kill
            | Verb::Drain => Role::Deployer,
            Verb::Promote | Verb::Rollback => Role::Releaser,
            Verb::EditGroups | Verb::EditTemplates | Verb::EditPolicy => Role::Admin,
        }
    }

    pub fn permits(self, verb: Verb) -> bool {
        self >= Role::least_for(verb)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the policy checks. Every engine action maps to one (`engine::Action::verb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verb {
    View,
    Deploy,
    Step,
    Weight,
    Pause,
    Resume,
    Abort,
    Restart,
    Promote,
    Rollback,
    EditGroups,
    EditTemplates,
    EditPolicy,
    Suspend,
    Trigger,
    Kill,
    Drain,
}

impl Verb {
    pub const ALL: [Verb; 17] = [
        Verb::View,
        Verb::Deploy,
        Verb::Step,
        Verb::Weight,
        Verb::Pause,
        Verb::Resume,
        Verb::Abort,
        Verb::Restart,
        Verb::Promote,
        Verb::Rollback,
        Verb::EditGroups,
        Verb::EditTemplates,
        Verb::EditPolicy,
        Verb::Suspend,
        Verb::Trigger,
        Verb::Kill,
        Verb::Drain,
    ];

    /// The verb's name, as the audit log's action.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::View => "view",
            Verb::Deploy => "deploy",
            Verb::Step => "step",
            Verb::Weight => "weight",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
            Verb::Abort => "abort",
            Verb::Restart => "restart",
            Verb::Promote => "promote",
            Verb::Rollback => "rollback",
            Verb::EditGroups => "groups.apply",
            Verb::EditTemplates => "templates.apply",
            Verb::EditPolicy => "policy.apply",
            Verb::Suspend => "suspend",
            Verb::Trigger => "trigger",
            Verb::Kill => "kill",
            Verb::Drain => "drain",
        }
    }

    /// The verb as it reads after "may not" in a refusal.
    pub fn phrase(self) -> &'static str {
        match self {
            Verb::View => "view",
            Verb::Deploy => "deploy",
            Verb::Step => "step",
            Verb::Weight => "set the weight",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
            Verb::Abort => "abort",
            Verb::Restart => "restart",
            Verb::Promote => "promote",
            Verb::Rollback => "roll back",
            Verb::EditGroups => "edit groups",
            Verb::EditTemplates => "edit templates",
            Verb::EditPolicy => "edit the policy",
            Verb::Suspend => "suspend",
            Verb::Trigger => "trigger",
            Verb::Kill => "kill",
            Verb::Drain => "drain",
        }
    }
}

/// Who is asking: the identity's name and the groups it belongs to (OS groups or etcd
/// roles, whatever the front end resolved).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub user: &'a str,
    pub groups: &'a [String],
}

/// Where a binding applies. Every field is a pattern where `*` matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default = "any")]
    pub cluster: String,
    #[serde(default = "any")]
    pub namespace: String,
    #[serde(default = "any")]
    pub app: String,
    #[serde(default = "any")]
    pub group: String,
}

fn any() -> String {
    "*".to_string()
}

impl Default for Scope {
    fn default() -> Self {
        Scope::everywhere()
    }
}

impl Scope {
    pub fn everywhere() -> Scope {
        Scope {
            cluster: any(),
            namespace: any(),
            app: any(),
            group: any(),
        }
    }

    pub fn namespace(ns: &str) -> Scope {
        Scope {
            namespace: ns.to_string(),
            ..Scope::everywhere()
        }
    }

    pub fn covers(&self, target: &GroupKey, app: &str) -> bool {
        glob(&self.cluster, &target.cluster)
            && glob(&self.namespace, &target.namespace)
            && glob(&self.app, app)
            && glob(&self.group, &target.group)
    }

    fn is_everywhere(&self) -> bool {
        [&self.cluster, &self.namespace, &self.app, &self.group]
            .iter()
            .all(|p| p.chars().all(|c| c == '*'))
    }
}

/// One grant: `role` for the listed users and groups over `scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default)]
    pub scope: Scope,
}

impl Binding {
    fn names(&self, who: &Subject<'_>) -> bool {
        self.users.iter().any(|u| u == "*" || u == who.user)
            || self
                .groups
                .iter()
                .any(|g| g == "*" || who.groups.iter().any(|mine| mine == g))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "api_version")]
    pub api_version: String,
    #[serde(default = "kind")]
    pub kind: String,
    #[serde(default)]
    pub bindings: Vec<Binding>,
}

fn api_version() -> String {
    "flightdeck/v1".to_string()
}

fn kind() -> String {
    "Policy".to_string()
}

/// The answer to "may this subject do this here?". A denial's reason is one line, shown
/// greyed out in the console and printed by the command line as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow { role: Role },
    Deny { reason: String },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// The text is not a policy; `line` and `column` are 1-based when the parser knows them.
    #[error("policy: {}{message}", location(*line, *column))]
    Parse {
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// The policy parses but would not do what its author meant.
    #[error("policy: {0}")]
    Invalid(String),
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l} column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

/// The placeholder `assets/policy.yaml` uses for the person running the demo.
pub const ADMIN_PLACEHOLDER: &str = "$ADMIN";

impl Policy {
    pub fn new(bindings: Vec<Binding>) -> Policy {
        Policy {
            api_version: api_version(),
            kind: kind(),
            bindings,
        }
    }

    /// The demo's policy, the same as `assets/policy.yaml` with `$ADMIN` replaced: the person
    /// running the demo is admin everywhere, `carol` may view everything and `bob` is a
    /// deployer in the `checkout` namespace (so the demo shows both kinds of refusal); the
    /// agent (`system:agent`, also run inside every console) is a releaser everywhere.
    pub fn demo(admin_user: &str) -> Policy {
        Policy::new(vec![
            Binding {
                role: Role::Admin,
                users: vec![admin_user.to_string()],
                groups: vec![],
                scope: Scope::everywhere(),
            },
            Binding {
                role: Role::Viewer,
                users: vec!["carol".into()],
                groups: vec![],
                scope: Scope::everywhere(),
            },
            Binding {
                role: Role::Deployer,
                users: vec!["bob".into()],
                groups: vec![],
                scope: Scope::namespace("checkout"),
            },
            Binding {
                role: Role::Releaser,
                users: vec![crate::domain::user::AGENT_USER.into()],
                groups: vec![],
                scope: Scope::everywhere(),
            },
        ])
    }

    /// Parses YAML (JSON is YAML too) and validates it. Errors name the line.
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = serde_norway::from_str(text).map_err(|e| {
            let at = e.location();
            // The message carries the location again; it is shown separately.
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) if at.is_some() => message[..i].to_string(),
                _ => message,
            };
            // A value the message quotes may hold a newline: the refusal stays one line.
            let message = crate::domain::sanitize::escape_controls(&message);
            PolicyError::Parse {
                line: at.as_ref().map(|l| l.line()),
                column: at.as_ref().map(|l| l.column()),
                message,
            }
        })?;
        policy.validate()?;
        Ok(policy)
    }

    /// Refuses a policy that parses but is surely a mistake: a binding for nobody, empty
    /// names or scope fields, a wrong kind, or no admin at all (nobody could fix the policy
    /// afterwards through flightdeck).
    pub fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |s: String| Err(PolicyError::Invalid(s));
        if self.api_version != api_version() {
            return invalid(format!(
                "apiVersion is {:?}, expected \"flightdeck/v1\"",
                self.api_version
            ));
        }
        if self.kind != kind() {
            return invalid(format!("kind is {:?}, expected \"Policy\"", self.kind));
        }
        for (i, b) in self.bindings.iter().enumerate() {
            let which = format!("binding {} ({})", i + 1, b.role);
            if b.users.is_empty() && b.groups.is_empty() {
                return invalid(format!(
                    "{which} names no users or groups: say who it is for"
                ));
            }
            if b.users.iter().chain(&b.groups).any(|n| n.trim().is_empty()) {
                return invalid(format!("{which} has an empty user or group name"));
            }
            if b.users.iter().any(|n| n == ADMIN_PLACEHOLDER) {
                return invalid(format!(
                    "{which} still has the placeholder {ADMIN_PLACEHOLDER}: put a user name there"
                ));
            }
            let s = &b.scope;
            for (field, value) in [
                ("cluster", &s.cluster),
                ("namespace", &s.namespace),
                ("app", &s.app),
                ("group", &s.group),
            ] {
                if value.trim().is_empty() {
                    return invalid(format!(
                        "{which} has an empty scope.{field}: use \"*\" for any"
                    ));
                }
            }
        }
        if !self
            .bindings
            .iter()
            .any(|b| b.role == Role::Admin && b.scope.is_everywhere())
        {
            return invalid(
                "no admin binding with scope \"*\": nobody could change the policy afterwards"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// The strongest role `who` holds over `target`, if any.
    pub fn role_for(&self, who: &Subject<'_>, target: &GroupKey, app: &str) -> Option<Role> {
        self.bindings
            .iter()
            .filter(|b| b.names(who) && b.scope.covers(target, app))
            .map(|b| b.role)
            .max()
    }

    /// May `who` do `verb` to the group `target` of `app`? Deny by default.
    pub fn decide(&self, who: &Subject<'_>, verb: Verb, target: &GroupKey, app: &str) -> Decision {
        let place = format!("{}/{}", target.cluster, target.namespace);
        match self.role_for(who, target, app) {
            None => Decision::Deny {
                reason: format!("no role for {} in {place}", who.user),
            },
            Some(role) if role.permits(verb) => Decision::Allow { role },
            Some(role) => Decision::Deny {
                reason: format!("{role}: may not {} in {place}", verb.phrase()),
            },
        }
    }

    /// For what belongs to no single group (templates, the policy itself): only bindings
    /// whose scope is `*` everywhere count, so a namespace's admin cannot change what every
    /// namespace shares.
    pub fn decide_global(&self, who: &Subject<'_>, verb: Verb) -> Decision {
        let role = self
            .bindings
            .iter()
            .filter(|b| b.names(who) && b.scope.is_everywhere())
            .map(|b| b.role)
            .max();
        match role {
            None => Decision::Deny {
                reason: format!("no role for {} over the whole estate", who.user),
            },
            Some(role) if role.permits(verb) => Decision::Allow { role },
            Some(role) => Decision::Deny {
                reason: format!("{role}: may not {}", verb.phrase()),
            },
        }
    }
}

/// `*` matches any run of characters (also none); everything else matches itself.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        // No `*` at all: the prefix had to be the whole text.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests;
