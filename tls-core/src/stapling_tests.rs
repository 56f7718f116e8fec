//! OCSP stapling between our own client and server, in memory: the
//! response reaches the client's verifier and `Negotiated` over both
//! versions, and the TLS 1.2 client's CertificateStatus state refuses the
//! message without an acknowledgement, twice, out of order or malformed.

use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::Mutex;

use crate::config::{CertifiedKey, ClientConfig, ServerConfig, UnixTime};
use crate::conn::{Connection, Event};
use crate::crypto::SigningKey;
use crate::error::Error;
use crate::msgs::enums::{AlertDescription, ContentType, ProtocolVersion};
use crate::record::HEADER_LEN;
use crate::stapling::OcspStapler;
use crate::verify::{PinnedCertVerifier, ServerCertVerified, ServerCertVerifier};

/// Stands in for a DER OCSPResponse: the engine does not parse it.
const RESPONSE: &[u8] = &[0x30, 0x03, 0x0a, 0x01, 0x00];

/// Staples [`RESPONSE`] for every certificate.
struct FixedStapler;

impl OcspStapler for FixedStapler {
    fn staple(&self, _end_entity: &[u8]) -> Option<Vec<u8>> {
        Some(RESPONSE.to_vec())
    }
}

/// A pinning verifier that records the stapled responses it is handed,
/// with the end-entity certificate each came with.
struct Recording {
    inner: PinnedCertVerifier,
    seen: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, now)
    }

    fn verify_stapled_ocsp(
        &self,
        end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        response: &[u8],
        _now: UnixTime,
    ) -> Result<(), Error> {
        self.seen
            .lock()
            .unwrap()
            .push((end_entity.to_vec(), response.to_vec()));
        Ok(())
    }
}

fn test_cert() -> (Vec<u8>, SigningKey) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (
        cert.der().to_vec(),
        SigningKey::from_pkcs8(&key.serialize_der()).unwrap(),
    )
}

/// A client (asking for OCSP when `request`) and a server (stapling when
/// `staple`) of one version, and the client's verifier.
fn pair(
    version: ProtocolVersion,
    request: bool,
    staple: bool,
) -> (Connection, Connection, Arc<Recording>, Vec<u8>) {
    let (cert, key) = test_cert();
    let verifier = Arc::new(Recording {
        inner: PinnedCertVerifier::new(vec![cert.clone()]),
        seen: Mutex::new(Vec::new()),
    });
    let mut cc = ClientConfig::with_pinned_certs(Vec::new());
    cc.verifier = verifier.clone();
    cc.request_ocsp = request;
    cc.versions = vec![version];
    let mut sc =
        ServerConfig::with_single_cert(CertifiedKey::new(vec![cert.clone()], key).unwrap());
    sc.versions = vec![version];
    if staple {
        sc.ocsp_stapler = Some(Arc::new(FixedStapler));
    }
    let client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    (client, Connection::server(Arc::new(sc)), verifier, cert)
}

fn drain(from: &mut Connection) -> Vec<u8> {
    let wire = from.pending_tls().to_vec();
    from.consume_tls(wire.len());
    wire
}

/// Runs the handshake to its end.
fn handshake(client: &mut Connection, server: &mut Connection) {
    for _ in 0..8 {
        server.feed(&drain(client)).unwrap();
        client.feed(&drain(server)).unwrap();
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
}

#[test]
fn a_requested_staple_reaches_the_verifier_over_both_versions() {
    for version in [ProtocolVersion::Tls13, ProtocolVersion::Tls12] {
        let (mut client, mut server, verifier, cert) = pair(version, true, true);
        handshake(&mut client, &mut server);
        let negotiated = client.negotiated().unwrap();
        assert_eq!(negotiated.version, version);
        assert_eq!(negotiated.ocsp_response.as_deref(), Some(RESPONSE));
        assert_eq!(
            *verifier.seen.lock().unwrap(),
            [(cert, RESPONSE.to_vec())],
            "{version:?}"
        );
    }
}

#[test]
fn nothing_is_stapled_unless_asked_for_or_available() {
    for version in [ProtocolVersion::Tls13, ProtocolVersion::Tls12] {
        for (request, staple) in [(false, true), (true, false)] {
            let (mut client, mut server, verifier, _) = pair(version, request, staple);
            let hello = client.pending_tls().to_vec();
            // status_request (type 5) with ocsp, no responders, no extensions.
            let asked = hello.windows(9).any(|w| w == [0, 5, 0, 5, 1, 0, 0, 0, 0]);
            assert_eq!(asked, request);
            handshake(&mut client, &mut server);
            assert_eq!(client.negotiated().unwrap().ocsp_response, None);
            assert!(verifier.seen.lock().unwrap().is_empty());
        }
    }
}

/// The handshake messages of a run of plaintext records, each whole.
fn messages(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut stream = Vec::new();
    let mut rest = wire;
    while rest.len() >= HEADER_LEN {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest[0] == ContentType::Handshake.to_wire() {
            stream.extend_from_slice(&rest[HEADER_LEN..HEADER_LEN + len]);
        }
        rest = &rest[HEADER_LEN + len..];
    }
    let mut out = Vec::new();
    let mut rest = stream.as_slice();
    while rest.len() >= 4 {
        let len =
            4 + (usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3]));
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    out
}

/// One plaintext handshake record per message.
fn frame(msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        out.extend_from_slice(&[22, 3, 3]);
        out.extend_from_slice(&u16::try_from(m.len()).unwrap().to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

/// The TLS 1.2 server's first flight, one message each: ServerHello,
/// Certificate, [CertificateStatus], ServerKeyExchange, ServerHelloDone.
fn tls12_flight(staple: bool) -> (Connection, Vec<Vec<u8>>) {
    let (mut client, mut server, _, _) = pair(ProtocolVersion::Tls12, true, staple);
    server.feed(&drain(&mut client)).unwrap();
    let flight = messages(&drain(&mut server));
    assert_eq!(flight.len(), if staple { 5 } else { 4 });
    (client, flight)
}

/// Feeds the messages and checks the client's error and the alert it sent.
fn refused(mut client: Connection, msgs: &[Vec<u8>], alert: AlertDescription) {
    let error = client.feed(&frame(msgs)).unwrap_err();
    assert_eq!(error.alert(), Some(alert), "{error:?}");
    assert_eq!(
        client.next_event(),
        Some(Event::Fatal {
            error,
            alert_sent: Some(alert)
        })
    );
    // The alert is on the wire, in plaintext before the keys change.
    assert!(drain(&mut client).ends_with(&[21, 3, 3, 0, 2, 2, alert.to_wire()]));
}

#[test]
fn tls12_certificate_status_only_once_after_certificate_and_an_ack() {
    let status = {
        let (_, stapled) = tls12_flight(true);
        assert_eq!(stapled[2][0], 22, "CertificateStatus third");
        stapled[2].clone()
    };
    let unexpected = AlertDescription::UnexpectedMessage;
    // Without the ServerHello's acknowledgement.
    let (client, f) = tls12_flight(false);
    refused(
        client,
        &[f[0].clone(), f[1].clone(), status.clone()],
        unexpected,
    );
    // Twice.
    let (client, f) = tls12_flight(true);
    refused(
        client,
        &[f[0].clone(), f[1].clone(), f[2].clone(), f[2].clone()],
        unexpected,
    );
    // Before the Certificate.
    let (client, f) = tls12_flight(true);
    refused(client, &[f[0].clone(), f[2].clone()], unexpected);
    // After the ServerKeyExchange.
    let (client, f) = tls12_flight(true);
    refused(
        client,
        &[f[0].clone(), f[1].clone(), f[3].clone(), f[2].clone()],
        unexpected,
    );
    // Malformed: a truncated response, or a status type not asked for.
    let mut short = f[2].clone();
    short.pop();
    short[3] -= 1;
    let (client, f) = tls12_flight(true);
    refused(
        client,
        &[f[0].clone(), f[1].clone(), short],
        AlertDescription::DecodeError,
    );
    let mut multi = status;
    multi[4] = 2;
    let (client, f) = tls12_flight(true);
    refused(
        client,
        &[f[0].clone(), f[1].clone(), multi],
        AlertDescription::IllegalParameter,
    );
    // An acknowledgement we did not ask for.
    let (_, f) = tls12_flight(true);
    let (unasked, _, _, _) = pair(ProtocolVersion::Tls12, false, true);
    refused(
        unasked,
        &[f[0].clone()],
        AlertDescription::UnsupportedExtension,
    );
    // The acknowledgement may stand alone: the server need not send one.
    let (mut client, f) = tls12_flight(true);
    client
        .feed(&frame(&[
            f[0].clone(),
            f[1].clone(),
            f[3].clone(),
            f[4].clone(),
        ]))
        .unwrap();
    assert!(client.error().is_none());
}
