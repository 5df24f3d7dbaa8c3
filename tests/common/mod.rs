//! Test harness: start busbar (the real binary) and redis-server (the oracle) on free
//! loopback ports, talk raw RESP to them, and stop them by pid.
#![allow(clippy::unwrap_used)] // a test's unwrap is a failed test, not an outage
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when CI demands every helper program (redis-server, redis-benchmark, ...).
pub fn tools_required() -> bool {
    std::env::var("BUSBAR_REQUIRE_TOOLS")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// Whether `tool` is on PATH. When it is missing: panics in CI (BUSBAR_REQUIRE_TOOLS=1),
/// otherwise prints why the test is skipped and returns false.
pub fn have_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if tools_required() {
            panic!("{tool} is required (BUSBAR_REQUIRE_TOOLS=1) but not installed");
        }
        eprintln!("SKIPPED: {tool} is not installed");
    }
    found
}

/// A server process that is killed (by pid) when dropped.
pub struct Proc {
    pub child: Child,
    pub port: u16,
    /// Lines the server logged before it was ready.
    pub startup_log: Vec<String>,
    /// A working directory made for it (its `dir`), removed with it.
    pub scratch: Option<std::path::PathBuf>,
}

impl Proc {
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends SIGTERM and waits (bounded) for exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        unsafe_kill(self.pid(), 15);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn unsafe_kill(pid: i32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(d) = &self.scratch {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// A fresh empty directory for one server's files (`dir`), so no test server reads a
/// `dump.rdb` it did not write.
pub fn scratch_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "busbar-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Starts busbar with `--port 0` and the extra `args`; waits for "Ready to accept".
pub fn busbar(args: &[&str]) -> Proc {
    busbar_from(env!("CARGO_BIN_EXE_busbar"), args)
}

/// `busbar` from the binary at `bin` (the fuzzer can run against a release build).
pub fn busbar_from(bin: &str, args: &[&str]) -> Proc {
    busbar_logged(bin, args, None)
}

/// `busbar_from`, also copying the server's log (its stdout) to `log` when given.
pub fn busbar_logged(bin: &str, args: &[&str], log_path: Option<&std::path::Path>) -> Proc {
    let mut cmd = Command::new(bin);
    // A config file path, like redis-server's, must come first.
    let (file, args) = match args.first() {
        Some(f) if !f.starts_with("--") => (Some(*f), &args[1..]),
        _ => (None, args),
    };
    cmd.args(file);
    cmd.args([
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    if !args.contains(&"--threads") {
        cmd.args(["--threads", "2"]);
    }
    let scratch = (!args.contains(&"--dir")).then(scratch_dir);
    if let Some(d) = &scratch {
        cmd.arg("--dir").arg(d);
    }
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn busbar");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut port = 0;
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
            panic!("busbar did not start: {log:?}");
        }
        if let Some(rest) = line.split("port=").nth(1) {
            port = rest
                .split([',', '.'])
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap();
        }
        log.push(line.trim_end().to_string());
        if line.contains("Ready to accept connections") {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    let mut file = log_path.and_then(|p| std::fs::File::create(p).ok());
    if let Some(f) = file.as_mut() {
        for line in &log {
            let _ = writeln!(f, "{line}");
        }
    }
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if let Some(f) = file.as_mut() {
                        let _ = f.write_all(&chunk[..n]);
                    }
                }
            }
        }
    });
    assert!(port > 0, "no port in {log:?}");
    Proc {
        child,
        port,
        startup_log: log,
        scratch,
    }
}

/// A free loopback port (bind 0, read it, release it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts redis-server 7 as the oracle, or None when it is not installed (and not required).
pub fn redis_server(args: &[&str]) -> Option<Proc> {
    if !have_tool("redis-server") {
        return None;
    }
    for _ in 0..5 {
        let port = free_port();
        let scratch = (!args.contains(&"--dir")).then(scratch_dir);
        let dir_args: Vec<std::ffi::OsString> = match &scratch {
            Some(d) => vec!["--dir".into(), d.clone().into()],
            None => Vec::new(),
        };
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no", "--logfile", ""])
            .args(dir_args)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let mut p = Proc {
            child,
            port,
            startup_log: Vec::new(),
            scratch,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            // The port was free when picked, but another test's server (busbar binds port
            // 0) may have taken it since: then this redis-server exits, and the server
            // answering is not ours. Only our own process counts.
            if p.child.try_wait().ok().flatten().is_some() {
                break;
            }
            if let Ok(mut c) = Raw::connect(port) {
                // A server started with --requirepass answers NOAUTH: it is up all the same.
                let reply = c.cmd(&["PING"]);
                if reply.starts_with(b"-NOAUTH") {
                    return Some(p);
                }
                if reply == b"+PONG\r\n" {
                    let info = String::from_utf8_lossy(&c.cmd(&["INFO", "server"])).into_owned();
                    let ours = format!("process_id:{}\r", p.child.id());
                    if info.contains(&ours) {
                        return Some(p);
                    }
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Dropping `p` stops it; try another port.
    }
    panic!("redis-server did not start");
}

/// A raw RESP connection: send bytes, read whole replies.
pub struct Raw {
    pub s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(port: u16) -> std::io::Result<Raw> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_nodelay(true)?;
        Ok(Raw { s, buf: Vec::new() })
    }

    /// One read from the socket, retried when a signal interrupts it (EINTR: the test
    /// process gets signals, e.g. from the servers it starts and stops).
    fn read_some(&mut self, chunk: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.s.read(chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// Encodes a command as a multibulk.
    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            v.extend_from_slice(a);
            v.extend_from_slice(b"\r\n");
        }
        v
    }

    /// Sends one command and returns its whole reply, raw.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&Self::encode(&a));
        self.read_reply()
    }

    /// Sends one command given as byte strings.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&Self::encode(args));
        self.read_reply()
    }

    /// Reads one complete reply (panics on timeout).
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = busbar::resp::write::value_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.read_some(&mut chunk).expect("read reply (timeout?)");
            if n == 0 {
                panic!(
                    "connection closed; buffered: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the peer closes; returns everything left.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 65536];
        loop {
            match self.read_some(&mut chunk) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) => panic!(
                    "expected close, got {e}; read {:?}",
                    String::from_utf8_lossy(&out)
                ),
            }
        }
    }
}

/// Pretty form of a raw reply for assertion messages.
pub fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\\r\\n")
}

impl Raw {
    /// Sends one command given as owned byte strings.
    pub fn cmd_owned(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.cmd_bytes(&a)
    }

    /// Reads one complete reply; an error (timeout, close) is returned as text instead of
    /// panicking, so a caller can report it next to the command that caused it.
    pub fn try_read_reply(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some(n) = busbar::resp::write::value_len(&self.buf) {
                return Ok(self.buf.drain(..n).collect());
            }
            let mut chunk = [0u8; 65536];
            match self.read_some(&mut chunk) {
                Ok(0) => return Err(format!("connection closed; buffered: {}", show(&self.buf))),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("no reply ({e}); buffered: {}", show(&self.buf))),
            }
        }
    }

    /// True when the peer closed the connection (reads EOF) within the read timeout,
    /// discarding anything sent before the close.
    pub fn closed(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.read_some(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        }
    }
}

/// One parsed RESP2/RESP3 value, for comparisons that look inside a reply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resp {
    /// `+ - : _ , # (`: the type byte and the text of the line.
    Line(u8, Vec<u8>),
    /// `$ = !`: the type byte and the payload; `None` for the RESP2 null bulk `$-1`.
    Bulk(u8, Option<Vec<u8>>),
    /// `* ~ > % |`: the type byte and the elements (a map's keys and values alternate);
    /// `None` for the RESP2 null array `*-1`.
    Agg(u8, Option<Vec<Resp>>),
}

impl Resp {
    /// Parses one complete value at the start of `buf`; returns it and its length.
    pub fn parse(buf: &[u8]) -> Option<(Resp, usize)> {
        let nl = buf.iter().position(|&b| b == b'\n')?;
        let head = &buf[1..nl.checked_sub(1)?];
        let after = nl + 1;
        let tag = buf[0];
        let num = || std::str::from_utf8(head).ok()?.parse::<i64>().ok();
        match tag {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {
                Some((Resp::Line(tag, head.to_vec()), after))
            }
            b'$' | b'=' | b'!' => {
                let n = num()?;
                if n < 0 {
                    return Some((Resp::Bulk(tag, None), after));
                }
                let end = after + n as usize;
                (end + 2 <= buf.len())
                    .then(|| (Resp::Bulk(tag, Some(buf[after..end].to_vec())), end + 2))
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = num()?;
                if n < 0 {
                    return Some((Resp::Agg(tag, None), after));
                }
                let items = if tag == b'%' || tag == b'|' { n * 2 } else { n };
                let mut pos = after;
                let mut v = Vec::with_capacity(items as usize);
                for _ in 0..items {
                    let (e, len) = Resp::parse(&buf[pos..])?;
                    v.push(e);
                    pos += len;
                }
                Some((Resp::Agg(tag, Some(v)), pos))
            }
            _ => None,
        }
    }

    /// Parses a whole reply (panics on malformed input: a test failure).
    pub fn from(buf: &[u8]) -> Resp {
        Resp::parse(buf)
            .unwrap_or_else(|| panic!("malformed reply: {}", show(buf)))
            .0
    }

    /// Encodes the value back to RESP bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Resp::Line(t, s) => {
                out.push(*t);
                out.extend_from_slice(s);
                out.extend_from_slice(b"\r\n");
            }
            Resp::Bulk(t, None) => out.extend_from_slice(&[*t, b'-', b'1', b'\r', b'\n']),
            Resp::Bulk(t, Some(d)) => {
                out.extend_from_slice(format!("{}{}\r\n", *t as char, d.len()).as_bytes());
                out.extend_from_slice(d);
                out.extend_from_slice(b"\r\n");
            }
            Resp::Agg(t, None) => out.extend_from_slice(&[*t, b'-', b'1', b'\r', b'\n']),
            Resp::Agg(t, Some(v)) => {
                let n = if *t == b'%' || *t == b'|' {
                    v.len() / 2
                } else {
                    v.len()
                };
                out.extend_from_slice(format!("{}{}\r\n", *t as char, n).as_bytes());
                for e in v {
                    e.encode_into(out);
                }
            }
        }
    }

    /// The type byte.
    pub fn tag(&self) -> u8 {
        match self {
            Resp::Line(t, _) | Resp::Bulk(t, _) | Resp::Agg(t, _) => *t,
        }
    }

    /// The elements of an aggregate (empty for anything else).
    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Agg(_, Some(v)) => v,
            _ => &[],
        }
    }

    /// The payload of a bulk or the text of a line.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Resp::Line(_, s) | Resp::Bulk(_, Some(s)) => Some(s),
            _ => None,
        }
    }

    /// True for the null bulk, the null array and RESP3 `_`.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Resp::Bulk(_, None) | Resp::Agg(_, None) | Resp::Line(b'_', _)
        )
    }
}

impl Raw {
    /// Reads until the peer closes (EOF or a reset, which a close with unread input causes);
    /// returns everything received. Panics on a read timeout: the peer did not close.
    pub fn read_until_closed(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 65536];
        loop {
            match self.read_some(&mut chunk) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
                Err(e) => panic!("expected close, got {e}; read {}", show(&out)),
            }
        }
    }

    /// Reads `n` complete replies and returns them concatenated.
    pub fn read_replies(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.extend(self.read_reply());
        }
        out
    }
}

/// HELLO's reply with the fields that differ between busbar and redis-server (`version`,
/// `id`) masked, so the rest can be compared byte for byte. Other replies pass unchanged.
pub fn mask_hello(reply: &[u8]) -> Vec<u8> {
    let Some((Resp::Agg(tag, Some(mut items)), _)) = Resp::parse(reply) else {
        return reply.to_vec();
    };
    for i in (0..items.len().saturating_sub(1)).step_by(2) {
        match items[i].bytes() {
            Some(b"version") => items[i + 1] = Resp::Bulk(b'$', Some(b"<version>".to_vec())),
            Some(b"id") => items[i + 1] = Resp::Line(b':', b"<id>".to_vec()),
            _ => {}
        }
    }
    Resp::Agg(tag, Some(items)).encode()
}

/// INFO's `blocked_clients`.
pub fn blocked_clients(c: &mut Raw) -> usize {
    let info = String::from_utf8(c.cmd(&["INFO", "clients"])).unwrap();
    let line = info
        .lines()
        .find(|l| l.starts_with("blocked_clients:"))
        .expect("field");
    line["blocked_clients:".len()..].trim().parse().unwrap()
}

/// Waits (up to 20 s) until `n` clients are blocked.
pub fn wait_blocked(c: &mut Raw, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while blocked_clients(c) != n {
        assert!(
            std::time::Instant::now() < deadline,
            "never reached {n} blocked clients"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Two key names (`prefix` + a number) that live on different shards of `shards`.
pub fn keys_on_two_shards(prefix: &str, shards: usize) -> (String, String) {
    use busbar::shard::route::shard_of;
    let first = format!("{prefix}0");
    let home = shard_of(first.as_bytes(), shards);
    let other = (1..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| shard_of(k.as_bytes(), shards) != home)
        .unwrap();
    (first, other)
}

/// A key named `prefix` + a number whose owner shard of `shards` is `shard`.
pub fn key_on(prefix: &str, shard: usize, shards: usize) -> String {
    use busbar::shard::route::shard_of;
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| shard_of(k.as_bytes(), shards) == shard)
        .unwrap()
}

/// Sends `cmds` pipelined (one write) and returns their raw replies, in order.
pub fn pipeline_raw(c: &mut Raw, cmds: &[Vec<String>]) -> Vec<Vec<u8>> {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
        bytes.extend_from_slice(&Raw::encode(&a));
    }
    c.send(&bytes);
    (0..cmds.len()).map(|_| c.read_reply()).collect()
}

/// The integer field `name:` of INFO stats.
pub fn info_stat(c: &mut Raw, name: &str) -> u64 {
    let info = String::from_utf8(
        Resp::from(&c.cmd(&["INFO", "stats"]))
            .bytes()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in INFO stats"))
        .trim()
        .parse()
        .unwrap()
}

/// The numeric field `name=` of a CLIENT LIST / CLIENT INFO line.
pub fn line_field(line: &str, name: &str) -> usize {
    let prefix = format!("{name}=");
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        .parse()
        .unwrap()
}

/// The CLIENT LIST line of the client named `name`.
pub fn client_line_named(c: &mut Raw, name: &str) -> String {
    let list = Resp::from(&c.cmd(&["CLIENT", "LIST"]));
    let text = String::from_utf8(list.bytes().unwrap().to_vec()).unwrap();
    text.lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap_or_else(|| panic!("no client {name} in {text}"))
        .to_string()
}
