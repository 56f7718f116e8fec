//! tls-tunnel session resumption end to end: `openssl s_client -sess_out` /
//! `-sess_in` against server mode (TLS 1.3 and 1.2, tickets off, resumption
//! off, across SIGHUP), and client mode resuming to `openssl s_server -www`.

use std::io::{Read, Write};
use std::path::Path;

use tls_tests::fleet::session_line;
use tls_tests::openssl_peer::{s_client_at, Log, SServer, SServerBuilder};
use tls_tests::peer::{connect_local, free_port, PEER_TIMEOUT};
use tls_tests::tunnel::{cert_for, temp_dir, Backend, BackendKind, Tunnel};

/// The versions tested: a name as OpenSSL prints it and the flag forcing it.
const VERSIONS: [(&str, &[&str]); 2] = [("TLSv1.3", &[]), ("TLSv1.2", &["-tls1_2"])];

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

/// One `openssl s_client` connection to `port` with `args` (`-sess_out F`,
/// `-sess_in F`, `-tls1_2`): a line goes through the tunnel and back before
/// s_client is told to close, so a TLS 1.3 ticket has arrived by then.
/// Returns `New, <version>` or `Reused, <version>`.
fn s_client(port: u16, args: &[&str], tunnel: &Tunnel) -> String {
    let mut all = vec!["-servername", "localhost"];
    all.extend_from_slice(args);
    let mut client = s_client_at(port, &all);
    client.write_stdin(b"resumption probe\n".to_vec());
    assert!(
        client.wait_output_contains("resumption probe", PEER_TIMEOUT),
        "no echo through the tunnel\n{}\n{}",
        client.diagnostics(),
        tunnel.log()
    );
    client.close_stdin();
    client.wait(PEER_TIMEOUT);
    let out = String::from_utf8_lossy(&client.stdout()).into_owned();
    session_line(&out).unwrap_or_else(|| panic!("no session line in s_client output:\n{out}"))
}

/// A first connection saving its session to `sess`, then a second offering
/// it: what each reported. `None` for the second when the first left no
/// session to offer (the server issued neither a ticket nor a session ID,
/// so s_client writes no session file).
fn connect_twice(
    port: u16,
    version: &[&str],
    sess: &Path,
    tunnel: &Tunnel,
) -> (String, Option<String>) {
    let name = sess.to_str().unwrap();
    let with = |flag: &'static str| [&[flag, name][..], version].concat();
    let first = s_client(port, &with("-sess_out"), tunnel);
    let second = sess
        .exists()
        .then(|| s_client(port, &with("-sess_in"), tunnel));
    (first, second)
}

/// What [`connect_twice`] reports for a full handshake then `second`.
fn expect(second: Option<&str>, version: &str) -> (String, Option<String>) {
    (
        format!("New, {version}"),
        second.map(|s| format!("{s}, {version}")),
    )
}

#[test]
fn tunnel_server_resumes_openssl_sessions_tls13_and_tls12() {
    let dir = temp_dir("resume-server");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::server(&listen, &backend.addr(), &cert, &[], port);
    for (version, flags) in VERSIONS {
        let sess = dir.join(format!("{version}.sess"));
        assert_eq!(
            connect_twice(port, flags, &sess, &tunnel),
            expect(Some("Reused"), version),
            "{}",
            tunnel.log()
        );
    }
    tunnel.expect_log("resumed=true");
}

#[test]
fn tunnel_server_without_resumption_or_without_tickets() {
    let dir = temp_dir("resume-off");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let (c, k) = (cert.cert.to_str().unwrap(), cert.key.to_str().unwrap());

    // --no-session-resumption: nothing to resume is ever issued.
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
            c,
            "--key",
            k,
            "--no-session-resumption",
        ],
        &[port],
    );
    for (version, flags) in VERSIONS {
        let sess = dir.join(format!("off-{version}.sess"));
        assert_eq!(
            connect_twice(port, flags, &sess, &tunnel),
            expect(None, version),
            "{}",
            tunnel.log()
        );
    }
    drop(tunnel);

    // stunnel's options = NO_TICKET: no session state leaves the server; TLS
    // 1.3 resumes from the server's cache by a ticket that only names the
    // session (as OpenSSL, so stunnel, does), TLS 1.2 by session ID.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[web]\naccept = {listen}\nconnect = {}\ncert = {c}\nkey = {k}\n\
             options = NO_TICKET\nsessionCacheSize = 10\nsessionCacheTimeout = 60\n",
            backend.addr()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config", conf.to_str().unwrap()], &[port]);
    for (version, flags) in VERSIONS {
        let second = Some("Reused");
        let sess = dir.join(format!("noticket-{version}.sess"));
        assert_eq!(
            connect_twice(port, flags, &sess, &tunnel),
            expect(second, version),
            "{}",
            tunnel.log()
        );
    }
}

#[test]
fn tunnel_sighup_keeps_server_sessions_unless_their_settings_change() {
    let dir = temp_dir("resume-reload");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let path = dir.join("tunnel.toml");
    let write = |timeout: &str| {
        let toml = format!(
            "[[service]]\nname = \"web\"\nmode = \"server\"\nlisten = \"{listen}\"\n\
             target = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\nsession_timeout = \"{timeout}\"\n",
            backend.addr(),
            cert.cert.display(),
            cert.key.display()
        );
        std::fs::write(&path, toml).unwrap();
    };
    write("5m");
    let tunnel = Tunnel::start(["--config", path.to_str().unwrap()], &[port]);
    let reloads = |n: usize| {
        assert!(
            tunnel.peer.wait_output(PEER_TIMEOUT, |_, log| log
                .matches("reloaded 1 service(s)")
                .count()
                >= n),
            "reload {n} not logged\n{}",
            tunnel.log()
        );
    };
    let sess = |version: &str| dir.join(format!("{version}.sess"));
    for (version, flags) in VERSIONS {
        let out = sess(version);
        let args = [&["-sess_out", out.to_str().unwrap()][..], flags].concat();
        assert_eq!(s_client(port, &args, &tunnel), format!("New, {version}"));
    }

    // The same configuration again: ticket keys and the session cache carry over.
    tunnel.signal("HUP");
    reloads(1);
    for (version, flags) in VERSIONS {
        let input = sess(version);
        let args = [&["-sess_in", input.to_str().unwrap()][..], flags].concat();
        assert_eq!(
            s_client(port, &args, &tunnel),
            format!("Reused, {version}"),
            "{}",
            tunnel.log()
        );
    }

    // Another session timeout: sessions from before are not resumed, and the log says so.
    write("10m");
    tunnel.signal("HUP");
    reloads(2);
    tunnel.expect_log("sessions from before the reload will not resume");
    for (version, flags) in VERSIONS {
        let input = sess(version);
        let args = [&["-sess_in", input.to_str().unwrap()][..], flags].concat();
        assert_eq!(
            s_client(port, &args, &tunnel),
            format!("New, {version}"),
            "{}",
            tunnel.log()
        );
    }
}

/// A plaintext HTTP request through the client-mode tunnel on `port` to an
/// `openssl s_server -www`, which answers with its session summary.
fn www_session(port: u16, tunnel: &Tunnel) -> String {
    let mut sock = connect_local(port).expect("connect to the tunnel");
    sock.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut page = Vec::new();
    sock.read_to_end(&mut page).unwrap();
    let page = String::from_utf8_lossy(&page).into_owned();
    session_line(&page)
        .unwrap_or_else(|| panic!("no session line in the page:\n{page}\n{}", tunnel.log()))
}

#[test]
fn tunnel_client_mode_resumes_to_openssl_s_server() {
    let dir = temp_dir("resume-client");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let c = cert.cert.to_str().unwrap();
    let cases = [
        ("TLSv1.3", &[][..], &[][..], "Reused"),
        ("TLSv1.2", &["-tls1_2"][..], &[][..], "Reused"),
        ("TLSv1.3", &[][..], &["--no-session-resumption"][..], "New"),
    ];
    for (version, server_flags, tunnel_flags, second) in cases {
        let SServer {
            peer: _server,
            port: server_port,
            ..
        } = SServerBuilder::with_cert(&cert.cert, &cert.key)
            .naccept(2)
            .quiet(false)
            .log(Log::Off)
            .args(&["-www"])
            .args(server_flags)
            .start();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let target = format!("127.0.0.1:{server_port}");
        let mut args = vec![
            "client",
            "--listen",
            &listen,
            "--target",
            &target,
            "--cacert",
            c,
            "--server-name",
            "localhost",
        ];
        args.extend_from_slice(tunnel_flags);
        let tunnel = Tunnel::start(args, &[port]);
        let got = (www_session(port, &tunnel), Some(www_session(port, &tunnel)));
        assert_eq!(
            got,
            expect(Some(second), version),
            "{:?}\n{}",
            tunnel_flags,
            tunnel.log()
        );
        if second == "Reused" {
            tunnel.expect_log("resumed=true");
        }
    }
}
