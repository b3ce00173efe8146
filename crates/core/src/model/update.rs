use std::sync::Arc;

use crate::authz::policy::Policy;
use crate::domain::audit::AuditEntry;
use crate::domain::{GroupKey, InstanceGroup, Release};
use crate::health::LiveReport;
use crate::health::Reports;

use super::{DeploymentRow, EventRow, PodRow, RouterRow};

/// Which outside part a connection state is about: the store, or one cluster (by its
/// registered name, which is the kubeconfig context the console reaches it through).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    Cluster(String),
    Store,
}

/// Connection state shown in the header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Conn {
    #[default]
    Connecting,
    Connected,
    /// Lost; retrying with back-off. The text says why, in one line.
    Reconnecting(String),
    /// Gave up or refused (e.g. 403); the text says why.
    Failed(String),
}

impl Conn {
    pub fn label(&self) -> &'static str {
        match self {
            Conn::Connecting => "connecting",
            Conn::Connected => "connected",
            Conn::Reconnecting(_) => "reconnecting",
            Conn::Failed(_) => "failed",
        }
    }
}

/// A change to what the console knows, sent by a background task. Rows are already
/// converted and sanitised; applying an update is cheap and never does I/O.
#[derive(Debug, Clone)]
pub enum Update {
    /// Everything the store holds about groups and releases (initial load, resync).
    StoreReloaded {
        groups: Vec<InstanceGroup>,
        releases: Vec<Release>,
    },
    GroupApplied(InstanceGroup),
    GroupDeleted(GroupKey),
    ReleaseApplied(Release),
    /// A watcher (re)listed a namespace: the rows replace all it knew there.
    /// Every router object of one kind in a namespace (a relist).
    RoutersListed {
        cluster: String,
        namespace: String,
        kind: String,
        rows: Vec<RouterRow>,
    },
    RouterApplied {
        cluster: String,
        row: RouterRow,
    },
    RouterDeleted {
        cluster: String,
        row: RouterRow,
    },
    PodsListed {
        cluster: String,
        namespace: String,
        rows: Vec<PodRow>,
    },
    PodApplied {
        cluster: String,
        row: PodRow,
    },
    PodDeleted {
        cluster: String,
        namespace: String,
        name: String,
    },
    DeploymentsListed {
        cluster: String,
        namespace: String,
        rows: Vec<DeploymentRow>,
    },
    DeploymentApplied {
        cluster: String,
        row: DeploymentRow,
    },
    DeploymentDeleted {
        cluster: String,
        namespace: String,
        name: String,
    },
    /// A namespace's events listed anew: they replace what it held. A long list comes in
    /// parts, this one first and [`Update::EventsMore`] for the rest.
    EventsListed {
        cluster: String,
        namespace: String,
        rows: Vec<EventRow>,
    },
    /// The next part of the list an [`Update::EventsListed`] began: added to it.
    EventsMore {
        cluster: String,
        namespace: String,
        rows: Vec<EventRow>,
    },
    EventApplied {
        cluster: String,
        row: EventRow,
    },
    EventDeleted {
        cluster: String,
        namespace: String,
        uid: String,
    },
    Connection {
        part: Part,
        state: Conn,
    },
    /// The store's policy (for greying out what this user may not do).
    PolicyLoaded(Policy),
    /// Recent audit entries (initial load; oldest first).
    AuditLoaded(Vec<AuditEntry>),
    /// Someone (maybe this user) did something: the audit view grows, and a console that
    /// shows the group toasts it when it was someone else.
    AuditAppended(AuditEntry),
    /// The page of entries just before the oldest one the console holds (oldest first;
    /// empty: there are none).
    AuditOlder(Vec<AuditEntry>),
    /// The audit log could not be read: shown in the audit view instead of an empty list.
    AuditUnreadable(String),
    /// The history tab's read of a group (its `generation`-th ask), or why it failed.
    HistoryLoaded {
        key: GroupKey,
        generation: u64,
        rows: Result<Arc<super::history::HistoryRows>, String>,
    },
    /// The registered instances of the open group's service, as the registry feed last
    /// read them (parsed and cleaned, at most the feed's cap; `more`: keys beyond it), or
    /// why the registry cannot be read (one line).
    Instances {
        key: GroupKey,
        instances: Result<Arc<Vec<crate::domain::registration::Instance>>, String>,
        more: usize,
    },
    /// An action this console started has finished: the one-line summary or the reason
    /// it failed.
    ActionFinished {
        key: GroupKey,
        action: String,
        result: Result<String, String>,
    },
    /// The agent's latest health of every group it analyses (all of them, each time).
    HealthReports(Arc<Reports>),
    /// This console's own sample of a live canary, or that the canary is gone.
    LiveHealth(LiveReport),
    /// A background task of the console (the action worker, the store feed) failed and
    /// was started again: shown on the status line, so nothing is dropped silently.
    TaskFailed {
        task: String,
        error: String,
    },
    /// The store keys (relative, e.g. `groups/sim/shop/bad`) whose values could not be
    /// decoded when the store was (re)loaded: all of them, replacing what was known.
    StoreUnreadable(Vec<String>),
    /// One more key was written with a value that cannot be decoded (from the watch).
    KeyUnreadable(String),
}

impl From<LiveReport> for Update {
    fn from(r: LiveReport) -> Self {
        Update::LiveHealth(r)
    }
}
