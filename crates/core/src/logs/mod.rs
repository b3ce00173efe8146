//! Live logs, without a terminal: a bounded ring buffer of sanitised lines, the table of
//! pods and containers they came from, search and filter, and the kube-rs streams that fill
//! them. The console's log view and `flightdeck logs` both sit on this.

pub mod buffer;
pub mod line;
pub mod search;
pub mod source;
pub mod sources;
pub mod stream;

pub use buffer::{BufferLimits, LogBuffer};
pub use line::{LineKind, LogLine, SourceId};
pub use search::{MatchIndex, Pattern, PatternError};
pub use source::{LogOptions, LogSource, parse_duration};
pub use sources::{Source, SourceTable, Track};
pub use stream::{LogEvent, LogStreams, spawn_log_streams};
