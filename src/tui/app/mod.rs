//! The console's state machine. The event loop (in `tui/mod.rs`) feeds it background news
//! (`apply`), keys, pastes and ticks, and draws it; everything that needs I/O comes back
//! as an [`Effect`] for the loop to carry out.

pub mod audit;
mod command;
pub mod dialog;
mod gate;
pub mod history;
pub mod instances;
mod keys;
pub mod rows;
pub mod state;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ratatui::Frame;

use crate::agent::Reports;
use crate::authz::Policy;
use crate::config::{Keymap, Theme};
use crate::domain::audit::AuditEntry;
use crate::health::{LiveHealth, LiveReport};
use crate::model::{self, Estate};
use rows::GroupRows;
use state::{GroupsState, InputLine, Pages, Screen, Status, StatusKind};

/// How long an info toast stays.
const TOAST: SignedDuration = SignedDuration::from_secs(3);
/// How often a sort by a live column (ready, restarts…) may reorder the list. Rows that
/// jump around on every pod update cannot be read, and re-summarising every group for
/// every update would eat the frame budget.
const RESORT_EVERY: SignedDuration = SignedDuration::from_secs(1);

pub struct AppInit {
    /// The cluster the groups list starts narrowed to (`--context`); empty: every cluster.
    pub context: String,
    /// The kubeconfig's contexts, for `:ctx NAME` (with the clusters that hold groups).
    pub contexts: Vec<String>,
    /// Who is running it.
    pub user: String,
    /// Store label, e.g. `mem://` or `etcd://127.0.0.1:2379`.
    pub store: String,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Show the newcomer hint line.
    pub first_run: bool,
}

/// Something the event loop must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Run a release action through the engine; the answer comes back as
    /// `Update::ActionFinished`.
    Act {
        key: crate::domain::GroupKey,
        action: crate::engine::Action,
        reason: Option<String>,
    },
    /// A release key that was dimmed was pressed: the refusal goes to the audit log.
    Refused {
        key: crate::domain::GroupKey,
        verb: crate::authz::Verb,
        reason: String,
    },
    /// Read the page of the audit log before entry `before` (the oldest one held); the
    /// answer comes back as `Update::AuditOlder` or `Update::AuditUnreadable`.
    LoadOlderAudit {
        before: u64,
    },
    /// Start streaming logs of a cluster into the (just opened) log viewer; replaces
    /// earlier streams.
    OpenLogs {
        cluster: String,
        source: crate::logs::LogSource,
    },
    /// The log viewer closed: stop its streams.
    CloseLogs,
}

/// How long the newcomer's line stays when no key is pressed.
const FIRST_RUN_LINE_FOR: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);

pub struct App {
    pub(crate) contexts: Vec<String>,
    pub(crate) user: String,
    /// The user is the OS user on a store without auth (the demo, `--local`): said so in
    /// the header, since nothing proved it.
    pub(crate) unauthenticated: bool,
    /// The user's groups (their etcd roles, as `admin add-user` recorded them), so that
    /// what a group binding allows is not dimmed.
    pub(crate) user_groups: Vec<String>,
    /// Registered clusters this console's own context for reaches another server than the
    /// registered one: cluster → what it reaches.
    pub(crate) foreign_clusters: std::collections::BTreeMap<String, String>,
    pub(crate) store: String,
    pub(crate) theme: Theme,
    pub(crate) keymap: Keymap,
    pub(crate) first_run: bool,
    /// When the first-run line was first seen: it goes after 30 s (or the first key).
    first_run_shown_at: Option<Timestamp>,
    pub(crate) estate: Estate,
    /// The clock as of the last tick; draw reads this, never the system clock.
    pub(crate) now: Timestamp,
    pub(crate) screen: Screen,
    pub(crate) groups: GroupsState,
    pub(crate) input: Option<InputLine>,
    pub(crate) help: Option<usize>,
    pub(crate) status: Option<Status>,
    pub(crate) pages: Pages,
    /// The store's policy; `None` until it arrives (every action is "checking…").
    pub(crate) policy: Option<Policy>,
    /// The audit log as the store sent it, oldest first.
    pub(crate) audit: Vec<AuditEntry>,
    /// How far back the audit view has read, and whether it can read further.
    pub(crate) audit_pages: audit::Paging,
    pub(crate) dialog: Option<dialog::Dialog>,
    /// The log viewer, over the current screen while open.
    pub(crate) logs: Option<crate::tui::logs_view::LogsView>,
    /// The in-process controller's analysis reports (the demo's), by group.
    pub(crate) health: Arc<Reports>,
    /// This console's own samples of every live canary, by group.
    pub(crate) live: std::collections::HashMap<crate::domain::GroupKey, Arc<LiveHealth>>,
    rows: GroupRows,
    /// The rows must be rebuilt before they are used: groups, scope, filter or sort changed.
    rows_stale: bool,
    /// Cluster data changed under a sort or filter that reads it; rebuild when due.
    resort_due: bool,
    rows_built: Timestamp,
}

impl App {
    /// The header says the user is unproven (no etcd auth behind the name).
    pub fn mark_unauthenticated(&mut self) {
        self.unauthenticated = true;
    }

    /// Clusters whose registered server is not the one this console's context reaches
    /// (cluster → a one-line explanation): marked in the header and on their groups.
    pub fn set_foreign_clusters(&mut self, clusters: std::collections::BTreeMap<String, String>) {
        self.foreign_clusters = clusters;
    }

    /// The groups the policy matches this user by.
    pub fn set_user_groups(&mut self, groups: Vec<String>) {
        self.user_groups = groups;
    }

    pub fn new(init: AppInit) -> App {
        App {
            user: init.user,
            unauthenticated: false,
            user_groups: Vec::new(),
            foreign_clusters: Default::default(),
            store: init.store,
            theme: init.theme,
            keymap: init.keymap,
            first_run: init.first_run,
            first_run_shown_at: None,
            estate: Estate::new(),
            now: Timestamp::now(),
            screen: Screen::Groups,
            groups: GroupsState {
                cluster: (!init.context.is_empty()).then_some(init.context),
                cluster_order: init.contexts.clone(),
                ..GroupsState::default()
            },
            contexts: init.contexts,
            input: None,
            help: None,
            status: None,
            pages: Pages::default(),
            policy: None,
            audit: Vec::new(),
            audit_pages: audit::Paging::default(),
            dialog: None,
            logs: None,
            health: Arc::default(),
            live: Default::default(),
            rows: GroupRows::default(),
            rows_stale: true,
            resort_due: false,
            rows_built: Timestamp::UNIX_EPOCH,
        }
    }

    pub fn apply(&mut self, u: model::Update) {
        use model::Update as U;
        match u {
            U::PolicyLoaded(p) => {
                self.estate.key_readable(crate::store::layout::POLICY);
                self.policy = Some(p);
                return;
            }
            U::AuditLoaded(entries) => {
                self.audit_pages = audit::Paging::after_load(&entries);
                self.audit = entries;
                self.trim_audit();
                return;
            }
            U::AuditOlder(entries) => return self.audit_older(entries),
            U::AuditUnreadable(error) => {
                self.audit_pages.loading = false;
                self.audit_pages.error = Some(error);
                return;
            }
            U::AuditAppended(entry) => {
                self.history_stale(Some(&entry.target.group_key()));
                return self.audit_appended(entry);
            }
            U::HistoryLoaded {
                key,
                generation,
                rows,
            } => return self.history_loaded(key, generation, rows),
            U::Instances {
                key,
                instances,
                more,
            } => return self.instances_loaded(key, instances, more),
            U::HealthReports(reports) => {
                self.health = reports;
                return;
            }
            U::LiveHealth(LiveReport::Sampled(key, health)) => {
                self.live.insert(key, health);
                return;
            }
            U::LiveHealth(LiveReport::Gone(key)) => {
                self.live.remove(&key);
                return;
            }
            U::TaskFailed { task, error } => {
                self.show_error(format!("{task} failed: {error}; restarted"));
                return;
            }
            U::ActionFinished {
                key,
                action,
                result,
            } => {
                match result {
                    Ok(summary) => self.show_info(format!("{}: {summary}", key.group)),
                    Err(why) => self.show_error(format!("{action} {}: {why}", key.group)),
                }
                return;
            }
            _ => {}
        }
        if let U::StoreReloaded { .. } = &u {
            self.history_stale(None);
        }
        match &u {
            U::StoreReloaded { .. }
            | U::GroupApplied(_)
            | U::GroupDeleted(_)
            | U::ReleaseApplied(_) => self.rows_stale = true,
            U::Connection { .. }
            | U::StoreUnreadable(_)
            | U::KeyUnreadable(_)
            | U::PolicyLoaded(_)
            | U::AuditLoaded(_)
            | U::AuditAppended(_)
            | U::AuditOlder(_)
            | U::AuditUnreadable(_)
            | U::HistoryLoaded { .. }
            | U::Instances { .. }
            | U::ActionFinished { .. }
            | U::TaskFailed { .. }
            | U::HealthReports(_)
            | U::LiveHealth(_) => {}
            // The name sort reads nothing from the cluster; others (and the tag filter) do.
            _ => {
                if self.groups.sort != state::SortKey::Name || !self.groups.filter.is_empty() {
                    self.resort_due = true;
                }
            }
        }
        self.estate.apply(u);
    }

    pub fn on_tick(&mut self, now: Timestamp) {
        self.now = now;
        if self.first_run {
            let since = *self.first_run_shown_at.get_or_insert(now);
            if now.duration_since(since) >= FIRST_RUN_LINE_FOR {
                self.first_run = false;
            }
        }
        if self
            .status
            .as_ref()
            .and_then(|s| s.until)
            .is_some_and(|until| now >= until)
        {
            self.status = None;
        }
    }

    pub fn draw(&mut self, frame: &mut Frame) {
        self.refresh_rows();
        let pages = crate::tui::views::draw(frame, self);
        self.pages = pages;
    }

    pub fn estate(&self) -> &Estate {
        &self.estate
    }

    /// The in-process controller's analysis report of a group, if it runs one (the demo).
    pub fn health_of(&self, key: &crate::domain::GroupKey) -> Option<&crate::health::HealthReport> {
        self.health.get(key)
    }

    /// This console's live samples of a group's canary, while it has one.
    pub fn live_of(&self, key: &crate::domain::GroupKey) -> Option<&LiveHealth> {
        self.live.get(key).map(Arc::as_ref)
    }

    /// The group open on screen (sampled more often than the rest).
    pub fn open_group(&self) -> Option<&crate::domain::GroupKey> {
        match &self.screen {
            Screen::Group(g) => Some(&g.key),
            _ => None,
        }
    }

    pub fn show_error(&mut self, msg: String) {
        self.status = Some(Status {
            kind: StatusKind::Error,
            text: one_line(&msg),
            until: None,
        });
    }

    /// A short note that goes away by itself (e.g. "namespace: shop").
    pub fn show_info(&mut self, msg: String) {
        self.status = Some(Status {
            kind: StatusKind::Info,
            text: one_line(&msg),
            until: Some(self.now + TOAST),
        });
    }

    pub fn on_paste(&mut self, text: &str) {
        if let Some(v) = self.logs.as_mut() {
            v.on_paste(text);
            return;
        }
        // A pasted newline must not run a command or confirm a dialog; it becomes a space
        // like other control characters would be meaningless in a one-line input.
        let insert = |input: &mut tui_input::Input| {
            for c in text.chars() {
                let c = if c.is_control() { ' ' } else { c };
                input.handle(tui_input::InputRequest::InsertChar(c));
            }
        };
        if let Some(field) = self.dialog.as_mut().and_then(|d| d.focused_mut()) {
            insert(&mut field.input);
            return;
        }
        let Some(line) = self.input.as_mut() else {
            return;
        };
        insert(&mut line.input);
        self.after_input_edit();
    }

    /// Another person's action on a group in view becomes a toast; ours already has one
    /// (the action's own result).
    fn audit_appended(&mut self, entry: AuditEntry) {
        let key = entry.target.group_key();
        let toast = (entry.user.name != self.user && self.shows(&key))
            .then(|| audit::toast_text(&entry))
            .flatten();
        self.audit.push(entry);
        self.trim_audit();
        if let Some(text) = toast {
            self.show_info(text);
        }
    }

    fn trim_audit(&mut self) {
        let keep = audit::KEEP.max(self.audit_pages.paged_in);
        let excess = self.audit.len().saturating_sub(keep);
        if excess > 0 {
            self.audit.drain(..excess);
            // What was dropped is in the store still: paging can bring it back.
            self.audit_pages.complete = false;
        }
    }

    fn audit_older(&mut self, older: Vec<AuditEntry>) {
        self.audit_pages.loading = false;
        self.audit_pages.error = None;
        let oldest = self.audit.first().map_or(u64::MAX, |e| e.seq);
        let older: Vec<AuditEntry> = older.into_iter().filter(|e| e.seq < oldest).collect();
        self.audit_pages.complete = older.first().is_none_or(|e| e.seq <= 1);
        self.audit_pages.paged_in =
            (self.audit_pages.paged_in.max(self.audit.len()) + older.len()).min(audit::MAX_LOADED);
        // Rows are newest first, so the selection stays on its entry: older ones come below.
        self.audit.splice(0..0, older);
        self.trim_audit();
    }

    /// Is the group open, or a row of the groups list as it is scoped and filtered now?
    fn shows(&mut self, key: &crate::domain::GroupKey) -> bool {
        if let Screen::Group(g) = &self.screen
            && &g.key == key
        {
            return true;
        }
        self.refresh_rows();
        self.rows.position_of(key).is_some()
    }

    pub(crate) fn rows(&self) -> &GroupRows {
        &self.rows
    }

    pub(crate) fn refresh_rows(&mut self) {
        let due = self.resort_due && self.now.duration_since(self.rows_built) >= RESORT_EVERY;
        if !self.rows_stale && !due {
            return;
        }
        self.rows = rows::build(&self.estate, &self.groups, self.now);
        self.rows_stale = false;
        self.resort_due = false;
        self.rows_built = self.now;
        let g = &mut self.groups;
        if let Some(i) = g
            .selected_key
            .as_ref()
            .and_then(|k| self.rows.position_of(k))
        {
            g.selected = i;
        }
        g.selected = g.selected.min(self.rows.groups.len().saturating_sub(1));
        g.selected_key = self.rows.key_at(g.selected).cloned();
    }

    pub(crate) fn invalidate_rows(&mut self) {
        self.rows_stale = true;
    }
}

/// Status messages are one line: the first line of a longer text.
fn one_line(msg: &str) -> String {
    crate::model::sanitize::clean(msg.lines().next().unwrap_or_default())
}

#[cfg(test)]
mod tests;
