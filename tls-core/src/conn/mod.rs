//! The connection: the caller's interface ([`Connection`], [`Event`]), in
//! front of the shared state the handshakes write to (`common`) and the
//! record dispatch that feeds them (`dispatch`).
//!
//! Received bytes flow deframe → open → (handshake: join → state machine) or
//! (application data: plaintext buffer) or (alert: close or fail). Everything
//! the engine wants to send is appended to one outgoing buffer.
//!
//! Records are sealed and opened where they lie in those buffers; with
//! [`Connection::write_with`] and [`Connection::feed_with`] the caller writes
//! plaintext and received bytes straight into them, so bulk data is not
//! copied by the engine at all.

pub(crate) mod common;
mod dispatch;
mod expected;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::client::tls12::ClientState12;
use crate::client::{self, ClientState};
use crate::config::{ClientConfig, ServerConfig};
use crate::error::Error;
use crate::msgs::enums::{AlertDescription, ContentType, ProtocolVersion};
use crate::msgs::handshake::KeyUpdateRequest;
use crate::record::buffer::{run_fill, RecordBuffer};
use crate::record::MAX_PLAINTEXT;
use crate::server::tls12::ServerState12;
use crate::server::{self, ServerState};
use crate::tls12::traffic::Traffic12;
use crate::tls13::traffic::Traffic;

pub(crate) use common::Common;
use common::KEEP_CAPACITY;
pub use common::{Event, Negotiated, Side};

/// Empties `buf`, giving its memory back if it is larger than we keep or
/// `keep` is false. Kept memory stays initialised, so that it can be written
/// in place again without zeroing it.
fn drain_buffer(buf: &mut RecordBuffer, keep: bool) {
    if keep && buf.capacity() <= KEEP_CAPACITY {
        buf.clear();
    } else {
        buf.release();
    }
}

/// Lets `fill` write up to `max` bytes at the end of `held` and keeps what it
/// wrote: the path of `write_with` where the data is copied after all. On a
/// fill error nothing is kept.
fn fill_vec<E>(
    held: &mut Vec<u8>,
    max: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
) -> Result<Result<usize, E>, Error> {
    let start = held.len();
    held.resize(start + max, 0);
    let result = run_fill(held.get_mut(start..).unwrap_or_default(), fill);
    let n = match &result {
        Ok(Ok(n)) => *n,
        _ => 0,
    };
    held.truncate(start + n);
    result
}

/// Where the handshake stands.
pub(crate) enum State {
    Client(Box<ClientState>),
    Server(Box<ServerState>),
    Traffic(Box<Traffic>),
    /// A TLS 1.2 client handshake.
    Client12(Box<ClientState12>),
    /// A TLS 1.2 server handshake.
    Server12(Box<ServerState12>),
    /// An established TLS 1.2 connection.
    Traffic12(Box<Traffic12>),
    /// A fatal error happened; the error is kept in `Common`.
    Failed,
}

/// One TLS connection, client or server, driven by the caller: feed it the
/// peer's bytes, send what [`Connection::pending_tls`] holds, and exchange
/// plaintext with [`Connection::write`] and [`Connection::read`].
///
/// The crate-level example runs a whole handshake; a client's first flight:
///
/// ```
/// use std::sync::Arc;
/// use tls_core::{ClientConfig, Connection};
///
/// let pinned = vec![b"the server's certificate, DER".to_vec()];
/// let config = Arc::new(ClientConfig::with_pinned_certs(pinned));
/// let mut conn = Connection::client(config, Some("example.com")).unwrap();
/// assert!(conn.is_handshaking());
/// // The ClientHello is queued at once, as one handshake record (type 22).
/// let hello = conn.pending_tls().to_vec();
/// assert_eq!(hello[0], 22);
/// conn.consume_tls(hello.len());
/// assert!(conn.pending_tls().is_empty());
/// ```
pub struct Connection {
    pub(crate) common: Common,
    state: State,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("side", &self.common.side)
            .field("handshaking", &self.is_handshaking())
            .field("negotiated", &self.common.negotiated)
            .field("error", &self.common.error)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A client connection for `server_name` (a DNS name, sent as SNI and given
    /// to the verifier, or an IP address, given to the verifier only). The
    /// ClientHello is queued at once.
    pub fn client(config: Arc<ClientConfig>, server_name: Option<&str>) -> Result<Self, Error> {
        let mut common = Common::new(Side::Client, config.clock.clone());
        common.key_log = config.key_log.clone();
        common.tls12_enabled = config.versions.contains(&ProtocolVersion::Tls12);
        let state = client::start(config, server_name, &mut common)?;
        Ok(Connection {
            common,
            state: State::Client(Box::new(state)),
        })
    }

    /// A server connection waiting for a ClientHello.
    pub fn server(config: Arc<ServerConfig>) -> Self {
        let mut common = Common::new(Side::Server, config.clock.clone());
        common.key_log = config.key_log.clone();
        common.tls12_enabled = config.versions.contains(&ProtocolVersion::Tls12);
        Connection {
            common,
            state: State::Server(Box::new(server::start(config))),
        }
    }

    /// Processes bytes received from the peer. On a fatal error the alert is
    /// already queued in [`Connection::pending_tls`], and this and every later
    /// call returns the same error. Bytes after the peer's close_notify are ignored.
    /// [`Connection::feed_with`] does the same without copying the bytes.
    pub fn feed(&mut self, tls: &[u8]) -> Result<(), Error> {
        self.check_failed()?;
        if self.common.peer_closed {
            return Ok(());
        }
        self.common.deframer.push(tls);
        let result = self.process_records();
        if let Err(e) = result {
            self.fail(e.clone());
            return Err(e);
        }
        Ok(())
    }

    /// Receives TLS bytes that `fill` writes straight into the engine's
    /// receive buffer (e.g. a socket's `try_read`), then processes them as
    /// [`Connection::feed`] would: `feed_with(max, fill)` is
    /// `feed(&buf[..n])` for the `n` bytes `fill` wrote into `buf`, without
    /// the copy.
    ///
    /// `fill` gets a slice of `max` bytes or fewer (of unspecified content)
    /// and returns how many bytes it wrote there, or its own error. The slice
    /// holds no more than completes one full record (16 KiB + 261 bytes, less
    /// the start of a record already held), so that steady transfer keeps
    /// reusing the same buffers; pass at least that much to take a whole
    /// record per call.
    ///
    /// - Engine errors are the outer `Err`, exactly as `feed` reports them:
    ///   after a fatal error `fill` is not called and the error is returned.
    /// - A fill error is the inner `Err`; nothing is received.
    /// - Once the peer's close_notify has arrived, what `fill` writes is
    ///   ignored, as `feed` ignores it.
    /// - A fill that claims more bytes than it was given is
    ///   [`Error::Misuse`]; nothing is received and the connection is
    ///   otherwise unchanged.
    pub fn feed_with<E>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<Result<usize, E>, Error> {
        self.check_failed()?;
        let c = &mut self.common;
        let room = if c.peer_closed {
            KEEP_CAPACITY
        } else {
            // After processing, less than a whole record is held.
            KEEP_CAPACITY.saturating_sub(c.deframer.buffered()).max(1)
        };
        let n = match run_fill(c.deframer.spare(max.min(room)), fill) {
            Ok(Ok(n)) => n,
            failed => {
                c.settle_deframer();
                return failed;
            }
        };
        if c.peer_closed {
            return Ok(Ok(n));
        }
        c.deframer.commit(n);
        if let Err(e) = self.process_records() {
            self.fail(e.clone());
            return Err(e);
        }
        Ok(Ok(n))
    }

    /// Bytes waiting to be sent to the peer.
    pub fn pending_tls(&self) -> &[u8] {
        self.common
            .sendable
            .as_slice()
            .get(self.common.sendable_taken..)
            .unwrap_or_default()
    }

    /// True when there are bytes to send.
    pub fn wants_write(&self) -> bool {
        !self.pending_tls().is_empty()
    }

    /// Marks the first `n` bytes of [`Connection::pending_tls`] as sent.
    pub fn consume_tls(&mut self, n: usize) {
        let c = &mut self.common;
        c.sendable_taken = (c.sendable_taken + n).min(c.sendable.len());
        if c.sendable_taken == c.sendable.len() {
            drain_buffer(&mut c.sendable, c.app_sent);
            c.sendable_taken = 0;
        }
    }

    /// Sends application data; before the handshake completes it is held and
    /// sent on completion. The data is copied once, into the record it is
    /// sealed in; [`Connection::write_with`] avoids even that copy.
    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), Error> {
        self.check_failed()?;
        if self.common.we_closed {
            return Err(Error::Closed);
        }
        if self.common.handshake_done {
            self.common.key_update_answered = false;
            self.common.app_sent = true;
            for fragment in plaintext.chunks(MAX_PLAINTEXT) {
                if self.common.write_key_exhausted() {
                    self.update_keys(false)?;
                }
                self.common.send(ContentType::ApplicationData, fragment)?;
            }
            Ok(())
        } else {
            self.common.early_plaintext.extend_from_slice(plaintext);
            Ok(())
        }
    }

    /// Seals application data that `fill` writes straight into the buffer the
    /// record is sealed in: no copy of the plaintext. `write_with(max, fill)`
    /// is `write(&buf[..n])` for the `n` bytes `fill` wrote into `buf`.
    ///
    /// At most one record is sealed per call: `fill` gets a slice of
    /// `min(max, 2^14)` bytes (of unspecified content) and returns how many
    /// bytes it wrote there, or its own error. Writing none seals nothing.
    ///
    /// - Engine errors are the outer `Err`, exactly as `write` reports them:
    ///   after a fatal error or [`Connection::close`] (`Error::Closed`) `fill`
    ///   is not called.
    /// - A fill error is the inner `Err`; nothing is sent and the connection
    ///   is unchanged.
    /// - A fill that claims more bytes than it was given is
    ///   [`Error::Misuse`]; nothing is sent and the connection is otherwise
    ///   unchanged.
    /// - Before the handshake completes the data is held and sent on
    ///   completion, and when the write key is due for a KeyUpdate (once per
    ///   2^24 records) the KeyUpdate goes first: in these two cases the data is
    ///   copied once, as by `write`.
    pub fn write_with<E>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<Result<usize, E>, Error> {
        self.check_failed()?;
        if self.common.we_closed {
            return Err(Error::Closed);
        }
        let max = max.min(MAX_PLAINTEXT);
        if !self.common.handshake_done {
            return fill_vec(&mut self.common.early_plaintext, max, fill);
        }
        if self.common.write_key_exhausted() {
            // The KeyUpdate record must precede this one, but the space
            // after the queued records is where `fill` would write.
            let mut held = Vec::new();
            let result = fill_vec(&mut held, max, fill)?;
            if result.is_ok() {
                self.write(&held)?;
            }
            return Ok(result);
        }
        let c = &mut self.common;
        let Some(sealer) = &mut c.sealer else {
            return Err(Error::Internal("no write key after the handshake"));
        };
        let result = sealer.seal_with(ContentType::ApplicationData, max, &mut c.sendable, fill)?;
        if result.is_ok() {
            c.key_update_answered = false;
            c.app_sent = true;
        }
        Ok(result)
    }

    /// Copies received application data into `buf`, returning how many bytes;
    /// 0 when none is available now. Data received before a fatal error can
    /// still be read.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let c = &mut self.common;
        let available = c
            .plaintext
            .as_slice()
            .get(c.plaintext_taken..)
            .unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        c.plaintext_taken += n;
        if c.plaintext_taken == c.plaintext.len() {
            drain_buffer(&mut c.plaintext, true);
            c.plaintext_taken = 0;
        }
        n
    }

    /// The received application data waiting to be read, without copying it
    /// out: pass what was used to [`Connection::consume_plaintext`]. Lets a
    /// caller write it to its destination straight from the engine's buffer.
    pub fn peek_plaintext(&self) -> &[u8] {
        let c = &self.common;
        c.plaintext
            .as_slice()
            .get(c.plaintext_taken..)
            .unwrap_or_default()
    }

    /// Marks the first `n` bytes of [`Connection::peek_plaintext`] as read.
    pub fn consume_plaintext(&mut self, n: usize) {
        let c = &mut self.common;
        c.plaintext_taken = (c.plaintext_taken + n).min(c.plaintext.len());
        if c.plaintext_taken == c.plaintext.len() {
            drain_buffer(&mut c.plaintext, true);
            c.plaintext_taken = 0;
        }
    }

    /// Gives back the memory of every buffer that is now empty (received and
    /// outgoing records, plaintext), whatever its size: for a caller about to
    /// leave the connection idle. Buffers are allocated again when needed.
    pub fn release_buffers(&mut self) {
        let c = &mut self.common;
        if c.sendable_taken == c.sendable.len() {
            c.sendable.release();
            c.sendable_taken = 0;
        }
        if c.plaintext_taken == c.plaintext.len() {
            c.plaintext.release();
            c.plaintext_taken = 0;
        }
        if c.deframer.buffered() == 0 {
            c.deframer.release();
        }
        if c.events.is_empty() {
            c.events = VecDeque::new();
        }
    }

    /// How many bytes of received application data are waiting to be read.
    pub fn plaintext_len(&self) -> usize {
        self.common.plaintext.len() - self.common.plaintext_taken
    }

    /// Queues close_notify: we will send nothing more. Before the handshake
    /// completes it is sent once the handshake does.
    pub fn close(&mut self) {
        if self.common.we_closed || self.common.error.is_some() {
            return;
        }
        self.common.we_closed = true;
        if self.common.handshake_done {
            self.common.send_alert(AlertDescription::CloseNotify);
        }
    }

    /// Sends a KeyUpdate and moves to our next traffic key; with
    /// `request_peer`, asks the peer to update its key too.
    pub fn update_keys(&mut self, request_peer: bool) -> Result<(), Error> {
        self.check_failed()?;
        let traffic = match &mut self.state {
            State::Traffic(traffic) => traffic,
            State::Traffic12(_) => return Err(Error::Misuse("KeyUpdate is TLS 1.3 only")),
            _ => return Err(Error::Misuse("KeyUpdate before the handshake completed")),
        };
        let request = if request_peer {
            KeyUpdateRequest::Requested
        } else {
            KeyUpdateRequest::NotRequested
        };
        traffic.send_key_update(&mut self.common, request)
    }

    /// Fills `out` with keying material exported under `label` and `context`
    /// (RFC 8446 §7.5), once the handshake has completed.
    pub fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        self.check_failed()?;
        match &self.state {
            State::Traffic(traffic) => traffic.export(label, context.unwrap_or_default(), out),
            State::Traffic12(traffic) => traffic.export(label, context, out),
            _ => Err(Error::Misuse(
                "exporter used before the handshake completed",
            )),
        }
    }

    /// The next event, oldest first.
    pub fn next_event(&mut self) -> Option<Event> {
        self.common.events.pop_front()
    }

    /// True until the handshake completes (and false after a fatal error).
    pub fn is_handshaking(&self) -> bool {
        !self.common.handshake_done && self.common.error.is_none()
    }

    /// True once the peer's close_notify has arrived.
    pub fn peer_closed(&self) -> bool {
        self.common.peer_closed
    }

    /// The fatal error that ended this connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.common.error.as_ref()
    }

    /// What the handshake agreed on, once it has completed.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.common.negotiated.as_ref()
    }

    /// Which side this connection is.
    pub fn side(&self) -> Side {
        self.common.side
    }
}
