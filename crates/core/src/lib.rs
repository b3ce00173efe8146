//! flightdeck's core: everything but the terminal and the simulated cluster.
//!
//! This crate has no terminal dependency, so the rule that the parts below the console
//! never draw is kept by the compiler. Module paths are those of the `flightdeck` crate,
//! which re-exports each of them (`flightdeck::engine` is `flightdeck_core::engine`).

pub mod authz;
pub mod domain;
pub mod engine;
pub mod health;
pub mod kube;
pub mod logs;
pub mod model;
pub mod store;
