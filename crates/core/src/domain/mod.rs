//! The release domain of DESIGN.md §1: instance groups, templates, revisions and releases.
//! Plain data with serde; no I/O, no terminal, no cluster.

pub mod audit;
pub mod cron;
pub mod group;
pub mod labels;
pub mod registration;
pub mod release;
pub mod replicas;
pub mod sanitize;
pub mod template;
pub mod user;

pub use audit::{AuditDraft, AuditEntry, AuditTarget, AuditUser, Outcome};
pub use group::{GroupKey, GroupSpec, HealthSpec, InstanceGroup, Step, Strategy, TrafficRouter};
pub use release::{Phase, Release, Revision, Track};
pub use template::Template;
pub use user::UserRecord;
