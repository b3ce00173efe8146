//! Who is acting (identity) and what they may do (policy, DESIGN.md §5).

pub mod identity;

pub use identity::Identity;
