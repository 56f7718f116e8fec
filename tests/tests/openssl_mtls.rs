//! Mutual TLS 1.3 with OpenSSL, both ways: a client certificate that is
//! accepted (and seen by the server), one that is missing, and one the
//! server does not trust, with the alert each refusal puts on the wire.
//!
//! Our server asks for a certificate through `ServerConfig::client_verifier`
//! (a pin on the client's certificate, mandatory) and `openssl s_client`
//! presents one with `-cert`/`-key` or none. Our client presents
//! `ClientConfig::client_cert` to `openssl s_server -Verify 1 -CAfile ca.pem`
//! (not `-quiet`, so it prints the client certificate it accepted).

use std::sync::Arc;

use tls_core::{AlertDescription, CertifiedKey, ClientConfig, Error, PinnedCertVerifier};
use tls_tests::data::{read_exact_within, read_to_close, write_chunked};
use tls_tests::engine::{connect, Outcome, EXCHANGE_TIMEOUT};
use tls_tests::openssl_peer::{
    s_client, s_client_round_trip, s_server, serve_s_client, SClient, SServer,
};
use tls_tests::{
    assert_same_bytes, client_config, payload, pki, server_config, tls_error, KeyType, Leaf,
    PEER_TIMEOUT,
};

// ---- our server, openssl s_client ----

/// Our server, requiring a client certificate pinned to `pinned`.
fn mtls_server_config(pinned: &Leaf) -> tls_core::ServerConfig {
    let mut config = server_config(KeyType::EcdsaP256);
    config.client_verifier = Some(Arc::new(PinnedCertVerifier::new(vec![pinned
        .cert_der
        .clone()])));
    config
}

fn cert_args(leaf: &Leaf) -> Vec<String> {
    vec![
        "-cert".into(),
        leaf.cert_pem.display().to_string(),
        "-key".into(),
        leaf.key_pem.display().to_string(),
    ]
}

/// s_client (presenting `client_cert`, if any) against our server, which
/// reads a few KiB, answers and closes; with `checked`, through
/// [`s_client_round_trip`] (which asserts that all of it worked).
fn server_run(
    pinned: &Leaf,
    client_cert: Option<&Leaf>,
    tag: &str,
    checked: bool,
) -> (Outcome, SClient) {
    let args = client_cert.map(cert_args).unwrap_or_default();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = Arc::new(mtls_server_config(pinned));
    let (from_client, to_client) = (payload(21, 4096), payload(22, 4096));
    let start = |port| s_client(port, tag, true, &args);
    if checked {
        s_client_round_trip(config, &from_client, &to_client, start)
    } else {
        serve_s_client(config, &from_client, &to_client, start)
    }
}

fn server_accepts(key_type: KeyType) {
    let leaf = pki().leaf(key_type);
    let (outcome, mut client) = server_run(leaf, Some(leaf), key_type.name(), true);
    let n = outcome.negotiated.expect("negotiated");
    assert_eq!(
        n.peer_certificates.first(),
        Some(&leaf.cert_der),
        "our server sees s_client's certificate"
    );
    // s_client may add the CA from its -CAfile as the chain; nothing else.
    assert!(
        n.peer_certificates.len() == 1
            || (n.peer_certificates.len() == 2 && n.peer_certificates[1] == pki().ca_der),
        "client chain: {} certificates",
        n.peer_certificates.len()
    );
    let trace = client.trace();
    assert_eq!(
        trace.messages(false, "CertificateRequest").len(),
        1,
        "{}",
        trace.text
    );
    assert_eq!(trace.messages(true, "Certificate").len(), 1);
    assert_eq!(trace.messages(true, "CertificateVerify").len(), 1);
}

#[test]
fn our_server_accepts_s_client_p256_cert() {
    server_accepts(KeyType::EcdsaP256);
}

#[test]
fn our_server_accepts_s_client_p384_cert() {
    server_accepts(KeyType::EcdsaP384);
}

#[test]
fn our_server_accepts_s_client_ed25519_cert() {
    server_accepts(KeyType::Ed25519);
}

#[test]
fn our_server_accepts_s_client_rsa_cert() {
    server_accepts(KeyType::Rsa2048);
}

/// Our server refuses s_client in the handshake with `error`; s_client
/// receives the error's alert and fails.
fn server_refuses(client_cert: Option<&Leaf>, tag: &str, error: Error) {
    let alert = error
        .alert()
        .expect("an error that sends an alert")
        .to_wire();
    let pinned = pki().leaf(KeyType::Ed25519);
    let (outcome, mut client) = server_run(pinned, client_cert, tag, false);
    let failure = outcome.failure.expect("our server must refuse the client");
    assert_eq!(failure.step, 0, "refused in the handshake");
    assert_eq!(failure.tls, Some(error), "our error: {}", failure.error);
    let status = client.peer.wait(PEER_TIMEOUT).expect("s_client exits");
    assert!(
        !status.success(),
        "s_client fails\n{}",
        client.peer.diagnostics()
    );
    assert!(client.peer.stdout().is_empty(), "no data reached s_client");
    let trace = client.trace();
    assert!(
        trace.has_alert(false, alert),
        "s_client received {alert}\n{}\n{}",
        trace.text,
        client.peer.diagnostics()
    );
}

#[test]
fn our_server_refuses_s_client_without_cert_with_certificate_required() {
    server_refuses(None, "nocert", Error::CertificateRequired);
}

#[test]
fn our_server_refuses_an_unpinned_s_client_cert_with_bad_certificate() {
    server_refuses(
        Some(&pki().unrelated),
        "unpinned",
        Error::BadCertificate("certificate is not pinned"),
    );
}

// ---- our client, openssl s_server -Verify ----

/// s_server requiring a client certificate issued by the test CA.
fn verifying_s_server() -> SServer {
    let ca = pki().ca_pem.display().to_string();
    s_server(
        KeyType::EcdsaP256,
        1,
        false,
        &["-Verify", "1", "-CAfile", &ca, "-verify_return_error"],
    )
}

fn client_with_cert(leaf: &Leaf) -> ClientConfig {
    let mut config = client_config(KeyType::EcdsaP256);
    let key = CertifiedKey::from_pem(&leaf.chain_pem_bytes, &leaf.key_pem_bytes)
        .unwrap_or_else(|e| panic!("load the {:?} client key: {e}", leaf.key_type));
    config.client_cert = Some(Arc::new(key));
    config
}

fn s_server_accepts(key_type: KeyType) {
    let leaf = pki().leaf(key_type);
    let mut server = verifying_s_server();
    let mut stream = connect(server.port, client_with_cert(leaf), Some("localhost"))
        .unwrap_or_else(|e| panic!("handshake failed: {e}\n{}", server.peer.diagnostics()));
    let to_server = payload(23, 4096);
    write_chunked(&mut stream, &to_server, 16 * 1024).expect("write");
    let text = String::from_utf8(to_server).expect("digits");
    assert!(
        server.peer.wait_output_contains(&text, PEER_TIMEOUT),
        "s_server printed our data\n{}",
        server.peer.diagnostics()
    );
    let from_server = payload(24, 4096);
    server.peer.write_stdin(from_server.clone());
    server.peer.finish_stdin_write();
    let got = read_exact_within(&mut stream, from_server.len(), EXCHANGE_TIMEOUT).expect("read");
    assert_same_bytes("our client received", &got, &from_server);
    stream.close_notify().expect("close_notify");
    read_to_close(&mut stream, 0, EXCHANGE_TIMEOUT).expect("s_server's close_notify");
    server
        .peer
        .wait(PEER_TIMEOUT)
        .expect("s_server exits after one connection");

    let out = String::from_utf8_lossy(&server.peer.stdout()).into_owned();
    let cert_pem = std::fs::read_to_string(&leaf.cert_pem).expect("read the leaf PEM");
    assert!(
        out.contains("Client certificate") && out.contains(cert_pem.trim()),
        "s_server shows our certificate\n{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("subject=") && l.contains("CN = localhost"))
            && out
                .lines()
                .any(|l| l.starts_with("issuer=") && l.contains("CN = tls-tests CA")),
        "s_server shows the certificate's subject and issuer\n{out}"
    );
    let trace = server.trace();
    assert_eq!(
        trace.messages(true, "CertificateRequest").len(),
        1,
        "{}",
        trace.text
    );
    assert_eq!(trace.messages(false, "Certificate").len(), 1);
    assert_eq!(trace.messages(false, "CertificateVerify").len(), 1);
}

#[test]
fn s_server_accepts_our_p256_client_cert() {
    s_server_accepts(KeyType::EcdsaP256);
}

#[test]
fn s_server_accepts_our_p384_client_cert() {
    s_server_accepts(KeyType::EcdsaP384);
}

#[test]
fn s_server_accepts_our_ed25519_client_cert() {
    s_server_accepts(KeyType::Ed25519);
}

#[test]
fn s_server_accepts_our_rsa_client_cert() {
    s_server_accepts(KeyType::Rsa2048);
}

/// Our client (with `config`) is refused by s_server: its alert reaches us
/// as `AlertReceived(alert)`, in the handshake or at the first read (a TLS
/// 1.3 client has finished its side before the server judges its
/// certificate).
fn s_server_refuses(config: ClientConfig, alert: AlertDescription) {
    let mut server = verifying_s_server();
    let error = match connect(server.port, config, Some("localhost")) {
        Err(e) => e,
        Ok(mut stream) => match read_exact_within(&mut stream, 1, EXCHANGE_TIMEOUT) {
            Ok(data) => panic!("s_server sent data {data:?} to a refused client"),
            Err(e) => e,
        },
    };
    assert_eq!(
        tls_error(&error),
        Some(Error::AlertReceived(alert)),
        "our error: {error}\n{}",
        server.peer.diagnostics()
    );
    server
        .peer
        .wait(PEER_TIMEOUT)
        .expect("s_server exits after one connection");
    let trace = server.trace();
    assert!(
        trace.has_alert(true, alert.to_wire()),
        "s_server sent {alert:?}\n{}\n{}",
        trace.text,
        server.peer.diagnostics()
    );
    let out = String::from_utf8_lossy(&server.peer.stdout()).into_owned();
    assert!(!out.contains("Client certificate"), "{out}");
}

#[test]
fn s_server_refuses_our_client_without_cert() {
    s_server_refuses(
        client_config(KeyType::EcdsaP256),
        AlertDescription::CertificateRequired,
    );
}

#[test]
fn s_server_refuses_our_untrusted_client_cert() {
    s_server_refuses(
        client_with_cert(&pki().unrelated),
        AlertDescription::UnknownCa,
    );
}
