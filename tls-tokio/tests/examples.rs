//! Runs the examples: each server example driven by a client (curl over
//! HTTP/1.1 and HTTP/2 for the hyper server), each client example against a
//! server this test starts. `cargo test` builds the examples first; the
//! servers are told port 0 and print the address they listen on, and stop
//! after the connections they are told to serve.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tls_core::{x509::TrustAnchors, ClientConfig, ProtocolVersion};
use tls_tests::peer::run_tool;
use tls_tests::{pki, require, KeyType, Peer, PEER_TIMEOUT};
use tls_tokio::{TlsAcceptor, TlsConnector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The built example `name` (next to this test's binary).
fn example(name: &str) -> PathBuf {
    let path = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples").join(name)))
        .expect("the test binary's directory");
    assert!(
        path.is_file(),
        "{} is missing: `cargo test -p tls-tokio` builds the examples",
        path.display()
    );
    path
}

/// Starts server example `name` on 127.0.0.1:0 with the test PKI's P-256
/// chain for `connections` connections; returns it and its port.
fn start_server(name: &str, connections: u32) -> (Peer, u16) {
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let args = [
        "127.0.0.1:0".to_string(),
        leaf.chain_pem.display().to_string(),
        leaf.key_pem.display().to_string(),
        "--connections".to_string(),
        connections.to_string(),
    ];
    wait_listening(name, Peer::spawn(&example(name), args))
}

/// Waits for server example `name` to print the address it listens on;
/// returns it and its port.
fn wait_listening(name: &str, peer: Peer) -> (Peer, u16) {
    assert!(
        peer.wait_output_contains("listening on", PEER_TIMEOUT),
        "{name} did not start\n{}",
        peer.diagnostics()
    );
    let out = String::from_utf8_lossy(&peer.stdout()).into_owned();
    let port = out
        .lines()
        .find_map(|l| l.strip_prefix("listening on "))
        .and_then(|addr| addr.trim().rsplit(':').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name} printed no port: {out}"));
    (peer, port)
}

fn ca_config() -> ClientConfig {
    ClientConfig::with_roots(TrustAnchors::from_pem_file(&pki().ca_pem).expect("test CA"))
}

/// The tokio server example answers our adapter client in TLS 1.3 and 1.2,
/// then exits after the two connections it was told to serve.
#[tokio::test]
async fn tokio_server_example() {
    let (mut server, port) = start_server("tokio_server", 2);
    for version in [ProtocolVersion::Tls13, ProtocolVersion::Tls12] {
        let mut config = ca_config();
        config.versions = vec![version];
        let sock = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let mut tls = TlsConnector::from(Arc::new(config))
            .connect("localhost", sock)
            .await
            .expect("handshake");
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("request");
        let mut response = String::new();
        tls.read_to_string(&mut response).await.expect("response");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(
            response.ends_with(&format!("hello over Some({version:?})\n")),
            "{response}"
        );
    }
    server.wait_success(PEER_TIMEOUT);
}

/// The tokio client example fetches from a server this test runs.
#[tokio::test]
async fn tokio_client_example() {
    client_example("tokio_client").await;
}

/// Its tokio-rustls twin (compare/, for the README's line counts) too.
#[tokio::test]
async fn tokio_rustls_client_compare() {
    client_example("tokio_rustls_client").await;
}

/// Runs client example `name` against a server this test runs.
async fn client_example(name: &'static str) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = TlsAcceptor::from(Arc::new(tls_tests::server_config(KeyType::EcdsaP256)));
    let server = tokio::spawn(async move {
        let (sock, _) = listener.accept().await?;
        let mut tls = acceptor.accept(sock).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            let n = tls.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
            .await?;
        tls.shutdown().await?;
        Ok::<_, std::io::Error>(head)
    });
    let ca = pki().ca_pem.display().to_string();
    let addr = format!("127.0.0.1:{port}");
    let out = tokio::task::spawn_blocking(move || {
        run_tool(&example(name), [addr.as_str(), "localhost", &ca])
    })
    .await
    .expect("tokio_client ran");
    let head = server.await.expect("join").expect("server");
    assert!(head.starts_with(b"GET / HTTP/1.1\r\nHost: localhost\r\n"));
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nok\n"),
        "{out}"
    );
}

/// The hyper server example serves curl over HTTP/1.1 and over HTTP/2,
/// chosen by ALPN.
#[test]
fn hyper_server_example_with_curl() {
    hyper_with_curl("hyper_server");
}

/// Its tokio-rustls twin (compare/, for the README's line counts) too.
#[test]
fn tokio_rustls_hyper_server_compare_with_curl() {
    hyper_with_curl("tokio_rustls_hyper_server");
}

/// Drives hyper server example `name` with curl, once per HTTP version.
fn hyper_with_curl(name: &str) {
    let curl = require("curl", "curl");
    let (mut server, port) = start_server(name, 2);
    let ca = pki().ca_pem.display().to_string();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/");
    for (flag, version, body) in [
        ("--http1.1", "1.1", "hello over HTTP/1.1\n"),
        ("--http2", "2", "hello over HTTP/2.0\n"),
    ] {
        let out = run_tool(
            &curl,
            [
                "-sS",
                flag,
                "--cacert",
                &ca,
                "--resolve",
                &resolve,
                "--max-time",
                "20",
                "-w",
                "%{http_version}",
                &url,
            ],
        );
        assert_eq!(String::from_utf8_lossy(&out), format!("{body}{version}"));
    }
    assert!(
        server
            .wait(Duration::from_secs(20))
            .is_some_and(|s| s.success()),
        "{name} exits after two connections\n{}",
        server.diagnostics()
    );
}

/// Starts tonic server example `name` (`serve` until its stdin closes) on
/// 127.0.0.1:0 with the test PKI's P-256 chain; returns it and its port.
fn start_tonic_server(name: &str) -> (Peer, u16) {
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let args = [
        "serve".to_string(),
        "127.0.0.1:0".to_string(),
        leaf.chain_pem.display().to_string(),
        leaf.key_pem.display().to_string(),
    ];
    wait_listening(name, Peer::spawn(&example(name), args))
}

/// Runs tonic client example `client` (`check`) against each server example
/// in turn, for the service the servers report and for the whole server
/// (""), then stops the server by closing its stdin: it shuts down
/// gracefully and exits successfully.
fn tonic_health(servers: &[&str], client: &str) {
    let ca = pki().ca_pem.display().to_string();
    for &server_name in servers {
        let (mut server, port) = start_tonic_server(server_name);
        let addr = format!("127.0.0.1:{port}");
        for service in ["tls-tokio.example", ""] {
            let out = run_tool(
                &example(client),
                ["check", addr.as_str(), "localhost", &ca, service],
            );
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("{service}: Serving\n"),
                "{client} against {server_name}"
            );
        }
        server.close_stdin();
        assert!(
            server
                .wait(Duration::from_secs(20))
                .is_some_and(|s| s.success()),
            "{server_name} exits when its stdin closes\n{}",
            server.diagnostics()
        );
    }
}

/// Our tonic client (over tls-tokio, ALPN h2) gets the health status from
/// our tonic server and from a tonic server on rustls (tokio-rustls).
#[test]
fn tonic_client_example_against_ours_and_rustls() {
    tonic_health(&["tonic_health", "tonic_rustls_health"], "tonic_health");
}

/// A tonic client on rustls (tokio-rustls) gets the health status from our
/// tonic server.
#[test]
fn tonic_server_example_with_rustls_client() {
    tonic_health(&["tonic_health"], "tonic_rustls_health");
}
