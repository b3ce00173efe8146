use thiserror::Error;

/// Every way the store can fail, each with a one-line message that says what to do.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store could not be reached (down, network, or the request timed out).
    #[error("store unreachable at {at}: {detail} (is etcd running?)")]
    Unavailable { at: String, detail: String },

    /// etcd is over its space quota and has raised its NOSPACE alarm: it refuses every
    /// write until an admin frees space and clears the alarm, and reads still work. A
    /// refused write is a whole transaction, so none of it landed.
    #[error(
        "the store at {at} is out of space (etcd: database space exceeded) and takes no writes, so nothing was written; an etcd admin must compact and defragment it, then clear the alarm (`etcdctl alarm disarm`)"
    )]
    NoSpace { at: String },

    /// Someone else changed the release since it was read; nothing was written.
    #[error(
        "release {key} was changed by {by} at {at} (store revision {mod_revision}); reload and try again"
    )]
    Conflict {
        key: String,
        by: String,
        at: String,
        mod_revision: i64,
    },

    #[error("{what} not found")]
    NotFound { what: String },

    /// A create-only write found the key taken (revisions are immutable).
    #[error("{what} already exists and cannot be overwritten")]
    AlreadyExists { what: String },

    /// Bad input: a store URL, a name with `/`, an unreadable certificate file.
    #[error("{0}")]
    Invalid(String),

    /// etcd refused the user: wrong password, or the user's role does not allow it.
    #[error(
        "etcd refused {user}: {detail} (check --etcd-user, the password, and the user's etcd role)"
    )]
    Denied { user: String, detail: String },

    /// A stored value that flightdeck cannot read (written by hand or by another version).
    #[error("stored value at {key} is unreadable: {detail}")]
    Corrupt { key: String, detail: String },

    /// `audit verify` found the first entry that does not belong to the chain.
    #[error("audit chain broken at entry {seq}: {reason}")]
    ChainBroken { seq: u64, reason: String },

    /// This connection's lease was taken over: its writes are fenced off (DESIGN.md §2).
    #[error(
        "nothing written: this controller no longer holds the lease ({key} moved on); another controller acts now"
    )]
    Fenced { key: String },

    /// Concurrent audit appends kept moving audit-head; nothing was written.
    #[error("the audit log is busy ({attempts} concurrent appends in a row); try again")]
    Contended { attempts: u32 },
}

impl StoreError {
    pub(crate) fn corrupt(key: &str, e: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            key: key.to_string(),
            detail: e.to_string(),
        }
    }

    /// Store down or slow: the CLI's exit code 3, and worth retrying later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}
