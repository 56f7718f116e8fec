//! Interop with OpenSSL's command-line peers, over TCP on 127.0.0.1.
//!
//! Our client against `openssl s_server -tls1_3 -quiet -naccept 1`: with
//! `-quiet`, s_server copies its stdin to the client and the client's data to
//! its stdout, byte for byte, and exits after the one connection. The test
//! sends 1 MiB, waits until s_server has printed all of it, then feeds 1 MiB
//! into s_server's stdin and reads it; our close_notify makes s_server answer
//! with its own and exit.
//!
//! Our server against `openssl s_client -tls1_3 -quiet`: s_client copies its
//! stdin (kept open) to us and our data to its stdout. Our server reads 1 MiB,
//! writes 1 MiB, sends close_notify; s_client answers with close_notify and
//! exits.
//!
//! `-msg -msgfile FILE` records the records each peer sent and received, so
//! the tests can check the alerts (close_notify, bad_certificate,
//! protocol_version) from the peer's side.

use std::sync::Arc;
use tls_core::{CipherSuite, ClientConfig, NamedGroup, Negotiated, ProtocolVersion, ServerConfig};
use tls_tests::engine::{connect, EXCHANGE_TIMEOUT};
use tls_tests::openssl_peer::{
    s_client_round_trip, s_server_session, Log, SClient, SClientBuilder, SServer, SServerBuilder,
};
use tls_tests::{
    assert_same_bytes, client_config, payload, pki, server_config, KeyType, OneShotServer, Step,
    MIB, PEER_TIMEOUT,
};

/// `openssl s_server -tls1_3` for one connection with the `key_type` leaf,
/// logging with `-msg`.
fn s_server(key_type: KeyType, extra: &[&str]) -> SServer {
    SServerBuilder::new(key_type)
        .log(Log::Msg)
        .args(&["-tls1_3"])
        .args(extra)
        .start()
}

/// Our client against s_server: handshake, 1 MiB each way, close_notify
/// both ways. Returns what our client negotiated.
fn client_exchange(mut server: SServer, config: ClientConfig) -> Negotiated {
    let to_server = payload(1, MIB);
    let negotiated = s_server_session(&mut server, &Arc::new(config), &to_server, &payload(2, MIB));
    server.peer.wait_success(PEER_TIMEOUT);

    assert_same_bytes("s_server received", &server.peer.stdout(), &to_server);
    let trace = server.msg();
    assert!(
        trace.has_alert(false, "close_notify"),
        "s_server saw our close_notify:\n{trace}"
    );
    assert!(
        trace.has_alert(true, "close_notify"),
        "s_server sent close_notify:\n{trace}"
    );
    negotiated
}

fn assert_common(n: &Negotiated, key_type: KeyType) {
    assert_eq!(n.version, ProtocolVersion::Tls13);
    assert_eq!(
        n.peer_certificates.first(),
        Some(&pki().leaf(key_type).cert_der),
        "server's end-entity certificate"
    );
}

fn client_with_groups(key_type: KeyType, groups: &[NamedGroup]) -> ClientConfig {
    let mut config = client_config(key_type);
    config.groups = groups.to_vec();
    config
}

// ---- our client, openssl s_server ----

fn client_suite(suite: CipherSuite, openssl_name: &str) {
    let server = s_server(KeyType::EcdsaP256, &["-ciphersuites", openssl_name]);
    let n = client_exchange(server, client_config(KeyType::EcdsaP256));
    assert_common(&n, KeyType::EcdsaP256);
    assert_eq!(n.suite, suite);
    assert!(!n.hello_retry);
}

#[test]
fn client_aes128_gcm_vs_s_server() {
    client_suite(CipherSuite::Tls13Aes128GcmSha256, "TLS_AES_128_GCM_SHA256");
}

#[test]
fn client_aes256_gcm_vs_s_server() {
    client_suite(CipherSuite::Tls13Aes256GcmSha384, "TLS_AES_256_GCM_SHA384");
}

#[test]
fn client_chacha20_poly1305_vs_s_server() {
    client_suite(
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        "TLS_CHACHA20_POLY1305_SHA256",
    );
}

fn client_group(group: NamedGroup, openssl_name: &str) {
    let server = s_server(KeyType::EcdsaP256, &["-groups", openssl_name]);
    let n = client_exchange(server, client_with_groups(KeyType::EcdsaP256, &[group]));
    assert_common(&n, KeyType::EcdsaP256);
    assert_eq!(n.group, group);
    assert!(!n.hello_retry, "our one key share was acceptable");
}

#[test]
fn client_x25519_vs_s_server() {
    client_group(NamedGroup::X25519, "X25519");
}

#[test]
fn client_p256_vs_s_server() {
    client_group(NamedGroup::Secp256r1, "P-256");
}

#[test]
fn client_p384_vs_s_server() {
    client_group(NamedGroup::Secp384r1, "P-384");
}

#[test]
fn client_hello_retry_vs_s_server() {
    let server = s_server(KeyType::EcdsaP256, &["-groups", "P-256"]);
    let config = client_with_groups(
        KeyType::EcdsaP256,
        &[NamedGroup::X25519, NamedGroup::Secp256r1],
    );
    let n = client_exchange(server, config);
    assert_common(&n, KeyType::EcdsaP256);
    assert!(
        n.hello_retry,
        "s_server only takes P-256 and our key share was X25519"
    );
    assert_eq!(n.group, NamedGroup::Secp256r1);
}

#[test]
fn client_alpn_vs_s_server() {
    let server = s_server(KeyType::EcdsaP256, &["-alpn", "h2,http/1.1"]);
    let mut config = client_config(KeyType::EcdsaP256);
    config.alpn_protocols = vec![b"x-unknown".to_vec(), b"http/1.1".to_vec()];
    let n = client_exchange(server, config);
    assert_eq!(n.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

fn client_cert_type(key_type: KeyType) {
    let server = s_server(key_type, &[]);
    let n = client_exchange(server, client_config(key_type));
    assert_common(&n, key_type);
}

#[test]
fn client_vs_s_server_rsa_cert() {
    client_cert_type(KeyType::Rsa2048);
}

#[test]
fn client_vs_s_server_ed25519_cert() {
    client_cert_type(KeyType::Ed25519);
}

#[test]
fn client_vs_s_server_p384_cert() {
    client_cert_type(KeyType::EcdsaP384);
}

#[test]
fn client_pinned_to_another_cert_is_refused_by_us() {
    let mut server = s_server(KeyType::EcdsaP256, &[]);
    let config = ClientConfig::with_pinned_certs(vec![pki().unrelated.cert_der.clone()]);
    let err = match connect(server.port, config, Some("localhost")) {
        Ok(_) => panic!("handshake succeeded against a certificate we did not pin"),
        Err(e) => e,
    };
    let tls = tls_tests::tls_error(&err);
    assert!(
        matches!(tls, Some(tls_core::Error::BadCertificate(_))),
        "our error: {err} ({tls:?})"
    );
    server
        .peer
        .wait(PEER_TIMEOUT)
        .expect("s_server exits after its one connection");
    let trace = server.msg();
    assert!(
        trace.has_alert(false, "bad_certificate"),
        "s_server received bad_certificate:\n{trace}\n{}",
        server.peer.diagnostics()
    );
}

// ---- our server, openssl s_client ----

/// `openssl s_client` (version flags in `extra`) logging with `-msg`.
fn s_client(port: u16, extra: &[&str]) -> SClient {
    SClientBuilder::new(port, "s_client")
        .log(Log::Msg)
        .args(extra)
        .start()
}

/// Our server against s_client: 1 MiB each way, our close_notify first,
/// then s_client's. Returns what our server negotiated.
fn server_exchange(config: ServerConfig, s_client_args: &[&str]) -> Negotiated {
    let mut args = vec!["-tls1_3"];
    args.extend_from_slice(s_client_args);
    // stdin stays open: s_client ends when it sees our close_notify.
    let (outcome, mut client) = s_client_round_trip(
        Arc::new(config),
        &payload(3, MIB),
        &payload(4, MIB),
        |port| s_client(port, &args),
    );
    assert!(
        outcome.saw_close_notify,
        "our server saw s_client's close_notify"
    );
    let trace = client.msg();
    assert!(
        trace.has_alert(false, "close_notify"),
        "s_client saw our close_notify:\n{trace}"
    );
    let n = outcome.negotiated.expect("negotiated");
    assert_eq!(n.version, ProtocolVersion::Tls13);
    assert_eq!(n.server_name.as_deref(), Some("localhost"), "SNI");
    assert!(n.peer_certificates.is_empty(), "no client certificate");
    n
}

fn server_cert_type(key_type: KeyType) {
    let n = server_exchange(server_config(key_type), &[]);
    assert!(!n.hello_retry);
}

#[test]
fn server_p256_cert_vs_s_client() {
    server_cert_type(KeyType::EcdsaP256);
}

#[test]
fn server_p384_cert_vs_s_client() {
    server_cert_type(KeyType::EcdsaP384);
}

#[test]
fn server_ed25519_cert_vs_s_client() {
    server_cert_type(KeyType::Ed25519);
}

#[test]
fn server_rsa_cert_vs_s_client() {
    server_cert_type(KeyType::Rsa2048);
}

fn server_suite(suite: CipherSuite, openssl_name: &str) {
    let n = server_exchange(
        server_config(KeyType::EcdsaP256),
        &["-ciphersuites", openssl_name],
    );
    assert_eq!(n.suite, suite);
}

#[test]
fn server_aes128_gcm_vs_s_client() {
    server_suite(CipherSuite::Tls13Aes128GcmSha256, "TLS_AES_128_GCM_SHA256");
}

#[test]
fn server_aes256_gcm_vs_s_client() {
    server_suite(CipherSuite::Tls13Aes256GcmSha384, "TLS_AES_256_GCM_SHA384");
}

#[test]
fn server_chacha20_poly1305_vs_s_client() {
    server_suite(
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        "TLS_CHACHA20_POLY1305_SHA256",
    );
}

fn server_group(group: NamedGroup, openssl_name: &str) {
    let n = server_exchange(
        server_config(KeyType::EcdsaP256),
        &["-groups", openssl_name],
    );
    assert_eq!(n.group, group);
    assert!(!n.hello_retry);
}

#[test]
fn server_x25519_vs_s_client() {
    server_group(NamedGroup::X25519, "X25519");
}

#[test]
fn server_p256_vs_s_client() {
    server_group(NamedGroup::Secp256r1, "P-256");
}

#[test]
fn server_p384_vs_s_client() {
    server_group(NamedGroup::Secp384r1, "P-384");
}

#[test]
fn server_hello_retry_vs_s_client() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.groups = vec![NamedGroup::Secp256r1];
    // s_client sends a key share for its first group only.
    let n = server_exchange(config, &["-groups", "X25519:P-256"]);
    assert!(n.hello_retry);
    assert_eq!(n.group, NamedGroup::Secp256r1);
}

#[test]
fn server_alpn_vs_s_client() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec()];
    let n = server_exchange(config, &["-alpn", "x-unknown,h2"]);
    assert_eq!(n.alpn.as_deref(), Some(&b"h2"[..]));
}

#[test]
fn server_refuses_tls12_s_client() {
    // A TLS 1.3-only server.
    let mut config = server_config(KeyType::EcdsaP256);
    config.versions = vec![ProtocolVersion::Tls13];
    let server = OneShotServer::start(config, vec![Step::SendClose]);
    let mut client = s_client(server.port, &["-tls1_2"]);
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let failure = outcome
        .failure
        .expect("a TLS 1.2-only client must be refused");
    assert_eq!(failure.step, 0, "refused in the handshake");
    assert_eq!(
        failure.tls,
        Some(tls_core::Error::ProtocolVersion),
        "our error: {}",
        failure.error
    );
    let status = client.peer.wait(PEER_TIMEOUT).expect("s_client exits");
    assert!(!status.success(), "s_client must fail");
    let trace = client.msg();
    assert!(
        trace.has_alert(false, "protocol_version"),
        "s_client received protocol_version:\n{trace}\n{}",
        client.peer.diagnostics()
    );
}
