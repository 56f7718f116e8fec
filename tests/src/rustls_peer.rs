//! rustls (ring provider; aws-lc-rs for the post-quantum hybrids) as an
//! in-process peer: its configs built from the test PKI, and pumps that move
//! records between a rustls connection and one of ours over memory buffers
//! (our `pending_tls`/`consume_tls`/`feed`, its `read_tls`/`write_tls`), for
//! either side and either TLS version.
//!
//! The versions a config enables follow its provider's suites: a provider
//! with only TLS 1.3 suites gives a TLS 1.3-only peer.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tls_core::{CipherSuite, Connection};
//! use tls_tests::rustls_peer::{self, GROUPS};
//! use tls_tests::{client_config, KeyType};
//!
//! let suite = rustls_peer::suite(CipherSuite::Tls13Aes128GcmSha256);
//! let provider = rustls_peer::provider(&[suite], &GROUPS);
//! let mut theirs = rustls_peer::server(rustls_peer::server_config(KeyType::EcdsaP256, provider));
//! let mut ours =
//!     Connection::client(Arc::new(client_config(KeyType::EcdsaP256)), Some("localhost")).unwrap();
//! let (negotiated, view) = rustls_peer::exchange(&mut ours, &mut theirs, 64 * 1024);
//! assert_eq!(Some(negotiated.suite.to_wire()), view.suite);
//! ```

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::crypto::{ring as ring_provider, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{HandshakeKind, RootCertStore, SupportedCipherSuite, SupportedProtocolVersion};
use tls_core::{CipherSuite, Connection, Event, NamedGroup, Negotiated};

use crate::data::{assert_same_bytes, payload};
use crate::pki::{pki, KeyType};

/// The TLS 1.3 suites both sides have: ours and rustls's names.
pub const TLS13_SUITES: [(CipherSuite, SupportedCipherSuite); 3] = [
    (
        CipherSuite::Tls13Aes128GcmSha256,
        ring_provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        CipherSuite::Tls13Aes256GcmSha384,
        ring_provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        ring_provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// The TLS 1.2 suites both sides have, with a test key type that suits each.
pub const TLS12_SUITES: [(CipherSuite, SupportedCipherSuite, KeyType); 6] = [
    (
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        ring_provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        KeyType::EcdsaP256,
    ),
    (
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        ring_provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        KeyType::EcdsaP384,
    ),
    (
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        ring_provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        KeyType::Ed25519,
    ),
    (
        CipherSuite::EcdheRsaAes128GcmSha256,
        ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaAes256GcmSha384,
        ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        ring_provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        KeyType::Rsa2048,
    ),
];

/// The key-exchange groups both sides have (rustls's ring defaults, in its order).
pub const GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

/// rustls's suite for our `suite` (TLS 1.3 or 1.2); panics for one it lacks.
pub fn suite(suite: CipherSuite) -> SupportedCipherSuite {
    TLS13_SUITES
        .iter()
        .copied()
        .chain(TLS12_SUITES.iter().map(|&(ours, theirs, _)| (ours, theirs)))
        .find(|&(ours, _)| ours == suite)
        .map(|(_, theirs)| theirs)
        .unwrap_or_else(|| panic!("no rustls suite for {suite:?}"))
}

/// rustls's key-exchange group for our `group`.
pub fn kx_group(group: NamedGroup) -> &'static dyn SupportedKxGroup {
    match group {
        NamedGroup::X25519 => ring_provider::kx_group::X25519,
        NamedGroup::Secp256r1 => ring_provider::kx_group::SECP256R1,
        NamedGroup::Secp384r1 => ring_provider::kx_group::SECP384R1,
        other => panic!("no rustls group for {other:?}"),
    }
}

/// A ring provider limited to these suites and groups (in this order; a
/// client sends its key share for the first group).
pub fn provider(suites: &[SupportedCipherSuite], groups: &[NamedGroup]) -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: suites.to_vec(),
        kx_groups: groups.iter().map(|&g| kx_group(g)).collect(),
        ..ring_provider::default_provider()
    })
}

/// rustls's aws-lc-rs provider with these groups, in this order (a client
/// sends a key share for the first; when that is X25519MLKEM768, also one
/// for X25519), and aws-lc-rs's default suites: the peer for the
/// post-quantum hybrids, which ring lacks. Its groups: X25519MLKEM768,
/// SecP256r1MLKEM768 and the classical ones (not SecP384r1MLKEM1024).
pub fn aws_lc_rs_provider(groups: &[NamedGroup]) -> Arc<CryptoProvider> {
    use rustls::crypto::aws_lc_rs::{default_provider, kx_group as kx};
    let group = |g: NamedGroup| -> &'static dyn SupportedKxGroup {
        match g {
            NamedGroup::X25519MlKem768 => kx::X25519MLKEM768,
            NamedGroup::Secp256r1MlKem768 => kx::SECP256R1MLKEM768,
            NamedGroup::X25519 => kx::X25519,
            NamedGroup::Secp256r1 => kx::SECP256R1,
            NamedGroup::Secp384r1 => kx::SECP384R1,
            other => panic!("no rustls aws-lc-rs group for {other:?}"),
        }
    };
    Arc::new(CryptoProvider {
        kx_groups: groups.iter().map(|&g| group(g)).collect(),
        ..default_provider()
    })
}

/// The protocol versions of the provider's suites (TLS 1.3 first).
fn versions(provider: &CryptoProvider) -> Vec<&'static SupportedProtocolVersion> {
    let has = |tls13: bool| {
        provider
            .cipher_suites
            .iter()
            .any(|s| matches!(s, SupportedCipherSuite::Tls13(_)) == tls13)
    };
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    if has(true) {
        versions.push(&rustls::version::TLS13);
    }
    if has(false) {
        versions.push(&rustls::version::TLS12);
    }
    versions
}

/// A rustls server config presenting the test `localhost` leaf of
/// `key_type` with the CA as its chain, no client authentication.
pub fn server_config(key_type: KeyType, provider: Arc<CryptoProvider>) -> rustls::ServerConfig {
    stapling_server_config(key_type, provider, Vec::new())
}

/// Like [`server_config`], stapling `staple` as its OCSP response (rustls
/// sends the bytes as they are; empty staples nothing).
pub fn stapling_server_config(
    key_type: KeyType,
    provider: Arc<CryptoProvider>,
    staple: Vec<u8>,
) -> rustls::ServerConfig {
    let p = pki();
    let leaf = p.leaf(key_type);
    let chain = vec![
        CertificateDer::from(leaf.cert_der.clone()),
        CertificateDer::from(p.ca_der.clone()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    let versions = versions(&provider);
    rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert_with_ocsp(chain, key, staple)
        .expect("rustls accepts the test key")
}

/// A rustls client config that trusts the test CA, no client certificate.
pub fn client_config(provider: Arc<CryptoProvider>) -> rustls::ClientConfig {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki().ca_der.clone()))
        .expect("test CA");
    let versions = versions(&provider);
    rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A rustls client connection to `localhost`.
pub fn client(config: impl Into<Arc<rustls::ClientConfig>>) -> rustls::Connection {
    let name = ServerName::try_from("localhost").expect("name");
    rustls::ClientConnection::new(config.into(), name)
        .expect("rustls client")
        .into()
}

/// A rustls server connection.
pub fn server(config: impl Into<Arc<rustls::ServerConfig>>) -> rustls::Connection {
    rustls::ServerConnection::new(config.into())
        .expect("rustls server")
        .into()
}

/// Moves our records to rustls (which processes them); true if any moved.
/// With `plaintext`, also drains rustls's received application data into
/// it and returns whether rustls has seen our close_notify.
fn ours_to_theirs(
    ours: &mut Connection,
    theirs: &mut rustls::Connection,
    mut plaintext: Option<&mut Vec<u8>>,
    saw_close: &mut bool,
) -> bool {
    let mut progress = false;
    let mut buf = vec![0u8; 64 * 1024];
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
        let Some(plaintext) = plaintext.as_deref_mut() else {
            continue;
        };
        // Keep rustls's plaintext buffer from filling.
        loop {
            match theirs.reader().read(&mut buf) {
                Ok(0) => {
                    *saw_close = true;
                    break;
                }
                Ok(k) => plaintext.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("rustls read: {e}"),
            }
        }
    }
    progress
}

/// Moves rustls's records to us; true if any moved.
fn theirs_to_ours(ours: &mut Connection, theirs: &mut rustls::Connection) -> bool {
    let mut wire = Vec::new();
    while theirs.wants_write() {
        theirs.write_tls(&mut wire).expect("rustls write_tls");
    }
    if wire.is_empty() {
        return false;
    }
    if let Err(e) = ours.feed(&wire) {
        panic!("our engine rejected rustls's records: {e}");
    }
    true
}

/// Moves records both ways until neither side has anything to send
/// (application data stays in each side's buffers).
pub fn pump(ours: &mut Connection, theirs: &mut rustls::Connection) {
    for _ in 0..1000 {
        let sent = ours_to_theirs(ours, theirs, None, &mut false);
        let received = theirs_to_ours(ours, theirs);
        if !sent && !received {
            return;
        }
    }
    panic!("the exchange did not settle");
}

/// Completes the handshake and moves 1000 bytes each way.
pub fn establish(ours: &mut Connection, theirs: &mut rustls::Connection) {
    pump(ours, theirs);
    assert!(
        !ours.is_handshaking(),
        "our handshake completed: {:?}",
        ours.error()
    );
    assert!(!theirs.is_handshaking(), "rustls's handshake completed");
    let (a, b) = (payload(1, 1000), payload(2, 1000));
    ours.write(&a).expect("our write");
    theirs.writer().write_all(&b).expect("rustls write");
    pump(ours, theirs);
    let mut got = vec![0u8; b.len()];
    assert_eq!(ours.read(&mut got), b.len());
    assert_eq!(got, b);
    let mut got = vec![0u8; a.len()];
    theirs.reader().read_exact(&mut got).expect("rustls read");
    assert_eq!(got, a);
}

/// What rustls saw of a connection (wire values, to compare with ours).
#[derive(Debug)]
pub struct RustlsView {
    /// The protocol version.
    pub version: Option<rustls::ProtocolVersion>,
    /// The cipher suite's code point.
    pub suite: Option<u16>,
    /// The key-exchange group's code point (none for a resumed TLS 1.2 session).
    pub group: Option<u16>,
    /// The ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// Full, with HelloRetryRequest, or resumed.
    pub kind: Option<HandshakeKind>,
}

/// Moves `len` bytes each way between our connection and rustls's, then
/// closes: ours sends close_notify, rustls answers with its own. Asserts
/// that the data arrived intact, both close_notifys arrived and our side
/// reported the handshake once. Every loop is bounded; a stall (a round
/// with no progress) fails the test.
pub fn exchange(
    ours: &mut Connection,
    theirs: &mut rustls::Connection,
    len: usize,
) -> (Negotiated, RustlsView) {
    let ours_out = payload(11, len);
    let theirs_out = payload(12, len);
    let mut ours_sent = 0;
    let mut theirs_sent = 0;
    let mut ours_in = Vec::with_capacity(len);
    let mut theirs_in = Vec::with_capacity(len);
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

        progress |= ours_to_theirs(ours, theirs, Some(&mut theirs_in), &mut theirs_saw_close);
        progress |= theirs_to_ours(ours, theirs);
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
    let view = RustlsView {
        version: theirs.protocol_version(),
        suite: theirs
            .negotiated_cipher_suite()
            .map(|s| u16::from(s.suite())),
        group: theirs
            .negotiated_key_exchange_group()
            .map(|g| u16::from(g.name())),
        alpn: theirs.alpn_protocol().map(|a| a.to_vec()),
        kind: theirs.handshake_kind(),
    };
    (negotiated, view)
}
