//! What the console knows about the estate: view models built from Kubernetes objects and
//! store records, and the [`Estate`] that indexes them by instance group. Pure data: the
//! watchers convert objects into these rows off the render loop, and the TUI and the
//! command line only read them.

pub mod deployment;
pub mod estate;
pub mod event;
pub mod history;
pub mod pod;
pub mod router;
pub use crate::domain::sanitize;
pub mod slim;
pub mod update;

pub use deployment::DeploymentRow;
pub use estate::{CronRuns, Estate, GroupEntry, GroupSummary};
pub use event::{EventKind, EventRow};
pub use pod::PodRow;
pub use router::RouterRow;
pub use update::{Conn, Part, Update};
