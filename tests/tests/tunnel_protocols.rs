//! tls-tunnel's application protocols (`--starttls`, stunnel's `protocol`)
//! against real peers: `openssl s_client -starttls ...` in front of server
//! mode; client mode behind stunnel's own server-mode protocols and behind
//! `openssl s_server` reached through a plaintext NNTP/LDAP prelude; a real
//! PostgreSQL (`ssl = on`) with psql both ways; HTTP CONNECT through
//! tinyproxy; SOCKS inside TLS with curl, and its refusals against
//! stunnel's; SMTP AUTH after STARTTLS against aiosmtpd, with stunnel4 on
//! the same stunnel.conf as the oracle. Wrong replies from plaintext peers end the connection with a
//! log line, never a hang.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use tls_tests::openssl_peer::{s_client_at, Log, SServerBuilder};
use tls_tests::peer::{
    connect_local, free_port, local_listener, require, set_timeouts, Peer, PEER_TIMEOUT,
};
use tls_tests::tunnel::{
    cert_for, read_n, starttls_client, temp_dir, tls_client, Backend, BackendKind, CertFiles,
    Tunnel,
};

fn echo_with(greeting: &str) -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: greeting.into(),
    })
}

/// Reads one CRLF line (bounded by the socket timeouts).
fn line(r: &mut impl BufRead) -> String {
    let mut s = String::new();
    r.read_line(&mut s).expect("read a line");
    s
}

/// A plaintext line server for one connection: sends `greeting`, then
/// answers each line with `reply(line)` (None: echo it).
fn line_backend(
    greeting: &'static str,
    reply: fn(&str) -> Option<String>,
) -> (thread::JoinHandle<()>, u16) {
    let (listener, port) = local_listener();
    let h = thread::spawn(move || {
        let Ok((sock, _)) = listener.accept() else {
            return;
        };
        let _ = set_timeouts(&sock);
        let mut w = sock.try_clone().expect("clone");
        let mut r = BufReader::new(sock);
        let _ = w.write_all(greeting.as_bytes());
        let mut l = String::new();
        while r.read_line(&mut l).is_ok_and(|n| n > 0) {
            let answer = reply(&l).unwrap_or_else(|| l.clone());
            if w.write_all(answer.as_bytes()).is_err() {
                return;
            }
            l.clear();
        }
    });
    (h, port)
}

/// A plaintext IMAP server that greets, answers CAPABILITY, NOOP and
/// LOGOUT, and echoes anything else: what the server-mode tunnel sits in
/// front of.
fn imap_backend() -> (thread::JoinHandle<()>, u16) {
    line_backend("* OK [CAPABILITY IMAP4rev1] backend ready\r\n", |l| {
        let (tag, cmd) = l.split_once(' ')?;
        match cmd.trim().to_ascii_uppercase().as_str() {
            "CAPABILITY" => Some(format!(
                "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"
            )),
            "NOOP" => Some(format!("{tag} OK backend noop\r\n")),
            "LOGOUT" => Some(format!("* BYE\r\n{tag} OK bye\r\n")),
            _ => None,
        }
    })
}

/// A plaintext POP3 server that answers +OK to every command.
fn pop3_backend() -> (thread::JoinHandle<()>, u16) {
    line_backend("+OK backend POP3 ready\r\n", |l| {
        Some(format!("+OK backend got {}\r\n", l.trim()))
    })
}

/// `openssl s_client -starttls proto` against a server-mode tunnel whose
/// target is `target`: the handshake completes after the prelude and a
/// line typed into s_client comes back through the (echoing) backend.
fn s_client_starttls(proto: &str, target: &str) {
    let dir = temp_dir(proto);
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel_proto = if proto == "postgres" { "pgsql" } else { proto };
    let tunnel = Tunnel::server(&listen, target, &cert, &["--starttls", tunnel_proto], port);
    let mut client = s_client_at(
        port,
        &["-starttls", proto, "-servername", "localhost", "-quiet"],
    );
    let token = format!("{proto} through the tunnel");
    client.write_stdin(format!("{token}\n").into_bytes());
    assert!(
        client.wait_output_contains(&token, PEER_TIMEOUT),
        "{}\n{}",
        client.diagnostics(),
        tunnel.log()
    );
    drop(client);
    tunnel.expect_log("version=TLSv1.3");
}

#[test]
fn server_mode_nntp_with_openssl_s_client() {
    let backend = echo_with("200 backend.example InterNetNews NNRP server ready\r\n");
    s_client_starttls("nntp", &backend.addr());
}

#[test]
fn server_mode_smtp_with_openssl_s_client() {
    let backend = echo_with("220 backend.example ESMTP test\r\n");
    s_client_starttls("smtp", &backend.addr());
}

#[test]
fn server_mode_imap_with_openssl_s_client() {
    let (_h, port) = imap_backend();
    s_client_starttls("imap", &format!("127.0.0.1:{port}"));
}

#[test]
fn server_mode_pop3_with_openssl_s_client() {
    let backend = echo_with("+OK backend POP3 ready\r\n");
    s_client_starttls("pop3", &backend.addr());
}

#[test]
fn server_mode_ldap_with_openssl_s_client() {
    let backend = echo_with("");
    s_client_starttls("ldap", &backend.addr());
}

#[test]
fn server_mode_postgres_with_openssl_s_client() {
    let backend = echo_with("");
    s_client_starttls("postgres", &backend.addr());
}

/// stunnel itself in server mode with `protocol = proto` in front of
/// `backend` (none for SOCKS, whose client names the destination); returns
/// it and its port.
fn stunnel_server(proto: &str, backend: Option<&str>, cert: &CertFiles, dir: &Path) -> (Peer, u16) {
    let stunnel = require("stunnel4", "stunnel4");
    let port = free_port();
    let conf = dir.join(format!("stunnel-{proto}.conf"));
    let connect = backend.map_or_else(String::new, |b| format!("connect = {b}\n"));
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\n[{proto}]\naccept = 127.0.0.1:{port}\n{connect}\
             cert = {}\nkey = {}\nprotocol = {proto}\n",
            cert.cert.display(),
            cert.key.display()
        ),
    )
    .expect("write stunnel.conf");
    let mut peer = Peer::spawn(&stunnel, [&conf]);
    peer.wait_for_port(port);
    (peer, port)
}

/// A client-mode tunnel with `--starttls proto` to 127.0.0.1:`server`,
/// trusting `cert` for `localhost`.
fn client_tunnel(proto: &str, server: u16, cert: &CertFiles, extra: &[&str]) -> (Tunnel, u16) {
    starttls_client(proto, &format!("127.0.0.1:{server}"), &cert.cert, extra)
}

/// Client mode behind stunnel's server-mode `proto`: the plaintext client
/// gets the greeting stunnel made from the backend's, then its bytes reach
/// the echoing backend over TLS and come back.
fn client_mode_behind_stunnel(proto: &str, greeting: &str, want_greeting: &str) {
    let dir = temp_dir(proto);
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo_with(greeting);
    let (stunnel, sport) = stunnel_server(proto, Some(&backend.addr()), &cert, &dir);
    let (tunnel, port) = client_tunnel(proto, sport, &cert, &[]);
    let sock = connect_local(port).expect("connect to the tunnel");
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::new(sock);
    if !want_greeting.is_empty() {
        let got = line(&mut r);
        assert!(
            got.starts_with(want_greeting),
            "greeting {got:?}\n{}\n{}",
            tunnel.log(),
            stunnel.diagnostics()
        );
    }
    w.write_all(b"after the upgrade\r\n").unwrap();
    assert_eq!(line(&mut r), "after the upgrade\r\n", "{}", tunnel.log());
    drop((w, r));
    tunnel.expect_log("version=TLSv1.3");
}

#[test]
fn client_mode_smtp_behind_stunnel() {
    client_mode_behind_stunnel(
        "smtp",
        "220 backend.example ESMTP test\r\n",
        "220 backend.example stunnel for ESMTP test",
    );
}

#[test]
fn client_mode_imap_behind_stunnel() {
    client_mode_behind_stunnel("imap", "* OK backend ready\r\n", "* OK backend ready");
}

#[test]
fn client_mode_pop3_behind_stunnel() {
    client_mode_behind_stunnel("pop3", "+OK backend ready\r\n", "+OK backend ready");
}

#[test]
fn client_mode_pgsql_behind_stunnel() {
    client_mode_behind_stunnel("pgsql", "", "");
}

/// `openssl s_server -quiet` on a free port, serving `cert` once.
fn s_server(cert: &CertFiles) -> (Peer, u16) {
    let server = SServerBuilder::with_cert(&cert.cert, &cert.key)
        .log(Log::Off)
        .start();
    (server.peer, server.port)
}

/// A plaintext server that runs `prelude` on one connection, then splices
/// it to 127.0.0.1:`tls_port`, so the TLS that follows is the real server's.
fn prelude_then_splice(
    prelude: impl FnOnce(&mut TcpStream) -> std::io::Result<()> + Send + 'static,
    tls_port: u16,
) -> u16 {
    let (listener, port) = local_listener();
    thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        let _ = set_timeouts(&sock);
        if prelude(&mut sock).is_err() {
            return;
        }
        let Ok(server) = connect_local(tls_port) else {
            return;
        };
        splice(sock, server);
    });
    port
}

fn splice(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (mut a, mut b) = (a, b);
    let t = thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(Shutdown::Write);
    let _ = t.join();
}

/// Client mode through a prelude peer to `openssl s_server`.
fn client_mode_to_s_server(
    proto: &str,
    prelude: impl FnOnce(&mut TcpStream) -> std::io::Result<()> + Send + 'static,
    want_greeting: &str,
) {
    let dir = temp_dir(proto);
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let (mut server, tls_port) = s_server(&cert);
    let pport = prelude_then_splice(prelude, tls_port);
    let (tunnel, port) = client_tunnel(proto, pport, &cert, &[]);
    let sock = connect_local(port).expect("connect to the tunnel");
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::new(sock);
    if !want_greeting.is_empty() {
        assert_eq!(line(&mut r), want_greeting, "{}", tunnel.log());
    }
    w.write_all(b"ping over tls\n").unwrap();
    assert!(
        server.wait_output_contains("ping over tls", PEER_TIMEOUT),
        "{}\n{}",
        server.diagnostics(),
        tunnel.log()
    );
    server.write_stdin(b"pong\n".to_vec());
    assert_eq!(read_n(&mut r, 5), b"pong\n");
}

#[test]
fn client_mode_nntp_to_openssl_s_server() {
    client_mode_to_s_server(
        "nntp",
        |sock| {
            sock.write_all(b"200 news.example ready\r\n")?;
            let mut r = BufReader::new(sock.try_clone()?);
            assert_eq!(line(&mut r), "STARTTLS\r\n");
            sock.write_all(b"382 Continue with TLS negotiation\r\n")
        },
        "200 news.example ready\r\n",
    );
}

#[test]
fn client_mode_ldap_to_openssl_s_server() {
    client_mode_to_s_server(
        "ldap",
        |sock| {
            let mut req = [0u8; 31];
            sock.read_exact(&mut req)?;
            assert_eq!(
                &req[..9],
                [0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16]
            );
            assert_eq!(&req[9..], b"1.3.6.1.4.1.1466.20037");
            // ExtendedResponse: messageID 1, success, empty DN and message.
            sock.write_all(&[
                0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
            ])
        },
        "",
    );
}

/// A plaintext peer that writes `says` and then reads until the tunnel
/// closes (bounded).
fn saying(says: &'static [u8]) -> u16 {
    let (listener, port) = local_listener();
    thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        let _ = set_timeouts(&sock);
        let _ = sock.write_all(says);
        let mut sink = Vec::new();
        let _ = sock.read_to_end(&mut sink);
    });
    port
}

/// The plaintext client sees the connection closed (after whatever the
/// tunnel passed on), and the tunnel logs `reason`.
fn expect_clean_close(tunnel: &Tunnel, port: u16, reason: &str) -> Vec<u8> {
    let mut sock = connect_local(port).expect("connect to the tunnel");
    let mut got = Vec::new();
    sock.read_to_end(&mut got)
        .unwrap_or_else(|e| panic!("tunnel did not close: {e}\n{}", tunnel.log()));
    tunnel.expect_log(reason);
    got
}

#[test]
fn client_mode_wrong_replies_close_with_a_reason() {
    let dir = temp_dir("wrong");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    for (proto, says, reason) in [
        (
            "smtp",
            &b"554 no service here\r\n"[..],
            "smtp prelude: server greeting is not 220: \"554 no service here\"",
        ),
        (
            "smtp",
            b"220 hi\r\n250 ok\r\n454 TLS not available\r\n",
            "smtp prelude: server refused STARTTLS",
        ),
        (
            "imap",
            b"* BYE busy\r\n",
            "imap prelude: server greeting is not * OK",
        ),
        (
            "pop3",
            b"+OK hi\r\n-ERR no TLS\r\n",
            "pop3 prelude: server refused STLS",
        ),
        (
            "nntp",
            b"200 hi\r\n502 no\r\n",
            "nntp prelude: server refused STARTTLS",
        ),
        ("pgsql", b"N", "pgsql prelude: server refused TLS"),
        (
            "ldap",
            b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00",
            "ldap prelude: server refused StartTLS: resultCode 2",
        ),
        (
            "ldap",
            b"\x30\x84\x7f\xff\xff\xff",
            "ldap prelude: LDAP message of",
        ),
    ] {
        let server = saying(says);
        let (tunnel, port) = client_tunnel(proto, server, &cert, &[]);
        let got = expect_clean_close(&tunnel, port, reason);
        if proto == "smtp" {
            // The greeting was passed on, as stunnel does.
            assert!(got.starts_with(&says[..says.iter().position(|b| *b == b'\n').unwrap() + 1]));
        }
    }
}

#[test]
fn client_mode_silent_server_times_out() {
    let dir = temp_dir("silent");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let server = saying(b"");
    let (tunnel, port) = client_tunnel("smtp", server, &cert, &["--handshake-timeout", "1s"]);
    expect_clean_close(&tunnel, port, "smtp prelude: timed out");
}

#[test]
fn server_mode_wrong_client_closes_with_a_reason() {
    let dir = temp_dir("wrong-client");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo_with("220 backend ESMTP\r\n");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::server(
        &listen,
        &backend.addr(),
        &cert,
        &["--starttls", "smtp"],
        port,
    );
    let mut sock = connect_local(port).unwrap();
    let mut r = BufReader::new(sock.try_clone().unwrap());
    assert_eq!(line(&mut r), "220 backend tls-tunnel for ESMTP\r\n");
    sock.write_all(b"MAIL FROM:<a@example>\r\n").unwrap();
    assert_eq!(line(&mut r), "503 5.5.1 EHLO first, then STARTTLS\r\n");
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).expect("tunnel closes");
    tunnel.expect_log("smtp prelude: client sent \"MAIL FROM:<a@example>\" instead of EHLO");

    let pg_port = free_port();
    let pg_listen = format!("127.0.0.1:{pg_port}");
    let pg = Tunnel::server(
        &pg_listen,
        &backend.addr(),
        &cert,
        &["--starttls", "pgsql"],
        pg_port,
    );
    let mut sock = connect_local(pg_port).unwrap();
    // A startup message without SSLRequest (protocol 3.0).
    sock.write_all(&[0, 0, 0, 8, 0, 3, 0, 0]).unwrap();
    let mut rest = Vec::new();
    sock.read_to_end(&mut rest).expect("tunnel closes");
    assert!(rest.is_empty());
    pg.expect_log("pgsql prelude: client did not send SSLRequest");
}

#[test]
fn stunnel_conf_protocol_options() {
    let dir = temp_dir("conf");
    let bad = [
        ("protocol = cifs", 4, "protocol = cifs is not supported"),
        ("protocol = connect", 4, "supported in client mode only"),
        ("protocolHost = x:1", 4, "protocolHost needs a protocol"),
        // Found when the section is checked as a whole: named by its header.
        (
            "exec = /bin/true",
            1,
            "exec and connect (target, SNI routes) exclude each other",
        ),
    ];
    for (line, at, want) in bad {
        let conf = dir.join("bad.conf");
        std::fs::write(
            &conf,
            format!("[s]\naccept = 127.0.0.1:1\nconnect = 127.0.0.1:2\n{line}\n"),
        )
        .unwrap();
        let (code, _, err) = tls_tests::tunnel::run_tunnel([
            "--check".as_ref(),
            "--config".as_ref(),
            conf.as_os_str(),
        ]);
        assert_ne!(code, Some(0), "{line}: {err}");
        assert!(
            err.contains(&format!("{}:{at}: [s]: ", conf.display())) && err.contains(want),
            "{line}: {err}"
        );
    }
    let conf = dir.join("ntlm.conf");
    std::fs::write(
        &conf,
        "[s]\nclient = yes\naccept = 127.0.0.1:1\nconnect = proxy:3128\nprotocol = connect\n\
         protocolHost = db.example:5432\nprotocolUsername = u\nprotocolPassword = p\n\
         protocolAuthentication = ntlm\n",
    )
    .unwrap();
    let (code, _, err) =
        tls_tests::tunnel::run_tunnel(["--check".as_ref(), "--config".as_ref(), conf.as_os_str()]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("ntlm is not supported: NTLM rests on MD4 and DES"),
        "{err}"
    );
}

// ---- PostgreSQL ----

/// The directory of PostgreSQL's server programs (initdb, postgres).
fn pg_bin() -> PathBuf {
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .unwrap_or_else(|| panic!("PostgreSQL server not found: apt-get install postgresql"))
}

/// Runs `program args` as the `postgres` user when we are root (the server
/// refuses to run as root), else as ourselves.
fn pg_command(program: &Path, args: &[&str]) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut cmd = Command::new(require("runuser", "util-linux"));
        cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
        cmd
    } else {
        let mut cmd = Command::new(program);
        cmd.args(args);
        cmd
    }
}

/// A PostgreSQL server on a free port with `ssl = on`, trusting local TCP
/// connections with or without TLS; stopped on drop (fast shutdown).
struct Postgres {
    peer: Peer,
    port: u16,
    /// The server's certificate (for `localhost`).
    cert: CertFiles,
}

impl Postgres {
    fn start() -> Postgres {
        let bin = pg_bin();
        let dir = temp_dir("pg");
        let data = dir.join("data");
        std::fs::create_dir(&data).unwrap();
        let cert = cert_for(&dir, "localhost", &["localhost"]);
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if as_root {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown postgres {}", dir.display());
            // temp_dir's parents must be reachable by the postgres user.
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cert.key, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = pg_command(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        )
        .output()
        .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let (c, k) = (cert.cert.to_str().unwrap(), cert.key.to_str().unwrap());
        let sock_dir = dir.to_str().unwrap();
        let port_s = port.to_string();
        let opts = [
            "-D",
            data.to_str().unwrap(),
            "-p",
            &port_s,
            "-k",
            sock_dir,
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "ssl=on",
            "-c",
            &format!("ssl_cert_file={c}"),
            "-c",
            &format!("ssl_key_file={k}"),
            "-c",
            "fsync=off",
        ];
        let owned: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut peer = Peer::spawn_command(pg_command(&bin.join("postgres"), &refs));
        peer.wait_for_port(port);
        Postgres { peer, port, cert }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown; the child is killed after.
        let _ = Command::new("kill")
            .args(["-INT", &self.peer.id().to_string()])
            .status();
        self.peer.wait(Duration::from_secs(10));
    }
}

/// `psql` with `conninfo`, running `sql`; returns its output.
fn psql(conninfo: &str, sql: &str) -> String {
    let psql = require("psql", "postgresql-client");
    let out = Command::new(psql)
        .args(["-X", "-A", "-t", "-d", conninfo, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {conninfo}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn pgsql_both_modes_with_a_real_postgres() {
    let pg = Postgres::start();
    let dir = temp_dir("pg-tunnels");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let ssl_query = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";
    // Directly, without TLS: the server sees a plaintext connection.
    let direct = format!(
        "host=127.0.0.1 port={} user=postgres sslmode=disable",
        pg.port
    );
    assert_eq!(psql(&direct, ssl_query), "f");

    // Client mode: psql speaks plaintext to the tunnel, which upgrades the
    // connection to PostgreSQL with SSLRequest.
    let cport = free_port();
    let listen = format!("127.0.0.1:{cport}");
    let target = format!("127.0.0.1:{}", pg.port);
    let client = Tunnel::start(
        [
            "client",
            "--listen",
            &listen,
            "--target",
            &target,
            "--starttls",
            "pgsql",
            "--server-name",
            "localhost",
            "--cacert",
            pg.cert.cert.to_str().unwrap(),
        ],
        &[cport],
    );
    let via_client = format!("host=127.0.0.1 port={cport} user=postgres sslmode=disable");
    assert_eq!(psql(&via_client, ssl_query), "t", "{}", client.log());
    client.expect_log("version=TLSv1.3");

    // Server mode: psql asks for TLS (sslmode=require) and gets it from the
    // tunnel; the tunnel talks plaintext to PostgreSQL.
    let sport = free_port();
    let slisten = format!("127.0.0.1:{sport}");
    let server = Tunnel::server(&slisten, &target, &cert, &["--starttls", "pgsql"], sport);
    let via_server = format!("host=127.0.0.1 port={sport} user=postgres sslmode=require");
    assert_eq!(
        psql(&via_server, &format!("{ssl_query}; select 42")),
        "f\n42",
        "{}",
        server.log()
    );
    server.expect_log("version=TLSv1.3");
    // Without TLS, the tunnel turns psql away.
    let plain =
        format!("host=127.0.0.1 port={sport} user=postgres sslmode=disable connect_timeout=10");
    let out = Command::new(require("psql", "postgresql-client"))
        .args(["-X", "-d", &plain, "-c", "select 1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    server.expect_log("pgsql prelude: client did not send SSLRequest");
}

// ---- HTTP CONNECT ----

/// tinyproxy on a free port, admitting 127.0.0.1 with Basic credentials
/// `user`/`secret`, CONNECT to any port.
fn tinyproxy(dir: &Path) -> (Peer, u16) {
    let tinyproxy = require("tinyproxy", "tinyproxy");
    let dir = dir.to_path_buf();
    Peer::spawn_listening(&tinyproxy, move |port| {
        let conf = dir.join(format!("tinyproxy-{port}.conf"));
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 10\nAllow 127.0.0.1\n\
                 BasicAuth user secret\n"
            ),
        )
        .expect("write tinyproxy.conf");
        vec!["-d".into(), "-c".into(), conf.display().to_string()]
    })
}

#[test]
fn connect_through_tinyproxy_with_basic_auth() {
    let dir = temp_dir("connect");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let (mut server, tls_port) = s_server(&cert);
    let (proxy, proxy_port) = tinyproxy(&dir);
    let (good, bad) = (free_port(), free_port());
    let service = |name: &str, port: u16, password: &str| {
        format!(
            "[[service]]\nname = \"{name}\"\nmode = \"client\"\nlisten = \"127.0.0.1:{port}\"\n\
             target = \"127.0.0.1:{proxy_port}\"\ncacert = \"{}\"\nserver_name = \"localhost\"\n\
             protocol = \"connect\"\nprotocol_host = \"127.0.0.1:{tls_port}\"\n\
             protocol_username = \"user\"\nprotocol_password = \"{password}\"\n\
             protocol_authentication = \"basic\"\n",
            cert.cert.display()
        )
    };
    let conf = dir.join("connect.toml");
    std::fs::write(
        &conf,
        format!(
            "{}\n{}",
            service("good", good, "secret"),
            service("bad", bad, "wrong")
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[good, bad]);

    // Wrong credentials: tinyproxy refuses (401), the tunnel closes and says so.
    expect_clean_close(
        &tunnel,
        bad,
        "connect prelude: proxy refused CONNECT: \"HTTP/1.0 401",
    );

    let mut sock = connect_local(good).expect("connect to the tunnel");
    sock.write_all(b"ping via the proxy\n").unwrap();
    assert!(
        server.wait_output_contains("ping via the proxy", PEER_TIMEOUT),
        "{}\n{}\n{}",
        server.diagnostics(),
        tunnel.log(),
        proxy.diagnostics()
    );
    server.write_stdin(b"pong\n".to_vec());
    assert_eq!(read_n(&mut sock, 5), b"pong\n");
}

// ---- SMTP with a real server (aiosmtpd) and a real client (smtplib) ----

/// Python 3 with aiosmtpd; panics naming what to install.
fn python_with_aiosmtpd() -> PathBuf {
    let python = require("python3", "python3");
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "python3 lacks aiosmtpd: pip install aiosmtpd");
    python
}

/// aiosmtpd on a free port, printing received messages (its Debugging
/// handler); with `tls`, STARTTLS is offered and required.
fn aiosmtpd(tls: Option<&CertFiles>) -> (Peer, u16) {
    let python = python_with_aiosmtpd();
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.env("PYTHONUNBUFFERED", "1").args([
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        &format!("127.0.0.1:{port}"),
    ]);
    if let Some(cert) = tls {
        cmd.arg("--tlscert")
            .arg(&cert.cert)
            .arg("--tlskey")
            .arg(&cert.key);
    }
    let mut peer = Peer::spawn_command(cmd);
    peer.wait_for_port(port);
    (peer, port)
}

/// Sends `line` and reads the reply's lines up to the last (`NNN `).
fn smtp(w: &mut TcpStream, r: &mut impl BufRead, line: &str) -> String {
    if !line.is_empty() {
        w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    }
    let mut reply = String::new();
    loop {
        let l = self::line(r);
        reply.push_str(&l);
        if l.as_bytes().get(3) != Some(&b'-') {
            return reply;
        }
    }
}

#[test]
fn smtp_both_modes_with_aiosmtpd() {
    let dir = temp_dir("aiosmtpd");
    let cert = cert_for(&dir, "localhost", &["localhost"]);

    // Client mode: a plaintext SMTP client, the tunnel upgrades with
    // STARTTLS to aiosmtpd, which refuses mail without TLS.
    let (server, sport) = aiosmtpd(Some(&cert));
    let (tunnel, port) = client_tunnel("smtp", sport, &cert, &["--protocol-host", "relay.example"]);
    let sock = connect_local(port).expect("connect to the tunnel");
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::new(sock);
    let greeting = smtp(&mut w, &mut r, "");
    assert!(greeting.starts_with("220 "), "{greeting}\n{}", tunnel.log());
    let ehlo = smtp(&mut w, &mut r, "EHLO plain.example");
    assert!(ehlo.starts_with("250"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "already in TLS: {ehlo}");
    for (cmd, code) in [
        ("MAIL FROM:<a@example.org>", "250"),
        ("RCPT TO:<b@example.org>", "250"),
        ("DATA", "354"),
        ("Subject: t\r\n\r\nclient-mode-token\r\n.", "250"),
        ("QUIT", "221"),
    ] {
        let reply = smtp(&mut w, &mut r, cmd);
        assert!(
            reply.starts_with(code),
            "{cmd}: {reply}\n{}",
            server.diagnostics()
        );
    }
    assert!(
        server.wait_output_contains("client-mode-token", PEER_TIMEOUT),
        "{}",
        server.diagnostics()
    );

    // Server mode: Python's smtplib asks the tunnel for STARTTLS, in front
    // of a plaintext aiosmtpd.
    let (plain, pport) = aiosmtpd(None);
    let lport = free_port();
    let listen = format!("127.0.0.1:{lport}");
    let target = format!("127.0.0.1:{pport}");
    let front = Tunnel::server(&listen, &target, &cert, &["--starttls", "smtp"], lport);
    let script = "import smtplib, ssl, sys\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        ctx.check_hostname = False\n\
        s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='c.example', timeout=20)\n\
        s.starttls(context=ctx)\n\
        print(s.sock.version())\n\
        s.sendmail('a@example.org', ['b@example.org'], 'Subject: t\\r\\n\\r\\nserver-mode-token\\r\\n')\n\
        s.quit()\n";
    let out = Command::new(python_with_aiosmtpd())
        .args(["-c", script, &lport.to_string()])
        .arg(&cert.cert)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "smtplib: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        front.log()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "TLSv1.3");
    assert!(
        plain.wait_output_contains("server-mode-token", PEER_TIMEOUT),
        "{}",
        plain.diagnostics()
    );
}

// ---- SMTP AUTH by the client-mode tunnel, stunnel as the oracle ----

/// An aiosmtpd server that requires STARTTLS, and AUTH (alice/s3cret, PLAIN
/// or LOGIN, over TLS only) before it takes mail; it prints each greeting,
/// AUTH attempt and message, and stops by itself after argv[4] seconds.
/// stunnel 5.68 greets with HELO before its AUTH, which aiosmtpd answers
/// with 500 (AUTH is an EHLO extension, RFC 4954): this server takes AUTH
/// after HELO too, so that stunnel can be the oracle.
const AUTH_SERVER: &str = r#"
import sys, ssl, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

def tls(session):
    return "tls" if session.ssl is not None else "plain"

class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        print("GREET EHLO", hostname, tls(session), flush=True)
        session.host_name = hostname
        return responses
    async def handle_DATA(self, server, session, envelope):
        body = " ".join(envelope.content.decode(errors="replace").split())
        print("MAIL", "authenticated" if session.authenticated else "anonymous", body, flush=True)
        return "250 OK"

def authenticator(server, session, envelope, mechanism, data):
    ok = data.login == b"alice" and data.password == b"s3cret"
    print("AUTH", mechanism, data.login.decode(), "ok" if ok else "failed", flush=True)
    return AuthResult(success=ok, handled=False)

class Lenient(SMTP):
    async def smtp_HELO(self, hostname):
        print("GREET HELO", hostname, tls(self.session), flush=True)
        await super().smtp_HELO(hostname)
        self.session.extended_smtp = True

class Server(Controller):
    def factory(self):
        return Lenient(self.handler, **self.SMTP_kwargs)

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
c = Server(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]),
           authenticator=authenticator, tls_context=ctx, require_starttls=True,
           auth_require_tls=True, auth_required=True)
c.start()
time.sleep(float(sys.argv[4]))
c.stop()
"#;

/// [`AUTH_SERVER`] on a free port.
fn aiosmtpd_auth(cert: &CertFiles) -> (Peer, u16) {
    let port = free_port();
    let mut cmd = Command::new(python_with_aiosmtpd());
    cmd.env("PYTHONUNBUFFERED", "1")
        .args(["-c", AUTH_SERVER, &port.to_string()])
        .arg(&cert.cert)
        .arg(&cert.key)
        .arg("300");
    let mut peer = Peer::spawn_command(cmd);
    peer.wait_for_port(port);
    (peer, port)
}

/// Whether `peer` printed `needle` on stdout so far.
fn said(peer: &Peer, needle: &str) -> bool {
    String::from_utf8_lossy(&peer.stdout()).contains(needle)
}

/// The last line of one SMTP reply, or None when the connection ended
/// (closed or reset); panics when it neither answers nor closes.
fn reply_or_close(r: &mut impl BufRead) -> Option<String> {
    loop {
        let mut l = String::new();
        match r.read_line(&mut l) {
            Ok(0) => return None,
            Ok(_) if l.as_bytes().get(3) == Some(&b'-') => {}
            Ok(_) => return Some(l.trim_end().to_string()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("no reply and no close: {e}")
            }
            Err(_) => return None,
        }
    }
}

/// A plaintext client through `port`: the greeting, EHLO and one message
/// carrying `token`; the reply codes it got until the end.
fn smtp_session(port: u16, token: &str) -> Vec<String> {
    let sock = connect_local(port).expect("connect to the tunnel");
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::new(sock);
    let message = format!("Subject: t\r\n\r\n{token}\r\n.");
    let mut codes = Vec::new();
    for cmd in [
        "",
        "EHLO plain.example",
        "MAIL FROM:<a@example.org>",
        "RCPT TO:<b@example.org>",
        "DATA",
        &message,
        "QUIT",
    ] {
        if !cmd.is_empty() && w.write_all(format!("{cmd}\r\n").as_bytes()).is_err() {
            break;
        }
        let Some(reply) = reply_or_close(&mut r) else {
            break;
        };
        codes.push(reply.get(..3).unwrap_or_default().to_string());
    }
    codes
}

#[test]
fn smtp_auth_plain_and_login_with_aiosmtpd_as_stunnel() {
    let dir = temp_dir("smtpauth");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let (server, sport) = aiosmtpd_auth(&cert);
    let stunnel = require("stunnel4", "stunnel4");
    // (section, protocolAuthentication, password, delivered)
    let cases = [
        ("plain", Some("plain"), "s3cret", true),
        ("login", Some("login"), "s3cret", true),
        ("default", None, "s3cret", true),
        ("wrong", None, "not-the-password", false),
    ];
    let delivered = ["220", "250", "250", "250", "354", "250", "221"];
    let mut outcomes = Vec::new();
    for tool in ["tunnel", "stunnel"] {
        let ports: Vec<u16> = cases.iter().map(|_| free_port()).collect();
        let mut conf = String::from("foreground = yes\npid =\nsyslog = no\n");
        for ((name, auth, password, _), port) in cases.iter().zip(&ports) {
            conf.push_str(&format!(
                "[{name}]\nclient = yes\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{sport}\n\
                 verifyChain = yes\nCAfile = {}\ncheckHost = localhost\nprotocol = smtp\n\
                 protocolUsername = alice\nprotocolPassword = {password}\n",
                cert.cert.display()
            ));
            if let Some(auth) = auth {
                conf.push_str(&format!("protocolAuthentication = {auth}\n"));
            }
        }
        let path = dir.join(format!("{tool}.conf"));
        std::fs::write(&path, conf).expect("write the configuration");
        let peer = if tool == "tunnel" {
            Tunnel::start(
                [Path::new("--config").as_os_str(), path.as_os_str()],
                &ports,
            )
            .peer
        } else {
            let mut p = Peer::spawn(&stunnel, [&path]);
            for &port in &ports {
                p.wait_for_port(port);
            }
            p
        };
        for ((name, auth, _, ok), port) in cases.iter().zip(&ports) {
            let token = format!("token-{tool}-{name}");
            let codes = smtp_session(*port, &token);
            let log = || format!("{}\n{}", peer.diagnostics(), server.diagnostics());
            if *ok {
                assert_eq!(codes, delivered, "{tool} [{name}]\n{}", log());
                let line = format!("MAIL authenticated Subject: t {token}");
                assert!(
                    server.wait_output_contains(&line, PEER_TIMEOUT),
                    "{}",
                    log()
                );
                let mechanism = auth.unwrap_or("plain").to_ascii_uppercase();
                let attempt = format!("AUTH {mechanism} alice ok");
                assert!(said(&server, &attempt), "{attempt}\n{}", log());
            } else {
                // The client got the greeting, then the connection ended.
                assert_eq!(codes, ["220"], "{tool} [{name}]\n{}", log());
                assert!(
                    server.wait_output_contains("AUTH PLAIN alice failed", PEER_TIMEOUT),
                    "{}",
                    log()
                );
            }
            outcomes.push((*name, codes));
        }
        if tool == "tunnel" {
            let t = Tunnel { peer };
            t.expect_log(
                "reason=io: smtp AUTH: server refused AUTH PLAIN for user \"alice\": \
                 \"535 5.7.8 Authentication credentials invalid\"",
            );
            assert!(!t.log().contains("not-the-password"), "{}", t.log());
            // EHLO again inside TLS, where stunnel says HELO.
            assert!(said(&server, "GREET EHLO localhost tls"));
        } else {
            assert!(
                peer.wait_output_contains("PLAIN Authentication Failed", PEER_TIMEOUT),
                "{}",
                peer.diagnostics()
            );
            assert!(said(&server, "GREET HELO localhost tls"));
        }
    }
    // The same outcomes under both.
    let (ours, theirs) = outcomes.split_at(cases.len());
    assert_eq!(ours, theirs);
}

// ---- IMAP and POP3 with real clients (Python's imaplib and poplib) ----

/// Runs a Python script with the tunnel's port and the CA file as
/// arguments; returns its stdout.
fn python(script: &str, port: u16, cert: &CertFiles, log: impl Fn() -> String) -> String {
    let out = Command::new(require("python3", "python3"))
        .args(["-c", script, &port.to_string()])
        .arg(&cert.cert)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        log()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn server_mode_imap_and_pop3_with_python_clients() {
    let dir = temp_dir("imaplib");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let (_h, iport) = imap_backend();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let imap = Tunnel::server(
        &listen,
        &format!("127.0.0.1:{iport}"),
        &cert,
        &["--starttls", "imap"],
        port,
    );
    let script = "import imaplib, ssl, sys\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        ctx.check_hostname = False\n\
        m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]), timeout=20)\n\
        m.starttls(ssl_context=ctx)\n\
        print(m.sock.version())\n\
        print(m.noop()[1][0].decode())\n";
    let out = python(script, port, &cert, || imap.log());
    assert_eq!(out, "TLSv1.3\nbackend noop");

    let (_h, pport) = pop3_backend();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let pop3 = Tunnel::server(
        &listen,
        &format!("127.0.0.1:{pport}"),
        &cert,
        &["--starttls", "pop3"],
        port,
    );
    let script = "import poplib, ssl, sys\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        ctx.check_hostname = False\n\
        p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=20)\n\
        print(p.getwelcome().decode())\n\
        p.stls(context=ctx)\n\
        print(p.sock.version())\n\
        print(p.noop().decode())\n";
    let out = python(script, port, &cert, || pop3.log());
    assert_eq!(
        out,
        "+OK backend POP3 ready + tls-tunnel\nTLSv1.3\n+OK backend got NOOP"
    );
}

// ---- SOCKS ----

/// A non-loopback address of this host: the source address of its route
/// to a documentation address (connecting a UDP socket sends nothing). The
/// SOCKS tests need one because stunnel and tls-tunnel refuse destinations
/// on the loopback interface.
fn host_address() -> IpAddr {
    let probe = UdpSocket::bind("0.0.0.0:0").expect("bind a UDP socket");
    probe.connect("198.51.100.1:9").unwrap_or_else(|e| {
        panic!("the SOCKS tests need a non-loopback IPv4 address on this host: {e}")
    });
    let ip = probe.local_addr().expect("local address").ip();
    assert!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "the SOCKS tests need a non-loopback IPv4 address on this host, not {ip}"
    );
    ip
}

#[test]
fn socks_inside_tls_with_curl() {
    let curl = require("curl", "curl");
    let dir = temp_dir("socks");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let host = host_address();
    let backend = Backend::start_on(BackendKind::Http("reached through socks".into()), host);
    // Server mode speaks SOCKS inside TLS; a client-mode tunnel in front of
    // it gives curl a plaintext SOCKS proxy (stunnel's VPN-style setup).
    let sport = free_port();
    let slisten = format!("127.0.0.1:{sport}");
    let server = Tunnel::server(
        &slisten,
        "127.0.0.1:9",
        &cert,
        &["--starttls", "socks"],
        sport,
    );
    let (client, cport) = {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let args = [
            "client",
            "--listen",
            &listen,
            "--target",
            &slisten,
            "--cacert",
            cert.cert.to_str().unwrap(),
            "--server-name",
            "localhost",
        ];
        (Tunnel::start(args, &[port]), port)
    };
    let curl_via = |flag: &str, url: &str| {
        Command::new(&curl)
            .args([
                "-sS",
                "--max-time",
                "20",
                flag,
                &format!("127.0.0.1:{cport}"),
            ])
            .arg(url)
            .output()
            .expect("run curl")
    };
    // SOCKS 4a and 5 with host names carry the address as a name.
    for flag in ["--socks4", "--socks4a", "--socks5", "--socks5-hostname"] {
        let out = curl_via(flag, &format!("http://{}/", backend.addr()));
        assert!(
            out.status.success(),
            "curl {flag}: {}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            server.log(),
            client.log()
        );
        assert_eq!(out.stdout, b"reached through socks", "curl {flag}");
    }
    // A destination that refuses: curl is told so, the tunnel logs why.
    let closed = free_port();
    let out = curl_via("--socks5", &format!("http://{host}:{closed}/"));
    assert!(!out.status.success());
    server.expect_log(&format!("socks: destination {host}:{closed}"));
    // The loopback interface, by address or by name, is refused (as stunnel).
    for (flag, url) in [
        (
            "--socks5",
            format!("http://127.0.0.1:{}/", server_port(&slisten)),
        ),
        ("--socks5-hostname", "http://localhost:9/".to_string()),
    ] {
        let out = curl_via(flag, &url);
        assert!(!out.status.success(), "curl {flag} {url}");
    }
    server.expect_log("socks: destination localhost:9 is on the loopback interface");
}

/// The port of a `127.0.0.1:port` listen address.
fn server_port(listen: &str) -> u16 {
    listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a port")
}

/// Sends `request` at once inside TLS to the SOCKS server on 127.0.0.1:`port`
/// (serving `cert`) and reads until the server ends the connection: what
/// came back, and how it ended (`close_notify`, or the error: a reset).
fn socks_exchange(port: u16, cert: &CertFiles, request: &[u8]) -> (Vec<u8>, String) {
    let mut tls = tls_client(port, "localhost", &cert.der);
    tls.write_all(request).expect("send the SOCKS request");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // Bounded by the socket timeouts and by the size of what may come.
    while got.len() < 64 * 1024 {
        match tls.read(&mut buf) {
            Ok(0) => return (got, "close_notify".into()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, e.to_string()),
        }
    }
    (got, "still open after 64 KiB".into())
}

/// stunnel is the oracle for SOCKS refusals: on the same requests, sent by
/// a small client inside TLS, tls-tunnel replies with the same bytes,
/// except where tls-tunnel/README.md keeps a difference: the address-type
/// code (RFC 1928's 8 where stunnel sends 7), a destination that refuses
/// the connection (stunnel grants first and then closes; tls-tunnel
/// connects first and refuses with code 5 / SOCKS 4's 91), and the close:
/// stunnel ends without close_notify (or resets), tls-tunnel always sends
/// close_notify after its reply.
#[test]
fn socks_refusals_match_stunnel() {
    let dir = temp_dir("socks-oracle");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let host = host_address();
    let IpAddr::V4(host4) = host else {
        panic!("an IPv4 host address")
    };
    let backend = Backend::start_on(BackendKind::Http("via socks".into()), host);
    let closed = free_port();
    let (mut stunnel, stunnel_port) = stunnel_server("socks", None, &cert, &dir);
    let port = free_port();
    let ours = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        "127.0.0.1:9",
        &cert,
        &["--starttls", "socks"],
        port,
    );
    let v4 = |cmd: u8, port: u16, ip: [u8; 4], rest: &[u8]| {
        [&[4, cmd][..], &port.to_be_bytes(), &ip, b"user\0", rest].concat()
    };
    // SOCKS 5: the greeting (no authentication) and then a request.
    let v5 = |request: &[u8]| [&[5, 1, 0][..], request].concat();
    let v5_to = |cmd: u8, ip: IpAddr, port: u16| {
        let mut r = vec![5, cmd, 0];
        match ip {
            IpAddr::V4(a) => {
                r.push(1);
                r.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                r.push(4);
                r.extend_from_slice(&a.octets());
            }
        }
        r.extend_from_slice(&port.to_be_bytes());
        v5(&r)
    };
    let v5_name = |name: &str, port: u16| {
        let len = u8::try_from(name.len()).expect("short name");
        v5(&[&[5, 1, 0, 3, len][..], name.as_bytes(), &port.to_be_bytes()].concat())
    };
    let get = b"GET / HTTP/1.0\r\n\r\n";
    let loop4 = IpAddr::from([127, 0, 0, 1]);
    let loop6 = IpAddr::from(std::net::Ipv6Addr::LOCALHOST);
    let bp = backend.port;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("SOCKS 4 BIND", v4(2, bp, host4.octets(), b"")),
        ("SOCKS 4 to loopback", v4(1, 80, [127, 0, 0, 1], b"")),
        (
            "SOCKS 4a unresolvable",
            v4(1, 80, [0, 0, 0, 1], b"nosuch.invalid\0"),
        ),
        (
            "SOCKS 4 CONNECT",
            [v4(1, bp, host4.octets(), b""), get.to_vec()].concat(),
        ),
        ("SOCKS 5 without a usable method", vec![5, 1, 2]),
        ("SOCKS 5 BIND", v5_to(2, host, bp)),
        ("SOCKS 5 to loopback", v5_to(1, loop4, 80)),
        ("SOCKS 5 to IPv6 loopback", v5_to(1, loop6, 80)),
        ("SOCKS 5 to localhost", v5_name("localhost", 80)),
        ("SOCKS 5 unresolvable", v5_name("nosuch.invalid", 80)),
        ("SOCKS 5 empty host name", v5(&[5, 1, 0, 3, 0, 0, 80])),
        (
            "SOCKS 5 request of another version",
            v5(&[4, 1, 0, 80, 1, 2, 3, 4, 0]),
        ),
        ("not SOCKS", get.to_vec()),
        (
            "SOCKS 5 CONNECT",
            [v5_to(1, host, bp), get.to_vec()].concat(),
        ),
    ];
    for (name, request) in &cases {
        let theirs = socks_exchange(stunnel_port, &cert, request);
        let mine = socks_exchange(port, &cert, request);
        assert_eq!(
            mine.0,
            theirs.0,
            "{name}: tls-tunnel (left) and stunnel (right)\n{}\n{}",
            ours.log(),
            stunnel.diagnostics()
        );
        // stunnel closes without close_notify (or resets); we end cleanly.
        assert_eq!(mine.1, "close_notify", "{name} (stunnel: {})", theirs.1);
    }
    // The kept differences, each side as it is. SOCKS 5 replies after the
    // greeting's: `code` and an IPv4 bound address and port.
    let v5_reply = |code: u8, addr: [u8; 6]| [&[5, 0, 5, code, 0, 1][..], &addr].concat();
    let atyp = v5(&[5, 1, 0, 9, 0, 0]);
    assert_eq!(
        socks_exchange(stunnel_port, &cert, &atyp).0,
        v5_reply(7, [0; 6])
    );
    assert_eq!(socks_exchange(port, &cert, &atyp).0, v5_reply(8, [0; 6]));
    let mut at = [0; 6];
    at[..4].copy_from_slice(&host4.octets());
    at[4..].copy_from_slice(&closed.to_be_bytes());
    let refused = v5_to(1, host, closed);
    assert_eq!(
        socks_exchange(stunnel_port, &cert, &refused).0,
        v5_reply(0, at)
    );
    assert_eq!(
        socks_exchange(port, &cert, &refused),
        (v5_reply(5, at), "close_notify".into())
    );
    let refused4 = v4(1, closed, host4.octets(), b"");
    let reply4 = |code: u8| [&[0, code][..], &closed.to_be_bytes(), &host4.octets()].concat();
    assert_eq!(socks_exchange(stunnel_port, &cert, &refused4).0, reply4(90));
    assert_eq!(
        socks_exchange(port, &cert, &refused4),
        (reply4(91), "close_notify".into())
    );
    stunnel.kill();
}

// ---- exec ----

#[test]
fn exec_runs_a_program_per_connection_with_stunnels_environment() {
    let dir = temp_dir("exec");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let alice = cert_for(&dir, "alice", &[]);
    let script = dir.join("prog.sh");
    std::fs::write(
        &script,
        "echo \"REMOTE_HOST=$REMOTE_HOST\"\necho \"SSL_CLIENT_DN=$SSL_CLIENT_DN\"\n\
         echo \"SSL_CLIENT_I_DN=$SSL_CLIENT_I_DN\"\necho \"ARG1=$1\"\nread line\n\
         echo \"got: $line\"\n",
    )
    .unwrap();
    let port = free_port();
    let conf = dir.join("exec.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[prog]\naccept = 127.0.0.1:{port}\ncert = {}\nkey = {}\n\
             CAfile = {}\nverifyPeer = yes\nexec = /bin/sh\nexecArgs = sh {} first\n",
            cert.cert.display(),
            cert.key.display(),
            alice.cert.display(),
            script.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    let mut client = s_client_at(
        port,
        &[
            "-cert",
            alice.cert.to_str().unwrap(),
            "-key",
            alice.key.to_str().unwrap(),
            "-quiet",
        ],
    );
    client.write_stdin(b"hello program\n".to_vec());
    assert!(
        client.wait_output_contains("got: hello program", PEER_TIMEOUT),
        "{}\n{}",
        client.diagnostics(),
        tunnel.log()
    );
    let out = String::from_utf8_lossy(&client.stdout()).into_owned();
    for want in [
        "REMOTE_HOST=127.0.0.1\n",
        "SSL_CLIENT_DN=CN=alice\n",
        "SSL_CLIENT_I_DN=CN=alice\n",
        "ARG1=first\n",
    ] {
        assert!(out.contains(want), "{want:?} missing from {out:?}");
    }
}

// ---- protocol = proxy ----

#[test]
fn protocol_proxy_sends_a_proxy_v1_line() {
    let dir = temp_dir("proxy-line");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let (listener, bport) = local_listener();
    let got = thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        set_timeouts(&sock).unwrap();
        let mut w = sock.try_clone().unwrap();
        let mut r = BufReader::new(sock);
        let header = line(&mut r);
        let data = line(&mut r);
        w.write_all(data.as_bytes()).unwrap();
        header
    });
    let port = free_port();
    let conf = dir.join("proxy.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[p]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{bport}\n\
             cert = {}\nkey = {}\nprotocol = proxy\n",
            cert.cert.display(),
            cert.key.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    let mut tls = tls_tests::tunnel::tls_client(port, "localhost", &cert.der);
    tls.write_all(b"after the header\n").unwrap();
    assert_eq!(
        read_n(&mut tls, 17),
        b"after the header\n",
        "{}",
        tunnel.log()
    );
    let header = got.join().unwrap();
    assert!(
        header.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 ")
            && header.ends_with(&format!(" {port}\r\n")),
        "{header:?}"
    );
}
