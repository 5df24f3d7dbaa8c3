//! Bootstrap: what all shards share, the shard threads with their SO_REUSEPORT listeners,
//! signal handling and graceful shutdown.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use mio::{Poll, Waker};

use crate::config::Config;
use crate::shard::{Shard, Shared, WAKER};
use crate::stats::ShardStats;
use crate::sync::Mailbox;

fn random_hex(n: usize) -> String {
    let mut x =
        crate::clock::unix_ms() ^ ((std::process::id() as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_digit((x % 16) as u32, 16).expect("hex digit")
        })
        .collect()
}

/// Binds one listener per shard on the same address with SO_REUSEPORT, so the kernel
/// spreads incoming connections over the shards.
fn bind_listeners(
    addr: SocketAddr,
    shards: usize,
    backlog: i32,
) -> std::io::Result<(Vec<mio::net::TcpListener>, u16)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut out = Vec::with_capacity(shards);
    let mut addr = addr;
    // A plain bind first (no SO_REUSEPORT): it fails if anything already holds the port,
    // so a second server refuses to start instead of silently sharing the port with us.
    // For port 0 the probe picks the port instead, with SO_REUSEPORT so the shard
    // listeners can join it, and stays bound until they have: the kernel never hands a
    // port in use to another bind(0), so no other process (say, a test's second server
    // starting at the same moment) can end up sharing our port.
    let _probe = {
        let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        probe.set_reuse_address(true)?;
        let pick = addr.port() == 0;
        if pick {
            probe.set_reuse_port(true)?;
        }
        probe.bind(&addr.into())?;
        addr.set_port(probe.local_addr()?.as_socket().expect("inet socket").port());
        pick.then_some(probe)
    };
    for _ in 0..shards {
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        sock.set_reuse_address(true)?;
        sock.set_reuse_port(true)?;
        sock.set_nonblocking(true)?;
        sock.bind(&addr.into())?;
        sock.listen(backlog)?;
        let local = sock.local_addr()?.as_socket().expect("inet socket");
        // Port 0: every further listener joins the port the first one got.
        addr.set_port(local.port());
        out.push(mio::net::TcpListener::from_std(sock.into()));
    }
    Ok((out, addr.port()))
}

/// A running server: its shared state and shard threads.
pub struct Server {
    /// Shared state (also reachable from tests).
    pub shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds and starts the shard threads. Returns once the server accepts connections.
    pub fn start(mut cfg: Config) -> Result<Server, String> {
        // Like Redis, make room for `maxclients` descriptors, or lower it to what fits.
        let clients_wanted = cfg.int("maxclients") as u32;
        let clients_fit = crate::config::fit_open_files(clients_wanted);
        if clients_fit == 0 {
            return Err(format!(
                "The open file limit is too low for busbar to start: raise 'ulimit -n' to at least {}.",
                u64::from(clients_wanted) + 32
            ));
        }
        if clients_fit != clients_wanted {
            crate::log::warning(&format!(
                "maxclients lowered from {clients_wanted} to {clients_fit}: the open file limit allows no more (raise 'ulimit -n' for more)"
            ));
            cfg.apply("maxclients", &[clients_fit.to_string()])?;
        }
        let threads_cfg = cfg.int("threads");
        let shards = if threads_cfg > 0 {
            threads_cfg as usize
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        };
        let port = cfg.int("port") as u16;
        let bind = cfg
            .get("bind")
            .split_whitespace()
            .next()
            .unwrap_or("127.0.0.1")
            .to_string();
        let host = match bind.as_str() {
            "*" => "0.0.0.0".to_string(),
            h => h.trim_start_matches('-').to_string(),
        };
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("Invalid bind address '{host}': {e}"))?
            .next()
            .ok_or_else(|| format!("Invalid bind address '{host}'"))?;
        let (listeners, port) = bind_listeners(addr, shards, cfg.int("tcp-backlog") as i32).map_err(|e| {
            format!("Warning: Could not create server TCP listening socket {addr}: bind: {e}\nFailed listening on port {port} (TCP), aborting.")
        })?;
        let databases = cfg.int("databases") as usize;
        let mut polls = Vec::with_capacity(shards);
        let mut mailboxes = Vec::with_capacity(shards);
        for _ in 0..shards {
            let poll = Poll::new().map_err(|e| e.to_string())?;
            let waker = Waker::new(poll.registry(), WAKER).map_err(|e| e.to_string())?;
            mailboxes.push(Mailbox::new(waker));
            polls.push(poll);
        }
        let commands = crate::cmd::table().specs.len();
        let appendonly = cfg.bool("appendonly");
        let manifest = if appendonly {
            let dir = std::path::PathBuf::from(cfg.get("dir")).join(cfg.get("appenddirname"));
            crate::shard::aof::read_manifest(&dir, cfg.get("appendfilename"))?
        } else {
            None
        };
        let aof_found = manifest.is_some();
        let shared = Arc::new(Shared {
            shards,
            mailboxes,
            config: RwLock::new(cfg),
            config_epoch: AtomicU64::new(0),
            next_client_id: AtomicU64::new(1),
            tx_seq: AtomicU64::new(0),
            block_seq: AtomicU64::new(0),
            clients: AtomicUsize::new(0),
            blocked_clients: std::sync::atomic::AtomicI64::new(0),
            shutdown: AtomicBool::new(false),
            shards_draining: AtomicUsize::new(shards),
            stats: (0..shards)
                .map(|_| ShardStats::new(databases, commands))
                .collect(),
            started: Instant::now(),
            run_id: random_hex(40),
            port,
            instantaneous_ops: AtomicU64::new(0),
            pubsub: crate::pubsub::Registry::new(shards),
            snapshots: crate::shard::snapshot::Snapshots::new(shards),
            aof: crate::shard::aof::AofShared::new(shards, manifest),
        });
        if appendonly {
            shared.aof.loading.store(shards, Relaxed);
        }
        let mut built = Vec::with_capacity(shards);
        for (id, (poll, listener)) in polls.into_iter().zip(listeners).enumerate() {
            built.push(
                Shard::new(id, Arc::clone(&shared), poll, listener).map_err(|e| e.to_string())?,
            );
        }
        // With an AOF, it has the data (each shard loads its files in its own thread);
        // a first start with `appendonly yes` takes dump.rdb, and logs on from there.
        if !aof_found {
            load_snapshot(&shared, &mut built)?;
        }
        let mut threads = Vec::with_capacity(shards);
        for (id, shard) in built.into_iter().enumerate() {
            let t = std::thread::Builder::new()
                .name(format!("shard-{id}"))
                .spawn(move || shard.run())
                .map_err(|e| e.to_string())?;
            threads.push(t);
        }
        Ok(Server { shared, threads })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// Waits for every shard thread to finish (after `begin_shutdown`).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Loads `dir/dbfilename`, if there is one, into the shards that own its keys (before
/// they start; connections wait in the listen backlog meanwhile).
fn load_snapshot(shared: &Shared, shards: &mut [Shard]) -> Result<(), String> {
    use crate::persist::{file, rdb};
    let path = crate::shard::snapshot::target(shared);
    let start = Instant::now();
    let bytes = match file::read(&path) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(()),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let settings = crate::shard::Settings::load(shared);
    let limits = rdb::Limits {
        hash: settings.hash_limits,
        zset: settings.zset_limits,
        set_max_intset: settings.set_max_intset,
        stream: settings.stream_limits,
    };
    let databases = shards.first().map_or(16, |s| s.ks.databases());
    let now = crate::clock::unix_ms();
    let n = shards.len();
    let loaded = file::load(&bytes, databases, &limits, now, |db, key, value, expire| {
        let ttl = if expire == 0 {
            crate::store::Ttl::Clear
        } else {
            crate::store::Ttl::At(expire)
        };
        shards[crate::shard::route::shard_of(&key, n)]
            .ks
            .set(db, &key, value, ttl, now);
    })
    .map_err(|e| format!("{e} (loading {})", path.display()))?;
    crate::log::notice(&format!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        loaded.keys, loaded.expired
    ));
    let last = &shared.snapshots.last_load;
    last.0.store(loaded.keys, Relaxed);
    last.1.store(loaded.expired, Relaxed);
    crate::log::notice(&format!(
        "DB loaded from disk: {:.3} seconds",
        start.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Runs the server in the foreground until SIGINT/SIGTERM or SHUTDOWN; returns the exit
/// code.
/// Turns transparent huge pages off for this process, as Redis's `disable-thp yes` does.
/// mimalloc asks for huge pages on its arenas; with them every fresh 2 MB region is
/// zeroed whole by the kernel on first touch, which made storing 1 MB values twice as
/// slow as Redis (PERF.md, issue 12) and rounds RSS up. Best effort: a kernel without
/// the option keeps its default.
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        crate::log::verbose("disable-thp: the kernel refused PR_SET_THP_DISABLE");
    }
}

/// Runs the server configured by `cfg` until it shuts down; the process exit code.
pub fn run(cfg: Config) -> i32 {
    crate::log::set_level(cfg.get("loglevel"));
    let logfile = cfg.get("logfile").to_string();
    if !logfile.is_empty() {
        if let Err(e) = crate::log::set_file(&logfile) {
            eprintln!("Can't open the log file: {e}");
            return 1;
        }
    }
    if cfg.bool("daemonize") {
        // SAFETY: called before any thread is spawned, so forking is sound.
        if unsafe { libc::daemon(1, 0) } != 0 {
            eprintln!("daemonize failed");
            return 1;
        }
    }
    if cfg.bool("disable-thp") {
        disable_transparent_huge_pages();
    }
    let pidfile = cfg.get("pidfile").to_string();
    crate::log::notice("oO0OoO0OoO0Oo busbar is starting oO0OoO0OoO0Oo");
    crate::log::notice(&format!(
        "busbar version={}, redis_version={}, bits=64, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        crate::cmd::server::REDIS_VERSION,
        std::process::id()
    ));
    if cfg.config_file.is_empty() {
        crate::log::warning("Warning: no config file specified, using the default config. In order to specify a config file use busbar /path/to/redis.conf");
    } else {
        crate::log::notice("Configuration loaded");
    }
    let server = match Server::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            crate::log::warning(&e);
            return 1;
        }
    };
    if !pidfile.is_empty() {
        let _ = std::fs::write(&pidfile, format!("{}\n", std::process::id()));
    }
    crate::log::notice(&format!(
        "Running mode=standalone, port={}, shards={}.",
        server.port(),
        server.shared.shards
    ));
    crate::log::notice("Server initialized");
    // The handlers are in place before anyone is told the server is ready (registered
    // here, not in the thread that waits for the signals): a SIGTERM right after "Ready"
    // shuts down gracefully instead of killing the process.
    let signals = {
        use signal_hook::consts::{SIGINT, SIGTERM};
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
    };
    let shared = Arc::clone(&server.shared);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            use signal_hook::consts::SIGINT;
            let Ok(mut signals) = signals else {
                return;
            };
            for sig in signals.forever() {
                let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                if shared.shutdown.load(Relaxed) {
                    crate::log::warning("You insist... exiting now.");
                    std::process::exit(1);
                }
                crate::log::warning(&format!("Received {name} scheduling shutdown..."));
                crate::log::warning("User requested shutdown...");
                shared.begin_shutdown();
            }
        })
        .expect("spawn signal thread");
    // The shards load their append-only files in their own threads; ready once all did
    // (a shard whose load fails stops the process).
    while server.shared.aof.loading.load(Relaxed) > 0 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    crate::log::notice("Ready to accept connections tcp");
    server.join();
    if !pidfile.is_empty() {
        crate::log::notice("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    crate::log::warning("busbar is now ready to exit, bye bye...");
    0
}
