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

use std::path::PathBuf;

use tls_core::{CipherSuite, ClientConfig, NamedGroup, Negotiated, ProtocolVersion, ServerConfig};
use tls_tests::data::{echo_lockstep, read_to_close};
use tls_tests::engine::{connect, EXCHANGE_TIMEOUT};
use tls_tests::{
    assert_same_bytes, client_config, payload, pki, require, server_config, KeyType, OneShotServer,
    Peer, Step, MIB, PEER_TIMEOUT,
};

const TLS13_ONLY: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.3";

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

/// Our client against gnutls-serv --echo: 1 MiB echoed, then close_notify
/// both ways.
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
    let data = payload(5, MIB);
    let echoed = echo_lockstep(&mut stream, &data, 4096, EXCHANGE_TIMEOUT)
        .unwrap_or_else(|e| panic!("echo through gnutls-serv: {e}\n{}", peer.diagnostics()));
    assert_same_bytes("echo from gnutls-serv", &echoed, &data);
    stream.close_notify().expect("send close_notify");
    read_to_close(&mut stream, 0, EXCHANGE_TIMEOUT)
        .unwrap_or_else(|e| panic!("gnutls-serv's close_notify: {e}\n{}", peer.diagnostics()));
    assert!(stream.conn().peer_closed());
    assert_eq!(n.version, ProtocolVersion::Tls13);
    assert_eq!(
        n.peer_certificates.first(),
        Some(&pki().leaf(key_type).cert_der)
    );
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
    let tool = require("gnutls-cli", "gnutls-bin");
    let from_client = payload(6, MIB);
    let to_client = payload(7, MIB);
    let server = OneShotServer::start(
        config,
        vec![
            Step::Read(MIB),
            Step::Write(to_client.clone()),
            Step::ExpectClose,
            Step::SendClose,
        ],
    );
    let log: PathBuf = pki().dir.join(format!("gnutls-cli-{}.log", server.port));
    let mut args = vec![
        "--x509cafile".to_string(),
        pki().ca_pem.display().to_string(),
        "--verify-hostname=localhost".to_string(),
        "--sni-hostname=localhost".to_string(),
        format!("--priority={TLS13_ONLY}"),
        format!("--logfile={}", log.display()),
        "-p".to_string(),
        server.port.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("127.0.0.1".to_string());
    let mut client = Peer::spawn(&tool, &args);
    client.write_stdin(from_client.clone());
    let got_all = client.wait_stdout_len(MIB, PEER_TIMEOUT);
    client.close_stdin();
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        got_all,
        "gnutls-cli printed our 1 MiB\n{}\n{log_text}",
        client.diagnostics()
    );
    if let Some(f) = &outcome.failure {
        panic!(
            "our server vs gnutls-cli: step {} failed: {} ({:?})\n{}\n{log_text}",
            f.step,
            f.error,
            f.tls,
            client.diagnostics()
        );
    }
    client.wait_success(PEER_TIMEOUT);
    assert_same_bytes("our server received", &outcome.received, &from_client);
    assert_same_bytes("gnutls-cli received", &client.stdout(), &to_client);
    assert!(
        outcome.saw_close_notify,
        "our server saw gnutls-cli's close_notify"
    );
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
