//! The release at a glance: the strategy's steps with the done ones ticked, the current
//! one marked and the next one pointed at; the canary weight as a bar; and, loudly, a
//! desired state the cluster has not caught up with.

use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::config::Theme;
use crate::domain::cron::{Schedule, run_span};
use crate::domain::group::StrategyKind;
use crate::domain::release::RouterState;
use crate::domain::{InstanceGroup, Phase, Release, Step, TrafficRouter};
use crate::engine::router::{effective_weight, replica_split};
use crate::engine::strategy::{self, stage_words};
use crate::model::CronRuns;
use jiff::Timestamp;

const BAR: usize = 10;

/// How a step stands in the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Done,
    Current,
    Next,
    Later,
    /// The step the release was aborted at.
    Aborted,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Done => "✓",
            Mark::Current => "▶",
            Mark::Next => "›",
            Mark::Later => "·",
            Mark::Aborted => "✗",
        }
    }
}

pub fn step_label(step: &Step) -> String {
    match step {
        Step::SetWeight(w) => format!("setWeight {w}"),
        Step::Pause(p) => match &p.duration {
            Some(d) => format!("pause {d}"),
            None => "pause".to_string(),
        },
        Step::Analysis(a) => format!("analysis {}×{}", a.interval, a.count),
        Step::SetHeaderRoute(h) => h.describe(),
    }
}

/// The mark of step `i` of `n` for a release (none: never released).
pub fn mark(i: usize, release: Option<&Release>) -> Mark {
    let Some(r) = release else {
        return Mark::Later;
    };
    match r.phase {
        Phase::Promoted => Mark::Done,
        Phase::Stable => Mark::Later,
        Phase::Aborted if i == r.step => Mark::Aborted,
        Phase::Aborted if i < r.step => Mark::Done,
        Phase::Aborted => Mark::Later,
        Phase::Progressing | Phase::Paused | Phase::Degraded => match i {
            i if i < r.step => Mark::Done,
            i if i == r.step => Mark::Current,
            i if i == r.step + 1 => Mark::Next,
            _ => Mark::Later,
        },
    }
}

/// `  via istio 33%`, or loudly what the router holds instead of what was asked (a route
/// edited by hand, an abort that did not reach 100 % stable).
fn router_spans(group: &InstanceGroup, state: &RouterState, t: &Theme) -> Vec<Span<'static>> {
    let name = group.spec.strategy.traffic.router.as_str();
    let clean = crate::model::sanitize::clean;
    if state.mismatch() {
        let note = state.note.as_deref().unwrap_or("");
        return vec![
            Span::raw("  "),
            Span::styled(
                format!(" ROUTER DRIFT: {} ", clean(note)),
                t.error.add_modifier(Modifier::REVERSED),
            ),
        ];
    }
    match state.weight {
        Some(w) => vec![Span::styled(format!("  via {name} {w}% ✓"), t.muted)],
        None => vec![Span::styled(format!("  via {name} (not read)"), t.muted)],
    }
}

/// A cron group: its schedule, next run and concurrency rule; whether it is suspended,
/// its running Jobs and last start (from its pods), a deploy that waits for a running Job;
/// the last message. `now`: the clock for the next run and the ages (`None`: not shown).
pub fn cron_lines(
    group: &InstanceGroup,
    release: Option<&Release>,
    runs: &CronRuns,
    now: Option<Timestamp>,
    t: &Theme,
) -> Vec<Line<'static>> {
    let clean = crate::model::sanitize::clean;
    let schedule = group.spec.params.get("schedule").and_then(|v| v.as_str());
    let mut first = vec![
        Span::styled(" cron ", t.muted),
        Span::raw(format!(
            "schedule {}",
            schedule
                .map(clean)
                .unwrap_or_else(|| "(in the template)".into())
        )),
    ];
    let suspended = release.is_some_and(|r| r.suspended);
    if let (Some(now), Some(s), false) = (now, schedule, suspended) {
        match Schedule::parse(s).map(|s| s.next_after(now)) {
            Ok(Some(next)) => first.push(Span::raw(format!(
                "  next {} (in {})",
                next.strftime("%H:%M UTC"),
                run_span(now, next)
            ))),
            Ok(None) => first.push(Span::styled("  never runs", t.warning)),
            Err(e) => first.push(Span::styled(format!("  {}", clean(&e)), t.error)),
        }
    }
    first.push(Span::styled(
        format!(
            "  concurrency {}",
            crate::engine::cron::concurrency(group).as_str()
        ),
        t.muted,
    ));
    let mut second = vec![Span::styled(" state ", t.muted)];
    match release {
        Some(r) => {
            if r.suspended {
                second.push(Span::styled(
                    " SUSPENDED ",
                    t.error.add_modifier(Modifier::REVERSED),
                ));
                second.push(Span::raw(" "));
            }
            second.push(Span::raw(format!("runs r{}", r.stable_revision)));
            if let (true, Some(n)) = (r.phase.in_flight(), r.canary_revision) {
                second.push(Span::styled(
                    format!("  r{n} waits for the running Job"),
                    t.canary,
                ));
            }
        }
        None => second.push(Span::styled("never deployed", t.muted)),
    }
    match runs.running.as_slice() {
        [] => second.push(Span::styled("  no Job running", t.muted)),
        jobs => {
            let names: Vec<String> = jobs
                .iter()
                .map(|(name, at)| match (now, at) {
                    (Some(now), Some(at)) => format!("{} ({})", clean(name), run_span(*at, now)),
                    _ => clean(name),
                })
                .collect();
            second.push(Span::styled(
                format!("  running {}", names.join(", ")),
                t.accent,
            ));
        }
    }
    if let (Some(now), Some(at)) = (now, runs.last_start) {
        second.push(Span::styled(
            format!("  last start {} ago", run_span(at, now)),
            t.muted,
        ));
    }
    let third = match release.and_then(|r| r.message.as_deref()) {
        Some(msg) => Line::from(vec![Span::styled(" last ", t.muted), Span::raw(clean(msg))]),
        None => Line::from(""),
    };
    vec![Line::from(first), Line::from(second), third]
}

/// The timeline's entries: a canary's steps; a blue-green release's gates, then its
/// preview, switch and replacement of the old version; a rolling release's one rollout.
/// Their positions are the release's `step` (see [`crate::engine::strategy`]).
pub fn stage_labels(group: &InstanceGroup) -> Vec<String> {
    let gates = group.spec.strategy.steps.iter().map(step_label);
    match group.spec.strategy.kind() {
        StrategyKind::Canary => gates.collect(),
        StrategyKind::Rolling => vec![format!("roll out over {}", group.stable_deployment())],
        StrategyKind::BlueGreen => {
            let bg = strategy::blue_green(group);
            let delay = bg.delay_text();
            gates
                .chain([
                    format!("preview on {}", strategy::preview_service(group)),
                    format!("switch (old kept {delay})"),
                    format!("replace {}", group.stable_deployment()),
                ])
                .collect()
        }
    }
}

/// `██████░░░░ 50%`: one cell per 10%, rounded to the nearest.
pub fn weight_bar(weight: u8) -> String {
    let full = (usize::from(weight.min(100)) * BAR + 50) / 100;
    format!("{}{} {weight}%", "█".repeat(full), "░".repeat(BAR - full))
}

/// The steps line: every step with its mark, or, where they do not fit in `width`, the
/// done ones counted (`✓ 3 done`) and then the last ones (`· 2 more`), so what is current
/// and next stays in whole words.
fn step_spans(
    group: &InstanceGroup,
    release: Option<&Release>,
    t: &Theme,
    width: usize,
) -> Vec<Span<'static>> {
    let lead = Span::styled(" steps ", t.muted);
    // The strategy's stages in its own words (a canary's steps; blue-green's gates,
    // preview, switch, replace; a rolling release's one rollout).
    let steps = stage_labels(group);
    if steps.is_empty() {
        return vec![
            lead,
            Span::styled("none: a deploy goes straight to stable", t.muted),
        ];
    }
    let marks: Vec<Mark> = (0..steps.len()).map(|i| mark(i, release)).collect();
    let item = |i: usize| {
        let style = match marks[i] {
            Mark::Done => t.ok,
            Mark::Current => t.accent.add_modifier(Modifier::BOLD),
            Mark::Next => t.text,
            Mark::Later => t.muted,
            Mark::Aborted => t.error,
        };
        Span::styled(format!("{} {}", marks[i].symbol(), steps[i]), style)
    };
    let build = |done: usize, shown_to: usize| {
        let mut spans = vec![lead.clone()];
        if done > 0 {
            spans.push(Span::styled(
                format!("{} {done} done", Mark::Done.symbol()),
                t.ok,
            ));
            spans.push(Span::raw("  "));
        }
        for i in done..shown_to {
            spans.push(item(i));
            spans.push(Span::raw("  "));
        }
        if shown_to < steps.len() {
            spans.push(Span::styled(
                format!("{} {} more", Mark::Later.symbol(), steps.len() - shown_to),
                t.muted,
            ));
        }
        spans
    };
    let fits = |spans: &[Span]| {
        let w: usize = spans.iter().map(Span::width).sum();
        w <= width
    };
    let all = build(0, steps.len());
    if fits(&all) {
        return all;
    }
    // Fold the done steps (all but ones before an abort's mark stay readable as a count).
    let done = marks.iter().take_while(|m| **m == Mark::Done).count();
    let mut shown_to = steps.len();
    loop {
        let spans = build(done, shown_to);
        if fits(&spans) || shown_to <= done + 1 {
            return spans;
        }
        shown_to -= 1;
    }
}

/// The release at a glance for a `width`-cell area: the steps, the canary and phase, the
/// alarms (router drift, desired ≠ applied) on a line of their own where they do not fit
/// beside it, and the release's message. `router` is what the group's mesh or ingress
/// router holds now, as the console's watch sees it.
pub fn lines(
    group: &InstanceGroup,
    release: Option<&Release>,
    router: Option<&RouterState>,
    t: &Theme,
    width: u16,
) -> Vec<Line<'static>> {
    if group.spec.kind == crate::domain::group::Workload::Cron {
        return cron_lines(group, release, &CronRuns::default(), None, t);
    }
    let steps = &group.spec.strategy.steps;
    let kind = group.spec.strategy.kind();
    let first = step_spans(group, release, t, usize::from(width));

    let mut second = vec![Span::styled(" canary ", t.muted)];
    let stage = release.and_then(|r| stage_words(group, r).map(|(_, long)| (r, long)));
    match release {
        Some(_) if let Some((r, words)) = stage => {
            second[0] = Span::styled(format!(" {} ", kind.as_str()), t.muted);
            second.push(Span::styled(words, t.canary));
            second.push(Span::styled("  phase ", t.muted));
            second.push(Span::raw(r.phase.as_str()));
        }
        Some(r) if r.phase.in_flight() => {
            second.push(Span::styled(weight_bar(r.weight), t.canary));
            let total = group.replicas();
            if group.spec.strategy.traffic.router == TrafficRouter::Replicas {
                let (_, canary) = replica_split(total, r.weight);
                let effective = effective_weight(total, r.weight);
                let mut pods = format!(" ({canary} of {total} pods");
                if effective != r.weight {
                    pods.push_str(&format!(", {effective}% effective"));
                }
                pods.push(')');
                second.push(Span::styled(pods, t.muted));
            }
            second.push(Span::styled("  phase ", t.muted));
            second.push(Span::raw(r.phase.as_str()));
            second.push(Span::styled("  step ", t.muted));
            second.push(Span::raw(format!("{} of {}", r.step, steps.len())));
        }
        Some(r) => {
            second.push(Span::styled("none", t.muted));
            second.push(Span::styled("  phase ", t.muted));
            second.push(Span::raw(r.phase.as_str()));
            second.push(Span::styled(
                format!("  stable r{}", r.stable_revision),
                t.muted,
            ));
        }
        None => second.push(Span::styled("none (never released)", t.muted)),
    }
    let mut alarms = Vec::new();
    if let Some(state) = router {
        let spans = router_spans(group, state, t);
        if state.mismatch() {
            alarms.extend(spans);
        } else {
            second.extend(spans);
        }
    }
    if let Some(r) = release
        && r.desired != r.applied
    {
        alarms.push(Span::raw("  "));
        alarms.push(Span::styled(
            format!(
                " desired {} ≠ applied {}: not yet applied to the cluster ",
                r.desired, r.applied
            ),
            t.error.add_modifier(Modifier::REVERSED),
        ));
    }
    let mut out = vec![Line::from(first)];
    let beside: usize = second.iter().chain(&alarms).map(Span::width).sum();
    if beside <= usize::from(width) || alarms.is_empty() {
        second.extend(alarms);
        out.push(Line::from(second));
    } else {
        out.push(Line::from(second));
        out.push(Line::from(alarms));
    }

    let third = match release.and_then(|r| r.message.as_deref()) {
        Some(msg) => Line::from(vec![
            Span::styled(" last ", t.muted),
            Span::raw(crate::model::sanitize::clean(msg)),
            Span::styled(
                release
                    .map(|r| format!("  ({})", r.updated_by))
                    .unwrap_or_default(),
                t.muted,
            ),
        ]),
        None => Line::from(""),
    };
    out.push(third);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GroupKey;

    #[test]
    fn bars_round_to_the_nearest_tenth() {
        assert_eq!(weight_bar(50), "█████░░░░░ 50%");
        assert_eq!(weight_bar(0), "░░░░░░░░░░ 0%");
        assert_eq!(weight_bar(100), "██████████ 100%");
        assert_eq!(weight_bar(5), "█░░░░░░░░░ 5%");
    }

    #[test]
    fn marks_follow_the_phase() {
        let mut r = Release::stable(GroupKey::new("c", "n", "g"), 1, "a");
        r.phase = Phase::Paused;
        r.step = 2;
        let marks: Vec<Mark> = (0..5).map(|i| mark(i, Some(&r))).collect();
        assert_eq!(
            marks,
            [
                Mark::Done,
                Mark::Done,
                Mark::Current,
                Mark::Next,
                Mark::Later
            ]
        );
        r.phase = Phase::Promoted;
        assert_eq!(mark(4, Some(&r)), Mark::Done);
        r.phase = Phase::Aborted;
        assert_eq!(mark(2, Some(&r)), Mark::Aborted);
        assert_eq!(mark(0, None), Mark::Later);
    }
}
