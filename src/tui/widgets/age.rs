//! Ages as k9s shows them: `5s`, `3m`, `2h`, `4d` — one unit, enough to compare rows.

use jiff::Timestamp;

pub fn age(since: Option<Timestamp>, now: Timestamp) -> String {
    let Some(since) = since else {
        return "-".to_string();
    };
    let secs = now.duration_since(since).as_secs().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unit_rounded_down() {
        let now: Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let ago = |s: i64| Some(now - jiff::SignedDuration::from_secs(s));
        assert_eq!(age(ago(5), now), "5s");
        assert_eq!(age(ago(59), now), "59s");
        assert_eq!(age(ago(3 * 60 + 59), now), "3m");
        assert_eq!(age(ago(2 * 3600 + 120), now), "2h");
        assert_eq!(age(ago(4 * 86_400 + 7), now), "4d");
        assert_eq!(age(None, now), "-");
        // A clock a little behind the cluster's must not print negative ages.
        assert_eq!(age(ago(-30), now), "0s");
    }
}
