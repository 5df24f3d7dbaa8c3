//! Blocking RESP connection: the control path, publishers, producers and blocking consumers.
//!
//! One connection per thread, std sockets with read timeouts so a server that never answers
//! turns into an error instead of a hang. The event-loop sides (kv, subscribers) live in their
//! scenarios and share only `resp`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::resp::{self, Reply, Value};
use crate::Error;

/// Read buffer size at start; it grows for larger replies.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// How long a connect may take before the server counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long any reply may take; blocking commands use timeouts well under this.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves `host:port` to one socket address.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, Error> {
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| format!("{host}:{port} does not resolve").into())
}

/// Opens a TCP connection with Nagle off (pipelined requests must leave at once).
pub fn connect_stream(addr: SocketAddr) -> Result<TcpStream, Error> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A blocking connection with its own read and write buffers.
pub struct Client {
    stream: TcpStream,
    read_buf: Vec<u8>,
    read_start: usize,
    read_end: usize,
    write_buf: Vec<u8>,
}

impl Client {
    /// Connects and sets the reply timeout.
    pub fn connect(addr: SocketAddr) -> Result<Client, Error> {
        let stream = connect_stream(addr)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        Ok(Client {
            stream,
            read_buf: vec![0; READ_BUFFER_BYTES],
            read_start: 0,
            read_end: 0,
            write_buf: Vec::with_capacity(READ_BUFFER_BYTES),
        })
    }

    /// Queues one command; nothing is sent until `flush`.
    pub fn queue(&mut self, args: &[&[u8]]) {
        resp::push_command(&mut self.write_buf, args);
    }

    /// The write buffer, for callers that encode requests themselves.
    pub fn write_buf(&mut self) -> &mut Vec<u8> {
        &mut self.write_buf
    }

    /// Sends everything queued.
    pub fn flush(&mut self) -> Result<(), Error> {
        if !self.write_buf.is_empty() {
            self.stream.write_all(&self.write_buf)?;
            self.write_buf.clear();
        }
        Ok(())
    }

    /// Reads more bytes into the buffer; an error on EOF or timeout.
    fn fill(&mut self) -> Result<(), Error> {
        if self.read_start == self.read_end {
            self.read_start = 0;
            self.read_end = 0;
        }
        if self.read_end == self.read_buf.len() {
            if self.read_start > 0 {
                self.read_buf.copy_within(self.read_start..self.read_end, 0);
                self.read_end -= self.read_start;
                self.read_start = 0;
            } else {
                let grown = self.read_buf.len() * 2;
                self.read_buf.resize(grown, 0);
            }
        }
        match self.stream.read(&mut self.read_buf[self.read_end..]) {
            Ok(0) => Err("server closed the connection".into()),
            Ok(n) => {
                self.read_end += n;
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(format!("no reply within {REPLY_TIMEOUT:?}").into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the next reply, borrowed from the read buffer until the next call.
    pub fn read_value(&mut self) -> Result<Value<'_>, Error> {
        loop {
            let pending = &self.read_buf[self.read_start..self.read_end];
            if let Some(n) = resp::frame_len(pending)? {
                let start = self.read_start;
                self.read_start += n;
                let (value, _) = resp::parse(&self.read_buf[start..start + n])?
                    .ok_or("frame_len and parse disagree")?;
                return Ok(value);
            }
            self.fill()?;
        }
    }

    /// Reads the next reply as an owned value.
    pub fn read_reply(&mut self) -> Result<Reply, Error> {
        Ok(self.read_value()?.to_owned_reply())
    }

    /// Sends one command and returns its reply; an error reply is returned as `Reply::Error`.
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Reply, Error> {
        self.queue(args);
        self.flush()?;
        self.read_reply()
    }

    /// Sends one command; an error reply becomes `Err` naming the command.
    pub fn call_ok(&mut self, args: &[&[u8]]) -> Result<Reply, Error> {
        match self.call(args)? {
            Reply::Error(e) => Err(format!("{} -> -{e}", String::from_utf8_lossy(args[0])).into()),
            reply => Ok(reply),
        }
    }
}

/// Pings until the server answers with a status reply (`PONG`; the sink says `OK`) or
/// `timeout` passes; the server readiness check. Error replies (e.g. `-LOADING`) retry.
pub fn wait_for_pong(addr: SocketAddr, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let mut last_error = String::from("never tried");
    while Instant::now() < deadline {
        match Client::connect(addr).and_then(|mut c| c.call(&[b"PING"])) {
            Ok(Reply::Simple(_)) => return Ok(()),
            Ok(other) => last_error = format!("PING answered {other:?}"),
            Err(e) => last_error = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{addr} not ready after {timeout:?}: {last_error}").into())
}
