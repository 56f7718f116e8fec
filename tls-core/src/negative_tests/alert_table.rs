//! The alert for each kind of malformed or misplaced input, in each state of
//! both sides and both versions, as one table (RFC 8446 §6.2, RFC 5246 §7.2):
//! a handshake message of a type the state does not take is
//! unexpected_message whatever its body; a message of the right type that
//! cannot be decoded is decode_error; zero-length alert and handshake
//! fragments, protected or interleaved ChangeCipherSpecs, unknown record
//! types and records of the wrong kind for the keys in use are
//! unexpected_message; oversized records record_overflow; a bad
//! authentication tag bad_record_mac.
//!
//! Each state is reached with real peers (or the scripted TLS 1.3 server,
//! for the client's encrypted handshake states), and each input is framed
//! as the peer would send it at that point: in plaintext, or protected with
//! the peer's current key.
//!
//! Where the RFCs name no alert and OpenSSL answers otherwise (tests/tests/
//! alerts_openssl.rs compares the cases where they agree), we keep ours:
//! an alert record of 1 or 3 bytes is decode_error (the message's length is
//! wrong; BoringSSL agrees, OpenSSL says unexpected_message); a record
//! version other than 3.x is decode_error (fuzz/DISAGREEMENTS.md D14; OpenSSL
//! says protocol_version, or nothing on a first record); a handshake message
//! over our 64 KiB limit is decode_error (OpenSSL: illegal_parameter); an
//! empty handshake record before the ClientHello is unexpected_message
//! (OpenSSL waits for more).

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::{client_and_server, test_cert, ScriptedServer};
use crate::config::{CertifiedKey, ClientConfig, ServerConfig};
use crate::conn::{Connection, Event};
use crate::error::Error;
use crate::msgs::enums::{AlertDescription, ContentType, HandshakeType, ProtocolVersion};
use crate::record::buffer::RecordBuffer;
use crate::record::protect::frame_plaintext;
use crate::record::HEADER_LEN;

use AlertDescription as A;
use HandshakeType as T;

/// Every handshake type, known and not.
const ALL_TYPES: [HandshakeType; 17] = [
    T::HelloRequest,
    T::ClientHello,
    T::ServerHello,
    T::NewSessionTicket,
    T::EndOfEarlyData,
    T::EncryptedExtensions,
    T::Certificate,
    T::ServerKeyExchange,
    T::CertificateRequest,
    T::ServerHelloDone,
    T::CertificateVerify,
    T::ClientKeyExchange,
    T::Finished,
    T::KeyUpdate,
    T::MessageHash,
    T::Unknown(3),
    T::Unknown(99),
];

/// Who frames the injected records.
#[allow(clippy::large_enum_variant)] // a few per test
enum Peer {
    /// Nothing is protected yet.
    Plain,
    /// A real connection: its current write key protects them.
    Conn(Connection),
    /// The scripted TLS 1.3 server, with its handshake key.
    Scripted(ScriptedServer),
}

impl Peer {
    /// One record of `typ` carrying `payload`, as this peer would send it.
    fn record(&mut self, typ: ContentType, payload: &[u8]) -> Vec<u8> {
        let mut out = RecordBuffer::new();
        match self {
            // frame_plaintext sends nothing for nothing: a header by hand.
            Peer::Plain if payload.is_empty() => return vec![typ.to_wire(), 3, 3, 0, 0],
            Peer::Plain => frame_plaintext(typ, payload, &mut out),
            Peer::Conn(conn) => {
                let pending = conn.pending_tls().len();
                conn.consume_tls(pending);
                conn.common.send(typ, payload).unwrap();
                return conn.pending_tls().to_vec();
            }
            Peer::Scripted(s) => s.sealer.seal(typ, payload, &mut out).unwrap(),
        }
        out.as_slice().to_vec()
    }

    fn is_protected(&self) -> bool {
        !matches!(self, Peer::Plain)
    }
}

/// A connection in a known state, the peer that talks to it, and the
/// handshake types that state takes.
struct At {
    name: &'static str,
    conn: Connection,
    peer: Peer,
    accepts: &'static [HandshakeType],
    /// The handshake is complete: application data is fine.
    traffic: bool,
}

/// The records in `wire`, each whole.
fn records(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = wire;
    while rest.len() >= HEADER_LEN {
        let len = HEADER_LEN + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    out
}

/// Runs a pair until neither has anything to send.
fn pump(client: &mut Connection, server: &mut Connection) {
    crate::support::pump(client, server).unwrap();
}

/// A client and server of `version` (none: both versions), TLS 1.2 without
/// tickets or session cache so that its last flight is only CCS + Finished.
pub(super) fn pair(version: Option<ProtocolVersion>) -> (Connection, Connection) {
    pair_with(version, false)
}

/// [`pair`], with client certificates (the server's own, pinned) when `mtls`.
fn pair_with(version: Option<ProtocolVersion>, mtls: bool) -> (Connection, Connection) {
    let (cert, key) = test_cert();
    let mut cc = ClientConfig::with_pinned_certs(vec![cert.clone()]);
    let mut sc_verifier: Option<Arc<dyn crate::verify::ClientCertVerifier>> = None;
    if mtls {
        let (client_cert, client_key) = test_cert();
        let pinned = crate::verify::PinnedCertVerifier::new(vec![client_cert.clone()]);
        cc.client_cert = Some(Arc::new(
            CertifiedKey::new(vec![client_cert], client_key).unwrap(),
        ));
        sc_verifier = Some(Arc::new(pinned));
    }
    let mut sc = ServerConfig::with_single_cert(CertifiedKey::new(vec![cert], key).unwrap());
    if let Some(v) = version {
        cc.versions = vec![v];
        sc.versions = vec![v];
    }
    sc.ticketer = None;
    sc.session_cache = None;
    sc.client_verifier = sc_verifier;
    (
        Connection::client(Arc::new(cc), Some("localhost")).unwrap(),
        Connection::server(Arc::new(sc)),
    )
}

fn at(
    name: &'static str,
    conn: Connection,
    peer: Peer,
    accepts: &'static [HandshakeType],
    traffic: bool,
) -> At {
    At {
        name,
        conn,
        peer,
        accepts,
        traffic,
    }
}

/// State `index` of the table, freshly reached; `None` past the last.
fn state(index: usize) -> Option<At> {
    Some(match index {
        0 | 1 => {
            // Before any message: the server waits for a ClientHello, the
            // client (having sent its ClientHello) for a ServerHello.
            let (mut client, server) = pair(None);
            crate::support::take(&mut client);
            if index == 0 {
                at(
                    "server, start",
                    server,
                    Peer::Plain,
                    &[T::ClientHello],
                    false,
                )
            } else {
                at(
                    "client, after ClientHello",
                    client,
                    Peer::Plain,
                    &[T::ServerHello],
                    false,
                )
            }
        }
        2..=5 => client13(index - 2),
        6 => {
            // The TLS 1.3 server after its flight: the client's records are
            // protected with its handshake key once it has the ServerHello.
            let (mut client, mut server) = pair(Some(ProtocolVersion::Tls13));
            server.feed(&crate::support::take(&mut client)).unwrap();
            let flight = crate::support::take(&mut server);
            client.feed(&records(&flight)[0]).unwrap();
            crate::support::take(&mut client);
            at(
                "server 1.3, expects Finished",
                server,
                Peer::Conn(client),
                &[T::Finished],
                false,
            )
        }
        7..=10 => client12(index - 7),
        11 | 12 => server12(index - 11),
        13..=16 => traffic(index - 13),
        17..=19 => client_certificates(index - 17),
        _ => return None,
    })
}

/// The TLS 1.3 client's encrypted states, with the scripted server.
fn client13(step: usize) -> At {
    let steps: [(&str, &[HandshakeType]); 4] = [
        (
            "client 1.3, expects EncryptedExtensions",
            &[T::EncryptedExtensions],
        ),
        (
            "client 1.3, expects Certificate",
            &[T::Certificate, T::CertificateRequest],
        ),
        (
            "client 1.3, expects CertificateVerify",
            &[T::CertificateVerify],
        ),
        ("client 1.3, expects Finished", &[T::Finished]),
    ];
    let (mut client, mut server, mut flight) = client_and_server();
    let messages = [
        ScriptedServer::encrypted_extensions,
        ScriptedServer::certificate,
        ScriptedServer::certificate_verify,
    ];
    for message in &messages[..step] {
        flight.extend(message(&mut server));
    }
    client.feed(&flight).unwrap();
    // The compatibility ChangeCipherSpec, queued with the ServerHello.
    crate::support::take(&mut client);
    let (name, accepts) = steps[step];
    at(name, client, Peer::Scripted(server), accepts, false)
}

/// The TLS 1.2 client, message by message through the server's flight.
fn client12(step: usize) -> At {
    let steps: [(&str, &[HandshakeType]); 4] = [
        (
            "client 1.2, expects Certificate",
            &[T::HelloRequest, T::Certificate],
        ),
        (
            "client 1.2, expects ServerKeyExchange",
            &[T::HelloRequest, T::ServerKeyExchange],
        ),
        (
            "client 1.2, expects ServerHelloDone",
            &[T::HelloRequest, T::CertificateRequest, T::ServerHelloDone],
        ),
        ("client 1.2, expects ChangeCipherSpec", &[T::HelloRequest]),
    ];
    let (mut client, mut server) = pair(Some(ProtocolVersion::Tls12));
    server.feed(&crate::support::take(&mut client)).unwrap();
    let flight = super::plaintext_messages(&crate::support::take(&mut server));
    for message in &flight[..=step] {
        let mut record = RecordBuffer::new();
        frame_plaintext(ContentType::Handshake, message, &mut record);
        client.feed(record.as_slice()).unwrap();
    }
    crate::support::take(&mut client);
    let (name, accepts) = steps[step];
    at(name, client, Peer::Plain, accepts, false)
}

/// The TLS 1.2 server before and after the ClientKeyExchange.
fn server12(step: usize) -> At {
    let (mut client, mut server) = pair(Some(ProtocolVersion::Tls12));
    server.feed(&crate::support::take(&mut client)).unwrap();
    client.feed(&crate::support::take(&mut server)).unwrap();
    for record in &records(&crate::support::take(&mut client))[..step] {
        server.feed(record).unwrap();
    }
    if step == 0 {
        at(
            "server 1.2, expects ClientKeyExchange",
            server,
            Peer::Plain,
            &[T::ClientKeyExchange],
            false,
        )
    } else {
        at(
            "server 1.2, expects ChangeCipherSpec",
            server,
            Peer::Plain,
            &[],
            false,
        )
    }
}

/// The servers that asked for a client certificate: TLS 1.3 waiting for the
/// client's Certificate (protected with the client's handshake key), TLS 1.2
/// waiting for its Certificate and then its CertificateVerify.
fn client_certificates(which: usize) -> At {
    if which == 0 {
        let (mut client, mut server) = pair_with(Some(ProtocolVersion::Tls13), true);
        server.feed(&crate::support::take(&mut client)).unwrap();
        let flight = crate::support::take(&mut server);
        client.feed(&records(&flight)[0]).unwrap();
        crate::support::take(&mut client);
        return at(
            "server 1.3 with client certificates, expects Certificate",
            server,
            Peer::Conn(client),
            &[T::Certificate],
            false,
        );
    }
    let (mut client, mut server) = pair_with(Some(ProtocolVersion::Tls12), true);
    server.feed(&crate::support::take(&mut client)).unwrap();
    client.feed(&crate::support::take(&mut server)).unwrap();
    // The client's flight: Certificate, ClientKeyExchange, CertificateVerify, ...
    let fed = if which == 1 { 0 } else { 2 };
    for record in &records(&crate::support::take(&mut client))[..fed] {
        server.feed(record).unwrap();
    }
    if which == 1 {
        at(
            "server 1.2 with client certificates, expects Certificate",
            server,
            Peer::Plain,
            &[T::Certificate],
            false,
        )
    } else {
        at(
            "server 1.2 with client certificates, expects CertificateVerify",
            server,
            Peer::Plain,
            &[T::CertificateVerify],
            false,
        )
    }
}

/// After the handshake, each side with the other as its peer.
fn traffic(which: usize) -> At {
    let version = if which < 2 {
        ProtocolVersion::Tls13
    } else {
        ProtocolVersion::Tls12
    };
    let (mut client, mut server) = pair(Some(version));
    pump(&mut client, &mut server);
    match which {
        0 => at(
            "client 1.3, after the handshake",
            client,
            Peer::Conn(server),
            &[T::NewSessionTicket, T::KeyUpdate],
            true,
        ),
        1 => at(
            "server 1.3, after the handshake",
            server,
            Peer::Conn(client),
            &[T::KeyUpdate],
            true,
        ),
        2 => at(
            "client 1.2, after the handshake",
            client,
            Peer::Conn(server),
            &[T::HelloRequest],
            true,
        ),
        _ => at(
            "server 1.2, after the handshake",
            server,
            Peer::Conn(client),
            &[T::ClientHello],
            true,
        ),
    }
}

/// Input for one case: records built by the state's peer.
type Input = fn(&mut Peer) -> Vec<u8>;

/// The record-layer rows, the same answer in every state: (what, input,
/// alert). Inputs whose answer depends on the state (application data, a
/// bad tag) are in the test itself.
fn record_rows() -> Vec<(&'static str, Input, AlertDescription)> {
    vec![
        (
            "zero-length alert",
            |p| p.record(ContentType::Alert, &[]),
            A::UnexpectedMessage,
        ),
        // Content type 0 makes the 1.3 sealer add a zero after the inner
        // type 21: a padded empty alert (elsewhere: an unknown record type).
        (
            "zero-length alert, padded",
            |p| p.record(ContentType::from_wire(0), &[21, 0, 0]),
            A::UnexpectedMessage,
        ),
        (
            "all-padding record",
            |p| p.record(ContentType::from_wire(0), &[0, 0]),
            A::UnexpectedMessage,
        ),
        (
            "one-byte alert",
            |p| p.record(ContentType::Alert, &[2]),
            A::DecodeError,
        ),
        (
            "three-byte alert",
            |p| p.record(ContentType::Alert, &[2, 10, 0]),
            A::DecodeError,
        ),
        (
            "zero-length handshake record",
            |p| p.record(ContentType::Handshake, &[]),
            A::UnexpectedMessage,
        ),
        (
            "alert inside a handshake message",
            |p| {
                let mut wire = p.record(ContentType::Handshake, &[20, 0]);
                wire.extend(p.record(ContentType::Alert, &[2, 40]));
                wire
            },
            A::UnexpectedMessage,
        ),
        (
            "ChangeCipherSpec inside a handshake message",
            |p| {
                let mut wire = p.record(ContentType::Handshake, &[20, 0]);
                wire.extend(p.record(ContentType::ChangeCipherSpec, &[1]));
                wire
            },
            A::UnexpectedMessage,
        ),
        (
            "ChangeCipherSpec of value 2",
            |p| p.record(ContentType::ChangeCipherSpec, &[2]),
            A::UnexpectedMessage,
        ),
        (
            "ChangeCipherSpec of two bytes",
            |p| p.record(ContentType::ChangeCipherSpec, &[1, 1]),
            A::UnexpectedMessage,
        ),
        (
            "empty ChangeCipherSpec",
            |p| p.record(ContentType::ChangeCipherSpec, &[]),
            A::UnexpectedMessage,
        ),
        (
            "unknown record type",
            |p| p.record(ContentType::from_wire(99), &[1]),
            A::UnexpectedMessage,
        ),
        (
            "record over 2^14 + 256 bytes",
            |_| {
                let mut wire = vec![23, 3, 3, 0x41, 0x01];
                wire.resize(HEADER_LEN + 0x4101, 0);
                wire
            },
            A::RecordOverflow,
        ),
        // Deliberate (fuzz/DISAGREEMENTS.md D14): not TLS at all.
        (
            "record version 2.0",
            |_| vec![22, 2, 0, 0, 1, 0],
            A::DecodeError,
        ),
    ]
}

/// Feeds `input` and checks the error's alert is `want`, sent on the wire,
/// and that the connection stays failed.
fn check(at: &mut At, what: &str, input: &[u8], want: AlertDescription) -> Result<(), String> {
    let label = format!("{}: {what}", at.name);
    let got = match at.conn.feed(input) {
        Ok(()) => return Err(format!("{label}: accepted, want {want:?}")),
        Err(e) => e,
    };
    if got.alert() != Some(want) {
        return Err(format!("{label}: {got} ({:?}), want {want:?}", got.alert()));
    }
    let mut sent = None;
    while let Some(event) = at.conn.next_event() {
        if let Event::Fatal { alert_sent, .. } = event {
            sent = alert_sent;
        }
    }
    if sent != Some(want) || at.conn.pending_tls().is_empty() {
        return Err(format!(
            "{label}: alert on the wire {sent:?}, want {want:?}"
        ));
    }
    if at.conn.feed(&[]) != Err(got) {
        return Err(format!("{label}: connection not poisoned"));
    }
    Ok(())
}

#[test]
fn each_state_answers_each_malformed_input_with_the_rfc_alert() {
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut states = 0;
    for index in 0.. {
        if state(index).is_none() {
            break;
        }
        states += 1;
        // A fresh connection per case: the first error poisons it.
        let fresh = || state(index).unwrap();

        // Every handshake type, with a one-byte body that no message
        // decodes: unexpected_message unless the state takes the type; if
        // it does, the body is malformed (a KeyUpdate value 3 is illegal).
        for typ in ALL_TYPES {
            let mut at = fresh();
            let want = match (at.accepts.contains(&typ), typ) {
                (false, _) => A::UnexpectedMessage,
                (true, T::KeyUpdate) => A::IllegalParameter,
                (true, _) => A::DecodeError,
            };
            let input = at
                .peer
                .record(ContentType::Handshake, &[typ.to_wire(), 0, 0, 1, 3]);
            cases += 1;
            failures.extend(check(&mut at, &format!("{typ:?} [03]"), &input, want).err());
            // The type is judged on its header, before the length: a huge
            // message of a type not taken here is still unexpected_message.
            if !at.accepts.contains(&typ) {
                let mut at = fresh();
                let input = at
                    .peer
                    .record(ContentType::Handshake, &[typ.to_wire(), 0xff, 0xff, 0xff]);
                cases += 1;
                failures.extend(
                    check(
                        &mut at,
                        &format!("{typ:?}, 16 MiB"),
                        &input,
                        A::UnexpectedMessage,
                    )
                    .err(),
                );
            }
        }

        for (what, input, want) in record_rows() {
            let mut at = fresh();
            let input = input(&mut at.peer);
            cases += 1;
            failures.extend(check(&mut at, what, &input, want).err());
        }

        // A fatal alert from the peer ends the connection; none is answered.
        let mut at = fresh();
        let input = at.peer.record(ContentType::Alert, &[2, 40]);
        cases += 1;
        match at.conn.feed(&input) {
            Err(Error::AlertReceived(A::HandshakeFailure)) if at.conn.pending_tls().is_empty() => {}
            other => failures.push(format!("{}: fatal alert received: {other:?}", at.name)),
        }

        // Application data before the handshake is over.
        if !fresh().traffic {
            let mut at = fresh();
            let input = at.peer.record(ContentType::ApplicationData, b"early");
            cases += 1;
            failures.extend(check(&mut at, "application data", &input, A::UnexpectedMessage).err());
        }
        // A protected record whose tag is wrong.
        if fresh().peer.is_protected() {
            let mut at = fresh();
            let mut input = at.peer.record(ContentType::Handshake, &[20, 0, 0, 0]);
            *input.last_mut().unwrap() ^= 1;
            cases += 1;
            failures.extend(check(&mut at, "bad tag", &input, A::BadRecordMac).err());
        }
    }
    assert_eq!(states, 20, "every state of the table was reached");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The three the conformance suite found, spelled out: a zero-length alert
/// (padded or not) is unexpected_message, not decode_error; a TLS 1.3
/// Finished of the wrong length is decode_error, not decrypt_error; a first
/// message that is not a ClientHello is unexpected_message, not an error
/// from decoding its body as something else.
#[test]
fn the_three_cases_the_conformance_suite_found() {
    // A zero-length alert record as a first record, and in an encrypted state.
    let (_, mut server) = pair(None);
    assert_eq!(
        server.feed(&[21, 3, 3, 0, 0]),
        Err(Error::UnexpectedMessage("empty alert record"))
    );
    let (mut client, mut scripted, sh) = client_and_server();
    client.feed(&sh).unwrap();
    let padded = scripted.record(ContentType::from_wire(0), &[21, 0, 0, 0]);
    assert_eq!(
        client.feed(&padded),
        Err(Error::UnexpectedMessage("empty alert record"))
    );

    // A Finished one byte short, and one byte long.
    for len in [31, 33] {
        let (mut client, mut server, mut flight) = client_and_server();
        flight.extend(server.encrypted_extensions());
        flight.extend(server.certificate());
        flight.extend(server.certificate_verify());
        let mut finished = vec![20, 0, 0, len as u8];
        finished.resize(4 + len, 0x5a);
        flight.extend(server.send_raw(&finished));
        assert_eq!(
            client.feed(&flight),
            Err(Error::Decode("Finished of the wrong length"))
        );
    }

    // A ServerHello (as a TLS 1.3 HelloRetryRequest would be) and a
    // Certificate with a valid-looking body, each as the first message.
    for typ in [T::ServerHello, T::Certificate, T::KeyUpdate] {
        let (_, mut server) = pair(None);
        let mut record = RecordBuffer::new();
        frame_plaintext(
            ContentType::Handshake,
            &[typ.to_wire(), 0, 0, 1, 0],
            &mut record,
        );
        assert_eq!(
            server.feed(record.as_slice()),
            Err(Error::UnexpectedMessage(
                "handshake message type not expected in this state"
            )),
            "{typ:?}"
        );
    }
}

/// The dummy ChangeCipherSpec of TLS 1.3 middlebox compatibility may come
/// only once the first ClientHello has been sent or received (RFC 8446 §5):
/// before it, a server answers unexpected_message (as OpenSSL does); a client,
/// which has sent its ClientHello, drops it; a server drops it after the
/// ClientHello.
#[test]
fn dummy_change_cipher_spec_only_after_the_client_hello() {
    let ccs = [20, 3, 3, 0, 1, 1];
    let (mut client, mut server) = pair(Some(ProtocolVersion::Tls13));
    assert_eq!(
        server.feed(&ccs),
        Err(Error::UnexpectedMessage("ChangeCipherSpec"))
    );
    let (mut client2, mut server) = pair(Some(ProtocolVersion::Tls13));
    client.feed(&ccs).unwrap();
    let mut hello = crate::support::take(&mut client2);
    hello.extend_from_slice(&ccs);
    server.feed(&hello).unwrap();
    let flight = crate::support::take(&mut server);
    client2.feed(&flight).unwrap();
    let second = crate::support::take(&mut client2);
    server.feed(&second).unwrap();
    assert!(!server.is_handshaking() && !client2.is_handshaking());
}

/// RFC 5246 §7.4.1.1: a TLS 1.2 client ignores a HelloRequest while it
/// negotiates (leaving it out of the transcript, or the Finished would not
/// verify); with a body it is malformed.
#[test]
fn tls12_client_ignores_hello_request_while_negotiating() {
    let hello_request = [22, 3, 3, 0, 4, 0, 0, 0, 0];
    let (mut client, mut server) = pair(Some(ProtocolVersion::Tls12));
    server.feed(&crate::support::take(&mut client)).unwrap();
    // After the ServerHello, which tells the version, before each message.
    for (i, message) in super::plaintext_messages(&crate::support::take(&mut server))
        .iter()
        .enumerate()
    {
        if i > 0 {
            client.feed(&hello_request).unwrap();
        }
        let mut record = RecordBuffer::new();
        frame_plaintext(ContentType::Handshake, message, &mut record);
        client.feed(record.as_slice()).unwrap();
    }
    client.feed(&hello_request).unwrap();
    server.feed(&crate::support::take(&mut client)).unwrap();
    client.feed(&crate::support::take(&mut server)).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());

    let (mut client, mut server) = pair(Some(ProtocolVersion::Tls12));
    server.feed(&crate::support::take(&mut client)).unwrap();
    client
        .feed(&records(&crate::support::take(&mut server))[0])
        .unwrap();
    assert_eq!(
        client.feed(&[22, 3, 3, 0, 5, 0, 0, 0, 1, 0]),
        Err(Error::Decode("hello_request with a body"))
    );
}

/// BoGo's PartialNewSessionTicketWithServerHelloDone: the ServerHelloDone ends
/// the server's flight, so handshake data after it in its record (here the
/// first byte of a NewSessionTicket) is unexpected_message, as BoringSSL
/// answers; the same flight with the ServerHelloDone ending its record is fine.
#[test]
fn tls12_data_after_the_server_hello_done_is_unexpected() {
    for trailing in [&[][..], &[4]] {
        let (mut client, mut server) = pair(Some(ProtocolVersion::Tls12));
        server.feed(&crate::support::take(&mut client)).unwrap();
        let mut flight = super::plaintext_messages(&crate::support::take(&mut server)).concat();
        flight.extend_from_slice(trailing);
        let mut record = RecordBuffer::new();
        frame_plaintext(ContentType::Handshake, &flight, &mut record);
        let got = client.feed(record.as_slice());
        if trailing.is_empty() {
            assert_eq!(got, Ok(()));
        } else {
            assert_eq!(
                got,
                Err(Error::UnexpectedMessage(
                    "handshake data after the end of the peer's flight"
                ))
            );
            assert!(client.pending_tls().ends_with(&[21, 3, 3, 0, 2, 2, 10]));
        }
    }
}

impl ScriptedServer {
    /// One record protected with the server's handshake key, outside the transcript.
    fn record(&mut self, typ: ContentType, payload: &[u8]) -> Vec<u8> {
        let mut out = RecordBuffer::new();
        self.sealer.seal(typ, payload, &mut out).unwrap();
        out.as_slice().to_vec()
    }
}
