//! Log viewer figures: ingest throughput, frame time with a million-line buffer while
//! following, memory per million lines, and whether 20 pods at 1,000 lines/s each leave
//! the console its frame rate. `cargo bench --bench logs`.

use std::time::{Duration, Instant};

use flightdeck::config::Theme;
use flightdeck::logs::line::parse_raw;
use flightdeck::logs::{BufferLimits, LogEvent, LogLine, Track};
use flightdeck::tui::logs_view::LogsView;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const MILLION: usize = 1_000_000;

/// A 120-byte access-log line as the API server sends it with `timestamps=true`.
fn raw_line(i: usize) -> Vec<u8> {
    let mut s = format!(
        "2026-11-23T04:05:{:02}.{:09}Z 10.0.{}.{} - - \"GET /api/v1/users/{i} HTTP/1.1\" 200 512 \"-\" \"grpc-go/1.62\" 12ms",
        i % 60,
        i % 1_000_000_000,
        i % 256,
        (i / 256) % 256
    )
    .into_bytes();
    s.resize(120 + 31, b'.');
    s
}

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn view(limit: usize) -> LogsView {
    let mut v = LogsView::new(
        "bench/web",
        BufferLimits {
            max_lines: limit,
            max_bytes: 512 << 20,
        },
    );
    for p in 0..20 {
        let track = if p < 18 { Track::Stable } else { Track::Canary };
        v.apply(LogEvent::Joined {
            pod: format!("web-7f9c-{p:02}"),
            container: "app".into(),
            track,
            initial: true,
        });
    }
    v
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn main() {
    let theme = Theme::built_in("default").expect("default theme");
    let keymap = flightdeck::config::Keymap::default();
    let raws: Vec<Vec<u8>> = (0..MILLION).map(raw_line).collect();

    // Ingest: parse (UTF-8, timestamp, sanitise) and push, as the viewer does.
    let rss0 = rss_bytes();
    let mut v = view(MILLION);
    let t = Instant::now();
    for (i, raw) in raws.iter().enumerate() {
        let (time, text) = parse_raw(raw, true);
        v.push(LogLine::log((i % 20) as u32, time, text));
    }
    let ingest = t.elapsed();
    let rss1 = rss_bytes();
    println!(
        "ingest: {MILLION} lines of 120 bytes in {:.0} ms = {:.0} lines/s (target >= 500,000)",
        ingest.as_secs_f64() * 1e3,
        MILLION as f64 / ingest.as_secs_f64()
    );
    println!(
        "memory: {:.0} MB accounted by the buffer, {:.0} MB resident growth per million lines (target <= 200 MB)",
        v.buffer().bytes() as f64 / 1e6,
        rss1.saturating_sub(rss0) as f64 / 1e6
    );

    // Frames while following, 20 new lines before each.
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    let mut frames = Vec::new();
    for f in 0..1000 {
        for p in 0..20 {
            let (time, text) = parse_raw(&raws[(f * 20 + p) % MILLION], true);
            v.push(LogLine::log(p as u32, time, text));
        }
        let t = Instant::now();
        term.draw(|fr| {
            flightdeck::tui::views::logs::draw(fr, fr.area(), &v, &theme, &keymap);
        })
        .expect("draw");
        frames.push(t.elapsed());
    }
    println!(
        "render (1,000,000-line buffer, following, 200x50): p50 {:.3} ms, p99 {:.3} ms (target p99 < 2 ms)",
        percentile(&mut frames, 0.5).as_secs_f64() * 1e3,
        percentile(&mut frames, 0.99).as_secs_f64() * 1e3
    );
    v.set_search("users/4\\d\\d\\d");
    v.toggle_filter();
    let mut frames = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        term.draw(|fr| {
            flightdeck::tui::views::logs::draw(fr, fr.area(), &v, &theme, &keymap);
        })
        .expect("draw");
        frames.push(t.elapsed());
    }
    println!(
        "render with a filter on: p99 {:.3} ms",
        percentile(&mut frames, 0.99).as_secs_f64() * 1e3
    );
    drop(v);

    // 20 pods x 1,000 lines/s at 30 frames/s: each frame ingests 667 lines and draws.
    let mut v = view(200_000);
    let per_frame = 20_000 / 30;
    let mut busy = Vec::new();
    let mut i = 0;
    for _ in 0..300 {
        let t = Instant::now();
        for _ in 0..per_frame {
            let (time, text) = parse_raw(&raws[i % MILLION], true);
            v.push(LogLine::log((i % 20) as u32, time, text));
            i += 1;
        }
        term.draw(|fr| {
            flightdeck::tui::views::logs::draw(fr, fr.area(), &v, &theme, &keymap);
        })
        .expect("draw");
        busy.push(t.elapsed());
    }
    let p99 = percentile(&mut busy, 0.99);
    println!(
        "20 pods x 1,000 lines/s: ingest + frame p99 {:.2} ms of a 33 ms frame budget ({})",
        p99.as_secs_f64() * 1e3,
        if p99 < Duration::from_millis(33) {
            "keeps 30 fps"
        } else {
            "DROPS FRAMES"
        }
    );
}
