//! The state every handshake and the record layer share, one per
//! connection: record protection (where the handshakes install keys:
//! [`Common::set_handshake_keys`] for TLS 1.3, [`Common::set_tls12_read_key`] and
//! [`Common::set_tls12_write_key`] for TLS 1.2), the send and receive
//! buffers, events for the caller, and what was negotiated. The state
//! machines in `client/` and `server/` (and the shared pieces in `tls13/`
//! and `tls12/`) write to it; `conn::dispatch` feeds it records.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::mem;

use crate::config::Clock;
use crate::crypto::{RecordKey12, Suite, TrafficKey};
use crate::error::Error;
use crate::keylog::{self, KeyLog};
use crate::msgs::alert::{Alert, AlertLevel};
use crate::msgs::enums::{AlertDescription, CipherSuite, ContentType, NamedGroup, ProtocolVersion};
use crate::msgs::handshake::HandshakeMessage;
use crate::record::buffer::RecordBuffer;
use crate::record::deframe::{Deframer, RecordRef};
use crate::record::join::HandshakeJoiner;
use crate::record::protect::{frame_plaintext, RecordOpener, RecordSealer};
use crate::record::MAX_PLAINTEXT;
use crate::tls13::key_schedule::HandshakeTrafficSecrets;

/// The capacity a flight's buffer starts with (a server's certificate
/// flight usually fits; a longer chain grows it).
const FLIGHT_CAPACITY: usize = 4096;

/// Something the caller may want to react to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
        /// The alert queued in [`crate::Connection::pending_tls`], if any.
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
pub(super) const KEEP_CAPACITY: usize = crate::record::HEADER_LEN + crate::record::MAX_CIPHERTEXT;

/// Consecutive records carrying nothing (dummy ChangeCipherSpec, empty
/// application data) accepted before the peer is judged to be flooding us.
const MAX_EMPTY_RECORDS: u32 = 32;

/// Consecutive warning alerts (TLS 1.2 warnings, user_canceled in either
/// version) accepted before the peer is judged to be flooding us: BoringSSL's
/// limit (its runner sends 4 and expects them to pass, 5 to fail).
const MAX_WARNING_ALERTS: u32 = 4;

/// Everything the state machines act on: record protection, buffers, events.
pub(crate) struct Common {
    pub side: Side,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) deframer: Deframer,
    pub(super) joiner: HandshakeJoiner,
    pub(super) opener: Option<RecordOpener>,
    pub(super) sealer: Option<RecordSealer>,
    /// Records to send, sealed in place.
    pub(crate) sendable: RecordBuffer,
    pub(super) sendable_taken: usize,
    /// Received application data; trades places with the deframer's buffer.
    pub(crate) plaintext: RecordBuffer,
    pub(super) plaintext_taken: usize,
    pub(super) early_plaintext: Vec<u8>,
    pub(super) events: VecDeque<Event>,
    pub negotiated: Option<Negotiated>,
    pub(super) handshake_done: bool,
    pub(super) peer_closed: bool,
    pub(super) we_closed: bool,
    /// Dummy ChangeCipherSpec records are dropped from the first ClientHello
    /// until the peer's Finished (RFC 8446 §5); before it they are
    /// unexpected_message. A client has sent its ClientHello from the start.
    pub ccs_allowed: bool,
    pub(super) empty_records: u32,
    /// Consecutive warning alerts received (reset with `empty_records`).
    pub(super) warning_alerts: u32,
    /// TLS 1.2 is among our versions (warning alerts may then pass).
    pub(super) tls12_enabled: bool,
    /// Bytes of undecryptable records (rejected 0-RTT data) a server may still skip.
    pub early_data_skip: usize,
    /// Set once we answered a KeyUpdate request; cleared when we send data.
    pub key_update_answered: bool,
    /// Set when application data arrives; read (and cleared) by the KeyUpdate
    /// flood check.
    pub(super) data_received: bool,
    /// Application data has been sent / received: from then on drained
    /// buffers of up to [`KEEP_CAPACITY`] are kept for reuse.
    pub(super) app_sent: bool,
    pub(super) app_received: bool,
    /// Records sealed under one key before we move to the next with KeyUpdate.
    pub(crate) records_per_key: u64,
    /// The handshake messages of a flight being written
    /// ([`Common::begin_flight`]), sealed together at its end.
    flight: Option<Vec<u8>>,
    pub(super) error: Option<Error>,
    /// Where the session secrets go, if anywhere ([`crate::keylog`]).
    pub(super) key_log: Option<Arc<dyn KeyLog>>,
    /// The ClientHello's random, naming the session in the key log: set by
    /// the client when it writes its hello, by the server when it reads one.
    pub(crate) client_random: [u8; 32],
}

impl Common {
    pub(super) fn new(side: Side, clock: Arc<dyn Clock>) -> Self {
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
            warning_alerts: 0,
            tls12_enabled: false,
            early_data_skip: 0,
            key_update_answered: false,
            data_received: false,
            app_sent: false,
            app_received: false,
            records_per_key: RECORDS_PER_KEY,
            flight: None,
            error: None,
            key_log: None,
            client_random: [0; 32],
        }
    }

    /// Queues a handshake message (already encoded), protected if we have keys.
    pub(crate) fn send_handshake(&mut self, encoded: &[u8]) -> Result<(), Error> {
        match &mut self.flight {
            Some(flight) => {
                flight.extend_from_slice(encoded);
                Ok(())
            }
            None => self.send(ContentType::Handshake, encoded),
        }
    }

    /// From here to [`Common::end_flight`], handshake messages are gathered
    /// and then sealed together, as many to a record as fit (RFC 8446 §5.1
    /// lets messages share records): a TLS 1.3 encrypted flight goes out in
    /// as few records as its size allows (BoGo's
    /// PackedEncryptedHandshake-TLS13). No key may change in between.
    pub(crate) fn begin_flight(&mut self) {
        self.flight = Some(Vec::with_capacity(FLIGHT_CAPACITY));
    }

    /// Seals the messages gathered since [`Common::begin_flight`].
    pub(crate) fn end_flight(&mut self) -> Result<(), Error> {
        match self.flight.take() {
            Some(flight) if !flight.is_empty() => self.send(ContentType::Handshake, &flight),
            _ => Ok(()),
        }
    }

    /// Queues the client's first ClientHello (record version TLS 1.0, see
    /// [`crate::record::protect::frame_initial_hello`]).
    pub(crate) fn send_initial_hello(&mut self, encoded: &[u8]) {
        crate::record::protect::frame_initial_hello(encoded, &mut self.sendable);
    }

    /// Encodes, adds to `transcript`, and queues a handshake message.
    pub(crate) fn send_message(
        &mut self,
        msg: &HandshakeMessage,
        transcript: &mut crate::crypto::Transcript,
    ) -> Result<(), Error> {
        // Inside a flight the message is encoded straight into the flight's
        // buffer and hashed from there: no copy of its own.
        if let Some(flight) = &mut self.flight {
            let start = flight.len();
            msg.encode(flight);
            transcript.update(flight.get(start..).unwrap_or_default());
            return Ok(());
        }
        let encoded = msg.to_vec();
        transcript.update(&encoded);
        self.send(ContentType::Handshake, &encoded)
    }

    /// Queues the middlebox-compatibility dummy ChangeCipherSpec (RFC 8446 §D.4).
    pub(crate) fn send_ccs(&mut self) {
        frame_plaintext(ContentType::ChangeCipherSpec, &[1], &mut self.sendable);
    }

    /// Queues a warning alert (TLS 1.2 no_renegotiation).
    pub(crate) fn send_warning(&mut self, description: AlertDescription) {
        let alert = Alert {
            level: AlertLevel::Warning,
            description,
        }
        .encode();
        // A warning that cannot be sealed is dropped: the send error is fatal elsewhere.
        let _ = self.send(ContentType::Alert, &alert);
    }

    /// Starts decrypting the peer's TLS 1.2 records (at its ChangeCipherSpec).
    pub(crate) fn set_tls12_read_key(&mut self, key: RecordKey12) -> Result<(), Error> {
        if !self.joiner.is_empty() {
            return Err(Error::UnexpectedMessage(
                "handshake message spans a ChangeCipherSpec",
            ));
        }
        self.opener = Some(RecordOpener::tls12(key));
        Ok(())
    }

    /// Starts encrypting our TLS 1.2 records (after our ChangeCipherSpec).
    pub(crate) fn set_tls12_write_key(&mut self, key: RecordKey12) {
        self.sealer = Some(RecordSealer::tls12(key));
    }

    pub(super) fn send_alert(&mut self, description: AlertDescription) {
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
    pub(crate) fn set_read_key(&mut self, key: TrafficKey) -> Result<(), Error> {
        if !self.joiner.is_empty() {
            return Err(Error::UnexpectedMessage(
                "handshake message spans a key change",
            ));
        }
        self.opener = Some(RecordOpener::new(key));
        Ok(())
    }

    /// Starts encrypting our records with `key`.
    pub(crate) fn set_write_key(&mut self, key: TrafficKey) {
        debug_assert!(self.flight.is_none(), "a key change inside a flight");
        self.sealer = Some(RecordSealer::new(key));
    }

    /// The current time from the connection's clock.
    pub(crate) fn now(&self) -> crate::config::UnixTime {
        self.clock.now()
    }

    /// Installs the TLS 1.3 handshake keys: this side writes with its own
    /// secret and reads with the peer's.
    pub(crate) fn set_handshake_keys(
        &mut self,
        suite: &Suite,
        secrets: &HandshakeTrafficSecrets,
    ) -> Result<(), Error> {
        self.log_secret(
            keylog::CLIENT_HANDSHAKE_TRAFFIC_SECRET,
            secrets.client().as_ref(),
        );
        self.log_secret(
            keylog::SERVER_HANDSHAKE_TRAFFIC_SECRET,
            secrets.server().as_ref(),
        );
        let (read, write) = match self.side {
            Side::Client => (secrets.server(), secrets.client()),
            Side::Server => (secrets.client(), secrets.server()),
        };
        self.set_read_key(TrafficKey::from_secret(suite, read.as_ref())?)?;
        self.set_write_key(TrafficKey::from_secret(suite, write.as_ref())?);
        Ok(())
    }

    /// Hands `secret` to the configured key log, if any, under `label`.
    pub(crate) fn log_secret(&self, label: &str, secret: &[u8]) {
        if let Some(log) = &self.key_log {
            log.log(label, &self.client_random, secret);
        }
    }

    /// Marks the handshake complete and sends what the caller wrote meanwhile.
    pub(crate) fn handshake_complete(&mut self, negotiated: Negotiated) -> Result<(), Error> {
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
    pub(super) fn settle_deframer(&mut self) {
        if self.deframer.buffered() == 0
            && (!self.app_received || self.deframer.capacity() > KEEP_CAPACITY)
        {
            self.deframer.release();
        }
    }

    /// True (and cleared) if application data arrived since the last call.
    pub(crate) fn take_data_received(&mut self) -> bool {
        mem::take(&mut self.data_received)
    }

    /// True when our write key has sealed as many records as we allow it.
    pub(super) fn write_key_exhausted(&self) -> bool {
        self.sealer
            .as_ref()
            .is_some_and(|s| s.records_sealed() >= self.records_per_key)
    }

    /// True when a warning alert may be let pass: TLS 1.2 is enabled and
    /// the peer's records are not TLS 1.3 protected ones. A TLS 1.3-only
    /// endpoint treats every warning but close_notify and user_canceled as
    /// fatal from the start (RFC 8446 §6).
    pub(super) fn warnings_tolerated(&self) -> bool {
        self.tls12_enabled && self.opener.as_ref().is_none_or(|o| o.is_tls12())
    }

    pub(super) fn count_empty_record(&mut self) -> Result<(), Error> {
        self.empty_records += 1;
        if self.empty_records > MAX_EMPTY_RECORDS {
            return Err(Error::UnexpectedMessage("too many empty records"));
        }
        Ok(())
    }

    /// Counts a warning alert; more than [`MAX_WARNING_ALERTS`] in a row
    /// (without a handshake message or data between them) is
    /// unexpected_message.
    pub(super) fn count_warning_alert(&mut self) -> Result<(), Error> {
        self.warning_alerts += 1;
        if self.warning_alerts > MAX_WARNING_ALERTS {
            return Err(Error::UnexpectedMessage("too many warning alerts"));
        }
        Ok(())
    }
}

impl Common {
    /// Moves opened application data (at `range` of the deframer's buffer,
    /// inside `record`) to the plaintext buffer. When nothing is waiting to
    /// be read and the record is the last bytes received — the usual case —
    /// the two buffers trade places instead of the data being copied; each
    /// keeps its initialised memory, so the next receive into the buffer
    /// given to the deframer does not zero it again.
    pub(super) fn take_data(&mut self, record: &RecordRef, range: core::ops::Range<usize>) {
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
