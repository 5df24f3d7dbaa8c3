//! INFO: the server report, section by section, in Redis 7's order and field names (tools
//! parse it: redis-cli --stat, exporters, client libraries' version gates).

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use crate::cmd::{Args, Ctx};
use crate::error::CmdResult;

/// Sections printed by `INFO` / `INFO default`, in order.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", n / 1024.0 / 1024.0 / 1024.0)
    }
}

/// Resident memory of the process in bytes (from /proc/self/statm).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    pages * page
}

/// Peak resident memory in bytes (getrusage).
fn peak_rss_bytes() -> u64 {
    cpu_usage().2
}

/// (user seconds, system seconds, peak rss bytes) of the process.
fn cpu_usage() -> (f64, f64, u64) {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(ru.ru_utime), tv(ru.ru_stime), ru.ru_maxrss as u64 * 1024)
}

fn uname() -> String {
    // SAFETY: uname fills the zeroed struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let f = |s: &[libc::c_char]| {
        let b: Vec<u8> = s
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&b).into_owned()
    };
    format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
}

fn total_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| k * 1024)
        .unwrap_or(0)
}

/// Builds the INFO text for the requested sections.
pub fn info_text(ctx: &mut Ctx, args: &Args) -> String {
    let mut want: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    if want.is_empty() {
        want.push("default".into());
    }
    let everything = want.iter().any(|w| w == "all" || w == "everything");
    let default = want.iter().any(|w| w == "default");
    let order = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "cluster",
        "keyspace",
    ];
    let mut text = String::new();
    for section in order {
        let chosen = want.iter().any(|w| w == section)
            || (default && DEFAULT.contains(&section))
            || (everything && section != "modules")
            || (want.iter().any(|w| w == "everything") && section == "modules");
        if !chosen {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        write_section(ctx, section, &mut text);
    }
    text
}

fn write_section(ctx: &mut Ctx, section: &str, t: &mut String) {
    let shared = ctx.shared().clone();
    let cfg = shared.config.read().expect("config lock").clone();
    let uptime = shared.started.elapsed().as_secs();
    let now_us = crate::clock::unix_ms() * 1000;
    macro_rules! line {
        ($($arg:tt)*) => {{ let _ = write!(t, $($arg)*); t.push_str("\r\n"); }};
    }
    match section {
        "server" => {
            line!("# Server");
            line!("redis_version:{}", crate::cmd::server::REDIS_VERSION);
            line!("busbar_version:{}", env!("CARGO_PKG_VERSION"));
            line!("redis_git_sha1:00000000");
            line!("redis_git_dirty:0");
            line!("redis_build_id:0");
            line!("redis_mode:standalone");
            line!("os:{}", uname());
            line!("arch_bits:64");
            line!("monotonic_clock:POSIX clock_gettime");
            line!("multiplexing_api:epoll");
            line!("atomicvar_api:c11-builtin");
            line!("gcc_version:0.0.0");
            line!("process_id:{}", std::process::id());
            line!("process_supervised:no");
            line!("run_id:{}", shared.run_id);
            line!("tcp_port:{}", shared.port);
            line!("server_time_usec:{}", now_us);
            line!("uptime_in_seconds:{}", uptime);
            line!("uptime_in_days:{}", uptime / 86400);
            line!("hz:{}", cfg.int("hz"));
            line!("configured_hz:{}", cfg.int("hz"));
            line!("lru_clock:{}", (now_us / 1_000_000) & ((1 << 24) - 1));
            line!(
                "executable:{}",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            line!("config_file:{}", cfg.config_file);
            line!("io_threads_active:0");
            line!("shards:{}", shared.shards);
        }
        "clients" => {
            line!("# Clients");
            line!("connected_clients:{}", shared.clients.load(Relaxed));
            line!("cluster_connections:0");
            line!("maxclients:{}", cfg.int("maxclients"));
            line!("client_recent_max_input_buffer:0");
            line!("client_recent_max_output_buffer:0");
            line!(
                "blocked_clients:{}",
                shared.blocked_clients.load(Relaxed).max(0)
            );
            line!("tracking_clients:0");
            line!("clients_in_timeout_table:0");
        }
        "memory" => {
            let rss = rss_bytes();
            let peak = peak_rss_bytes().max(rss);
            let maxmem = cfg.uint("maxmemory");
            line!("# Memory");
            line!("used_memory:{}", rss);
            line!("used_memory_human:{}", human_bytes(rss));
            line!("used_memory_rss:{}", rss);
            line!("used_memory_rss_human:{}", human_bytes(rss));
            line!("used_memory_peak:{}", peak);
            line!("used_memory_peak_human:{}", human_bytes(peak));
            line!(
                "used_memory_peak_perc:{:.2}%",
                if peak > 0 {
                    rss as f64 * 100.0 / peak as f64
                } else {
                    100.0
                }
            );
            line!("total_system_memory:{}", total_memory());
            line!("total_system_memory_human:{}", human_bytes(total_memory()));
            line!("maxmemory:{}", maxmem);
            line!("maxmemory_human:{}", human_bytes(maxmem));
            line!("maxmemory_policy:{}", cfg.get("maxmemory-policy"));
            line!("mem_fragmentation_ratio:1.00");
            line!("mem_allocator:mimalloc");
            line!("lazyfree_pending_objects:0");
        }
        "persistence" => {
            line!("# Persistence");
            let aof = &shared.aof;
            line!("loading:{}", u8::from(aof.loading.load(Relaxed) > 0));
            line!("async_loading:0");
            line!("current_cow_peak:0");
            line!("current_cow_size:0");
            line!("current_cow_size_age:0");
            line!("current_fork_perc:0.00");
            line!("current_save_keys_processed:0");
            line!("current_save_keys_total:0");
            line!(
                "rdb_changes_since_last_save:{}",
                shared.changes_since_save()
            );
            let snaps = &shared.snapshots;
            let walking = snaps.walking.load(Relaxed) > 0;
            line!("rdb_bgsave_in_progress:{}", u8::from(walking));
            line!("rdb_last_save_time:{}", snaps.last_save.load(Relaxed));
            let failed = snaps.bgsave_failed.load(Relaxed);
            line!(
                "rdb_last_bgsave_status:{}",
                if failed { "err" } else { "ok" }
            );
            line!(
                "rdb_last_bgsave_time_sec:{}",
                snaps.bgsave_secs.load(Relaxed)
            );
            let current = if walking {
                let started = snaps.bgsave_started_ms.load(Relaxed);
                (crate::clock::unix_ms().saturating_sub(started) / 1000) as i64
            } else {
                -1
            };
            line!("rdb_current_bgsave_time_sec:{current}");
            line!("rdb_saves:{}", snaps.saves.load(Relaxed));
            line!("rdb_last_cow_size:0");
            line!(
                "rdb_last_load_keys_expired:{}",
                snaps.last_load.1.load(Relaxed)
            );
            line!(
                "rdb_last_load_keys_loaded:{}",
                snaps.last_load.0.load(Relaxed)
            );
            let enabled = aof.open.load(Relaxed) == shared.shards;
            line!("aof_enabled:{}", u8::from(enabled));
            line!(
                "aof_rewrite_in_progress:{}",
                u8::from(aof.rewriting.load(Relaxed) > 0)
            );
            let scheduled = aof.rewrite_asked.iter().any(|a| a.load(Relaxed));
            line!("aof_rewrite_scheduled:{}", u8::from(scheduled));
            line!(
                "aof_last_rewrite_time_sec:{}",
                aof.last_rewrite_secs.load(Relaxed)
            );
            line!("aof_current_rewrite_time_sec:-1");
            let failed = aof.rewrite_failed.load(Relaxed);
            line!(
                "aof_last_bgrewrite_status:{}",
                if failed { "err" } else { "ok" }
            );
            line!("aof_rewrites:{}", aof.rewrites.load(Relaxed));
            line!("aof_rewrites_consecutive_failures:{}", u8::from(failed));
            let write_failed = aof.write_failed.load(Relaxed);
            line!(
                "aof_last_write_status:{}",
                if write_failed { "err" } else { "ok" }
            );
            line!("aof_last_cow_size:0");
            line!("module_fork_in_progress:0");
            line!("module_fork_last_cow_size:0");
            if enabled {
                let sum = |v: &[std::sync::atomic::AtomicU64]| {
                    v.iter().map(|a| a.load(Relaxed)).sum::<u64>()
                };
                line!(
                    "aof_current_size:{}",
                    sum(&aof.sizes) + sum(&aof.base_sizes)
                );
                line!("aof_base_size:{}", sum(&aof.base_sizes));
                line!("aof_pending_rewrite:0");
                line!("aof_buffer_length:0");
                line!("aof_pending_bio_fsync:0");
                line!("aof_delayed_fsync:0");
            }
            if aof.loading.load(Relaxed) > 0 {
                let started = aof.load_started_s.load(Relaxed);
                let (total, done) = (aof.load_total.load(Relaxed), aof.load_done.load(Relaxed));
                let done = done.min(total);
                line!("loading_start_time:{started}");
                line!("loading_total_bytes:{total}");
                line!("loading_rdb_used_mem:0");
                line!("loading_loaded_bytes:{done}");
                let perc = if total > 0 {
                    done as f64 * 100.0 / total as f64
                } else {
                    0.0
                };
                line!("loading_loaded_perc:{perc:.2}");
                let elapsed = (crate::clock::unix_ms() / 1000).saturating_sub(started);
                let eta = (elapsed * (total - done)).checked_div(done).unwrap_or(1);
                line!("loading_eta_seconds:{eta}");
            }
        }
        "stats" => {
            line!("# Stats");
            line!(
                "total_connections_received:{}",
                shared.total(|s| &s.connections_received)
            );
            line!("total_commands_processed:{}", shared.total(|s| &s.commands));
            line!(
                "instantaneous_ops_per_sec:{}",
                shared.instantaneous_ops.load(Relaxed)
            );
            line!(
                "total_net_input_bytes:{}",
                shared.total(|s| &s.net_input_bytes)
            );
            line!(
                "total_net_output_bytes:{}",
                shared.total(|s| &s.net_output_bytes)
            );
            line!(
                "rejected_connections:{}",
                shared.total(|s| &s.rejected_connections)
            );
            line!("expired_keys:{}", shared.total(|s| &s.keyspace.expired));
            line!("evicted_keys:0");
            line!("keyspace_hits:{}", shared.total(|s| &s.keyspace.hits));
            line!("keyspace_misses:{}", shared.total(|s| &s.keyspace.misses));
            line!("pubsub_channels:{}", shared.pubsub.channel_count());
            line!("pubsub_patterns:{}", shared.pubsub.pattern_count());
            line!(
                "total_error_replies:{}",
                error_counts(&shared).iter().map(|(_, n)| n).sum::<u64>()
            );
            line!("hops_total:{}", shared.total(|s| &s.hops));
            line!(
                "moved_connections:{}",
                shared.total(|s| &s.moved_connections)
            );
        }
        "replication" => {
            line!("# Replication");
            line!("role:master");
            line!("connected_slaves:0");
            line!("master_failover_state:no-failover");
            line!("master_replid:{}", shared.run_id);
            line!("master_replid2:0000000000000000000000000000000000000000");
            line!("master_repl_offset:0");
            line!("second_repl_offset:-1");
            line!("repl_backlog_active:0");
            line!("repl_backlog_size:1048576");
            line!("repl_backlog_first_byte_offset:0");
            line!("repl_backlog_histlen:0");
        }
        "cpu" => {
            let (user, sys, _) = cpu_usage();
            line!("# CPU");
            line!("used_cpu_sys:{sys:.6}");
            line!("used_cpu_user:{user:.6}");
            line!("used_cpu_sys_children:0.000000");
            line!("used_cpu_user_children:0.000000");
        }
        "modules" => {
            line!("# Modules");
        }
        "commandstats" => {
            line!("# Commandstats");
            for spec in &crate::cmd::table().specs {
                let id = spec.id as usize;
                let sum = |f: fn(&crate::stats::CmdStats) -> &std::sync::atomic::AtomicU64| -> u64 {
                    shared
                        .stats
                        .iter()
                        .map(|s| f(&s.cmd[id]).load(Relaxed))
                        .sum()
                };
                let (calls, rejected) = (sum(|c| &c.calls), sum(|c| &c.rejected));
                if calls == 0 && rejected == 0 {
                    continue;
                }
                let (usec, failed) = (sum(|c| &c.usec), sum(|c| &c.failed));
                let per = if calls > 0 {
                    usec as f64 / calls as f64
                } else {
                    0.0
                };
                line!(
                    "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}",
                    spec.name
                );
            }
        }
        "errorstats" => {
            line!("# Errorstats");
            for (code, count) in error_counts(&shared) {
                line!("errorstat_{code}:count={count}");
            }
        }
        "cluster" => {
            line!("# Cluster");
            line!("cluster_enabled:0");
        }
        "keyspace" => {
            line!("# Keyspace");
            let dbs = shared
                .stats
                .first()
                .map(|s| s.keyspace.keys.len())
                .unwrap_or(0);
            for db in 0..dbs {
                let keys: u64 = shared
                    .stats
                    .iter()
                    .map(|s| s.keyspace.keys[db].load(Relaxed))
                    .sum();
                if keys == 0 {
                    continue;
                }
                let expires: u64 = shared
                    .stats
                    .iter()
                    .map(|s| s.keyspace.expires[db].load(Relaxed))
                    .sum();
                // Each shard's estimate, weighted by how many keys with a TTL it holds.
                let weighted: u64 = shared
                    .stats
                    .iter()
                    .map(|s| s.avg_ttl_ms[db].load(Relaxed) * s.keyspace.expires[db].load(Relaxed))
                    .sum();
                let avg_ttl = weighted.checked_div(expires).unwrap_or(0);
                line!("db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}");
            }
        }
        _ => {}
    }
}

/// Error reply counts by code over all shards, sorted by code (as Redis lists them).
fn error_counts(shared: &crate::shard::Shared) -> Vec<(String, u64)> {
    let mut all = std::collections::BTreeMap::new();
    for s in &shared.stats {
        for (code, n) in s.errors.lock().expect("errorstats lock").iter() {
            *all.entry(code.clone()).or_insert(0) += n;
        }
    }
    all.into_iter().collect()
}

/// INFO [section [section ...]]
pub fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let text = info_text(ctx, args);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}
