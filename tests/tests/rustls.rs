//! Interop with rustls (ring provider, TLS 1.3 only), in process over memory
//! buffers: our engine's `pending_tls`/`feed` on one side, rustls's
//! `write_tls`/`read_tls` on the other. Each test moves 1 MiB each way and
//! closes with close_notify both ways (ours first, then rustls's answer).
//! Also: the OCSP response a rustls server staples reaches our verifier.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use rustls::crypto::{ring as provider, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{HandshakeKind, RootCertStore, SupportedCipherSuite};
use tls_core::{
    CipherSuite, Connection, Event, NamedGroup, Negotiated, ProtocolVersion, ServerCertVerified,
    ServerCertVerifier, ServerConfig, UnixTime,
};
use tls_tests::{assert_same_bytes, client_config, payload, pki, server_config, KeyType, MIB};

const SUITES: [(CipherSuite, SupportedCipherSuite); 3] = [
    (
        CipherSuite::Tls13Aes128GcmSha256,
        provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        CipherSuite::Tls13Aes256GcmSha384,
        provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

fn rustls_group(group: NamedGroup) -> &'static dyn SupportedKxGroup {
    match group {
        NamedGroup::X25519 => provider::kx_group::X25519,
        NamedGroup::Secp256r1 => provider::kx_group::SECP256R1,
        NamedGroup::Secp384r1 => provider::kx_group::SECP384R1,
        other => panic!("no rustls group for {other:?}"),
    }
}

const ALL_GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

/// A ring provider limited to these suites and groups (in this order).
fn provider_with(suites: &[SupportedCipherSuite], groups: &[NamedGroup]) -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: suites.to_vec(),
        kx_groups: groups.iter().map(|&g| rustls_group(g)).collect(),
        ..provider::default_provider()
    })
}

fn all_suites() -> Vec<SupportedCipherSuite> {
    SUITES.iter().map(|(_, s)| *s).collect()
}

fn rustls_server(
    key_type: KeyType,
    provider: Arc<CryptoProvider>,
    alpn: &[&[u8]],
) -> rustls::ServerConnection {
    let p = pki();
    let leaf = p.leaf(key_type);
    let chain = vec![
        CertificateDer::from(leaf.cert_der.clone()),
        CertificateDer::from(p.ca_der.clone()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("rustls accepts the test key");
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    rustls::ServerConnection::new(Arc::new(config)).expect("rustls server")
}

fn rustls_client(provider: Arc<CryptoProvider>, alpn: &[&[u8]]) -> rustls::ClientConnection {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki().ca_der.clone()))
        .expect("test CA");
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    let name = ServerName::try_from("localhost").expect("name");
    rustls::ClientConnection::new(Arc::new(config), name).expect("rustls client")
}

/// What rustls saw.
struct TheirView {
    suite: u16,
    group: u16,
    alpn: Option<Vec<u8>>,
    kind: Option<HandshakeKind>,
}

/// Moves 1 MiB each way between our connection and rustls's, then closes:
/// ours sends close_notify, rustls answers with its own. Every loop is
/// bounded; a stall (a round with no progress) fails the test.
fn exchange(ours: &mut Connection, theirs: &mut rustls::Connection) -> (Negotiated, TheirView) {
    let ours_out = payload(11, MIB);
    let theirs_out = payload(12, MIB);
    let mut ours_sent = 0;
    let mut theirs_sent = 0;
    let mut ours_in = Vec::with_capacity(MIB);
    let mut theirs_in = Vec::with_capacity(MIB);
    let mut ours_closed = false;
    let mut theirs_saw_close = false;
    let mut theirs_closed = false;
    let mut handshake_events = 0;
    let mut buf = vec![0u8; 64 * 1024];

    for round in 0..100_000 {
        let mut progress = false;

        // Application data in, a bounded amount per round.
        if ours_sent < ours_out.len() && ours.pending_tls().len() < 64 * 1024 {
            let end = (ours_sent + 16 * 1024).min(ours_out.len());
            ours.write(&ours_out[ours_sent..end]).expect("our write");
            ours_sent = end;
            progress = true;
        }
        if theirs_sent < theirs_out.len() {
            let end = (theirs_sent + 16 * 1024).min(theirs_out.len());
            let n = theirs
                .writer()
                .write(&theirs_out[theirs_sent..end])
                .expect("rustls write");
            theirs_sent += n;
            progress |= n > 0;
        }

        // Our records to rustls.
        while !ours.pending_tls().is_empty() {
            let mut pending = ours.pending_tls();
            let n = theirs.read_tls(&mut pending).expect("rustls read_tls");
            if n == 0 {
                break;
            }
            ours.consume_tls(n);
            progress = true;
            if let Err(e) = theirs.process_new_packets() {
                panic!("rustls rejected our records: {e}");
            }
            // Keep rustls's plaintext buffer from filling.
            loop {
                match theirs.reader().read(&mut buf) {
                    Ok(0) => {
                        theirs_saw_close = true;
                        break;
                    }
                    Ok(k) => theirs_in.extend_from_slice(&buf[..k]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("rustls read: {e}"),
                }
            }
        }

        // rustls's records to us.
        let mut wire = Vec::new();
        while theirs.wants_write() {
            theirs.write_tls(&mut wire).expect("rustls write_tls");
        }
        if !wire.is_empty() {
            progress = true;
            if let Err(e) = ours.feed(&wire) {
                panic!("our engine rejected rustls's records: {e}");
            }
        }
        loop {
            let k = ours.read(&mut buf);
            if k == 0 {
                break;
            }
            ours_in.extend_from_slice(&buf[..k]);
            progress = true;
        }
        while let Some(event) = ours.next_event() {
            match event {
                Event::HandshakeComplete => handshake_events += 1,
                Event::PeerClosed => {}
                other => panic!("unexpected event {other:?}"),
            }
        }

        // Closing: ours first once all data is across, then rustls answers.
        if !ours_closed
            && ours_sent == ours_out.len()
            && ours_in.len() == theirs_out.len()
            && theirs_in.len() == ours_out.len()
        {
            ours.close();
            ours_closed = true;
            progress = true;
        }
        if theirs_saw_close && !theirs_closed {
            theirs.send_close_notify();
            theirs_closed = true;
            progress = true;
        }
        if ours.peer_closed()
            && ours_closed
            && ours.pending_tls().is_empty()
            && !theirs.wants_write()
        {
            break;
        }
        assert!(progress, "stalled in round {round}: ours sent {ours_sent}, got {}; rustls sent {theirs_sent}, got {}", ours_in.len(), theirs_in.len());
    }

    assert!(ours.peer_closed(), "we saw rustls's close_notify");
    assert!(theirs_saw_close, "rustls saw our close_notify");
    assert_eq!(handshake_events, 1, "one HandshakeComplete event");
    assert_same_bytes("rustls received", &theirs_in, &ours_out);
    assert_same_bytes("we received", &ours_in, &theirs_out);

    let negotiated = ours.negotiated().cloned().expect("negotiated");
    let view = TheirView {
        suite: u16::from(theirs.negotiated_cipher_suite().expect("suite").suite()),
        group: u16::from(
            theirs
                .negotiated_key_exchange_group()
                .expect("group")
                .name(),
        ),
        alpn: theirs.alpn_protocol().map(|a| a.to_vec()),
        kind: theirs.handshake_kind(),
    };
    (negotiated, view)
}

fn assert_agree(ours: &Negotiated, theirs: &TheirView) {
    assert_eq!(ours.version, ProtocolVersion::Tls13);
    assert_eq!(
        ours.suite.to_wire(),
        theirs.suite,
        "both sides name the same suite"
    );
    assert_eq!(
        ours.group.to_wire(),
        theirs.group,
        "both sides name the same group"
    );
    assert_eq!(
        ours.alpn, theirs.alpn,
        "both sides name the same ALPN protocol"
    );
    let their_hrr = theirs.kind == Some(HandshakeKind::FullWithHelloRetryRequest);
    assert_eq!(
        ours.hello_retry, their_hrr,
        "both sides agree on HelloRetryRequest"
    );
}

// ---- our client, rustls server ----

fn client_vs_rustls(key_type: KeyType, suite: CipherSuite, group: NamedGroup) {
    let (_, rustls_suite) = *SUITES.iter().find(|(s, _)| *s == suite).expect("suite");
    let mut server = rustls::Connection::from(rustls_server(
        key_type,
        provider_with(&[rustls_suite], &ALL_GROUPS),
        &[],
    ));
    let mut config = client_config(key_type);
    config.groups = vec![group];
    let mut client = Connection::client(Arc::new(config), Some("localhost")).expect("our client");
    let (ours, theirs) = exchange(&mut client, &mut server);
    assert_agree(&ours, &theirs);
    assert_eq!(ours.suite, suite);
    assert_eq!(ours.group, group);
    assert!(!ours.hello_retry);
    assert_eq!(
        ours.peer_certificates.first(),
        Some(&pki().leaf(key_type).cert_der)
    );
}

#[test]
fn client_every_group_aes128_gcm_vs_rustls() {
    for group in ALL_GROUPS {
        client_vs_rustls(KeyType::EcdsaP256, CipherSuite::Tls13Aes128GcmSha256, group);
    }
}

#[test]
fn client_every_group_aes256_gcm_vs_rustls() {
    for group in ALL_GROUPS {
        client_vs_rustls(KeyType::EcdsaP256, CipherSuite::Tls13Aes256GcmSha384, group);
    }
}

#[test]
fn client_every_group_chacha20_vs_rustls() {
    for group in ALL_GROUPS {
        client_vs_rustls(
            KeyType::EcdsaP256,
            CipherSuite::Tls13Chacha20Poly1305Sha256,
            group,
        );
    }
}

#[test]
fn client_every_cert_type_vs_rustls() {
    for key_type in [KeyType::EcdsaP384, KeyType::Ed25519, KeyType::Rsa2048] {
        client_vs_rustls(
            key_type,
            CipherSuite::Tls13Aes128GcmSha256,
            NamedGroup::X25519,
        );
    }
}

#[test]
fn client_hello_retry_vs_rustls() {
    let provider = provider_with(&all_suites(), &[NamedGroup::Secp256r1]);
    let mut server = rustls::Connection::from(rustls_server(KeyType::EcdsaP256, provider, &[]));
    let mut config = client_config(KeyType::EcdsaP256);
    config.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
    let mut client = Connection::client(Arc::new(config), Some("localhost")).expect("our client");
    let (ours, theirs) = exchange(&mut client, &mut server);
    assert_agree(&ours, &theirs);
    assert!(ours.hello_retry);
    assert_eq!(ours.group, NamedGroup::Secp256r1);
}

#[test]
fn client_alpn_vs_rustls() {
    let provider = provider_with(&all_suites(), &ALL_GROUPS);
    let mut server = rustls::Connection::from(rustls_server(
        KeyType::EcdsaP256,
        provider,
        &[b"h2", b"http/1.1"],
    ));
    let mut config = client_config(KeyType::EcdsaP256);
    config.alpn_protocols = vec![b"x-unknown".to_vec(), b"http/1.1".to_vec()];
    let mut client = Connection::client(Arc::new(config), Some("localhost")).expect("our client");
    let (ours, theirs) = exchange(&mut client, &mut server);
    assert_agree(&ours, &theirs);
    assert_eq!(ours.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

// ---- rustls client, our server ----

fn rustls_vs_server(
    config: ServerConfig,
    provider: Arc<CryptoProvider>,
    alpn: &[&[u8]],
) -> (Negotiated, TheirView) {
    let mut client = rustls::Connection::from(rustls_client(provider, alpn));
    let mut server = Connection::server(Arc::new(config));
    let (ours, theirs) = exchange(&mut server, &mut client);
    assert_agree(&ours, &theirs);
    assert_eq!(
        ours.server_name.as_deref(),
        Some("localhost"),
        "SNI from rustls"
    );
    assert!(ours.peer_certificates.is_empty(), "no client certificate");
    (ours, theirs)
}

fn server_suite_vs_rustls(suite: CipherSuite) {
    let (_, rustls_suite) = *SUITES.iter().find(|(s, _)| *s == suite).expect("suite");
    for group in ALL_GROUPS {
        // rustls sends its key share for its first group.
        let provider = provider_with(&[rustls_suite], &[group]);
        let (ours, _) = rustls_vs_server(server_config(KeyType::EcdsaP256), provider, &[]);
        assert_eq!(ours.suite, suite);
        assert_eq!(ours.group, group);
        assert!(!ours.hello_retry);
    }
}

#[test]
fn server_every_group_aes128_gcm_vs_rustls() {
    server_suite_vs_rustls(CipherSuite::Tls13Aes128GcmSha256);
}

#[test]
fn server_every_group_aes256_gcm_vs_rustls() {
    server_suite_vs_rustls(CipherSuite::Tls13Aes256GcmSha384);
}

#[test]
fn server_every_group_chacha20_vs_rustls() {
    server_suite_vs_rustls(CipherSuite::Tls13Chacha20Poly1305Sha256);
}

#[test]
fn server_every_cert_type_vs_rustls() {
    for key_type in KeyType::ALL {
        let provider = provider_with(&all_suites(), &ALL_GROUPS);
        rustls_vs_server(server_config(key_type), provider, &[]);
    }
}

#[test]
fn server_hello_retry_vs_rustls() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.groups = vec![NamedGroup::Secp256r1];
    // rustls's first group (and so its key share) is X25519.
    let provider = provider_with(&all_suites(), &[NamedGroup::X25519, NamedGroup::Secp256r1]);
    let (ours, _) = rustls_vs_server(config, provider, &[]);
    assert!(ours.hello_retry);
    assert_eq!(ours.group, NamedGroup::Secp256r1);
}

#[test]
fn server_alpn_vs_rustls() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let provider = provider_with(&all_suites(), &ALL_GROUPS);
    let (ours, _) = rustls_vs_server(config, provider, &[b"x-unknown", b"h2"]);
    assert_eq!(ours.alpn.as_deref(), Some(&b"h2"[..]));
}

// ---- OCSP stapling: rustls's staple reaches our verifier ----

/// Our usual verifier, keeping the stapled responses it is handed.
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Vec<Vec<u8>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, tls_core::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, now)
    }

    fn verify_stapled_ocsp(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        response: &[u8],
        _now: UnixTime,
    ) -> Result<(), tls_core::Error> {
        self.seen.lock().expect("lock").push(response.to_vec());
        Ok(())
    }
}

#[test]
fn client_takes_the_rustls_staple_when_it_asks() {
    // rustls staples these bytes as they are (it does not parse them).
    let staple = vec![0x30, 0x03, 0x0a, 0x01, 0x00];
    for ask in [true, false] {
        let p = pki();
        let leaf = p.leaf(KeyType::EcdsaP256);
        let chain = vec![
            CertificateDer::from(leaf.cert_der.clone()),
            CertificateDer::from(p.ca_der.clone()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
        let server_config =
            rustls::ServerConfig::builder_with_provider(provider_with(&all_suites(), &ALL_GROUPS))
                .with_protocol_versions(&[&rustls::version::TLS13])
                .expect("TLS 1.3")
                .with_no_client_auth()
                .with_single_cert_with_ocsp(chain, key, staple.clone())
                .expect("rustls accepts the test key");
        let mut server = rustls::Connection::from(
            rustls::ServerConnection::new(Arc::new(server_config)).expect("rustls server"),
        );
        let mut config = client_config(KeyType::EcdsaP256);
        let verifier = Arc::new(Recording {
            inner: config.verifier.clone(),
            seen: Mutex::new(Vec::new()),
        });
        config.verifier = verifier.clone();
        config.request_ocsp = ask;
        let mut client = Connection::client(Arc::new(config), Some("localhost")).expect("client");
        let (ours, theirs) = exchange(&mut client, &mut server);
        assert_agree(&ours, &theirs);
        let expected = ask.then(|| staple.clone());
        assert_eq!(ours.ocsp_response, expected);
        let seen = verifier.seen.lock().expect("lock").clone();
        assert_eq!(seen, expected.into_iter().collect::<Vec<_>>());
    }
}
