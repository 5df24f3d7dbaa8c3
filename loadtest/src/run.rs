//! What every scenario shares: common flags, the process clock, run phases, progress, outcome.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client;
use crate::Error;

/// Highest latency the histograms track; slower samples are clamped (and show as the max).
const LATENCY_NS_MAX: u64 = 60_000_000_000;
/// Significant figures kept by every histogram (0.1 % resolution).
const LATENCY_SIGFIGS: u8 = 3;
/// How often the progress line redraws.
const PROGRESS_TICK: Duration = Duration::from_millis(200);

/// Flags every scenario takes.
#[derive(Args, Debug, Clone, Serialize)]
pub struct CommonArgs {
    /// Server host (any Redis-compatible server).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, short = 'p', default_value_t = 6379)]
    pub port: u16,
    /// Seed for every random choice (keys, values); same seed, same requests.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Warm-up before measuring (e.g. 1s, 500ms); its operations are not counted.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    #[serde(serialize_with = "ser_secs")]
    pub warmup: Duration,
    /// Measured duration after the warm-up (e.g. 10s).
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    /// Longest wait after the measured phase for in-flight messages/jobs to arrive.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    #[serde(serialize_with = "ser_secs")]
    pub drain: Duration,
    /// Client threads driving the event-loop sides (default: available cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write every figure and the full config to this JSON file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// No progress line and no summary (the JSON file and exit code still tell the result).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl CommonArgs {
    /// The server address.
    pub fn addr(&self) -> Result<SocketAddr, Error> {
        client::resolve(&self.host, self.port)
    }

    /// Client threads to use, never more than `work_items`.
    pub fn thread_count(&self, work_items: usize) -> usize {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        self.threads.unwrap_or(cores).clamp(1, work_items.max(1))
    }
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Parses `10s`, `500ms`, `2m`, `1.5` (seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("bad duration {text:?}"))?;
    if !(0.0..=86_400.0 * 365.0).contains(&(value * scale)) {
        return Err(format!("duration {text:?} out of range"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// Parses `1,16,64` into numbers.
pub fn parse_list(text: &str) -> Result<Vec<u64>, String> {
    text.split(',')
        .map(|item| {
            item.trim()
                .parse::<u64>()
                .map_err(|_| format!("bad number {item:?}"))
        })
        .collect()
}

/// The process clock: nanoseconds since the first call, from one `Instant` every thread
/// shares, so a timestamp a publisher embeds means the same to a subscriber thread.
pub fn now_ns() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Phases of one run and the stop/abort flags every worker polls.
pub struct Run {
    /// Operations started at or after this instant are measured.
    measure_start: AtomicU64,
    /// No new operation starts at or after this instant.
    measure_end: AtomicU64,
    /// Set when the measured phase is over (or a request budget is spent).
    pub stop: AtomicBool,
    /// Set with `fail`; every loop exits promptly.
    pub abort: AtomicBool,
    error: Mutex<Option<String>>,
    /// Operations completed so far, for the progress line only.
    pub progress: AtomicU64,
}

impl Run {
    /// A run whose warm-up starts now.
    pub fn new(common: &CommonArgs) -> Arc<Run> {
        let run = Arc::new(Run {
            measure_start: AtomicU64::new(0),
            measure_end: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            error: Mutex::new(None),
            progress: AtomicU64::new(0),
        });
        run.restart(common);
        run
    }

    /// Starts the warm-up over from now (after a setup whose length is not part of the run,
    /// such as waiting for subscriptions). Call before any operation is sent.
    pub fn restart(&self, common: &CommonArgs) {
        let start = now_ns() + common.warmup.as_nanos() as u64;
        self.measure_start.store(start, Ordering::SeqCst);
        self.measure_end
            .store(start + common.duration.as_nanos() as u64, Ordering::SeqCst);
    }

    /// Operations started at or after this instant are measured.
    pub fn measure_start_ns(&self) -> u64 {
        self.measure_start.load(Ordering::Acquire)
    }

    /// No operation starts at or after this instant; the measured window ends here.
    pub fn measure_end_ns(&self) -> u64 {
        self.measure_end.load(Ordering::Acquire)
    }

    /// True if an operation started at `sent_ns` falls in the measured window.
    pub fn measured(&self, sent_ns: u64) -> bool {
        sent_ns >= self.measure_start_ns() && sent_ns < self.measure_end_ns()
    }

    /// Length of the measured window, seconds.
    pub fn window_secs(&self) -> f64 {
        (self.measure_end_ns() - self.measure_start_ns()) as f64 / 1e9
    }

    /// True once workers should stop starting operations.
    pub fn stopping(&self, now: u64) -> bool {
        now >= self.measure_end_ns()
            || self.stop.load(Ordering::Relaxed)
            || self.abort.load(Ordering::Relaxed)
    }

    /// True once the run failed.
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Records the first fatal error and tells everyone to stop.
    pub fn fail(&self, message: impl Into<String>) {
        let mut slot = self.error.lock().unwrap();
        if slot.is_none() {
            // Error replies can echo binary payloads; keep reports printable.
            let text: String = message
                .into()
                .chars()
                .map(|c| {
                    if c.is_control() || c == '\u{fffd}' {
                        '.'
                    } else {
                        c
                    }
                })
                .collect();
            *slot = Some(text);
        }
        self.abort.store(true, Ordering::Relaxed);
    }

    /// The first fatal error, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap().clone()
    }
}

/// A latency histogram in nanoseconds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_NS_MAX, LATENCY_SIGFIGS).expect("valid bounds")
}

/// Records `ns`, clamping into the tracked range.
pub fn record(hist: &mut Histogram<u64>, ns: u64) {
    hist.saturating_record(ns.clamp(1, LATENCY_NS_MAX));
}

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Mean, µs.
    pub mean_us: f64,
    /// Median, µs.
    pub p50_us: f64,
    /// 90th percentile, µs.
    pub p90_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Largest sample, µs.
    pub max_us: f64,
}

impl LatencySummary {
    /// Summarizes a nanosecond histogram.
    pub fn of(hist: &Histogram<u64>) -> LatencySummary {
        if hist.is_empty() {
            return LatencySummary::default();
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        LatencySummary {
            count: hist.len(),
            mean_us: hist.mean() / 1000.0,
            p50_us: us(hist.value_at_quantile(0.50)),
            p90_us: us(hist.value_at_quantile(0.90)),
            p99_us: us(hist.value_at_quantile(0.99)),
            p999_us: us(hist.value_at_quantile(0.999)),
            max_us: us(hist.max()),
        }
    }
}

/// One verification figure: a count that must be zero (or otherwise as `ok` says).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Check {
    /// What was counted, e.g. `lost`.
    pub name: String,
    /// The count.
    pub value: u64,
    /// Whether this count passes.
    pub ok: bool,
}

impl Check {
    /// A count that must be zero.
    pub fn zero(name: &str, value: u64) -> Check {
        Check {
            name: name.into(),
            value,
            ok: value == 0,
        }
    }
}

/// Everything one scenario run measured, as printed and as written to `--json`.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Outcome {
    /// `kv`, `fanout`, `queue` or `stream`.
    pub scenario: String,
    /// `host:port` of the server.
    pub server: String,
    /// What one operation is (`request`, `delivery`, `job`, `entry`).
    pub op: String,
    /// Length of the measured window, seconds.
    pub seconds: f64,
    /// Operations completed in the measured window.
    pub ops: u64,
    /// `ops / seconds`.
    pub ops_per_sec: f64,
    /// Operations over the whole run, warm-up and drain included.
    pub ops_all: u64,
    /// Start of the measured window on the process clock (`now_ns`), for CPU sampling.
    pub window_start_ns: u64,
    /// End of the measured window on the process clock.
    pub window_end_ns: u64,
    /// Latency of the measured operations (what it spans depends on the scenario).
    pub latency: LatencySummary,
    /// What `latency` spans, e.g. `publish to delivery`.
    pub latency_of: String,
    /// Error replies and failed operations.
    pub errors: u64,
    /// The first error, verbatim.
    pub first_error: Option<String>,
    /// Verification counts; any failing one fails the run.
    pub checks: Vec<Check>,
    /// Scenario-specific figures (per-command rates, publish rate, pending at end, ...).
    pub figures: std::collections::BTreeMap<String, f64>,
    /// No errors and every check ok.
    pub passed: bool,
}

impl Outcome {
    /// Sets `passed` from the errors and checks.
    pub fn finish(mut self) -> Outcome {
        self.passed =
            self.errors == 0 && self.first_error.is_none() && self.checks.iter().all(|c| c.ok);
        self
    }

    /// The human summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{} against {}: {} {} in {:.2} s measured\n",
            self.scenario,
            self.server,
            self.ops,
            plural(&self.op),
            self.seconds
        ));
        s.push_str(&format!(
            "  throughput   {:>12.0} {}/s\n",
            self.ops_per_sec,
            plural(&self.op)
        ));
        for (name, value) in &self.figures {
            s.push_str(&format!("  {name:<24} {value:>12.2}\n"));
        }
        let l = &self.latency;
        s.push_str(&format!(
            "  latency µs ({}): p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  (mean {:.1}, n={})\n",
            self.latency_of, l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us, l.mean_us, l.count
        ));
        s.push_str(&format!("  errors       {}", self.errors));
        if let Some(e) = &self.first_error {
            s.push_str(&format!("  (first: {e})"));
        }
        s.push('\n');
        if !self.checks.is_empty() {
            let checks: Vec<String> = self
                .checks
                .iter()
                .map(|c| format!("{} {}{}", c.name, c.value, if c.ok { "" } else { " FAIL" }))
                .collect();
            s.push_str(&format!("  verification {}\n", checks.join(", ")));
        }
        s.push_str(if self.passed {
            "  result       PASS\n"
        } else {
            "  result       FAIL\n"
        });
        s
    }
}

/// `request` -> `requests`, `delivery` -> `deliveries`.
pub fn plural(noun: &str) -> String {
    match noun.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{noun}s"),
    }
}

/// The `--json` document: the outcome plus the full config that produced it.
#[derive(Serialize)]
struct Report<'a, C: Serialize> {
    tool: &'static str,
    version: &'static str,
    unix_time: u64,
    client_cores: usize,
    config: &'a C,
    outcome: &'a Outcome,
}

/// Prints the summary and writes `--json` as the common flags ask; returns the exit code.
pub fn report<C: Serialize>(
    common: &CommonArgs,
    config: &C,
    outcome: &Outcome,
) -> Result<i32, Error> {
    if !common.quiet {
        print!("{}", outcome.summary());
    }
    if let Some(path) = &common.json {
        let doc = Report {
            tool: "busbar-load",
            version: env!("CARGO_PKG_VERSION"),
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            client_cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            config,
            outcome,
        };
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    Ok(if outcome.passed { 0 } else { 1 })
}

/// The live progress line: drawn on a terminal, absent when stderr is piped or `--quiet`.
pub struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts redrawing from `run.progress` until `finish`.
    pub fn start(common: &CommonArgs, run: &Arc<Run>, op: &str) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if common.quiet || !std::io::stderr().is_terminal() {
            return Progress { done, thread: None };
        }
        let bar = indicatif::ProgressBar::new(
            common.warmup.as_millis() as u64 + common.duration.as_millis() as u64,
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {elapsed:>4} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let (run, flag, op) = (Arc::clone(run), Arc::clone(&done), plural(op));
        let start_ns = now_ns();
        let thread = std::thread::spawn(move || {
            let mut last = (now_ns(), 0u64);
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(PROGRESS_TICK);
                let now = now_ns();
                let count = run.progress.load(Ordering::Relaxed);
                let rate = (count - last.1) as f64 / ((now - last.0) as f64 / 1e9);
                last = (now, count);
                let phase = if now < run.measure_start_ns() {
                    "warm-up"
                } else if now < run.measure_end_ns() {
                    "measure"
                } else {
                    "drain"
                };
                bar.set_position((now - start_ns) / 1_000_000);
                bar.set_message(format!("{phase:<7} {count} {op}  {rate:.0} {op}/s"));
            }
            bar.finish_and_clear();
        });
        Progress {
            done,
            thread: Some(thread),
        }
    }

    /// Clears the line.
    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A random token for key and channel names, so concurrent or repeated runs never share keys.
pub fn run_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

/// Paces one of `producers` senders so that together they send `rate` messages per
/// second (or as fast as possible when `rate` is absent).
pub struct Pacer {
    interval_ns: Option<u64>,
    start_ns: u64,
}

impl Pacer {
    /// A pacer starting now.
    pub fn new(rate: Option<f64>, producers: usize) -> Pacer {
        let interval_ns = rate.map(|r| (producers as f64 * 1e9 / r) as u64);
        Pacer {
            interval_ns,
            start_ns: now_ns(),
        }
    }

    /// How many of the next `want` sends are due at `now`, after `sent` so far. When none
    /// is due it sleeps until the next one and returns 0: the caller re-checks its state.
    pub fn due(&self, now: u64, sent: u64, want: u64) -> u64 {
        let Some(interval) = self.interval_ns else {
            return want;
        };
        let due = (now - self.start_ns) / interval.max(1) + 1;
        if due <= sent {
            sleep_until(self.start_ns + sent * interval);
            return 0;
        }
        want.min(due - sent)
    }
}

/// Sleeps until `deadline_ns` on the process clock: sleeps coarsely, then yields the rest.
pub fn sleep_until(deadline_ns: u64) {
    loop {
        let now = now_ns();
        if now >= deadline_ns {
            return;
        }
        let left = deadline_ns - now;
        if left > 200_000 {
            std::thread::sleep(Duration::from_nanos(left - 100_000));
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn lists_parse() {
        assert_eq!(parse_list("1, 100,1000").unwrap(), vec![1, 100, 1000]);
        assert!(parse_list("1,x").is_err());
    }

    #[test]
    fn outcome_fails_on_any_failed_check_or_error() {
        let ok = Outcome {
            checks: vec![Check::zero("lost", 0)],
            ..Default::default()
        }
        .finish();
        assert!(ok.passed);
        let lost = Outcome {
            checks: vec![Check::zero("lost", 3)],
            ..Default::default()
        }
        .finish();
        assert!(!lost.passed);
        let errors = Outcome {
            errors: 1,
            ..Default::default()
        }
        .finish();
        assert!(!errors.passed);
    }

    #[test]
    fn summary_reports_percentiles_in_microseconds() {
        let mut hist = new_histogram();
        for us in 1..=1000u64 {
            record(&mut hist, us * 1000);
        }
        let s = LatencySummary::of(&hist);
        assert_eq!(s.count, 1000);
        assert!((s.p50_us - 500.0).abs() < 1.0, "{}", s.p50_us);
        assert!((s.max_us - 1000.0).abs() < 1.0, "{}", s.max_us);
    }
}
