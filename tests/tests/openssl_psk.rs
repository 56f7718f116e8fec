//! TLS 1.3 external PSKs with OpenSSL's `-psk` (a hex key) and
//! `-psk_identity`, both ways: the handshake is authenticated by the key
//! (no Certificate on the wire, psk in both hellos, psk_dhe_ke with a key
//! share), data flows; a wrong key is refused with decrypt_error and an
//! identity the server does not know gets no PSK handshake.

use std::sync::Arc;
use std::time::Duration;

use tls_core::{AlertDescription, ExternalPsk, NoCertificate, ServerConfig};
use tls_tests::data::read_exact_within;
use tls_tests::engine::{connect, tls_error, Outcome, EXCHANGE_TIMEOUT};
use tls_tests::openssl_peer::{s_client, s_server, serve_s_client, SClient};
use tls_tests::{assert_same_bytes, client_config, payload, server_config, KeyType, PEER_TIMEOUT};

/// The key both ends share, as OpenSSL's `-psk` takes it.
const KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn key() -> Vec<u8> {
    (0..KEY_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY_HEX[i..i + 2], 16).expect("hex"))
        .collect()
}

fn psk(identity: &str, key: Vec<u8>) -> ExternalPsk {
    ExternalPsk::new(identity.as_bytes().to_vec(), key).expect("a valid PSK")
}

/// The trace lines of a ClientHello's psk_key_exchange_modes show psk_dhe_ke.
fn offers_only_psk_dhe_ke(detail: &str) -> bool {
    detail.contains("psk_dhe_ke") && !detail.contains("psk_ke (0)")
}

// ---- our client, openssl s_server -psk ----

#[test]
fn our_client_authenticates_s_server_by_psk() {
    let mut server = s_server(
        KeyType::EcdsaP256,
        1,
        false,
        &["-psk", KEY_HEX, "-psk_identity", "alice"],
    );
    let mut config = client_config(KeyType::EcdsaP256);
    config.external_psk = Some(psk("alice", key()));
    // One X25519 share: the hybrid's 1.2 KB share makes s_server's -trace of
    // the ClientHello cross its -msgfile buffer, and the part still buffered
    // when the test kills s_server is lost (the trace is read after the kill).
    // TLS 1.3 only (a PSK handshake is): the hello stays under 256 bytes, so
    // it is not padded (RFC 7685), whose hex dump would cross the buffer too.
    config.groups = vec![tls_core::NamedGroup::X25519];
    config.versions = vec![tls_core::ProtocolVersion::Tls13];
    let mut stream = connect(server.port, config, Some("localhost"))
        .unwrap_or_else(|e| panic!("PSK handshake: {e}\n{}", server.peer.diagnostics()));
    let negotiated = stream.conn().negotiated().cloned().expect("negotiated");
    assert!(
        negotiated.peer_certificates.is_empty() && !negotiated.resumed,
        "a PSK handshake, not a certificate one: {negotiated:?}"
    );
    let to_server = payload(1, 2048);
    std::io::Write::write_all(&mut stream, &to_server).expect("write");
    let text = String::from_utf8(to_server).expect("digits");
    assert!(
        server.peer.wait_output_contains(&text, PEER_TIMEOUT),
        "s_server did not print our data\n{}",
        server.peer.diagnostics()
    );
    let from_server = payload(2, 2048);
    server.peer.write_stdin(from_server.clone());
    let got = read_exact_within(&mut stream, from_server.len(), EXCHANGE_TIMEOUT)
        .unwrap_or_else(|e| panic!("read: {e}\n{}", server.peer.diagnostics()));
    assert_same_bytes("our client received", &got, &from_server);
    drop(stream);
    server.peer.kill();

    let trace = server.trace();
    let hello = &trace.messages(false, "ClientHello")[0];
    assert!(hello.has_extension("psk"), "{}", trace.text);
    assert!(offers_only_psk_dhe_ke(&hello.detail), "{}", hello.detail);
    let server_hello = &trace.messages(true, "ServerHello")[0];
    assert!(server_hello.has_extension("psk"), "{}", trace.text);
    assert!(server_hello.has_extension("key_share"), "(EC)DHE too");
    assert!(
        trace.messages(true, "Certificate").is_empty(),
        "{}",
        trace.text
    );
    assert!(trace.messages(true, "CertificateVerify").is_empty());
}

#[test]
fn s_server_refuses_our_wrong_psk() {
    let mut server = s_server(
        KeyType::EcdsaP256,
        1,
        false,
        &["-psk", KEY_HEX, "-psk_identity", "alice"],
    );
    let mut wrong = key();
    wrong[0] ^= 1;
    let mut config = client_config(KeyType::EcdsaP256);
    config.external_psk = Some(psk("alice", wrong));
    let err = match connect(server.port, config, Some("localhost")) {
        Ok(_) => panic!("a wrong PSK was accepted"),
        Err(e) => e,
    };
    // RFC 8446 §6.2 names decrypt_error for a binder that does not verify
    // (what our server sends); OpenSSL 3 sends illegal_parameter.
    let alert = match tls_error(&err) {
        Some(tls_core::Error::AlertReceived(alert)) => alert,
        other => panic!("{other:?}: {err}\n{}", server.peer.diagnostics()),
    };
    assert!(
        [
            AlertDescription::DecryptError,
            AlertDescription::IllegalParameter
        ]
        .contains(&alert),
        "{alert:?}"
    );
    server.peer.kill();
}

#[test]
fn s_server_without_our_identity_gives_the_certificate_handshake() {
    let mut server = s_server(
        KeyType::EcdsaP256,
        1,
        false,
        &["-psk", KEY_HEX, "-psk_identity", "bob"],
    );
    let mut config = client_config(KeyType::EcdsaP256);
    config.external_psk = Some(psk("alice", key()));
    let stream = connect(server.port, config, Some("localhost"))
        .unwrap_or_else(|e| panic!("handshake: {e}\n{}", server.peer.diagnostics()));
    let negotiated = stream.conn().negotiated().cloned().expect("negotiated");
    assert_eq!(
        negotiated.peer_certificates.len(),
        2,
        "the server's chain was verified instead"
    );
    drop(stream);
    server.peer.kill();
}

// ---- our server, openssl s_client -psk ----

/// A server that knows `alice` and `bob` and has no certificate at all, so
/// only a PSK handshake can succeed.
fn psk_only_server() -> Arc<ServerConfig> {
    let mut config = server_config(KeyType::EcdsaP256);
    config.cert_resolver = Arc::new(NoCertificate);
    config.external_psks = vec![psk("bob", vec![0x42; 32]), psk("alice", key())];
    Arc::new(config)
}

/// One s_client `-psk` connection to our server: a line each way and
/// close_notify both ways, or the failure.
fn s_client_connection(config: Arc<ServerConfig>, tag: &str, extra: &[&str]) -> (Outcome, SClient) {
    let (outcome, mut client) =
        serve_s_client(config, &payload(3, 2048), &payload(4, 2048), |port| {
            s_client(port, tag, false, extra)
        });
    client.peer.wait(Duration::from_secs(5));
    (outcome, client)
}

#[test]
fn s_client_authenticates_to_our_psk_only_server() {
    let (outcome, client) = s_client_connection(
        psk_only_server(),
        "psk",
        &["-psk", KEY_HEX, "-psk_identity", "alice"],
    );
    if outcome.failure.is_some() {
        println!("{}", client.peer.diagnostics());
    }
    outcome.expect_ok("s_client -psk");
    let n = outcome.negotiated.expect("negotiated");
    assert!(n.peer_certificates.is_empty() && !n.resumed, "{n:?}");
    assert_same_bytes("our server received", &outcome.received, &payload(3, 2048));
    let out = String::from_utf8_lossy(&client.peer.stdout()).into_owned();
    assert!(
        out.contains(&String::from_utf8(payload(4, 2048)).expect("digits")),
        "s_client printed our data\n{}",
        client.peer.diagnostics()
    );
    let trace = client.trace();
    assert!(trace.messages(false, "ServerHello")[0].has_extension("psk"));
    assert!(
        trace.messages(false, "Certificate").is_empty(),
        "{}",
        trace.text
    );
    assert!(trace.messages(false, "CertificateRequest").is_empty());
}

#[test]
fn our_server_refuses_a_wrong_s_client_psk_with_decrypt_error() {
    let (outcome, client) = s_client_connection(
        psk_only_server(),
        "psk-wrong",
        &[
            "-psk",
            &KEY_HEX.replace("00112233", "00112234"),
            "-psk_identity",
            "alice",
        ],
    );
    let failure = outcome.failure.expect("the handshake fails");
    assert_eq!(failure.step, 0);
    assert_eq!(
        failure.tls,
        Some(tls_core::Error::DecryptError("bad PSK binder"))
    );
    assert!(
        client
            .trace()
            .has_alert(false, AlertDescription::DecryptError.to_wire()),
        "{}",
        client.trace().text
    );
}

#[test]
fn our_psk_only_server_refuses_an_unknown_s_client_identity() {
    let (outcome, client) = s_client_connection(
        psk_only_server(),
        "psk-unknown",
        &["-psk", KEY_HEX, "-psk_identity", "mallory"],
    );
    let failure = outcome.failure.expect("the handshake fails");
    assert_eq!(
        failure.tls.as_ref().and_then(tls_core::Error::alert),
        Some(AlertDescription::HandshakeFailure),
        "{failure:?}"
    );
    assert!(
        client
            .trace()
            .has_alert(false, AlertDescription::HandshakeFailure.to_wire()),
        "{}",
        client.trace().text
    );
}

#[test]
fn our_server_with_a_certificate_falls_back_for_an_unknown_identity() {
    let mut config = server_config(KeyType::EcdsaP256);
    config.external_psks = vec![psk("alice", key())];
    let (outcome, client) = s_client_connection(
        Arc::new(config),
        "psk-fallback",
        &["-psk", KEY_HEX, "-psk_identity", "mallory"],
    );
    if outcome.failure.is_some() {
        println!("{}", client.peer.diagnostics());
    }
    outcome.expect_ok("certificate handshake");
    let trace = client.trace();
    assert!(!trace.messages(false, "ServerHello")[0].has_extension("psk"));
    assert_eq!(trace.messages(false, "Certificate").len(), 1);
}

#[test]
fn our_server_keeps_ecdhe_when_s_client_allows_psk_ke() {
    // `-allow_no_dhe_kex` offers psk_ke besides psk_dhe_ke: we take
    // psk_dhe_ke, so the handshake still has a key share (forward secrecy).
    let (outcome, client) = s_client_connection(
        psk_only_server(),
        "psk-ke",
        &[
            "-psk",
            KEY_HEX,
            "-psk_identity",
            "alice",
            "-allow_no_dhe_kex",
        ],
    );
    if outcome.failure.is_some() {
        println!("{}", client.peer.diagnostics());
    }
    outcome.expect_ok("s_client -allow_no_dhe_kex");
    let trace = client.trace();
    let hello = &trace.messages(true, "ClientHello")[0];
    assert!(hello.detail.contains("psk_ke (0)"), "{}", hello.detail);
    let server_hello = &trace.messages(false, "ServerHello")[0];
    assert!(server_hello.has_extension("psk"), "{}", trace.text);
    assert!(server_hello.has_extension("key_share"), "{}", trace.text);
}
