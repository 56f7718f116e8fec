//! The post-quantum hybrid groups against rustls with its aws-lc-rs provider
//! (ring has no ML-KEM), both directions, in process over memory buffers:
//! the group each side reports, and whether a HelloRetryRequest was needed.
//! No OpenSSL peer: Debian bookworm's OpenSSL 3.0 has no ML-KEM (3.5 has).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::HandshakeKind;
use tls_core::{ClientConfig, Connection, NamedGroup, Negotiated, ProtocolVersion, ServerConfig};
use tls_tests::rustls_peer::{self, RustlsView};
use tls_tests::{client_config, server_config, KeyType};

/// rustls's defaults with aws-lc-rs and its prefer-post-quantum order.
const RUSTLS_PQ_DEFAULT: [NamedGroup; 4] = [
    NamedGroup::X25519MlKem768,
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

/// 64 KiB each way and close_notify both ways; both sides must agree on
/// TLS 1.3, the group and whether there was a HelloRetryRequest. Returns
/// the group and that.
fn agreed(ours: &mut Connection, theirs: &mut rustls::Connection) -> (NamedGroup, bool) {
    let (n, view): (Negotiated, RustlsView) = rustls_peer::exchange(ours, theirs, 64 * 1024);
    assert_eq!(n.version, ProtocolVersion::Tls13);
    assert_eq!(
        Some(n.group.to_wire()),
        view.group,
        "both sides name the same group"
    );
    let their_hrr = view.kind == Some(HandshakeKind::FullWithHelloRetryRequest);
    assert_eq!(n.hello_retry, their_hrr, "both sides agree on the retry");
    (n.group, n.hello_retry)
}

fn ours_as_client(config: ClientConfig, provider: Arc<CryptoProvider>) -> (NamedGroup, bool) {
    let mut theirs = rustls_peer::server(rustls_peer::server_config(KeyType::EcdsaP256, provider));
    let mut ours = Connection::client(Arc::new(config), Some("localhost")).expect("our client");
    agreed(&mut ours, &mut theirs)
}

fn ours_as_server(config: ServerConfig, provider: Arc<CryptoProvider>) -> (NamedGroup, bool) {
    let mut theirs = rustls_peer::client(rustls_peer::client_config(provider));
    let mut ours = Connection::server(Arc::new(config));
    agreed(&mut ours, &mut theirs)
}

#[test]
fn our_default_client_and_rustls_agree_on_x25519mlkem768() {
    let provider = rustls_peer::aws_lc_rs_provider(&RUSTLS_PQ_DEFAULT);
    let got = ours_as_client(client_config(KeyType::EcdsaP256), provider);
    assert_eq!(got, (NamedGroup::X25519MlKem768, false));
}

#[test]
fn rustls_and_our_default_server_agree_on_x25519mlkem768() {
    let provider = rustls_peer::aws_lc_rs_provider(&RUSTLS_PQ_DEFAULT);
    let got = ours_as_server(server_config(KeyType::EcdsaP256), provider);
    assert_eq!(got, (NamedGroup::X25519MlKem768, false));
}

#[test]
fn secp256r1mlkem768_both_ways() {
    let group = NamedGroup::Secp256r1MlKem768;
    let mut config = client_config(KeyType::EcdsaP256);
    config.groups = vec![group];
    let provider = rustls_peer::aws_lc_rs_provider(&[group]);
    assert_eq!(ours_as_client(config, provider.clone()), (group, false));
    let mut config = server_config(KeyType::EcdsaP256);
    config.groups = vec![group];
    assert_eq!(ours_as_server(config, provider), (group, false));
}

/// Our client's hybrid share alone, to a rustls server without the hybrid
/// (ring): a HelloRetryRequest for X25519, answered.
#[test]
fn a_retry_from_a_classical_rustls_server_is_answered() {
    let mut config = client_config(KeyType::EcdsaP256);
    config.groups = vec![NamedGroup::X25519MlKem768, NamedGroup::X25519];
    config.classical_share_with_hybrid = false;
    let suites: Vec<_> = rustls_peer::TLS13_SUITES.iter().map(|(_, s)| *s).collect();
    let provider = rustls_peer::provider(&suites, &[NamedGroup::X25519]);
    assert_eq!(ours_as_client(config, provider), (NamedGroup::X25519, true));
}

/// Our server with only the hybrid, to a rustls client that sends an X25519
/// share first: our HelloRetryRequest asks for the hybrid and gets it.
#[test]
fn our_retry_for_the_hybrid_is_answered_by_rustls() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.groups = vec![NamedGroup::X25519MlKem768];
    let provider =
        rustls_peer::aws_lc_rs_provider(&[NamedGroup::X25519, NamedGroup::X25519MlKem768]);
    assert_eq!(
        ours_as_server(config, provider),
        (NamedGroup::X25519MlKem768, true)
    );
}
