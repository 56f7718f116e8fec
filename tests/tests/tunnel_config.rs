//! tls-tunnel configuration files end to end: a stunnel.conf with two
//! services runs unchanged, our TOML format, `--check`, and bad
//! configurations giving one clear line and a non-zero exit.

use std::io::{Read, Write};

use tls_tests::openssl_peer::s_client_run;
use tls_tests::peer::{connect_local, free_port};
use tls_tests::tunnel::{cert_for, run_tunnel, temp_dir, tls_client, Backend, BackendKind, Tunnel};

#[test]
fn tunnel_stunnel_conf_with_two_services_runs_unchanged() {
    let dir = temp_dir("stunnel");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let (web, local) = (free_port(), free_port());
    let pid = dir.join("stunnel.pid");
    let conf = format!(
        "; an ordinary stunnel.conf\n\
         foreground = yes\n\
         pid = {pid}\n\
         debug = info\n\
         \n\
         [web]\n\
         accept = 127.0.0.1:{web}\n\
         connect = {backend}\n\
         cert = {cert}\n\
         key = {key}\n\
         TIMEOUTidle = 60\n\
         sessionCacheTimeout = 600\n\
         sessionCacheSize = 500\n\
         \n\
         [to-web]\n\
         client = yes\n\
         accept = 127.0.0.1:{local}\n\
         connect = 127.0.0.1:{web}\n\
         CAfile = {cert}\n\
         verifyChain = yes\n\
         checkHost = localhost\n\
         TIMEOUTconnect = 5\n\
         sessionResume = yes\n",
        pid = pid.display(),
        backend = backend.addr(),
        cert = cert.cert.display(),
        key = cert.key.display(),
    );
    let path = dir.join("stunnel.conf");
    std::fs::write(&path, conf).unwrap();
    let tunnel = Tunnel::start(["--config", path.to_str().unwrap()], &[web, local]);
    let written: String = std::fs::read_to_string(&pid).expect("pid file written");
    assert_eq!(written.trim(), tunnel.peer.id().to_string());

    // Plaintext into [to-web], TLS between the services, plaintext to the backend.
    let mut sock = connect_local(local).unwrap();
    sock.write_all(b"two services").unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = Vec::new();
    sock.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"two services", "{}", tunnel.log());
    tunnel.expect_log("service=web");
    tunnel.expect_log("service=to-web");
}

#[test]
fn tunnel_toml_config_and_check() {
    let dir = temp_dir("toml");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: "toml\n".into(),
    });
    let port = free_port();
    let toml = format!(
        "[global]\nlog_format = \"json\"\n\n[[service]]\nname = \"api\"\nmode = \"server\"\n\
         listen = \"127.0.0.1:{port}\"\ntarget = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\nidle_timeout = \"30s\"\n\
         session_timeout = \"10m\"\nsession_cache_size = 100\nsession_tickets = true\n",
        backend.addr(),
        cert.cert.display(),
        cert.key.display()
    );
    let path = dir.join("tunnel.toml");
    std::fs::write(&path, toml).unwrap();

    let (code, stdout, stderr) = run_tunnel(["--config", path.to_str().unwrap(), "--check"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("configuration OK (1 service(s))"),
        "{stdout}"
    );

    let tunnel = Tunnel::start(["--config", path.to_str().unwrap()], &[port]);
    let mut tls = tls_client(port, "localhost", &cert.der);
    let mut buf = [0u8; 5];
    tls.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"toml\n");
    drop(tls);
    // JSON logs: one object a line.
    tunnel.expect_log("\"service\":\"api\"");
}

/// Runs `openssl s_client` against `port` with `args` and no input: whether
/// it succeeded, and everything it printed.
fn s_client(port: u16, args: &[&str]) -> (bool, String) {
    let mut all = vec!["-servername", "localhost"];
    all.extend_from_slice(args);
    let run = s_client_run(port, &all);
    (run.success(), run.output())
}

#[test]
fn tunnel_stunnel_conf_versions_suites_and_curves() {
    let dir = temp_dir("algorithms");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let port = free_port();
    let conf = format!(
        "foreground = yes\n\
         options = NO_SSLv3\n\
         [web]\n\
         accept = 127.0.0.1:{port}\n\
         connect = {backend}\n\
         cert = {cert}\n\
         key = {key}\n\
         sslVersionMin = TLSv1.3\n\
         ciphersuites = TLS_CHACHA20_POLY1305_SHA256\n\
         curves = P-256\n\
         options = CIPHER_SERVER_PREFERENCE\n",
        backend = backend.addr(),
        cert = cert.cert.display(),
        key = cert.key.display(),
    );
    let path = dir.join("stunnel.conf");
    std::fs::write(&path, conf).unwrap();

    let (code, stdout, stderr) = run_tunnel(["--config", path.to_str().unwrap(), "--check"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("configuration OK (1 service(s))"),
        "{stdout}"
    );

    let tunnel = Tunnel::start(["--config", path.to_str().unwrap()], &[port]);
    let (ok, out) = s_client(port, &["-tls1_2"]);
    assert!(!ok, "TLS 1.2 must be refused:\n{out}\n{}", tunnel.log());

    // s_client offers all three TLS 1.3 suites and X25519 first: the server
    // picks ChaCha20 and asks for P-256 (HelloRetryRequest).
    let (ok, out) = s_client(port, &["-tls1_3"]);
    assert!(ok, "{out}\n{}", tunnel.log());
    assert!(
        out.contains("TLSv1.3, Cipher is TLS_CHACHA20_POLY1305_SHA256"),
        "{out}"
    );
    assert!(out.contains("Server Temp Key: ECDH, prime256v1"), "{out}");
}

/// Runs a bad configuration: exit 2 and exactly one line on stderr containing `want`.
fn assert_bad(args: &[&str], want: &str) {
    let (code, _, stderr) = run_tunnel(args);
    assert_eq!(code, Some(2), "exit code for {args:?}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line for {args:?}:\n{stderr}"
    );
    assert!(stderr.contains(want), "{want:?} in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn tunnel_bad_configs_give_one_clear_line() {
    let dir = temp_dir("bad");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    // (file, contents, the error line's text; {path} stands for the file).
    const TOML_SERVICE: &str =
        "[[service]]\nname = \"x\"\nmode = \"server\"\nlisten = \"1\"\ntarget = \"127.0.0.1:1\"\n";
    let svc = "[svc]\naccept = 1234\nconnect = 127.0.0.1:1\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown.conf", format!("foreground = yes\n{svc}engine = pkcs11\n"), "{path}:5: engine: cryptographic engines (PKCS#11, CNG) are not supported"),
        ("oldtls.conf", format!("{svc}sslVersion = TLSv1\n"), "{path}:4: sslVersion = TLSv1: TLS below 1.2 is not supported"),
        ("curve.conf", format!("curves = X25519:X9\n{svc}"), "{path}:1: curves = X25519:X9: curve \"X9\" is not supported"),
        ("nocert.conf", format!("{svc}cert = /nonexistent/cert.pem\n"), "cannot read certificate file /nonexistent/cert.pem"),
        ("addr.conf", "[svc]\naccept = 1234\nconnect = nowhere\n".into(), "{path}:3: bad port \"nowhere\" in address \"nowhere\""),
        ("bad.toml", format!("{TOML_SERVICE}tls = true\n"), "{path}:6: unknown field `tls`"),
        ("mode.toml", TOML_SERVICE.replace("\"server\"", "\"sideways\""), "{path}:1: service \"x\": mode must be server or client"),
        ("cache.conf", format!("{svc}sessionCacheSize = 0\n"), "{path}:4: sessionCacheSize: session cache size 0 (unlimited in stunnel) is not supported"),
        ("options.conf", format!("{svc}options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION\n"), "{path}:4: options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION: cannot be honoured"),
        ("client.conf", "[svc]\nclient = yes\naccept = 1234\nconnect = 127.0.0.1:1\nsessionCacheTimeout = 60\n".into(), "{path}:5: [svc]: sessionCacheTimeout applies to server mode only"),
        ("timeout.toml", format!("{TOML_SERVICE}session_timeout = \"200h\"\n"), "{path}:1: service \"x\": session timeout must be a whole number of seconds from 1s to 7 days"),
    ];
    for (name, text, want) in &cases {
        let path = write(name, text);
        let want = want.replace("{path}", &path);
        assert_bad(&["--config", &path], &want);
        assert_bad(&["--config", &path, "--check"], &want);
    }

    assert_bad(
        &["--config", "/nonexistent/tunnel.conf"],
        "cannot read config",
    );
    assert_bad(
        &["server", "--listen", "nowhere", "--target", "127.0.0.1:1"],
        "--listen: address \"nowhere\" has no port",
    );
    assert_bad(
        &[
            "server",
            "--listen",
            "1",
            "--target",
            "127.0.0.1:1",
            "--allow-cn",
            "x",
        ],
        "need a CA file",
    );
}

#[test]
fn tunnel_help_reads_like_a_man_page() {
    let (code, stdout, _) = run_tunnel(["--help"]);
    assert_eq!(code, Some(0));
    for section in [
        "EXAMPLES",
        "SIGNALS",
        "EXIT STATUS",
        "server",
        "client",
        "--config",
    ] {
        assert!(
            stdout.contains(section),
            "--help lacks {section}:\n{stdout}"
        );
    }
}

/// Issue 13, item 4: absurd durations and counts, in every front end, are
/// refused (with and without --check) by one line naming the knob and where
/// it was written; before, they passed --check and every connection task
/// then panicked ("overflow when adding duration to instant").
#[test]
fn tunnel_absurd_numbers_are_refused_naming_them() {
    let dir = temp_dir("absurd");
    const TOML_SERVICE: &str =
        "[[service]]\nname = \"x\"\nmode = \"server\"\nlisten = \"1\"\ntarget = \"127.0.0.1:1\"\n";
    let svc = "[svc]\naccept = 1234\nconnect = 127.0.0.1:1\n";
    let huge = "18446744073709551615";
    // (file, contents, the error line's text; {path} stands for the file).
    let files: Vec<(&str, String, &str)> = vec![
        ("idle.toml", format!("{TOML_SERVICE}idle_timeout = \"{huge}s\"\n"), "{path}:1: service \"x\": idle timeout (--idle-timeout, idle_timeout, TIMEOUTidle) 18446744073709551615s is too long: at most 2592000s"),
        ("hours.toml", format!("{TOML_SERVICE}idle_timeout = \"99999999999999999h\"\n"), "{path}:1: service \"x\": idle timeout"),
        ("busy.toml", format!("{TOML_SERVICE}handshake_timeout = \"2h\"\n"), "{path}:1: service \"x\": handshake timeout (--handshake-timeout, handshake_timeout, TIMEOUTbusy) 7200s is too long: at most 3600s"),
        ("connect.toml", format!("{TOML_SERVICE}connect_timeout = \"{huge}ms\"\n"), "connect timeout"),
        ("close.toml", format!("{TOML_SERVICE}close_timeout = \"25h\"\n"), "close timeout (--close-timeout, close_timeout, TIMEOUTclose) 90000s is too long"),
        ("drain.toml", format!("[global]\ndrain_timeout = \"{huge}s\"\n{TOML_SERVICE}"), "{path}: [global]: drain timeout (--shutdown-timeout, drain_timeout)"),
        ("conns.toml", format!("{TOML_SERVICE}max_connections = 99999999999\n"), "max connections (--max-connections, max_connections) 99999999999 is too large: at most 1000000"),
        ("hs.toml", format!("{TOML_SERVICE}max_handshakes = 0\n"), "max handshakes (--max-handshakes, max_handshakes) must be at least 1"),
        ("src.toml", format!("{TOML_SERVICE}max_connections_per_source = 0\n"), "max connections per source"),
        ("idle.conf", format!("{svc}TIMEOUTidle = {huge}\n"), "{path}:4: idle timeout (--idle-timeout, idle_timeout, TIMEOUTidle) 18446744073709551615s is too long"),
        ("global.conf", format!("TIMEOUTidle = {huge}\n{svc}"), "{path}:1: idle timeout"),
        ("busy.conf", format!("{svc}TIMEOUTbusy = 99999\n"), "{path}:4: handshake timeout"),
        ("close.conf", format!("{svc}TIMEOUTclose = {huge}\n"), "{path}:4: close timeout"),
        ("connect.conf", format!("{svc}TIMEOUTconnect = {huge}\n"), "{path}:4: connect timeout"),
    ];
    for (name, text, want) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let want = want.replace("{path}", path);
        assert_bad(&["--config", path], &want);
        assert_bad(&["--config", path, "--check"], &want);
    }
    let server = [
        "server",
        "--listen",
        "1",
        "--target",
        "127.0.0.1:1",
        "--check",
    ];
    let huge_s = format!("{huge}s");
    let cli: Vec<(&str, &str, &str)> = vec![
        (
            "--handshake-timeout",
            &huge_s,
            "command line: handshake timeout",
        ),
        (
            "--idle-timeout",
            "99999999999999999h",
            "command line: idle timeout",
        ),
        ("--connect-timeout", "2h", "command line: connect timeout"),
        ("--close-timeout", "25h", "command line: close timeout"),
        (
            "--max-conn-lifetime",
            "31d",
            "command line: connection lifetime",
        ),
        (
            "--shutdown-timeout",
            "25h",
            "--shutdown-timeout: drain timeout",
        ),
        (
            "--max-connections",
            "99999999999",
            "command line: max connections",
        ),
        ("--max-connections", "0", "must be at least 1"),
        (
            "--max-handshakes",
            "2000000",
            "command line: max handshakes",
        ),
        (
            "--max-connections-per-source",
            "0",
            "command line: max connections per source",
        ),
    ];
    for (option, value, want) in cli {
        let mut args = server.to_vec();
        args.extend([option, value]);
        assert_bad(&args, want);
    }
}
