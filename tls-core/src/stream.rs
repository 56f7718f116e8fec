//! A blocking adapter: a [`Connection`] over any `Read + Write` transport,
//! itself `Read + Write`. The engine stays sans-IO; this is the one place that
//! moves its bytes to and from a socket.

use std::io::{self, Read, Write};

use crate::conn::Connection;
use crate::error::Error;

/// Bytes read from the transport at a time.
const READ_CHUNK: usize = 16 * 1024 + 512;

/// A TLS connection over a blocking transport.
#[derive(Debug)]
pub struct TlsStream<S> {
    conn: Connection,
    sock: S,
}

impl<S: Read + Write> TlsStream<S> {
    /// Wraps `conn` over `sock`. Nothing is sent until the first call.
    pub fn new(conn: Connection, sock: S) -> Self {
        TlsStream { conn, sock }
    }

    /// The connection, e.g. for [`Connection::negotiated`].
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// The connection and the transport, taken apart.
    pub fn into_parts(self) -> (Connection, S) {
        (self.conn, self.sock)
    }

    /// Drives the handshake to completion.
    pub fn handshake(&mut self) -> io::Result<()> {
        while self.conn.is_handshaking() {
            self.flush_tls()?;
            self.read_tls()?;
        }
        self.flush_tls()?;
        self.check()
    }

    /// Sends close_notify and flushes it.
    pub fn close_notify(&mut self) -> io::Result<()> {
        self.conn.close();
        self.flush_tls()
    }

    fn check(&self) -> io::Result<()> {
        match self.conn.error() {
            Some(e) => Err(to_io(e.clone())),
            None => Ok(()),
        }
    }

    /// Writes everything the connection has queued.
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            let n = self.sock.write(self.conn.pending_tls())?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.conn.consume_tls(n);
        }
        self.sock.flush()
    }

    /// Reads once from the transport and feeds the connection. A fatal error's
    /// alert is sent before the error is returned.
    fn read_tls(&mut self) -> io::Result<()> {
        let mut buf = [0u8; READ_CHUNK];
        let n = loop {
            match self.sock.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Err(to_io(Error::UnexpectedEof));
        }
        let fed = self.conn.feed(buf.get(..n).unwrap_or_default());
        let flushed = self.flush_tls();
        fed.map_err(to_io)?;
        flushed
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    /// Reads plaintext; `Ok(0)` once the peer has sent close_notify, an
    /// `UnexpectedEof` error if the transport ends without it.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.conn.is_handshaking() {
            self.handshake()?;
        }
        loop {
            let n = self.conn.read(buf);
            if n > 0 || buf.is_empty() || self.conn.peer_closed() {
                return Ok(n);
            }
            self.check()?;
            self.read_tls()?;
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.conn.is_handshaking() {
            self.handshake()?;
        }
        self.conn.write(buf).map_err(to_io)?;
        self.flush_tls()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}

/// A TLS error as an `io::Error` that downcasts back to [`Error`].
fn to_io(e: Error) -> io::Error {
    let kind = match e {
        Error::UnexpectedEof => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}
