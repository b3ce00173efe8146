//! The arguments of `flightdeck demo`; the handler is `cli/demo.rs`.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Instance groups in the estate (the samples, plus generated ones up to this many).
    #[arg(long, default_value_t = 7)]
    pub groups: usize,
    /// Pods per generated group.
    #[arg(long, default_value_t = 20)]
    pub pods: u32,
    /// Scenario file for the simulated cluster (default: the one in assets/).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Simulated clusters, each with the same apps: 1 (`sim`), or 2–3 (`test`, `pre`,
    /// `prod`), watched side by side in one console.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub clusters: u8,
}
