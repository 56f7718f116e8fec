//! IMAP and POP3 against a real Dovecot (Debian `dovecot-imapd`,
//! `dovecot-pop3d`), started by each test ([`tls_tests::dovecot`]).
//!
//! Client mode: Dovecot wants TLS before a password, so a plaintext client
//! (Python's imaplib and poplib, curl) that logs in through the tunnel
//! shows the tunnel did STARTTLS/STLS; the same through the command line,
//! TOML and stunnel.conf, and through stunnel4 on the same stunnel.conf.
//! A Dovecot without TLS makes the tunnel close with a reason. Server mode
//! in front of a plaintext Dovecot: `curl --ssl-reqd`, and stunnel4's
//! client-mode preludes.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tls_tests::dovecot::{Dovecot, Tls, HOST, PASSWORD, USER};
use tls_tests::peer::{connect_local, free_port, require, Peer, PEER_TIMEOUT};
use tls_tests::tunnel::{cert_for, starttls_client, temp_dir, CertFiles, Tunnel};

/// Logs in with imaplib through 127.0.0.1:`port`, selects INBOX and
/// fetches the message's body; prints the greeting first.
const IMAP_SCRIPT: &str = "import imaplib, sys\n\
    m = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]), timeout=20)\n\
    print(m.welcome.decode())\n\
    m.login(sys.argv[3], sys.argv[4])\n\
    typ, data = m.select('INBOX')\n\
    print(typ, data[0].decode())\n\
    typ, data = m.fetch('1', '(BODY[TEXT])')\n\
    print(typ, data[0][1].decode().strip())\n\
    print(m.logout()[0])\n";

/// Logs in with poplib, counts the messages and retrieves the first; prints
/// the greeting first.
const POP3_SCRIPT: &str = "import poplib, sys\n\
    p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)\n\
    print(p.getwelcome().decode())\n\
    p.user(sys.argv[3])\n\
    print(p.pass_(sys.argv[4]).decode())\n\
    print(p.stat())\n\
    print(b'|'.join(p.retr(1)[1]).decode())\n\
    print(p.quit().decode())\n";

/// Runs a client script against `host`:`port` as the test user: (success,
/// stdout, stderr).
fn python(script: &str, host: &str, port: u16) -> (bool, String, String) {
    let out = Command::new(require("python3", "python3"))
        .args(["-c", script, host, &port.to_string(), USER, PASSWORD])
        .output()
        .expect("run python3");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What the Python clients print after the greeting, and the greeting,
/// through a client-mode tunnel on 127.0.0.1:`port`.
fn python_through(script: &str, port: u16, diagnostics: impl Fn() -> String) -> (String, String) {
    let (ok, out, err) = python(script, "127.0.0.1", port);
    assert!(ok, "{err}\n{}", diagnostics());
    let (greeting, rest) = out.split_once('\n').unwrap_or((&out, ""));
    (greeting.to_string(), rest.to_string())
}

/// curl `args` (plus `url` and the test user); its stdout.
fn curl(url: &str, args: &[&str], diagnostics: impl Fn() -> String) -> String {
    let out = Command::new(require("curl", "curl"))
        .args(["-sS", "--max-time", "20", "-u"])
        .arg(format!("{USER}:{PASSWORD}"))
        .args(args)
        .arg(url)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {url}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        diagnostics()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The expected client output after the greeting: IMAP, then POP3.
fn expected() -> (String, String) {
    let body = "The message body, delivered through the tunnel.";
    (
        format!("OK 1\nOK {body}\nBYE\n"),
        format!(
            "+OK Logged in.\n(1, {})\nFrom: bob@example.org|To: alice@example.org|\
             Subject: hello||{body}\n+OK Logging out.\n",
            tls_tests::dovecot::MESSAGE.len()
        ),
    )
}

/// Dovecot logged `n` logins (waiting for them, bounded), each over TLS.
fn logins_over_tls(dovecot: &Dovecot, n: usize) {
    let deadline = Instant::now() + PEER_TIMEOUT;
    let logins = loop {
        let log = dovecot.log();
        let logins: Vec<String> = log
            .lines()
            .filter(|l| l.contains(" Login: "))
            .map(str::to_string)
            .collect();
        if logins.len() >= n || Instant::now() >= deadline {
            break logins;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(logins.len(), n, "{}", dovecot.diagnostics());
    assert!(
        logins.iter().all(|l| l.contains(", TLS")),
        "{}",
        dovecot.diagnostics()
    );
}

/// A client-mode stunnel.conf with an imap and a pop3 section to `targets`
/// (IMAP, POP3), accepting on `imap` and `pop3`; `foreground` and `pid =`
/// let stunnel4 run it as is.
fn stunnel_conf(
    dir: &Path,
    targets: (String, String),
    cert: &CertFiles,
    imap: u16,
    pop3: u16,
) -> String {
    let conf = dir.join(format!("client-{imap}.conf"));
    let section = |name: &str, port: u16, target: String| {
        format!(
            "[{name}]\nclient = yes\naccept = 127.0.0.1:{port}\nconnect = {target}\n\
             protocol = {name}\nCAfile = {}\nverifyChain = yes\ncheckHost = localhost\n\
             sni = localhost\n",
            cert.cert.display()
        )
    };
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\n{}{}",
            section("imap", imap, targets.0),
            section("pop3", pop3, targets.1)
        ),
    )
    .expect("write stunnel.conf");
    conf.to_string_lossy().into_owned()
}

/// Dovecot's IMAP and POP3 addresses.
fn dovecot_targets(dovecot: &Dovecot) -> (String, String) {
    (dovecot.imap_addr(), dovecot.pop3_addr())
}

#[test]
fn client_mode_logs_in_to_a_dovecot_that_wants_tls_first() {
    let dir = temp_dir("dovecot-client");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let dovecot = Dovecot::start(
        &dir,
        Tls::Required {
            cert: &cert.cert,
            key: &cert.key,
        },
    );

    // Without TLS Dovecot takes no password: what the tunnel must add.
    let (ok, _, err) = python(IMAP_SCRIPT, HOST, dovecot.imap);
    assert!(!ok && err.contains("PRIVACYREQUIRED"), "{err}");
    let (ok, _, err) = python(POP3_SCRIPT, HOST, dovecot.pop3);
    assert!(
        !ok && err.contains("Plaintext authentication disallowed"),
        "{err}"
    );

    let (want_imap, want_pop3) = expected();
    let mut logins = 0;

    // The command line.
    for (proto, target, script, want) in [
        ("imap", dovecot.imap_addr(), IMAP_SCRIPT, &want_imap),
        ("pop3", dovecot.pop3_addr(), POP3_SCRIPT, &want_pop3),
    ] {
        let (tunnel, port) = starttls_client(proto, &target, &cert.cert, &[]);
        let diag = || format!("{}\n{}", tunnel.log(), dovecot.diagnostics());
        let (greeting, got) = python_through(script, port, diag);
        assert_eq!(&got, want, "{proto}\n{}", diag());
        if proto == "imap" {
            // The plaintext capability list (STARTTLS LOGINDISABLED) is not passed on.
            assert_eq!(greeting, "* OK Dovecot (Debian) ready.");
            let listing = curl(&format!("imap://127.0.0.1:{port}/"), &[], diag);
            assert_eq!(listing.trim(), "* LIST (\\HasNoChildren) \".\" INBOX");
            let message = curl(&format!("imap://127.0.0.1:{port}/INBOX;UID=1"), &[], diag);
            assert_eq!(message, tls_tests::dovecot::MESSAGE);
        } else {
            assert_eq!(greeting, "+OK Dovecot (Debian) ready.");
            let message = curl(&format!("pop3://127.0.0.1:{port}/1"), &[], diag);
            assert_eq!(message, tls_tests::dovecot::MESSAGE);
        }
        // imaplib and curl twice, or poplib and curl.
        logins += if proto == "imap" { 3 } else { 2 };
        tunnel.expect_log("version=TLSv1.3");
    }

    // TOML.
    let (imap, pop3) = (free_port(), free_port());
    let toml = dir.join("client.toml");
    let service = |proto: &str, port: u16, target: String| {
        format!(
            "[[service]]\nname = \"{proto}\"\nmode = \"client\"\nlisten = \"127.0.0.1:{port}\"\n\
             target = \"{target}\"\ncacert = \"{}\"\nserver_name = \"localhost\"\n\
             protocol = \"{proto}\"\n",
            cert.cert.display()
        )
    };
    std::fs::write(
        &toml,
        format!(
            "{}{}",
            service("imap", imap, dovecot.imap_addr()),
            service("pop3", pop3, dovecot.pop3_addr())
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config", toml.to_str().unwrap()], &[imap, pop3]);
    let diag = || format!("{}\n{}", tunnel.log(), dovecot.diagnostics());
    assert_eq!(python_through(IMAP_SCRIPT, imap, diag).1, want_imap);
    assert_eq!(python_through(POP3_SCRIPT, pop3, diag).1, want_pop3);
    logins += 2;
    drop(tunnel);

    // stunnel.conf, under tls-tunnel and under stunnel4: the same outcome
    // (stunnel passes the greeting's capability list on unchanged).
    let (imap, pop3) = (free_port(), free_port());
    let conf = stunnel_conf(&dir, dovecot_targets(&dovecot), &cert, imap, pop3);
    let tunnel = Tunnel::start(["--config", &conf], &[imap, pop3]);
    let diag = || format!("{}\n{}", tunnel.log(), dovecot.diagnostics());
    let ours = (
        python_through(IMAP_SCRIPT, imap, diag),
        python_through(POP3_SCRIPT, pop3, diag),
    );
    drop(tunnel);
    let mut stunnel = Peer::spawn(&require("stunnel4", "stunnel4"), [&conf]);
    stunnel.wait_for_port(imap);
    stunnel.wait_for_port(pop3);
    let diag = || format!("{}\n{}", stunnel.diagnostics(), dovecot.diagnostics());
    let theirs = (
        python_through(IMAP_SCRIPT, imap, diag),
        python_through(POP3_SCRIPT, pop3, diag),
    );
    assert_eq!((&ours.0 .1, &ours.1 .1), (&want_imap, &want_pop3));
    assert_eq!((&theirs.0 .1, &theirs.1 .1), (&want_imap, &want_pop3));
    assert_eq!(ours.1 .0, theirs.1 .0, "the POP3 greeting");
    assert_eq!(theirs.0 .0, "* OK Connected.");
    assert_eq!(ours.0 .0, "* OK Dovecot (Debian) ready.");
    logins += 4;
    drop(stunnel);

    logins_over_tls(&dovecot, logins);
}

/// Connects a plaintext client to a client-mode tunnel on `port` and reads
/// until the tunnel closes (bounded by the socket timeout): what it got.
fn read_until_closed(port: u16) -> String {
    let mut sock = connect_local(port).expect("connect to the tunnel");
    let mut got = Vec::new();
    sock.read_to_end(&mut got)
        .expect("the tunnel closes the connection");
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn client_mode_to_a_dovecot_without_tls_closes_with_a_reason() {
    let dir = temp_dir("dovecot-no-tls");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let dovecot = Dovecot::start(&dir, Tls::Off);
    let (imap, pop3) = (free_port(), free_port());
    let conf = stunnel_conf(&dir, dovecot_targets(&dovecot), &cert, imap, pop3);
    let tunnel = Tunnel::start(["--config", &conf], &[imap, pop3]);

    let got = read_until_closed(imap);
    assert!(got.starts_with("* OK "), "{got:?}");
    assert!(
        got.ends_with("* BYE tls-tunnel: server does not support TLS\r\n"),
        "{got:?}"
    );
    tunnel.expect_log("imap prelude: server refused STARTTLS: \"tunnel BAD");

    // POP3 has no goodbye line: the failed connection is reset (stunnel's
    // `reset = yes` default; stunnel does the same below), which may discard
    // the greeting still unread.
    let mut sock = connect_local(pop3).expect("connect to the tunnel");
    let mut got = Vec::new();
    match sock.read_to_end(&mut got) {
        Ok(_) => assert_eq!(got, b"+OK Dovecot (Debian) ready.\r\n"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    tunnel.expect_log("pop3 prelude: server refused STLS: \"-ERR");
    drop(tunnel);

    // stunnel4 on the same file: the same closes, in its own words.
    let mut stunnel = Peer::spawn(&require("stunnel4", "stunnel4"), [&conf]);
    stunnel.wait_for_port(imap);
    stunnel.wait_for_port(pop3);
    assert_eq!(
        read_until_closed(imap),
        "* OK Connected.\r\n* BYE stunnel: Server does not support TLS\r\n"
    );
    // stunnel resets this one too: it ends, at least.
    let mut sock = connect_local(pop3).expect("connect to stunnel");
    let mut rest = Vec::new();
    match sock.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    assert!(
        stunnel.wait_output(PEER_TIMEOUT, |out, err| {
            format!("{out}{err}")
                .matches("Server does not support TLS")
                .count()
                >= 2
        }),
        "{}",
        stunnel.diagnostics()
    );
}

#[test]
fn server_mode_in_front_of_a_plaintext_dovecot_with_curl_ssl_reqd() {
    let dir = temp_dir("dovecot-server");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let dovecot = Dovecot::start(&dir, Tls::Off);
    for (proto, target, path) in [
        ("imap", dovecot.imap_addr(), "INBOX;UID=1"),
        ("pop3", dovecot.pop3_addr(), "1"),
    ] {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let tunnel = Tunnel::server(&listen, &target, &cert, &["--starttls", proto], port);
        let diag = || format!("{}\n{}", tunnel.log(), dovecot.diagnostics());
        let resolve = format!("localhost:{port}:127.0.0.1");
        let message = curl(
            &format!("{proto}://localhost:{port}/{path}"),
            &[
                "--ssl-reqd",
                "--cacert",
                cert.cert.to_str().unwrap(),
                "--resolve",
                &resolve,
            ],
            diag,
        );
        assert_eq!(message, tls_tests::dovecot::MESSAGE, "{proto}");
        tunnel.expect_log("version=TLSv1.3");
    }
    assert!(
        dovecot.wait_log("pop3-login: Info: Login: user=<alice>"),
        "{}",
        dovecot.diagnostics()
    );
    let log = dovecot.log();
    assert!(
        log.contains("imap-login: Info: Login: user=<alice>"),
        "{log}"
    );
}

#[test]
fn server_mode_behind_stunnel4_client_mode_in_front_of_a_plaintext_dovecot() {
    // imaplib/poplib -> stunnel4 (client, protocol = imap|pop3) -> tls-tunnel
    // (server, --starttls imap|pop3) -> Dovecot without TLS: our server-mode
    // preludes against stunnel's client-mode ones.
    let dir = temp_dir("dovecot-chain");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let dovecot = Dovecot::start(&dir, Tls::Off);
    let mut servers = Vec::new();
    let mut ports = Vec::new();
    for (proto, target) in [("imap", dovecot.imap_addr()), ("pop3", dovecot.pop3_addr())] {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        servers.push(Tunnel::server(
            &listen,
            &target,
            &cert,
            &["--starttls", proto],
            port,
        ));
        ports.push(format!("127.0.0.1:{port}"));
    }
    let (imap, pop3) = (free_port(), free_port());
    let conf = stunnel_conf(
        &dir,
        (ports[0].clone(), ports[1].clone()),
        &cert,
        imap,
        pop3,
    );
    let mut stunnel = Peer::spawn(&require("stunnel4", "stunnel4"), [&conf]);
    stunnel.wait_for_port(imap);
    stunnel.wait_for_port(pop3);
    let diag = || {
        format!(
            "{}\n{}\n{}\n{}",
            stunnel.diagnostics(),
            servers[0].log(),
            servers[1].log(),
            dovecot.diagnostics()
        )
    };
    let (want_imap, want_pop3) = expected();
    assert_eq!(python_through(IMAP_SCRIPT, imap, diag).1, want_imap);
    assert_eq!(python_through(POP3_SCRIPT, pop3, diag).1, want_pop3);
    for server in &servers {
        server.expect_log("version=TLSv1.3");
    }
}
