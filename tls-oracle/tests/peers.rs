//! The oracle on sessions between real implementations, captured by a
//! recording relay: OpenSSL <-> GnuTLS, rustls <-> OpenSSL, ours <-> each;
//! TLS 1.3 and 1.2, with HelloRetryRequest, resumption, client
//! authentication and KeyUpdate. Each must come out clean, through the
//! binary (a pcap file and the key log the peers wrote), exit status 0.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tls_core::{Connection, TlsStream};
use tls_tests::openssl_peer::{openssl, unique_file, Log, SServer, SServerBuilder};
use tls_tests::pcap::{write_pcap, Recording, Relay};
use tls_tests::peer::{connect_local, require, Peer, PEER_TIMEOUT};
use tls_tests::{client_config, pki, KeyType};

/// An `openssl s_server` for `naccept` connections writing its key log.
fn s_server(naccept: u32, keylog: &Path, extra: &[&str]) -> SServer {
    let keylog = keylog.display().to_string();
    SServerBuilder::new(KeyType::EcdsaP256)
        .naccept(naccept)
        .log(Log::Off)
        .args(&["-keylogfile", &keylog])
        .args(extra)
        .start()
}

/// Runs the oracle binary on `rec` with `keylog`; asserts exit 0, no
/// deviation, and that it checked `finished` Finished messages and at least
/// `signatures` signatures (its summary on stderr).
fn assert_clean(what: &str, rec: &Recording, keylog: &Path, finished: usize, signatures: usize) {
    let pcap = unique_file("oracle.pcap");
    write_pcap(rec, &pcap).expect("write the pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_tls-oracle"))
        .arg(&pcap)
        .arg(keylog)
        .arg(rec.server_port.to_string())
        .output()
        .expect("run tls-oracle");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = std::fs::read_to_string(keylog).unwrap_or_default();
    assert!(
        out.status.success() && stdout.is_empty(),
        "{what}: tls-oracle {}:\n{stdout}{}\nkey log:\n{log}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let counted = |unit: &str| -> usize {
        let before = stderr.split(unit).next().unwrap_or_default();
        before
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(counted(" Finished"), finished, "{what}: {stderr}");
    assert!(counted(" signatures") >= signatures, "{what}: {stderr}");
    assert!(
        counted(" records decrypted") > 0 || what.contains("1.2"),
        "{what}: {stderr}"
    );
    let _ = std::fs::remove_file(&pcap);
}

/// gnutls-cli (with `priority` and `extra`) through a relay with `n`
/// connections to `port`; sends a line and closes.
fn gnutls_cli(port: u16, n: usize, priority: &str, extra: &[&str]) -> (Vec<Recording>, String) {
    let tool = require("gnutls-cli", "gnutls-bin");
    let relay = Relay::start_n(port, n);
    let ca = pki().ca_pem.display().to_string();
    let mut args = vec![
        "--x509cafile".to_string(),
        ca,
        "--verify-hostname=localhost".into(),
        "--sni-hostname=localhost".into(),
        format!("--priority={priority}"),
        "-p".into(),
        relay.port.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("127.0.0.1".into());
    let mut cli = Peer::spawn(&tool, &args);
    cli.write_stdin(b"hello from gnutls\n".to_vec());
    cli.close_stdin();
    let status = cli.wait(PEER_TIMEOUT);
    let output = format!("{}{}", String::from_utf8_lossy(&cli.stdout()), cli.stderr());
    assert!(
        status.is_some_and(|s| s.success()),
        "gnutls-cli failed:\n{output}"
    );
    (relay.finish_all(), output)
}

fn keylog_path(tag: &str) -> PathBuf {
    unique_file(&format!("{tag}.keys"))
}

#[test]
fn gnutls_client_openssl_server_tls13_and_tls12() {
    for (version, priority) in [
        ("TLS 1.3", "NORMAL:-VERS-ALL:+VERS-TLS1.3"),
        ("TLS 1.2", "NORMAL:-VERS-ALL:+VERS-TLS1.2"),
    ] {
        let keylog = keylog_path("gnutls-openssl");
        let server = s_server(1, &keylog, &[]);
        let (recs, _) = gnutls_cli(server.port, 1, priority, &[]);
        assert_clean(version, &recs[0], &keylog, 2, 1);
    }
}

#[test]
fn gnutls_client_resumes_with_openssl_server_tls13_and_tls12() {
    for (version, priority) in [
        ("TLS 1.3", "NORMAL:-VERS-ALL:+VERS-TLS1.3"),
        ("TLS 1.2", "NORMAL:-VERS-ALL:+VERS-TLS1.2"),
    ] {
        let keylog = keylog_path("resume");
        let server = s_server(2, &keylog, &[]);
        let (recs, output) =
            gnutls_cli(server.port, 2, priority, &["--resume", "--waitresumption"]);
        assert!(
            output.contains("This is a resumed session"),
            "{version}: not resumed:\n{output}"
        );
        assert_clean(&format!("{version}, full"), &recs[0], &keylog, 2, 1);
        assert_clean(&format!("{version}, resumed"), &recs[1], &keylog, 2, 0);
    }
}

#[test]
fn openssl_client_with_hello_retry_and_client_certificate() {
    let keylog = keylog_path("hrr");
    let ca = pki().ca_pem.display().to_string();
    // The server wants P-256; the client's only share is X25519.
    let server = s_server(
        1,
        &keylog,
        &["-groups", "P-256", "-verify", "1", "-CAfile", &ca],
    );
    let relay = Relay::start(server.port);
    let leaf = pki().leaf(KeyType::Ed25519);
    let connect = format!("127.0.0.1:{}", relay.port);
    let mut client = Peer::spawn(
        &openssl(),
        [
            "s_client",
            "-connect",
            &connect,
            "-servername",
            "localhost",
            "-groups",
            "X25519:P-256",
            "-cert",
            leaf.cert_pem.to_str().unwrap(),
            "-key",
            leaf.key_pem.to_str().unwrap(),
            "-CAfile",
            &ca,
        ],
    );
    client.close_stdin();
    assert!(client.wait(PEER_TIMEOUT).is_some(), "s_client hung");
    let rec = relay.finish();
    let out = String::from_utf8_lossy(&client.stdout()).into_owned();
    assert!(out.contains("TLSv1.3"), "{out}");
    assert_clean(
        "HelloRetryRequest and client certificate",
        &rec,
        &keylog,
        2,
        2,
    );
}

#[test]
fn our_client_with_key_updates_against_openssl() {
    let keylog = keylog_path("ours");
    let server = s_server(1, &keylog, &["-tls1_3"]);
    let relay = Relay::start(server.port);
    let mut config = client_config(KeyType::EcdsaP256);
    config.key_log = Some(Arc::new(
        tls_core::keylog::KeyLogFile::create(keylog.with_extension("ours")).unwrap(),
    ));
    let conn = Connection::client(Arc::new(config), Some("localhost")).unwrap();
    let mut tls = TlsStream::new(conn, connect_local(relay.port).unwrap());
    tls.write_all(b"before\n").unwrap();
    tls.conn_mut().update_keys(true).unwrap();
    tls.write_all(b"after one update\n").unwrap();
    tls.conn_mut().update_keys(false).unwrap();
    tls.write_all(b"after two\n").unwrap();
    tls.close_notify().unwrap();
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);
    drop(tls);
    let rec = relay.finish();
    // Our client's key log and OpenSSL's must both do.
    assert_clean(
        "ours -> OpenSSL (our key log)",
        &rec,
        &keylog.with_extension("ours"),
        2,
        1,
    );
    assert_clean("ours -> OpenSSL (OpenSSL's key log)", &rec, &keylog, 2, 1);
}

#[test]
fn rustls_client_against_openssl() {
    use rustls::pki_types::ServerName;
    let keylog = keylog_path("rustls");
    let server = s_server(1, &keylog, &[]);
    let relay = Relay::start(server.port);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(tls_tests::rustls_peer::client_config(provider));
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, connect_local(relay.port).unwrap());
    tls.write_all(b"hello from rustls\n").unwrap();
    tls.flush().unwrap();
    tls.conn.send_close_notify();
    tls.flush().unwrap();
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);
    drop(tls);
    let rec = relay.finish();
    assert_clean("rustls -> OpenSSL", &rec, &keylog, 2, 1);
}

/// A capture taken on the loopback interface by Wireshark's `dumpcap`
/// (pcapng by default, classic pcap with `-P`; Ethernet framing), of
/// gnutls-cli talking to s_server directly: the oracle reads it as it
/// reads `tcpdump -w` files. Needs capture rights (root or CAP_NET_RAW).
#[test]
fn real_loopback_captures_by_dumpcap_pcapng_and_pcap() {
    let dumpcap = require("dumpcap", "wireshark-common");
    for (version, priority, format) in [
        ("TLS 1.3", "NORMAL:-VERS-ALL:+VERS-TLS1.3", None),
        ("TLS 1.2", "NORMAL:-VERS-ALL:+VERS-TLS1.2", Some("-P")),
    ] {
        let keylog = keylog_path("dumpcap");
        let server = s_server(1, &keylog, &[]);
        let file = unique_file("dumpcap.cap");
        // A probe port (nothing listens) shows when capturing has begun:
        // "Capturing on" comes before the filter is in place.
        let probe = tls_tests::free_port();
        let filter = format!("tcp port {} or tcp port {probe}", server.port);
        let mut args = vec!["-i", "lo", "-f", &filter, "-w", file.to_str().unwrap()];
        args.extend(format);
        let mut capture = Peer::spawn(&dumpcap, &args);
        let mut started = false;
        for _ in 0..100 {
            let _ = std::net::TcpStream::connect(("127.0.0.1", probe));
            if capture.wait_output_contains("Packets: ", std::time::Duration::from_millis(200)) {
                started = true;
                break;
            }
        }
        assert!(
            started,
            "dumpcap captured nothing (capture rights on lo are needed):\n{}",
            capture.diagnostics()
        );
        let tool = require("gnutls-cli", "gnutls-bin");
        let ca = pki().ca_pem.display().to_string();
        let mut cli = Peer::spawn(
            &tool,
            [
                format!("--x509cafile={ca}"),
                "--verify-hostname=localhost".into(),
                "--sni-hostname=localhost".into(),
                format!("--priority={priority}"),
                "-p".into(),
                server.port.to_string(),
                "127.0.0.1".into(),
            ],
        );
        cli.write_stdin(b"captured on lo\n".to_vec());
        cli.close_stdin();
        assert!(
            cli.wait(PEER_TIMEOUT).is_some_and(|s| s.success()),
            "{}",
            cli.diagnostics()
        );
        // dumpcap reads the kernel's buffer in blocks: wait until it has
        // counted the session's packets (at least 8 beyond the probes), then
        // SIGINT makes it write what it has and exit.
        let probes = packets(&capture.stderr());
        for _ in 0..150 {
            if packets(&capture.stderr()) >= probes + 8 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // SIGINT: dumpcap writes what it has and exits.
        let _ = Command::new("kill")
            .args(["-INT", &capture.id().to_string()])
            .status();
        assert!(capture.wait(PEER_TIMEOUT).is_some(), "dumpcap did not stop");
        let out = Command::new(env!("CARGO_BIN_EXE_tls-oracle"))
            .arg(&file)
            .arg(&keylog)
            .arg(server.port.to_string())
            .output()
            .expect("run tls-oracle");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success() && stdout.is_empty(),
            "{version}: {stdout}{stderr}\n{}",
            capture.diagnostics()
        );
        assert!(
            stderr.contains(&format!("{version}, ")) && stderr.contains(" 2 Finished"),
            "{version}: {stderr} {} {}\n{}",
            file.display(),
            capture.diagnostics(),
            cli.diagnostics()
        );
        let _ = std::fs::remove_file(&file);
    }
}

/// The last packet count dumpcap printed ("Packets: N").
fn packets(stderr: &str) -> usize {
    stderr
        .rsplit("Packets: ")
        .next()
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// tls-tunnel (our server, writing its key log with `--keylog`) in front of
/// an echo backend, serving the test PKI's P-256 leaf, TLS 1.3 and 1.2.
fn our_server(
    keylog: &Path,
    extra: &[&str],
) -> (tls_tests::tunnel::Tunnel, tls_tests::tunnel::Backend, u16) {
    use tls_tests::tunnel::{Backend, BackendKind, Tunnel};
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let port = tls_tests::free_port();
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "server".to_string(),
        "--listen".into(),
        listen,
        "--target".into(),
        backend.addr(),
        "--cert".into(),
        leaf.chain_pem.display().to_string(),
        "--key".into(),
        leaf.key_pem.display().to_string(),
        "--keylog".into(),
        keylog.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let tunnel = Tunnel::start(args, &[port]);
    (tunnel, backend, port)
}

#[test]
fn gnutls_client_against_our_server_tls13_and_tls12() {
    for (version, priority) in [
        ("TLS 1.3", "NORMAL:-VERS-ALL:+VERS-TLS1.3"),
        ("TLS 1.2", "NORMAL:-VERS-ALL:+VERS-TLS1.2"),
    ] {
        let keylog = keylog_path("gnutls-ours");
        let (_tunnel, _backend, port) = our_server(&keylog, &[]);
        let (recs, _) = gnutls_cli(port, 1, priority, &[]);
        assert_clean(
            &format!("GnuTLS -> ours, {version}"),
            &recs[0],
            &keylog,
            2,
            1,
        );
    }
}

#[test]
fn rustls_client_against_our_server_with_resumption() {
    use rustls::pki_types::ServerName;
    let keylog = keylog_path("rustls-ours");
    let (_tunnel, _backend, port) = our_server(&keylog, &[]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(tls_tests::rustls_peer::client_config(provider));
    // Two connections with one config: the second resumes with a ticket.
    let relay = Relay::start_n(port, 2);
    for round in 0..2 {
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, connect_local(relay.port).unwrap());
        tls.write_all(b"echo me\n").unwrap();
        let mut back = [0u8; 8];
        tls.read_exact(&mut back).unwrap();
        assert_eq!(
            tls.conn.handshake_kind(),
            Some(if round == 0 {
                rustls::HandshakeKind::Full
            } else {
                rustls::HandshakeKind::Resumed
            })
        );
        tls.conn.send_close_notify();
        tls.flush().unwrap();
        let mut rest = Vec::new();
        let _ = tls.read_to_end(&mut rest);
    }
    let recs = relay.finish_all();
    assert_clean("rustls -> ours, full", &recs[0], &keylog, 2, 1);
    assert_clean("rustls -> ours, resumed", &recs[1], &keylog, 2, 0);
}
