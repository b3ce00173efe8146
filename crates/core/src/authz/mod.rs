//! Who is acting (identity) and what they may do (policy, DESIGN.md §5).

pub mod identity;
pub mod policy;

pub use identity::Identity;
pub use policy::{Decision, Policy, Role, Subject, Verb};
