//! Negative tests against a scripted peer built from the crate's own codec and
//! key schedule, so that a message can be well encrypted yet wrong.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::config::ClientConfig;
use crate::conn::Connection;
use crate::crypto::{
    certificate_verify_message, tls13_suite, KeyExchange, Secret, SigningKey, Suite, TrafficKey,
    Transcript,
};
use crate::error::Error;
use crate::msgs::alert::Alert;
use crate::msgs::enums::{
    AlertDescription, CipherSuite, ContentType, HandshakeType, ProtocolVersion,
};
use crate::msgs::extensions::{KeyShareEntry, ServerExtension};
use crate::msgs::handshake::{
    CertificateEntry, CertificatePayload, CertificateVerify, EncryptedExtensions, Finished,
    HandshakeMessage, ServerHello,
};
use crate::record::buffer::RecordBuffer;
use crate::record::protect::{RecordOpener, RecordSealer};
use crate::record::HEADER_LEN;
use crate::support::cert_and_key;
use crate::tls13::key_schedule::{finished_verify_data, EarlySecret};

mod alert_table;
mod hello_table;

/// A server written by hand: it answers one ClientHello with whatever flight
/// a test composes.
struct ScriptedServer {
    suite: &'static Suite,
    transcript: Transcript,
    server_hs: Secret,
    client_hs: Secret,
    sealer: RecordSealer,
    key: SigningKey,
    cert: Vec<u8>,
}

fn test_cert() -> (Vec<u8>, SigningKey) {
    cert_and_key(&crate::support::pki(&rcgen::PKCS_ED25519))
}

/// The handshake messages in a run of unprotected records.
fn plaintext_messages(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = wire;
    while rest.len() >= HEADER_LEN {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest[0] == ContentType::Handshake.to_wire() {
            out.push(rest[HEADER_LEN..HEADER_LEN + len].to_vec());
        }
        rest = &rest[HEADER_LEN + len..];
    }
    out
}

impl ScriptedServer {
    /// Reads the client's ClientHello and returns the server and its ServerHello record.
    fn accept(client_wire: &[u8], cert: Vec<u8>, key: SigningKey) -> (Self, Vec<u8>) {
        let ch_bytes = plaintext_messages(client_wire).remove(0);
        let HandshakeMessage::ClientHello(ch) =
            HandshakeMessage::decode(HandshakeType::ClientHello, &ch_bytes[4..]).unwrap()
        else {
            panic!("not a ClientHello")
        };
        let suite = tls13_suite(CipherSuite::Tls13Aes128GcmSha256).unwrap();
        let client_share = ch.key_shares().unwrap()[0].clone();
        let (server_share, shared) = KeyExchange::respond(
            client_share.group,
            &client_share.key_exchange,
            &entropy::HostEntropy,
        )
        .unwrap();
        let sh = HandshakeMessage::ServerHello(ServerHello {
            legacy_version: 0x0303,
            random: [9; 32],
            session_id: ch.session_id.clone(),
            cipher_suite: suite.suite,
            compression_method: 0,
            extensions: vec![
                ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
                ServerExtension::KeyShare(KeyShareEntry {
                    group: client_share.group,
                    key_exchange: server_share,
                }),
            ],
        })
        .to_vec();
        let mut transcript = Transcript::new(suite.hash);
        transcript.update(&ch_bytes);
        transcript.update(&sh);
        let schedule = EarlySecret::new(suite.hash, None).into_handshake(shared.as_ref());
        let hash = transcript.current();
        let server_hs = schedule.server_traffic(hash.as_ref());
        let client_hs = schedule.client_traffic(hash.as_ref());
        let sealer = RecordSealer::new(TrafficKey::from_secret(suite, server_hs.as_ref()).unwrap());
        let mut record = RecordBuffer::new();
        crate::record::protect::frame_plaintext(ContentType::Handshake, &sh, &mut record);
        let record = record.as_slice().to_vec();
        (
            ScriptedServer {
                suite,
                transcript,
                server_hs,
                client_hs,
                sealer,
                key,
                cert,
            },
            record,
        )
    }

    /// Seals handshake bytes as one record, adding them to the transcript.
    fn send_raw(&mut self, encoded: &[u8]) -> Vec<u8> {
        self.transcript.update(encoded);
        let mut out = RecordBuffer::new();
        self.sealer
            .seal(ContentType::Handshake, encoded, &mut out)
            .unwrap();
        out.as_slice().to_vec()
    }

    fn send(&mut self, msg: HandshakeMessage) -> Vec<u8> {
        self.send_raw(&msg.to_vec())
    }

    fn encrypted_extensions(&mut self) -> Vec<u8> {
        self.send(HandshakeMessage::EncryptedExtensions(EncryptedExtensions {
            extensions: vec![],
        }))
    }

    fn certificate(&mut self) -> Vec<u8> {
        let entries = vec![CertificateEntry {
            cert: self.cert.clone(),
            extensions: vec![],
        }];
        self.send(HandshakeMessage::Certificate(CertificatePayload {
            context: vec![],
            entries,
        }))
    }

    fn certificate_verify(&mut self) -> Vec<u8> {
        let scheme = crate::msgs::enums::SignatureScheme::Ed25519;
        let signature = self
            .key
            .sign(
                scheme,
                &certificate_verify_message(true, self.transcript.current().as_ref()),
            )
            .unwrap();
        self.send(HandshakeMessage::CertificateVerify(CertificateVerify {
            scheme,
            signature,
        }))
    }

    fn finished(&mut self, corrupt: bool) -> Vec<u8> {
        let mut verify_data = finished_verify_data(
            self.suite.hash,
            self.server_hs.as_ref(),
            self.transcript.current().as_ref(),
        )
        .as_ref()
        .to_vec();
        if corrupt {
            verify_data[0] ^= 1;
        }
        self.send(HandshakeMessage::Finished(Finished { verify_data }))
    }

    /// The alert the client sent, decrypted with its handshake key.
    fn read_alert(&self, client_wire: &[u8]) -> AlertDescription {
        let mut opener = RecordOpener::new(
            TrafficKey::from_secret(self.suite, self.client_hs.as_ref()).unwrap(),
        );
        let mut rest = client_wire.to_vec();
        loop {
            let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            let mut record: Vec<u8> = rest.drain(..HEADER_LEN + len).collect();
            if record[0] != ContentType::ApplicationData.to_wire() {
                continue;
            }
            let header: [u8; HEADER_LEN] = record[..HEADER_LEN].try_into().unwrap();
            let (typ, payload) = opener.open(&header, &mut record[HEADER_LEN..]).unwrap();
            assert_eq!(typ, ContentType::Alert);
            return Alert::decode(payload).unwrap().description;
        }
    }
}

/// A client pinned to the scripted server's certificate, the server, and the
/// server's ServerHello record.
fn client_and_server() -> (Connection, ScriptedServer, Vec<u8>) {
    client_and_server_with(false)
}

/// [`client_and_server`], the client asking for OCSP stapling when `ocsp`.
fn client_and_server_with(ocsp: bool) -> (Connection, ScriptedServer, Vec<u8>) {
    let (cert, key) = test_cert();
    let mut config = ClientConfig::with_pinned_certs(vec![cert.clone()]);
    config.request_ocsp = ocsp;
    let mut client = Connection::client(Arc::new(config), Some("localhost")).unwrap();
    let hello = client.pending_tls().to_vec();
    client.consume_tls(hello.len());
    let (server, sh) = ScriptedServer::accept(&hello, cert, key);
    (client, server, sh)
}

/// Feeds the flight and checks the error, the alert on the wire, and that the
/// connection stays failed.
fn expect_failure(
    client: &mut Connection,
    server: &ScriptedServer,
    flight: &[u8],
    error: Error,
    alert: AlertDescription,
) {
    assert_eq!(client.feed(flight), Err(error.clone()));
    assert_eq!(client.error(), Some(&error));
    assert_eq!(
        client.next_event(),
        Some(crate::conn::Event::Fatal {
            error: error.clone(),
            alert_sent: Some(alert)
        })
    );
    expect_failure_after(client, server, error, alert);
}

#[test]
fn scripted_server_completes_a_handshake() {
    let (mut client, mut server, mut flight) = client_and_server();
    flight.extend(server.encrypted_extensions());
    flight.extend(server.certificate());
    flight.extend(server.certificate_verify());
    flight.extend(server.finished(false));
    client.feed(&flight).unwrap();
    assert!(!client.is_handshaking());
}

#[test]
fn bad_finished_is_decrypt_error() {
    let (mut client, mut server, mut flight) = client_and_server();
    flight.extend(server.encrypted_extensions());
    flight.extend(server.certificate());
    flight.extend(server.certificate_verify());
    flight.extend(server.finished(true));
    expect_failure(
        &mut client,
        &server,
        &flight,
        Error::DecryptError("bad Finished"),
        AlertDescription::DecryptError,
    );
}

#[test]
fn malformed_message_is_decode_error() {
    let (mut client, mut server, mut flight) = client_and_server();
    // EncryptedExtensions whose extension block claims more bytes than it has.
    flight.extend(server.send_raw(&[8, 0, 0, 2, 0, 9]));
    client.feed(&flight).unwrap_err();
    assert!(
        matches!(client.error(), Some(Error::Decode(_))),
        "{:?}",
        client.error()
    );
    let error = client.error().cloned().unwrap();
    expect_failure_after(&mut client, &server, error, AlertDescription::DecodeError);
}

#[test]
fn message_out_of_order_is_unexpected_message() {
    let (mut client, mut server, mut flight) = client_and_server();
    flight.extend(server.encrypted_extensions());
    flight.extend(server.finished(false));
    expect_failure(
        &mut client,
        &server,
        &flight,
        Error::UnexpectedMessage("handshake message type not expected in this state"),
        AlertDescription::UnexpectedMessage,
    );
}

#[test]
fn bad_signature_is_decrypt_error() {
    let (mut client, mut server, mut flight) = client_and_server();
    flight.extend(server.encrypted_extensions());
    flight.extend(server.certificate());
    let scheme = crate::msgs::enums::SignatureScheme::Ed25519;
    let signature = server.key.sign(scheme, b"not the transcript").unwrap();
    flight.extend(
        server.send(HandshakeMessage::CertificateVerify(CertificateVerify {
            scheme,
            signature,
        })),
    );
    client.feed(&flight).unwrap_err();
    let error = client.error().cloned().unwrap();
    assert!(matches!(error, Error::DecryptError(_)), "{error:?}");
    expect_failure_after(&mut client, &server, error, AlertDescription::DecryptError);
}

/// BoGo's RequestContextInHandshake-TLS13: a CertificateRequest in the
/// handshake with a non-empty context (RFC 8446 §4.3.2: it "SHALL be zero
/// length") is decode_error.
#[test]
fn certificate_request_context_in_the_handshake_is_decode_error() {
    use crate::msgs::extensions::CertReqExtension;
    use crate::msgs::handshake::CertificateRequest;
    let (mut client, mut server, mut flight) = client_and_server();
    flight.extend(server.encrypted_extensions());
    flight.extend(
        server.send(HandshakeMessage::CertificateRequest(CertificateRequest {
            context: b"request context".to_vec(),
            extensions: vec![CertReqExtension::SignatureAlgorithms(vec![
                crate::msgs::enums::SignatureScheme::Ed25519,
            ])],
        })),
    );
    expect_failure(
        &mut client,
        &server,
        &flight,
        Error::Decode("CertificateRequest context in the handshake"),
        AlertDescription::DecodeError,
    );
}

#[test]
fn unsolicited_extension_is_refused() {
    let (mut client, mut server, mut flight) = client_and_server();
    let ee = EncryptedExtensions {
        extensions: vec![crate::msgs::extensions::EncryptedExtension::EarlyData],
    };
    flight.extend(server.send(HandshakeMessage::EncryptedExtensions(ee)));
    client.feed(&flight).unwrap_err();
    let error = client.error().cloned().unwrap();
    expect_failure_after(
        &mut client,
        &server,
        error,
        AlertDescription::UnsupportedExtension,
    );
}

/// BoGo's UnofferedExtension-Client-TLS13: ALPN chosen when the client
/// offered none is unsolicited (unsupported_extension, RFC 8446 §4.2), not
/// a protocol it did not offer (illegal_parameter).
#[test]
fn unsolicited_alpn_is_unsupported_extension() {
    let (mut client, mut server, mut flight) = client_and_server();
    let ee = EncryptedExtensions {
        extensions: vec![crate::msgs::extensions::EncryptedExtension::Alpn(
            b"h2".to_vec(),
        )],
    };
    flight.extend(server.send(HandshakeMessage::EncryptedExtensions(ee)));
    expect_failure(
        &mut client,
        &server,
        &flight,
        Error::UnsupportedExtension("unsolicited ALPN"),
        AlertDescription::UnsupportedExtension,
    );
}

#[test]
fn certificate_entry_staples_only_on_the_leaf_and_only_when_asked() {
    let staple = crate::stapling::entry_extension(&[0x30, 0]);
    let mut malformed = staple.clone();
    malformed.data.pop();
    let cases = [
        // (asked, staple on the leaf, on a second entry, error's alert)
        (
            false,
            Some(staple.clone()),
            None,
            AlertDescription::UnsupportedExtension,
        ),
        (
            true,
            None,
            Some(staple.clone()),
            AlertDescription::IllegalParameter,
        ),
        (true, Some(malformed), None, AlertDescription::DecodeError),
    ];
    for (asked, leaf, second, alert) in cases {
        let (mut client, mut server, mut flight) = client_and_server_with(asked);
        flight.extend(server.encrypted_extensions());
        let entry = |cert: &Vec<u8>, ext: Option<crate::msgs::extensions::UnknownExtension>| {
            CertificateEntry {
                cert: cert.clone(),
                extensions: ext.into_iter().collect(),
            }
        };
        let cert = server.cert.clone();
        let entries = vec![entry(&cert, leaf), entry(&cert, second)];
        flight.extend(
            server.send(HandshakeMessage::Certificate(CertificatePayload {
                context: vec![],
                entries,
            })),
        );
        client.feed(&flight).unwrap_err();
        let error = client.error().cloned().unwrap();
        assert_eq!(error.alert(), Some(alert), "{error:?}");
        expect_failure_after(&mut client, &server, error, alert);
    }
}

#[test]
fn server_refuses_garbage_and_old_versions_in_plaintext() {
    use crate::config::{CertifiedKey, ServerConfig};
    let (cert, key) = test_cert();
    let config = Arc::new(ServerConfig::with_single_cert(
        CertifiedKey::new(vec![cert], key).unwrap(),
    ));
    let cases: [(&[u8], Error); 3] = [
        // A ClientHello cut short inside its random.
        (
            &[22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0],
            Error::Decode("client_hello.random"),
        ),
        // Finished before any ClientHello.
        (
            &[22, 3, 3, 0, 8, 20, 0, 0, 4, 1, 2, 3, 4],
            Error::UnexpectedMessage("handshake message type not expected in this state"),
        ),
        // Application data before any handshake.
        (
            &[23, 3, 3, 0, 1, 0],
            Error::UnexpectedMessage("record not protected as expected"),
        ),
    ];
    for (wire, expected) in cases {
        let mut server = Connection::server(config.clone());
        let got = server.feed(wire).unwrap_err();
        assert_eq!(
            core::mem::discriminant(&got),
            core::mem::discriminant(&expected),
            "{got:?}"
        );
        let alert = server.pending_tls().to_vec();
        assert_eq!(
            alert,
            [21, 3, 3, 0, 2, 2, expected.alert().unwrap().to_wire()]
        );
        assert_eq!(server.feed(wire), Err(got));
    }
    // A TLS 1.2-only hello: protocol_version.
    let mut client =
        Connection::client(Arc::new(ClientConfig::with_pinned_certs(vec![])), None).unwrap();
    let mut hello = plaintext_messages(client.pending_tls()).remove(0);
    let HandshakeMessage::ClientHello(mut ch) =
        HandshakeMessage::decode(HandshakeType::ClientHello, &hello[4..]).unwrap()
    else {
        unreachable!()
    };
    ch.extensions.retain(|e| {
        !matches!(
            e,
            crate::msgs::extensions::ClientExtension::SupportedVersions(_)
        )
    });
    hello = HandshakeMessage::ClientHello(ch).to_vec();
    let mut wire = RecordBuffer::new();
    crate::record::protect::frame_plaintext(ContentType::Handshake, &hello, &mut wire);
    let wire = wire.as_slice();
    // A TLS 1.3-only server: protocol_version.
    let (cert, key) = test_cert();
    let mut only13 = ServerConfig::with_single_cert(CertifiedKey::new(vec![cert], key).unwrap());
    only13.versions = vec![ProtocolVersion::Tls13];
    let mut server = Connection::server(Arc::new(only13));
    assert_eq!(server.feed(wire), Err(Error::ProtocolVersion));
    // A server that also speaks TLS 1.2 answers it with TLS 1.2.
    let mut server = Connection::server(config);
    assert_eq!(server.feed(wire), Ok(()));
    assert!(server.wants_write());
    client.consume_tls(client.pending_tls().len());
}

/// Like [`expect_failure`], once the flight has already been fed.
fn expect_failure_after(
    client: &mut Connection,
    server: &ScriptedServer,
    error: Error,
    alert: AlertDescription,
) {
    let wire = client.pending_tls().to_vec();
    client.consume_tls(wire.len());
    assert_eq!(server.read_alert(&wire), alert);
    assert_eq!(client.feed(&[23, 3, 3, 0, 1, 0]), Err(error.clone()));
    assert_eq!(client.write(b"late"), Err(error));
    assert!(client.pending_tls().is_empty());
}

#[test]
fn downgrade_sentinel_is_illegal_parameter() {
    let (cert, _) = test_cert();
    let config = Arc::new(ClientConfig::with_pinned_certs(vec![cert]));
    for (sentinel, expected) in [
        (
            crate::versions::DOWNGRADE_TLS12,
            Error::IllegalParameter("downgrade sentinel in ServerHello"),
        ),
        (
            crate::versions::DOWNGRADE_TLS11,
            Error::IllegalParameter("downgrade sentinel in ServerHello"),
        ),
        (*b"NOTDOWNG", Error::ProtocolVersion),
    ] {
        // Without the sentinel, only a client that did not offer TLS 1.2 refuses.
        let config = if expected == Error::ProtocolVersion {
            let mut only13 = ClientConfig::with_pinned_certs(vec![]);
            only13.versions = vec![ProtocolVersion::Tls13];
            Arc::new(only13)
        } else {
            config.clone()
        };
        let mut client = Connection::client(config, None).unwrap();
        let hello = plaintext_messages(client.pending_tls()).remove(0);
        let HandshakeMessage::ClientHello(ch) =
            HandshakeMessage::decode(HandshakeType::ClientHello, &hello[4..]).unwrap()
        else {
            unreachable!()
        };
        client.consume_tls(client.pending_tls().len());
        let mut random = [7u8; 32];
        random[24..].copy_from_slice(&sentinel);
        // A TLS 1.2 ServerHello: no supported_versions extension.
        let sh = HandshakeMessage::ServerHello(ServerHello {
            legacy_version: 0x0303,
            random,
            session_id: ch.session_id.clone(),
            cipher_suite: CipherSuite::Unknown(0xc02b),
            compression_method: 0,
            extensions: vec![],
        })
        .to_vec();
        let mut wire = RecordBuffer::new();
        crate::record::protect::frame_plaintext(ContentType::Handshake, &sh, &mut wire);
        assert_eq!(client.feed(wire.as_slice()), Err(expected.clone()));
        let alert = expected.alert().unwrap().to_wire();
        assert_eq!(client.pending_tls(), [21, 3, 3, 0, 2, 2, alert]);
    }
}

#[test]
fn keys_are_updated_automatically_at_the_record_limit() {
    use crate::config::{CertifiedKey, ServerConfig};
    let (cert, key) = test_cert();
    let client_config = Arc::new(ClientConfig::with_pinned_certs(vec![cert.clone()]));
    let server_config = Arc::new(ServerConfig::with_single_cert(
        CertifiedKey::new(vec![cert], key).unwrap(),
    ));
    let mut client = Connection::client(client_config, Some("localhost")).unwrap();
    let mut server = Connection::server(server_config);
    let pump = |client: &mut Connection, server: &mut Connection| {
        for _ in 0..10 {
            let c = client.pending_tls().to_vec();
            client.consume_tls(c.len());
            server.feed(&c).unwrap();
            let s = server.pending_tls().to_vec();
            server.consume_tls(s.len());
            client.feed(&s).unwrap();
        }
    };
    pump(&mut client, &mut server);
    client.common.records_per_key = 3;
    let data: Vec<u8> = (0..10 * crate::record::MAX_PLAINTEXT)
        .map(|i| (i % 251) as u8)
        .collect();
    client.write(&data).unwrap();
    let wire = client.pending_tls().to_vec();
    // 10 data records and 3 KeyUpdates (after records 3, 6 and 9 of each key).
    let records = core::iter::successors(Some(0usize), |&at| {
        let len = usize::from(u16::from_be_bytes([*wire.get(at + 3)?, *wire.get(at + 4)?]));
        Some(at + HEADER_LEN + len).filter(|&next| next < wire.len())
    })
    .count();
    assert_eq!(records, 13);
    pump(&mut client, &mut server);
    let mut got = vec![0u8; data.len()];
    assert_eq!(server.read(&mut got), data.len());
    assert_eq!(got, data);
}

/// BoGo's TLS 1.3 client tests whose server flight fails: a peer in
/// middlebox compatibility mode reads the client's dummy ChangeCipherSpec
/// before any protected record, so it must precede an alert sent while the
/// server's flight is read, not only the client's Finished.
#[test]
fn compatibility_ccs_precedes_an_alert_on_the_server_flight() {
    let (mut client, mut server, mut flight) = client_and_server();
    flight.extend(server.encrypted_extensions());
    flight.extend(server.certificate());
    flight.extend(server.certificate_verify());
    flight.extend(server.finished(true));
    assert!(client.feed(&flight).is_err());
    let wire = client.pending_tls().to_vec();
    let ccs = [ContentType::ChangeCipherSpec.to_wire(), 3, 3, 0, 1, 1];
    assert_eq!(wire.get(..ccs.len()), Some(&ccs[..]), "{wire:02x?}");
    assert_eq!(
        server.read_alert(&wire[ccs.len()..]),
        AlertDescription::DecryptError
    );
    // One dummy ChangeCipherSpec only: a successful handshake sends it once.
    let (mut client, mut server, mut flight) = client_and_server();
    flight.extend(server.encrypted_extensions());
    flight.extend(server.certificate());
    flight.extend(server.certificate_verify());
    flight.extend(server.finished(false));
    client.feed(&flight).unwrap();
    let wire = client.pending_tls().to_vec();
    assert_eq!(wire.get(..ccs.len()), Some(&ccs[..]));
    let mut types = Vec::new();
    let mut rest = &wire[..];
    while rest.len() >= HEADER_LEN {
        types.push(rest[0]);
        rest = &rest[HEADER_LEN + usize::from(u16::from_be_bytes([rest[3], rest[4]]))..];
    }
    // The ChangeCipherSpec, then the protected Finished.
    assert_eq!(types, vec![20, 23]);
}

/// user_canceled at level warning is skipped before the ServerHello (a
/// closure alert, counted against the warning budget); at level fatal it
/// ends the handshake, as any fatal alert (fuzz/DISAGREEMENTS.md D17).
#[test]
fn user_canceled_is_skipped_as_a_warning_and_fatal_as_a_fatal_alert() {
    for (level, fails) in [(1u8, false), (2u8, true)] {
        let config = Arc::new(ClientConfig::with_pinned_certs(vec![]));
        let mut client = Connection::client(config, Some("localhost")).unwrap();
        client.consume_tls(client.pending_tls().len());
        let got = client.feed(&[21, 3, 3, 0, 2, level, 90]);
        if fails {
            assert_eq!(
                got,
                Err(Error::AlertReceived(AlertDescription::UserCanceled))
            );
        } else {
            assert_eq!(got, Ok(()));
            assert!(client.is_handshaking());
        }
    }
}
