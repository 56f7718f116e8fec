//! Record dispatch: each received record opened and routed by content type
//! (handshake messages to the state machine in [`State`], application
//! data to the plaintext buffer, alerts and ChangeCipherSpec handled here),
//! and a fatal error turned into an alert and [`Event::Fatal`].

use alloc::boxed::Box;
use core::mem;

use crate::client::{self, tls12 as client12};
use crate::error::Error;
use crate::msgs::alert::{Alert, AlertLevel};
use crate::msgs::enums::{AlertDescription, ContentType, HandshakeType};
use crate::msgs::handshake::HandshakeMessage;
use crate::msgs::handshake12::Message12;
use crate::record::deframe::RecordRef;
use crate::record::join::RawHandshake;
use crate::record::MAX_PLAINTEXT;
use crate::server::{self, tls12 as server12};

use super::{Connection, Event, State};

impl Connection {
    pub(super) fn check_failed(&self) -> Result<(), Error> {
        match &self.common.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub(super) fn fail(&mut self, error: Error) {
        if self.common.error.is_some() {
            return;
        }
        let alert_sent = match error {
            // TLS 1.2 has no certificate_required: a missing client
            // certificate is handshake_failure there (RFC 5246 §7.4.6). The
            // error arises only at the client's Certificate, which TLS 1.3
            // reads under its handshake keys.
            Error::CertificateRequired
                if self.common.opener.as_ref().is_none_or(|o| o.is_tls12()) =>
            {
                Some(AlertDescription::HandshakeFailure)
            }
            _ => error.alert(),
        };
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

    pub(super) fn process_records(&mut self) -> Result<(), Error> {
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
                        skip_early_data(c.joiner.is_empty(), &mut c.early_data_skip, record_len)?;
                        return Ok(Content::Nothing);
                    }
                    Err(e) => return Err(e),
                }
            }
            // Rejected 0-RTT data the client sent before our HelloRetryRequest
            // reached it: it comes before we have any key (RFC 8446 §4.2.10).
            (ContentType::ApplicationData, None) if c.early_data_skip > 0 => {
                skip_early_data(c.joiner.is_empty(), &mut c.early_data_skip, body.len())?;
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
                c.warning_alerts = 0;
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
                    c.warning_alerts = 0;
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
                client::Next::Handshaking(s) => State::Client(s),
                client::Next::Traffic(t) => State::Traffic(t),
                client::Next::Tls12(s) => State::Client12(s),
            },
            State::Server(s) => {
                // A ClientHello has arrived: dummy ChangeCipherSpecs may follow.
                common.ccs_allowed = true;
                match s.handle(common, msg, &raw.encoded)? {
                    server::Next::Handshaking(s) => State::Server(s),
                    server::Next::Traffic(t) => State::Traffic(t),
                    server::Next::Tls12(s) => State::Server12(s),
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
        // A ServerHelloDone or a Finished ends the peer's flight: the peer now
        // waits for us, so nothing may follow it in its record (BoGo's
        // PartialNewSessionTicketWithServerHelloDone; BoringSSL's
        // EXCESS_HANDSHAKE_DATA). TLS 1.3's flights end at a key change or a
        // hello, checked above and in `Common::set_read_key`.
        if matches!(
            raw.typ,
            HandshakeType::ServerHelloDone | HandshakeType::Finished
        ) && !self.common.joiner.is_empty()
        {
            return Err(Error::UnexpectedMessage(
                "handshake data after the end of the peer's flight",
            ));
        }
        let common = &mut self.common;
        self.state = match mem::replace(&mut self.state, State::Failed) {
            State::Client12(s) => match s.handle(common, msg, &raw.encoded)? {
                client12::Next12::Handshaking(s) => State::Client12(s),
                client12::Next12::Traffic(t) => State::Traffic12(t),
            },
            State::Server12(s) => match s.handle(common, msg, &raw.encoded)? {
                server12::Next12::Handshaking(s) => State::Server12(s),
                server12::Next12::Traffic(t) => State::Traffic12(t),
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
        // A level other than warning or fatal is a malformed alert:
        // illegal_parameter, as BoringSSL answers it.
        if let AlertLevel::Unknown(_) = alert.level {
            return Err(Error::IllegalParameter(
                "alert level neither warning nor fatal",
            ));
        }
        match alert.description {
            AlertDescription::CloseNotify if self.common.handshake_done => {
                self.common.peer_closed = true;
                self.common.events.push_back(Event::PeerClosed);
                Ok(())
            }
            // user_canceled is a closure alert (RFC 8446 §6.1), normally a
            // warning; sent at level fatal it ends the connection, as every
            // fatal alert does (RFC 5246 §7.2; BoringSSL and rustls agree).
            AlertDescription::UserCanceled if alert.level == AlertLevel::Warning => {
                self.common.count_warning_alert()
            }
            // TLS 1.2 lets the connection go on after a warning (RFC 5246
            // §7.2; e.g. a server's unrecognized_name, RFC 6066 §3), counted
            // against the warning budget. TLS 1.3 defines no warning but
            // close_notify and user_canceled (RFC 8446 §6: "All the alerts
            // listed in Section 6.2 MUST be sent with AlertLevel=fatal"): once
            // records are TLS 1.3 ones, or when TLS 1.3 is all we speak, a
            // warning-level alert is a malformed message and ends the
            // connection with decode_error (as BoringSSL and rustls do).
            other
                if other != AlertDescription::CloseNotify && alert.level == AlertLevel::Warning =>
            {
                if self.common.warnings_tolerated() {
                    self.common.count_warning_alert()
                } else {
                    Err(Error::Decode("warning alert in TLS 1.3"))
                }
            }
            other => Err(Error::AlertReceived(other)),
        }
    }
}

/// Counts a skipped record of rejected 0-RTT data against `budget`. More than the budget is unexpected_message, as
/// OpenSSL, BoringSSL and rustls answer it. The budget stays above zero while
/// skipping, so that the record that exceeds it is told apart from a record
/// that merely fails to decrypt. Between the fragments of a handshake message
/// (the second ClientHello; `joiner_empty` false) the record is
/// unexpected_message too (RFC 8446
/// §5.1: handshake messages are not interleaved with other record types).
fn skip_early_data(joiner_empty: bool, budget: &mut usize, record_len: usize) -> Result<(), Error> {
    if !joiner_empty {
        return Err(Error::UnexpectedMessage(
            "record interleaved with a handshake message",
        ));
    }
    if record_len > *budget {
        return Err(Error::UnexpectedMessage("too much early data"));
    }
    *budget = (*budget - record_len).max(1);
    Ok(())
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
