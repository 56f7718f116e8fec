//! Unit tests of the stunnel.conf front end.

use super::*;
use crate::config::{Algorithms, Mode, Resumption, Role, ServerVerify};
use std::time::Duration;
use tls_core::{CipherSuite, NamedGroup, ProtocolVersion};

#[test]
fn two_services_and_globals() {
    let conf = "; comment\nforeground = yes\npid = /tmp/x.pid\ndebug = 7\nTIMEOUTidle = 30\n\n[web]\naccept = 8443\nconnect = 127.0.0.1:80\ncert = /c.pem\nkey = /k.pem\n\n[db]\nclient = yes\naccept = 127.0.0.1:5432\nconnect = db.example.com:5433\nCAfile = /ca.pem\nverifyChain = yes\n";
    let c = parse("s.conf", conf).unwrap();
    assert!(c.global.foreground && !c.global.quiet);
    let quiet = parse(
        "s.conf",
        "foreground = quiet\n[a]\naccept = 1\nconnect = 2\n",
    )
    .unwrap();
    assert!(quiet.global.foreground && quiet.global.quiet);
    assert_eq!(c.global.log_level, tracing::Level::DEBUG);
    assert_eq!(c.services.len(), 2);
    assert_eq!(c.services[0].listen, Addr::Tcp("0.0.0.0:8443".into()));
    assert_eq!(c.services[0].timeouts.idle, Duration::from_secs(30));
    assert_eq!(c.services[1].role.mode(), Mode::Client);
    let client = c.services[1].client();
    assert_eq!(client.server_name.as_deref(), Some("db.example.com"));
    assert_eq!(client.verify, ServerVerify::Chain(Some("/ca.pem".into())));
}

#[test]
fn unknown_option_names_line() {
    let e = parse("s.conf", "[a]\naccept = 1\nengine = pkcs11\n").unwrap_err();
    assert_eq!(e.location, "s.conf:3");
    assert!(
        e.message.starts_with("engine: cryptographic engines"),
        "{e}"
    );
}

#[test]
fn sni_slave_becomes_route() {
    let conf = "[main]\naccept = 443\nconnect = 127.0.0.1:1\n[a]\nsni = main:a.example\nconnect = 127.0.0.1:2\ncert = /a.pem\n";
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(c.services.len(), 1);
    assert_eq!(c.services[0].server().sni_routes[0].name, "a.example");
}

#[test]
fn sni_parent_must_be_server_mode() {
    let conf = "[main]\nclient = yes\naccept = 1\nconnect = db.example:2\n\
                [a]\nsni = main:a.example\nconnect = 127.0.0.1:2\n";
    let e = parse("s.conf", conf).unwrap_err();
    assert_eq!(e.location, "s.conf:6");
    assert!(
        e.message
            .contains("sni parent [main] is not a server-mode service"),
        "{e}"
    );
}

#[test]
fn session_options() {
    let conf = "sessionCacheTimeout = 600\n\
                [a]\naccept = 1\nconnect = 127.0.0.1:1\nsessionCacheSize = 50\noptions = NO_TICKET\n\
                [b]\naccept = 2\nconnect = 127.0.0.1:1\n\
                [c]\nclient = yes\naccept = 3\nconnect = 127.0.0.1:1\nsessionResume = no\n";
    let c = parse("s.conf", conf).unwrap();
    let r: Vec<Resumption> = c.services[..2]
        .iter()
        .map(|s| s.server().resumption)
        .collect();
    assert!(c.services[0].resume && c.services[1].resume);
    assert_eq!(
        r[0],
        Resumption {
            tickets: false,
            timeout: Duration::from_secs(600),
            cache_size: 50,
            ticket_secret: None,
        }
    );
    assert_eq!(
        r[1],
        Resumption {
            timeout: Duration::from_secs(600),
            ..Resumption::default()
        }
    );
    // The global sessionCacheTimeout is meant for server sections: a
    // client-mode service has no server session settings to take it.
    assert!(!c.services[2].resume);
    assert_eq!(c.services[2].role.mode(), Mode::Client);
}

#[test]
fn bad_session_options_name_their_line() {
    let bad = |option: &str, want: &str| {
        let conf = format!("[a]\naccept = 1\nconnect = 127.0.0.1:1\n{option}\n");
        let e = parse("s.conf", &conf).unwrap_err();
        assert_eq!(e.location, "s.conf:4", "{e}");
        assert!(e.message.contains(want), "{want:?} in {e}");
    };
    bad("sessionCacheTimeout = soon", "takes a number of seconds");
    bad("sessionCacheTimeout = 604801", "from 1s to 7 days");
    bad("sessionCacheTimeout = 604801", "from 1s to 7 days");
    bad(
        "sessionCacheSize = 0",
        "0 (unlimited in stunnel) is not supported",
    );
    bad("sessionCacheSize = 100001", "at most 100000");
    bad("sessionCacheSize = -1", "takes a number of sessions");
    bad("options = NO_FOO", "options = NO_FOO: unsupported");
    bad("sessionResume = maybe", "yes or no");

    let client = "[c]\nclient = yes\naccept = 1\nconnect = 127.0.0.1:1\noptions = NO_TICKET\n";
    let e = parse("s.conf", client).unwrap_err();
    assert_eq!(e.location, "s.conf:5", "{e}");
    assert!(e.message.contains("server mode only"), "{e}");

    let sni = "[main]\naccept = 443\nconnect = 127.0.0.1:1\n[a]\nsni = main:a.example\nsessionResume = no\n";
    let c = parse("s.conf", sni).unwrap();
    assert_eq!(
        c.global.notices,
        [
            "s.conf:6: [a]: sessionResume has no effect in an sni section: it shares the \
          sessions of [main]"
        ]
    );
    assert!(c.services[0].resume);
}

/// The algorithms of a one-service config with `options` in its section.
fn algorithms_of(options: &str) -> Result<Algorithms, ConfigError> {
    let conf = format!("[a]\naccept = 1\nconnect = 127.0.0.1:1\n{options}\n");
    parse("s.conf", &conf).map(|mut c| c.services.remove(0).algorithms)
}

/// The error of a config whose fourth line is `bad`: at that line, naming `want`.
fn bad_at_line_4(bad: &str, want: &str) {
    let e = algorithms_of(bad).unwrap_err();
    assert_eq!(e.location, "s.conf:4", "{e}");
    assert!(e.message.contains(want), "{want:?} in {e}");
}

#[test]
fn protocol_versions() {
    use ProtocolVersion::{Tls12, Tls13};
    let versions = |o: &str| algorithms_of(o).unwrap().versions;
    assert_eq!(versions(""), [Tls13, Tls12]);
    assert_eq!(versions("sslVersionMin = TLSv1.3"), [Tls13]);
    assert_eq!(versions("sslVersionMax = TLSv1.2"), [Tls12]);
    assert_eq!(versions("sslVersion = TLSv1.2"), [Tls12]);
    assert_eq!(versions("sslVersion = all"), [Tls13, Tls12]);
    assert_eq!(versions("sslVersionMax = all"), [Tls13, Tls12]);
    // A minimum below 1.2 allows older versions too: we just do not offer them.
    assert_eq!(versions("sslVersionMin = TLSv1"), [Tls13, Tls12]);
    assert_eq!(versions("sslVersionMin = SSLv3"), [Tls13, Tls12]);
    assert_eq!(versions("options = NO_TLSv1_3"), [Tls12]);
    assert_eq!(versions("options = NO_TLSv1_2"), [Tls13]);
    // Global defaults reach every section; a section overrides them.
    let conf = "sslVersionMin = TLSv1.3\n[a]\naccept = 1\nconnect = 127.0.0.1:1\n\
                [b]\naccept = 2\nconnect = 127.0.0.1:1\nsslVersion = TLSv1.2\n";
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(c.services[0].algorithms.versions, [Tls13]);
    assert_eq!(c.services[1].algorithms.versions, [Tls12]);

    bad_at_line_4(
        "sslVersion = TLSv1",
        "sslVersion = TLSv1: TLS below 1.2 is not supported",
    );
    bad_at_line_4(
        "sslVersionMax = TLSv1.1",
        "sslVersionMax = TLSv1.1: TLS below 1.2 is not supported",
    );
    bad_at_line_4(
        "sslVersionMin = TLSv9",
        "unknown protocol version \"TLSv9\"",
    );
    let e = algorithms_of("sslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.2").unwrap_err();
    assert_eq!(e.location, "s.conf:5", "{e}");
    assert!(e.message.contains("leave no protocol version"), "{e}");
    let e = algorithms_of("options = NO_TLSv1_2\noptions = NO_TLSv1_3").unwrap_err();
    assert_eq!(e.location, "s.conf:5", "{e}");
}

#[test]
fn suites_and_curves() {
    let a = algorithms_of(
        "ciphersuites = TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384\n\
         ciphers = ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL\n\
         curves = P-384:prime256v1",
    )
    .unwrap();
    assert_eq!(
        a.cipher_suites(),
        [
            CipherSuite::Tls13Chacha20Poly1305Sha256,
            CipherSuite::Tls13Aes256GcmSha384,
            CipherSuite::EcdheRsaChacha20Poly1305Sha256,
            CipherSuite::EcdheEcdsaAes128GcmSha256,
        ]
    );
    assert_eq!(a.groups, [NamedGroup::Secp384r1, NamedGroup::Secp256r1]);
    // Only what is set changes.
    let a = algorithms_of("curves = X25519").unwrap();
    assert_eq!(a.groups, [NamedGroup::X25519]);
    assert_eq!(a.versions, Algorithms::default().versions);
    assert_eq!(a.cipher_suites(), Algorithms::default().cipher_suites());

    bad_at_line_4(
        "ciphersuites = TLS_AES_128_CCM_SHA256",
        "\"TLS_AES_128_CCM_SHA256\" is not supported",
    );
    bad_at_line_4(
        "ciphers = HIGHEST",
        "\"HIGHEST\" is not an OpenSSL cipher keyword",
    );
    bad_at_line_4("ciphers = AES128-SHA", "\"AES128-SHA\" is not supported");
    bad_at_line_4(
        "curves = X25519:brainpool",
        "curve \"brainpool\" is not supported",
    );
    // Curves OpenSSL has and tls-core lacks are left out, as long as one
    // of ours remains.
    let a = algorithms_of("curves = brainpoolP256r1:secp256k1:sect571r1:X25519").unwrap();
    assert_eq!(a.groups, [NamedGroup::X25519]);
    bad_at_line_4("curves = brainpoolP512r1:secp224r1", "names no curve");
    bad_at_line_4("curves = ", "names no curve");
}

#[test]
fn options_restating_policy_are_accepted() {
    let conf = "options = NO_SSLv2\noptions = NO_SSLv3\noptions = NO_TLSv1\n\
                options = NO_TLSv1_1\noptions = NO_COMPRESSION\noptions = SINGLE_ECDH_USE\n\
                options = SINGLE_DH_USE\noptions = CIPHER_SERVER_PREFERENCE\n\
                [a]\naccept = 1\nconnect = 127.0.0.1:1\n";
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(c.services[0].algorithms, Algorithms::default());
    // Each says so at start.
    assert_eq!(c.global.notices.len(), 8, "{:?}", c.global.notices);
    assert_eq!(
        c.global.notices[0],
        "stunnel option options = NO_SSLv2: accepted without effect: tls-tunnel speaks TLS 1.2 \
         and 1.3 only"
    );
    assert!(c.services[0].resume);
    assert_eq!(c.services[0].server().resumption, Resumption::default());

    bad_at_line_4(
        "options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION",
        "ALLOW_UNSAFE_LEGACY_RENEGOTIATION: cannot be honoured",
    );
    bad_at_line_4(
        "options = -NO_SSLv3",
        "NO_SSLv3 is tls-tunnel's fixed policy",
    );
    bad_at_line_4("options = CLEANSE_PLAINTEXT", "unsupported");
    bad_at_line_4("options = ALLOW_CLIENT_RENEGOTIATION", "never renegotiates");
    // Every other option of stunnel 5.68's list (`stunnel -options`) has
    // nothing to act on: accepted, set or cleared, with a notice.
    let conf = "options = NETSCAPE_CHALLENGE_BUG\noptions = -MICROSOFT_SESS_ID_BUG\n\
                options = NO_QUERY_MTU\noptions = ENABLE_MIDDLEBOX_COMPAT\n\
                options = NO_ENCRYPT_THEN_MAC\noptions = ENABLE_KTLS\noptions = -ALL\n\
                [a]\naccept = 1\nconnect = 2\n";
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(c.global.notices.len(), 7, "{:?}", c.global.notices);
    assert!(
        c.global.notices[0]
            .contains("NETSCAPE_CHALLENGE_BUG: accepted without effect: a workaround"),
        "{:?}",
        c.global.notices
    );
    // stunnel's default curve list and OpenSSL's bug workarounds: accepted,
    // with what is left out said at start.
    let conf =
        "curves = X25519:P-256:X448:P-521:P-384\noptions = ALL\n[a]\naccept = 1\nconnect = 2\n";
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(
        c.services[0].algorithms.groups,
        [
            NamedGroup::X25519,
            NamedGroup::Secp256r1,
            NamedGroup::Secp384r1
        ]
    );
    assert!(
        c.global.notices[0].contains("X448, P-521 left out"),
        "{:?}",
        c.global.notices
    );
    assert!(
        c.global.notices[1].contains("LEGACY_SERVER_CONNECT"),
        "{:?}",
        c.global.notices
    );
    bad_at_line_4("curves = X448:P-521", "names no curve");
    // OpenSSL 3.5's hybrid names, in any case; the hybrids we lack are left out.
    let conf = "curves = x25519mlkem768:X448MLKEM1024:SecP384r1MLKEM1024:X25519\n\
                [a]\naccept = 1\nconnect = 2\n";
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(
        c.services[0].algorithms.groups,
        [
            NamedGroup::X25519MlKem768,
            NamedGroup::Secp384r1MlKem1024,
            NamedGroup::X25519
        ]
    );
    assert!(
        c.global.notices[0].contains("X448MLKEM1024 left out"),
        "{:?}",
        c.global.notices
    );
}

#[test]
fn openssl_35_group_list_syntax_in_curves() {
    // `*` picks the key shares, `/` separates tuples, `?` skips what we lack.
    let a = algorithms_of("curves = ?X448MLKEM1024:*X25519MLKEM768/X25519:?FFDHE9999").unwrap();
    assert_eq!(a.groups, [NamedGroup::X25519MlKem768, NamedGroup::X25519]);
    assert!(!a.classical_share_with_hybrid);
    // An unknown name without `?` names the file and line.
    bad_at_line_4("curves = *X25519MLKEM768/X25519:FFDHE9999", "?FFDHE9999");
    // stunnel's curves with a name OpenSSL has and we lack: left out, said.
    let conf = "curves = *X25519MLKEM768:*X448/P-256\n[a]\naccept = 1\nconnect = 2\n";
    let c = parse("s.conf", conf).unwrap();
    let a = &c.services[0].algorithms;
    assert_eq!(
        a.groups,
        [NamedGroup::X25519MlKem768, NamedGroup::Secp256r1]
    );
    assert!(!a.classical_share_with_hybrid);
    assert!(
        c.global.notices[0].contains("X448 left out"),
        "{:?}",
        c.global.notices
    );
}

#[test]
fn sni_section_takes_protocol_options_from_its_parent() {
    let conf = "curves = P-256\n[main]\naccept = 443\nconnect = 127.0.0.1:1\n\
                [a]\nsni = main:a.example\nciphers = ECDHE-RSA-AES128-GCM-SHA256\n";
    // As stunnel: accepted without effect (the parent's settings apply),
    // and a start-up line says so; the inherited curves say nothing.
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(
        c.global.notices,
        [
            "s.conf:7: [a]: ciphers has no effect in an sni section: it uses the TLS settings \
          of [main]"
        ]
    );
    assert_eq!(
        c.services[0].algorithms.tls12_suites,
        Algorithms::default().tls12_suites
    );
}

#[test]
fn missing_connect_is_an_error() {
    let e = parse("s.conf", "[a]\naccept = 1\n").unwrap_err();
    assert!(e.to_string().starts_with("s.conf:1: [a]"), "{e}");
}

#[test]
fn byte_order_mark_and_every_error_at_once() {
    let conf = "\u{feff}; comment\ncompression = zlib\n[a]\naccept = 1\nconnect = 2\nbogus = 1\n\
                socket = r:SO_NOSUCH=yes\nverify = 9\nsslVersion = SSLv3\n";
    let e = parse("s.conf", conf).unwrap_err();
    let lines = e.lines();
    assert_eq!(lines.len(), 5, "{e}");
    assert!(lines[0].starts_with("s.conf:2: compression = zlib: TLS compression is never used"));
    assert!(lines[1].starts_with("s.conf:6: unknown option \"bogus\""));
    assert!(lines[2].starts_with("s.conf:7: socket: unknown socket option \"SO_NOSUCH\""));
    assert!(lines[3].starts_with("s.conf:8: verify takes a level from 0 to 4"));
    assert!(lines[4].starts_with("s.conf:9: sslVersion = SSLv3: TLS below 1.2"));
}

#[test]
fn addresses_as_stunnel_reads_them() {
    let conf = "[a]\naccept = 443\nconnect = 80\n\
                [b]\naccept = ::1:8443\nconnect = fe80::1:80\nconnect = db.example:5432\n\
                [c]\naccept = :::9443\nconnect = /run/app.sock\nconnect = [::1]:81\n";
    let c = parse("s.conf", conf).unwrap();
    let s = &c.services;
    assert_eq!(s[0].listen, Addr::Tcp("0.0.0.0:443".into()));
    assert_eq!(s[0].targets, [Addr::Tcp("localhost:80".into())]);
    assert_eq!(s[1].listen, Addr::Tcp("[::1]:8443".into()));
    assert_eq!(
        s[1].targets,
        [
            Addr::Tcp("[fe80::1]:80".into()),
            Addr::Tcp("db.example:5432".into())
        ]
    );
    assert_eq!(s[2].listen, Addr::Tcp("[::]:9443".into()));
    assert_eq!(
        s[2].targets,
        [
            Addr::Unix("/run/app.sock".into()),
            Addr::Tcp("[::1]:81".into())
        ]
    );
    let e = parse("s.conf", "[a]\naccept = 1:2:x\nconnect = 1\n").unwrap_err();
    assert!(e.to_string().starts_with("s.conf:2: bad port"), "{e}");
}

#[test]
fn include_directory_in_name_order() {
    let dir = std::env::temp_dir().join(format!("tls-tunnel-include-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("01-b.conf"), "[b]\naccept = 2\nconnect = 20\n").unwrap();
    std::fs::write(dir.join("00-a"), "[a]\naccept = 1\nconnect = 10\n").unwrap();
    // Every regular file, whatever its name; it continues the section before.
    std::fs::write(dir.join("02-more.txt"), "connect = 21\n").unwrap();
    std::fs::write(dir.join("sub/x.conf"), "not read\n").unwrap();
    let conf = format!(
        "debug = 6\ninclude = {}\n[c]\naccept = 3\nconnect = 30\n",
        dir.display()
    );
    let c = parse("s.conf", &conf).unwrap();
    let names: Vec<_> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    // Recorded for the sandbox, which keeps it readable for reloads.
    assert_eq!(c.global.include_dirs, std::slice::from_ref(&dir));
    assert_eq!(c.services[1].targets.len(), 2);
    assert_eq!(
        c.services[1].origin,
        format!("{}:1", dir.join("01-b.conf").display())
    );

    std::fs::write(dir.join("03-bad"), "\u{feff}oops = 1\n").unwrap();
    let e = parse("s.conf", &conf).unwrap_err();
    assert_eq!(e.location, format!("{}:1", dir.join("03-bad").display()));
    let e = parse(
        "s.conf",
        "include = /nonexistent/dir\n[a]\naccept = 1\nconnect = 1\n",
    )
    .unwrap_err();
    assert!(e
        .to_string()
        .starts_with("s.conf:1: include = /nonexistent/dir: cannot read"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn legacy_verify_levels() {
    let server = |opts: &str| {
        let conf = format!("[a]\naccept = 1\nconnect = 2\nCAfile = /ca.pem\n{opts}\n");
        parse("s.conf", &conf).map(|c| c.services[0].server().access.clone())
    };
    assert!(!server("verify = 0").unwrap().enabled());
    let one = server("verify = 1").unwrap();
    assert!(one.enabled() && one.optional && !one.pinned);
    let two = server("verify = 2").unwrap();
    assert!(two.enabled() && !two.optional && !two.pinned);
    assert!(server("verify = 3").unwrap().pinned);
    assert!(server("verify = 4").unwrap().pinned);
    let optional = server("verifyChain = yes\nrequireCert = no").unwrap();
    assert!(optional.optional);
    // verify sets the flags the others set: the later line wins, as in
    // stunnel.
    let later = server("verify = 2\nverifyChain = no").unwrap();
    assert!(later.require_any && !later.enabled());
    assert!(!server("verifyChain = yes\nverify = 0").unwrap().enabled());
    let chain = server("verify = 0\nverifyChain = yes").unwrap();
    assert!(chain.enabled() && !chain.optional && !chain.pinned);
    let required = server("requireCert = no\nverifyChain = yes").unwrap();
    assert!(required.enabled() && !required.optional);
    let one = server("verify = 1\nrequireCert = yes").unwrap();
    assert!(one.enabled() && !one.optional);
    // stunnel's meaning: a certificate is required, any will do.
    let any = server("requireCert = yes").unwrap();
    assert!(any.require_any && !any.enabled());
    let emails = server("verifyChain = yes\ncheckEmail = a@example.com").unwrap();
    assert_eq!(emails.allow_email, ["a@example.com"]);
    assert!(!emails.allow_all);

    let client = |opts: &str| {
        let conf = format!(
            "[a]\nclient = yes\naccept = 1\nconnect = 2\nCApath = /etc/ssl/certs\n{opts}\n"
        );
        parse("s.conf", &conf).map(|c| c.services[0].client().verify.clone())
    };
    assert_eq!(client("verify = 0").unwrap(), ServerVerify::Insecure);
    assert_eq!(
        client("verify = 2").unwrap(),
        ServerVerify::Chain(Some("/etc/ssl/certs".into()))
    );
    assert_eq!(
        client("verify = 4").unwrap(),
        ServerVerify::Pinned("/etc/ssl/certs".into())
    );
}

#[test]
fn network_options() {
    use crate::config::{Failover, SockOpt};
    let conf = "socket = l:SO_KEEPALIVE=yes\n[a]\naccept = 1\nconnect = 2\nconnect = 3\n\
                failover = rr\nlocal = 127.0.0.2\nsocket = a:SO_REUSEADDR=no\n\
                socket = r:TCP_NODELAY=no\ndelay = yes\nretry = no\n";
    let c = parse("s.conf", conf).unwrap();
    let net = &c.services[0].net;
    assert_eq!(net.failover, Failover::RoundRobin);
    assert_eq!(net.source, Some("127.0.0.2".parse().unwrap()));
    assert_eq!(net.accept, [SockOpt::ReuseAddr(false)]);
    assert_eq!(net.local, [SockOpt::KeepAlive(true)]);
    assert_eq!(net.remote, [SockOpt::NoDelay(false)]);
    let e = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\nlocal = example.com\nfailover = x\n",
    )
    .unwrap_err();
    assert_eq!(e.lines().len(), 2, "{e}");
}

/// Every option of stunnel 5.68's manual, with a value stunnel takes.
const MANUAL: [&str; 95] = [
    "chroot = /var/lib/stunnel4",
    "compression = zlib",
    "debug = daemon.notice",
    "EGD = /x",
    "engine = auto",
    "engineCtrl = X",
    "engineDefault = ALL",
    "fips = no",
    "foreground = yes",
    "iconActive = x.ico",
    "iconError = x.ico",
    "iconIdle = x.ico",
    "log = append",
    "output = /tmp/x.log",
    "pid = /tmp/x.pid",
    "RNDbytes = 64",
    "RNDfile = /dev/urandom",
    "RNDoverwrite = yes",
    "service = stunnel",
    "syslog = no",
    "taskbar = no",
    "setuid = nobody",
    "setgid = nogroup",
    "[s]",
    "accept = 1",
    "connect = 2",
    "CAengine = x",
    "CApath = /etc/ssl/certs",
    "CAfile = /ca.pem",
    "cert = /c.pem",
    "checkEmail = a@b.example",
    "checkHost = a.example",
    "checkIP = 127.0.0.1",
    "ciphers = ECDHE-RSA-AES128-GCM-SHA256",
    "ciphersuites = TLS_AES_128_GCM_SHA256",
    "client = no",
    "config = Curves:P-256",
    "CRLpath = /crl",
    "CRLfile = /crl.pem",
    "curves = P-256",
    "logId = sequential",
    "debug = 5",
    "delay = no",
    "engineId = pkcs11",
    "engineNum = 1",
    "exec = /bin/cat",
    "execArgs = cat",
    "failover = prio",
    "ident = root",
    "key = /k.pem",
    "libwrap = no",
    "local = 127.0.0.1",
    "OCSP = http://ocsp.example",
    "OCSPaia = no",
    "OCSPflag = NOCERTS",
    "OCSPnonce = no",
    "OCSPrequire = no",
    "TIMEOUTocsp = 5",
    "options = NO_SSLv3",
    "protocol = smtp",
    "protocolAuthentication = plain",
    "protocolDomain = x",
    "protocolHeader = x",
    "protocolHost = x:1",
    "protocolPassword = x",
    "protocolUsername = x",
    "PSKidentity = x",
    "PSKsecrets = /psk",
    "pty = no",
    "redirect = 3",
    "renegotiation = no",
    "reset = yes",
    "retry = no",
    "securityLevel = 2",
    "requireCert = no",
    "sessionCacheSize = 10",
    "sessionCacheTimeout = 10",
    "sessionResume = yes",
    "sessiond = 127.0.0.1:4",
    "sni = a.example",
    "socket = a:SO_REUSEADDR=yes",
    "sslVersion = TLSv1.3",
    "sslVersionMax = TLSv1.3",
    "sslVersionMin = TLSv1.2",
    "stack = 65536",
    "ticketKeySecret = 00",
    "ticketMacSecret = 00",
    "TIMEOUTbusy = 5",
    "TIMEOUTclose = 0",
    "TIMEOUTconnect = 5",
    "TIMEOUTidle = 5",
    "transparent = none",
    "verify = 2",
    "verifyChain = no",
    "verifyPeer = no",
];

#[test]
fn every_manual_option_is_classified() {
    let text = MANUAL.join("\n");
    let e = parse("s.conf", &text).unwrap_err();
    // Refused ones say why; none is unknown.
    for line in e.lines() {
        assert!(!line.contains("unknown option"), "{line}");
        assert!(!line.contains("global option"), "{line}");
    }
}

#[test]
fn ticket_secrets() {
    let conf = |extra: &str| {
        format!(
            "[a]\naccept = 1\nconnect = 2\n{extra}\n[b]\naccept = 3\nconnect = 4\n\
             ticketKeySecret = 000102030405060708090a0b0c0d0e0f\n\
             ticketMacSecret = 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f\n"
        )
    };
    let c = parse("s.conf", &conf("")).unwrap();
    assert!(c.services[0].server().resumption.ticket_secret.is_none());
    let b = c.services[1].server().resumption.ticket_secret.unwrap();
    // Colons or not, the same secrets give the same key.
    let same = conf(
        "ticketKeySecret = 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f\n\
         ticketMacSecret = 000102030405060708090a0b0c0d0e0f",
    );
    let c = parse("s.conf", &same).unwrap();
    assert_eq!(c.services[0].server().resumption.ticket_secret, Some(b));
    assert_eq!(format!("{b:?}"), "TicketSecret(..)");

    let e = parse("s.conf", &conf("ticketKeySecret = 0011")).unwrap_err();
    assert!(e.message.contains("32 or 64 hexadecimal digits"), "{e}");
    let e = parse(
        "s.conf",
        &conf("ticketKeySecret = 000102030405060708090a0b0c0d0e0f"),
    )
    .unwrap_err();
    assert!(e.message.contains("go together"), "{e}");
    let client = "[c]\nclient = yes\naccept = 1\nconnect = 2\n\
                  ticketKeySecret = 000102030405060708090a0b0c0d0e0f\n";
    let e = parse("s.conf", client).unwrap_err();
    assert!(e.message.contains("server mode only"), "{e}");
}

#[test]
fn parse_text_reads_no_directory() {
    let e = parse_text("s.conf", "include = /etc\n[a]\naccept = 1\nconnect = 2\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "s.conf:1: include is not read here (no file system access)"
    );
}

#[test]
fn unix_socket_owner_in_a_section() {
    let conf = "setuid = root\n[u]\naccept = /run/x.sock\nconnect = 2\nsetuid = nobody\n\
                setgid = nogroup\n[t]\naccept = 1\nconnect = 2\nsetgid = nogroup\n";
    // On a TCP accept (section [t]) they have nothing to act on, as in stunnel.
    let c = parse("s.conf", conf).unwrap();
    assert!(c.services[1].net.unix_owner.is_none());
    assert!(
        c.global.notices[0].starts_with("[t]: setuid/setgid in a section"),
        "{:?}",
        c.global.notices
    );
    assert_eq!(c.global.setuid.as_deref(), Some("root"));
    let owner = c.services[0].net.unix_owner.clone().unwrap();
    assert_eq!(
        (owner.user.as_deref(), owner.group.as_deref()),
        (Some("nobody"), Some("nogroup"))
    );
}

#[test]
fn debug_facility_and_level() {
    let global = |debug: &str| {
        let conf = format!("debug = {debug}\n[a]\naccept = 1\nconnect = 2\n");
        parse("s.conf", &conf).map(|c| c.global)
    };
    let g = global("LOCAL3.Info").unwrap();
    assert_eq!((g.syslog_facility, g.log_level), (19, tracing::Level::INFO));
    let g = global("warning").unwrap();
    assert_eq!((g.syslog_facility, g.log_level), (3, tracing::Level::WARN));
    let g = global("7").unwrap();
    assert_eq!(g.log_level, tracing::Level::DEBUG);
    let e = global("local9.info").unwrap_err();
    assert!(e.message.contains("unknown syslog facility"), "{e}");
    let e = global("daemon.loud").unwrap_err();
    assert!(e.message.contains("0-7 or a syslog level name"), "{e}");
}

#[test]
fn a_second_section_of_one_name_runs_renamed() {
    let conf = "[a]\naccept = 1\nconnect = 2\n[a]\naccept = 3\nconnect = 4\n[a]\naccept = 5\nconnect = 6\n";
    let c = parse("s.conf", conf).unwrap();
    let names: Vec<_> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "a#2", "a#3"]);
    assert_eq!(
        c.global.notices[0],
        "s.conf:4: a second section [a] runs as [a#2] in logs and metrics"
    );
}

#[test]
fn psk_options() {
    let conf = "[s]\naccept = 1\nconnect = 127.0.0.1:1\nPSKsecrets = /psk.txt\nPSKidentity = ignored\n\
                [c]\nclient = yes\naccept = 2\nconnect = 127.0.0.1:1\nPSKsecrets = /psk.txt\nPSKidentity = bob\n";
    let c = parse("s.conf", conf).unwrap();
    let psk = |i: usize| c.services[i].psk.clone().unwrap();
    assert_eq!(psk(0).secrets, std::path::PathBuf::from("/psk.txt"));
    // As stunnel: PSKidentity only matters to a client.
    assert_eq!(psk(0).identity, None);
    assert_eq!(psk(1).identity.as_deref(), Some("bob"));

    let e = parse("s.conf", "[a]\naccept = 1\nconnect = 2\nPSKidentity = x\n").unwrap_err();
    assert_eq!(e.location, "s.conf:4");
    assert!(e.message.contains("PSKidentity needs PSKsecrets"), "{e}");
    // The keys are TLS 1.3 PSKs used with SHA-256.
    let e = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\nPSKsecrets = /p\nsslVersion = TLSv1.2\n",
    )
    .unwrap_err();
    assert!(e.message.contains("TLS 1.3 only"), "{e}");
    let e = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\nPSKsecrets = /p\nciphersuites = TLS_AES_256_GCM_SHA384\n",
    )
    .unwrap_err();
    assert!(e.message.contains("SHA-256"), "{e}");
}

#[test]
fn a_file_without_sections_is_inetd_mode() {
    let c = parse("i.conf", "cert = /c.pem\nkey = /k.pem\nconnect = 143\n").unwrap();
    assert_eq!(c.services.len(), 1);
    let s = &c.services[0];
    assert_eq!(s.listen, Addr::Stdio);
    assert_eq!(s.name, "stunnel");
    assert_eq!(s.role.mode(), Mode::Server);
    let c = parse(
        "i.conf",
        "service = imapd\nexec = /usr/sbin/imapd\nexecArgs = imapd\n",
    )
    .unwrap();
    assert_eq!(c.services[0].name, "imapd");
    assert_eq!(c.services[0].listen, Addr::Stdio);
    assert!(c.services[0].exec.is_some());
    // A section still needs its accept, as in stunnel.
    let e = parse("i.conf", "[a]\nexec = /bin/cat\n").unwrap_err();
    assert!(e.message.contains("no accept address"), "{e}");
    // Globals alone, without connect or exec, are no service.
    let e = parse("i.conf", "foreground = yes\n").unwrap_err();
    assert!(e.message.contains("no [service] section"), "{e}");
}

#[test]
fn redirect_as_stunnel_reads_it() {
    let c = parse(
        "r.conf",
        "[r]\naccept = 1\nconnect = 2\nredirect = 3\nverifyChain = yes\nCAfile = /ca.pem\n",
    )
    .unwrap();
    assert_eq!(
        c.services[0].server().access.redirect,
        vec![Addr::Tcp("localhost:3".into())]
    );
    // Nothing to fail without verification: refused on its line, as stunnel does.
    let e = parse("r.conf", "[r]\naccept = 1\nconnect = 2\nredirect = 3\n").unwrap_err();
    assert_eq!(e.location, "r.conf:4");
    assert!(e.message.contains("verifyChain or verifyPeer"), "{e}");
    // Client mode: no effect, said at start.
    let c = parse(
        "r.conf",
        "[r]\nclient = yes\naccept = 1\nconnect = h:2\nredirect = 3\nverifyChain = no\n",
    )
    .unwrap();
    assert_eq!(c.services[0].role.mode(), Mode::Client);
    assert!(
        c.global
            .notices
            .iter()
            .any(|n| n.contains("r.conf:5") && n.contains("server mode only")),
        "{:?}",
        c.global.notices
    );
}

#[test]
fn ocsp_options() {
    let conf = "OCSPaia = yes\n[a]\nclient = yes\naccept = 1\nconnect = 2\nCAfile = /ca.pem\n\
                verifyChain = yes\nOCSP = http://127.0.0.1:8080/ocsp\nOCSPnonce = yes\n\
                OCSPrequire = no\nTIMEOUTocsp = 2\nOCSPflag = NOCASIGN\n[b]\naccept = 3\nconnect = 4\n";
    let c = parse("s.conf", conf).unwrap();
    let o = &c.services[0].trust.ocsp;
    assert_eq!(o.url.as_deref(), Some("http://127.0.0.1:8080/ocsp"));
    assert!(o.aia && o.nonce && !o.require);
    assert!(c
        .global
        .notices
        .iter()
        .any(|n| n.contains("OCSPflag = NOCASIGN")));
    assert_eq!(o.timeout, Duration::from_secs(2));
    // The global OCSPaia reaches the other section with stunnel's defaults.
    let o = &c.services[1].trust.ocsp;
    assert!(o.aia && o.url.is_none() && o.require && !o.nonce);

    let e = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\nOCSP = https://ocsp.example/\nOCSPflag = NOTIME\n",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("s.conf:4: OCSP responder \"https://ocsp.example/\": only http://"),
        "{text}"
    );
    assert!(
        text.contains("s.conf:5: OCSPflag = NOTIME: refused"),
        "{text}"
    );
}

#[test]
fn exec_connect_sections_and_retry() {
    let conf = "[ppp]\nclient = yes\nexec = /usr/sbin/pppd\nexecArgs = pppd local\n\
                connect = vpn.example.com:443\nretry = yes\n\
                [web]\naccept = 1\nconnect = 2\nretry = yes\n";
    let c = parse("s.conf", conf).unwrap();
    let ppp = &c.services[0];
    assert_eq!(ppp.listen, Addr::Exec);
    assert_eq!(ppp.role.mode(), Mode::Client);
    assert_eq!(ppp.targets, [Addr::Tcp("vpn.example.com:443".into())]);
    assert!(ppp.net.retry);
    // In a section with accept, as in stunnel, retry does nothing.
    assert!(!c.services[1].net.retry);
    assert!(
        c.global
            .notices
            .iter()
            .any(|n| n.contains("[web]: retry = yes has no effect")),
        "{:?}",
        c.global.notices
    );
    // Without connect, a section without accept is still refused.
    let e = parse("s.conf", "[a]\nexec = /bin/cat\n").unwrap_err();
    assert!(e.message.contains("no accept address"), "{e}");
}

#[test]
fn reset_defaults_to_yes_as_in_stunnel() {
    let c = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\n[b]\naccept = 3\nconnect = 4\nreset = no\n",
    )
    .unwrap();
    assert!(c.services[0].net.reset);
    assert!(!c.services[1].net.reset);
}

#[test]
fn transparent_values() {
    let t = |v: &str| {
        parse(
            "s.conf",
            &format!("[a]\naccept = 1\nconnect = 2\ntransparent = {v}\n"),
        )
        .map(|c| c.services[0].net.transparent)
    };
    assert_eq!(
        t("none").map(|x| (x.source, x.destination)),
        Ok((false, false))
    );
    assert_eq!(
        t("no").map(|x| (x.source, x.destination)),
        Ok((false, false))
    );
    assert_eq!(
        t("source").map(|x| (x.source, x.destination)),
        Ok((true, false))
    );
    assert_eq!(
        t("yes").map(|x| (x.source, x.destination)),
        Ok((true, false))
    );
    assert_eq!(
        t("Destination").map(|x| (x.source, x.destination)),
        Ok((false, true))
    );
    assert_eq!(
        t("both").map(|x| (x.source, x.destination)),
        Ok((true, true))
    );
    let e = t("sideways").unwrap_err();
    assert!(
        e.message
            .contains("transparent must be none, source, destination or both"),
        "{e}"
    );
    // With destination the target comes from each connection: no connect needed.
    let c = parse(
        "s.conf",
        "[a]\naccept = 1\ntransparent = destination\ncert = /c\n",
    )
    .unwrap();
    assert!(c.services[0].targets.is_empty());
}

#[test]
fn psk_only_ciphers_turn_tls12_off() {
    let conf = "[a]\naccept = 1\nconnect = 2\ncert = /c.pem\nPSKsecrets = /p.txt\n\
                ciphers = PSK\n";
    let c = parse("s.conf", conf).unwrap();
    let versions = &c.services[0].algorithms.versions;
    assert_eq!(versions, &[ProtocolVersion::Tls13]);
    assert!(
        c.global
            .notices
            .iter()
            .any(|n| n.starts_with("s.conf:6: ciphers = PSK: tls-tunnel has no TLS 1.2 PSK")),
        "{:?}",
        c.global.notices
    );
    for list in [
        "ECDHEPSK:!aNULL",
        "PSK-AES128-CBC-SHA:PSK-AES256-CBC-SHA",
        "kPSK:@STRENGTH",
    ] {
        let conf = format!("[a]\naccept = 1\nconnect = 2\nciphers = {list}\n");
        let c = parse("s.conf", &conf).unwrap();
        assert_eq!(c.services[0].algorithms.versions, [ProtocolVersion::Tls13]);
    }
    // Only TLS 1.2 asked for, and no suite for it.
    let e = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\nsslVersion = TLSv1.2\nciphers = PSK\n",
    )
    .unwrap_err();
    assert_eq!(e.location, "s.conf:5");
    assert!(e.message.contains("leave no protocol version"), "{e}");
    // A list naming a suite we lack beside PSK ones is still refused.
    let e = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\nciphers = PSK:AES128-SHA\n",
    )
    .unwrap_err();
    assert!(e.message.contains("AES128-SHA"), "{e}");
}

#[test]
fn errors_come_in_file_order() {
    // A malformed line is found while reading, a bad value while applying,
    // a section's own problem while building: reported by line all the same.
    let e = parse(
        "s.conf",
        "[a]\naccept = 1\nconnect = 2\ndebug = loud\n[b\nfoo\n[c]\naccept = 3\nconnect = 4\n\
         key = /k.pem\n",
    )
    .unwrap_err();
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        lines,
        ["s.conf:4:", "s.conf:5:", "s.conf:6:", "s.conf:7:"],
        "{e}"
    );
}

#[test]
fn every_accept_line_listens() {
    let conf = "[a]\naccept = 127.0.0.1:1\naccept = [::1]:2\nconnect = 3\ncert = /c.pem\n\
                [b]\nsni = a:b.example\nconnect = 4\n[a]\naccept = 5\nconnect = 6\n";
    let c = parse("s.conf", conf).unwrap();
    let listens: Vec<(&str, String)> = c
        .services
        .iter()
        .map(|s| (s.name.as_str(), format!("{:?}", s.listen)))
        .collect();
    assert_eq!(listens.len(), 3, "{listens:?}");
    assert_eq!(listens[0].0, "a");
    assert!(listens[0].1.contains("127.0.0.1:1"), "{listens:?}");
    assert_eq!(listens[1].0, "a#2");
    assert_eq!(listens[2].0, "a#3");
    assert!(listens[2].1.contains("[::1]:2"), "{listens:?}");
    // The copy keeps the SNI routes attached to the section.
    assert_eq!(c.services[2].server().sni_routes.len(), 1);
    assert!(
        c.global
            .notices
            .iter()
            .any(|n| n.starts_with("s.conf:3: a further accept of [a] runs as [a#3]")),
        "{:?}",
        c.global.notices
    );
}

#[test]
fn ports_may_be_service_names() {
    assert!(
        std::path::Path::new("/etc/services").exists(),
        "/etc/services is missing: install the netbase package"
    );
    let conf = "[a]\nclient = yes\nverifyChain = no\naccept = 127.0.0.1:imap2\n\
                connect = imap.example.com:imaps\n[b]\naccept = https\nconnect = smtps\n";
    let c = parse("s.conf", conf).unwrap();
    assert_eq!(c.services[0].listen, Addr::Tcp("127.0.0.1:143".into()));
    assert_eq!(c.services[1].listen, Addr::Tcp("0.0.0.0:443".into()));
    let e = parse("s.conf", "[a]\naccept = 1\nconnect = host:nosuchservice\n").unwrap_err();
    assert_eq!(e.location, "s.conf:3");
    assert!(e.message.contains("not a number nor a TCP service"), "{e}");
}

#[test]
fn inert_options_stunnel_takes_are_notices() {
    // protocolUsername with a prelude that has no use for it, engine = auto,
    // sessionCacheTimeout = 0: stunnel 5.68 runs all three.
    let conf = "engine = auto\n[imap]\nclient = yes\naccept = 1\nconnect = 127.0.0.1:143\n\
                protocol = imap\nprotocolUsername = u\nprotocolPassword = p\n\
                [web]\naccept = 2\nconnect = 3\nsessionCacheTimeout = 0\n";
    let c = parse("s.conf", conf).unwrap();
    let notices = c.global.notices.join("\n");
    assert!(notices.contains("engine = auto"), "{notices}");
    assert!(
        notices.contains(
            "[imap]: protocolUsername/protocolPassword/protocolAuthentication have no effect"
        ),
        "{notices}"
    );
    assert!(notices.contains("sessionCacheTimeout = 0"), "{notices}");
    let web = c.services.iter().find(|s| s.name == "web").unwrap();
    let Role::Server(server) = &web.role else {
        panic!("web is a server section")
    };
    assert_eq!(server.resumption.timeout, Duration::from_secs(1));
    assert!(parse("s.conf", "engine = pkcs11\n[a]\naccept = 1\nconnect = 2\n").is_err());
}

#[test]
fn smtp_auth_keys_in_client_mode_are_kept_and_inert_in_server_mode() {
    let section = "[mail]\naccept = 1\nconnect = 127.0.0.1:25\nprotocol = smtp\n\
                   protocolUsername = alice\nprotocolPassword = s3cret\n\
                   protocolAuthentication = login\n";
    let c = parse("s.conf", &format!("{section}client = yes\n")).unwrap();
    let creds = c.services[0].protocol.clone().unwrap().credentials.unwrap();
    assert_eq!(creds.username, "alice");
    assert_eq!(creds.mechanism, crate::protocol::Mechanism::Login);
    // stunnel 5.68 runs a server section with them and does not use them.
    let c = parse("s.conf", &format!("{section}cert = /c.pem\n")).unwrap();
    assert!(c.services[0]
        .protocol
        .clone()
        .unwrap()
        .credentials
        .is_none());
    let notices = c.global.notices.join("\n");
    assert!(notices.contains("[mail]: protocolUsername"), "{notices}");
    let e = parse(
        "s.conf",
        &format!("{section}client = yes\n").replace("= login", "= cram-md5"),
    )
    .unwrap_err();
    assert!(e.message.contains("expected plain or login"), "{e}");
    // Protocol errors point at the section's protocol line.
    assert_eq!(e.location, "s.conf:4");
}
