//! Our client against our server, in memory: every suite and group, HRR,
//! ALPN, SNI, bulk data and close_notify.

use std::sync::Arc;

use tls_core::{
    CertifiedKey, CipherSuite, ClientConfig, Connection, Error, Event, NamedGroup, ServerConfig,
};

mod support;
use support::*;

#[test]
fn every_suite_and_group_completes_and_moves_data() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    for suite in tls_core::config::DEFAULT_CIPHER_SUITES {
        for group in tls_core::config::DEFAULT_GROUPS {
            let (mut cc, mut sc) = configs(&p);
            cc.cipher_suites = vec![suite];
            cc.groups = vec![group];
            sc.groups = vec![group];
            let (mut client, mut server) = handshake(cc, sc);
            let n = client.negotiated().unwrap();
            assert_eq!((n.suite, n.group, n.hello_retry), (suite, group, false));
            let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
            client.write(&big).unwrap();
            server.write(b"pong").unwrap();
            pump(&mut client, &mut server).unwrap();
            assert_eq!(read_all(&mut server), big);
            assert_eq!(read_all(&mut client), b"pong");
            client.close();
            pump(&mut client, &mut server).unwrap();
            assert!(server.peer_closed());
            assert_eq!(server.next_event(), Some(Event::PeerClosed));
        }
    }
}

#[test]
fn hello_retry_when_the_share_is_not_wanted() {
    let p = pki(&rcgen::PKCS_ED25519);
    let (mut cc, mut sc) = configs(&p);
    cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp384r1];
    sc.groups = vec![NamedGroup::Secp384r1];
    sc.cipher_suites = vec![CipherSuite::Tls13Aes256GcmSha384];
    let (client, server) = handshake(cc, sc);
    for conn in [&client, &server] {
        let n = conn.negotiated().unwrap();
        assert!(n.hello_retry);
        assert_eq!(n.group, NamedGroup::Secp384r1);
        assert_eq!(n.suite, CipherSuite::Tls13Aes256GcmSha384);
    }
}

#[test]
fn alpn_and_sni_are_agreed() {
    let p = pki(&rcgen::PKCS_ECDSA_P384_SHA384);
    let (mut cc, mut sc) = configs(&p);
    cc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    let (client, server) = handshake(cc, sc);
    assert_eq!(
        client.negotiated().unwrap().alpn.as_deref(),
        Some(&b"http/1.1"[..])
    );
    assert_eq!(
        server.negotiated().unwrap().server_name.as_deref(),
        Some("localhost")
    );
    assert_eq!(
        client.negotiated().unwrap().peer_certificates,
        vec![p.cert_der.clone()]
    );
}

#[test]
fn no_common_alpn_is_refused() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (mut cc, mut sc) = configs(&p);
    cc.alpn_protocols = vec![b"h2".to_vec()];
    sc.alpn_protocols = vec![b"imap".to_vec()];
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    assert_eq!(
        pump(&mut client, &mut server),
        Err(Error::NoApplicationProtocol)
    );
    let alert = server.pending_tls().to_vec();
    assert_eq!(
        client.feed(&alert),
        Err(Error::AlertReceived(
            tls_core::AlertDescription::NoApplicationProtocol
        ))
    );
}

#[test]
fn unpinned_certificate_is_refused() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let other = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (_, sc) = configs(&p);
    let cc = ClientConfig::with_pinned_certs(vec![other.cert_der]);
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    let err = pump(&mut client, &mut server).unwrap_err();
    assert!(matches!(err, Error::BadCertificate(_)), "{err:?}");
    assert_eq!(client.write(b"x"), Err(err));
}

/// A client verifier that pins certificates and may allow clients without one.
struct ClientPins {
    pins: tls_core::PinnedCertVerifier,
    mandatory: bool,
}

impl tls_core::ClientCertVerifier for ClientPins {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: tls_core::UnixTime,
    ) -> Result<tls_core::ClientCertVerified, Error> {
        self.pins.verify_client_cert(end_entity, intermediates, now)
    }

    fn mandatory(&self) -> bool {
        self.mandatory
    }
}

/// A handshake where the server pins `pinned` as the client certificate and
/// the client presents `client` (if any).
fn mtls(
    client: Option<&Pki>,
    pinned: &Pki,
    mandatory: bool,
) -> (Connection, Connection, Result<(), Error>) {
    let server_pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (mut cc, mut sc) = configs(&server_pki);
    if let Some(p) = client {
        let key = CertifiedKey::from_pem(p.cert_pem.as_bytes(), p.key_pem.as_bytes()).unwrap();
        cc.client_cert = Some(Arc::new(key));
    }
    let pins = tls_core::PinnedCertVerifier::new(vec![pinned.cert_der.clone()]);
    sc.client_verifier = Some(Arc::new(ClientPins { pins, mandatory }));
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    let result = pump(&mut client, &mut server);
    (client, server, result)
}

#[test]
fn client_certificate_is_verified_and_exposed() {
    let client_pki = pki(&rcgen::PKCS_ED25519);
    let (mut client, mut server, result) = mtls(Some(&client_pki), &client_pki, true);
    result.unwrap();
    assert_eq!(
        server.negotiated().unwrap().peer_certificates,
        vec![client_pki.cert_der.clone()]
    );
    client.write(b"authenticated").unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(read_all(&mut server), b"authenticated");
}

#[test]
fn missing_client_certificate_is_certificate_required() {
    let some = pki(&rcgen::PKCS_ED25519);
    let (_, server, result) = mtls(None, &some, true);
    assert_eq!(result, Err(Error::CertificateRequired));
    assert_eq!(server.error(), Some(&Error::CertificateRequired));
}

#[test]
fn optional_client_certificate_may_be_absent() {
    let some = pki(&rcgen::PKCS_ED25519);
    let (client, server, result) = mtls(None, &some, false);
    result.unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
    assert!(server.negotiated().unwrap().peer_certificates.is_empty());
}

#[test]
fn unpinned_client_certificate_is_bad_certificate() {
    let (ours, other) = (pki(&rcgen::PKCS_ED25519), pki(&rcgen::PKCS_ED25519));
    let (_, server, result) = mtls(Some(&ours), &other, true);
    assert!(
        matches!(result, Err(Error::BadCertificate(_))),
        "{result:?}"
    );
    assert!(matches!(server.error(), Some(Error::BadCertificate(_))));
}

#[test]
fn key_updates_both_ways_keep_data_intact() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let (mut client, mut server) = handshake(cc, sc);
    for round in 0..3u8 {
        client.update_keys(true).unwrap();
        client.write(&[round; 40_000]).unwrap();
        server.update_keys(false).unwrap();
        server.write(&[round + 100; 30_000]).unwrap();
        pump(&mut client, &mut server).unwrap();
        assert_eq!(read_all(&mut server), vec![round; 40_000]);
        assert_eq!(read_all(&mut client), vec![round + 100; 30_000]);
    }
}

#[test]
fn exporters_agree_and_depend_on_label_and_context() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let (client, server) = handshake(cc, sc);
    let export = |conn: &Connection, label: &[u8], context: Option<&[u8]>| {
        let mut out = [0u8; 32];
        conn.export_keying_material(&mut out, label, context)
            .unwrap();
        out
    };
    let a = export(&client, b"EXPERIMENTAL test", Some(b"ctx"));
    assert_eq!(a, export(&server, b"EXPERIMENTAL test", Some(b"ctx")));
    assert_ne!(a, export(&client, b"EXPERIMENTAL other", Some(b"ctx")));
    assert_ne!(a, export(&client, b"EXPERIMENTAL test", Some(b"")));
    // TLS 1.3: no context and an empty context are the same.
    assert_eq!(
        export(&client, b"l", None),
        export(&server, b"l", Some(b""))
    );
}

#[test]
fn key_update_flood_is_refused() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let (mut client, mut server) = handshake(cc, sc);
    for _ in 0..40 {
        client.update_keys(false).unwrap();
    }
    let flood = client.pending_tls().to_vec();
    assert_eq!(
        server.feed(&flood),
        Err(Error::UnexpectedMessage("KeyUpdate flood"))
    );
    let fatal = std::iter::from_fn(|| server.next_event()).last();
    assert_eq!(
        fatal,
        Some(Event::Fatal {
            error: Error::UnexpectedMessage("KeyUpdate flood"),
            alert_sent: Some(tls_core::AlertDescription::UnexpectedMessage),
        })
    );
}

/// A fixed clock the test moves by hand.
struct TestClock(std::sync::atomic::AtomicU64);

impl tls_core::Clock for TestClock {
    fn now(&self) -> tls_core::UnixTime {
        tls_core::UnixTime(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// A full handshake that leaves tickets in the client config's store.
fn connect_and_collect_tickets(
    cc: &Arc<ClientConfig>,
    sc: &Arc<ServerConfig>,
) -> (Connection, Connection) {
    let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
    let mut server = Connection::server(sc.clone());
    pump(&mut client, &mut server).unwrap();
    (client, server)
}

#[test]
fn tickets_resume_sessions_on_both_sides() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    let (first, _) = connect_and_collect_tickets(&cc, &sc);
    assert!(!first.negotiated().unwrap().resumed);
    let (mut client, mut server) = connect_and_collect_tickets(&cc, &sc);
    for conn in [&client, &server] {
        assert!(
            conn.negotiated().unwrap().resumed,
            "{:?}",
            conn.negotiated()
        );
    }
    assert_eq!(
        client.negotiated().unwrap().peer_certificates,
        vec![p.cert_der.clone()]
    );
    client.write(b"resumed data").unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(read_all(&mut server), b"resumed data");
}

#[test]
fn resumption_survives_hello_retry_and_keeps_the_client_certificate() {
    let server_pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let client_pki = pki(&rcgen::PKCS_ED25519);
    let (mut cc, mut sc) = configs(&server_pki);
    cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
    sc.groups = vec![NamedGroup::Secp256r1];
    let key = CertifiedKey::from_pem(
        client_pki.cert_pem.as_bytes(),
        client_pki.key_pem.as_bytes(),
    )
    .unwrap();
    cc.client_cert = Some(Arc::new(key));
    let pins = tls_core::PinnedCertVerifier::new(vec![client_pki.cert_der.clone()]);
    sc.client_verifier = Some(Arc::new(ClientPins {
        pins,
        mandatory: true,
    }));
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    connect_and_collect_tickets(&cc, &sc);
    let (client, server) = connect_and_collect_tickets(&cc, &sc);
    let n = server.negotiated().unwrap();
    assert!(n.resumed && n.hello_retry);
    assert_eq!(n.peer_certificates, vec![client_pki.cert_der.clone()]);
    assert!(client.negotiated().unwrap().resumed);
}

#[test]
fn tickets_from_another_server_or_expired_fall_back_to_a_full_handshake() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let clock = Arc::new(TestClock(std::sync::atomic::AtomicU64::new(1_000_000)));
    let (mut cc, sc) = configs(&p);
    cc.clock = clock.clone();
    let cc = Arc::new(cc);
    let with_clock = |sc: ServerConfig| {
        let mut sc = sc;
        sc.clock = clock.clone();
        sc.ticketer = Some(Arc::new(
            tls_core::RotatingTicketer::new(sc.rng.clone(), 3600, clock.now()).unwrap(),
        ));
        Arc::new(sc)
    };
    use tls_core::Clock;
    let sc = with_clock(sc);
    let other = with_clock(configs(&p).1);
    connect_and_collect_tickets(&cc, &sc);
    // Another server's ticketer cannot open the ticket: a full handshake.
    let (client, server) = connect_and_collect_tickets(&cc, &other);
    assert!(!client.negotiated().unwrap().resumed && !server.negotiated().unwrap().resumed);
    // Two hours later the (one hour) tickets from `sc` have expired.
    connect_and_collect_tickets(&cc, &sc);
    clock.0.fetch_add(7200, std::sync::atomic::Ordering::SeqCst);
    let (client, _) = connect_and_collect_tickets(&cc, &sc);
    assert!(!client.negotiated().unwrap().resumed);
}

#[test]
fn a_wrong_binder_is_decrypt_error() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    connect_and_collect_tickets(&cc, &sc);
    let client = Connection::client(cc, Some("localhost")).unwrap();
    let mut hello = client.pending_tls().to_vec();
    // The binder is the last bytes of the ClientHello (pre_shared_key is last).
    let last = hello.len() - 1;
    hello[last] ^= 1;
    let mut server = Connection::server(sc);
    assert_eq!(
        server.feed(&hello),
        Err(Error::DecryptError("bad PSK binder"))
    );
    assert_eq!(server.pending_tls(), [21, 3, 3, 0, 2, 2, 51]);
}

/// A session store that corrupts every ticket it hands out.
struct TamperingStore(tls_core::MemorySessionStore);

impl tls_core::ClientSessionStore for TamperingStore {
    fn put(&self, server_name: &str, ticket: tls_core::StoredTicket) {
        self.0.put(server_name, ticket);
    }

    fn take(&self, server_name: &str, now: tls_core::UnixTime) -> Option<tls_core::StoredTicket> {
        let mut ticket = self.0.take(server_name, now)?;
        ticket.tamper_for_test();
        Some(ticket)
    }
}

#[test]
fn a_tampered_ticket_gives_a_full_handshake() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (mut cc, sc) = configs(&p);
    cc.session_store = Some(Arc::new(TamperingStore(tls_core::MemorySessionStore::new(
        4,
    ))));
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    connect_and_collect_tickets(&cc, &sc);
    let (client, server) = connect_and_collect_tickets(&cc, &sc);
    assert!(!client.negotiated().unwrap().resumed);
    assert!(!server.negotiated().unwrap().resumed);
}

// ---- rejected 0-RTT data, alerts on the wire, server-side ticket expiry ----

/// `record` (our client's ClientHello in one plaintext record) with an
/// early_data extension added at the end, the lengths fixed up. Our client
/// never offers early data; a server must reject it all the same.
fn with_early_data_extension(record: &[u8]) -> Vec<u8> {
    let mut out = record.to_vec();
    // record header 5, handshake header 4, version 2, random 32.
    let mut at = 5 + 4 + 2 + 32;
    at += 1 + usize::from(out[at]); // session id
    at += 2 + usize::from(u16::from_be_bytes([out[at], out[at + 1]])); // cipher suites
    at += 1 + usize::from(out[at]); // compression methods
    let ext_len = u16::from_be_bytes([out[at], out[at + 1]]) + 4;
    out[at..at + 2].copy_from_slice(&ext_len.to_be_bytes());
    assert_eq!(
        at + 2 + usize::from(ext_len) - 4,
        out.len(),
        "one ClientHello"
    );
    out.extend_from_slice(&[0x00, 0x2a, 0x00, 0x00]);
    let hs_len = u32::from_be_bytes([0, out[6], out[7], out[8]]) + 4;
    out[6..9].copy_from_slice(&hs_len.to_be_bytes()[1..]);
    let rec_len = u16::from_be_bytes([out[3], out[4]]) + 4;
    out[3..5].copy_from_slice(&rec_len.to_be_bytes());
    out
}

/// An application_data record no key opens: what 0-RTT data looks like to
/// a server that rejected it. `len` is the record body length.
fn undecryptable_record(len: usize) -> Vec<u8> {
    let mut record = vec![23, 3, 3];
    record.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
    record.extend((0..len).map(|i| (i * 7 + 3) as u8));
    record
}

/// A full-size protected record body (16 KiB of data, type byte, AES-GCM tag).
const FULL_RECORD: usize = 16384 + 1 + 16;

#[test]
fn rejected_early_data_is_skipped_and_bounded() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let hello = with_early_data_extension(client.pending_tls());
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&hello).unwrap();
    // The server answered with its whole flight, without early_data.
    assert!(server.wants_write());
    // 0-RTT records after the ClientHello are skipped, their bytes dropped:
    // two small ones and three full ones (within the 64 KiB the server skips).
    for len in [100, 100, FULL_RECORD, FULL_RECORD, FULL_RECORD] {
        server.feed(&undecryptable_record(len)).unwrap();
    }
    assert_eq!(server.plaintext_len(), 0);
    assert!(server.error().is_none());
    // One more full record is more early data than the server skips.
    let too_much = Error::UnexpectedMessage("too much early data");
    assert_eq!(
        server.feed(&undecryptable_record(FULL_RECORD)),
        Err(too_much.clone())
    );
    let fatal = std::iter::from_fn(|| server.next_event()).last();
    assert_eq!(
        fatal,
        Some(Event::Fatal {
            error: too_much,
            alert_sent: Some(tls_core::AlertDescription::UnexpectedMessage),
        })
    );
}

#[test]
fn early_data_is_not_skipped_unless_offered() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let hello = client.pending_tls().to_vec();
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&hello).unwrap();
    assert_eq!(
        server.feed(&undecryptable_record(100)),
        Err(Error::BadRecordMac)
    );
}

#[test]
fn early_data_before_a_hello_retry_request_is_skipped() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (mut cc, mut sc) = configs(&p);
    cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
    sc.groups = vec![NamedGroup::Secp256r1];
    let sc = Arc::new(sc);
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let hello = with_early_data_extension(client.pending_tls());
    client.consume_tls(client.pending_tls().len());
    let mut server = Connection::server(sc.clone());
    server.feed(&hello).unwrap();
    let retry = server.pending_tls().to_vec();
    server.consume_tls(retry.len());
    // The client's 0-RTT records came before it saw the HelloRetryRequest:
    // the server has no key at all for them, and skips them.
    for len in [100, FULL_RECORD] {
        server.feed(&undecryptable_record(len)).unwrap();
    }
    client.feed(&retry).unwrap();
    let second_hello = client.pending_tls().to_vec();
    server.feed(&second_hello).unwrap();
    assert!(
        server.wants_write(),
        "the server answered the second ClientHello"
    );
    assert_eq!(server.plaintext_len(), 0);
    // After the second ClientHello nothing is skipped any more.
    server.consume_tls(server.pending_tls().len());
    assert_eq!(
        server.feed(&undecryptable_record(100)),
        Err(Error::BadRecordMac)
    );

    // The skipping is bounded here too; the alert goes out in plaintext.
    let mut client = Connection::client(client_config_with_groups(&p), Some("localhost")).unwrap();
    let hello = with_early_data_extension(client.pending_tls());
    client.consume_tls(client.pending_tls().len());
    let mut server = Connection::server(sc);
    server.feed(&hello).unwrap();
    server.consume_tls(server.pending_tls().len());
    for _ in 0..3 {
        server.feed(&undecryptable_record(FULL_RECORD)).unwrap();
    }
    assert_eq!(
        server.feed(&undecryptable_record(FULL_RECORD)),
        Err(Error::UnexpectedMessage("too much early data"))
    );
    assert_eq!(server.pending_tls(), [21, 3, 3, 0, 2, 2, 10]);
}

fn client_config_with_groups(p: &Pki) -> Arc<ClientConfig> {
    let (mut cc, _) = configs(p);
    cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
    Arc::new(cc)
}

#[test]
fn certificate_required_reaches_the_client_as_an_alert() {
    let some = pki(&rcgen::PKCS_ED25519);
    let (mut client, mut server, result) = mtls(None, &some, true);
    assert_eq!(result, Err(Error::CertificateRequired));
    let fatal = std::iter::from_fn(|| server.next_event()).last();
    assert_eq!(
        fatal,
        Some(Event::Fatal {
            error: Error::CertificateRequired,
            alert_sent: Some(tls_core::AlertDescription::CertificateRequired),
        })
    );
    // The client finished its side first; the alert (116) ends it.
    let alert = server.pending_tls().to_vec();
    assert_eq!(
        client.feed(&alert),
        Err(Error::AlertReceived(
            tls_core::AlertDescription::CertificateRequired
        ))
    );
    assert_eq!(
        tls_core::AlertDescription::CertificateRequired.to_wire(),
        116
    );
}

#[test]
fn key_update_flood_alert_reaches_the_peer() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, sc) = configs(&p);
    let (mut client, mut server) = handshake(cc, sc);
    // 32 KeyUpdates without data are fine; data resets the count.
    for _ in 0..32 {
        client.update_keys(false).unwrap();
    }
    client.write(b"data").unwrap();
    for _ in 0..32 {
        client.update_keys(false).unwrap();
    }
    pump(&mut client, &mut server).unwrap();
    assert_eq!(read_all(&mut server), b"data");
    client.update_keys(false).unwrap();
    let flood = client.pending_tls().to_vec();
    client.consume_tls(flood.len());
    assert_eq!(
        server.feed(&flood),
        Err(Error::UnexpectedMessage("KeyUpdate flood"))
    );
    let alert = server.pending_tls().to_vec();
    assert_eq!(
        client.feed(&alert),
        Err(Error::AlertReceived(
            tls_core::AlertDescription::UnexpectedMessage
        ))
    );
}

/// A session store that counts the tickets it hands out.
struct CountingStore {
    inner: tls_core::MemorySessionStore,
    taken: std::sync::atomic::AtomicUsize,
}

impl tls_core::ClientSessionStore for CountingStore {
    fn put(&self, server_name: &str, ticket: tls_core::StoredTicket) {
        self.inner.put(server_name, ticket);
    }

    fn take(&self, server_name: &str, now: tls_core::UnixTime) -> Option<tls_core::StoredTicket> {
        let ticket = self.inner.take(server_name, now)?;
        self.taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(ticket)
    }
}

#[test]
fn a_ticket_expired_by_the_servers_clock_gives_a_full_handshake() {
    use tls_core::Clock;
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let server_clock = Arc::new(TestClock(std::sync::atomic::AtomicU64::new(1_000_000)));
    let (mut cc, mut sc) = configs(&p);
    let store = Arc::new(CountingStore {
        inner: tls_core::MemorySessionStore::new(4),
        taken: Default::default(),
    });
    cc.session_store = Some(store.clone());
    sc.clock = server_clock.clone();
    sc.ticketer = Some(Arc::new(
        tls_core::RotatingTicketer::new(sc.rng.clone(), 3600, server_clock.now()).unwrap(),
    ));
    let (cc, sc) = (Arc::new(cc), Arc::new(sc));
    connect_and_collect_tickets(&cc, &sc);
    // Only the server's clock moves: the client still offers the ticket.
    server_clock
        .0
        .fetch_add(3600, std::sync::atomic::Ordering::SeqCst);
    let (client, server) = connect_and_collect_tickets(&cc, &sc);
    assert_eq!(store.taken.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(!client.negotiated().unwrap().resumed);
    assert!(!server.negotiated().unwrap().resumed);
    assert!(client.error().is_none() && server.error().is_none());
    // A minute short of the lifetime, a fresh ticket still resumes.
    server_clock
        .0
        .fetch_add(3540, std::sync::atomic::Ordering::SeqCst);
    let (client, server) = connect_and_collect_tickets(&cc, &sc);
    assert!(client.negotiated().unwrap().resumed && server.negotiated().unwrap().resumed);
}

/// A TLS 1.3 ClientHello record offering a pre_shared_key, with or without
/// psk_key_exchange_modes.
fn hello_with_psk(modes: bool) -> Vec<u8> {
    use tls_core::internal::msgs::extensions::{
        ClientExtension as C, KeyShareEntry, OfferedPsks, PskIdentity,
    };
    use tls_core::internal::msgs::handshake::{ClientHello, HandshakeMessage};
    use tls_core::{ProtocolVersion, SignatureScheme};
    let mut extensions = vec![
        C::SupportedVersions(vec![ProtocolVersion::Tls13]),
        C::SupportedGroups(vec![NamedGroup::X25519]),
        C::SignatureAlgorithms(vec![
            SignatureScheme::EcdsaSecp256r1Sha256,
            SignatureScheme::Ed25519,
        ]),
        C::KeyShare(vec![KeyShareEntry {
            group: NamedGroup::X25519,
            key_exchange: vec![9; 32],
        }]),
    ];
    if modes {
        extensions.push(C::PskKeyExchangeModes(vec![1]));
    }
    extensions.push(C::PreSharedKey(OfferedPsks {
        identities: vec![PskIdentity {
            identity: vec![0x55; 40],
            obfuscated_ticket_age: 0,
        }],
        binders: vec![vec![0; 32]],
    }));
    let hello = HandshakeMessage::ClientHello(ClientHello {
        legacy_version: 0x0303,
        random: [7; 32],
        session_id: vec![],
        cipher_suites: vec![CipherSuite::Tls13Aes128GcmSha256],
        compression_methods: vec![0],
        extensions,
    });
    let mut record = tls_core::internal::record::buffer::RecordBuffer::new();
    tls_core::internal::record::protect::frame_plaintext(
        tls_core::internal::msgs::enums::ContentType::Handshake,
        &hello.to_vec(),
        &mut record,
    );
    record.as_slice().to_vec()
}

/// Regression (found by the differential fuzzer against rustls): RFC 8446
/// §4.2.9 — a pre_shared_key offered without psk_key_exchange_modes MUST
/// abort the handshake, even when the server would not resume anyway.
#[test]
fn psk_without_psk_key_exchange_modes_is_refused() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (_, sc) = configs(&p);
    let sc = Arc::new(sc);
    let mut server = Connection::server(sc.clone());
    assert_eq!(
        server.feed(&hello_with_psk(false)),
        Err(Error::MissingExtension("psk_key_exchange_modes"))
    );
    // With the modes, the unknown ticket just means a full handshake.
    let mut server = Connection::server(sc);
    server.feed(&hello_with_psk(true)).unwrap();
    assert_eq!(server.pending_tls()[..1], [22], "a ServerHello follows");
}

/// A handshake record holding `first` then `then`.
fn one_record(first: &[u8], then: &[u8]) -> Vec<u8> {
    let mut record = tls_core::internal::record::buffer::RecordBuffer::new();
    tls_core::internal::record::protect::frame_plaintext(
        tls_core::internal::msgs::enums::ContentType::Handshake,
        &[first, then].concat(),
        &mut record,
    );
    record.as_slice().to_vec()
}

/// Regression (found by the differential fuzzer against rustls): RFC 8446
/// §5.1 — a hello must end its record. A HelloRetryRequest followed by more
/// handshake bytes in the same record, and a ClientHello likewise, are
/// refused (before, both were accepted: no key change followed to check it).
#[test]
fn hello_retry_request_and_client_hello_must_end_their_record() {
    use tls_core::internal::msgs::extensions::HrrExtension;
    use tls_core::internal::msgs::handshake::{HandshakeMessage, HelloRetryRequest};
    use tls_core::ProtocolVersion;
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (mut cc, sc) = configs(&p);
    cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp384r1];
    let cc = Arc::new(cc);
    let hrr_for = |client: &Connection| {
        let hello = client.pending_tls();
        let sid_len = usize::from(hello[43]);
        HandshakeMessage::HelloRetryRequest(HelloRetryRequest {
            legacy_version: 0x0303,
            session_id: hello[44..44 + sid_len].to_vec(),
            cipher_suite: CipherSuite::Tls13Aes128GcmSha256,
            compression_method: 0,
            extensions: vec![
                HrrExtension::SupportedVersions(ProtocolVersion::Tls13),
                HrrExtension::KeyShare(NamedGroup::Secp384r1),
            ],
        })
        .to_vec()
    };
    // Alone in its record, the retry is answered with a second ClientHello.
    let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
    let hrr = hrr_for(&client);
    let n = client.pending_tls().len();
    client.consume_tls(n);
    client.feed(&one_record(&hrr, &[])).unwrap();
    assert!(!client.pending_tls().is_empty());
    // Followed by the start of another message, it is refused.
    let mut client = Connection::client(cc, Some("localhost")).unwrap();
    let hrr = hrr_for(&client);
    assert!(matches!(
        client.feed(&one_record(&hrr, &[2, 0, 0, 40])),
        Err(Error::UnexpectedMessage(_))
    ));

    // The server: a ClientHello with a partial message after it.
    let mut server = Connection::server(Arc::new(sc));
    let record = hello_with_psk(true);
    assert!(matches!(
        server.feed(&one_record(&record[5..], &[20, 0, 0, 32])),
        Err(Error::UnexpectedMessage(_))
    ));
}

/// Regression (found by the differential fuzzer against rustls): RFC 8446
/// §9.2 — a ClientHello without pre_shared_key must carry
/// signature_algorithms; one that lacks it is refused at once, not after a
/// HelloRetryRequest (an empty key_share here would draw one).
#[test]
fn missing_signature_algorithms_is_refused_before_a_retry() {
    use tls_core::internal::msgs::extensions::ClientExtension as C;
    use tls_core::internal::msgs::handshake::{ClientHello, HandshakeMessage};
    use tls_core::{ProtocolVersion, SignatureScheme};
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (_, sc) = configs(&p);
    let sc = Arc::new(sc);
    let hello = |sigs: bool| {
        let mut extensions = vec![
            C::SupportedVersions(vec![ProtocolVersion::Tls13]),
            C::SupportedGroups(vec![NamedGroup::X25519]),
            C::KeyShare(vec![]),
        ];
        if sigs {
            extensions.push(C::SignatureAlgorithms(vec![
                SignatureScheme::EcdsaSecp256r1Sha256,
            ]));
        }
        let m = HandshakeMessage::ClientHello(ClientHello {
            legacy_version: 0x0303,
            random: [7; 32],
            session_id: vec![],
            cipher_suites: vec![CipherSuite::Tls13Aes128GcmSha256],
            compression_methods: vec![0],
            extensions,
        });
        one_record(&m.to_vec(), &[])
    };
    let mut server = Connection::server(sc.clone());
    server.feed(&hello(true)).unwrap();
    assert_eq!(server.pending_tls()[..1], [22], "a HelloRetryRequest");
    let mut server = Connection::server(sc);
    assert_eq!(
        server.feed(&hello(false)),
        Err(Error::MissingExtension("signature_algorithms"))
    );
}

/// Regression (found by the differential fuzzer against rustls): RFC 8446
/// §5.1 — no record may come between the fragments of a handshake message,
/// not even the compatibility ChangeCipherSpec that is otherwise dropped.
#[test]
fn change_cipher_spec_between_handshake_fragments_is_refused() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cc, _) = configs(&p);
    let cc = Arc::new(cc);
    let ccs = [20, 3, 3, 0, 1, 1];
    // Alone, before the ServerHello, it is dropped.
    let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
    client.feed(&ccs).unwrap();
    // After the first byte of a handshake message, it is refused.
    let mut client = Connection::client(cc, Some("localhost")).unwrap();
    let mut wire = vec![22, 3, 3, 0, 1, 2];
    wire.extend_from_slice(&ccs);
    assert!(matches!(
        client.feed(&wire),
        Err(Error::UnexpectedMessage(_))
    ));
}

/// A client verifier with its own acceptance rule, refusing every client.
struct RefusesAll;

impl tls_core::ClientCertVerifier for RefusesAll {
    fn verify_client_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _now: tls_core::UnixTime,
    ) -> Result<tls_core::ClientCertVerified, Error> {
        Err(Error::CertificateUnknown("refused by the application"))
    }
}

/// BoGo's CertificateVerificationFail-*-CustomCallback-*: a verifier's own
/// refusal goes out as certificate_unknown (RFC 8446 §6.2: "some other
/// (unspecified) issue arose in processing the certificate").
#[test]
fn a_verifier_refusal_of_its_own_is_certificate_unknown() {
    let client_pki = pki(&rcgen::PKCS_ED25519);
    let server_pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (mut cc, mut sc) = configs(&server_pki);
    let key = CertifiedKey::from_pem(
        client_pki.cert_pem.as_bytes(),
        client_pki.key_pem.as_bytes(),
    )
    .unwrap();
    cc.client_cert = Some(Arc::new(key));
    sc.client_verifier = Some(Arc::new(RefusesAll));
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    let refused = Error::CertificateUnknown("refused by the application");
    assert_eq!(pump(&mut client, &mut server), Err(refused.clone()));
    let fatal = std::iter::from_fn(|| server.next_event()).last();
    assert_eq!(
        fatal,
        Some(Event::Fatal {
            error: refused,
            alert_sent: Some(tls_core::AlertDescription::CertificateUnknown),
        })
    );
    let alert = server.pending_tls().to_vec();
    assert_eq!(
        client.feed(&alert),
        Err(Error::AlertReceived(
            tls_core::AlertDescription::CertificateUnknown
        ))
    );
}

/// BoGo's SkipEarlyData-HRR-Interleaved-TLS13: rejected 0-RTT data between
/// two fragments of the second ClientHello is unexpected_message (RFC 8446
/// §5.1: handshake messages are not interleaved with other record types).
#[test]
fn early_data_inside_the_second_client_hello_is_unexpected_message() {
    let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (_, mut sc) = configs(&p);
    sc.groups = vec![NamedGroup::Secp256r1];
    let mut client = Connection::client(client_config_with_groups(&p), Some("localhost")).unwrap();
    let hello = with_early_data_extension(client.pending_tls());
    client.consume_tls(client.pending_tls().len());
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&hello).unwrap();
    client.feed(server.pending_tls()).unwrap();
    server.consume_tls(server.pending_tls().len());
    // The client's records: a compatibility ChangeCipherSpec, then the
    // second ClientHello in one handshake record.
    let mut wire = client.pending_tls().to_vec();
    let mut records = Vec::new();
    while !wire.is_empty() {
        let len = 5 + usize::from(u16::from_be_bytes([wire[3], wire[4]]));
        records.push(wire.drain(..len).collect::<Vec<u8>>());
    }
    let second_hello = records.pop().unwrap();
    assert_eq!(second_hello[0], 22, "a handshake record last");
    for record in &records {
        server.feed(record).unwrap();
    }
    let fragment = |body: &[u8]| {
        let mut r = vec![22, 3, 3];
        r.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        r.extend_from_slice(body);
        r
    };
    server.feed(&fragment(&second_hello[5..21])).unwrap();
    assert_eq!(
        server.feed(&undecryptable_record(100)),
        Err(Error::UnexpectedMessage(
            "record interleaved with a handshake message"
        ))
    );
}

/// BoGo's ClientHelloPadding: a ClientHello of 256 to 511 bytes is padded to
/// 512 (RFC 7685 §4, the F5 workaround), and the server still accepts it;
/// shorter and longer hellos (the default one, with its X25519MLKEM768
/// share, is about 1.5 KB) are left alone.
#[test]
fn a_client_hello_between_256_and_511_bytes_is_padded_to_512() {
    let long_name = format!("{}.example", "a".repeat(200));
    for (groups, name, want) in [
        (vec![NamedGroup::X25519], long_name.as_str(), Some(512)),
        (vec![NamedGroup::X25519], "localhost", None),
        (Vec::new(), "localhost", None),
    ] {
        let (mut cc, _) = configs(pki_p256());
        if !groups.is_empty() {
            cc.groups = groups;
        }
        let client = Connection::client(Arc::new(cc), Some(name)).unwrap();
        let wire = client.pending_tls();
        let payload = usize::from(u16::from_be_bytes([wire[3], wire[4]]));
        assert_eq!(wire.len(), 5 + payload, "one record");
        match want {
            Some(len) => assert_eq!(payload, len, "{name}"),
            None => assert!(!(256..512).contains(&payload), "{payload}"),
        }
    }
    // A padded hello completes a handshake.
    let (mut cc, sc) = configs(pki_p256());
    cc.groups = vec![NamedGroup::X25519];
    let mut client = Connection::client(Arc::new(cc), Some(&long_name)).unwrap();
    assert_eq!(client.pending_tls().len(), 5 + 512);
    let mut server = Connection::server(Arc::new(sc));
    pump(&mut client, &mut server).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
}

/// The record types in `wire`, one per record.
fn record_types(wire: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut rest = wire;
    while let [typ, _, _, hi, lo, ..] = *rest {
        types.push(typ);
        rest = &rest[5 + usize::from(u16::from_be_bytes([hi, lo]))..];
    }
    types
}

/// BoGo's PackedEncryptedHandshake-TLS13: each encrypted flight shares
/// records (RFC 8446 §5.1): the server's EncryptedExtensions through Finished
/// in one record, the client's Certificate through Finished in one, and the
/// server's tickets in one.
#[test]
fn each_encrypted_flight_goes_out_in_one_record() {
    const HANDSHAKE: u8 = 22;
    const CCS: u8 = 20;
    const PROTECTED: u8 = 23;
    let (mut cc, mut sc) = configs(pki_p256());
    let (cert, key) = cert_and_key(pki_p256());
    cc.client_cert = Some(Arc::new(
        CertifiedKey::new(vec![cert.clone()], key).unwrap(),
    ));
    sc.client_verifier = Some(Arc::new(tls_core::verify::PinnedCertVerifier::new(vec![
        cert,
    ])));
    sc.session_tickets = 2;
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    server.feed(&take(&mut client)).unwrap();
    let flight = take(&mut server);
    assert_eq!(record_types(&flight), [HANDSHAKE, CCS, PROTECTED]);
    client.feed(&flight).unwrap();
    let flight = take(&mut client);
    assert_eq!(record_types(&flight), [CCS, PROTECTED]);
    server.feed(&flight).unwrap();
    assert_eq!(record_types(&take(&mut server)), [PROTECTED], "two tickets");
    client.feed(&[]).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
}
