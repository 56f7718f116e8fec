//! Interop with rustls (ring provider, TLS 1.3 only), in process over memory
//! buffers: our engine's `pending_tls`/`feed` on one side, rustls's
//! `write_tls`/`read_tls` on the other. Each test moves 1 MiB each way and
//! closes with close_notify both ways (ours first, then rustls's answer).
//! Also: the OCSP response a rustls server staples reaches our verifier.

use std::sync::{Arc, Mutex};

use rustls::crypto::CryptoProvider;
use rustls::{HandshakeKind, SupportedCipherSuite};
use tls_core::{
    CipherSuite, Connection, NamedGroup, Negotiated, ProtocolVersion, ServerCertVerified,
    ServerCertVerifier, ServerConfig, UnixTime,
};
use tls_tests::rustls_peer::{self, RustlsView, GROUPS as ALL_GROUPS, TLS13_SUITES};
use tls_tests::{client_config, pki, server_config, KeyType, MIB};

fn all_suites() -> Vec<SupportedCipherSuite> {
    TLS13_SUITES.iter().map(|(_, s)| *s).collect()
}

/// A rustls TLS 1.3 server with these suites and groups and ALPN protocols.
fn rustls_server(
    key_type: KeyType,
    provider: Arc<CryptoProvider>,
    alpn: &[&[u8]],
) -> rustls::Connection {
    let mut config = rustls_peer::server_config(key_type, provider);
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    rustls_peer::server(config)
}

/// A rustls TLS 1.3 client with these suites and groups and ALPN protocols.
fn rustls_client(provider: Arc<CryptoProvider>, alpn: &[&[u8]]) -> rustls::Connection {
    let mut config = rustls_peer::client_config(provider);
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    rustls_peer::client(config)
}

/// 1 MiB each way and close_notify both ways (see [`rustls_peer::exchange`]).
fn exchange(ours: &mut Connection, theirs: &mut rustls::Connection) -> (Negotiated, RustlsView) {
    rustls_peer::exchange(ours, theirs, MIB)
}

fn assert_agree(ours: &Negotiated, theirs: &RustlsView) {
    assert_eq!(ours.version, ProtocolVersion::Tls13);
    assert_eq!(
        Some(ours.suite.to_wire()),
        theirs.suite,
        "both sides name the same suite"
    );
    assert_eq!(
        Some(ours.group.to_wire()),
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
    let mut server = rustls_server(
        key_type,
        rustls_peer::provider(&[rustls_peer::suite(suite)], &ALL_GROUPS),
        &[],
    );
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
    let provider = rustls_peer::provider(&all_suites(), &[NamedGroup::Secp256r1]);
    let mut server = rustls_server(KeyType::EcdsaP256, provider, &[]);
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
    let provider = rustls_peer::provider(&all_suites(), &ALL_GROUPS);
    let mut server = rustls_server(KeyType::EcdsaP256, provider, &[b"h2", b"http/1.1"]);
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
) -> (Negotiated, RustlsView) {
    let mut client = rustls_client(provider, alpn);
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
    let rustls_suite = rustls_peer::suite(suite);
    for group in ALL_GROUPS {
        // rustls sends its key share for its first group.
        let provider = rustls_peer::provider(&[rustls_suite], &[group]);
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
        let provider = rustls_peer::provider(&all_suites(), &ALL_GROUPS);
        rustls_vs_server(server_config(key_type), provider, &[]);
    }
}

#[test]
fn server_hello_retry_vs_rustls() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.groups = vec![NamedGroup::Secp256r1];
    // rustls's first group (and so its key share) is X25519.
    let provider =
        rustls_peer::provider(&all_suites(), &[NamedGroup::X25519, NamedGroup::Secp256r1]);
    let (ours, _) = rustls_vs_server(config, provider, &[]);
    assert!(ours.hello_retry);
    assert_eq!(ours.group, NamedGroup::Secp256r1);
}

#[test]
fn server_alpn_vs_rustls() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let provider = rustls_peer::provider(&all_suites(), &ALL_GROUPS);
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
        let server_config = rustls_peer::stapling_server_config(
            KeyType::EcdsaP256,
            rustls_peer::provider(&all_suites(), &ALL_GROUPS),
            staple.clone(),
        );
        let mut server = rustls_peer::server(server_config);
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
