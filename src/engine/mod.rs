//! The release engine: the only part that changes a release (DESIGN.md §2). For now it
//! holds template rendering, which the demo and the simulated estate also use.

pub mod render;
pub mod router;
