//! Timestamps as the API server writes them, and ages as kubectl prints them.

use jiff::Timestamp;

/// A `metav1.Time`: RFC 3339 in UTC with whole seconds.
pub fn now() -> String {
    format_time(Timestamp::now())
}

pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn parse(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// Seconds since `s`, or None when `s` is not a timestamp.
pub fn seconds_since(s: &str) -> Option<i64> {
    let t = parse(s)?;
    Some(Timestamp::now().as_second() - t.as_second())
}

/// The age of a timestamp the way `kubectl get` prints it ("45s", "3m12s", "5h", "2d3h").
pub fn age(s: &str) -> String {
    match seconds_since(s) {
        Some(secs) => human_duration(secs),
        None => "<unknown>".into(),
    }
}

/// Port of apimachinery's `duration.HumanDuration`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, h)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(192), "3m12s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(50 * 3600), "2d2h");
    }

    #[test]
    fn times_round_trip() {
        let t = now();
        assert!(t.ends_with('Z') && !t.contains('.'));
        assert!(seconds_since(&t).unwrap() <= 1);
    }
}
