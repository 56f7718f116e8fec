//! tls-tunnel features end to end: SNI routing, PROXY v2 seen by a backend,
//! SIGHUP reload during a transfer, SIGTERM drain, metrics, limits, timeouts.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use tls_tests::peer::{connect_local, free_port};
use tls_tests::tunnel::{
    cert_for, http_get, read_n, temp_dir, tls_client, tls_over, Backend, BackendKind, Tunnel,
};
use tls_tests::{assert_same_bytes, payload};

fn arg(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn tunnel_sni_routing_picks_certificate_and_target() {
    let dir = temp_dir("sni");
    let default = cert_for(&dir, "localhost", &["localhost"]);
    let a = cert_for(&dir, "a.example", &["a.example"]);
    let b = cert_for(&dir, "b.example", &["*.b.example"]);
    let (bd, ba, bb) = (
        Backend::start(BackendKind::Echo {
            greeting: "default\n".into(),
        }),
        Backend::start(BackendKind::Echo {
            greeting: "backend-a\n".into(),
        }),
        Backend::start(BackendKind::Echo {
            greeting: "backend-b\n".into(),
        }),
    );
    let port = free_port();
    let toml = format!(
        "[[service]]\nname = \"front\"\nmode = \"server\"\nlisten = \"127.0.0.1:{port}\"\ntarget = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\n\
         [[service.sni]]\nname = \"a.example\"\ncert = \"{}\"\nkey = \"{}\"\ntarget = \"{}\"\n\n\
         [[service.sni]]\nname = \"*.b.example\"\ncert = \"{}\"\nkey = \"{}\"\ntarget = \"{}\"\n",
        bd.addr(), default.cert.display(), default.key.display(),
        a.cert.display(), a.key.display(), ba.addr(),
        b.cert.display(), b.key.display(), bb.addr(),
    );
    let path = dir.join("sni.toml");
    std::fs::write(&path, toml).unwrap();
    let tunnel = Tunnel::start(["--config", &arg(&path)], &[port]);
    // Each client pins the certificate it expects, so the certificate choice is checked too.
    for (name, pin, greeting) in [
        ("a.example", &a.der, "backend-a\n"),
        ("x.b.example", &b.der, "backend-b\n"),
        ("localhost", &default.der, "default\n"),
    ] {
        let mut tls = tls_client(port, name, pin);
        assert_eq!(
            read_n(&mut tls, greeting.len()),
            greeting.as_bytes(),
            "{name}\n{}",
            tunnel.log()
        );
    }
}

#[test]
fn tunnel_sends_proxy_v2_with_tls_tlvs() {
    let dir = temp_dir("proxy");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::ProxyV2Echo);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _tunnel = Tunnel::server(
        &listen,
        &backend.addr(),
        &cert,
        &["--proxy-protocol", "v2"],
        port,
    );
    let mut tls = tls_client(port, "localhost", &cert.der);
    let client_port = tls.get_ref().local_addr().unwrap().port();
    tls.write_all(b"after the header").unwrap();
    assert_eq!(read_n(&mut tls, 16), b"after the header");
    let header = backend.headers.lock().unwrap()[0].clone();
    assert_eq!(&header[..12], b"\r\n\r\n\0\r\nQUIT\n", "v2 signature");
    assert_eq!(header[12], 0x21, "version 2, PROXY");
    assert_eq!(header[13], 0x11, "TCP over IPv4");
    assert_eq!(&header[16..20], &[127, 0, 0, 1], "source address");
    assert_eq!(
        u16::from_be_bytes([header[24], header[25]]),
        client_port,
        "source port"
    );
    assert_eq!(
        u16::from_be_bytes([header[26], header[27]]),
        port,
        "destination port"
    );
    // TLVs: authority (SNI) and SSL with the version sub-TLV.
    let tlvs = &header[28..];
    let find = |t: &[u8], needle: &[u8]| t.windows(needle.len()).any(|w| w == needle);
    assert!(
        find(tlvs, b"\x02\x00\x09localhost"),
        "PP2_TYPE_AUTHORITY: {tlvs:?}"
    );
    assert!(
        find(tlvs, b"\x21\x00\x07TLSv1.3"),
        "PP2_SUBTYPE_SSL_VERSION: {tlvs:?}"
    );
}

#[test]
fn tunnel_accepts_proxy_v1_from_a_balancer() {
    let dir = temp_dir("accept-proxy");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::server(&listen, &backend.addr(), &cert, &["--accept-proxy"], port);
    let mut sock = connect_local(port).unwrap();
    sock.write_all(b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n")
        .unwrap();
    let config = std::sync::Arc::new(tls_core::ClientConfig::with_pinned_certs(vec![cert
        .der
        .clone()]));
    let conn = tls_core::Connection::client(config, Some("localhost")).unwrap();
    let mut tls = tls_core::TlsStream::new(conn, sock);
    tls.write_all(b"hi").unwrap();
    assert_eq!(read_n(&mut tls, 2), b"hi");
    drop(tls);
    tunnel.expect_log("peer=203.0.113.7:40000");
}

#[test]
fn tunnel_sighup_reload_keeps_transfers_and_survives_bad_reload() {
    let dir = temp_dir("reload");
    let first = cert_for(&dir, "localhost", &["localhost"]);
    let live_cert = dir.join("live.crt");
    let live_key = dir.join("live.key");
    std::fs::copy(&first.cert, &live_cert).unwrap();
    std::fs::copy(&first.key, &live_key).unwrap();
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::start(
        [
            "server",
            "--listen",
            &listen,
            "--target",
            &backend.addr(),
            "--cert",
            &arg(&live_cert),
            "--key",
            &arg(&live_key),
        ],
        &[port],
    );

    // A transfer in progress across the reload.
    let mut tls = tls_client(port, "localhost", &first.der);
    let data = payload(11, 1 << 20);
    let chunks: Vec<&[u8]> = data.chunks(64 * 1024).collect();
    let mut got = Vec::new();
    let second_dir = temp_dir("reload2");
    let second = cert_for(&second_dir, "localhost", &["localhost"]);
    for (i, chunk) in chunks.iter().enumerate() {
        tls.write_all(chunk).unwrap();
        got.extend(read_n(&mut tls, chunk.len()));
        if i == chunks.len() / 2 {
            std::fs::copy(&second.cert, &live_cert).unwrap();
            std::fs::copy(&second.key, &live_key).unwrap();
            tunnel.signal("HUP");
            tunnel.expect_log("reloaded 1 service(s)");
        }
    }
    assert_same_bytes("transfer across SIGHUP", &got, &data);

    // New connections get the new certificate.
    let mut fresh = tls_client(port, "localhost", &second.der);
    fresh.write_all(b"new").unwrap();
    assert_eq!(read_n(&mut fresh, 3), b"new");

    // A bad reload keeps the old configuration and says why.
    std::fs::write(&live_key, "not a key").unwrap();
    tunnel.signal("HUP");
    tunnel.expect_log("reload failed, keeping the old configuration");
    let mut after = tls_client(port, "localhost", &second.der);
    after.write_all(b"still").unwrap();
    assert_eq!(read_n(&mut after, 5), b"still");
    // The first connection is still alive too.
    tls.write_all(b"old").unwrap();
    assert_eq!(read_n(&mut tls, 3), b"old");
}

#[test]
fn tunnel_sigterm_drains_established_connections() {
    let dir = temp_dir("drain");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut tunnel = Tunnel::server(&listen, &backend.addr(), &cert, &[], port);
    let mut tls = tls_client(port, "localhost", &cert.der);
    tunnel.signal("TERM");
    tunnel.expect_log("draining");
    // The established connection still works; new ones are refused.
    tls.write_all(b"still here").unwrap();
    assert_eq!(read_n(&mut tls, 10), b"still here");
    assert!(connect_local(port).is_err(), "listener closed during drain");
    assert!(
        tunnel.peer.try_status().is_none(),
        "waits for the connection"
    );
    tls.close_notify().unwrap();
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);
    let status = tunnel
        .peer
        .wait(Duration::from_secs(20))
        .expect("exits once drained");
    assert!(status.success(), "{status}");
}

#[test]
fn tunnel_metrics_limits_and_idle_timeout() {
    let dir = temp_dir("metrics");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let (port, mport) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{port}");
    let metrics = format!("127.0.0.1:{mport}");
    let tunnel = Tunnel::start(
        [
            "server",
            "--listen",
            &listen,
            "--target",
            &backend.addr(),
            "--cert",
            &arg(&cert.cert),
            "--key",
            &arg(&cert.key),
            "--metrics",
            &metrics,
            "--max-connections",
            "1",
            "--idle-timeout",
            "1s",
            "--handshake-timeout",
            "2s",
        ],
        &[port, mport],
    );
    // One connection holds the only place: the tunnel stops accepting, and a
    // second connection waits in the listen backlog (it is not closed).
    let mut tls = tls_client(port, "localhost", &cert.der);
    tls.write_all(b"x").unwrap();
    assert_eq!(read_n(&mut tls, 1), b"x");
    let mut waiting = tls_over(connect_local(port).unwrap(), "localhost", &cert.der);

    // The idle connection is closed after about a second; then the waiting
    // one is accepted and served.
    let start = Instant::now();
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);
    assert!(start.elapsed() < Duration::from_secs(10));
    tunnel.expect_log("reason=idle timeout");
    waiting
        .handshake()
        .expect("accepted once the place is free");
    waiting.write_all(b"y").unwrap();
    assert_eq!(read_n(&mut waiting, 1), b"y");
    drop(waiting);

    // A failed handshake: garbage instead of a ClientHello.
    let mut bad = connect_local(port).unwrap();
    bad.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let _ = bad.read_to_end(&mut Vec::new());
    tunnel.expect_log("reason=tls:");

    let text = http_get(mport);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    for needle in [
        "tls_tunnel_connections_total{service=\"server\"} 3",
        "tls_tunnel_connections_refused_total{service=\"server\",reason=\"per_source\"} 0",
        "tls_tunnel_handshake_failures_total{service=\"server\",reason=",
        "tls_tunnel_handshake_duration_seconds_count{service=\"server\"} 2",
        "tls_tunnel_bytes_received_total{service=\"server\"} 2",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}
