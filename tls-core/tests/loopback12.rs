//! TLS 1.2, our client against our server in memory: every ECDSA suite and
//! group, version negotiation both ways, resumption by ticket and by session
//! ID, client authentication, exporters, and the refusals (no extended master
//! secret, old versions, SSLv2 hellos, fallback SCSV, misplaced CCS, KeyUpdate).

use std::sync::{Arc, Mutex};

use tls_core::internal::msgs::enums::{ContentType, ExtensionType, HandshakeType};
use tls_core::internal::msgs::extensions::ClientExtension;
use tls_core::internal::msgs::handshake::HandshakeMessage;
use tls_core::internal::record::buffer::RecordBuffer;
use tls_core::internal::record::protect::frame_plaintext;
use tls_core::{
    CertifiedKey, CipherSuite, ClientConfig, ClientHelloInfo, Connection, Error, NamedGroup,
    ProtocolVersion, ResolvesServerCert, ServerConfig,
};

mod support;
use support::*;

/// A TLS 1.2-only client and a server speaking both versions.
fn configs12(p: &Pki) -> (ClientConfig, ServerConfig) {
    let (mut client, server) = configs(p);
    client.versions = vec![ProtocolVersion::Tls12];
    (client, server)
}

fn exchange_data(client: &mut Connection, server: &mut Connection) {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    client.write(&big).unwrap();
    server.write(b"pong").unwrap();
    pump(client, server).unwrap();
    assert_eq!(read_all(server), big);
    assert_eq!(read_all(client), b"pong");
    client.close();
    pump(client, server).unwrap();
    assert!(server.peer_closed());
}

const ECDSA_SUITES: [CipherSuite; 3] = [
    CipherSuite::EcdheEcdsaAes128GcmSha256,
    CipherSuite::EcdheEcdsaAes256GcmSha384,
    CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
];

#[test]
fn every_ecdsa_suite_and_group_completes_and_moves_data() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    for suite in ECDSA_SUITES {
        // The classical groups: the hybrids are TLS 1.3 only (pq_groups.rs).
        for group in [
            NamedGroup::X25519,
            NamedGroup::Secp256r1,
            NamedGroup::Secp384r1,
        ] {
            let (mut cc, mut sc) = configs12(&p);
            cc.cipher_suites = vec![suite];
            // The client's groups also bound the certificate's curve (RFC 8422).
            cc.groups = vec![group];
            if group != NamedGroup::Secp256r1 {
                cc.groups.push(NamedGroup::Secp256r1);
            }
            sc.groups = vec![group];
            let (mut client, mut server) = connect(&Arc::new(cc), &Arc::new(sc));
            for conn in [&client, &server] {
                let n = conn.negotiated().unwrap();
                assert_eq!(n.version, ProtocolVersion::Tls12);
                assert_eq!((n.suite, n.group, n.resumed), (suite, group, false));
            }
            exchange_data(&mut client, &mut server);
        }
    }
}

#[test]
fn ed25519_and_p384_certificates_sign_the_key_exchange() {
    for alg in [&rcgen::PKCS_ED25519, &rcgen::PKCS_ECDSA_P384_SHA384] {
        let p = pki(alg);
        let (cc, sc) = configs12(&p);
        let (client, _) = connect(&Arc::new(cc), &Arc::new(sc));
        assert_eq!(
            client.negotiated().unwrap().peer_certificates,
            vec![p.cert_der.clone()]
        );
    }
}

#[test]
fn versions_are_negotiated_both_ways() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    // A client offering both against a TLS 1.2-only server: no sentinel.
    let (mut cc, mut sc) = configs12(&p);
    cc.versions = vec![ProtocolVersion::Tls13, ProtocolVersion::Tls12];
    sc.versions = vec![ProtocolVersion::Tls12];
    let (client, _) = connect(&Arc::new(cc), &Arc::new(sc));
    assert_eq!(client.negotiated().unwrap().version, ProtocolVersion::Tls12);
    // Both offering both: TLS 1.3.
    let (mut cc, sc) = configs12(&p);
    cc.versions = vec![ProtocolVersion::Tls13, ProtocolVersion::Tls12];
    let (client, _) = connect(&Arc::new(cc), &Arc::new(sc));
    assert_eq!(client.negotiated().unwrap().version, ProtocolVersion::Tls13);
    // A TLS 1.3-only client against a TLS 1.2-only server: protocol_version.
    let (mut cc, mut sc) = configs12(&p);
    cc.versions = vec![ProtocolVersion::Tls13];
    sc.versions = vec![ProtocolVersion::Tls12];
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    assert_eq!(pump(&mut client, &mut server), Err(Error::ProtocolVersion));
}

#[test]
fn server_sets_the_downgrade_sentinel_when_it_also_speaks_tls13() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    for (versions, sentinel) in [
        (vec![ProtocolVersion::Tls13, ProtocolVersion::Tls12], true),
        (vec![ProtocolVersion::Tls12], false),
    ] {
        let (cc, mut sc) = configs12(&p);
        sc.versions = versions;
        let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
        let mut server = Connection::server(Arc::new(sc));
        server.feed(client.pending_tls()).unwrap();
        let flight = server.pending_tls();
        // record header (5), handshake header (4), version (2), random (32)
        assert_eq!(flight[5], 2, "ServerHello first");
        assert_eq!(&flight[11 + 24..11 + 32] == b"DOWNGRD\x01", sentinel);
        let _ = &mut client;
    }
}

#[test]
fn tickets_resume_tls12_sessions() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs12(&p);
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    let (first, _) = connect(&cc, &sc);
    assert!(!first.negotiated().unwrap().resumed);
    for _ in 0..2 {
        let (mut client, mut server) = connect(&cc, &sc);
        for conn in [&client, &server] {
            let n = conn.negotiated().unwrap();
            assert!(n.resumed, "resumed by ticket");
            assert_eq!(n.group, NamedGroup::X25519);
        }
        assert_eq!(
            client.negotiated().unwrap().peer_certificates,
            vec![p.cert_der.clone()]
        );
        exchange_data(&mut client, &mut server);
    }
}

#[test]
fn session_ids_resume_tls12_sessions() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, mut sc) = configs12(&p);
    sc.ticketer = None;
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    let (first, _) = connect(&cc, &sc);
    assert!(!first.negotiated().unwrap().resumed);
    let (mut client, mut server) = connect(&cc, &sc);
    assert!(client.negotiated().unwrap().resumed);
    assert!(server.negotiated().unwrap().resumed);
    exchange_data(&mut client, &mut server);
    // Without a cache nor tickets nothing resumes.
    let (cc2, mut sc2) = configs12(&p);
    sc2.ticketer = None;
    sc2.session_cache = None;
    let (cc2, sc2) = (Arc::new(cc2), Arc::new(sc2));
    connect(&cc2, &sc2);
    let (client, _) = connect(&cc2, &sc2);
    assert!(!client.negotiated().unwrap().resumed);
}

/// A clock the test sets.
struct SetClock(std::sync::atomic::AtomicU64);

impl tls_core::Clock for SetClock {
    fn now(&self) -> tls_core::UnixTime {
        tls_core::UnixTime(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[test]
fn session_lifetime_bounds_session_id_resumption() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, mut sc) = configs12(&p);
    let clock = Arc::new(SetClock(1_800_000_000.into()));
    sc.ticketer = None;
    sc.session_lifetime = Some(60);
    sc.clock = clock.clone();
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    connect(&cc, &sc);
    clock.0.fetch_add(59, std::sync::atomic::Ordering::Relaxed);
    let (client, _) = connect(&cc, &sc);
    assert!(client.negotiated().unwrap().resumed);
    clock.0.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
    let (client, _) = connect(&cc, &sc);
    assert!(!client.negotiated().unwrap().resumed);
}

struct ClientPins(tls_core::PinnedCertVerifier);

impl tls_core::ClientCertVerifier for ClientPins {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: tls_core::UnixTime,
    ) -> Result<tls_core::ClientCertVerified, Error> {
        self.0.verify_client_cert(end_entity, intermediates, now)
    }
}

#[test]
fn client_certificates_are_verified() {
    let server_pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    for alg in [&rcgen::PKCS_ED25519, &rcgen::PKCS_ECDSA_P384_SHA384] {
        let client_pki = pki(alg);
        let (mut cc, mut sc) = configs12(&server_pki);
        cc.client_cert = Some(Arc::new(certified(&client_pki)));
        sc.client_verifier = Some(Arc::new(ClientPins(tls_core::PinnedCertVerifier::new(
            vec![client_pki.cert_der.clone()],
        ))));
        let (mut client, mut server) = connect(&Arc::new(cc), &Arc::new(sc));
        assert_eq!(
            server.negotiated().unwrap().peer_certificates,
            vec![client_pki.cert_der.clone()]
        );
        exchange_data(&mut client, &mut server);
    }
    // No certificate: the server's CertificateRequired error goes out as
    // handshake_failure, TLS 1.2 having no certificate_required (RFC 5246
    // §7.4.6; BoGo's RequireAnyClientCertificate-TLS12).
    let (cc, mut sc) = configs12(&server_pki);
    sc.client_verifier = Some(Arc::new(ClientPins(tls_core::PinnedCertVerifier::new(
        vec![server_pki.cert_der.clone()],
    ))));
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    assert_eq!(
        pump(&mut client, &mut server),
        Err(Error::CertificateRequired)
    );
    let fatal = std::iter::from_fn(|| server.next_event()).last();
    assert_eq!(
        fatal,
        Some(tls_core::Event::Fatal {
            error: Error::CertificateRequired,
            alert_sent: Some(tls_core::AlertDescription::HandshakeFailure),
        })
    );
    assert_eq!(
        client.feed(server.pending_tls()),
        Err(Error::AlertReceived(
            tls_core::AlertDescription::HandshakeFailure
        ))
    );
}

#[test]
fn exporters_agree_and_distinguish_absent_from_empty_context() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs12(&p);
    let (mut client, server) = connect(&Arc::new(cc), &Arc::new(sc));
    let export = |conn: &Connection, context: Option<&[u8]>| {
        let mut out = [0u8; 32];
        conn.export_keying_material(&mut out, b"EXPORTER-test", context)
            .unwrap();
        out
    };
    assert_eq!(export(&client, None), export(&server, None));
    assert_eq!(export(&client, Some(b"ctx")), export(&server, Some(b"ctx")));
    assert_ne!(export(&client, None), export(&client, Some(b"")));
    assert!(
        client.update_keys(false).is_err(),
        "KeyUpdate is TLS 1.3 only"
    );
}

/// The client's first flight with its ClientHello changed by `edit`.
fn edited_hello(
    cc: ClientConfig,
    edit: impl FnOnce(&mut tls_core::internal::msgs::handshake::ClientHello),
) -> Vec<u8> {
    let client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let wire = client.pending_tls();
    let body = &wire[5 + 4..];
    let HandshakeMessage::ClientHello(mut ch) =
        HandshakeMessage::decode(HandshakeType::ClientHello, body).unwrap()
    else {
        unreachable!()
    };
    edit(&mut ch);
    let mut out = RecordBuffer::new();
    frame_plaintext(
        ContentType::Handshake,
        &HandshakeMessage::ClientHello(ch).to_vec(),
        &mut out,
    );
    out.as_slice().to_vec()
}

fn server_error(sc: ServerConfig, wire: &[u8]) -> (Error, Vec<u8>) {
    let mut server = Connection::server(Arc::new(sc));
    let err = server.feed(wire).unwrap_err();
    (err, server.pending_tls().to_vec())
}

#[test]
fn a_client_without_extended_master_secret_is_refused() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs12(&p);
    let wire = edited_hello(cc, |ch| {
        ch.extensions
            .retain(|e| e.typ() != ExtensionType::ExtendedMasterSecret)
    });
    let (err, alert) = server_error(sc, &wire);
    assert!(matches!(err, Error::HandshakeFailure(_)), "{err:?}");
    assert_eq!(alert, [21, 3, 3, 0, 2, 2, 40]);
    // Allowed for legacy peers only when configured.
    let (_, mut sc) = configs12(&p);
    sc.allow_no_ems = true;
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&wire).unwrap();
}

#[test]
fn old_versions_sslv2_hellos_and_fallbacks_are_refused() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    for version in [0x0300u16, 0x0301, 0x0302] {
        let (cc, sc) = configs12(&p);
        let wire = edited_hello(cc, |ch| ch.legacy_version = version);
        let (err, alert) = server_error(sc, &wire);
        assert_eq!(err, Error::ProtocolVersion);
        assert_eq!(alert, [21, 3, 3, 0, 2, 2, 70]);
    }
    let (_, sc) = configs12(&p);
    let sslv2 = [0x80, 0x2e, 1, 3, 1, 0, 0x15, 0, 0, 0, 0x10];
    assert_eq!(server_error(sc, &sslv2).0, Error::ProtocolVersion);
    // TLS_FALLBACK_SCSV from a TLS 1.2 client to a TLS 1.3 server.
    let (cc, sc) = configs12(&p);
    let wire = edited_hello(cc, |ch| ch.cipher_suites.push(CipherSuite::FallbackScsv));
    let (err, alert) = server_error(sc, &wire);
    assert_eq!(err, Error::InappropriateFallback);
    assert_eq!(alert, [21, 3, 3, 0, 2, 2, 86]);
    // ... but not to a TLS 1.2-only server.
    let (cc, mut sc) = configs12(&p);
    sc.versions = vec![ProtocolVersion::Tls12];
    let wire = edited_hello(cc, |ch| ch.cipher_suites.push(CipherSuite::FallbackScsv));
    Connection::server(Arc::new(sc)).feed(&wire).unwrap();
}

#[test]
fn renegotiation_info_must_be_empty_and_present() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs12(&p);
    let wire = edited_hello(cc, |ch| {
        for e in &mut ch.extensions {
            if let ClientExtension::RenegotiationInfo(v) = e {
                v.push(1);
            }
        }
    });
    assert!(matches!(
        server_error(sc, &wire).0,
        Error::HandshakeFailure(_)
    ));
    let (cc, sc) = configs12(&p);
    let wire = edited_hello(cc, |ch| {
        ch.extensions
            .retain(|e| e.typ() != ExtensionType::RenegotiationInfo)
    });
    assert!(matches!(
        server_error(sc, &wire).0,
        Error::HandshakeFailure(_)
    ));
}

#[test]
fn change_cipher_spec_out_of_place_is_unexpected() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs12(&p);
    let client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    server.feed(client.pending_tls()).unwrap();
    // A CCS before the ClientKeyExchange.
    assert!(matches!(
        server.feed(&[20, 3, 3, 0, 1, 1]),
        Err(Error::UnexpectedMessage(_))
    ));
}

#[test]
fn a_server_without_extended_master_secret_is_refused_by_our_client() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, mut sc) = configs12(&p);
    // Our server allows a client without EMS; strip EMS from the hello so the
    // server answers without it, and our client refuses.
    sc.allow_no_ems = true;
    let wire = edited_hello(
        {
            let mut c = ClientConfig::with_pinned_certs(vec![p.cert_der.clone()]);
            c.versions = vec![ProtocolVersion::Tls12];
            c
        },
        |ch| {
            ch.extensions
                .retain(|e| e.typ() != ExtensionType::ExtendedMasterSecret)
        },
    );
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&wire).unwrap();
    // Feed the server's answer to a fresh client whose hello the server never
    // saw: the ServerHello without EMS is refused before anything else.
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let err = client.feed(server.pending_tls()).unwrap_err();
    assert!(
        matches!(err, Error::HandshakeFailure(_) | Error::IllegalParameter(_)),
        "{err:?}"
    );
}

/// BoGo's SendSNIWarningAlert and SendWarningAlerts-Pass: a TLS 1.2 peer's
/// warning alert (a server's unrecognized_name, RFC 6066 §3) lets the
/// handshake and the connection go on; a warning close_notify still ends the
/// handshake, and a flood of warnings is refused.
#[test]
fn warning_alerts_are_tolerated_in_tls12() {
    let warning = |description: u8| {
        let mut record = RecordBuffer::new();
        frame_plaintext(ContentType::Alert, &[1, description], &mut record);
        record.as_slice().to_vec()
    };
    let (cc, sc) = configs12(pki_p256());
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
    let mut server = Connection::server(sc.clone());
    server.feed(&take(&mut client)).unwrap();
    // unrecognized_name, then the server's flight.
    client.feed(&warning(112)).unwrap();
    client.feed(&take(&mut server)).unwrap();
    pump(&mut client, &mut server).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
    exchange_data(&mut client, &mut server);

    // A warning close_notify in the handshake is still the end of it.
    let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
    let mut server = Connection::server(sc.clone());
    server.feed(&take(&mut client)).unwrap();
    assert_eq!(
        client.feed(&warning(0)),
        Err(Error::AlertReceived(
            tls_core::AlertDescription::CloseNotify
        ))
    );

    // BoGo's SendWarningAlerts-TooMany: four warnings in a row pass, the
    // fifth is refused (BoringSSL's limit), user_canceled counted with them.
    let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
    let four: Vec<u8> = [112, 90, 112, 112]
        .iter()
        .flat_map(|d| warning(*d))
        .collect();
    client.feed(&four).unwrap();
    assert_eq!(
        client.feed(&warning(112)),
        Err(Error::UnexpectedMessage("too many warning alerts"))
    );

    // BoGo's SendBogusAlertType: an alert level that is neither warning nor
    // fatal is illegal_parameter.
    let mut client = Connection::client(cc, Some("localhost")).unwrap();
    let mut bogus = RecordBuffer::new();
    frame_plaintext(ContentType::Alert, &[3, 112], &mut bogus);
    assert!(matches!(
        client.feed(bogus.as_slice()),
        Err(Error::IllegalParameter(_))
    ));

    // A TLS 1.3-only client refuses the warning (RFC 8446 §6.2: TLS 1.3
    // alerts other than close_notify and user_canceled are fatal): BoGo's
    // SendWarningAlerts-TLS13 wants decode_error, as BoringSSL and rustls send.
    let (mut cc13, _) = configs(pki_p256());
    cc13.versions = vec![ProtocolVersion::Tls13];
    let mut client = Connection::client(Arc::new(cc13), Some("localhost")).unwrap();
    assert_eq!(
        client.feed(&warning(112)),
        Err(Error::Decode("warning alert in TLS 1.3"))
    );
    let fatal = std::iter::from_fn(|| client.next_event()).last();
    assert!(
        matches!(
            fatal,
            Some(tls_core::Event::Fatal {
                alert_sent: Some(tls_core::AlertDescription::DecodeError),
                ..
            })
        ),
        "{fatal:?}"
    );
}

/// BoGo's UnofferedExtension-Client: a TLS 1.2 ServerHello choosing ALPN for
/// a client that offered none is an unsolicited extension (RFC 5246
/// §7.4.1.4: unsupported_extension), not a protocol it did not offer.
#[test]
fn unsolicited_alpn_in_a_server_hello_is_unsupported_extension() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, mut sc) = configs12(&p);
    sc.alpn_protocols = vec![b"h2".to_vec()];
    let wire = edited_hello(
        {
            let mut c = ClientConfig::with_pinned_certs(vec![p.cert_der.clone()]);
            c.versions = vec![ProtocolVersion::Tls12];
            c
        },
        |ch| {
            ch.extensions
                .push(ClientExtension::Alpn(vec![b"h2".to_vec()]))
        },
    );
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&wire).unwrap();
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    assert_eq!(
        client.feed(server.pending_tls()),
        Err(Error::UnsupportedExtension("unsolicited ALPN"))
    );
}

/// The session ID of the first ClientHello `cc` sends.
fn hello_session_id(cc: ClientConfig) -> Vec<u8> {
    let client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let wire = client.pending_tls();
    let HandshakeMessage::ClientHello(ch) =
        HandshakeMessage::decode(HandshakeType::ClientHello, &wire[5 + 4..]).unwrap()
    else {
        unreachable!()
    };
    ch.session_id
}

/// BoGo's TLS12NoSessionID-TLS13: a TLS 1.2-only client with nothing to
/// resume sends an empty session ID (RFC 5246 §7.4.1.2); offering TLS 1.3 it
/// sends a random one (middlebox compatibility), and resuming a TLS 1.2
/// session by ticket too (RFC 5077 §3.4), so resumption still works.
#[test]
fn a_tls12_only_client_sends_a_session_id_only_to_resume() {
    let p = pki_p256();
    let (cc, _) = configs12(p);
    assert_eq!(hello_session_id(cc), Vec::<u8>::new());
    let (cc, _) = configs(p);
    assert_eq!(hello_session_id(cc).len(), 32);
    // A resumed TLS 1.2 session (by ticket) still completes as resumed.
    let (cc, sc) = configs12(p);
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    let (mut client, mut server) = connect(&cc, &sc);
    pump(&mut client, &mut server).unwrap();
    let (mut client, mut server) = connect(&cc, &sc);
    pump(&mut client, &mut server).unwrap();
    assert!(client.negotiated().unwrap().resumed);
}

/// BoGo's VersionNegotiation-Client-*: the first ClientHello goes in records
/// saying TLS 1.0 (RFC 8446 §5.1 allows it for compatibility; OpenSSL,
/// BoringSSL and NSS send it), with or without TLS 1.3 offered; our replies
/// after it say TLS 1.2, and the handshake completes.
#[test]
fn the_first_client_hello_record_says_tls10() {
    let p = pki_p256();
    for (cc, sc) in [configs12(p), configs(p)] {
        let (cc, sc) = (Arc::new(cc), Arc::new(sc));
        let mut client = Connection::client(cc, Some("localhost")).unwrap();
        let mut server = Connection::server(sc);
        let hello = take(&mut client);
        assert_eq!(hello[..3], [22, 3, 1]);
        server.feed(&hello).unwrap();
        client.feed(&take(&mut server)).unwrap();
        let second = take(&mut client);
        assert_eq!(second[1..3], [3, 3], "{:02x?}", &second[..5]);
        server.feed(&second).unwrap();
        pump(&mut client, &mut server).unwrap();
        assert!(!client.is_handshaking() && !server.is_handshaking());
    }
}

/// BoGo's CheckLeafCurve: in TLS 1.2 the server's ECDSA certificate must be
/// on a curve the client offered in supported_groups (RFC 8422 §5.3). Our
/// server would refuse such a client, so it sees a hello that also offers
/// P-256; our client, which offered only P-384, refuses the P-256
/// certificate. With P-256 offered, or in TLS 1.3 (the curve is in the
/// signature scheme: CheckLeafCurve-TLS13), it is accepted.
#[test]
fn a_tls12_server_certificate_must_be_on_an_offered_curve() {
    let client_config = |version, group| {
        let (mut cc, _) = configs(pki_p256());
        cc.versions = vec![version];
        cc.groups = vec![group];
        cc
    };
    let (_, sc) = configs(pki_p256());
    let wire = edited_hello(
        client_config(ProtocolVersion::Tls12, NamedGroup::Secp384r1),
        |ch| {
            for e in &mut ch.extensions {
                if let ClientExtension::SupportedGroups(groups) = e {
                    groups.push(NamedGroup::Secp256r1);
                }
            }
        },
    );
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&wire).unwrap();
    let cc = client_config(ProtocolVersion::Tls12, NamedGroup::Secp384r1);
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    assert_eq!(
        client.feed(server.pending_tls()),
        Err(Error::IllegalParameter(
            "certificate key on a curve we did not offer"
        ))
    );
    for (version, group) in [
        (ProtocolVersion::Tls12, NamedGroup::Secp256r1),
        (ProtocolVersion::Tls13, NamedGroup::Secp384r1),
    ] {
        let (_, sc) = configs(pki_p256());
        handshake(client_config(version, group), sc);
    }
}

/// Presents the first of its certificates the client can accept
/// (`ClientHelloInfo::accepts_key`), recording what it saw.
struct FirstAcceptable {
    keys: Vec<Arc<CertifiedKey>>,
    seen: Mutex<Vec<(ProtocolVersion, Vec<NamedGroup>, bool)>>,
}

impl ResolvesServerCert for FirstAcceptable {
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        let suites_seen = !hello.cipher_suites.is_empty();
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((hello.version, hello.groups.to_vec(), suites_seen));
        }
        let first = self.keys.iter().find(|k| hello.accepts_key(k.key()));
        first.or(self.keys.first()).cloned()
    }
}

/// BoGo's CertificateSelection-Server-Curve-*-TLS12: the resolver sees the
/// negotiated version, the client's groups and suites, so it can skip an
/// ECDSA certificate whose curve a TLS 1.2 client did not offer (RFC 8422
/// §5.3); TLS 1.3 ignores the groups for that. With no certificate that
/// fits, the TLS 1.2 server refuses: handshake_failure.
#[test]
fn a_resolver_skips_a_tls12_certificate_on_a_curve_not_offered() {
    let p384 = pki(&rcgen::PKCS_ECDSA_P384_SHA384);
    let p256 = pki_p256();
    for (version, keys, want) in [
        (ProtocolVersion::Tls12, vec![&p384, p256], Some(p256)),
        (ProtocolVersion::Tls13, vec![&p384, p256], Some(&p384)),
        (ProtocolVersion::Tls12, vec![&p384], None),
    ] {
        let resolver = Arc::new(FirstAcceptable {
            keys: keys.iter().map(|p| Arc::new(certified(p))).collect(),
            seen: Mutex::new(Vec::new()),
        });
        let (_, mut sc) = configs(p256);
        sc.cert_resolver = resolver.clone();
        let pins = [p384.cert_der.clone(), p256.cert_der.clone()];
        let mut cc = ClientConfig::with_pinned_certs(pins.to_vec());
        cc.versions = vec![version];
        cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
        let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
        let mut server = Connection::server(Arc::new(sc));
        let got = pump(&mut client, &mut server);
        match want {
            Some(p) => {
                assert_eq!(got, Ok(()), "{version:?}");
                let presented = &client.negotiated().unwrap().peer_certificates[0];
                assert_eq!(presented, &p.cert_der, "{version:?}");
            }
            None => assert_eq!(
                got,
                Err(Error::HandshakeFailure(
                    "certificate key on a curve the client did not offer"
                ))
            ),
        }
        let seen = resolver.seen.lock().unwrap();
        assert_eq!(
            seen.as_slice(),
            [(
                version,
                vec![NamedGroup::X25519, NamedGroup::Secp256r1],
                true
            )]
        );
    }
}
