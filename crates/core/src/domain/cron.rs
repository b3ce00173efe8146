//! Standard cron schedules, as a CronJob's `spec.schedule` is read: five fields (minute,
//! hour, day of month, month, day of week) of `*`, numbers, ranges, steps and lists, month
//! and weekday names, and the `@hourly`-style macros. Day of month and day of week, when
//! both are restricted, match on either (the Vixie cron rule the Kubernetes controller
//! follows). Times are UTC. The simulated cluster's CronJob controller runs on it, and the
//! console shows a cron group's next run with it.

use jiff::civil::DateTime;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

/// How long a run has been going, or until the next: `90s`, `5m`, `3h`.
pub fn run_span(from: Timestamp, to: Timestamp) -> String {
    match to.duration_since(from).as_secs().max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_star: bool,
    weekdays_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            t => t,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [min, hour, dom, mon, dow] = fields[..] else {
            return Err(format!(
                "schedule {text:?} has {} fields, expected 5 (minute hour day-of-month month day-of-week)",
                fields.len()
            ));
        };
        let mut weekdays = field(dow, 0, 7, &WEEKDAYS, "day of week")?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Schedule {
            minutes: field(min, 0, 59, &[], "minute")?,
            hours: field(hour, 0, 23, &[], "hour")?,
            days: field(dom, 1, 31, &[], "day of month")?,
            months: field(mon, 1, 12, &MONTHS, "month")?,
            weekdays,
            days_star: dom.starts_with('*'),
            weekdays_star: dow.starts_with('*'),
        })
    }

    fn matches(&self, t: &DateTime) -> bool {
        let bit = |set: u64, v: i8| set & (1u64 << v) != 0;
        let day = bit(self.days, t.day());
        let weekday = bit(self.weekdays, t.weekday().to_sunday_zero_offset());
        let day_ok = match (self.days_star, self.weekdays_star) {
            (false, false) => day || weekday,
            _ => day && weekday,
        };
        bit(self.minutes, t.minute())
            && bit(self.hours, t.hour())
            && bit(self.months, t.month())
            && day_ok
    }

    /// The first scheduled minute strictly after `after` (`None` within four years: a
    /// schedule such as `0 0 30 2 *` never fires).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let utc = TimeZone::UTC;
        let start = after.to_zoned(utc.clone()).datetime();
        let mut t = start
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let limit = start.checked_add(4.years()).ok()?;
        while t < limit {
            if self.months & (1u64 << t.month()) == 0 {
                // The first minute of the next month.
                t = t
                    .first_of_month()
                    .start_of_day()
                    .checked_add(1.month())
                    .ok()?;
                continue;
            }
            if self.matches(&t) {
                return t.to_zoned(utc).ok().map(|z| z.timestamp());
            }
            t = t.checked_add(1.minute()).ok()?;
        }
        None
    }
}

/// One field as a bit set of the values it allows.
fn field(text: &str, lo: u8, hi: u8, names: &[&str], what: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("schedule {what} field {text:?}: {why}");
    let value = |s: &str| -> Result<u8, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            // Month names count from 1, weekday names from 0.
            return Ok(i as u8 + lo);
        }
        let v: u8 = s
            .parse()
            .map_err(|_| bad(&format!("{s:?} is not a number")))?;
        let top = if what == "day of week" { 7 } else { hi };
        if v < lo || v > top {
            return Err(bad(&format!("{v} is outside {lo}-{top}")));
        }
        Ok(v)
    };
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u8 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad(&format!("step {s:?} is not a positive number")))?;
                (r, s)
            }
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" | "?" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if part.contains('/') => (value(r)?, hi),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if from > to {
            return Err(bad(&format!("range {from}-{to} runs backwards")));
        }
        let mut v = from;
        while v <= to {
            set |= 1u64 << v;
            v = match v.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(schedule: &str, after: &str) -> String {
        Schedule::parse(schedule)
            .unwrap()
            .next_after(after.parse().unwrap())
            .map(|t| t.to_string())
            .unwrap_or_else(|| "never".into())
    }

    #[test]
    fn schedules_fire_at_the_next_matching_minute() {
        assert_eq!(
            next("* * * * *", "2026-11-30T10:00:30Z"),
            "2026-11-30T10:01:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-11-30T10:01:00Z"),
            "2026-11-30T10:15:00Z"
        );
        assert_eq!(
            next("0 3 * * *", "2026-11-30T10:00:00Z"),
            "2026-12-01T03:00:00Z"
        );
        assert_eq!(
            next("30 2 * * mon-fri", "2026-12-04T03:00:00Z"),
            "2026-12-07T02:30:00Z"
        );
        assert_eq!(
            next("0 0 1 jan *", "2026-11-30T10:00:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("@hourly", "2026-11-30T10:00:00Z"),
            "2026-11-30T11:00:00Z"
        );
        assert_eq!(
            next("0 12 * * 7", "2026-11-30T10:00:00Z"),
            "2026-12-06T12:00:00Z"
        );
        // Both day fields restricted: either one.
        assert_eq!(
            next("0 0 15 * sun", "2026-11-30T10:00:00Z"),
            "2026-12-06T00:00:00Z"
        );
        assert_eq!(next("0 0 30 2 *", "2026-11-30T10:00:00Z"), "never");
    }

    #[test]
    fn broken_schedules_say_which_field() {
        for (s, says) in [
            ("* * * *", "has 4 fields"),
            ("61 * * * *", "minute field \"61\": 61 is outside 0-59"),
            ("*/0 * * * *", "step \"0\""),
            ("* * * foo *", "\"foo\" is not a number"),
            ("5-1 * * * *", "runs backwards"),
        ] {
            let e = Schedule::parse(s).unwrap_err();
            assert!(e.contains(says), "{s}: {e}");
        }
    }
}
