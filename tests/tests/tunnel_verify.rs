//! tls-tunnel's certificate checks with X.509 path validation: client mode
//! verifies the server's chain and name against a CA file, server mode
//! verifies client certificates that chain to its CA file.

use std::io::{Read, Write};
use std::path::Path;

use tls_tests::peer::{connect_local, free_port};
use tls_tests::tunnel::{Backend, BackendKind, Tunnel};
use tls_tests::{pki, KeyType};

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// Sends a line through a client tunnel on `port`; what came back.
fn round_trip(port: u16) -> Vec<u8> {
    let mut sock = connect_local(port).expect("connect");
    let _ = sock.write_all(b"through");
    let _ = sock.shutdown(std::net::Shutdown::Write);
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got);
    got
}

/// A server tunnel presenting the P-256 leaf (chain included), optionally
/// asking for client certificates from the test CA, in front of an echo.
fn server_tunnel(backend: &Backend, client_ca: bool) -> (Tunnel, String) {
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "server".to_string(),
        "--listen".into(),
        listen.clone(),
        "--target".into(),
        backend.addr(),
        "--cert".into(),
        s(&leaf.chain_pem),
        "--key".into(),
        s(&leaf.key_pem),
    ];
    if client_ca {
        args.extend(["--cacert".into(), s(&pki().ca_pem), "--allow-all".into()]);
    }
    (Tunnel::start(args, &[port]), listen)
}

/// A client tunnel to `target` with these extra arguments.
fn client_tunnel(target: &str, extra: &[String]) -> (Tunnel, u16) {
    let port = free_port();
    let mut args = vec![
        "client".to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--target".into(),
        target.to_string(),
    ];
    args.extend(extra.iter().cloned());
    (Tunnel::start(args, &[port]), port)
}

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

#[test]
fn client_mode_validates_the_chain_and_the_name() {
    let backend = echo();
    let (_server, target) = server_tunnel(&backend, false);
    let ca = s(&pki().ca_pem);
    let (_ok, port) = client_tunnel(
        &target,
        &[
            "--cacert".into(),
            ca.clone(),
            "--server-name".into(),
            "localhost".into(),
        ],
    );
    assert_eq!(round_trip(port), b"through");

    let (wrong_name, port) = client_tunnel(
        &target,
        &[
            "--cacert".into(),
            ca,
            "--server-name".into(),
            "other.example".into(),
        ],
    );
    assert!(
        round_trip(port).is_empty(),
        "a certificate for another name must be refused"
    );
    wrong_name.expect_log("bad certificate");

    let unrelated = s(&pki().unrelated.cert_pem);
    let (wrong_ca, port) = client_tunnel(
        &target,
        &[
            "--cacert".into(),
            unrelated,
            "--server-name".into(),
            "localhost".into(),
        ],
    );
    assert!(
        round_trip(port).is_empty(),
        "a chain to another CA must be refused"
    );
    wrong_ca.expect_log("bad certificate");
}

#[test]
fn server_mode_accepts_client_certificates_that_chain_to_its_ca() {
    let backend = echo();
    let (server, target) = server_tunnel(&backend, true);
    let ca = s(&pki().ca_pem);
    let client_leaf = pki().leaf(KeyType::EcdsaP384);
    let (_client, port) = client_tunnel(
        &target,
        &[
            "--cacert".into(),
            ca.clone(),
            "--server-name".into(),
            "localhost".into(),
            "--cert".into(),
            s(&client_leaf.cert_pem),
            "--key".into(),
            s(&client_leaf.key_pem),
        ],
    );
    assert_eq!(round_trip(port), b"through", "{}", server.log());

    let stranger = &pki().unrelated;
    let (_client, port) = client_tunnel(
        &target,
        &[
            "--cacert".into(),
            ca,
            "--server-name".into(),
            "localhost".into(),
            "--cert".into(),
            s(&stranger.cert_pem),
            "--key".into(),
            s(&stranger.key_pem),
        ],
    );
    assert!(
        round_trip(port).is_empty(),
        "a client certificate from another CA must be refused"
    );
    server.expect_log("bad certificate");
}
