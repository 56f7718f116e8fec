//! Interop with GnuTLS's command-line peers, over TCP on 127.0.0.1.
//!
//! Our client against `gnutls-serv --echo`: the echo server answers each
//! line-terminated request with the same bytes, so the test sends 1 MiB in
//! 4 KiB pieces (each ends in '\n') and reads each echo before the next:
//! 1 MiB each way. Our close_notify makes gnutls-serv answer with its own.
//! gnutls-serv asks for a client certificate by default; our client answers
//! with an empty Certificate.
//!
//! Our server against `gnutls-cli`: gnutls-cli copies its stdin to us and our
//! data to its stdout (`--logfile` keeps its messages out of stdout). When
//! its stdin closes it sends close_notify and waits for ours.

use tls_core::{CipherSuite, ClientConfig, NamedGroup, Negotiated, ProtocolVersion, ServerConfig};
use tls_tests::gnutls_peer::{self, gnutls_cli_round_trip, GnutlsCliBuilder};
use tls_tests::{client_config, payload, server_config, KeyType, MIB};

const TLS13_ONLY: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.3";

/// Our client against gnutls-serv --echo: 1 MiB echoed, then close_notify
/// both ways.
fn client_echo(key_type: KeyType, priority: &str, config: ClientConfig) -> Negotiated {
    let n = gnutls_peer::client_echo(key_type, priority, config, MIB);
    assert_eq!(n.version, ProtocolVersion::Tls13);
    n
}

#[test]
fn client_vs_gnutls_serv_p256() {
    let n = client_echo(
        KeyType::EcdsaP256,
        TLS13_ONLY,
        client_config(KeyType::EcdsaP256),
    );
    assert!(!n.hello_retry);
}

#[test]
fn client_vs_gnutls_serv_rsa_chacha20() {
    let priority = format!("{TLS13_ONLY}:-CIPHER-ALL:+CHACHA20-POLY1305");
    let n = client_echo(KeyType::Rsa2048, &priority, client_config(KeyType::Rsa2048));
    assert_eq!(n.suite, CipherSuite::Tls13Chacha20Poly1305Sha256);
}

#[test]
fn client_vs_gnutls_serv_hello_retry_p384() {
    // Our key share is X25519; gnutls-serv only takes P-384.
    let priority = format!("{TLS13_ONLY}:-GROUP-ALL:+GROUP-SECP384R1");
    let n = client_echo(KeyType::Ed25519, &priority, client_config(KeyType::Ed25519));
    assert!(n.hello_retry);
    assert_eq!(n.group, NamedGroup::Secp384r1);
}

/// Our server against gnutls-cli: 1 MiB each way; gnutls-cli's close_notify
/// (when its stdin closes) first, then ours.
fn server_vs_gnutls_cli(config: ServerConfig, extra: &[&str]) -> Negotiated {
    let outcome = gnutls_cli_round_trip(config, &payload(6, MIB), &payload(7, MIB), |port| {
        GnutlsCliBuilder::new(port, TLS13_ONLY).args(extra)
    });
    let n = outcome.negotiated.expect("negotiated");
    assert_eq!(n.version, ProtocolVersion::Tls13);
    assert_eq!(n.server_name.as_deref(), Some("localhost"));
    n
}

#[test]
fn server_p256_vs_gnutls_cli() {
    server_vs_gnutls_cli(server_config(KeyType::EcdsaP256), &[]);
}

#[test]
fn server_rsa_vs_gnutls_cli_alpn() {
    let mut config = server_config(KeyType::Rsa2048);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let n = server_vs_gnutls_cli(config, &["--alpn=http/1.1"]);
    assert_eq!(n.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn server_ed25519_vs_gnutls_cli() {
    server_vs_gnutls_cli(server_config(KeyType::Ed25519), &[]);
}
