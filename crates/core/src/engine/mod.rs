//! The release engine: the only part that changes a release (DESIGN.md §2). Its pure core
//! is here — actions, the phase machine, routers and template rendering; the orchestration
//! (authorise → store transaction + audit → apply) builds on it.

pub mod action;
pub mod adopt;
pub mod cron;
pub mod objects;
pub mod phases;
pub mod release_engine;
pub mod render;
pub mod router;
pub mod strategy;
pub mod traffic;

pub use action::{Action, ActionError, parse_weight};
pub use phases::{
    ClusterEffect, Context, Refusal, Transition, desired_effects, pause_ends_at, transition,
};
