//! tls-tunnel's command line as a ghostunnel user meets it: the --allow-*
//! and --verify-* rules (CN, OU, DNS, URI, SPKI pins) against curl and
//! openssl s_server, client verify modes, --max-conn-lifetime,
//! --timed-reload, --close-timeout, --shutdown-timeout, --syslog, --quiet,
//! the --unsafe-target/--unsafe-listen guard, global options before the
//! subcommand, --cert holding the key, the session-timeout bounds and the
//! wording of errors about the operator's files.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::{Path, PathBuf};

use tls_tests::openssl_peer::{self, Log, SServer, SServerBuilder};
use tls_tests::peer::{
    connect_local, free_port, local_listener, require, run_tool, Peer, PEER_TIMEOUT,
};
use tls_tests::tunnel::{
    cert_for, cert_with_ou, run_tunnel, temp_dir, tls_client, Backend, BackendKind, CertFiles,
    Tunnel,
};

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

/// The SPKI pin of a key file the way curl's manual computes one:
/// `openssl pkey -pubout -outform DER | openssl dgst -sha256 -binary | openssl base64`.
fn spki_pin(key: &Path) -> String {
    let openssl = openssl_peer::openssl();
    let dir = key.parent().expect("key in a directory");
    let name = key.file_name().and_then(|n| n.to_str()).expect("file name");
    let spki = dir.join(format!("{name}.spki"));
    let digest = dir.join(format!("{name}.sha256"));
    std::fs::write(
        &spki,
        run_tool(
            &openssl,
            ["pkey", "-in", &s(key), "-pubout", "-outform", "DER"],
        ),
    )
    .unwrap();
    std::fs::write(
        &digest,
        run_tool(&openssl, ["dgst", "-sha256", "-binary", &s(&spki)]),
    )
    .unwrap();
    let b64 = run_tool(&openssl, ["base64", "-A", "-in", &s(&digest)]);
    String::from_utf8(b64).unwrap().trim().to_string()
}

/// A server tunnel serving `cert` in front of an HTTP backend, with `extra`.
fn http_server(cert: &CertFiles, extra: &[&str]) -> (Tunnel, u16, Backend) {
    let backend = Backend::start(BackendKind::Http("admitted\n".into()));
    let port = free_port();
    let tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &backend.addr(),
        cert,
        extra,
        port,
    );
    (tunnel, port, backend)
}

/// curl to a tunnel on `port` trusting `server`, presenting `client` when
/// given, with `extra` arguments: whether the backend's page came back.
fn curl(port: u16, server: &CertFiles, client: Option<&CertFiles>, extra: &[&str]) -> bool {
    let curl = require("curl", "curl");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/");
    let mut args = vec![
        "-sS".to_string(),
        "--max-time".into(),
        "20".into(),
        "--cacert".into(),
        s(&server.cert),
        "--resolve".into(),
        resolve,
    ];
    if let Some(c) = client {
        args.extend(["--cert".into(), s(&c.cert), "--key".into(), s(&c.key)]);
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    args.push(url);
    let mut peer = Peer::spawn(&curl, &args);
    peer.close_stdin();
    let status = peer.wait(PEER_TIMEOUT).expect("curl finishes");
    status.success() && peer.stdout() == b"admitted\n"
}

#[test]
fn tunnel_cli_allow_ou_dns_uri_and_spki_pin_with_curl() {
    let dir = temp_dir("allow");
    let server = cert_for(&dir, "localhost", &["localhost"]);
    let alice = cert_with_ou(
        &dir,
        "alice",
        Some("eng"),
        &["alice.internal", "spiffe://example.org/ns/prod/sa/alice"],
    );
    let bob = cert_with_ou(
        &dir,
        "bob",
        Some("ops"),
        &["bob.internal", "spiffe://example.org/ns/prod/team/bob"],
    );
    // Both client certificates are listed in the CA file (self-signed).
    let ca = dir.join("clients.pem");
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&alice.cert).unwrap(),
        std::fs::read_to_string(&bob.cert).unwrap()
    );
    std::fs::write(&ca, both).unwrap();
    let ca = s(&ca);

    for (rule, value) in [
        ("--allow-ou", "eng"),
        ("--allow-dns", "alice.internal"),
        ("--allow-uri", "spiffe://example.org/ns/*/sa/alice"),
        ("--allow-uri", "spiffe://example.org/**/alice"),
    ] {
        let (tunnel, port, _backend) = http_server(&server, &["--cacert", &ca, rule, value]);
        assert!(
            curl(port, &server, Some(&alice), &[]),
            "{rule} {value} refused alice\n{}",
            tunnel.log()
        );
        assert!(
            !curl(port, &server, Some(&bob), &[]),
            "{rule} {value} admitted bob\n{}",
            tunnel.log()
        );
        assert!(!curl(port, &server, None, &[]), "{rule}: no certificate");
    }
    // A DNS rule does not match a URI SAN, nor a URI rule a DNS name.
    let (tunnel, port, _backend) = http_server(
        &server,
        &[
            "--cacert",
            &ca,
            "--allow-dns",
            "spiffe://example.org/ns/prod/sa/alice",
            "--allow-uri",
            "alice.internal",
        ],
    );
    assert!(!curl(port, &server, Some(&alice), &[]), "{}", tunnel.log());

    // Pinning: alice's key admitted with no CA at all; bob's refused.
    let pin = format!("sha256:{}", spki_pin(&alice.key));
    let (tunnel, port, _backend) = http_server(&server, &["--allow-spki-pin", &pin]);
    assert!(curl(port, &server, Some(&alice), &[]), "{}", tunnel.log());
    assert!(!curl(port, &server, Some(&bob), &[]), "{}", tunnel.log());
    assert!(!curl(port, &server, None, &[]), "{}", tunnel.log());

    // curl's own pin form is accepted, and names the same key curl pins.
    let curl_pin = format!("sha256//{}", spki_pin(&server.key));
    assert!(curl(
        port,
        &server,
        Some(&alice),
        &["--pinnedpubkey", &curl_pin]
    ));
    let (code, _, err) = run_tunnel([
        "server",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:2",
        "--allow-spki-pin",
        &curl_pin,
        "--check",
    ]);
    assert_eq!(code, Some(0), "{err}");
    // A pin with a CA file or another rule is refused, as ghostunnel does.
    let (code, _, err) = run_tunnel([
        "server",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:2",
        "--allow-spki-pin",
        &pin,
        "--cacert",
        &ca,
        "--allow-cn",
        "alice",
        "--check",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("allow-spki-pin"), "{err}");
    let (code, _, err) = run_tunnel([
        "server",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:2",
        "--allow-spki-pin",
        "sha256:not base64",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("SPKI pin"), "{err}");
}

/// Sends `ping` through a client tunnel on `port`; what came back (empty
/// when the tunnel refused the server).
fn through(port: u16) -> Vec<u8> {
    let mut sock = connect_local(port).expect("connect");
    let _ = sock.write_all(b"ping\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"\n") {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let _ = sock.shutdown(Shutdown::Both);
    got
}

fn client_tunnel(target: &str, extra: &[&str]) -> (Tunnel, u16) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["client", "--listen", &listen, "--target", target];
    args.extend_from_slice(extra);
    (Tunnel::start(args, &[port]), port)
}

#[test]
fn tunnel_cli_client_verify_rules_against_openssl_s_server() {
    let dir = temp_dir("verify");
    let server = cert_with_ou(
        &dir,
        "backend",
        Some("edge"),
        &["localhost", "spiffe://example.org/srv/backend"],
    );
    let other = cert_for(&dir, "other", &["localhost"]);
    // -rev: each line comes back reversed, on as many connections as needed.
    let SServer {
        peer: s_server,
        port: sport,
        ..
    } = SServerBuilder::with_cert(&server.cert, &server.key)
        .naccept(40)
        .quiet(false)
        .log(Log::Off)
        .args(&["-rev"])
        .start();
    let target = format!("127.0.0.1:{sport}");
    let ca = s(&server.cert);
    let works = |extra: &[&str]| {
        let (tunnel, port) = client_tunnel(&target, extra);
        let got = through(port);
        (got == b"gnip\n", tunnel, got)
    };
    for extra in [
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-cn",
            "backend",
        ][..],
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-ou",
            "edge",
        ],
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-dns",
            "localhost",
        ],
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-uri",
            "spiffe://example.org/srv/*",
        ],
        // Any one rule will do.
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-cn",
            "nobody",
            "--verify-ou",
            "edge",
        ],
        &["--cacert", &ca, "--verify", "pinned"],
        &["--verify", "insecure"],
    ] {
        let (ok, tunnel, got) = works(extra);
        assert!(ok, "{extra:?}: {got:?}\n{}", tunnel.log());
    }
    for extra in [
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-cn",
            "other",
        ][..],
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-ou",
            "ops",
        ],
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-dns",
            "example.org",
        ],
        &[
            "--cacert",
            &ca,
            "--server-name",
            "localhost",
            "--verify-uri",
            "spiffe://example.org/other/*",
        ],
        &["--cacert", &s(&other.cert), "--verify", "pinned"],
    ] {
        let (ok, tunnel, got) = works(extra);
        assert!(!ok, "{extra:?} connected: {got:?}\n{}", tunnel.log());
    }
    let (_, tunnel, _) = works(&[
        "--cacert",
        &ca,
        "--server-name",
        "localhost",
        "--verify-cn",
        "x",
    ]);
    tunnel.expect_log("matches no --verify-cn/-ou/-dns/-uri");

    // SPKI pinning: no CA, no name; the key decides.
    let pin = format!("sha256:{}", spki_pin(&server.key));
    let (ok, tunnel, got) = works(&["--verify-spki-pin", &pin]);
    assert!(ok, "{got:?}\n{}", tunnel.log());
    let wrong = format!("sha256:{}", spki_pin(&other.key));
    let (ok, tunnel, got) = works(&["--verify-spki-pin", &wrong]);
    assert!(!ok, "{got:?}\n{}", tunnel.log());

    let (code, _, err) = run_tunnel([
        "client",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:2",
        "--verify",
        "maybe",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--verify: verify must be chain, pinned or insecure"),
        "{err}"
    );
    drop(s_server);
}

#[test]
fn tunnel_cli_max_conn_lifetime_closes_a_busy_connection() {
    let dir = temp_dir("lifetime");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &backend.addr(),
        &cert,
        &["--max-conn-lifetime", "1s"],
        port,
    );
    let mut tls = tls_client(port, "localhost", &cert.der);
    tls.write_all(b"one\n").unwrap();
    let mut buf = [0u8; 4];
    tls.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"one\n");
    // Traffic does not keep it alive: the tunnel ends it.
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);
    tunnel.expect_log("max connection lifetime reached");
}

#[test]
fn tunnel_cli_timed_reload_swaps_certificates_and_keeps_them_on_error() {
    let dir = temp_dir("timed");
    let first = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let live_cert = dir.join("live.crt");
    let live_key = dir.join("live.key");
    std::fs::copy(&first.cert, &live_cert).unwrap();
    std::fs::copy(&first.key, &live_key).unwrap();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::start(
        [
            "server",
            "--listen",
            &listen,
            "--target",
            &backend.addr(),
            "--cert",
            &s(&live_cert),
            "--key",
            &s(&live_key),
            "--timed-reload",
            "200ms",
        ],
        &[port],
    );
    drop(tls_client(port, "localhost", &first.der));
    let other = temp_dir("timed-second");
    let second = cert_for(&other, "localhost", &["localhost"]);
    // The key first: the next reloads fail (it does not match the
    // certificate) and keep the running pair.
    std::fs::copy(&second.key, &live_key).unwrap();
    tunnel.expect_log("reload failed, keeping the old configuration");
    drop(tls_client(port, "localhost", &first.der));
    std::fs::copy(&second.cert, &live_cert).unwrap();
    let swapped = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let sock = connect_local(port).expect("connect");
        let mut tls = tls_tests::tunnel::tls_over(sock, "localhost", &second.der);
        tls.handshake().is_ok()
    });
    assert!(
        swapped,
        "never served the new certificate\n{}",
        tunnel.log()
    );
    tunnel.expect_log("trigger=\"timed\"");
    // A broken file: the running certificate stays.
    std::fs::write(&live_cert, "not a certificate\n").unwrap();
    tunnel.expect_log(&format!(
        "certificate file {}: no certificate in this file",
        live_cert.display()
    ));
    drop(tls_client(port, "localhost", &second.der));
}

#[test]
fn tunnel_cli_close_and_shutdown_timeouts() {
    let dir = temp_dir("close");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    // A backend that takes the connection and never answers nor closes.
    let (listener, bport) = local_listener();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let mut sink = Vec::new();
        let _ = sock.read_to_end(&mut sink);
        // Held open, silent, until the test has seen the tunnel give up.
        let _ = done_rx.recv_timeout(PEER_TIMEOUT);
    });
    let port = free_port();
    let tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &format!("127.0.0.1:{bport}"),
        &cert,
        &["--close-timeout", "1s", "--shutdown-timeout", "1s"],
        port,
    );
    let mut tls = tls_client(port, "localhost", &cert.der);
    tls.write_all(b"bye").unwrap();
    tls.close_notify().expect("close_notify");
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);
    // Half-closed and silent: closed after --close-timeout, not the 12h idle timeout.
    tunnel.expect_log("reason=idle timeout");
    let _ = done_tx.send(());
    holder.join().unwrap();

    // --shutdown-timeout: SIGTERM with a connection still open ends after it.
    let backend = echo();
    let port = free_port();
    let mut tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &backend.addr(),
        &cert,
        &["--shutdown-timeout", "1s"],
        port,
    );
    let _open = tls_client(port, "localhost", &cert.der);
    tunnel.signal("TERM");
    let status = tunnel
        .peer
        .wait(PEER_TIMEOUT)
        .expect("exits after the drain timeout");
    assert!(status.success(), "{}", tunnel.log());
    assert!(tunnel.log().contains("drain timeout"), "{}", tunnel.log());
}

#[test]
fn tunnel_cli_syslog_and_quiet() {
    let dir = temp_dir("syslog");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let socket_path = dir.join("log.sock");
    let syslog = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind");
    syslog.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
    let backend = echo();
    let port = free_port();
    let tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &backend.addr(),
        &cert,
        &["--syslog", "--syslog-socket", &s(&socket_path)],
        port,
    );
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("listening")) {
        let mut buf = [0u8; 4096];
        let n = syslog.recv(&mut buf).expect("a syslog line");
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let pid = tunnel.peer.id();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('<') && l.contains(&format!("tls-tunnel[{pid}]:"))),
        "{lines:?}"
    );
    assert!(!tunnel.log().contains("listening"), "{}", tunnel.log());
    drop(tunnel);

    // --quiet conns: a good connection leaves no line; a failed handshake does.
    let port = free_port();
    let tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &backend.addr(),
        &cert,
        &["--quiet", "conns"],
        port,
    );
    let mut tls = tls_client(port, "localhost", &cert.der);
    tls.write_all(b"x").unwrap();
    let mut one = [0u8; 1];
    tls.read_exact(&mut one).unwrap();
    tls.close_notify().unwrap();
    drop(tls);
    let mut junk = connect_local(port).unwrap();
    junk.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let _ = junk.read_to_end(&mut Vec::new());
    tunnel.expect_log("connection closed");
    let log = tunnel.log();
    assert_eq!(log.matches("connection closed").count(), 1, "{log}");
    assert!(!log.contains("connection accepted"), "{log}");
    assert!(!log.contains("reason=closed"), "{log}");
    drop(tunnel);

    // --quiet handshake-errs: the failed handshake leaves no line; a good
    // connection still does.
    let port = free_port();
    let tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &backend.addr(),
        &cert,
        &["--quiet", "handshake-errs"],
        port,
    );
    let mut junk = connect_local(port).unwrap();
    junk.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let _ = junk.read_to_end(&mut Vec::new());
    let mut tls = tls_client(port, "localhost", &cert.der);
    tls.write_all(b"x").unwrap();
    tls.read_exact(&mut one).unwrap();
    tls.close_notify().unwrap();
    drop(tls);
    tunnel.expect_log("reason=closed");
    let log = tunnel.log();
    assert_eq!(log.matches("connection closed").count(), 1, "{log}");
    assert_eq!(log.matches("connection accepted").count(), 2, "{log}");
}

#[test]
fn tunnel_cli_plaintext_side_stays_local_unless_told() {
    let check = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--check");
        run_tunnel(all)
    };
    let (code, _, err) = check(&["server", "--listen", "8443", "--target", "192.0.2.1:80"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--target: 192.0.2.1:80 is not a loopback address"),
        "{err}"
    );
    assert!(err.contains("--unsafe-target"), "{err}");
    let (code, _, err) = check(&[
        "server",
        "--listen",
        "8443",
        "--target",
        "192.0.2.1:80",
        "--unsafe-target",
    ]);
    assert_eq!(code, Some(0), "{err}");
    for target in [
        "127.0.0.1:80",
        "[::1]:80",
        "localhost:80",
        "unix:/run/app.sock",
    ] {
        let (code, _, err) = check(&["server", "--listen", "8443", "--target", target]);
        assert_eq!(code, Some(0), "{target}: {err}");
    }
    let (code, _, err) = check(&[
        "client",
        "--listen",
        "0.0.0.0:2525",
        "--target",
        "127.0.0.1:465",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--unsafe-listen"), "{err}");
    let (code, _, err) = check(&[
        "client",
        "--listen",
        "0.0.0.0:2525",
        "--target",
        "192.0.2.1:465",
        "--unsafe-listen",
        "--verify",
        "insecure",
    ]);
    assert_eq!(code, Some(0), "{err}");
    // Config files keep their own meaning (stunnel.conf's), no guard.
    let dir = temp_dir("unsafe");
    let conf = dir.join("t.toml");
    std::fs::write(
        &conf,
        "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"8443\"\ntarget = \"192.0.2.1:80\"\n",
    )
    .unwrap();
    let (code, _, err) = run_tunnel(["--config", &s(&conf), "--check"]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn tunnel_cli_global_options_anywhere_and_grouped_in_help() {
    let dir = temp_dir("global");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::start(
        [
            "--log-level",
            "debug",
            "--log-format",
            "json",
            "server",
            "--listen",
            &listen,
            "--target",
            &backend.addr(),
            "--cert",
            &s(&cert.cert),
            "--key",
            &s(&cert.key),
        ],
        &[port],
    );
    drop(tls_client(port, "localhost", &cert.der));
    // A debug line, in JSON.
    tunnel.expect_log("\"message\":\"handshake done\"");

    let (code, help, err) = run_tunnel(["server", "--help"]);
    assert_eq!(code, Some(0), "{err}");
    let global = help.find("Global options").expect("a global heading");
    let service = help.find("Service options").expect("a service heading");
    // The option's own line, not a mention in the usage line or another's text.
    let at = |opt: &str| {
        help.find(&format!("  {opt} "))
            .unwrap_or_else(|| panic!("{opt} in\n{help}"))
    };
    for opt in [
        "--log-level",
        "--check",
        "--metrics",
        "--syslog",
        "--timed-reload",
    ] {
        assert!(
            at(opt) > global,
            "{opt} not under the global heading\n{help}"
        );
    }
    for opt in ["--listen", "--cacert", "--allow-ou", "--max-conn-lifetime"] {
        assert!(at(opt) > service && at(opt) < global, "{opt}\n{help}");
    }
}

#[test]
fn tunnel_cli_cert_file_holding_the_key() {
    let dir = temp_dir("combined");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let combined = dir.join("combined.pem");
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&cert.cert).unwrap(),
        std::fs::read_to_string(&cert.key).unwrap()
    );
    std::fs::write(&combined, both).unwrap();
    let backend = Backend::start(BackendKind::Http("admitted\n".into()));
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
            &s(&combined),
        ],
        &[port],
    );
    assert!(curl(port, &cert, None, &[]), "{}", tunnel.log());

    // A certificate file without a key says where the key was looked for.
    let (code, _, err) = run_tunnel([
        "server",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:2",
        "--cert",
        &s(&cert.cert),
        "--check",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "key file {}: no private key in this file",
            cert.cert.display()
        )),
        "{err}"
    );
    assert!(err.contains("give its own file with --key"), "{err}");
}

#[test]
fn tunnel_cli_session_timeout_bounds_are_inclusive() {
    let dir = temp_dir("session");
    let check = |value: &str| {
        run_tunnel([
            "server",
            "--listen",
            "127.0.0.1:1",
            "--target",
            "127.0.0.1:2",
            "--session-timeout",
            value,
            "--check",
        ])
    };
    for ok in ["7d", "168h", "10080m", "604800", "604800s", "1s", "1"] {
        let (code, _, err) = check(ok);
        assert_eq!(code, Some(0), "{ok}: {err}");
    }
    for bad in ["604801", "8d", "0", "500ms"] {
        let (code, _, err) = check(bad);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(err.contains("--session-timeout"), "{err}");
    }
    let toml = |value: &str| {
        let path: PathBuf = dir.join(format!("s{value}.toml"));
        std::fs::write(
            &path,
            format!(
                "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\n\
                 target = \"127.0.0.1:2\"\nsession_timeout = \"{value}\"\n"
            ),
        )
        .unwrap();
        run_tunnel(["--config", &s(&path), "--check"]).0
    };
    assert_eq!(toml("7d"), Some(0));
    assert_eq!(toml("604801s"), Some(2));
    let conf = |value: &str| {
        let path = dir.join(format!("s{value}.conf"));
        std::fs::write(
            &path,
            format!(
                "foreground = yes\n[a]\naccept = 127.0.0.1:1\nconnect = 127.0.0.1:2\n\
                 sessionCacheTimeout = {value}\n"
            ),
        )
        .unwrap();
        run_tunnel(["--config", &s(&path), "--check"]).0
    };
    assert_eq!(conf("604800"), Some(0));
    assert_eq!(conf("604801"), Some(2));
}

#[test]
fn tunnel_cli_errors_name_the_file_once_prefixed() {
    let dir = temp_dir("errors");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    let broken = dir.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let expect = |args: &[&str], want: &str| {
        let (code, out, err) = run_tunnel(args);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert!(err.contains(want), "{want:?} in {err}");
        for line in err.lines() {
            assert!(line.starts_with("tls-tunnel: "), "{line}");
            assert!(!line.contains("tls-tunnel: tls-tunnel"), "{line}");
            assert!(!line.contains("internal error"), "{line}");
        }
    };
    expect(&[], "tls-tunnel: command line: nothing to run");
    let (c, k) = (s(&cert.cert), s(&cert.key));
    let server = |extra: &[&str]| {
        let mut a = vec![
            "server",
            "--listen",
            "127.0.0.1:1",
            "--target",
            "127.0.0.1:2",
            "--check",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|x| x.to_string()).collect::<Vec<_>>()
    };
    let j = s(&junk);
    let b = s(&broken);
    let run = |extra: &[&str], want: String| {
        let args = server(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        expect(&refs, &want);
    };
    run(
        &["--cert", &j, "--key", &k],
        format!("certificate file {j}: no certificate in this file (expected PEM blocks"),
    );
    run(
        &["--cert", &b, "--key", &k],
        format!("certificate file {b}: not a valid PEM file"),
    );
    run(
        &["--cert", &c, "--key", &j],
        format!("key file {j}: no private key in this file"),
    );
    let other = temp_dir("errors-other");
    let other = cert_for(&other, "localhost", &["localhost"]);
    run(
        &["--cert", &c, "--key", &s(&other.key)],
        format!(
            "key file {} does not hold the private key of the first certificate of {c}",
            s(&other.key)
        ),
    );
    run(
        &["--cert", &c, "--key", &k, "--cacert", &j, "--allow-all"],
        format!("CA file {j}: no certificate in this file"),
    );
    let missing = dir.join("missing.pem");
    run(
        &["--cert", &s(&missing), "--key", &k],
        format!("cannot read certificate file {}", missing.display()),
    );
    // stunnel.conf's CRLfile.
    let conf = dir.join("crl.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[a]\naccept = 127.0.0.1:1\nconnect = 127.0.0.1:2\ncert = {c}\n\
             key = {k}\nCAfile = {c}\nverifyChain = yes\nCRLfile = {j}\n"
        ),
    )
    .unwrap();
    expect(
        &["--config", &s(&conf), "--check"],
        &format!("CRL file {j}: no CRL in this file"),
    );
}
