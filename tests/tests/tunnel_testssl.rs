//! testssl.sh against server mode: no vulnerability, no protocol below TLS 1.2,
//! no non-AEAD cipher. Slow (about a minute): one bounded run checking
//! protocols, cipher categories and vulnerabilities only.

use std::time::Duration;

use tls_tests::peer::{free_port, require, Peer};
use tls_tests::tunnel::{temp_dir, Backend, BackendKind, Tunnel};

#[test]
fn tunnel_testssl_finds_nothing() {
    let testssl = require("testssl", "testssl.sh");
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _tunnel = Tunnel::start(
        ["server", "--listen", &listen, "--target", &backend.addr()],
        &[port],
    );
    let json = temp_dir("testssl").join("testssl.json");
    let mut scan = Peer::spawn(
        &testssl,
        [
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "off",
            "--ip",
            "one",
            "--sneaky",
            "-p",
            "-s",
            "-U",
            "--jsonfile",
            json.to_str().unwrap(),
            &listen,
        ],
    );
    scan.close_stdin();
    // testssl's exit status counts findings loosely; the JSON is what we judge.
    if scan.wait(Duration::from_secs(400)).is_none() {
        panic!(
            "testssl did not finish within 400 s\n{}",
            scan.diagnostics()
        );
    }
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON from testssl ({e})\n{}", scan.diagnostics()));
    // A flat array of {"id", "severity", "finding", ...}: read it without a JSON crate.
    let entries: Vec<(String, String, String)> = text
        .split("\"id\"")
        .skip(1)
        .map(|chunk| {
            let field = |name: &str| {
                let key = format!("\"{name}\"");
                let at = chunk
                    .find(&key)
                    .map(|i| &chunk[i + key.len()..])
                    .unwrap_or("");
                let v = at.trim_start_matches([' ', ':']).trim_start_matches('"');
                v.split('"').next().unwrap_or("").to_string()
            };
            let id = chunk
                .trim_start_matches([' ', ':'])
                .trim_start_matches('"')
                .split('"')
                .next()
                .unwrap_or("")
                .to_string();
            (id, field("severity"), field("finding"))
        })
        .collect();
    assert!(entries.len() > 20, "testssl reported too little:\n{text}");
    let finding = |id: &str| {
        entries
            .iter()
            .find(|e| e.0 == id)
            .unwrap_or_else(|| panic!("no {id} in testssl output:\n{text}"))
            .2
            .clone()
    };
    for old in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        assert!(
            finding(old).contains("not offered"),
            "{old}: {}",
            finding(old)
        );
    }
    assert!(finding("TLS1_3").contains("offered"), "TLS 1.3 offered");
    for weak in [
        "cipherlist_NULL",
        "cipherlist_aNULL",
        "cipherlist_EXPORT",
        "cipherlist_LOW",
        "cipherlist_3DES_IDEA",
        "cipherlist_AVERAGE",
    ] {
        assert!(
            finding(weak).contains("not offered"),
            "{weak}: {}",
            finding(weak)
        );
    }
    let bad: Vec<_> = entries
        .iter()
        .filter(|e| matches!(e.1.as_str(), "LOW" | "MEDIUM" | "HIGH" | "CRITICAL"))
        .collect();
    assert!(bad.is_empty(), "testssl findings: {bad:#?}");
}
