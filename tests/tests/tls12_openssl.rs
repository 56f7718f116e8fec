//! TLS 1.2 interop with OpenSSL's command-line peers over 127.0.0.1.
//!
//! Our client against `openssl s_server -tls1_2 -quiet` and our server
//! against `openssl s_client -tls1_2 -quiet`, for each TLS 1.2 suite and
//! group: 64 KiB each way, then close_notify both ways. Resumption by ticket
//! and by session ID both ways, mutual TLS both ways, and the refusals:
//! TLS 1.1, a CBC-only client, export suites (which this OpenSSL build no
//! longer has: the test checks that s_client itself refuses) and a client
//! without the extended master secret (OpenSSL's `Options =
//! -ExtendedMasterSecret` through an OPENSSL_CONF file).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use tls_core::{CertifiedKey, CipherSuite, ClientConfig, NamedGroup, Negotiated, ProtocolVersion};
use tls_tests::engine::EXCHANGE_TIMEOUT;
use tls_tests::openssl_peer::{
    self, s_client_round_trip, s_server_session, Log, MsgLog, SClient, SClientBuilder, SServer,
    SServerBuilder,
};
use tls_tests::{
    client_config, free_port, payload, pki, server_config, KeyType, OneShotServer, Peer, Step,
    PEER_TIMEOUT,
};

const SIZE: usize = 64 * 1024;

/// `openssl s_server -tls1_2` for `naccept` connections with the `key_type`
/// leaf, logging with `-msg`.
fn s_server(key_type: KeyType, naccept: u32, extra: &[&str]) -> SServer {
    SServerBuilder::new(key_type)
        .naccept(naccept)
        .log(Log::Msg)
        .args(&["-tls1_2"])
        .args(extra)
        .start()
}

fn tls12_client(key_type: KeyType) -> ClientConfig {
    let mut config = client_config(key_type);
    config.versions = vec![ProtocolVersion::Tls12];
    config
}

/// One connection of our client to s_server: `SIZE` bytes each way when
/// `full`, else a short line from us; close_notify both ways.
fn client_session(server: &mut SServer, config: &Arc<ClientConfig>, full: bool) -> Negotiated {
    if full {
        s_server_session(server, config, &payload(21, SIZE), &payload(22, SIZE))
    } else {
        s_server_session(server, config, b"ping\n", b"")
    }
}

fn client_exchange(key_type: KeyType, config: ClientConfig, extra: &[&str]) -> Negotiated {
    let mut server = s_server(key_type, 1, extra);
    let n = client_session(&mut server, &Arc::new(config), true);
    server.peer.wait_success(PEER_TIMEOUT);
    assert_eq!(n.version, ProtocolVersion::Tls12);
    assert_eq!(
        n.peer_certificates.first(),
        Some(&pki().leaf(key_type).cert_der)
    );
    assert!(server.msg().has_alert(false, "close_notify"));
    n
}

const SUITES: [(CipherSuite, &str, KeyType); 6] = [
    (
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        KeyType::EcdsaP256,
    ),
    (
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        KeyType::EcdsaP384,
    ),
    (
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        KeyType::Ed25519,
    ),
    (
        CipherSuite::EcdheRsaAes128GcmSha256,
        "ECDHE-RSA-AES128-GCM-SHA256",
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaAes256GcmSha384,
        "ECDHE-RSA-AES256-GCM-SHA384",
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        "ECDHE-RSA-CHACHA20-POLY1305",
        KeyType::Rsa2048,
    ),
];

const GROUPS: [(NamedGroup, &str); 3] = [
    (NamedGroup::X25519, "X25519"),
    (NamedGroup::Secp256r1, "P-256"),
    (NamedGroup::Secp384r1, "P-384"),
];

// ---- our client, openssl s_server -tls1_2 ----

#[test]
fn client_every_suite_vs_s_server() {
    for (suite, name, key_type) in SUITES {
        let n = client_exchange(key_type, tls12_client(key_type), &["-cipher", name]);
        assert_eq!(n.suite, suite, "{name}");
    }
}

#[test]
fn client_every_group_vs_s_server() {
    for (group, name) in GROUPS {
        let n = client_exchange(
            KeyType::EcdsaP256,
            tls12_client(KeyType::EcdsaP256),
            &["-groups", name],
        );
        assert_eq!(n.group, group, "{name}");
    }
}

#[test]
fn client_offering_both_versions_accepts_tls12_s_server() {
    let mut config = client_config(KeyType::EcdsaP256);
    config.versions = vec![ProtocolVersion::Tls13, ProtocolVersion::Tls12];
    client_exchange(KeyType::EcdsaP256, config, &[]);
}

fn client_resumption(extra: &[&str]) {
    let mut server = s_server(KeyType::EcdsaP256, 2, extra);
    let config = Arc::new(tls12_client(KeyType::EcdsaP256));
    let first = client_session(&mut server, &config, false);
    assert!(!first.resumed);
    let second = client_session(&mut server, &config, false);
    assert!(second.resumed, "resumed\n{}", server.msg());
    assert_eq!(second.suite, first.suite);
    assert_eq!(second.peer_certificates, first.peer_certificates);
    server.peer.wait_success(PEER_TIMEOUT);
}

#[test]
fn client_resumes_by_ticket_with_s_server() {
    client_resumption(&[]);
}

#[test]
fn client_resumes_by_session_id_with_s_server() {
    client_resumption(&["-no_ticket"]);
}

#[test]
fn client_certificate_to_s_server() {
    let p = pki();
    let mut config = tls12_client(KeyType::EcdsaP256);
    let leaf = p.leaf(KeyType::EcdsaP384);
    config.client_cert = Some(Arc::new(
        CertifiedKey::from_pem(&leaf.chain_pem_bytes, &leaf.key_pem_bytes).unwrap(),
    ));
    let ca = p.ca_pem.display().to_string();
    client_exchange(
        KeyType::EcdsaP256,
        config,
        &["-Verify", "1", "-CAfile", &ca, "-verify_return_error"],
    );
}

// ---- our server, openssl s_client -tls1_2 ----

/// `openssl s_client` (version flags in `extra`) logging with `-msg`, with
/// an environment variable naming a file if `env` is given.
fn s_client(port: u16, extra: &[&str], env: Option<(&str, &Path)>) -> SClient {
    let mut client = SClientBuilder::new(port, "tls12").log(Log::Msg).args(extra);
    if let Some((name, path)) = env {
        client = client.env(name, path);
    }
    client.start()
}

/// Our server against s_client: `SIZE` bytes each way, close_notify both ways.
fn server_exchange(config: tls_core::ServerConfig, extra: &[&str]) -> Negotiated {
    let mut args = vec!["-tls1_2"];
    args.extend_from_slice(extra);
    let (outcome, _) = s_client_round_trip(
        Arc::new(config),
        &payload(23, SIZE),
        &payload(24, SIZE),
        |port| s_client(port, &args, None),
    );
    let n = outcome.negotiated.expect("negotiated");
    assert_eq!(n.version, ProtocolVersion::Tls12);
    assert_eq!(n.server_name.as_deref(), Some("localhost"));
    n
}

#[test]
fn server_every_suite_vs_s_client() {
    for (suite, name, key_type) in SUITES {
        let n = server_exchange(server_config(key_type), &["-cipher", name]);
        assert_eq!(n.suite, suite, "{name}");
    }
}

#[test]
fn server_every_group_vs_s_client() {
    for (group, name) in GROUPS {
        // The client's groups also bound the certificate's curve in TLS 1.2
        // (RFC 8422 §5.1), so s_client offers P-256 too and we pick the group.
        let mut config = server_config(KeyType::EcdsaP256);
        config.groups = vec![group];
        let groups = if group == NamedGroup::Secp256r1 {
            name.to_string()
        } else {
            format!("{name}:P-256")
        };
        let n = server_exchange(config, &["-groups", &groups]);
        assert_eq!(n.group, group, "{name}");
    }
}

#[test]
fn server_every_key_type_vs_s_client() {
    for key_type in KeyType::ALL {
        server_exchange(server_config(key_type), &[]);
    }
}

fn server_resumption(extra: &[&str], tickets: bool) {
    let first_config = server_config(KeyType::EcdsaP256);
    let mut second_config = server_config(KeyType::EcdsaP256);
    if tickets {
        second_config.ticketer = first_config.ticketer.clone();
    } else {
        second_config.session_cache = first_config.session_cache.clone();
    }
    let sess = pki()
        .dir
        .join(format!("tls12-sess-{}-{}", tickets, free_port()));
    let sess = sess.display().to_string();
    let mut args = extra.to_vec();
    args.extend(["-sess_out", sess.as_str()]);
    let first = server_exchange(first_config, &args);
    assert!(!first.resumed);
    let mut args = extra.to_vec();
    args.extend(["-sess_in", sess.as_str()]);
    let second = server_exchange(second_config, &args);
    assert!(second.resumed, "s_client resumed");
}

#[test]
fn server_resumes_by_ticket_with_s_client() {
    server_resumption(&[], true);
}

#[test]
fn server_resumes_by_session_id_with_s_client() {
    server_resumption(&["-no_ticket"], false);
}

#[test]
fn server_requires_and_verifies_s_client_certificate() {
    let p = pki();
    let leaf = p.leaf(KeyType::Rsa2048);
    let mut config = server_config(KeyType::EcdsaP256);
    config.client_verifier = Some(Arc::new(tls_core::PinnedCertVerifier::new(vec![leaf
        .cert_der
        .clone()])));
    let cert = leaf.cert_pem.display().to_string();
    let key = leaf.key_pem.display().to_string();
    let n = server_exchange(config, &["-cert", &cert, "-key", &key]);
    assert_eq!(n.peer_certificates.first(), Some(&leaf.cert_der));
}

// ---- refusals ----

/// Runs s_client with `args` against our server and returns our server's
/// TLS error and s_client's -msg trace.
fn refused(args: &[&str], env: Option<(&str, &Path)>) -> (Option<tls_core::Error>, MsgLog, Peer) {
    let server = OneShotServer::start(server_config(KeyType::EcdsaP256), vec![Step::Read(1)]);
    let mut client = s_client(server.port, args, env);
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let failure = outcome.failure.expect("the handshake must be refused");
    assert_eq!(failure.step, 0, "refused in the handshake");
    let status = client.peer.wait(PEER_TIMEOUT).expect("s_client exits");
    assert!(!status.success(), "s_client must fail");
    (failure.tls, client.msg(), client.peer)
}

#[test]
fn tls11_s_client_gets_protocol_version() {
    let (err, log, client) = refused(&["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], None);
    assert_eq!(err, Some(tls_core::Error::ProtocolVersion));
    assert!(
        log.has_alert(false, "protocol_version"),
        "{}\n{}",
        log,
        client.diagnostics()
    );
}

#[test]
fn cbc_only_s_client_gets_handshake_failure() {
    let (err, log, client) = refused(&["-tls1_2", "-cipher", "AES128-SHA"], None);
    assert_eq!(
        err,
        Some(tls_core::Error::HandshakeFailure(
            "no cipher suite in common"
        ))
    );
    assert!(
        log.has_alert(false, "handshake_failure"),
        "{}\n{}",
        log,
        client.diagnostics()
    );
}

#[test]
fn export_suites_are_refused_by_this_openssl_itself() {
    // OpenSSL 1.1+ has no export suites: s_client refuses to start with
    // `-cipher EXP`, so no export hello can reach us. Check that it says so.
    let mut cmd = Command::new(openssl_peer::openssl());
    cmd.args(["ciphers", "EXP"]);
    let mut peer = Peer::spawn_command(cmd);
    peer.close_stdin();
    let status = peer.wait(PEER_TIMEOUT).expect("openssl ciphers exits");
    assert!(!status.success(), "this OpenSSL still has export suites");
    assert!(
        peer.stderr().contains("no cipher match"),
        "{}",
        peer.diagnostics()
    );
    let port = free_port();
    let SClient {
        peer: mut client, ..
    } = s_client(port, &["-tls1_2", "-cipher", "EXP"], None);
    let status = client.wait(PEER_TIMEOUT).expect("s_client exits");
    assert!(!status.success());
    assert!(
        client.stderr().contains("no cipher match"),
        "{}",
        client.diagnostics()
    );
}

#[test]
fn s_client_without_extended_master_secret_gets_handshake_failure() {
    let conf = pki().dir.join("tls12-no-ems.cnf");
    std::fs::write(
        &conf,
        "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n\
         [ssl_sect]\nsystem_default = sys\n[sys]\nOptions = -ExtendedMasterSecret\n",
    )
    .unwrap();
    let (err, log, client) = refused(&["-tls1_2"], Some(("OPENSSL_CONF", &conf)));
    assert_eq!(
        err,
        Some(tls_core::Error::HandshakeFailure(
            "client does not support the extended master secret (RFC 7627)"
        )),
        "{}\n{}",
        log,
        client.diagnostics()
    );
    assert!(log.has_alert(false, "handshake_failure"));
}
