//! Refused connections (max clients, protected mode): their one error line is written,
//! then the socket lingers briefly so the line reaches the client.
//!
//! Closing a socket that still holds unread input makes the kernel answer with a reset,
//! and a reset can overtake (and discard) the error line on its way: a client that sends
//! a command right after connecting would read a reset instead of Redis's text. So a
//! refused socket is shut for writing (the line, then a FIN), then kept, reading and
//! discarding whatever the client sends, until the client closes, or it sent too much,
//! or too long passed. Nothing here blocks: reads are non-blocking, driven by the shard's
//! poll, and every refusal is bounded in time, bytes and number.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

/// Tokens of refused sockets start here (far above any connection slab index).
pub const TOKEN_BASE: usize = usize::MAX / 2;

/// How long (ms) a refused socket is kept before it is closed regardless.
const LINGER_MS: u64 = 1000;

/// Input read and discarded from one refused socket, at most, before it is closed.
const DRAIN_BYTES_MAX: usize = 64 * 1024;

/// Refused sockets lingering on one shard, at most: past this a refusal closes at once
/// (as before), so a flood of connections cannot pin file descriptors here.
const LINGERING_MAX: usize = 1024;

struct Lingering {
    stream: TcpStream,
    /// When it is closed regardless (wall-clock ms).
    until_ms: u64,
    /// Input discarded so far.
    drained: usize,
}

/// One shard's lingering refused sockets. Touched only by that shard's thread.
#[derive(Default)]
pub struct Refused {
    slots: Vec<Option<Lingering>>,
    free: Vec<usize>,
    live: usize,
}

impl Refused {
    /// Writes `line` to a just-accepted `stream`, shuts its write side and keeps it until
    /// the client closes (or the bounds above are reached).
    pub fn refuse(&mut self, registry: &Registry, mut stream: TcpStream, line: &[u8], now_ms: u64) {
        // A fresh socket's send buffer is empty: the short line goes out whole.
        let _ = stream.write(line);
        let _ = stream.shutdown(Shutdown::Write);
        if self.live >= LINGERING_MAX {
            return;
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        if registry
            .register(&mut stream, Token(TOKEN_BASE + slot), Interest::READABLE)
            .is_err()
        {
            self.free.push(slot);
            return;
        }
        self.slots[slot] = Some(Lingering {
            stream,
            until_ms: now_ms.saturating_add(LINGER_MS),
            drained: 0,
        });
        self.live += 1;
        // Input that came with the connection may already be waiting.
        self.readable(registry, Token(TOKEN_BASE + slot));
    }

    /// True when `token` is a refused socket's.
    pub fn owns(token: Token) -> bool {
        token.0 >= TOKEN_BASE
    }

    /// Reads and discards what a refused socket has; closes it at end of input, on an
    /// error, or past the byte budget.
    pub fn readable(&mut self, registry: &Registry, token: Token) {
        let slot = token.0 - TOKEN_BASE;
        let Some(Some(l)) = self.slots.get_mut(slot) else {
            return;
        };
        let mut chunk = [0u8; 4096];
        let done = loop {
            match l.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => {
                    l.drained += n;
                    if l.drained > DRAIN_BYTES_MAX {
                        break true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        if done {
            self.close(registry, slot);
        }
    }

    /// Closes refused sockets kept past their time.
    pub fn expire(&mut self, registry: &Registry, now_ms: u64) {
        if self.live == 0 {
            return;
        }
        for slot in 0..self.slots.len() {
            if self.slots[slot]
                .as_ref()
                .is_some_and(|l| now_ms >= l.until_ms)
            {
                self.close(registry, slot);
            }
        }
    }

    fn close(&mut self, registry: &Registry, slot: usize) {
        if let Some(mut l) = self.slots[slot].take() {
            let _ = registry.deregister(&mut l.stream);
            self.free.push(slot);
            self.live -= 1;
        }
    }
}
