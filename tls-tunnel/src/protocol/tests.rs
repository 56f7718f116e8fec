//! The preludes on scripted peers: what the tunnel sends, and what it does
//! with wrong replies.

use super::script::{run, Script};
use super::*;

fn proto(kind: Kind) -> Protocol {
    Protocol {
        kind,
        host: None,
        credentials: None,
        headers: Vec::new(),
    }
}

/// Runs a client-mode prelude against a server saying `server`; returns
/// (what the plaintext client got, what the server got, the result).
fn client_run(p: &Protocol, server: &[u8]) -> (String, Vec<u8>, Result<(), Failure>) {
    let (mut local, mut remote) = (Script::new(b""), Script::new(server));
    let r = run(p, Mode::Client, &mut local, &mut remote);
    (
        String::from_utf8_lossy(&local.output).into_owned(),
        remote.output,
        r,
    )
}

/// Runs a server-mode prelude with a client saying `client` and a plaintext
/// server saying `server`; returns (what the client got, what the server got,
/// the result).
fn server_run(kind: Kind, client: &[u8], server: &[u8]) -> (String, String, Result<(), Failure>) {
    let (mut local, mut remote) = (Script::new(client), Script::new(server));
    let r = run(&proto(kind), Mode::Server, &mut local, &mut remote);
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    (text(&local.output), text(&remote.output), r)
}

fn err_of(r: Result<(), Failure>) -> String {
    r.expect_err("prelude should fail").message
}

#[test]
fn smtp_client_copies_the_greeting_and_starts_tls() {
    let server =
        b"220-mail.example ESMTP\r\n220 more\r\n250-mail.example\r\n250 STARTTLS\r\n220 go\r\n";
    let (local, sent, r) = client_run(&proto(Kind::Smtp), server);
    r.unwrap();
    assert_eq!(local, "220-mail.example ESMTP\r\n220 more\r\n");
    assert_eq!(sent, b"EHLO localhost\r\nSTARTTLS\r\n");
    let p = Protocol {
        host: Some("relay.example".into()),
        ..proto(Kind::Smtp)
    };
    let (_, sent, r) = client_run(&p, b"220 x\r\n250 x\r\n220 go\r\n");
    r.unwrap();
    assert_eq!(sent, b"EHLO relay.example\r\nSTARTTLS\r\n");
}

#[test]
fn smtp_client_refuses_wrong_replies() {
    for (server, want) in [
        (&b"554 go away\r\n"[..], "server greeting is not 220"),
        (b"220 x\r\n500 what\r\n", "server refused EHLO"),
        (
            b"220 x\r\n250 x\r\n454 TLS not available\r\n",
            "server refused STARTTLS",
        ),
        (b"220 x\r\n250-x\r\n", "peer closed"),
        (b"220 x", "peer closed"),
    ] {
        let e = err_of(client_run(&proto(Kind::Smtp), server).2);
        assert!(e.contains(want), "{e:?} lacks {want:?}");
    }
    let long = vec![b'2'; MAX_LINE + 10];
    assert!(err_of(client_run(&proto(Kind::Smtp), &long).2).contains("longer than"));
    let many = b"220-x\r\n".repeat(MAX_LINES + 1);
    assert!(err_of(client_run(&proto(Kind::Smtp), &many).2).contains("lines"));
}

/// smtp with credentials for alice (`s3cret`), presented with `mechanism`.
fn smtp_auth(mechanism: Mechanism) -> Protocol {
    Protocol {
        credentials: Some(Credentials {
            username: "alice".into(),
            password: "s3cret".into(),
            mechanism,
        }),
        ..proto(Kind::Smtp)
    }
}

/// The server's side of a STARTTLS prelude, up to TLS.
const SMTP_TO_TLS: &[u8] = b"220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n";
/// What the tunnel sends up to TLS.
const SENT_TO_TLS: &str = "EHLO localhost\r\nSTARTTLS\r\n";

#[test]
fn smtp_auth_plain_and_login_follow_the_handshake() {
    // PLAIN: EHLO again inside TLS, then the initial response on the AUTH
    // line (base64 of NUL alice NUL s3cret), as stunnel sends it.
    let server = [
        SMTP_TO_TLS,
        b"250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n235 2.7.0 ok\r\n",
    ]
    .concat();
    let (local, sent, r) = client_run(&smtp_auth(Mechanism::Plain), &server);
    r.unwrap();
    // The client sees the greeting only: the tunnel's EHLO replies are its own.
    assert_eq!(local, "220 mx ESMTP\r\n");
    assert_eq!(
        String::from_utf8(sent).unwrap(),
        format!("{SENT_TO_TLS}EHLO localhost\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n")
    );
    // LOGIN: user name and password each answer a 334; protocolHost is
    // the EHLO name both times.
    let server = [
        SMTP_TO_TLS,
        b"250 mx\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n",
    ]
    .concat();
    let p = Protocol {
        host: Some("relay.example".into()),
        ..smtp_auth(Mechanism::Login)
    };
    let (_, sent, r) = client_run(&p, &server);
    r.unwrap();
    assert_eq!(
        String::from_utf8(sent).unwrap(),
        "EHLO relay.example\r\nSTARTTLS\r\nEHLO relay.example\r\nAUTH LOGIN\r\n\
         YWxpY2U=\r\nczNjcmV0\r\n"
    );
}

#[test]
fn smtp_auth_refusals_name_the_reply_and_the_user_never_the_password() {
    let plain = smtp_auth(Mechanism::Plain);
    let login = smtp_auth(Mechanism::Login);
    for (p, after_tls, want) in [
        (
            &plain,
            &b"500 what\r\n"[..],
            "refused EHLO after STARTTLS: \"500 what\"",
        ),
        (
            &plain,
            b"250 mx\r\n535 5.7.8 Authentication credentials invalid\r\n",
            "refused AUTH PLAIN for user \"alice\": \"535 5.7.8",
        ),
        (
            &plain,
            b"250 mx\r\n504 5.5.4 Unrecognized authentication type\r\n",
            "refused AUTH PLAIN for user \"alice\": \"504",
        ),
        (&plain, b"250 mx\r\n2350 ok\r\n", "refused AUTH PLAIN"),
        (&plain, b"250 mx\r\n334 \r\n", "refused AUTH PLAIN"),
        (&plain, b"250 mx\r\n", "peer closed"),
        (&plain, b"", "peer closed"),
        (
            &login,
            b"250 mx\r\n235 ok\r\n",
            "refused AUTH LOGIN: \"235 ok\"",
        ),
        (
            &login,
            b"250 mx\r\n334 VXNlcm5hbWU6\r\n535 no such user\r\n",
            "refused user \"alice\" (AUTH LOGIN): \"535 no such user\"",
        ),
        (
            &login,
            b"250 mx\r\n334 x\r\n334 y\r\n535 5.7.8 bad\r\n",
            "refused AUTH LOGIN for user \"alice\": \"535 5.7.8 bad\"",
        ),
    ] {
        let server = [SMTP_TO_TLS, after_tls].concat();
        let (local, _, r) = client_run(p, &server);
        let e = err_of(r);
        assert!(e.contains(want), "{e:?} lacks {want:?}");
        assert!(!e.contains("s3cret") && !e.contains("czNjcmV0"), "{e}");
        assert_eq!(local, "220 mx ESMTP\r\n");
    }
    let many = [SMTP_TO_TLS, &b"250-x\r\n".repeat(MAX_LINES + 1)].concat();
    assert!(err_of(client_run(&plain, &many).2).contains("lines"));
    // Without credentials nothing is said after the handshake.
    let (_, sent, r) = client_run(&proto(Kind::Smtp), SMTP_TO_TLS);
    r.unwrap();
    assert_eq!(sent, SENT_TO_TLS.as_bytes());
    // The password stays out of debug output too.
    let shown = format!("{plain:?}");
    assert!(
        shown.contains("alice") && !shown.contains("s3cret"),
        "{shown}"
    );
}

#[test]
fn imap_pop3_nntp_clients() {
    let (local, sent, r) = client_run(
        &proto(Kind::Imap),
        b"* OK ready\r\n* note\r\ntunnel OK go\r\n",
    );
    r.unwrap();
    assert_eq!(
        (local.as_str(), sent.as_slice()),
        ("* OK ready\r\n", &b"tunnel STARTTLS\r\n"[..])
    );
    // The greeting's capability list describes the plaintext connection.
    let (local, _, r) = client_run(
        &proto(Kind::Imap),
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\ntunnel OK go\r\n",
    );
    r.unwrap();
    assert_eq!(local, "* OK hi\r\n");
    let (local, _, r) = client_run(&proto(Kind::Imap), b"* OK ready\r\ntunnel NO nope\r\n");
    assert!(err_of(r).contains("server refused STARTTLS"));
    assert!(local.ends_with("* BYE tls-tunnel: server does not support TLS\r\n"));

    let (local, sent, r) = client_run(&proto(Kind::Pop3), b"+OK hi\r\n+OK go\r\n");
    r.unwrap();
    assert_eq!(
        (local.as_str(), sent.as_slice()),
        ("+OK hi\r\n", &b"STLS\r\n"[..])
    );
    assert!(err_of(client_run(&proto(Kind::Pop3), b"+OK hi\r\n-ERR no\r\n").2).contains("STLS"));
    assert!(err_of(client_run(&proto(Kind::Pop3), b"-ERR busy\r\n").2).contains("greeting"));

    let (local, sent, r) = client_run(&proto(Kind::Nntp), b"200 news\r\n382 go\r\n");
    r.unwrap();
    assert_eq!(
        (local.as_str(), sent.as_slice()),
        ("200 news\r\n", &b"STARTTLS\r\n"[..])
    );
    assert!(
        err_of(client_run(&proto(Kind::Nntp), b"201 news\r\n580 no\r\n").2).contains("refused")
    );
    assert!(err_of(client_run(&proto(Kind::Nntp), b"400 bye\r\n").2).contains("greeting"));
}

#[test]
fn ldap_client_sends_starttls_and_reads_the_result() {
    let ok = [
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ];
    let (_, sent, r) = client_run(&proto(Kind::Ldap), &ok);
    r.unwrap();
    let mut want = vec![0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16];
    want.extend_from_slice(ldap::START_TLS_OID);
    assert_eq!(sent, want);
    // The server's own messages answer its requests, so they parse as one.
    assert_eq!(
        ldap::parse_extended_request(want.get(2..).unwrap()),
        Ok(&[1u8][..])
    );
    let mut refused = ok;
    refused[9] = 0x02;
    assert!(err_of(client_run(&proto(Kind::Ldap), &refused).2).contains("resultCode 2"));
    assert!(err_of(client_run(&proto(Kind::Ldap), b"HTTP/1.1").2).contains("not an LDAP"));
    assert!(
        err_of(client_run(&proto(Kind::Ldap), &[0x30, 0x84, 0x7f, 0, 0, 0]).2).contains("at most")
    );
}

#[test]
fn pgsql_client() {
    let (_, sent, r) = client_run(&proto(Kind::Pgsql), b"S");
    r.unwrap();
    assert_eq!(sent, pgsql::SSL_REQUEST);
    assert!(err_of(client_run(&proto(Kind::Pgsql), b"N").2).contains("refused"));
    assert!(err_of(client_run(&proto(Kind::Pgsql), b"E").2).contains("unexpected"));
    assert!(err_of(client_run(&proto(Kind::Pgsql), b"").2).contains("closed"));
}

#[test]
fn connect_client() {
    let p = Protocol {
        kind: Kind::Connect,
        host: Some("db.example:443".into()),
        credentials: Some(Credentials {
            username: "Aladdin".into(),
            password: "open sesame".into(),
            mechanism: Mechanism::Basic,
        }),
        headers: Vec::new(),
    };
    let (_, sent, r) = client_run(&p, b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n");
    r.unwrap();
    assert_eq!(
        String::from_utf8(sent).unwrap(),
        "CONNECT db.example:443 HTTP/1.1\r\nHost: db.example:443\r\n\
         Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
    );
    let e = err_of(client_run(&p, b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").2);
    assert!(
        e.contains("proxy refused CONNECT") && e.contains("407"),
        "{e}"
    );
    assert!(err_of(client_run(&p, b"HTTP/1.1 2000 x\r\n\r\n").2).contains("refused"));
    let p = Protocol {
        headers: vec!["User-Agent: tunnel/1".into()],
        credentials: None,
        ..p
    };
    let (_, sent, r) = client_run(&p, b"HTTP/1.1 200 OK\r\n\r\n");
    r.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sent),
        "CONNECT db.example:443 HTTP/1.1\r\nHost: db.example:443\r\nUser-Agent: tunnel/1\r\n\r\n"
    );
    for bad in ["no colon", "Bad Name: x", ": x", "X: a\r\nY: b"] {
        assert!(check_header(bad).is_err(), "{bad:?}");
    }
    assert!(check_header("X-Trace: a\tb").is_ok());
    assert!(err_of(client_run(&p, b"HTTP/1.1 200 OK\r\n").2).contains("closed"));
}

#[test]
fn smtp_server_offers_starttls() {
    let (to_client, to_server, r) = server_run(
        Kind::Smtp,
        b"EHLO client.example\r\nSTARTTLS\r\n",
        b"220 mail.example ESMTP Postfix\r\n",
    );
    r.unwrap();
    assert_eq!(
        to_client,
        "220 mail.example tls-tunnel for ESMTP Postfix\r\n250-mail.example\r\n250 STARTTLS\r\n\
         220 2.0.0 Ready to start TLS\r\n"
    );
    assert_eq!(to_server, "");
    let (to_client, _, r) = server_run(Kind::Smtp, b"MAIL FROM:<a@b>\r\n", b"220 m\r\n");
    assert!(err_of(r).contains("instead of EHLO"));
    assert!(to_client.ends_with("503 5.5.1 EHLO first, then STARTTLS\r\n"));
    let (_, _, r) = server_run(Kind::Smtp, b"EHLO c\r\nMAIL FROM:<a@b>\r\n", b"220 m\r\n");
    assert!(err_of(r).contains("instead of STARTTLS"));
    assert!(err_of(server_run(Kind::Smtp, b"", b"421 busy\r\n").2).contains("not 220"));
}

#[test]
fn imap_server_offers_starttls() {
    let (to_client, to_server, r) = server_run(
        Kind::Imap,
        b"a CAPABILITY\r\nb STARTTLS\r\n",
        b"* OK [CAPABILITY IMAP4rev1] ready\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na OK done\r\n",
    );
    r.unwrap();
    assert_eq!(
        to_client,
        "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN STARTTLS\r\n\
         a OK done\r\nb OK begin TLS negotiation now\r\n"
    );
    assert_eq!(to_server, "a CAPABILITY\r\n");
    let (to_client, _, r) = server_run(Kind::Imap, b"a LOGIN u p\r\n", b"* OK ready\r\n");
    assert!(err_of(r).contains("before STARTTLS"));
    assert!(to_client.ends_with("a BAD LOGIN before STARTTLS\r\n"));
    let many = b"a CAPABILITY\r\n".repeat(20);
    let answers = b"a OK\r\n".repeat(20);
    let mut server = b"* OK ready\r\n".to_vec();
    server.extend_from_slice(&answers);
    assert!(err_of(server_run(Kind::Imap, &many, &server).2).contains("no STARTTLS"));
}

#[test]
fn pop3_ldap_pgsql_servers() {
    let (to_client, _, r) = server_run(Kind::Pop3, b"CAPA\r\nSTLS\r\n", b"+OK POP3 ready\r\n");
    r.unwrap();
    assert_eq!(
        to_client,
        "+OK POP3 ready + tls-tunnel\r\n+OK capability list follows\r\nSTLS\r\n.\r\n\
         +OK begin TLS negotiation\r\n"
    );
    assert!(
        err_of(server_run(Kind::Pop3, b"USER a\r\n", b"+OK hi\r\n").2).contains("instead of STLS")
    );

    let mut req = vec![0x30, 0x1e, 0x02, 0x02, 0x00, 0x85, 0x77, 0x18, 0x80, 0x16];
    req.extend_from_slice(ldap::START_TLS_OID);
    let (mut local, mut remote) = (Script::new(&req), Script::new(b""));
    run(&proto(Kind::Ldap), Mode::Server, &mut local, &mut remote).unwrap();
    let body = local.output.get(2..).unwrap();
    let resp = ldap::parse_extended_response(body).unwrap();
    assert_eq!((resp.message_id, resp.result_code), (0x85, 0));
    let mut other = req.clone();
    other[req.len() - 1] = b'8';
    assert!(err_of(server_run(Kind::Ldap, &other, b"").2).contains("not StartTLS"));

    let (to_client, _, r) = server_run(Kind::Pgsql, &pgsql::SSL_REQUEST, b"");
    r.unwrap();
    assert_eq!(to_client, "S");
    let mut both = pgsql::GSSENC_REQUEST.to_vec();
    both.extend_from_slice(&pgsql::SSL_REQUEST);
    assert_eq!(server_run(Kind::Pgsql, &both, b"").0, "NS");
    let startup = [0, 0, 0, 8, 0, 3, 0, 0];
    assert!(err_of(server_run(Kind::Pgsql, &startup, b"").2).contains("SSLRequest"));
}

#[test]
fn nntp_server_offers_starttls() {
    let (to_client, to_server, r) = server_run(
        Kind::Nntp,
        b"CAPABILITIES\r\nLIST\r\nSTARTTLS\r\n",
        b"200 news.example InterNetNews NNRP server ready\r\n",
    );
    r.unwrap();
    assert_eq!(
        to_client,
        "200 news.example InterNetNews NNRP server ready\r\n101 Capability list:\r\n\
         VERSION 2\r\nSTARTTLS\r\n.\r\n483 Encryption required: STARTTLS first\r\n\
         382 Continue with TLS negotiation\r\n"
    );
    // Nothing the client says before TLS reaches the server.
    assert_eq!(to_server, "");
    assert!(err_of(server_run(Kind::Nntp, b"QUIT\r\n", b"200 hi\r\n").2).contains("quit"));
    assert!(err_of(server_run(Kind::Nntp, b"", b"400 go away\r\n").2).contains("not 200"));
    let many = b"LIST\r\n".repeat(20);
    assert!(err_of(server_run(Kind::Nntp, &many, b"200 hi\r\n").2).contains("no STARTTLS"));
}

fn options(name: &str) -> Options {
    Options {
        name: Some(name.into()),
        ..Options::default()
    }
}

#[test]
fn options_are_checked() {
    let service = |mode| {
        crate::config::toml::parse(
            "t.toml",
            &format!(
                "[[service]]\nname = \"s\"\nmode = \"{mode}\"\nlisten = \"127.0.0.1:1\"\n\
             target = \"proxy.example:3128\"\n"
            ),
        )
        .unwrap()
        .services
        .remove(0)
    };
    let mut s = service("client");
    let with = |o: Options, s: &mut Service| o.apply(s);
    assert!(with(options("socks"), &mut s.clone())
        .unwrap_err()
        .contains("server mode only"));
    assert!(with(options("cifs"), &mut s.clone())
        .unwrap_err()
        .contains("not supported"));
    assert!(with(options("gopher"), &mut s.clone())
        .unwrap_err()
        .contains("unknown protocol"));
    assert!(with(options("connect"), &mut s.clone())
        .unwrap_err()
        .contains("protocolHost"));
    let ntlm = Options {
        host: Some("db.example:443".into()),
        username: Some("u".into()),
        password: Some("p".into()),
        authentication: Some("NTLM".into()),
        ..options("connect")
    };
    assert!(with(ntlm.clone(), &mut s.clone())
        .unwrap_err()
        .contains("MD4"));
    let basic = Options {
        authentication: Some("basic".into()),
        ..ntlm
    };
    with(basic, &mut s).unwrap();
    // The SNI name follows protocolHost, not the proxy.
    let Role::Client(client) = &s.role else {
        panic!("client mode")
    };
    assert_eq!(client.server_name.as_deref(), Some("db.example"));
    assert_eq!(s.protocol.as_ref().map(|p| p.kind), Some(Kind::Connect));

    let mut srv = service("server");
    with(options("nntp"), &mut srv.clone()).unwrap();
    assert!(with(options("connect"), &mut srv.clone())
        .unwrap_err()
        .contains("client mode only"));
    let stray = Options {
        host: Some("x".into()),
        ..Options::default()
    };
    let host = Options {
        host: Some("mx.example".into()),
        ..options("smtp")
    };
    assert!(with(host, &mut srv.clone())
        .unwrap_err()
        .contains("client mode only"));
    assert!(with(stray, &mut srv.clone())
        .unwrap_err()
        .contains("needs a protocol"));
    let smtp_auth = |auth: Option<&str>| Options {
        username: Some("alice".into()),
        password: Some("s3cret".into()),
        authentication: auth.map(str::to_string),
        ..options("smtp")
    };
    assert!(with(smtp_auth(None), &mut srv.clone())
        .unwrap_err()
        .contains("client mode only"));
    for (auth, want) in [
        (None, Mechanism::Plain),
        (Some("plain"), Mechanism::Plain),
        (Some("basic"), Mechanism::Plain),
        (Some("LOGIN"), Mechanism::Login),
    ] {
        let mut c = s.clone();
        with(smtp_auth(auth), &mut c).unwrap();
        let creds = c.protocol.and_then(|p| p.credentials).unwrap();
        assert_eq!((creds.username.as_str(), creds.mechanism), ("alice", want));
    }
    for (auth, want) in [
        ("ntlm", "expected plain or login for smtp"),
        ("cram-md5", "expected plain or login for smtp"),
    ] {
        let e = with(smtp_auth(Some(auth)), &mut s.clone()).unwrap_err();
        assert!(e.contains(want), "{e}");
    }
    let nul = Options {
        password: Some("a\0b".into()),
        ..smtp_auth(None)
    };
    assert!(with(nul, &mut s.clone()).unwrap_err().contains("NUL"));
    let lone = Options {
        password: None,
        ..smtp_auth(None)
    };
    assert!(with(lone, &mut s.clone())
        .unwrap_err()
        .contains("go together"));
    let imap = Options {
        authentication: Some("plain".into()),
        ..options("imap")
    };
    assert!(with(imap, &mut s.clone())
        .unwrap_err()
        .contains("applies to connect and smtp"));
    with(options("PROXY"), &mut srv).unwrap();
    assert_eq!(srv.proxy_send, Some(ProxyVersion::V1));
    assert!(with(options("smtp"), &mut srv)
        .unwrap_err()
        .contains("PROXY header"));
}

#[test]
fn exec_in_toml_and_stunnel_conf() {
    let toml = "[[service]]\nname = \"p\"\nmode = \"server\"\nlisten = \"127.0.0.1:1\"\n\
                exec = [\"/bin/sh\", \"-c\", \"echo hi\"]\n";
    let c = crate::config::toml::parse("t.toml", toml).unwrap();
    let exec = c.services[0].exec.clone().unwrap();
    assert_eq!(exec.program, std::path::PathBuf::from("/bin/sh"));
    assert_eq!(exec.args, ["/bin/sh", "-c", "echo hi"]);
    let e = crate::config::toml::parse(
        "t.toml",
        &toml.replace("[\"/bin/sh\", \"-c\", \"echo hi\"]", "[]"),
    )
    .unwrap_err();
    assert!(e.message.contains("exec needs the program"), "{e}");
    let conf = "[p]\naccept = 127.0.0.1:1\nexec = /usr/bin/prog\nexecArgs = prog -v  x\n";
    let c = crate::config::stunnel::parse("s.conf", conf).unwrap();
    assert_eq!(
        c.services[0].exec.clone().unwrap().args,
        ["prog", "-v", "x"]
    );
    let client = format!("{conf}client = yes\n");
    let e = crate::config::stunnel::parse("s.conf", &client).unwrap_err();
    assert!(e.message.contains("server mode only"), "{e}");
}

#[test]
fn smtp_auth_keys_in_toml() {
    let toml = |mode: &str| {
        format!(
            "[[service]]\nname = \"mail\"\nmode = \"{mode}\"\nlisten = \"127.0.0.1:1\"\n\
             target = \"mx.example:25\"\nprotocol = \"smtp\"\nprotocol_username = \"alice\"\n\
             protocol_password = \"s3cret\"\nprotocol_authentication = \"login\"\n"
        )
    };
    let c = crate::config::toml::parse("t.toml", &toml("client")).unwrap();
    let creds = c.services[0].protocol.clone().unwrap().credentials.unwrap();
    assert_eq!(
        (creds.username.as_str(), creds.mechanism),
        ("alice", Mechanism::Login)
    );
    let e = crate::config::toml::parse("t.toml", &toml("server")).unwrap_err();
    assert!(e.message.contains("client mode only"), "{e}");
}
