//! `busbar-load compare`: starts redis-server and busbar (and optionally the sink) on free
//! loopback ports, runs one scenario over a sweep, alternating the servers' order each round,
//! and writes a markdown table, an SVG plot and the raw figures as JSON.
//!
//! A/B rounds, not one long run each: on a noisy 2-core machine drift hits both servers
//! alike, and the spread of per-round ratios (min / median / max) shows how solid a ratio is.
//! Servers it starts are killed by pid when it ends, and die with it if it dies first.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::client;
use crate::run::{self, Outcome};
use crate::{fanout, kv, plot, queue, stream, Error};

/// How long a started server may take to answer PING.
const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often CPU time is sampled during a run (CLK_TCK is usually 100 Hz).
const CPU_SAMPLE_INTERVAL: Duration = Duration::from_millis(20);
/// How long a server may take to exit after SIGTERM before it gets SIGKILL.
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// Which scenario to sweep.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scenario {
    /// Sweeps `--pipeline`.
    Kv,
    /// Sweeps `--subscribers`.
    Fanout,
    /// Sweeps `--workers`.
    Queue,
    /// Sweeps `--consumers`.
    Stream,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Kv => "kv",
            Scenario::Fanout => "fanout",
            Scenario::Queue => "queue",
            Scenario::Stream => "stream",
        }
    }

    /// The scenario flag the sweep sets, and its default values.
    fn sweep(self) -> (&'static str, Vec<u64>) {
        match self {
            Scenario::Kv => ("pipeline", vec![1, 16]),
            Scenario::Fanout => ("subscribers", vec![1, 100, 1000]),
            Scenario::Queue => ("workers", vec![1, 8, 32]),
            Scenario::Stream => ("consumers", vec![1, 4, 16]),
        }
    }

    fn run(self, argv: &[String]) -> Result<Outcome, Error> {
        match self {
            Scenario::Kv => kv::run(&kv::KvArgs::try_parse_from(argv)?),
            Scenario::Fanout => fanout::run(&fanout::FanoutArgs::try_parse_from(argv)?),
            Scenario::Queue => queue::run(&queue::QueueArgs::try_parse_from(argv)?),
            Scenario::Stream => stream::run(&stream::StreamArgs::try_parse_from(argv)?),
        }
    }
}

/// `busbar-load compare`: A/B rounds of one scenario against servers it starts.
#[derive(Parser, Debug, Clone, Serialize)]
pub struct CompareArgs {
    /// Scenario to run.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// kv sweep: pipeline depths, e.g. 1,16.
    #[arg(long)]
    pub pipeline: Option<String>,
    /// fanout sweep: subscriber counts, e.g. 1,100,1000.
    #[arg(long)]
    pub subscribers: Option<String>,
    /// queue sweep: worker counts.
    #[arg(long)]
    pub workers: Option<String>,
    /// stream sweep: consumer counts.
    #[arg(long)]
    pub consumers: Option<String>,
    /// Servers, first is the baseline: any of redis, busbar, sink.
    #[arg(long, default_value = "redis,busbar")]
    pub targets: String,
    /// A/B rounds per sweep value; the order of servers alternates each round.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Measured duration of each run.
    #[arg(long, default_value = "3s", value_parser = run::parse_duration)]
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    /// Warm-up of each run.
    #[arg(long, default_value = "1s", value_parser = run::parse_duration)]
    #[serde(serialize_with = "ser_secs")]
    pub warmup: Duration,
    /// Seed passed to every run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Client threads for the event-loop sides (default: the cores left after
    /// --server-threads, at least 1, so client and server do not fight over a core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// redis-server binary.
    #[arg(long, default_value = "redis-server")]
    pub redis_bin: String,
    /// busbar binary (default: the workspace's target/release/busbar).
    #[arg(long)]
    pub busbar_bin: Option<PathBuf>,
    /// Threads given to busbar (--threads) and the sink; redis-server runs its one main thread.
    #[arg(long, default_value_t = 1)]
    pub server_threads: usize,
    /// Output directory for NAME.md, NAME.svg, NAME.json and server logs.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output file stem (default: the scenario name).
    #[arg(long)]
    pub name: Option<String>,
    /// Extra scenario flags after `--`, e.g. `-- --channels 4 --message-size 256`.
    #[arg(last = true)]
    pub extra: Vec<String>,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The workspace's busbar binary, as built by `cargo build --release`.
fn default_busbar_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/busbar")
}

/// Where results go unless `--out` says otherwise.
fn default_out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("results")
}

/// A server process this run started; stopped by pid on drop.
struct Server {
    name: String,
    child: Child,
    port: u16,
    /// How it was started, for the report.
    command: String,
}

impl Server {
    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn stop(&mut self) {
        if !self.alive() {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a pid we spawned and have not yet reaped, so it is still ours.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + SERVER_STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !self.alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free loopback port: bind port 0, read it, release it.
fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / ticks.max(1.0))
}

/// One reading of CPU seconds used so far.
struct CpuPoint {
    at_ns: u64,
    server: Option<f64>,
    client: Option<f64>,
}

/// Samples the server's and this process's CPU time on a timer during a run, so CPU per
/// operation covers the measured window alone (not kv prefill, warm-up or drain).
struct CpuSampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<CpuPoint>>,
}

impl CpuSampler {
    fn start(pid: String) -> CpuSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut points = Vec::new();
            loop {
                let done = flag.load(Ordering::Relaxed);
                points.push(CpuPoint {
                    at_ns: run::now_ns(),
                    server: cpu_seconds(&pid),
                    client: cpu_seconds("self"),
                });
                if done {
                    return points;
                }
                std::thread::sleep(CPU_SAMPLE_INTERVAL);
            }
        });
        CpuSampler { stop, handle }
    }

    fn finish(self) -> Vec<CpuPoint> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// CPU µs per operation over the samples that bracket the measured window; the operations
/// in that span are the measured rate times its length.
fn cpu_us_per_op(
    points: &[CpuPoint],
    outcome: &Outcome,
    which: fn(&CpuPoint) -> Option<f64>,
) -> Option<f64> {
    let before = points
        .iter()
        .rev()
        .find(|p| p.at_ns <= outcome.window_start_ns)?;
    let after = points.iter().find(|p| p.at_ns >= outcome.window_end_ns)?;
    let ops = outcome.ops_per_sec * (after.at_ns - before.at_ns) as f64 / 1e9;
    let used = which(after)? - which(before)?;
    (ops > 0.0).then(|| used * 1e6 / ops)
}

/// Starts one target on a free port and waits until it answers PING.
fn start(target: &str, args: &CompareArgs, out: &Path) -> Result<Server, String> {
    let port = free_port().map_err(|e| e.to_string())?;
    let port_s = port.to_string();
    let threads = args.server_threads.to_string();
    let (program, argv): (PathBuf, Vec<String>) = match target {
        "redis" => (
            PathBuf::from(&args.redis_bin),
            [
                "--port",
                &port_s,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ]
            .map(String::from)
            .to_vec(),
        ),
        "busbar" => {
            let bin = args.busbar_bin.clone().unwrap_or_else(default_busbar_bin);
            let Ok(bin) = bin.canonicalize() else {
                return Err(format!("busbar binary not found at {}", bin.display()));
            };
            (
                bin,
                [
                    "--port",
                    &port_s,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--threads",
                    &threads,
                ]
                .map(String::from)
                .to_vec(),
            )
        }
        "sink" => (
            std::env::current_exe().map_err(|e| e.to_string())?,
            ["sink", "--port", &port_s, "--threads", &threads]
                .map(String::from)
                .to_vec(),
        ),
        other => {
            return Err(format!(
                "unknown target {other:?} (use redis, busbar or sink)"
            ))
        }
    };
    let log_path = out.join(format!(
        "{}-{target}.log",
        args.name.as_deref().unwrap_or(args.scenario.name())
    ));
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut command = Command::new(&program);
    command
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // SAFETY: prctl in the forked child before exec touches no memory shared with the parent;
    // it makes the kernel SIGTERM the server if this process dies without running Drop
    // (release builds abort on panic).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let shown = format!(
        "{} {}",
        program.display(),
        argv.iter()
            .map(|a| if a.is_empty() {
                "''".to_string()
            } else {
                a.clone()
            })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let child = command
        .spawn()
        .map_err(|e| format!("start {}: {e}", program.display()))?;
    let mut server = Server {
        name: target.to_string(),
        child,
        port,
        command: shown,
    };
    let addr = client::resolve("127.0.0.1", port).map_err(|e| e.to_string())?;
    if let Err(e) = client::wait_for_pong(addr, SERVER_READY_TIMEOUT) {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        server.stop();
        return Err(format!(
            "{e}; log: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    Ok(server)
}

/// One run of one target in one round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    /// Round number (0-based).
    pub round: usize,
    /// Operations per second in the measured window.
    pub ops_per_sec: f64,
    /// Latency percentiles, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Server CPU time per operation over the measured window, µs.
    pub server_cpu_us_per_op: Option<f64>,
    /// This process's (the load generator's) CPU time per operation over the window, µs.
    pub client_cpu_us_per_op: Option<f64>,
    /// The full outcome.
    pub outcome: Outcome,
}

/// All samples of one target at one sweep value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// Target name.
    pub target: String,
    /// Samples in round order.
    pub samples: Vec<Sample>,
    /// Why this target has no (or partial) figures here: unavailable, or failed.
    pub unsupported: Option<String>,
}

/// One sweep value: every target's cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The swept flag's value.
    pub value: u64,
    /// One cell per target, in target order.
    pub cells: Vec<Cell>,
}

/// Min, median and max of some numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Median (mean of the middle two for an even count).
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// `None` for no numbers.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Spread {
            min: v[0],
            median,
            max: v[v.len() - 1],
        })
    }
}

impl Cell {
    fn usable(&self) -> bool {
        self.unsupported.is_none() && !self.samples.is_empty()
    }

    /// Spread of one figure over the rounds.
    pub fn spread(&self, figure: impl Fn(&Sample) -> Option<f64>) -> Option<Spread> {
        if !self.usable() {
            return None;
        }
        Spread::of(self.samples.iter().filter_map(figure))
    }

    /// Per-round ratio of a figure against the baseline cell's same round.
    pub fn ratio(&self, base: &Cell, figure: impl Fn(&Sample) -> f64) -> Option<Spread> {
        if !self.usable() || !base.usable() {
            return None;
        }
        Spread::of(self.samples.iter().filter_map(|s| {
            let b = base.samples.iter().find(|b| b.round == s.round)?;
            let denominator = figure(b);
            (denominator > 0.0).then(|| figure(s) / denominator)
        }))
    }
}

/// What the report says about where and how it ran.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Environment {
    /// Cores the client sees.
    pub cores: usize,
    /// CPU model from /proc/cpuinfo.
    pub cpu: String,
    /// Kernel release.
    pub kernel: String,
    /// `redis-server --version`.
    pub redis_version: String,
    /// How each target was started.
    pub servers: Vec<(String, String)>,
    /// The compare command line.
    pub command: String,
}

fn environment(args: &CompareArgs) -> Environment {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let redis_version = Command::new(&args.redis_bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("unavailable: {e}"));
    Environment {
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu,
        kernel,
        redis_version,
        servers: Vec::new(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    }
}

/// The whole comparison, as written to NAME.json.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The compare flags.
    pub config: CompareArgs,
    /// The swept flag.
    pub sweep: String,
    /// What one operation is.
    pub op: String,
    /// Target names, baseline first.
    pub targets: Vec<String>,
    /// Where and how.
    pub environment: Environment,
    /// One row per sweep value.
    pub rows: Vec<Row>,
}

fn scenario_argv(args: &CompareArgs, sweep: &str, value: u64, port: u16) -> Vec<String> {
    let mut argv: Vec<String> = vec![
        args.scenario.name().into(),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--duration".into(),
        format!("{}ms", args.duration.as_millis()),
        "--warmup".into(),
        format!("{}ms", args.warmup.as_millis()),
        "--seed".into(),
        args.seed.to_string(),
        "--quiet".into(),
        format!("--{sweep}"),
        value.to_string(),
    ];
    argv.extend(["--threads".into(), client_threads(args).to_string()]);
    argv.extend(args.extra.iter().cloned());
    argv
}

/// Client threads each run gets.
fn client_threads(args: &CompareArgs) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    args.threads
        .unwrap_or(cores.saturating_sub(args.server_threads))
        .max(1)
}

/// Why an outcome does not count, in one line.
fn failure(outcome: &Outcome) -> Option<String> {
    if outcome.passed {
        return None;
    }
    if let Some(e) = &outcome.first_error {
        return Some(e.clone());
    }
    let failed: Vec<String> = outcome
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{} {}", c.name, c.value))
        .collect();
    Some(format!("verification failed: {}", failed.join(", ")))
}

/// Runs the comparison; returns the exit code (0 when the baseline ran every row).
pub fn run(args: &CompareArgs) -> Result<i32, Error> {
    if args.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    let (sweep, default_values) = args.scenario.sweep();
    let given = match args.scenario {
        Scenario::Kv => &args.pipeline,
        Scenario::Fanout => &args.subscribers,
        Scenario::Queue => &args.workers,
        Scenario::Stream => &args.consumers,
    };
    let values = match given {
        Some(list) => run::parse_list(list)?,
        None => default_values,
    };
    let out = args.out.clone().unwrap_or_else(default_out_dir);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| args.scenario.name().to_string());
    let targets: Vec<String> = args
        .targets
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if targets.is_empty() {
        return Err("--targets is empty".into());
    }

    let mut env = environment(args);
    let mut servers: Vec<Result<Server, String>> = Vec::new();
    for target in &targets {
        let started = start(target, args, &out);
        match &started {
            Ok(s) => {
                eprintln!("compare: {target} on 127.0.0.1:{} ({})", s.port, s.command);
                env.servers.push((target.clone(), s.command.clone()));
            }
            Err(e) => {
                eprintln!("compare: {target} unavailable: {e}");
                env.servers
                    .push((target.clone(), format!("unavailable: {e}")));
            }
        }
        servers.push(started);
    }

    let mut rows = Vec::new();
    let mut op = String::new();
    for &value in &values {
        let mut cells: Vec<Cell> = targets
            .iter()
            .zip(&servers)
            .map(|(t, s)| Cell {
                target: t.clone(),
                samples: Vec::new(),
                unsupported: s.as_ref().err().cloned(),
            })
            .collect();
        for round in 0..args.rounds {
            // Alternate the order so neither server always runs on a warmer (or hotter) box.
            let mut order: Vec<usize> = (0..targets.len()).collect();
            order.rotate_left(round % targets.len());
            for i in order {
                if cells[i].unsupported.is_some() {
                    continue;
                }
                let Ok(server) = &mut servers[i] else {
                    continue;
                };
                if !server.alive() {
                    cells[i].unsupported = Some(format!("{} exited", server.name));
                    continue;
                }
                let argv = scenario_argv(args, sweep, value, server.port);
                let sampler = CpuSampler::start(server.child.id().to_string());
                let result = args.scenario.run(&argv);
                let cpu = sampler.finish();
                let outcome = match result {
                    Ok(o) => o,
                    Err(e) => {
                        cells[i].unsupported = Some(e.to_string());
                        eprintln!("compare: {sweep}={value} round {round} {}: {e}", targets[i]);
                        continue;
                    }
                };
                op = outcome.op.clone();
                let per_op =
                    |which: fn(&CpuPoint) -> Option<f64>| cpu_us_per_op(&cpu, &outcome, which);
                eprintln!(
                    "compare: {sweep}={value} round {round} {:<7} {:>12.0} {}/s  p99 {:>8.1} µs  {}",
                    targets[i],
                    outcome.ops_per_sec,
                    outcome.op,
                    outcome.latency.p99_us,
                    if outcome.passed { "ok" } else { "FAILED" }
                );
                if let Some(reason) = failure(&outcome) {
                    cells[i].unsupported = Some(reason);
                }
                cells[i].samples.push(Sample {
                    round,
                    ops_per_sec: outcome.ops_per_sec,
                    p50_us: outcome.latency.p50_us,
                    p99_us: outcome.latency.p99_us,
                    p999_us: outcome.latency.p999_us,
                    server_cpu_us_per_op: per_op(|p| p.server),
                    client_cpu_us_per_op: per_op(|p| p.client),
                    outcome,
                });
            }
        }
        rows.push(Row { value, cells });
    }
    drop(servers);

    let comparison = Comparison {
        config: args.clone(),
        sweep: sweep.to_string(),
        op: if op.is_empty() { "op".into() } else { op },
        targets,
        environment: env,
        rows,
    };
    let table = markdown(&comparison);
    print!("{table}");
    std::fs::write(out.join(format!("{stem}.md")), &table)?;
    std::fs::write(
        out.join(format!("{stem}.json")),
        serde_json::to_string_pretty(&comparison)? + "\n",
    )?;
    plot::write_svg(&out.join(format!("{stem}.svg")), &comparison)?;
    eprintln!("compare: wrote {}/{stem}.{{md,svg,json}}", out.display());
    let baseline_ok = comparison.rows.iter().all(|r| r.cells[0].usable());
    Ok(if baseline_ok { 0 } else { 1 })
}

fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn spread_text(s: Option<Spread>, fmt: impl Fn(f64) -> String) -> String {
    match s {
        Some(s) => format!("{} ({}–{})", fmt(s.median), fmt(s.min), fmt(s.max)),
        None => "–".into(),
    }
}

/// The markdown report: a header saying where and how, then one table row per (value, target).
pub fn markdown(c: &Comparison) -> String {
    let cfg = &c.config;
    let base = &c.targets[0];
    let mut s = String::new();
    s.push_str(&format!(
        "### {} — {} sweep\n\n",
        cfg.scenario.name(),
        c.sweep
    ));
    s.push_str(&format!(
        "- Machine: {} cores, {}, Linux {}; client and servers share it.\n",
        c.environment.cores, c.environment.cpu, c.environment.kernel
    ));
    s.push_str(&format!("- Command: `{}`\n", c.environment.command));
    s.push_str(&format!(
        "- Each cell: {} rounds (server order alternates), {:.1} s measured after {:.1} s warm-up; median (min–max).\n",
        cfg.rounds,
        cfg.duration.as_secs_f64(),
        cfg.warmup.as_secs_f64()
    ));
    s.push_str(&format!(
        "- Thread budget: busbar/sink `--threads {}`; redis-server: one main thread (io-threads off); \
         client: {} event-loop thread(s) (publishers, producers and blocking consumers add one each).\n",
        cfg.server_threads,
        client_threads(cfg)
    ));
    for (name, how) in &c.environment.servers {
        s.push_str(&format!("- {name}: `{how}`\n"));
    }
    s.push_str(&format!(
        "- redis-server version: {}\n\n",
        c.environment.redis_version
    ));
    s.push_str(&format!(
        "| {} | server | {}/s | ratio vs {base} (min / median / max) | p50 µs | p99 µs | p99.9 µs | p99 ratio vs {base} | server CPU µs/{} | client CPU µs/{} |\n",
        c.sweep,
        run::plural(&c.op),
        c.op,
        c.op
    ));
    s.push_str("|---:|---|---:|---|---:|---:|---:|---|---:|---:|\n");
    for row in &c.rows {
        let base_cell = &row.cells[0];
        for cell in &row.cells {
            // A target that is missing, errors or fails verification in any round has no
            // figures in this row: partial rounds would make a biased median.
            if let Some(reason) = &cell.unsupported {
                s.push_str(&format!(
                    "| {} | {} | unsupported: {} | | | | | | | |\n",
                    row.value,
                    cell.target,
                    one_line(reason)
                ));
                continue;
            }
            let ratio = |figure: fn(&Sample) -> f64| match cell.ratio(base_cell, figure) {
                Some(r) => format!("{:.2} / {:.2} / {:.2}", r.min, r.median, r.max),
                None => "–".into(),
            };
            let is_base = cell.target == base_cell.target;
            let one = |x: f64| format!("{x:.1}");
            let cpu = |x: f64| format!("{x:.2}");
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                row.value,
                cell.target,
                spread_text(cell.spread(|x| Some(x.ops_per_sec)), thousands),
                if is_base {
                    "1 (baseline)".into()
                } else {
                    ratio(|x| x.ops_per_sec)
                },
                spread_text(cell.spread(|x| Some(x.p50_us)), one)
                    .split(' ')
                    .next()
                    .unwrap_or(""),
                spread_text(cell.spread(|x| Some(x.p99_us)), one),
                spread_text(cell.spread(|x| Some(x.p999_us)), one)
                    .split(' ')
                    .next()
                    .unwrap_or(""),
                if is_base {
                    "1 (baseline)".into()
                } else {
                    ratio(|x| x.p99_us)
                },
                spread_text(cell.spread(|x| x.server_cpu_us_per_op), cpu)
                    .split(' ')
                    .next()
                    .unwrap_or(""),
                spread_text(cell.spread(|x| x.client_cpu_us_per_op), cpu)
                    .split(' ')
                    .next()
                    .unwrap_or(""),
            ));
        }
    }
    s.push('\n');
    s
}

fn one_line(text: &str) -> String {
    // Error text can echo binary payloads back (`with args beginning with: ...`).
    let flat: String = text
        .chars()
        .map(|c| {
            if c.is_control() || c == '|' || c == '\u{fffd}' {
                '.'
            } else {
                c
            }
        })
        .collect();
    if flat.chars().count() > 160 {
        flat.chars().take(160).collect::<String>() + "…"
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(round: usize, ops: f64, p99: f64) -> Sample {
        Sample {
            round,
            ops_per_sec: ops,
            p50_us: p99 / 2.0,
            p99_us: p99,
            p999_us: p99 * 2.0,
            server_cpu_us_per_op: Some(1.0),
            client_cpu_us_per_op: Some(0.5),
            outcome: Outcome::default(),
        }
    }

    #[test]
    fn spread_takes_min_median_max() {
        assert_eq!(
            Spread::of([3.0, 1.0, 2.0]),
            Some(Spread {
                min: 1.0,
                median: 2.0,
                max: 3.0
            })
        );
        assert_eq!(Spread::of([4.0, 1.0]).unwrap().median, 2.5);
        assert_eq!(Spread::of([]), None);
    }

    #[test]
    fn ratio_pairs_samples_by_round() {
        let base = Cell {
            target: "redis".into(),
            samples: vec![sample(0, 100.0, 10.0), sample(1, 200.0, 10.0)],
            unsupported: None,
        };
        let other = Cell {
            target: "busbar".into(),
            samples: vec![sample(1, 300.0, 5.0), sample(0, 50.0, 20.0)],
            unsupported: None,
        };
        let r = other.ratio(&base, |s| s.ops_per_sec).unwrap();
        assert_eq!((r.min, r.max), (0.5, 1.5));
    }

    #[test]
    fn unsupported_target_shows_its_reason_and_others_still_report() {
        let comparison = Comparison {
            config: CompareArgs::try_parse_from(["compare", "--scenario", "kv"]).unwrap(),
            sweep: "pipeline".into(),
            op: "request".into(),
            targets: vec!["redis".into(), "busbar".into()],
            environment: Environment::default(),
            rows: vec![Row {
                value: 16,
                cells: vec![
                    Cell {
                        target: "redis".into(),
                        samples: vec![sample(0, 1_234_567.0, 10.0)],
                        unsupported: None,
                    },
                    Cell {
                        target: "busbar".into(),
                        samples: vec![],
                        unsupported: Some("busbar binary not found".into()),
                    },
                ],
            }],
        };
        let table = markdown(&comparison);
        assert!(
            table.contains("| 16 | redis | 1,234,567 (1,234,567–1,234,567) |"),
            "{table}"
        );
        assert!(
            table.contains("| 16 | busbar | unsupported: busbar binary not found |"),
            "{table}"
        );
    }

    #[test]
    fn cpu_seconds_reads_this_process() {
        assert!(cpu_seconds("self").is_some());
        assert!(cpu_seconds("999999999").is_none());
    }
}
