//! The connection: the caller's interface, and the record dispatch that feeds
//! the client or server state machine.
//!
//! Received bytes flow deframe → open → (handshake: join → state machine) or
//! (application data: plaintext buffer) or (alert: close or fail). Everything
//! the engine wants to send is appended to one outgoing buffer.
//!
//! Records are sealed and opened where they lie in those buffers; with
//! [`Connection::write_with`] and [`Connection::feed_with`] the caller writes
//! plaintext and received bytes straight into them, so bulk data is not
//! copied by the engine at all.

mod expected;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::mem;

use crate::client::tls12::{self as client12, ClientState12};
use crate::client::{self, ClientState};
use crate::config::{ClientConfig, Clock, ServerConfig};
use crate::crypto::{RecordKey12, Suite, TrafficKey};
use crate::error::Error;
use crate::msgs::alert::{Alert, AlertLevel};
use crate::msgs::enums::{
    AlertDescription, CipherSuite, ContentType, HandshakeType, NamedGroup, ProtocolVersion,
};
use crate::msgs::handshake::{HandshakeMessage, KeyUpdateRequest};
use crate::msgs::handshake12::Message12;
use crate::record::buffer::{run_fill, RecordBuffer};
use crate::record::deframe::{Deframer, RecordRef};
use crate::record::join::{HandshakeJoiner, RawHandshake};
use crate::record::protect::{frame_plaintext, RecordOpener, RecordSealer};
use crate::record::MAX_PLAINTEXT;
use crate::server::tls12::{self as server12, ServerState12};
use crate::server::{self, ServerState};
use crate::tls12::traffic::Traffic12;
use crate::tls13::traffic::Traffic;

/// Something the caller may want to react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake finished; application data now flows both ways.
    HandshakeComplete,
    /// The peer sent close_notify: it will send nothing more.
    PeerClosed,
    /// The connection failed; `alert_sent` is the alert queued for the peer
    /// (none when the peer's own alert ended it).
    Fatal {
        /// Why the connection failed.
        error: Error,
        /// The alert queued in [`Connection::pending_tls`], if any.
        alert_sent: Option<AlertDescription>,
    },
}

/// What the handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The protocol version.
    pub version: ProtocolVersion,
    /// The cipher suite.
    pub suite: CipherSuite,
    /// The key-exchange group.
    pub group: NamedGroup,
    /// The ALPN protocol, if one was agreed.
    pub alpn: Option<Vec<u8>>,
    /// The SNI name the client asked for.
    pub server_name: Option<String>,
    /// The peer's certificate chain (DER, end-entity first), empty if none.
    pub peer_certificates: Vec<Vec<u8>>,
    /// True when the server sent a HelloRetryRequest.
    pub hello_retry: bool,
    /// True when a previous session was resumed with a ticket.
    pub resumed: bool,
    /// Client: the DER OCSPResponse the server stapled for its end-entity
    /// certificate, when [`crate::ClientConfig::request_ocsp`] asked for one
    /// and the server sent it (already handed to the verifier's
    /// [`crate::ServerCertVerifier::verify_stapled_ocsp`]).
    pub ocsp_response: Option<Vec<u8>>,
}

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// We sent the ClientHello.
    Client,
    /// We answered it.
    Server,
}

/// Records sealed under one key before a KeyUpdate: below the 2^24.5 full-size
/// records RFC 8446 §5.5 allows AES-GCM, and applied to every suite alike.
const RECORDS_PER_KEY: u64 = 1 << 24;

/// Buffer capacity kept once a buffer is drained: one full record with its
/// overhead, so steady bulk transfer reuses its buffers without allocating,
/// while a larger burst's buffer (or a handshake's, before any application
/// data) is given back as soon as it is drained — an idle connection holds
/// no I/O buffers.
const KEEP_CAPACITY: usize = crate::record::HEADER_LEN + crate::record::MAX_CIPHERTEXT;

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

/// Consecutive records carrying nothing (dummy ChangeCipherSpec, empty
/// application data) accepted before the peer is judged to be flooding us.
const MAX_EMPTY_RECORDS: u32 = 32;

/// Everything the state machines act on: record protection, buffers, events.
pub(crate) struct Common {
    pub side: Side,
    clock: Arc<dyn Clock>,
    deframer: Deframer,
    joiner: HandshakeJoiner,
    opener: Option<RecordOpener>,
    sealer: Option<RecordSealer>,
    /// Records to send, sealed in place.
    pub(crate) sendable: RecordBuffer,
    sendable_taken: usize,
    /// Received application data; trades places with the deframer's buffer.
    pub(crate) plaintext: RecordBuffer,
    plaintext_taken: usize,
    early_plaintext: Vec<u8>,
    events: VecDeque<Event>,
    pub negotiated: Option<Negotiated>,
    handshake_done: bool,
    peer_closed: bool,
    we_closed: bool,
    /// Dummy ChangeCipherSpec records are dropped from the first ClientHello
    /// until the peer's Finished (RFC 8446 §5); before it they are
    /// unexpected_message. A client has sent its ClientHello from the start.
    pub ccs_allowed: bool,
    empty_records: u32,
    /// TLS 1.2 is among our versions (warning alerts may then pass).
    tls12_enabled: bool,
    /// Bytes of undecryptable records (rejected 0-RTT data) a server may still skip.
    pub early_data_skip: usize,
    /// Set once we answered a KeyUpdate request; cleared when we send data.
    pub key_update_answered: bool,
    /// Set when application data arrives; read (and cleared) by the KeyUpdate
    /// flood check.
    data_received: bool,
    /// Application data has been sent / received: from then on drained
    /// buffers of up to [`KEEP_CAPACITY`] are kept for reuse.
    app_sent: bool,
    app_received: bool,
    /// Records sealed under one key before we move to the next with KeyUpdate.
    pub(crate) records_per_key: u64,
    error: Option<Error>,
}

impl Common {
    fn new(side: Side, clock: Arc<dyn Clock>) -> Self {
        Common {
            side,
            clock,
            deframer: Deframer::default(),
            joiner: HandshakeJoiner::default(),
            opener: None,
            sealer: None,
            sendable: RecordBuffer::new(),
            sendable_taken: 0,
            plaintext: RecordBuffer::new(),
            plaintext_taken: 0,
            early_plaintext: Vec::new(),
            events: VecDeque::new(),
            negotiated: None,
            handshake_done: false,
            peer_closed: false,
            we_closed: false,
            ccs_allowed: side == Side::Client,
            empty_records: 0,
            tls12_enabled: false,
            early_data_skip: 0,
            key_update_answered: false,
            data_received: false,
            app_sent: false,
            app_received: false,
            records_per_key: RECORDS_PER_KEY,
            error: None,
        }
    }

    /// Queues a handshake message (already encoded), protected if we have keys.
    pub fn send_handshake(&mut self, encoded: &[u8]) -> Result<(), Error> {
        self.send(ContentType::Handshake, encoded)
    }

    /// Queues the client's first ClientHello (record version TLS 1.0, see
    /// [`crate::record::protect::frame_initial_hello`]).
    pub fn send_initial_hello(&mut self, encoded: &[u8]) {
        crate::record::protect::frame_initial_hello(encoded, &mut self.sendable);
    }

    /// Encodes, adds to `transcript`, and queues a handshake message.
    pub fn send_message(
        &mut self,
        msg: &HandshakeMessage,
        transcript: &mut crate::crypto::Transcript,
    ) -> Result<(), Error> {
        let mut encoded = Vec::new();
        msg.encode(&mut encoded);
        transcript.update(&encoded);
        self.send_handshake(&encoded)
    }

    /// Queues the middlebox-compatibility dummy ChangeCipherSpec (RFC 8446 §D.4).
    pub fn send_ccs(&mut self) {
        frame_plaintext(ContentType::ChangeCipherSpec, &[1], &mut self.sendable);
    }

    /// Queues a warning alert (TLS 1.2 no_renegotiation).
    pub fn send_warning(&mut self, description: AlertDescription) {
        let alert = Alert {
            level: AlertLevel::Warning,
            description,
        }
        .encode();
        // A warning that cannot be sealed is dropped: the send error is fatal elsewhere.
        let _ = self.send(ContentType::Alert, &alert);
    }

    /// Starts decrypting the peer's TLS 1.2 records (at its ChangeCipherSpec).
    pub fn set_tls12_read_key(&mut self, key: RecordKey12) -> Result<(), Error> {
        if !self.joiner.is_empty() {
            return Err(Error::UnexpectedMessage(
                "handshake message spans a ChangeCipherSpec",
            ));
        }
        self.opener = Some(RecordOpener::tls12(key));
        Ok(())
    }

    /// Starts encrypting our TLS 1.2 records (after our ChangeCipherSpec).
    pub fn set_tls12_write_key(&mut self, key: RecordKey12) {
        self.sealer = Some(RecordSealer::tls12(key));
    }

    fn send_alert(&mut self, description: AlertDescription) {
        let level = match description {
            AlertDescription::CloseNotify
            | AlertDescription::UserCanceled
            | AlertDescription::NoRenegotiation => AlertLevel::Warning,
            _ => AlertLevel::Fatal,
        };
        let alert = Alert { level, description }.encode();
        // An alert that cannot be sealed is dropped: the connection is failing anyway.
        let _ = self.send(ContentType::Alert, &alert);
    }

    /// Queues a record of `typ` (fragmented at 2^14), protected if we have keys.
    pub(crate) fn send(&mut self, typ: ContentType, payload: &[u8]) -> Result<(), Error> {
        match &mut self.sealer {
            Some(sealer) => {
                for fragment in payload.chunks(MAX_PLAINTEXT) {
                    sealer.seal(typ, fragment, &mut self.sendable)?;
                }
                if payload.is_empty() {
                    sealer.seal(typ, payload, &mut self.sendable)?;
                }
                Ok(())
            }
            None => {
                frame_plaintext(typ, payload, &mut self.sendable);
                Ok(())
            }
        }
    }

    /// Starts decrypting the peer's records with `key`. A handshake message must
    /// not span a key change (RFC 8446 §5.1).
    pub fn set_read_key(&mut self, key: TrafficKey) -> Result<(), Error> {
        if !self.joiner.is_empty() {
            return Err(Error::UnexpectedMessage(
                "handshake message spans a key change",
            ));
        }
        self.opener = Some(RecordOpener::new(key));
        Ok(())
    }

    /// Starts encrypting our records with `key`.
    pub fn set_write_key(&mut self, key: TrafficKey) {
        self.sealer = Some(RecordSealer::new(key));
    }

    /// The current time from the connection's clock.
    pub fn now(&self) -> crate::config::UnixTime {
        self.clock.now()
    }

    /// Derives and installs read and write keys from traffic secrets.
    pub fn set_keys(&mut self, suite: &Suite, read: &[u8], write: &[u8]) -> Result<(), Error> {
        self.set_read_key(TrafficKey::from_secret(suite, read)?)?;
        self.set_write_key(TrafficKey::from_secret(suite, write)?);
        Ok(())
    }

    /// Marks the handshake complete and sends what the caller wrote meanwhile.
    pub fn handshake_complete(&mut self, negotiated: Negotiated) -> Result<(), Error> {
        self.negotiated = Some(negotiated);
        self.handshake_done = true;
        self.ccs_allowed = false;
        self.early_data_skip = 0;
        self.events.push_back(Event::HandshakeComplete);
        let early = mem::take(&mut self.early_plaintext);
        if !early.is_empty() {
            self.send(ContentType::ApplicationData, &early)?;
        }
        if self.we_closed {
            self.send_alert(AlertDescription::CloseNotify);
        }
        Ok(())
    }

    /// Gives back the deframer's memory once it holds no bytes, unless it is
    /// one record's worth kept for the application data that flows.
    fn settle_deframer(&mut self) {
        if self.deframer.buffered() == 0
            && (!self.app_received || self.deframer.capacity() > KEEP_CAPACITY)
        {
            self.deframer.release();
        }
    }

    /// True (and cleared) if application data arrived since the last call.
    pub fn take_data_received(&mut self) -> bool {
        mem::take(&mut self.data_received)
    }

    /// True when our write key has sealed as many records as we allow it.
    fn write_key_exhausted(&self) -> bool {
        self.sealer
            .as_ref()
            .is_some_and(|s| s.records_sealed() >= self.records_per_key)
    }

    /// True when a warning alert may be let pass: TLS 1.2 is enabled and
    /// the peer's records are not TLS 1.3 protected ones. A TLS 1.3-only
    /// endpoint treats every warning but close_notify and user_canceled as
    /// fatal from the start (RFC 8446 §6).
    fn warnings_tolerated(&self) -> bool {
        self.tls12_enabled && !self.opener.as_ref().is_some_and(|o| !o.is_tls12())
    }

    fn count_empty_record(&mut self) -> Result<(), Error> {
        self.empty_records += 1;
        if self.empty_records > MAX_EMPTY_RECORDS {
            return Err(Error::UnexpectedMessage("too many empty records"));
        }
        Ok(())
    }
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
    ///   [`Error::Internal`]; nothing is received and the connection is
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
    ///   [`Error::Internal`]; nothing is sent and the connection is otherwise
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
            State::Traffic12(_) => return Err(Error::Internal("KeyUpdate is TLS 1.3 only")),
            _ => return Err(Error::Internal("KeyUpdate before the handshake completed")),
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
            _ => Err(Error::Internal(
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

    fn check_failed(&self) -> Result<(), Error> {
        match &self.common.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, error: Error) {
        if self.common.error.is_some() {
            return;
        }
        let alert_sent = error.alert();
        if let Some(alert) = alert_sent {
            self.common.send_alert(alert);
        }
        self.common.events.push_back(Event::Fatal {
            error: error.clone(),
            alert_sent,
        });
        self.common.error = Some(error);
        self.state = State::Failed;
    }

    fn process_records(&mut self) -> Result<(), Error> {
        while !self.common.peer_closed {
            let Some(record) = self.common.deframer.next_record()? else {
                break;
            };
            let content = self.open_record(&record)?;
            if let Content::Data(range) = &content {
                self.common.take_data(&record, range.clone());
            }
            self.common.deframer.consume(&record);
            match content {
                Content::Data(_) => {}
                Content::Handshake => self.process_handshake()?,
                Content::Alert(alert) => self.process_alert(alert)?,
                Content::ChangeCipherSpec => self.process_ccs()?,
                Content::Nothing => {}
            }
        }
        self.common.settle_deframer();
        Ok(())
    }

    /// Opens one record and moves its payload where it belongs.
    fn open_record(&mut self, record: &RecordRef) -> Result<Content, Error> {
        let tls12_handshake = matches!(self.state, State::Client12(_) | State::Server12(_));
        let c = &mut self.common;
        let body = c.deframer.body_mut(record);
        let body_start = body.as_ptr() as usize;
        let (typ, payload): (ContentType, &[u8]) = match (record.typ, &mut c.opener) {
            // TLS 1.2: a real ChangeCipherSpec, for the state machine to judge.
            (ContentType::ChangeCipherSpec, None) if tls12_handshake => {
                if body != [1] {
                    return Err(Error::UnexpectedMessage("ChangeCipherSpec"));
                }
                return Ok(Content::ChangeCipherSpec);
            }
            // TLS 1.2 protects every record type once keys are in use.
            (typ, Some(opener)) if opener.is_tls12() => {
                if typ == ContentType::ChangeCipherSpec {
                    return Err(Error::UnexpectedMessage("ChangeCipherSpec"));
                }
                opener.open(&record.header, body)?
            }
            (ContentType::ChangeCipherSpec, _) => {
                if !c.ccs_allowed || body != [1] {
                    return Err(Error::UnexpectedMessage("ChangeCipherSpec"));
                }
                // Dropped, but not between the fragments of a handshake
                // message (RFC 8446 §5.1; found by fuzz/differential).
                if !c.joiner.is_empty() {
                    return Err(Error::UnexpectedMessage(
                        "record interleaved with a handshake message",
                    ));
                }
                c.count_empty_record()?;
                return Ok(Content::Nothing);
            }
            (ContentType::ApplicationData, Some(opener)) => {
                let record_len = body.len();
                match opener.open(&record.header, body) {
                    Ok(opened) => {
                        c.early_data_skip = 0;
                        opened
                    }
                    Err(Error::BadRecordMac) if c.early_data_skip > 0 => {
                        // Rejected 0-RTT data: skip it (RFC 8446 §4.2.10).
                        skip_early_data(&mut c.early_data_skip, record_len)?;
                        return Ok(Content::Nothing);
                    }
                    Err(e) => return Err(e),
                }
            }
            // Rejected 0-RTT data the client sent before our HelloRetryRequest
            // reached it: it comes before we have any key (RFC 8446 §4.2.10).
            (ContentType::ApplicationData, None) if c.early_data_skip > 0 => {
                skip_early_data(&mut c.early_data_skip, body.len())?;
                return Ok(Content::Nothing);
            }
            // A peer that failed before deriving keys may send a plaintext alert.
            (ContentType::Alert, _) => (ContentType::Alert, &*body),
            (typ, None) if typ != ContentType::ApplicationData => {
                if body.len() > MAX_PLAINTEXT {
                    return Err(Error::RecordOverflow);
                }
                (typ, &*body)
            }
            _ => return Err(Error::UnexpectedMessage("record not protected as expected")),
        };
        if typ != ContentType::Handshake && !c.joiner.is_empty() {
            return Err(Error::UnexpectedMessage(
                "record interleaved with a handshake message",
            ));
        }
        match typ {
            ContentType::Handshake => {
                c.empty_records = 0;
                c.joiner.push(payload)?;
                Ok(Content::Handshake)
            }
            // Zero-length alert fragments are forbidden (RFC 8446 §5.1, §5.4):
            // unexpected_message, padded or not, as for handshake records.
            ContentType::Alert if payload.is_empty() => {
                Err(Error::UnexpectedMessage("empty alert record"))
            }
            ContentType::Alert => Ok(Content::Alert(Alert::decode(payload)?)),
            ContentType::ApplicationData if c.handshake_done => {
                if payload.is_empty() {
                    c.count_empty_record()?;
                } else {
                    c.empty_records = 0;
                    c.data_received = true;
                    c.app_received = true;
                    // Where the payload lies in the deframer's buffer: it is
                    // moved to the plaintext buffer once `payload` is released.
                    let start = (payload.as_ptr() as usize)
                        .saturating_sub(body_start)
                        .saturating_add(record.body.start);
                    return Ok(Content::Data(start..start + payload.len()));
                }
                Ok(Content::Nothing)
            }
            _ => Err(Error::UnexpectedMessage("record type not expected now")),
        }
    }

    /// Handles the complete handshake messages gathered so far. A message's
    /// type is checked against the state as soon as it arrives, before its
    /// length or body: the wrong message is unexpected_message, however
    /// malformed (RFC 8446 §6.2; OpenSSL checks the header the same way).
    fn process_handshake(&mut self) -> Result<(), Error> {
        loop {
            if let Some(typ) = self.common.joiner.pending_type() {
                if !self.state.expects(typ) {
                    return Err(Error::UnexpectedMessage(
                        "handshake message type not expected in this state",
                    ));
                }
            }
            let Some(raw) = self.common.joiner.next_message()? else {
                return Ok(());
            };
            self.handle_message(raw)?;
        }
    }

    fn handle_message(&mut self, raw: RawHandshake) -> Result<(), Error> {
        if matches!(
            self.state,
            State::Client12(_) | State::Server12(_) | State::Traffic12(_)
        ) {
            return self.handle_message12(raw);
        }
        let msg = HandshakeMessage::decode(raw.typ, raw.body())?;
        // RFC 8446 §5.1: a ClientHello or ServerHello must end its record, a
        // HelloRetryRequest too (found by fuzz/differential: a key change checks
        // this for the other hellos, but after a retry no key changes).
        if matches!(
            msg,
            HandshakeMessage::ClientHello(_) | HandshakeMessage::HelloRetryRequest(_)
        ) && !self.common.joiner.is_empty()
        {
            return Err(Error::UnexpectedMessage(
                "hello does not end at a record boundary",
            ));
        }
        let common = &mut self.common;
        self.state = match mem::replace(&mut self.state, State::Failed) {
            State::Client(s) => match s.handle(common, msg, &raw.encoded)? {
                client::Next::Handshaking(s) => State::Client(Box::new(s)),
                client::Next::Traffic(t) => State::Traffic(Box::new(t)),
                client::Next::Tls12(s) => State::Client12(Box::new(s)),
            },
            State::Server(s) => {
                // A ClientHello has arrived: dummy ChangeCipherSpecs may follow.
                common.ccs_allowed = true;
                match s.handle(common, msg, &raw.encoded)? {
                    server::Next::Handshaking(s) => State::Server(Box::new(s)),
                    server::Next::Traffic(t) => State::Traffic(Box::new(t)),
                    server::Next::Tls12(s) => State::Server12(Box::new(s)),
                }
            }
            State::Traffic(mut traffic) => {
                traffic.handle(common, msg)?;
                State::Traffic(traffic)
            }
            State::Failed => return Err(Error::Internal("message after failure")),
            other => other,
        };
        Ok(())
    }

    /// A handshake message in a TLS 1.2 connection.
    fn handle_message12(&mut self, raw: RawHandshake) -> Result<(), Error> {
        // RFC 5246 §7.4.1.1: a client ignores a HelloRequest while it
        // negotiates, and leaves it out of the transcript.
        if raw.typ == HandshakeType::HelloRequest && matches!(self.state, State::Client12(_)) {
            return match raw.body() {
                [] => Ok(()),
                _ => Err(Error::Decode("hello_request with a body")),
            };
        }
        let msg = Message12::decode(raw.typ, raw.body())?;
        let common = &mut self.common;
        self.state = match mem::replace(&mut self.state, State::Failed) {
            State::Client12(s) => match s.handle(common, msg, &raw.encoded)? {
                client12::Next12::Handshaking(s) => State::Client12(Box::new(s)),
                client12::Next12::Traffic(t) => State::Traffic12(Box::new(t)),
            },
            State::Server12(s) => match s.handle(common, msg, &raw.encoded)? {
                server12::Next12::Handshaking(s) => State::Server12(Box::new(s)),
                server12::Next12::Traffic(t) => State::Traffic12(Box::new(t)),
            },
            State::Traffic12(mut traffic) => {
                traffic.handle(common, msg)?;
                State::Traffic12(traffic)
            }
            _ => return Err(Error::Internal("TLS 1.2 message in another state")),
        };
        Ok(())
    }

    /// A TLS 1.2 ChangeCipherSpec: the state machine decides if it is expected.
    fn process_ccs(&mut self) -> Result<(), Error> {
        let common = &mut self.common;
        self.state = match mem::replace(&mut self.state, State::Failed) {
            State::Client12(s) => State::Client12(Box::new(s.handle_ccs(common)?)),
            State::Server12(s) => State::Server12(Box::new(s.handle_ccs(common)?)),
            _ => return Err(Error::UnexpectedMessage("ChangeCipherSpec")),
        };
        Ok(())
    }

    fn process_alert(&mut self, alert: Alert) -> Result<(), Error> {
        match alert.description {
            AlertDescription::CloseNotify if self.common.handshake_done => {
                self.common.peer_closed = true;
                self.common.events.push_back(Event::PeerClosed);
                Ok(())
            }
            AlertDescription::UserCanceled => self.common.count_empty_record(),
            // TLS 1.2 lets the connection go on after a warning (RFC 5246
            // §7.2; e.g. a server's unrecognized_name, RFC 6066 §3), counted
            // against the empty-record budget. TLS 1.3 treats every alert
            // but close_notify and user_canceled as fatal whatever its level
            // (RFC 8446 §6): once records are TLS 1.3 ones, or when TLS 1.3
            // is all we speak.
            other
                if other != AlertDescription::CloseNotify
                    && alert.level == AlertLevel::Warning
                    && self.common.warnings_tolerated() =>
            {
                self.common.count_empty_record()
            }
            other => Err(Error::AlertReceived(other)),
        }
    }
}

/// Counts a skipped record of rejected 0-RTT data against `budget`. More
/// than the budget is unexpected_message, as OpenSSL, BoringSSL and rustls
/// answer it. The budget stays above zero while skipping, so that the record
/// that exceeds it is told apart from a record that merely fails to decrypt.
fn skip_early_data(budget: &mut usize, record_len: usize) -> Result<(), Error> {
    if record_len > *budget {
        return Err(Error::UnexpectedMessage("too much early data"));
    }
    *budget = (*budget - record_len).max(1);
    Ok(())
}

impl Common {
    /// Moves opened application data (at `range` of the deframer's buffer,
    /// inside `record`) to the plaintext buffer. When nothing is waiting to
    /// be read and the record is the last bytes received — the usual case —
    /// the two buffers trade places instead of the data being copied; each
    /// keeps its initialised memory, so the next receive into the buffer
    /// given to the deframer does not zero it again.
    fn take_data(&mut self, record: &RecordRef, range: core::ops::Range<usize>) {
        if self.plaintext_taken == self.plaintext.len() && self.deframer.ends_with(record) {
            self.plaintext.clear();
            let mut buf = self.deframer.swap_buffer(mem::take(&mut self.plaintext));
            buf.truncate(range.end);
            self.plaintext = buf;
            self.plaintext_taken = range.start.min(self.plaintext.len());
        } else if let Some(data) = self.deframer.slice(range) {
            self.plaintext.extend_from_slice(data);
        }
    }
}

/// What a record turned out to carry, once its payload was moved out.
enum Content {
    /// Application data, at this range of the deframer's buffer.
    Data(core::ops::Range<usize>),
    Handshake,
    Alert(Alert),
    /// A TLS 1.2 ChangeCipherSpec.
    ChangeCipherSpec,
    Nothing,
}
