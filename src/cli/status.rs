//! `flightdeck status [GROUP] [--json]`: every group's release at a glance, or one group in
//! detail — phase, stable and canary revisions with their tags, weight, step i/N, desired
//! vs applied generation, and who changed it when.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::context::store_error;
use super::output::{ago, out, print_json, report_unreadable, table, when};
use super::{CliError, Global};
use crate::domain::group::StrategyKind;
use crate::domain::release::{AnalysisRecord, RouterState};
use crate::domain::{GroupKey, InstanceGroup, Release, Step};
use crate::engine::{strategy, traffic};
use crate::kube::apply::{Applier, Deadline};
use crate::store::{Scope, Store};

pub use super::args::status::StatusArgs;

/// One group's status, as printed and as `--json` writes it.
#[derive(Debug, Serialize)]
pub struct GroupStatus {
    pub group: GroupKey,
    pub app: String,
    /// `None`: the group has never been deployed.
    pub release: Option<Release>,
    pub stable_tag: Option<String>,
    pub canary_tag: Option<String>,
    pub steps: usize,
    pub in_sync: bool,
    /// For one group behind a mesh or ingress: what its router holds now, read live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_live: Option<RouterState>,
    /// `canary`, `blueGreen` or `rolling`.
    pub strategy: &'static str,
    /// A blue-green or rolling release in flight: its stage in a word (`preview`,
    /// `switched`, `replacing`, `rolling`, `paused`), shown where a canary shows its weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

pub async fn run(global: &Global, args: StatusArgs) -> Result<(), CliError> {
    let store = global.connect_store().await?;
    // An unreadable group or release is named on stderr and left out; the rest is shown.
    let groups = match &args.group {
        Some(g) => vec![super::target::resolve(store.as_ref(), g).await?],
        None => {
            let listed = store
                .read_groups(&Scope::all())
                .await
                .map_err(store_error)?;
            report_unreadable(&listed.unreadable);
            listed.items
        }
    };
    let releases = store
        .read_releases(&Scope::all())
        .await
        .map_err(store_error)?;
    if args.group.is_none() {
        report_unreadable(&releases.unreadable);
    }
    let releases: BTreeMap<GroupKey, Release> = releases
        .items
        .into_iter()
        .map(|v| (v.value.group.clone(), v.value))
        .collect();
    // Tags live in the revisions: fetch them a few at a time so a large estate stays quick.
    let mut statuses: Vec<GroupStatus> = futures::stream::iter(groups.iter())
        .map(|g| status(store.as_ref(), g, releases.get(&g.key()).cloned()))
        .buffered(16)
        .try_collect()
        .await?;
    // One group in detail: its router is read live, as the console's watch sees it.
    if let (Some(_), Some(g), Some(s)) = (&args.group, groups.first(), statuses.first_mut())
        && let Some(r) = &s.release
        && g.spec.strategy.traffic.router.splits_by_weight()
    {
        s.router_live = Some(router_live(global, g, r).await);
    }
    if args.json {
        return match (&args.group, statuses.first()) {
            (Some(_), Some(one)) => print_json(one),
            _ => print_json(&statuses),
        };
    }
    let now = jiff::Timestamp::now();
    match (&args.group, groups.first(), statuses.first()) {
        (Some(_), Some(g), Some(s)) => out(&detail(g, s, now)),
        _ => out(&overview(&statuses, now)),
    }
}

/// What `g`'s router holds now against what `r` asks, or why it could not be read; a
/// cluster that does not answer costs at most a few seconds.
async fn router_live(global: &Global, g: &InstanceGroup, r: &Release) -> RouterState {
    let router = g.spec.strategy.traffic.router;
    let (weight, routes) = traffic::expected(r);
    let deadline = Deadline::after(std::time::Duration::from_secs(3));
    let conn = match global.connect_cluster().await {
        Ok(c) if c.context == g.spec.cluster => Ok(c),
        Ok(c) => c.switch(&g.spec.cluster).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.message),
    };
    match conn {
        Ok(conn) => {
            let applier = Applier::new(conn.client.clone());
            traffic::observe(&applier, g, router, weight, routes, deadline).await
        }
        Err(e) => traffic::unobserved(router, &e),
    }
}

async fn status(
    store: &dyn Store,
    g: &InstanceGroup,
    release: Option<Release>,
) -> Result<GroupStatus, CliError> {
    let key = g.key();
    let tag = |n: Option<u64>| {
        let key = key.clone();
        async move {
            let Some(n) = n.filter(|n| *n > 0) else {
                return Ok(None);
            };
            Ok::<_, CliError>(
                store
                    .get_revision(&key, n)
                    .await
                    .map_err(store_error)?
                    .and_then(|r| {
                        r.params
                            .get("tag")
                            .and_then(|t| t.as_str())
                            .map(String::from)
                    }),
            )
        }
    };
    let stable_tag = tag(release.as_ref().map(|r| r.stable_revision)).await?;
    let canary_tag = tag(release.as_ref().and_then(|r| r.canary_revision)).await?;
    let stage = release
        .as_ref()
        .and_then(|r| strategy::stage_words(g, r))
        .map(|(short, _)| short);
    Ok(GroupStatus {
        in_sync: release.as_ref().is_none_or(|r| r.desired == r.applied),
        group: key,
        app: g.app().to_string(),
        release,
        stable_tag,
        canary_tag,
        steps: g.spec.strategy.steps.len(),
        router_live: None,
        strategy: g.spec.strategy.kind().as_str(),
        stage,
    })
}

fn revision(n: Option<u64>, tag: &Option<String>) -> String {
    match (n, tag) {
        (Some(n), Some(t)) if n > 0 => format!("{n} ({t})"),
        (Some(n), None) if n > 0 => n.to_string(),
        _ => "-".into(),
    }
}

/// The weight, marked when the router held something else at the last read-back.
fn weight(r: &Release) -> String {
    match &r.router {
        Some(state) if state.mismatch() => match state.weight {
            Some(w) => format!("{}% (router {w}%!)", r.weight),
            None => format!("{}% (router ?)", r.weight),
        },
        _ => format!("{}%", r.weight),
    }
}

fn sync(r: &Release) -> String {
    if r.desired == r.applied {
        format!("{}", r.applied)
    } else {
        format!("{}/{} (not applied)", r.applied, r.desired)
    }
}

fn step(r: &Release, steps: usize) -> String {
    if steps == 0 || !r.phase.in_flight() {
        return "-".into();
    }
    format!("{}/{}", (r.step + 1).min(steps), steps)
}

fn overview(statuses: &[GroupStatus], now: jiff::Timestamp) -> String {
    let rows = statuses
        .iter()
        .map(|s| {
            let g = &s.group;
            match &s.release {
                None => vec![
                    g.cluster.clone(),
                    g.namespace.clone(),
                    g.group.clone(),
                    "never deployed".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ],
                Some(r) => vec![
                    g.cluster.clone(),
                    g.namespace.clone(),
                    g.group.clone(),
                    r.phase.to_string(),
                    revision(Some(r.stable_revision), &s.stable_tag),
                    revision(r.canary_revision, &s.canary_tag),
                    s.stage.clone().unwrap_or_else(|| weight(r)),
                    step(r, s.steps),
                    sync(r),
                    format!("{} {}", r.updated_by, ago(r.updated_at, now)),
                ],
            }
        })
        .collect();
    table(
        &[
            "CLUSTER",
            "NAMESPACE",
            "GROUP",
            "PHASE",
            "STABLE",
            "CANARY",
            "WEIGHT",
            "STEP",
            "APPLIED",
            "UPDATED",
        ],
        rows,
    )
}

fn detail(g: &InstanceGroup, s: &GroupStatus, now: jiff::Timestamp) -> String {
    let mut out = format!("Group:     {}  (app {})\n", s.group, s.app);
    let Some(r) = &s.release else {
        out.push_str("Phase:     never deployed (`flightdeck deploy GROUP --tag T`)\n");
        return out;
    };
    out.push_str(&format!("Phase:     {}\n", r.phase));
    out.push_str(&format!(
        "Stable:    revision {}\n",
        revision(Some(r.stable_revision), &s.stable_tag)
    ));
    out.push_str(&format!(
        "Canary:    {}\n",
        match r.canary_revision {
            Some(n) => format!("revision {}", revision(Some(n), &s.canary_tag)),
            None => "none".into(),
        }
    ));
    match strategy::stage_words(g, r) {
        Some((_, words)) => out.push_str(&format!(
            "Strategy:  {} — {words}\n",
            g.spec.strategy.kind().as_str()
        )),
        None if g.spec.strategy.kind() != StrategyKind::Canary => {
            out.push_str(&format!("Strategy:  {}\n", g.spec.strategy.kind().as_str()))
        }
        None => out.push_str(&format!("Weight:    {}%\n", r.weight)),
    }
    let router = g.spec.strategy.traffic.router;
    if router.splits_by_weight() {
        out.push_str(&format!(
            "Router:    {}\n",
            router_line(router, r, s.router_live.as_ref(), now)
        ));
    }
    if !r.header_routes.is_empty() {
        out.push_str("Routes:\n");
        for h in &r.header_routes {
            out.push_str(&format!("  {}\n", super::files::one_line(&h.describe())));
        }
    }
    out.push_str(&format!("Step:      {}\n", step(r, s.steps)));
    out.push_str(&format!(
        "Applied:   generation {} of {}{}\n",
        r.applied,
        r.desired,
        if s.in_sync {
            ""
        } else {
            " — the cluster is behind; any console or the agent re-applies"
        }
    ));
    out.push_str(&format!(
        "Updated:   by {} at {}\n",
        r.updated_by,
        when(r.updated_at, now)
    ));
    if let Some(m) = &r.message {
        out.push_str(&format!("Message:   {}\n", super::files::one_line(m)));
    }
    if let Some(a) = &r.analysis {
        out.push_str(&analysis(g, a, now));
    }
    if !g.spec.strategy.steps.is_empty() {
        out.push_str("Steps:\n");
        for (i, st) in g.spec.strategy.steps.iter().enumerate() {
            let here = r.phase.in_flight() && i == r.step;
            out.push_str(&format!(
                "  {} {}. {}\n",
                if here { "▶" } else { " " },
                i + 1,
                describe(st)
            ));
        }
    }
    out
}

/// The controller's verdict stored with the release, its step numbered as in `Steps:`.
fn analysis(g: &InstanceGroup, a: &AnalysisRecord, now: jiff::Timestamp) -> String {
    let score = a.score.map(|s| format!(" (score {s})")).unwrap_or_default();
    let step = g
        .spec
        .strategy
        .steps
        .get(a.step)
        .map(|s| format!(" {}", describe(s)))
        .unwrap_or_default();
    let revision = a
        .canary_revision
        .map(|n| format!(" of revision {n}"))
        .unwrap_or_default();
    let mut out = format!(
        "Analysis:  {}{score}{revision} at step {}.{step} → {}, {}\n",
        a.verdict.as_str(),
        a.step + 1,
        super::files::one_line(&a.action),
        ago(a.at, now)
    );
    for reason in &a.reasons {
        out.push_str(&format!("  {}\n", super::files::one_line(reason)));
    }
    out
}

/// `istio: canary 33% as asked (read now)`, or the mismatch, loud.
fn router_line(
    router: crate::domain::TrafficRouter,
    r: &Release,
    live: Option<&RouterState>,
    now: jiff::Timestamp,
) -> String {
    let name = router.as_str();
    let Some(state) = live.or(r.router.as_ref()) else {
        return format!("{name}: not read back yet");
    };
    let read = if live.is_some() {
        "read now".to_string()
    } else {
        format!("read back {}", ago(state.at, now))
    };
    match (&state.note, state.weight) {
        (Some(note), _) if state.unread => format!("{} ({read})", super::files::one_line(note)),
        (Some(note), _) => format!("MISMATCH — {} ({read})", super::files::one_line(note)),
        (None, Some(w)) => format!("{name}: canary {w}% as asked ({read})"),
        (None, None) => format!("{name}: no weight read ({read})"),
    }
}

fn describe(s: &Step) -> String {
    match s {
        Step::SetWeight(w) => format!("setWeight {w}"),
        Step::Pause(p) => match &p.duration {
            Some(d) => format!("pause {d}"),
            None => "pause (until someone steps)".into(),
        },
        Step::Analysis(a) => format!("analysis every {} × {}", a.interval, a.count),
        Step::SetHeaderRoute(h) => h.describe(),
    }
}
