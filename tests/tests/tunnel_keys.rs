//! A private key that does not belong to its certificate, end to end:
//! tls-tunnel refuses it at start, with `--check` and on SIGHUP (keeping the
//! old configuration), with one line naming both files, as stunnel4 refuses
//! to start with the same pair.

use std::io::Write;
use std::path::Path;

use tls_tests::peer::{free_port, require, Peer, PEER_TIMEOUT};
use tls_tests::pki::{pki, KeyType};
use tls_tests::tunnel::{
    cert_for, read_n, run_tunnel, temp_dir, tls_client, Backend, BackendKind, Tunnel,
};

fn arg(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// The line tls-tunnel prints for this certificate and key.
fn mismatch_line(cert: &Path, key: &Path) -> String {
    format!(
        "key file {} does not hold the private key of the first certificate of {}",
        key.display(),
        cert.display()
    )
}

/// Runs `args`: exit 2 and exactly one line on stderr containing `want`.
fn assert_refused(args: &[String], want: &str) {
    let (code, _, stderr) = run_tunnel(args);
    assert_eq!(code, Some(2), "exit code for {args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}:\n{stderr}");
    assert!(stderr.contains(want), "{want:?} in {stderr:?}");
}

#[test]
fn tunnel_refuses_a_key_that_does_not_match_its_certificate() {
    let pki = pki();
    let rsa = pki.leaf(KeyType::Rsa2048);
    let ec = pki.leaf(KeyType::EcdsaP256);
    let ed = pki.leaf(KeyType::Ed25519);
    let dir = temp_dir("keymismatch");
    // Another P-256 key: the same type as the certificate's, not its key.
    let other = cert_for(&dir, "other", &["localhost"]);
    let pairs = [
        (&rsa.cert_pem, &ec.key_pem),
        (&ec.cert_pem, &other.key),
        (&ed.cert_pem, &ec.key_pem),
        (&ec.chain_pem, &rsa.key_pem),
    ];
    for (cert, key) in pairs {
        let want = mismatch_line(cert, key);
        let port = free_port().to_string();
        let cli: Vec<String> = [
            "server",
            "--listen",
            &port,
            "--target",
            "127.0.0.1:1",
            "--cert",
        ]
        .into_iter()
        .map(String::from)
        .chain([arg(cert), "--key".into(), arg(key)])
        .collect();
        assert_refused(&cli, &want);
        let mut check = cli.clone();
        check.push("--check".into());
        assert_refused(&check, &want);

        // The same pair in a stunnel.conf.
        let conf = dir.join("mismatch.conf");
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\n[svc]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:1\n\
                 cert = {}\nkey = {}\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        for extra in [None, Some("--check")] {
            let mut args = vec!["--config".to_string(), arg(&conf)];
            args.extend(extra.map(String::from));
            assert_refused(&args, &want);
        }
    }

    // The matched pairs start (checked with --check, which loads them).
    for leaf in [rsa, ec, ed] {
        let (code, _, stderr) = run_tunnel([
            "server",
            "--listen",
            &free_port().to_string(),
            "--target",
            "127.0.0.1:1",
            "--cert",
            &arg(&leaf.chain_pem),
            "--key",
            &arg(&leaf.key_pem),
            "--check",
        ]);
        assert_eq!(code, Some(0), "{:?}: {stderr}", leaf.key_type);
    }
}

/// stunnel4, the oracle, refuses the RSA certificate with the EC key too.
#[test]
fn stunnel4_refuses_the_same_mismatched_pair() {
    let stunnel = require("stunnel4", "stunnel4");
    let pki = pki();
    let dir = temp_dir("keymismatch-stunnel4");
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\n[svc]\naccept = 127.0.0.1:{}\nconnect = 127.0.0.1:1\n\
             cert = {}\nkey = {}\n",
            free_port(),
            pki.leaf(KeyType::Rsa2048).cert_pem.display(),
            pki.leaf(KeyType::EcdsaP256).key_pem.display()
        ),
    )
    .unwrap();
    let mut peer = Peer::spawn(&stunnel, [&conf]);
    peer.close_stdin();
    let status = peer
        .wait(PEER_TIMEOUT)
        .unwrap_or_else(|| panic!("stunnel4 kept running\n{}", peer.diagnostics()));
    assert!(!status.success(), "{}", peer.diagnostics());
    assert!(
        peer.stderr()
            .contains("Private key does not match the certificate"),
        "{}",
        peer.diagnostics()
    );
}

/// A botched key rotation: SIGHUP with a key that does not match the new
/// certificate is refused, and the old pair keeps serving.
#[test]
fn tunnel_sighup_with_a_mismatched_key_keeps_the_old_configuration() {
    let dir = temp_dir("keymismatch-reload");
    let first = cert_for(&dir, "localhost", &["localhost"]);
    let second = cert_for(&dir, "second", &["localhost"]);
    let (live_cert, live_key) = (dir.join("live.crt"), dir.join("live.key"));
    std::fs::copy(&first.cert, &live_cert).unwrap();
    std::fs::copy(&first.key, &live_key).unwrap();
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let port = free_port();
    let tunnel = Tunnel::start(
        [
            "server",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--target",
            &backend.addr(),
            "--cert",
            &arg(&live_cert),
            "--key",
            &arg(&live_key),
        ],
        &[port],
    );
    let mut before = tls_client(port, "localhost", &first.der);
    before.write_all(b"one").unwrap();
    assert_eq!(read_n(&mut before, 3), b"one");

    // The new certificate is in place, its key is not: the old key stays.
    std::fs::copy(&second.cert, &live_cert).unwrap();
    tunnel.signal("HUP");
    tunnel.expect_log("reload failed, keeping the old configuration");
    tunnel.expect_log(&mismatch_line(&live_cert, &live_key));
    assert!(
        !tunnel.log().contains("reloaded"),
        "a mismatched pair was loaded:\n{}",
        tunnel.log()
    );

    // New connections still get the old certificate, and its handshakes work.
    let mut after = tls_client(port, "localhost", &first.der);
    after.write_all(b"two").unwrap();
    assert_eq!(read_n(&mut after, 3), b"two");
    before.write_all(b"old").unwrap();
    assert_eq!(read_n(&mut before, 3), b"old");

    // Completing the rotation is accepted.
    std::fs::copy(&second.key, &live_key).unwrap();
    tunnel.signal("HUP");
    tunnel.expect_log("reloaded 1 service(s)");
    let mut fresh = tls_client(port, "localhost", &second.der);
    fresh.write_all(b"new").unwrap();
    assert_eq!(read_n(&mut fresh, 3), b"new");
}
