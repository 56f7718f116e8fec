//! Checks of the test harness itself: payloads, the missing-peer message,
//! port waits, and that the generated PKI is valid in OpenSSL's eyes (so an
//! interop failure points at the engine, not at the test certificates).

use std::time::{Duration, Instant};

use tls_tests::data::is_digits_and_newlines;
use tls_tests::openssl_peer;
use tls_tests::peer::run_tool;
use tls_tests::{free_port, payload, pki, require, wait_for_port, KeyType, Peer, MIB};

#[test]
fn payloads_are_deterministic_digits_and_distinct() {
    let a = payload(1, MIB);
    assert_eq!(a.len(), MIB);
    assert!(is_digits_and_newlines(&a));
    assert_eq!(a, payload(1, MIB));
    assert_ne!(a, payload(2, MIB));
    assert_eq!(payload(1, 100), a[..100]);
    assert_eq!(a[7], b'\n', "lines of seven digits");
}

#[test]
fn a_missing_peer_fails_naming_its_package() {
    let err = std::panic::catch_unwind(|| require("no-such-tool-for-tls-tests", "some-package"))
        .expect_err("require must panic");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(
        msg,
        "`no-such-tool-for-tls-tests` not found: apt-get install some-package"
    );
}

#[test]
fn wait_for_port_is_bounded_and_sees_listeners() {
    let port = free_port();
    let start = Instant::now();
    assert!(!wait_for_port(port, Duration::from_millis(100)));
    assert!(start.elapsed() < Duration::from_secs(5));
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
    assert!(wait_for_port(port, Duration::from_secs(5)));
    drop(listener);
}

#[test]
fn peer_guard_kills_on_drop_and_bounds_waits() {
    let sleep = require("sleep", "coreutils");
    let mut peer = Peer::spawn(&sleep, ["60"]);
    let pid = peer.id();
    assert_eq!(peer.wait(Duration::from_millis(50)), None, "still running");
    drop(peer);
    let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |s| s.contains(") Z "));
    assert!(gone, "the child was killed and reaped");
}

#[test]
fn generated_certificates_verify_with_openssl() {
    let openssl = openssl_peer::openssl();
    let p = pki();
    for key_type in KeyType::ALL {
        let leaf = p.leaf(key_type);
        let out = run_tool(
            &openssl,
            [
                "verify".as_ref(),
                "-CAfile".as_ref(),
                p.ca_pem.as_os_str(),
                "-purpose".as_ref(),
                "sslserver".as_ref(),
                "-verify_hostname".as_ref(),
                "localhost".as_ref(),
                "-verify_ip".as_ref(),
                "127.0.0.1".as_ref(),
                leaf.cert_pem.as_os_str(),
            ],
        );
        assert!(
            String::from_utf8_lossy(&out).contains(": OK"),
            "{key_type:?}"
        );
        // The key file matches the certificate.
        let cert_pub = run_tool(
            &openssl,
            [
                "x509".as_ref(),
                "-noout".as_ref(),
                "-pubkey".as_ref(),
                "-in".as_ref(),
                leaf.cert_pem.as_os_str(),
            ],
        );
        let key_pub = run_tool(
            &openssl,
            [
                "pkey".as_ref(),
                "-pubout".as_ref(),
                "-in".as_ref(),
                leaf.key_pem.as_os_str(),
            ],
        );
        assert_eq!(
            cert_pub, key_pub,
            "{key_type:?} key matches its certificate"
        );
    }
}
