//! `flightdeck demo` and the simulated estate: the sample apps from `assets/` (embedded, so
//! the binary runs anywhere) plus as many generated groups as asked for, rendered into the
//! objects the simulated cluster starts with and the records the store starts with.

pub mod seed;
pub mod store_seed;

pub use seed::{Seed, SeedError, seed};
pub use store_seed::seed_store;

/// The scenario the demo runs by default: `assets/scenario.yaml`, embedded.
pub fn scenario() -> crate::sim::Scenario {
    crate::sim::Scenario::from_yaml(include_str!("../../assets/scenario.yaml"))
        .expect("assets/scenario.yaml is valid (checked by a test)")
}
