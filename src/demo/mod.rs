//! `flightdeck demo` and the simulated estate: the sample apps from `assets/` (embedded, so
//! the binary runs anywhere) plus as many generated groups as asked for, rendered into the
//! objects the simulated cluster starts with and the records the store starts with.

pub mod seed;

pub use seed::{Seed, SeedError, seed};
