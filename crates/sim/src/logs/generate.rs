//! Log lines that cost nothing until read: a container instance's log is a pure function of
//! its start time, its rate and a seed, so line `i` (its time and its text) is computed on
//! demand. 6,000 pods that nobody reads hold no log memory at all.

use jiff::Timestamp;

/// What a container instance logs, and when.
#[derive(Debug, Clone)]
pub struct LogSpec {
    /// Different per pod, container and restart, so every instance has its own lines.
    pub seed: u64,
    /// Unix nanoseconds of the container's start: line 0 is written then.
    pub start_ns: i64,
    /// Unix nanoseconds the container stopped, for a terminated instance.
    pub end_ns: Option<i64>,
    /// Exit code of a terminated instance; non-zero writes a last `panic:` line.
    pub exit_code: i64,
    /// Lines per second (wall clock).
    pub rate: f64,
    /// Fraction of requests answered 5xx.
    pub error_rate: f64,
    pub image: String,
    pub pod_ip: String,
}

const NS: f64 = 1e9;

impl LogSpec {
    fn interval_ns(&self) -> f64 {
        NS / self.rate.max(0.001)
    }

    /// The time line `i` was written.
    pub fn time_of(&self, i: u64) -> i64 {
        if self.crashed() && i == self.crash_index() {
            return self.end_ns.unwrap_or(self.start_ns);
        }
        self.start_ns + (i as f64 * self.interval_ns()) as i64
    }

    fn crashed(&self) -> bool {
        self.end_ns.is_some() && self.exit_code != 0
    }

    /// Regular lines written up to the end of a terminated instance (its panic line follows).
    fn crash_index(&self) -> u64 {
        self.regular_until(self.end_ns.unwrap_or(self.start_ns))
    }

    fn regular_until(&self, t_ns: i64) -> u64 {
        if t_ns < self.start_ns {
            return 0;
        }
        ((t_ns - self.start_ns) as f64 / self.interval_ns()).floor() as u64 + 1
    }

    /// How many lines exist at time `t_ns` (all of them for a terminated instance).
    pub fn count_at(&self, t_ns: i64) -> u64 {
        let t = self.end_ns.map_or(t_ns, |end| end.min(t_ns));
        let n = self.regular_until(t);
        if self.crashed() && self.end_ns.is_some_and(|end| t_ns >= end) {
            n + 1
        } else {
            n
        }
    }

    /// The first line written at or after `t_ns`.
    pub fn first_at_or_after(&self, t_ns: i64) -> u64 {
        if t_ns <= self.start_ns {
            return 0;
        }
        let i = ((t_ns - self.start_ns) as f64 / self.interval_ns()).ceil() as u64;
        // Float rounding may land one off; settle on the exact boundary.
        let mut i = i.saturating_sub(1);
        while self.time_of(i) < t_ns && i < u64::MAX / 2 {
            i += 1;
        }
        i
    }

    /// The text of line `i`, without a trailing newline.
    pub fn line(&self, i: u64) -> String {
        let tag = crate::scenario::image_tag(&self.image);
        if i == 0 {
            return format!(
                "level=info msg=\"starting server\" image={} version={tag} listen=:8080",
                self.image
            );
        }
        if self.crashed() && i == self.crash_index() {
            return "panic: runtime error: invalid memory address or nil pointer dereference [recovered]".into();
        }
        let mut r = Rng(self.seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let t =
            Timestamp::from_nanosecond(self.time_of(i) as i128).unwrap_or(Timestamp::UNIX_EPOCH);
        let roll = r.unit();
        if roll < self.error_rate / 3.0 {
            let what = pick(&mut r, ERRORS);
            return format!(
                "level=error msg=\"request failed\" path={} error=\"{what}\" request_id={:016x}",
                pick(&mut r, PATHS),
                r.next()
            );
        }
        if roll > 0.985 {
            return format!(
                "level=info msg=\"{}\" {}",
                pick(&mut r, INFOS),
                format_args!("goroutines={}", 40 + r.next() % 200)
            );
        }
        let status = if r.unit() < self.error_rate {
            pick(&mut r, &["500", "502", "503", "504"])
        } else {
            pick(
                &mut r,
                &["200", "200", "200", "200", "201", "204", "304", "404"],
            )
        };
        let client = format!(
            "10.{}.{}.{}",
            r.next() % 4,
            r.next() % 256,
            2 + r.next() % 250
        );
        format!(
            "{client} - - [{}] \"{} {} HTTP/1.1\" {status} {} \"-\" \"{}\" {}ms upstream={}",
            t.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            pick(&mut r, &["GET", "GET", "GET", "POST", "PUT", "DELETE"]),
            pick(&mut r, PATHS),
            64 + r.next() % 4000,
            pick(&mut r, AGENTS),
            1 + r.next() % 250,
            self.pod_ip,
        )
    }
}

const PATHS: &[&str] = &[
    "/api/v1/users/4821",
    "/api/v1/users?limit=50",
    "/api/v1/orders/99120/items",
    "/healthz",
    "/api/v1/sessions",
    "/api/v2/search?q=boots",
    "/metrics",
    "/api/v1/cart/checkout",
];
const AGENTS: &[&str] = &[
    "grpc-go/1.62.1",
    "Mozilla/5.0 (X11; Linux x86_64)",
    "kube-probe/1.33",
    "okhttp/4.12.0",
    "python-requests/2.32",
];
const ERRORS: &[&str] = &[
    "context deadline exceeded",
    "upstream connect error or disconnect/reset before headers",
    "pq: too many connections for role \\\"app\\\"",
    "rpc error: code = Unavailable desc = connection refused",
];
const INFOS: &[&str] = &[
    "cache refreshed",
    "config reloaded",
    "gc cycle finished",
    "connection pool resized",
];

fn pick<'a>(r: &mut Rng, from: &[&'a str]) -> &'a str {
    from[(r.next() % from.len() as u64) as usize]
}

/// splitmix64: tiny, fast and good enough for believable logs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// FNV-1a, to turn names into seeds.
pub fn seed_of(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(end: Option<i64>, exit: i64) -> LogSpec {
        LogSpec {
            seed: 7,
            start_ns: 1_000_000_000_000,
            end_ns: end,
            exit_code: exit,
            rate: 4.0,
            error_rate: 0.5,
            image: "app:v2".into(),
            pod_ip: "10.244.0.9".into(),
        }
    }

    #[test]
    fn lines_follow_the_rate_and_are_deterministic() {
        let s = spec(None, 0);
        assert_eq!(s.count_at(s.start_ns - 1), 0);
        assert_eq!(s.count_at(s.start_ns), 1);
        assert_eq!(s.count_at(s.start_ns + 1_000_000_000), 5);
        assert_eq!(s.time_of(4), s.start_ns + 1_000_000_000);
        assert_eq!(s.line(3), spec(None, 0).line(3));
        assert_ne!(s.line(3), s.line(4));
        assert!(s.line(0).contains("version=v2"));
    }

    #[test]
    fn first_at_or_after_is_exact() {
        let s = spec(None, 0);
        for t in [
            s.start_ns,
            s.start_ns + 1,
            s.start_ns + 250_000_000,
            s.start_ns + 999_999_999,
        ] {
            let i = s.first_at_or_after(t);
            assert!(s.time_of(i) >= t);
            assert!(i == 0 || s.time_of(i - 1) < t);
        }
    }

    #[test]
    fn a_crashed_instance_ends_with_a_panic() {
        let end = 1_000_000_000_000 + 2_100_000_000;
        let s = spec(Some(end), 1);
        let n = s.count_at(end + 10_000_000_000);
        assert_eq!(n, 10);
        assert!(s.line(n - 1).starts_with("panic:"));
        assert_eq!(s.time_of(n - 1), end);
    }

    #[test]
    fn a_high_error_rate_writes_5xx_and_errors() {
        let s = spec(None, 0);
        let text: String = (1..200).map(|i| s.line(i) + "\n").collect();
        assert!(text.contains("\" 50"), "{text}");
        assert!(text.contains("level=error"));
    }
}
