//! TLS 1.2 interop with GnuTLS: our client against `gnutls-serv --echo`, our
//! server against `gnutls-cli`, for each TLS 1.2 suite and group; and a
//! gnutls-cli without the extended master secret (`%NO_SESSION_HASH`),
//! which our server refuses.

use std::path::PathBuf;

use tls_core::{CipherSuite, ClientConfig, NamedGroup, Negotiated, ProtocolVersion, ServerConfig};
use tls_tests::data::{echo_lockstep, read_to_close};
use tls_tests::engine::{connect, EXCHANGE_TIMEOUT};
use tls_tests::{
    assert_same_bytes, client_config, payload, pki, require, server_config, KeyType, OneShotServer,
    Peer, Step, PEER_TIMEOUT,
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

fn gnutls_serv(key_type: KeyType, priority: &str) -> (Peer, u16) {
    let tool = require("gnutls-serv", "gnutls-bin");
    let leaf = pki().leaf(key_type);
    Peer::spawn_listening(&tool, |port| {
        vec![
            "--echo".to_string(),
            "-p".to_string(),
            port.to_string(),
            "--x509certfile".to_string(),
            leaf.chain_pem.display().to_string(),
            "--x509keyfile".to_string(),
            leaf.key_pem.display().to_string(),
            format!("--priority={priority}"),
        ]
    })
}

fn client_echo(key_type: KeyType, priority: &str, config: ClientConfig) -> Negotiated {
    let (peer, port) = gnutls_serv(key_type, priority);
    let mut stream = match connect(port, config, Some("localhost")) {
        Ok(s) => s,
        Err(e) => panic!(
            "handshake with gnutls-serv failed: {e}\n{}",
            peer.diagnostics()
        ),
    };
    let n = stream.conn().negotiated().cloned().expect("negotiated");
    let data = payload(31, SIZE);
    let echoed = echo_lockstep(&mut stream, &data, 4096, EXCHANGE_TIMEOUT)
        .unwrap_or_else(|e| panic!("echo through gnutls-serv: {e}\n{}", peer.diagnostics()));
    assert_same_bytes("echo from gnutls-serv", &echoed, &data);
    stream.close_notify().expect("send close_notify");
    read_to_close(&mut stream, 0, EXCHANGE_TIMEOUT)
        .unwrap_or_else(|e| panic!("gnutls-serv's close_notify: {e}\n{}", peer.diagnostics()));
    assert_eq!(n.version, ProtocolVersion::Tls12);
    assert_eq!(
        n.peer_certificates.first(),
        Some(&pki().leaf(key_type).cert_der)
    );
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
    let tool = require("gnutls-cli", "gnutls-bin");
    let from_client = payload(32, SIZE);
    let to_client = payload(33, SIZE);
    let server = OneShotServer::start(
        config,
        vec![
            Step::Read(SIZE),
            Step::Write(to_client.clone()),
            Step::ExpectClose,
            Step::SendClose,
        ],
    );
    let log: PathBuf = pki()
        .dir
        .join(format!("tls12-gnutls-cli-{}.log", server.port));
    let args = vec![
        "--x509cafile".to_string(),
        pki().ca_pem.display().to_string(),
        "--verify-hostname=localhost".to_string(),
        "--sni-hostname=localhost".to_string(),
        format!("--priority={priority}"),
        format!("--logfile={}", log.display()),
        "-p".to_string(),
        server.port.to_string(),
        "127.0.0.1".to_string(),
    ];
    let mut client = Peer::spawn(&tool, &args);
    client.write_stdin(from_client.clone());
    let got_all = client.wait_stdout_len(SIZE, PEER_TIMEOUT);
    client.close_stdin();
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    if let Some(f) = &outcome.failure {
        panic!(
            "our server vs gnutls-cli: step {} failed: {} ({:?})\n{}\n{log_text}",
            f.step,
            f.error,
            f.tls,
            client.diagnostics()
        );
    }
    assert!(
        got_all,
        "gnutls-cli printed our data\n{}",
        client.diagnostics()
    );
    client.wait_success(PEER_TIMEOUT);
    assert_same_bytes("our server received", &outcome.received, &from_client);
    assert_same_bytes("gnutls-cli received", &client.stdout(), &to_client);
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
    let tool = require("gnutls-cli", "gnutls-bin");
    let server = OneShotServer::start(server_config(KeyType::EcdsaP256), vec![Step::Read(1)]);
    let args = vec![
        "--x509cafile".to_string(),
        pki().ca_pem.display().to_string(),
        format!("--priority={TLS12_ONLY}:%NO_SESSION_HASH"),
        "-p".to_string(),
        server.port.to_string(),
        "127.0.0.1".to_string(),
    ];
    let mut client = Peer::spawn(&tool, &args);
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
