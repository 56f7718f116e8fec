//! stunnel's OCSP options end to end: a tls-tunnel configured by
//! stunnel.conf checks its peer's certificate with `openssl ocsp` as the
//! responder (behind an HTTP front on 127.0.0.1, see `tls_tests::ocsp`).
//! Client mode checks the server's certificate, server mode the client's:
//! good passes, revoked is refused, a responder that is down refuses with
//! `OCSPrequire = yes` (the default) and passes with `no`; `OCSPaia` finds
//! the responder in the certificate; `OCSPnonce` round-trips. In server
//! mode the service's own certificate gets its AIA response stapled, seen
//! by `openssl s_client -status` over TLS 1.3 and TLS 1.2. In client mode
//! a response the server staples (`openssl s_server -status_file`, or our
//! own server mode) is checked first, as stunnel does: good or revoked
//! there is the answer, and the responder is not asked. A TOML service's
//! `[service.ocsp]` table has the same meaning.

use std::io::{Read, Write};
use std::path::Path;

use tls_core::x509::{OcspIssuer, OcspTarget};
use tls_tests::ocsp::{OcspPki, Responder, ResponderSocket};
use tls_tests::openssl_peer::{s_client_run, Log, SServerBuilder};
use tls_tests::peer::{connect_local, free_port, require, Peer};
use tls_tests::stunnel::Greeter;
use tls_tests::tunnel::{temp_dir, Tunnel};

/// A PKI whose leaves' AIA names the responder, and the responder.
fn setup(tag: &str, requests: usize) -> (OcspPki, Responder) {
    let dir = temp_dir(tag);
    let socket = ResponderSocket::bind();
    let pki = OcspPki::generate(&dir, socket.port);
    let responder = socket.serve(&pki, "resp", requests);
    (pki, responder)
}

/// Starts tls-tunnel on a stunnel.conf with one service `[svc]` made of
/// `lines`, listening on `port`.
fn start(pki: &OcspPki, name: &str, port: u16, lines: &[String]) -> Tunnel {
    let conf = pki.file(&format!("{name}.conf"));
    let text = format!(
        "foreground = yes\npid =\nsyslog = no\ndebug = 7\n[svc]\naccept = 127.0.0.1:{port}\n{}\n",
        lines.join("\n")
    );
    std::fs::write(&conf, text).expect("write conf");
    Tunnel::start(["--config", conf.to_str().expect("utf-8")], &[port])
}

fn path(p: &Path) -> String {
    p.to_str().expect("utf-8").to_string()
}

/// What a plaintext client of `port` reads until the end.
fn greeting(port: u16) -> String {
    let mut sock = connect_local(port).expect("connect");
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A server-mode tunnel presenting `leaf` in front of `backend`.
fn server(pki: &OcspPki, leaf: &str, backend: &Greeter, extra: &[String]) -> (Tunnel, u16) {
    let port = free_port();
    let mut lines = vec![
        format!("connect = 127.0.0.1:{}", backend.port),
        format!("cert = {}", path(&pki.file(&format!("{leaf}.pem")))),
        format!("key = {}", path(&pki.file(&format!("{leaf}.key")))),
    ];
    lines.extend_from_slice(extra);
    (
        start(pki, &format!("server-{leaf}-{port}"), port, &lines),
        port,
    )
}

/// A client-mode tunnel to `target` verifying the server against the CA.
fn client(pki: &OcspPki, target: u16, extra: &[String]) -> (Tunnel, u16) {
    let port = free_port();
    let mut lines = vec![
        "client = yes".to_string(),
        format!("connect = 127.0.0.1:{target}"),
        format!("CAfile = {}", path(&pki.file("ca.pem"))),
        "verifyChain = yes".into(),
        "checkHost = localhost".into(),
    ];
    lines.extend_from_slice(extra);
    (start(pki, &format!("client-{port}"), port, &lines), port)
}

#[test]
fn client_mode_checks_the_server_certificate() {
    let (pki, responder) = setup("ocsp-client", 16);
    let backend = Greeter::start("ocsp");
    let ocsp = format!("OCSP = {}", responder.url());
    let (_good_server, good) = server(&pki, "good", &backend, &[]);
    let (_revoked_server, revoked) = server(&pki, "revoked", &backend, &[]);

    // OCSP = URL, nonce on and off.
    for nonce in ["no", "yes"] {
        let extra = [ocsp.clone(), format!("OCSPnonce = {nonce}")];
        let (t, port) = client(&pki, good, &extra);
        assert_eq!(greeting(port), "backend-ocsp\n", "{}", t.log());
        let (t, port) = client(&pki, revoked, &extra);
        assert_eq!(
            greeting(port),
            "",
            "revoked server let through\n{}",
            t.log()
        );
        t.expect_log("OCSP: certificate revoked");
    }
    // OCSPaia: the responder named in the certificate.
    let (t, port) = client(&pki, good, &["OCSPaia = yes".into()]);
    assert_eq!(greeting(port), "backend-ocsp\n", "{}", t.log());
    let (t, port) = client(&pki, revoked, &["OCSPaia = yes".into()]);
    assert_eq!(greeting(port), "");
    t.expect_log("OCSP: certificate revoked");
    // Each revoked check asks (that server staples nothing), and each
    // server fetched once; the good server's staple, once it is in, spares
    // the responder.
    assert!(responder.served() >= 5, "served {}", responder.served());

    // Without OCSP options the revoked certificate passes (CAs only).
    let (_t, port) = client(&pki, revoked, &[]);
    assert_eq!(greeting(port), "backend-ocsp\n");
}

#[test]
fn responder_down_follows_ocsp_require() {
    let (pki, responder) = setup("ocsp-down", 1);
    // Down for the server too, so that it has nothing to staple.
    drop(responder);
    let backend = Greeter::start("ocsp");
    let (_good_server, good) = server(&pki, "good", &backend, &[]);
    // Nothing listens there.
    let down = format!("OCSP = http://127.0.0.1:{}/", free_port());

    let (t, port) = client(&pki, good, std::slice::from_ref(&down));
    assert_eq!(greeting(port), "", "{}", t.log());
    t.expect_log("no conclusive OCSP answer");
    let (t, port) = client(&pki, good, &[down.clone(), "OCSPrequire = yes".into()]);
    assert_eq!(greeting(port), "", "{}", t.log());

    let (t, port) = client(&pki, good, &[down, "OCSPrequire = no".into()]);
    assert_eq!(greeting(port), "backend-ocsp\n", "{}", t.log());
    t.expect_log("allowed by OCSPrequire = no");
}

#[test]
fn server_mode_checks_client_certificates() {
    let (pki, responder) = setup("ocsp-server", 8);
    let backend = Greeter::start("mtls");
    let checks = [
        format!("CAfile = {}", path(&pki.file("ca.pem"))),
        "verifyChain = yes".to_string(),
        format!("OCSP = {}", responder.url()),
    ];
    let (t, server_port) = server(&pki, "good", &backend, &checks);
    for (leaf, expected) in [("good", "backend-mtls\n"), ("revoked", "")] {
        let (_c, port) = client(
            &pki,
            server_port,
            &[
                format!("cert = {}", path(&pki.file(&format!("{leaf}.pem")))),
                format!("key = {}", path(&pki.file(&format!("{leaf}.key")))),
            ],
        );
        assert_eq!(greeting(port), expected, "client {leaf}\n{}", t.log());
    }
    t.expect_log("OCSP: certificate revoked");
}

/// `openssl s_client -status` against `port` with `version`: its output.
fn s_client_status(pki: &OcspPki, port: u16, version: &str) -> String {
    s_client_run(
        port,
        &[
            "-status",
            version,
            "-CAfile",
            &path(&pki.file("ca.pem")),
            "-verify_return_error",
            "-ign_eof",
        ],
    )
    .stdout
}

#[test]
fn server_mode_staples_the_aia_response() {
    let (pki, responder) = setup("ocsp-staple", 8);
    let backend = Greeter::start("staple");
    // The certificate file carries the issuer, so the request can name it.
    let chain = pki.file("good-chain.pem");
    let mut text = std::fs::read(pki.file("good.pem")).expect("good.pem");
    text.extend(std::fs::read(pki.file("ca.pem")).expect("ca.pem"));
    std::fs::write(&chain, text).expect("chain");
    let port = free_port();
    let t = start(
        &pki,
        "staple",
        port,
        &[
            format!("connect = 127.0.0.1:{}", backend.port),
            format!("cert = {}", path(&chain)),
            format!("key = {}", path(&pki.file("good.key"))),
        ],
    );
    // The fetch starts with the service; the first handshakes may come
    // before the response is in (bounded wait for it).
    t.expect_log("OCSP stapling: response from");
    for version in ["-tls1_3", "-tls1_2"] {
        let out = s_client_status(&pki, port, version);
        assert!(
            out.contains("OCSP Response Status: successful") && out.contains("Cert Status: good"),
            "{version}: no staple\n{out}\n{}",
            t.log()
        );
        assert!(out.contains("backend-staple"), "{out}");
    }
    assert_eq!(responder.served(), 1, "one fetch serves every handshake");

    // The revoked certificate is not stapled (the response says revoked).
    let (pki2, _responder2) = setup("ocsp-staple-revoked", 2);
    let chain = pki2.file("revoked-chain.pem");
    let mut text = std::fs::read(pki2.file("revoked.pem")).expect("revoked.pem");
    text.extend(std::fs::read(pki2.file("ca.pem")).expect("ca.pem"));
    std::fs::write(&chain, text).expect("chain");
    let port = free_port();
    let t = start(
        &pki2,
        "staple-revoked",
        port,
        &[
            format!("connect = 127.0.0.1:{}", backend.port),
            format!("cert = {}", path(&chain)),
            format!("key = {}", path(&pki2.file("revoked.key"))),
        ],
    );
    t.expect_log("not stapled");
    let out = s_client_status(&pki2, port, "-tls1_3");
    assert!(out.contains("OCSP response: no response sent"), "{out}");
}

/// stunnel4 on the same file as [`start`] writes.
fn start_stunnel(pki: &OcspPki, name: &str, port: u16) -> Peer {
    let conf = pki.file(&format!("{name}.conf"));
    let mut peer = Peer::spawn(&require("stunnel4", "stunnel4"), [conf]);
    peer.wait_for_port(port);
    peer
}

/// stunnel itself is the oracle: the same stunnel.conf (the OCSP options
/// stunnel 5.68 has: OCSP, OCSPaia, OCSPnonce, OCSPflag) under stunnel4 and
/// under tls-tunnel, the same clients, the same outcomes. (OCSPflag
/// NOCASIGN/NODELEGATED change nothing under stunnel: OpenSSL ignores them.)
#[test]
fn stunnel_agrees() {
    let (pki, responder) = setup("ocsp-oracle", 64);
    let backend = Greeter::start("oracle");
    let (_good_server, good) = server(&pki, "good", &backend, &[]);
    let (_revoked_server, revoked) = server(&pki, "revoked", &backend, &[]);
    let ocsp = format!("OCSP = {}", responder.url());
    let cases: Vec<(&str, u16, Vec<String>)> = vec![
        ("url-good", good, vec![ocsp.clone()]),
        ("url-revoked", revoked, vec![ocsp.clone()]),
        (
            "nonce-good",
            good,
            vec![ocsp.clone(), "OCSPnonce = yes".into()],
        ),
        (
            "nonce-revoked",
            revoked,
            vec![ocsp.clone(), "OCSPnonce = yes".into()],
        ),
        ("aia-good", good, vec!["OCSPaia = yes".into()]),
        ("aia-revoked", revoked, vec!["OCSPaia = yes".into()]),
        (
            "nocasign",
            good,
            vec![ocsp.clone(), "OCSPflag = NOCASIGN".into()],
        ),
        (
            "nodelegated",
            good,
            vec![ocsp.clone(), "OCSPflag = NODELEGATED".into()],
        ),
    ];
    for (case, target, extra) in cases {
        let (tunnel, port) = client(&pki, target, &extra);
        let ours = greeting(port);
        drop(tunnel);
        let conf = pki.file(&format!("client-{port}.conf"));
        let text = std::fs::read_to_string(&conf).expect("conf");
        let port2 = free_port();
        let text = text.replace(
            &format!("127.0.0.1:{port}\n"),
            &format!("127.0.0.1:{port2}\n"),
        );
        let name = format!("stunnel-{case}");
        std::fs::write(pki.file(&format!("{name}.conf")), text).expect("conf");
        let stunnel = start_stunnel(&pki, &name, port2);
        let theirs = greeting(port2);
        assert_eq!(ours, theirs, "{case}\n{}", stunnel.diagnostics());
        let expected = if case.ends_with("revoked") {
            ""
        } else {
            "backend-oracle\n"
        };
        assert_eq!(ours, expected, "{case}");
    }

    // Server mode: client certificates checked at the responder.
    let checks = [
        format!("CAfile = {}", path(&pki.file("ca.pem"))),
        "verifyChain = yes".to_string(),
        ocsp.clone(),
    ];
    let (t, ours_port) = server(&pki, "good", &backend, &checks);
    drop(t);
    let conf =
        std::fs::read_to_string(pki.file(&format!("server-good-{ours_port}.conf"))).expect("conf");
    let theirs_port = free_port();
    let conf = conf.replace(
        &format!("127.0.0.1:{ours_port}\n"),
        &format!("127.0.0.1:{theirs_port}\n"),
    );
    std::fs::write(pki.file("stunnel-server.conf"), conf).expect("conf");
    let (_t, ours_port) = server(&pki, "good", &backend, &checks);
    let _stunnel = start_stunnel(&pki, "stunnel-server", theirs_port);
    for (leaf, expected) in [("good", "backend-oracle\n"), ("revoked", "")] {
        let client_cert = [
            format!("cert = {}", path(&pki.file(&format!("{leaf}.pem")))),
            format!("key = {}", path(&pki.file(&format!("{leaf}.key")))),
        ];
        let (_c1, p1) = client(&pki, ours_port, &client_cert);
        let (_c2, p2) = client(&pki, theirs_port, &client_cert);
        let ours = greeting(p1);
        assert_eq!(ours, greeting(p2), "client certificate {leaf}");
        assert_eq!(ours, expected, "client certificate {leaf}");
    }
}

/// Writes the responder's DER answers about `good` and `revoked` (signed by
/// the delegated responder) as `good.der` and `revoked.der`, for
/// `s_server -status_file`.
fn staple_files(pki: &OcspPki) {
    let ca = OcspIssuer::from_cert(&pki.der("ca")).expect("CA");
    for name in ["good", "revoked"] {
        let (target, _) =
            OcspTarget::find(&pki.der(name), std::slice::from_ref(&ca)).expect("issuer");
        let response = pki.respond(&target.request(None), "resp", &[]);
        std::fs::write(pki.file(&format!("{name}.der")), response).expect("write staple");
    }
}

/// `openssl s_server -www` presenting `leaf` and stapling the response in
/// `status_file`, over `version` only, for a few connections.
fn stapling_s_server(pki: &OcspPki, leaf: &str, status_file: &str, version: &str) -> (Peer, u16) {
    let server = SServerBuilder::with_cert(
        &pki.file(&format!("{leaf}.pem")),
        &pki.file(&format!("{leaf}.key")),
    )
    .naccept(8)
    .quiet(false)
    .log(Log::Off)
    .args(&[
        version,
        "-www",
        "-status_file",
        &path(&pki.file(status_file)),
    ])
    .start();
    (server.peer, server.port)
}

/// A GET through the plaintext side of a client tunnel: the first line of
/// s_server's page, or "" when the tunnel closed without a byte.
fn fetch_page(port: u16) -> String {
    let mut sock = connect_local(port).expect("connect");
    let _ = sock.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.lines().next().unwrap_or_default().to_string()
}

/// The first line of s_server's `-www` page.
const PAGE: &str = "HTTP/1.0 200 ok";

#[test]
fn client_mode_checks_a_stapled_response_first() {
    let (pki, responder) = setup("ocsp-stapled", 8);
    staple_files(&pki);
    let ocsp = format!("OCSP = {}", responder.url());
    for version in ["-tls1_3", "-tls1_2"] {
        // A good staple passes and a revoked one is refused, with the
        // responder (URL or AIA) never asked.
        for options in [vec![ocsp.clone()], vec!["OCSPaia = yes".to_string()]] {
            let (_good, good) = stapling_s_server(&pki, "good", "good.der", version);
            let (t, port) = client(&pki, good, &options);
            assert_eq!(fetch_page(port), PAGE, "{version} {options:?}\n{}", t.log());
            t.expect_log("OCSP: stapled response: certificate good");
            let (_revoked, revoked) = stapling_s_server(&pki, "revoked", "revoked.der", version);
            let (t, port) = client(&pki, revoked, &options);
            assert_eq!(fetch_page(port), "", "{version} {options:?}\n{}", t.log());
            t.expect_log("(stapled response)");
            assert_eq!(responder.served(), 0, "{version} {options:?}");
        }
    }
    // A staple about another certificate (its CertID does not match) is
    // not an answer: the responder is asked, and says revoked.
    let (_s, wrong) = stapling_s_server(&pki, "revoked", "good.der", "-tls1_3");
    let (t, port) = client(&pki, wrong, std::slice::from_ref(&ocsp));
    assert_eq!(fetch_page(port), "", "{}", t.log());
    t.expect_log("OCSP: stapled response refused");
    t.expect_log("OCSP: certificate revoked");
    assert_eq!(responder.served(), 1);
    // The same with no responder to ask: OCSPrequire decides.
    let down = format!("OCSP = http://127.0.0.1:{}/", free_port());
    let (_s, wrong) = stapling_s_server(&pki, "good", "revoked.der", "-tls1_2");
    let (t, port) = client(&pki, wrong, std::slice::from_ref(&down));
    assert_eq!(fetch_page(port), "", "{}", t.log());
    let (t, port) = client(&pki, wrong, &[down, "OCSPrequire = no".into()]);
    assert_eq!(fetch_page(port), PAGE, "{}", t.log());
    t.expect_log("allowed by OCSPrequire = no");
}

#[test]
fn client_mode_takes_our_own_server_staple() {
    let (pki, responder) = setup("ocsp-own-staple", 8);
    let backend = Greeter::start("own-staple");
    let chain = pki.file("good-chain.pem");
    let mut text = std::fs::read(pki.file("good.pem")).expect("good.pem");
    text.extend(std::fs::read(pki.file("ca.pem")).expect("ca.pem"));
    std::fs::write(&chain, text).expect("chain");
    let port = free_port();
    let server = start(
        &pki,
        "own-staple",
        port,
        &[
            format!("connect = 127.0.0.1:{}", backend.port),
            format!("cert = {}", path(&chain)),
            format!("key = {}", path(&pki.file("good.key"))),
        ],
    );
    server.expect_log("OCSP stapling: response from");
    assert_eq!(responder.served(), 1, "the server's own fetch");
    for version in ["sslVersion = TLSv1.3", "sslVersion = TLSv1.2"] {
        let options = [format!("OCSP = {}", responder.url()), version.to_string()];
        let (t, client_port) = client(&pki, port, &options);
        assert_eq!(greeting(client_port), "backend-own-staple\n", "{}", t.log());
        t.expect_log("OCSP: stapled response: certificate good");
    }
    assert_eq!(responder.served(), 1, "the clients asked no responder");
}

/// stunnel4 in client mode on the same files, the server stapling and the
/// responder up: the same outcomes. Only ours spares the responder:
/// Debian's stunnel 5.68 predates client-side stapling (5.7x checks the
/// staple first, as we do) and asks the responder every time.
#[test]
fn stunnel_agrees_on_stapled_responses() {
    let (pki, responder) = setup("ocsp-stapled-oracle", 16);
    staple_files(&pki);
    let ocsp = format!("OCSP = {}", responder.url());
    let cases = [("good", "good.der", PAGE), ("revoked", "revoked.der", "")];
    for version in ["-tls1_3", "-tls1_2"] {
        for (leaf, staple, expected) in cases {
            let (_s, target) = stapling_s_server(&pki, leaf, staple, version);
            let before = responder.served();
            let (tunnel, port) = client(&pki, target, std::slice::from_ref(&ocsp));
            let ours = fetch_page(port);
            drop(tunnel);
            assert_eq!(responder.served(), before, "{leaf} {version}: we asked");
            let conf = pki.file(&format!("client-{port}.conf"));
            let text = std::fs::read_to_string(conf).expect("conf");
            let port2 = free_port();
            let text = text.replace(
                &format!("127.0.0.1:{port}\n"),
                &format!("127.0.0.1:{port2}\n"),
            );
            let name = format!("stunnel-staple-{leaf}{version}");
            std::fs::write(pki.file(&format!("{name}.conf")), text).expect("conf");
            let stunnel = start_stunnel(&pki, &name, port2);
            let theirs = fetch_page(port2);
            assert_eq!(ours, theirs, "{leaf} {version}\n{}", stunnel.diagnostics());
            assert_eq!(ours, expected, "{leaf} {version}");
        }
    }
}

/// A client-mode tunnel to `target` configured in TOML, verifying the
/// server against the CA, with `ocsp` as its `[service.ocsp]` table.
fn toml_client(pki: &OcspPki, target: u16, ocsp: &str) -> (Tunnel, u16) {
    let port = free_port();
    let conf = pki.file(&format!("toml-client-{port}.toml"));
    let text = format!(
        "[[service]]\nname = \"svc\"\nmode = \"client\"\nlisten = \"127.0.0.1:{port}\"\n\
         target = \"127.0.0.1:{target}\"\nserver_name = \"localhost\"\ncacert = \"{}\"\n\
         [service.ocsp]\n{ocsp}\n",
        path(&pki.file("ca.pem"))
    );
    std::fs::write(&conf, text).expect("write conf");
    let t = Tunnel::start(["--config", conf.to_str().expect("utf-8")], &[port]);
    (t, port)
}

#[test]
fn toml_services_take_the_same_ocsp_settings() {
    let (pki, responder) = setup("ocsp-toml", 8);
    let backend = Greeter::start("ocsp");
    let (_good_server, good) = server(&pki, "good", &backend, &[]);
    let (_revoked_server, revoked) = server(&pki, "revoked", &backend, &[]);
    let url = format!(
        "url = \"{}\"\nnonce = true\ntimeout = \"5s\"",
        responder.url()
    );
    let (t, port) = toml_client(&pki, good, &url);
    assert_eq!(greeting(port), "backend-ocsp\n", "{}", t.log());
    let (t, port) = toml_client(&pki, revoked, &url);
    assert_eq!(
        greeting(port),
        "",
        "revoked server let through\n{}",
        t.log()
    );
    t.expect_log("OCSP: certificate revoked");
    // aia: the responder named in the certificate.
    let (t, port) = toml_client(&pki, revoked, "aia = true\nflags = [\"NOCASIGN\"]");
    assert_eq!(greeting(port), "", "{}", t.log());
    t.expect_log("OCSP: certificate revoked");
    assert!(responder.served() >= 3, "served {}", responder.served());
    // require = false: a responder that is down lets the server in.
    let down = format!(
        "url = \"http://127.0.0.1:{}/\"\nrequire = false",
        free_port()
    );
    let (t, port) = toml_client(&pki, good, &down);
    assert_eq!(greeting(port), "backend-ocsp\n", "{}", t.log());
    t.expect_log("allowed by OCSPrequire = no");
}
