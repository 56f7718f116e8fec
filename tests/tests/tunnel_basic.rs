//! tls-tunnel end to end, the basics: server mode behind curl and
//! `openssl s_client`, client mode in front of `openssl s_server`, a
//! client→server tunnel pair, Unix sockets and IPv6, half-close.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tls_core::{ClientConfig, Connection, TlsStream};
use tls_tests::openssl_peer::{self, s_client_at, s_client_run, Log, SServer, SServerBuilder};
use tls_tests::peer::{connect_local, free_port, require, set_timeouts, Peer, PEER_TIMEOUT};
use tls_tests::tunnel::{cert_for, read_n, temp_dir, tls_client, Backend, BackendKind, Tunnel};
use tls_tests::{assert_same_bytes, payload};

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

#[test]
fn tunnel_server_self_signed_with_openssl_s_client() {
    let openssl = openssl_peer::openssl();
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::start(
        ["server", "--listen", &listen, "--target", &backend.addr()],
        &[port],
    );
    tunnel.expect_log("SHA-256 fingerprint");

    let mut client = s_client_at(port, &["-servername", "localhost", "-quiet"]);
    client.write_stdin(b"hello through the tunnel\n".to_vec());
    assert!(
        client.wait_stdout_len(25, PEER_TIMEOUT),
        "{}\n{}",
        client.diagnostics(),
        tunnel.log()
    );
    assert_eq!(client.stdout(), b"hello through the tunnel\n");
    drop(client);

    // The logged fingerprint is the one of the certificate served.
    let pem = s_client_run(port, &["-showcerts"]).stdout;
    let start = pem
        .find("-----BEGIN CERTIFICATE-----")
        .expect("s_client printed the certificate");
    let end = pem
        .find("-----END CERTIFICATE-----")
        .expect("end of certificate")
        + 25;
    let mut x509 = Peer::spawn(&openssl, ["x509", "-noout", "-fingerprint", "-sha256"]);
    x509.write_stdin(pem.as_bytes()[start..end].to_vec());
    x509.close_stdin();
    x509.wait_success(PEER_TIMEOUT);
    let out = String::from_utf8_lossy(&x509.stdout()).into_owned();
    let fp = out
        .trim()
        .rsplit('=')
        .next()
        .expect("fingerprint")
        .to_string();
    assert!(
        tunnel.log().contains(&fp),
        "fingerprint {fp} not in log:\n{}",
        tunnel.log()
    );
    tunnel.expect_log("version=TLSv1.3");
}

#[test]
fn tunnel_server_behind_curl() {
    let curl = require("curl", "curl");
    let dir = temp_dir("curl");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Http("hello from the backend\n".into()));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (c, k) = (cert.cert.to_str().unwrap(), cert.key.to_str().unwrap());
    let tunnel = Tunnel::start(
        [
            "server",
            "--listen",
            &listen,
            "--target",
            &backend.addr(),
            "--cert",
            c,
            "--key",
            k,
        ],
        &[port],
    );
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/");
    let mut curl = Peer::spawn(
        &curl,
        [
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            c,
            "--resolve",
            &resolve,
            &url,
        ],
    );
    curl.close_stdin();
    curl.wait_success(PEER_TIMEOUT);
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout()),
        "hello from the backend\n"
    );
    tunnel.expect_log("connection closed");
    tunnel.expect_log("sni=localhost");
}

#[test]
fn tunnel_client_mode_to_openssl_s_server() {
    let dir = temp_dir("s_server");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let c = cert.cert.to_str().unwrap();
    let SServer {
        peer: mut server,
        port: server_port,
        ..
    } = SServerBuilder::with_cert(&cert.cert, &cert.key)
        .log(Log::Off)
        .start();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let target = format!("127.0.0.1:{server_port}");
    let tunnel = Tunnel::start(
        [
            "client",
            "--listen",
            &listen,
            "--target",
            &target,
            "--cacert",
            c,
            "--server-name",
            "localhost",
        ],
        &[port],
    );
    let mut sock = connect_local(port).expect("connect");
    sock.write_all(b"ping from a plaintext client\n").unwrap();
    assert!(
        server.wait_output_contains("ping from a plaintext client", PEER_TIMEOUT),
        "{}\n{}",
        server.diagnostics(),
        tunnel.log()
    );
    server.write_stdin(b"pong\n".to_vec());
    assert_eq!(read_n(&mut sock, 5), b"pong\n");
}

#[test]
fn tunnel_client_server_pair_moves_a_mebibyte_both_ways() {
    let dir = temp_dir("pair");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let (c, k) = (cert.cert.to_str().unwrap(), cert.key.to_str().unwrap());
    let backend = echo();
    let (sport, cport) = (free_port(), free_port());
    let server_listen = format!("127.0.0.1:{sport}");
    let client_listen = format!("127.0.0.1:{cport}");
    let _server = Tunnel::start(
        [
            "server",
            "--listen",
            &server_listen,
            "--target",
            &backend.addr(),
            "--cert",
            c,
            "--key",
            k,
        ],
        &[sport],
    );
    let _client = Tunnel::start(
        [
            "client",
            "--listen",
            &client_listen,
            "--target",
            &server_listen,
            "--cacert",
            c,
            "--server-name",
            "localhost",
        ],
        &[cport],
    );
    let data = payload(7, 1 << 20);
    let mut sock = connect_local(cport).expect("connect");
    let mut writer = sock.try_clone().unwrap();
    let sent = data.clone();
    let t = std::thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    sock.read_to_end(&mut got)
        .expect("read until the tunnel closes");
    t.join().unwrap();
    assert_same_bytes("echo through the tunnel pair", &got, &data);
}

#[test]
fn tunnel_half_close_delivers_everything() {
    let dir = temp_dir("halfclose");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _tunnel = Tunnel::server(&listen, &backend.addr(), &cert, &[], port);
    let mut tls = tls_client(port, "localhost", &cert.der);
    let data = payload(3, 200_000);
    tls.write_all(&data).unwrap();
    // close_notify: the backend sees end-of-file, finishes echoing, closes.
    tls.close_notify().unwrap();
    let mut got = Vec::new();
    tls.read_to_end(&mut got)
        .expect("clean end after close_notify");
    assert_same_bytes("echo after half-close", &got, &data);
    assert!(tls.conn().peer_closed(), "the tunnel sent close_notify");
}

#[test]
fn tunnel_ipv6_listen_and_unix_socket_target() {
    let dir = temp_dir("unix");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let sock_path = dir.join("backend.sock");
    let unix = std::os::unix::net::UnixListener::bind(&sock_path).expect("bind unix socket");
    let backend = std::thread::spawn(move || {
        let (mut s, _) = unix.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let port = free_port();
    let listen = format!("[::1]:{port}");
    let target = format!("unix:{}", sock_path.display());
    let tunnel = Tunnel::server(&listen, &target, &cert, &[], port);
    let sock = TcpStream::connect(("::1", port)).expect("connect over IPv6");
    set_timeouts(&sock).unwrap();
    let config = std::sync::Arc::new(ClientConfig::with_pinned_certs(vec![cert.der.clone()]));
    let mut tls = TlsStream::new(Connection::client(config, Some("localhost")).unwrap(), sock);
    tls.write_all(b"unix!").unwrap();
    assert_eq!(read_n(&mut tls, 5), b"unix!", "{}", tunnel.log());
    backend.join().unwrap();
}

/// mTLS: a client tunnel presenting a certificate to a server tunnel that
/// checks it, admitted by CN or SPIFFE URI SAN, refused otherwise.
#[test]
fn tunnel_mtls_allow_and_deny() {
    let dir = temp_dir("mtls");
    let server = cert_for(&dir, "localhost", &["localhost"]);
    let alice = cert_for(
        &dir,
        "alice",
        &["alice.internal", "spiffe://example.org/ns/prod/sa/alice"],
    );
    let backend = echo();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    for (rule, value, admitted) in [
        ("--allow-cn", "alice", true),
        ("--allow-san", "spiffe://example.org/ns/prod/sa/alice", true),
        ("--allow-san", "spiffe://example.org/ns/prod/sa/bob", false),
        ("--allow-cn", "bob", false),
    ] {
        let (sport, cport) = (free_port(), free_port());
        let server_listen = format!("127.0.0.1:{sport}");
        let client_listen = format!("127.0.0.1:{cport}");
        let server_tunnel = Tunnel::start(
            [
                "server",
                "--listen",
                &server_listen,
                "--target",
                &backend.addr(),
                "--cert",
                &s(&server.cert),
                "--key",
                &s(&server.key),
                "--cacert",
                &s(&alice.cert),
                rule,
                value,
            ],
            &[sport],
        );
        let _client = Tunnel::start(
            [
                "client",
                "--listen",
                &client_listen,
                "--target",
                &server_listen,
                "--cacert",
                &s(&server.cert),
                "--server-name",
                "localhost",
                "--cert",
                &s(&alice.cert),
                "--key",
                &s(&alice.key),
            ],
            &[cport],
        );
        let mut sock = connect_local(cport).unwrap();
        let _ = sock.write_all(b"mtls");
        let _ = sock.shutdown(std::net::Shutdown::Write);
        let mut got = Vec::new();
        let _ = sock.read_to_end(&mut got);
        if admitted {
            assert_eq!(got, b"mtls", "{rule} {value}\n{}", server_tunnel.log());
        } else {
            assert!(got.is_empty(), "{rule} {value} must be refused");
            server_tunnel.expect_log("access denied");
        }
    }
}
