//! tls-tunnel's default groups put the post-quantum hybrid X25519MLKEM768
//! first: a rustls client with the aws-lc-rs provider (its post-quantum
//! defaults) gets it from a server-mode tunnel, without a HelloRetryRequest,
//! and its data reaches the backend and comes back. A stunnel.conf `curves`
//! in OpenSSL 3.5's group-list syntax (`*`, `/`, `?`) serves an OpenSSL
//! client that offers X25519 only, and in client mode its `*` decides
//! whether the X25519 share goes alongside the hybrid's.

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{HandshakeKind, NamedGroup as RustlsGroup};
use tls_core::NamedGroup;
use tls_tests::openssl_peer::{s_client_run, SServerBuilder};
use tls_tests::peer::connect_local;
use tls_tests::rustls_peer;
use tls_tests::stunnel::Greeter;
use tls_tests::tunnel::{temp_dir, Backend, BackendKind, Tunnel};
use tls_tests::{free_port, pki, KeyType};

#[test]
fn a_rustls_client_gets_x25519mlkem768_from_the_default_tunnel() {
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let target = backend.addr();
    let args = [
        "server",
        "--listen",
        &listen,
        "--target",
        &target,
        "--cert",
        leaf.chain_pem.to_str().unwrap(),
        "--key",
        leaf.key_pem.to_str().unwrap(),
    ];
    let tunnel = Tunnel::start(args, &[port]);

    let provider = rustls_peer::aws_lc_rs_provider(&[
        NamedGroup::X25519MlKem768,
        NamedGroup::X25519,
        NamedGroup::Secp256r1,
    ]);
    let config = Arc::new(rustls_peer::client_config(provider));
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).expect("rustls client");
    let sock = connect_local(port).expect("connect to the tunnel");
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(b"ping through the hybrid").unwrap();
    let mut echoed = [0u8; 23];
    if let Err(e) = tls.read_exact(&mut echoed) {
        panic!("{e}; the tunnel's log:\n{}", tunnel.log());
    }
    assert_eq!(&echoed, b"ping through the hybrid");
    let group = tls.conn.negotiated_key_exchange_group().map(|g| g.name());
    assert_eq!(group, Some(RustlsGroup::X25519MLKEM768));
    assert_eq!(tls.conn.handshake_kind(), Some(HandshakeKind::Full));
}

/// `curves = ?X448MLKEM1024:*X25519MLKEM768/X25519` in a server section:
/// the name we lack is skipped (`?`), the tuples are flattened, and
/// `openssl s_client -groups X25519` (OpenSSL 3.0 has no hybrid) gets
/// X25519 and the backend's greeting.
#[test]
fn an_openssl_35_group_list_serves_an_x25519_only_client() {
    let backend = Greeter::start("pq");
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let dir = temp_dir("pq-group-list");
    let port = free_port();
    let conf = dir.join("s.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[svc]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{}\n\
             cert = {}\nkey = {}\ncurves = ?X448MLKEM1024:*X25519MLKEM768/X25519\n",
            backend.port,
            leaf.chain_pem.display(),
            leaf.key_pem.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    let run = s_client_run(port, &["-tls1_3", "-groups", "X25519", "-ign_eof"]);
    assert!(
        run.stdout.contains("backend-pq"),
        "{}\n{}",
        run.output(),
        tunnel.log()
    );
    assert!(
        run.output().contains("Server Temp Key: X25519"),
        "{}",
        run.output()
    );
}

/// Client mode against `openssl s_server -groups X25519` (OpenSSL 3.0: no
/// hybrid): `curves = *X25519MLKEM768/X25519` marks only the hybrid, so our
/// ClientHello carries its share alone and the server asks for X25519 with
/// a HelloRetryRequest (two ClientHellos); without `*` our default sends
/// the X25519 share alongside (one ClientHello). Data goes through both.
#[test]
fn star_in_a_client_curves_list_picks_the_key_shares() {
    let dir = temp_dir("pq-group-list-client");
    for (curves, hellos) in [("*X25519MLKEM768/X25519", 2), ("X25519MLKEM768:X25519", 1)] {
        let server = SServerBuilder::new(KeyType::EcdsaP256)
            .naccept(1)
            .args(&["-tls1_3", "-groups", "X25519", "-rev"])
            .start();
        let port = free_port();
        let conf = dir.join(format!("c{hellos}.conf"));
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\n[svc]\nclient = yes\naccept = 127.0.0.1:{port}\n\
                 connect = 127.0.0.1:{}\nverifyChain = yes\nCAfile = {}\n\
                 checkHost = localhost\ncurves = {curves}\n",
                server.port,
                pki().ca_pem.display()
            ),
        )
        .unwrap();
        let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
        let mut sock = connect_local(port).expect("connect to the tunnel");
        sock.write_all(b"hybrid\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while !got.ends_with(b"\n") {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, b"dirbyh\n", "curves = {curves}\n{}", tunnel.log());
        drop(sock);
        // s_server (one connection) exits by itself: its trace is complete.
        let mut server = server;
        let trace = server.trace();
        assert_eq!(
            trace.messages(false, "ClientHello").len(),
            hellos,
            "curves = {curves}\n{}",
            trace.text
        );
    }
}
