//! What to read: a group's pods, one track of them, or one pod; which container; how far
//! back; whether to follow.

use std::time::Duration;

use crate::domain::labels;

use super::sources::Track;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Lines from the end of each container's log to start with; `None` is all.
    pub tail: Option<i64>,
    /// Only lines newer than this.
    pub since: Option<Duration>,
    /// The last terminated container instead of the running one.
    pub previous: bool,
    pub follow: bool,
}

impl Default for LogOptions {
    /// Follow, starting from the last 100 lines of each container: enough context without
    /// flooding a view of 20 pods with their whole history.
    fn default() -> Self {
        LogOptions {
            tail: Some(100),
            since: None,
            previous: false,
            follow: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    pub namespace: String,
    /// The group's label selector (`flightdeck.dev/group=NAME`), or another selector.
    pub selector: String,
    pub track: Option<Track>,
    pub pod: Option<String>,
    /// `None` reads every container of each pod.
    pub container: Option<String>,
    pub options: LogOptions,
}

impl LogSource {
    /// Every pod of an instance group, as its templates label them.
    pub fn group(namespace: &str, group: &str) -> LogSource {
        LogSource {
            namespace: namespace.to_string(),
            selector: format!("{}={group}", labels::GROUP),
            track: None,
            pod: None,
            container: None,
            options: LogOptions::default(),
        }
    }

    pub fn with_track(mut self, track: Track) -> LogSource {
        self.track = Some(track);
        self
    }

    pub fn with_pod(mut self, pod: &str) -> LogSource {
        self.pod = Some(pod.to_string());
        self
    }

    pub fn with_container(mut self, container: &str) -> LogSource {
        self.container = Some(container.to_string());
        self
    }

    pub fn with_options(mut self, options: LogOptions) -> LogSource {
        self.options = options;
        self
    }

    /// The label selector for the pod list and watch.
    pub fn label_selector(&self) -> String {
        match self.track {
            Some(t @ (Track::Stable | Track::Canary)) => {
                format!("{},{}={}", self.selector, labels::TRACK, t.as_str())
            }
            _ => self.selector.clone(),
        }
    }

    pub fn field_selector(&self) -> Option<String> {
        self.pod.as_ref().map(|p| format!("metadata.name={p}"))
    }
}

/// `5s`, `10m`, `2h`, `1d` or a plain number of seconds, for `--since`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_narrow_by_track_and_pod() {
        let s = LogSource::group("shop", "web")
            .with_track(Track::Canary)
            .with_pod("web-x");
        assert_eq!(
            s.label_selector(),
            "flightdeck.dev/group=web,flightdeck.dev/track=canary"
        );
        assert_eq!(s.field_selector().as_deref(), Some("metadata.name=web-x"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }
}
