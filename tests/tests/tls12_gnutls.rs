//! TLS 1.2 interop with GnuTLS: our client against `gnutls-serv --echo`, our
//! server against `gnutls-cli`, for each TLS 1.2 suite and group; and a
//! gnutls-cli without the extended master secret (`%NO_SESSION_HASH`),
//! which our server refuses.

use tls_core::{CipherSuite, ClientConfig, NamedGroup, Negotiated, ProtocolVersion, ServerConfig};
use tls_tests::engine::EXCHANGE_TIMEOUT;
use tls_tests::gnutls_peer::{self, gnutls_cli_round_trip, GnutlsCliBuilder};
use tls_tests::{
    client_config, payload, server_config, KeyType, OneShotServer, Step, PEER_TIMEOUT,
};

const TLS12_ONLY: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
const SIZE: usize = 64 * 1024;

const SUITES: [(CipherSuite, &str, KeyType); 6] = [
    (
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        "-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-GCM",
        KeyType::EcdsaP256,
    ),
    (
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        "-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-256-GCM",
        KeyType::EcdsaP384,
    ),
    (
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        "-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+CHACHA20-POLY1305",
        KeyType::Ed25519,
    ),
    (
        CipherSuite::EcdheRsaAes128GcmSha256,
        "-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM",
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaAes256GcmSha384,
        "-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM",
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        "-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+CHACHA20-POLY1305",
        KeyType::Rsa2048,
    ),
];

const GROUPS: [(NamedGroup, &str); 3] = [
    (NamedGroup::X25519, "-GROUP-ALL:+GROUP-X25519"),
    (NamedGroup::Secp256r1, "-GROUP-ALL:+GROUP-SECP256R1"),
    (NamedGroup::Secp384r1, "-GROUP-ALL:+GROUP-SECP384R1"),
];

/// Our client against gnutls-serv --echo: `SIZE` bytes echoed, then
/// close_notify both ways.
fn client_echo(key_type: KeyType, priority: &str, config: ClientConfig) -> Negotiated {
    let n = gnutls_peer::client_echo(key_type, priority, config, SIZE);
    assert_eq!(n.version, ProtocolVersion::Tls12);
    n
}

#[test]
fn client_every_suite_vs_gnutls_serv() {
    for (suite, priority, key_type) in SUITES {
        // Our client offers both versions; gnutls-serv speaks only TLS 1.2.
        let n = client_echo(
            key_type,
            &format!("{TLS12_ONLY}:{priority}"),
            client_config(key_type),
        );
        assert_eq!(n.suite, suite, "{priority}");
    }
}

#[test]
fn client_every_group_vs_gnutls_serv() {
    for (group, priority) in GROUPS {
        let n = client_echo(
            KeyType::Ed25519,
            &format!("{TLS12_ONLY}:{priority}"),
            client_config(KeyType::Ed25519),
        );
        assert_eq!(n.group, group, "{priority}");
    }
}

/// Runs gnutls-cli with `priority` against our server; `SIZE` bytes each way.
fn server_vs_gnutls_cli(config: ServerConfig, priority: &str) -> Negotiated {
    let outcome = gnutls_cli_round_trip(config, &payload(32, SIZE), &payload(33, SIZE), |port| {
        GnutlsCliBuilder::new(port, priority)
    });
    let n = outcome.negotiated.expect("negotiated");
    assert_eq!(n.version, ProtocolVersion::Tls12);
    n
}

#[test]
fn server_every_suite_vs_gnutls_cli() {
    for (suite, priority, key_type) in SUITES {
        let n = server_vs_gnutls_cli(server_config(key_type), &format!("{TLS12_ONLY}:{priority}"));
        assert_eq!(n.suite, suite, "{priority}");
    }
}

#[test]
fn server_every_group_vs_gnutls_cli() {
    for (group, priority) in GROUPS {
        let n = server_vs_gnutls_cli(
            server_config(KeyType::Rsa2048),
            &format!("{TLS12_ONLY}:{priority}"),
        );
        assert_eq!(n.group, group, "{priority}");
    }
}

#[test]
fn gnutls_cli_without_extended_master_secret_is_refused() {
    let server = OneShotServer::start(server_config(KeyType::EcdsaP256), vec![Step::Read(1)]);
    let mut client = GnutlsCliBuilder::new(server.port, &format!("{TLS12_ONLY}:%NO_SESSION_HASH"))
        .plain()
        .start()
        .peer;
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let failure = outcome.failure.expect("refused");
    assert_eq!(
        failure.tls,
        Some(tls_core::Error::HandshakeFailure(
            "client does not support the extended master secret (RFC 7627)"
        ))
    );
    let status = client.wait(PEER_TIMEOUT).expect("gnutls-cli exits");
    assert!(!status.success());
    assert!(
        client.wait_output_contains("Handshake failed", PEER_TIMEOUT),
        "{}",
        client.diagnostics()
    );
}
