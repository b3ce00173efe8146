//! The group view's Instances tab: the open group's pods beside the registrations of its
//! service (`registration:` in the group), ghosts and strays flagged, and the pod a drain
//! from the tab aims at. The registry is never read here: the tab says what it wants
//! ([`App::instances_ask`], published by the event loop to the registry feed in
//! `tui/registry_feed.rs`) and the instances come back as `Update::Instances`.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::App;
use super::state::{GroupState, Pane, Screen};
use crate::domain::GroupKey;
use crate::domain::registration::{
    DrainMode, Instance, InstanceRow, PodAddress, Standing, side_by_side,
};
use crate::tui::action::Action;

/// What the registry feed follows: the open group and its service's prefix
/// (`<prefix>/<service>/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstancesAsk {
    pub key: GroupKey,
    pub prefix: String,
}

/// The Instances tab of one open group.
#[derive(Debug, Default)]
pub struct InstancesTab {
    /// The instances as last read; `None` until the registry first answers.
    pub instances: Option<Arc<Vec<Instance>>>,
    /// Keys beyond the feed's cap that are not shown.
    pub more: usize,
    /// Why the registry cannot be read now (one line; the last read stays shown).
    pub error: Option<String>,
    /// Index among the rows.
    pub selected: usize,
    pub offset: Cell<usize>,
}

/// What the tab shows: the rows, and what the release and the group say about them.
#[derive(Debug, Clone)]
pub struct InstancesView {
    pub rows: Vec<InstanceRow>,
    /// Pods being drained (from the release), and until when.
    pub draining: HashMap<String, Timestamp>,
    pub prefix: String,
    pub port: u16,
    pub mode: DrainMode,
    pub drain_for: String,
}

/// The counts of the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub registered: usize,
    pub serving: usize,
    pub draining: usize,
    pub ghosts: usize,
    pub strays: usize,
    pub unreadable: usize,
    pub not_ready: usize,
}

impl InstancesView {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.rows {
            if r.registered {
                c.registered += 1;
            }
            let draining = r
                .pod
                .as_ref()
                .is_some_and(|p| self.draining.contains_key(p));
            match r.standing {
                _ if draining => c.draining += 1,
                Standing::Serving => c.serving += 1,
                Standing::Drained => c.draining += 1,
                Standing::Ghost => c.ghosts += 1,
                Standing::Stray => c.strays += 1,
                Standing::Unreadable => c.unreadable += 1,
                Standing::NotReady => c.not_ready += 1,
                Standing::Down => {}
            }
        }
        c
    }

    /// `6 instances: 5 serving, 1 draining · 1 ghost · 0 strays`.
    pub fn summary(&self) -> String {
        let c = self.counts();
        let plural = |n: usize, one: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        let mut s = format!(
            "{}: {} serving, {} draining · {} · {}",
            plural(c.registered, "instance"),
            c.serving,
            c.draining,
            plural(c.ghosts, "ghost"),
            plural(c.strays, "stray"),
        );
        if c.unreadable > 0 {
            s.push_str(&format!(" · {} unreadable", c.unreadable));
        }
        if c.not_ready > 0 {
            s.push_str(&format!(" · {} not ready", c.not_ready));
        }
        s
    }
}

impl App {
    /// Whether `key` names where its instances register.
    pub fn has_registration(&self, key: &GroupKey) -> bool {
        self.estate
            .group(key)
            .is_some_and(|e| e.group.spec.registration.is_some())
    }

    /// The Instances tab is on screen.
    pub fn instances_open(&self) -> bool {
        matches!(&self.screen, Screen::Group(g) if g.focus == Pane::Instances)
    }

    /// What the registry feed should follow: the open group's service, when it has a
    /// registration; `None` otherwise.
    pub fn instances_ask(&self) -> Option<InstancesAsk> {
        let Screen::Group(g) = &self.screen else {
            return None;
        };
        let entry = self.estate.group(&g.key)?;
        let reg = entry.group.spec.registration.as_ref()?;
        Some(InstancesAsk {
            key: g.key.clone(),
            prefix: reg.service_prefix(entry.group.name()),
        })
    }

    /// The instances key: opens the tab or closes it.
    pub(super) fn toggle_instances(&mut self) {
        if let Screen::Group(g) = &mut self.screen {
            g.focus = if g.focus == Pane::Instances {
                Pane::Pods
            } else {
                Pane::Instances
            };
            g.history.diff = None;
        }
    }

    pub(super) fn move_in_instances(&mut self, action: Action) {
        let len = match &self.screen {
            Screen::Group(g) => self.instances_view(g).map_or(0, |v| v.rows.len()),
            _ => return,
        };
        let page = self.pages.instances;
        if let Screen::Group(g) = &mut self.screen {
            g.instances.selected = super::keys::moved(g.instances.selected, len, page, action);
        }
    }

    pub(super) fn instances_loaded(
        &mut self,
        key: GroupKey,
        instances: Result<Arc<Vec<Instance>>, String>,
        more: usize,
    ) {
        let Screen::Group(g) = &mut self.screen else {
            return;
        };
        if g.key != key {
            return;
        }
        match instances {
            Ok(list) => {
                g.instances.instances = Some(list);
                g.instances.more = more;
                g.instances.error = None;
            }
            Err(why) => g.instances.error = Some(why),
        }
    }

    /// The rows of the open group's Instances tab; `None` when the group has no
    /// registration (or is gone).
    pub fn instances_view(&self, g: &GroupState) -> Option<InstancesView> {
        let entry = self.estate.group(&g.key)?;
        let reg = entry.group.spec.registration.as_ref()?;
        let port = reg.port(&entry.group.spec.params);
        let pods: Vec<PodAddress> = self
            .estate
            .pods_of(&g.key)
            .into_iter()
            .map(|p| PodAddress {
                name: p.name.clone(),
                ip: p.ip.clone(),
                ready: p.is_ready(),
            })
            .collect();
        let instances = g
            .instances
            .instances
            .as_deref()
            .map_or(&[][..], Vec::as_slice);
        let draining = entry
            .release
            .as_ref()
            .map(|r| {
                r.drains
                    .iter()
                    .map(|d| (d.pod.clone(), d.until))
                    .collect::<HashMap<_, _>>()
            })
            .unwrap_or_default();
        Some(InstancesView {
            rows: side_by_side(&pods, port, instances),
            draining,
            prefix: reg.service_prefix(entry.group.name()),
            port,
            mode: reg.drain,
            drain_for: reg.drain_for_text().to_string(),
        })
    }

    /// The pod a drain from the group view aims at, and its address: the selected row of
    /// the Instances tab, or the selected pod of the pods table.
    pub(super) fn drain_target(&self) -> Result<(String, Option<String>), String> {
        let Screen::Group(g) = &self.screen else {
            return Err("drain: open a group and select a pod".into());
        };
        let view = self
            .instances_view(g)
            .ok_or_else(|| format!("cannot drain: {} has no registration", g.key.group))?;
        let name = match g.focus {
            Pane::Instances => {
                let row = view
                    .rows
                    .get(g.instances.selected.min(view.rows.len().saturating_sub(1)))
                    .ok_or("drain: no pod selected")?;
                row.pod.clone().ok_or_else(|| {
                    format!(
                        "drain: {} is registered but no pod has it (a ghost): nothing to drain",
                        row.address.as_deref().unwrap_or("this instance")
                    )
                })?
            }
            Pane::Pods => {
                let pods = self.estate.pods_of(&g.key);
                pods.get(g.pod.min(pods.len().saturating_sub(1)))
                    .map(|p| p.name.clone())
                    .ok_or("drain: no pod selected")?
            }
            _ => {
                return Err(
                    "drain: select a pod in the instances tab or the pods table first".into(),
                );
            }
        };
        let address = view
            .rows
            .iter()
            .find(|r| r.pod.as_deref() == Some(name.as_str()))
            .and_then(|r| r.address.clone());
        Ok((name, address))
    }
}
