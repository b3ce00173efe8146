//! flightdeck: a terminal release console for Kubernetes.
//!
//! The library holds every part; `main.rs` only parses arguments and picks a front end.
//! The parts below `tui` never import ratatui or crossterm, so the command line, the agent
//! and the tests use them without a terminal.

pub mod agent;
pub mod authz;
pub mod cli;
pub mod config;
pub mod controller;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod health;
pub mod kube;
pub mod logging;
pub mod logs;
pub mod model;
pub mod sim;
pub mod store;
pub mod tui;
