//! Test harness: start busbar (the real binary) and redis-server (the oracle) on free
//! loopback ports, talk raw RESP to them, and stop them by pid.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when CI demands every helper program (redis-server, redis-benchmark, ...).
pub fn tools_required() -> bool {
    std::env::var("BUSBAR_REQUIRE_TOOLS").map(|v| v == "1").unwrap_or(false)
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
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Starts busbar with `--port 0` and the extra `args`; waits for "Ready to accept".
pub fn busbar(args: &[&str]) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_busbar"));
    cmd.args(["--port", "0", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    if !args.contains(&"--threads") {
        cmd.args(["--threads", "2"]);
    }
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::inherit());
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
            port = rest.split([',', '.']).next().unwrap().trim().parse().unwrap();
        }
        log.push(line.trim_end().to_string());
        if line.contains("Ready to accept connections") {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    assert!(port > 0, "no port in {log:?}");
    Proc { child, port, startup_log: log }
}

/// A free loopback port (bind 0, read it, release it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts redis-server 7 as the oracle, or None when it is not installed (and not required).
pub fn redis_server(args: &[&str]) -> Option<Proc> {
    if !have_tool("redis-server") {
        return None;
    }
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--logfile", ""])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let p = Proc { child, port, startup_log: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = Raw::connect(port) {
                if c.cmd(&["PING"]) == b"+PONG\r\n" {
                    return Some(p);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
            let n = self.s.read(&mut chunk).expect("read reply (timeout?)");
            if n == 0 {
                panic!("connection closed; buffered: {:?}", String::from_utf8_lossy(&self.buf));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the peer closes; returns everything left.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 65536];
        loop {
            match self.s.read(&mut chunk) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("expected close, got {e}; read {:?}", String::from_utf8_lossy(&out)),
            }
        }
    }
}

/// Pretty form of a raw reply for assertion messages.
pub fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\\r\\n")
}
