//! `busbar-load sink`: a trivial RESP responder that answers every complete command with +OK.
//!
//! It only finds frame boundaries (no argument parsing, no keyspace), so a kv run against it
//! measures the load generator's own ceiling: a server can only be shown faster than the
//! client if the client outruns the sink. GET gets +OK too, which the kv client accepts.

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use mio::{Events, Interest, Poll, Token, Waker};
use serde::Serialize;

use crate::resp;
use crate::Error;

/// Read buffer per connection at start; grows when one request is larger.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Unsent reply bytes above which a connection stops reading until its peer catches up,
/// so a client that never reads cannot grow the sink's memory without bound.
const PENDING_REPLY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Largest inline (non-RESP) command line accepted.
const INLINE_BYTES_MAX: usize = 64 * 1024;
/// How often the accept loop checks the deadline.
const ACCEPT_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Token of each worker's waker (connections use their index).
const WAKER_TOKEN: Token = Token(usize::MAX);

/// `busbar-load sink`: answers every command with +OK.
#[derive(Parser, Debug, Clone, Serialize)]
pub struct SinkArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Port; 0 picks a free one (printed on stdout).
    #[arg(long, short = 'p', default_value_t = 0)]
    pub port: u16,
    /// Event-loop threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Exit after this long (e.g. 60s); absent = until killed.
    #[arg(long, value_parser = crate::run::parse_duration)]
    pub duration: Option<Duration>,
}

struct SinkConn {
    stream: mio::net::TcpStream,
    inb: Vec<u8>,
    in_start: usize,
    in_end: usize,
    out: Vec<u8>,
    out_pos: usize,
    closed: bool,
}

/// Counts complete commands at the front of `buf`; returns (commands, bytes used).
pub fn count_commands(buf: &[u8]) -> Result<(usize, usize), Error> {
    let (mut commands, mut used) = (0, 0);
    while used < buf.len() {
        let rest = &buf[used..];
        let n = if rest[0] == b'*' {
            match resp::frame_len(rest)? {
                Some(n) => n,
                None => break,
            }
        } else {
            // Inline command (e.g. `PING\r\n` from telnet or redis-cli's readiness check).
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None if rest.len() > INLINE_BYTES_MAX => {
                    return Err("inline command too long".into())
                }
                None => break,
            }
        };
        commands += 1;
        used += n;
    }
    Ok((commands, used))
}

impl SinkConn {
    fn flush(&mut self) -> io::Result<()> {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(())
    }

    /// Reads, answers and writes until the socket would block or the peer must catch up.
    fn serve(&mut self) -> Result<(), Error> {
        loop {
            self.flush()?;
            if self.out.len() - self.out_pos > PENDING_REPLY_BYTES_MAX {
                return Ok(());
            }
            if self.in_end == self.inb.len() {
                if self.in_start > 0 {
                    self.inb.copy_within(self.in_start..self.in_end, 0);
                    self.in_end -= self.in_start;
                    self.in_start = 0;
                } else {
                    let grown = self.inb.len() * 2;
                    self.inb.resize(grown, 0);
                }
            }
            let space = self.inb.len() - self.in_end;
            // A short read means the socket is empty (see kv.rs): answer and return.
            let drained = match self.stream.read(&mut self.inb[self.in_end..]) {
                Ok(0) => {
                    self.closed = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.in_end += n;
                    n < space
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let (commands, used) = count_commands(&self.inb[self.in_start..self.in_end])?;
            self.in_start += used;
            if self.in_start == self.in_end {
                self.in_start = 0;
                self.in_end = 0;
            }
            for _ in 0..commands {
                self.out.extend_from_slice(b"+OK\r\n");
            }
            if drained {
                self.flush()?;
                return Ok(());
            }
        }
    }
}

fn worker(
    incoming: mpsc::Receiver<std::net::TcpStream>,
    mut poll: Poll,
    stop: Arc<AtomicBool>,
) -> Result<(), Error> {
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<SinkConn>> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(Duration::from_millis(50))) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                while let Ok(stream) = incoming.try_recv() {
                    stream.set_nonblocking(true)?;
                    let _ = stream.set_nodelay(true);
                    let slot = conns.iter().position(Option::is_none).unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    let mut stream = mio::net::TcpStream::from_std(stream);
                    poll.registry().register(
                        &mut stream,
                        Token(slot),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conns[slot] = Some(SinkConn {
                        stream,
                        inb: vec![0; READ_BUFFER_BYTES],
                        in_start: 0,
                        in_end: 0,
                        out: Vec::new(),
                        out_pos: 0,
                        closed: false,
                    });
                }
                continue;
            }
            let slot = event.token().0;
            let Some(conn) = conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            // A client that sends garbage or resets is dropped; the sink keeps serving others.
            if conn.serve().is_err() || conn.closed {
                if let Some(mut conn) = conns[slot].take() {
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
            }
        }
    }
    Ok(())
}

/// Serves until `--duration` passes (or forever).
pub fn serve(args: &SinkArgs) -> Result<(), Error> {
    let listener = TcpListener::bind((args.bind.as_str(), args.port))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    println!("busbar-load sink listening on {local}");
    io::stdout().flush()?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..args.threads.max(1) {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        let (tx, rx) = mpsc::channel();
        let stop = Arc::clone(&stop);
        let handle = std::thread::spawn(move || worker(rx, poll, stop));
        workers.push((tx, waker, handle));
    }
    let deadline = args.duration.map(|d| Instant::now() + d);
    let mut next = 0;
    while deadline.is_none_or(|d| Instant::now() < d) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (tx, waker, _) = &workers[next % workers.len()];
                next += 1;
                tx.send(stream).map_err(|_| "sink worker exited")?;
                waker.wake()?;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_POLL_INTERVAL)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for (_, waker, handle) in workers {
        let _ = waker.wake();
        handle.join().map_err(|_| "sink worker panicked")??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pipelined_and_inline_commands() {
        let buf = b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nGE";
        let (commands, used) = count_commands(buf).unwrap();
        assert_eq!(commands, 3);
        assert_eq!(&buf[used..], b"*2\r\n$3\r\nGE");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(count_commands(b"*1\r\n%zz\r\n").is_err());
    }
}
