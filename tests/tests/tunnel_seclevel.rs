//! stunnel's `securityLevel` 3 and 4 (OpenSSL's 128 and 192 bits of
//! security): our own certificate below the level stops the start with one
//! line; a peer chain below it is refused with a bad_certificate alert, in
//! server mode (client certificates, seen by `openssl s_client`) and in
//! client mode (the server's, from `openssl s_server`). stunnel itself
//! agrees on the same files: tests/data/stunnel/seclevel*.conf.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use tls_tests::openssl_peer::{s_client_run, Log, SServerBuilder};
use tls_tests::peer::{connect_local, free_port};
use tls_tests::stunnel::{write_level_certs, Greeter};
use tls_tests::tunnel::{cert_for, temp_dir, tunnel_bin, Tunnel};

fn check(conf: &Path) -> (bool, String) {
    let out = Command::new(tunnel_bin())
        .args(["--check", "--config"])
        .arg(conf)
        .output()
        .expect("run tls-tunnel --check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn our_certificate_below_the_level_stops_the_start() {
    let dir = temp_dir("seclevel-own");
    write_level_certs(&dir);
    let p256 = cert_for(&dir, "localhost", &["localhost"]);
    let conf = dir.join("s.conf");
    let write = |cert: &Path, level: u8| {
        std::fs::write(
            &conf,
            format!(
                "[svc]\naccept = 127.0.0.1:1\nconnect = 127.0.0.1:2\ncert = {}\n\
                 securityLevel = {level}\n",
                cert.display()
            ),
        )
        .unwrap();
    };
    write(&dir.join("rsa2048.pem"), 3);
    let (ok, err) = check(&conf);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("[svc]") && err.contains("securityLevel = 3") && err.contains("112 bits"),
        "{err}"
    );
    write(&dir.join("rsa3072.pem"), 3);
    assert!(check(&conf).0);
    // P-256 is 128 bits: enough for 3, not for 4.
    std::fs::write(
        &conf,
        format!(
            "[svc]\naccept = 127.0.0.1:1\nconnect = 127.0.0.1:2\ncert = {}\nkey = {}\n\
             securityLevel = 4\n",
            p256.cert.display(),
            p256.key.display()
        ),
    )
    .unwrap();
    let (ok, err) = check(&conf);
    assert!(
        !ok && err.contains("128 bits of security, below 192"),
        "{err}"
    );
    write(&dir.join("p384.pem"), 4);
    assert!(check(&conf).0);
    // Level 5 needs 256-bit key exchange, which we do not have: refused on its line.
    write(&dir.join("p384.pem"), 5);
    let (ok, err) = check(&conf);
    assert!(
        !ok && err.contains("s.conf:5") && err.contains("P-521"),
        "{err}"
    );
}

#[test]
fn server_mode_refuses_a_weak_client_certificate_with_bad_certificate() {
    let dir = temp_dir("seclevel-server");
    write_level_certs(&dir);
    let backend = Greeter::start("b1");
    // Both client certificates are trusted; only one is strong enough.
    let cas = dir.join("clients.pem");
    std::fs::write(
        &cas,
        format!(
            "{}{}",
            std::fs::read_to_string(dir.join("rsa2048.crt")).unwrap(),
            std::fs::read_to_string(dir.join("rsa3072.crt")).unwrap()
        ),
    )
    .unwrap();
    let port = free_port();
    let conf = dir.join("s.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[svc]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{}\ncert = {}\n\
             verifyChain = yes\nCAfile = {}\nsecurityLevel = 3\n",
            backend.port,
            dir.join("p384.pem").display(),
            cas.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    let client = |name: &str| {
        let (crt, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        let run = s_client_run(
            port,
            &[
                "-cert",
                crt.to_str().unwrap(),
                "-key",
                key.to_str().unwrap(),
                "-ign_eof",
            ],
        );
        (run.stdout, run.stderr)
    };
    let (out, _) = client("rsa3072");
    assert!(out.contains("backend-b1"), "{out}\n{}", tunnel.log());
    let (out, err) = client("rsa2048");
    assert!(!out.contains("backend-b1"), "{out}");
    assert!(
        err.contains("alert bad certificate") || err.contains("alert number 42"),
        "{err}\n{}",
        tunnel.log()
    );
}

#[test]
fn client_mode_refuses_a_weak_server_certificate() {
    let dir = temp_dir("seclevel-client");
    write_level_certs(&dir);
    let s_server = |name: &str| {
        let server = SServerBuilder::with_cert(
            &dir.join(format!("{name}.crt")),
            &dir.join(format!("{name}.key")),
        )
        .naccept(0)
        .log(Log::Off)
        .args(&["-rev"])
        .start();
        (server.peer, server.port)
    };

    for (name, passes) in [("rsa3072", true), ("rsa2048", false)] {
        let (_server, sport) = s_server(name);
        let port = free_port();
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\n[svc]\nclient = yes\naccept = 127.0.0.1:{port}\n\
                 connect = 127.0.0.1:{sport}\nverifyChain = yes\nCAfile = {}\n\
                 checkHost = server.test\nsecurityLevel = 3\n",
                dir.join(format!("{name}.crt")).display()
            ),
        )
        .unwrap();
        let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
        let mut sock = connect_local(port).unwrap();
        sock.write_all(b"level\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while !got.ends_with(b"\n") {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        if passes {
            assert_eq!(got, b"level\n", "{}", tunnel.log());
        } else {
            assert!(got.is_empty(), "{got:?}");
            tunnel.expect_log("bad certificate");
        }
    }
}
