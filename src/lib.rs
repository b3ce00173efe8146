//! flightdeck: a terminal release console for Kubernetes.
//!
//! This crate holds the front ends (console, command line, controller, agent, demo);
//! `main.rs` only parses arguments and picks one. The parts without a terminal live in
//! `flightdeck-core` and the simulated cluster in `flightdeck-sim`; both are re-exported
//! here under their old paths, so `crate::engine` and `flightdeck::sim` mean what they did
//! before the split.

pub use flightdeck_core::{authz, domain, engine, health, kube, logs, model, store};
#[cfg(feature = "sim")]
pub use flightdeck_sim as sim;

pub mod agent;
pub mod cli;
pub mod config;
pub mod controller;
#[cfg(feature = "sim")]
pub mod demo;
pub mod logging;
pub mod tui;
