//! The tunnel's HTTP endpoint end to end (`--metrics ADDR`): `/metrics`
//! only at its path, `/_status` JSON, the `/livez` and `/readyz` probes
//! through start, reload and SIGTERM drain, certificate expiry and
//! connection-state metrics, robustness against junk and slowloris, and the
//! client-mode cap on handshakes in progress.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tls_tests::peer::{connect_local, free_port, local_listener, PEER_TIMEOUT};
use tls_tests::tunnel::{
    cert_for, http_get_path, http_raw, read_n, temp_dir, tls_client, Backend, BackendKind,
    CertFiles, Tunnel,
};

fn arg(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A self-signed certificate for `cn` valid until January 1st of `year`.
fn cert_until(dir: &Path, cn: &str, year: i32) -> CertFiles {
    let mut params = rcgen::CertificateParams::new(vec![cn.to_string()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_after = rcgen::date_time_ymd(year, 1, 1);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-sign");
    let files = CertFiles {
        cert: dir.join(format!("{cn}-{year}.crt")),
        key: dir.join(format!("{cn}-{year}.key")),
        der: cert.der().to_vec(),
    };
    std::fs::write(&files.cert, cert.pem()).expect("write cert");
    std::fs::write(&files.key, key.serialize_pem()).expect("write key");
    files
}

/// Unix seconds at midnight UTC, January 1st of `year` (1970 onwards).
fn new_year(year: i64) -> i64 {
    let days: i64 = (1970..year)
        .map(|y| {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                366
            } else {
                365
            }
        })
        .sum();
    days * 86_400
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The value of the sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse().ok())
}

fn metrics(mport: u16) -> String {
    let (code, text) = http_get_path(mport, "/metrics");
    assert_eq!(code, 200, "{text}");
    text
}

fn status(mport: u16) -> (u16, serde_json::Value) {
    let (code, body) = http_get_path(mport, "/_status");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (code, json)
}

/// Checks the expiry gauge of the server's default certificate against
/// `year` (the value is computed at scrape time, so it lies between the
/// seconds left before and after the scrape).
fn assert_expiry(mport: u16, cn: &str, year: i64) {
    let before = new_year(year) - now();
    let text = metrics(mport);
    let after = new_year(year) - now();
    let prefix = format!(
        "tls_tunnel_certificate_expiry_seconds{{service=\"server\",certificate=\"default\",\
         subject=\"CN={cn}\"}} "
    );
    let v = sample(&text, &prefix).unwrap_or_else(|| panic!("{prefix} missing:\n{text}"));
    assert!(after <= v && v <= before, "{v} not in {after}..={before}");
}

#[test]
fn tunnel_status_endpoints_follow_start_reload_and_drain() {
    let dir = temp_dir("status");
    let cert = cert_until(&dir, "status.example", 2031);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let (port, mport) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{port}");
    let maddr = format!("127.0.0.1:{mport}");
    let mut tunnel = Tunnel::server(
        &listen,
        &backend.addr(),
        &cert,
        &["--metrics", &maddr],
        port,
    );
    tunnel.expect_log("INFO ready");

    // The probes and the paths.
    assert_eq!(http_get_path(mport, "/livez"), (200, "ok\n".into()));
    assert_eq!(http_get_path(mport, "/readyz"), (200, "ready\n".into()));
    for path in ["/", "/metric", "/metrics/x", "/_statusx", "/livez/"] {
        assert_eq!(http_get_path(mport, path).0, 404, "{path}");
    }
    assert_eq!(http_get_path(mport, "/metrics?name[]=x").0, 200);
    let head = http_raw(mport, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Length: ") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let post = http_raw(
        mport,
        b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    assert!(post.contains("Allow: GET, HEAD\r\n"), "{post}");

    // Metrics: build information, certificate expiry, connections by state.
    let text = metrics(mport);
    assert!(text.contains("tls_tunnel_build_info{version=\""), "{text}");
    assert_eq!(sample(&text, "tls_tunnel_ready "), Some(1), "{text}");
    assert_expiry(mport, "status.example", 2031);
    let mut tls = tls_client(port, "status.example", &cert.der);
    tls.write_all(b"hi").unwrap();
    assert_eq!(read_n(&mut tls, 2), b"hi");
    let open = |text: &str, state: &str| {
        sample(
            text,
            &format!("tls_tunnel_connections_open{{service=\"server\",state=\"{state}\"}} "),
        )
    };
    let text = metrics(mport);
    assert_eq!(open(&text, "established"), Some(1), "{text}");
    assert_eq!(open(&text, "handshaking"), Some(0), "{text}");
    assert_eq!(open(&text, "draining"), Some(0), "{text}");

    // A plaintext request on the TLS port fails the handshake: counted
    // under a fixed reason, as every reason on the page is.
    let mut junk = connect_local(port).unwrap();
    junk.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let _ = junk.read_to_end(&mut Vec::new());
    tunnel.expect_log("reason=tls:");
    let text = metrics(mport);
    let failures: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tls_tunnel_handshake_failures_total{"))
        .collect();
    assert_eq!(failures.len(), 1, "{text}");
    for line in text.lines().filter(|l| l.contains("reason=\"")) {
        let reason = line
            .split("reason=\"")
            .nth(1)
            .and_then(|r| r.split('"').next());
        assert!(
            reason.is_some_and(
                |r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            ),
            "{line}"
        );
    }

    // The status page.
    let (code, s) = status(mport);
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["status"], "ok", "{s}");
    assert_eq!(s["message"], "listening", "{s}");
    assert_eq!(s["backend_ok"], true, "{s}");
    assert!(s["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{s}");
    let svc = &s["services"][0];
    assert_eq!(svc["name"], "server", "{s}");
    assert_eq!(svc["mode"], "server", "{s}");
    assert_eq!(svc["listen"], listen.as_str(), "{s}");
    assert_eq!(svc["targets"][0], backend.addr().as_str(), "{s}");
    assert_eq!(svc["connections"]["established"], 1, "{s}");
    let c = &svc["certificates"][0];
    assert_eq!(c["role"], "default", "{s}");
    assert_eq!(c["subject"], "CN=status.example", "{s}");
    assert_eq!(c["not_after"], "2031-01-01T00:00:00Z", "{s}");
    assert!(
        c["expires_in_seconds"].as_i64().is_some_and(|v| v > 0),
        "{s}"
    );
    assert_eq!(
        c["sha256_fingerprint"].as_str().map(str::len),
        Some(95),
        "{s}"
    );

    // A reload with a renewed certificate: the page and the gauge follow.
    let renewed = cert_until(&dir, "renewed.example", 2032);
    std::fs::copy(&renewed.cert, &cert.cert).unwrap();
    std::fs::copy(&renewed.key, &cert.key).unwrap();
    tunnel.signal("HUP");
    tunnel.expect_log("reloaded 1 service");
    let (_, s) = status(mport);
    let c = &s["services"][0]["certificates"][0];
    assert_eq!(c["subject"], "CN=renewed.example", "{s}");
    assert_eq!(c["not_after"], "2032-01-01T00:00:00Z", "{s}");
    assert_expiry(mport, "renewed.example", 2032);
    assert!(!metrics(mport).contains("CN=status.example"));

    // The backend down: /_status says so (503), readiness does not change.
    let bport = backend.port;
    drop(backend);
    let deadline = Instant::now() + PEER_TIMEOUT;
    while connect_local(bport).is_ok() {
        assert!(Instant::now() < deadline, "backend never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, s) = status(mport);
    assert_eq!(code, 503, "{s}");
    assert_eq!((&s["ok"], &s["backend_ok"]), (&false.into(), &false.into()));
    assert_eq!(s["status"], "critical", "{s}");
    assert_eq!(s["services"][0]["backend_ok"], false, "{s}");
    assert!(s["services"][0]["backend_error"].is_string(), "{s}");
    assert_eq!(http_get_path(mport, "/readyz").0, 200);

    // SIGTERM with a connection open: draining, not ready, still alive.
    tunnel.signal("TERM");
    tunnel.expect_log("stopping: draining");
    assert_eq!(
        http_get_path(mport, "/readyz"),
        (503, "not ready: draining\n".into())
    );
    assert_eq!(http_get_path(mport, "/livez").0, 200);
    let text = metrics(mport);
    assert_eq!(open(&text, "draining"), Some(1), "{text}");
    assert_eq!(open(&text, "established"), Some(0), "{text}");
    assert_eq!(sample(&text, "tls_tunnel_ready "), Some(0), "{text}");
    let (code, s) = status(mport);
    assert_eq!((code, &s["message"]), (503, &"draining".into()), "{s}");
    drop(tls);
    let exit = tunnel.peer.wait(PEER_TIMEOUT).expect("exits once drained");
    assert!(exit.success(), "{}", tunnel.log());
}

/// Accepts one connection on `listener` (non-blocking), bounded.
fn accept(listener: &TcpListener) -> std::net::TcpStream {
    let deadline = Instant::now() + PEER_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                sock.set_nonblocking(false).unwrap();
                return sock;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection to the target");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Asserts the tunnel already closed `sock` (its ClientHello may be waiting
/// to be read first): a closed socket reads to its end at once, an open one
/// would block.
fn assert_closed(sock: &mut std::net::TcpStream, what: &str) {
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("{what} still open ({e}) while the next handshake started"),
        }
    }
}

#[test]
fn tunnel_client_mode_caps_handshakes_in_progress() {
    let dir = temp_dir("client-cap");
    let ca = cert_for(&dir, "ca.example", &["ca.example"]);
    let mine = cert_until(&dir, "client.example", 2030);
    // A target that accepts and never answers: every handshake times out.
    let (silent, sport) = local_listener();
    silent.set_nonblocking(true).unwrap();
    let (port, mport) = (free_port(), free_port());
    let (listen, target) = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{sport}"));
    let maddr = format!("127.0.0.1:{mport}");
    let tunnel = Tunnel::start(
        [
            "client",
            "--listen",
            &listen,
            "--target",
            &target,
            "--cacert",
            &arg(&ca.cert),
            "--cert",
            &arg(&mine.cert),
            "--key",
            &arg(&mine.key),
            "--max-handshakes",
            "1",
            "--handshake-timeout",
            "2s",
            "--metrics",
            &maddr,
        ],
        &[port],
    );
    tunnel.expect_log("INFO ready");
    let _clients: Vec<_> = (0..3).map(|_| connect_local(port).unwrap()).collect();
    let mut first = accept(&silent);
    let text = metrics(mport);
    assert_eq!(
        sample(
            &text,
            "tls_tunnel_connections_open{service=\"client\",state=\"handshaking\"} "
        ),
        Some(1),
        "{text}"
    );
    // One handshake at a time: the next target connection only comes
    // after the previous handshake ended (timed out and closed).
    let mut second = accept(&silent);
    assert_closed(&mut first, "the first target connection");
    let _third = accept(&silent);
    assert_closed(&mut second, "the second target connection");
    let text = metrics(mport);
    let failures = sample(
        &text,
        "tls_tunnel_handshake_failures_total{service=\"client\",reason=\"handshake_timeout\"} ",
    );
    assert!(failures.is_some_and(|n| n >= 2), "{text}");
    // The client certificate is on the status page and in the gauge.
    let (_, s) = status(mport);
    let c = &s["services"][0]["certificates"][0];
    assert_eq!(
        (&c["role"], &c["subject"]),
        (&"client".into(), &"CN=client.example".into())
    );
    assert!(
        text.contains(
            "tls_tunnel_certificate_expiry_seconds{service=\"client\",certificate=\"client\",\
             subject=\"CN=client.example\"} "
        ),
        "{text}"
    );
}

#[test]
fn tunnel_http_endpoint_survives_junk_and_slowloris() {
    let dir = temp_dir("http-junk");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let (port, mport) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{port}");
    let maddr = format!("127.0.0.1:{mport}");
    let mut tunnel = Tunnel::server(
        &listen,
        &backend.addr(),
        &cert,
        &["--metrics", &maddr],
        port,
    );
    tunnel.expect_log("INFO ready");

    let long_header = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000));
    let junk: Vec<(Vec<u8>, &str)> = vec![
        (b"\x16\x03\x01\x00\x05hello\r\n\r\n".to_vec(), "400"),
        (b"\r\n\r\n".to_vec(), "400"),
        (b"GET\r\n\r\n".to_vec(), "400"),
        (b"GET /metrics\r\n\r\n".to_vec(), "400"),
        (b"GET /metrics HTTP/1.1 extra\r\n\r\n".to_vec(), "400"),
        (b"GET metrics HTTP/1.1\r\n\r\n".to_vec(), "400"),
        (b"GET /metrics SPDY/3\r\n\r\n".to_vec(), "400"),
        (b"DELETE /metrics HTTP/1.1\r\n\r\n".to_vec(), "405"),
        (b"GET /\xff\xfe\x00 HTTP/1.1\r\n\r\n".to_vec(), "404"),
        (b"GET /metrics HTTP/1.0\n\n".to_vec(), "200"),
        (vec![b'A'; 20_000], "431"),
        (long_header.into_bytes(), "431"),
    ];
    for (req, want) in &junk {
        let resp = http_raw(mport, req);
        assert!(
            resp.starts_with(&format!("HTTP/1.1 {want} ")),
            "{:?} -> {resp:?}",
            String::from_utf8_lossy(&req[..req.len().min(40)])
        );
    }
    // Connections that send nothing, or half a request, and close.
    for half in [&b""[..], b"GET /met"] {
        let mut sock = connect_local(mport).unwrap();
        sock.write_all(half).unwrap();
        drop(sock);
    }

    // Slowloris: more idle half-requests than the endpoint serves at once,
    // and one client sending a byte at a time. Each is cut off with 408
    // (the time limit is for the whole request, not between bytes).
    let idle: Vec<_> = (0..40)
        .map(|_| {
            let mut s = connect_local(mport).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    let trickle = std::thread::spawn(move || {
        let mut s = connect_local(mport).unwrap();
        let request = format!("GET /metrics HTTP/1.1\r\nX-Slow: {}", "a".repeat(200));
        for (sent, b) in request.bytes().enumerate() {
            if s.write_all(&[b]).is_err() {
                return (sent, String::new());
            }
            s.set_nonblocking(true).unwrap();
            let mut peek = [0u8; 1];
            let answered = s.peek(&mut peek).is_ok_and(|n| n > 0);
            s.set_nonblocking(false).unwrap();
            if answered {
                let mut resp = String::new();
                let _ = s.read_to_string(&mut resp);
                return (sent, resp);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        (request.len(), String::new())
    });
    // A scrape during the attack is answered once places free up.
    assert_eq!(http_get_path(mport, "/livez").0, 200);
    for mut s in idle {
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("the endpoint answers");
        assert!(resp.starts_with("HTTP/1.1 408 "), "{resp}");
    }
    let (sent, resp) = trickle.join().unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 408 ") && sent < 200,
        "{sent} bytes sent, got {resp:?}"
    );

    // Still serving, never panicked.
    assert!(tunnel.peer.try_status().is_none(), "{}", tunnel.log());
    assert!(metrics(mport).contains("tls_tunnel_connections_total"));
    assert!(!tunnel.log().contains("panicked"), "{}", tunnel.log());
}
