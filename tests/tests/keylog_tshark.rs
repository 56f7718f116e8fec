//! Key logging, checked by Wireshark: a session through tls-tunnel is
//! captured (by a recording relay, written as pcap), and `tshark` decrypts
//! it with the key log the tunnel wrote (`--keylog`, or `SSLKEYLOGFILE`),
//! TLS 1.3 and 1.2, server and client mode. Without the key log, the same
//! capture shows no plaintext.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use tls_core::{ClientConfig, Connection, ProtocolVersion, TlsStream};
use tls_tests::pcap::{write_pcap, Recording, Relay};
use tls_tests::peer::{connect_local, free_port, require, run_tool, Peer};
use tls_tests::tunnel::{cert_for, temp_dir, tunnel_command, Backend, BackendKind, Tunnel};

const WARNING: &str = "WARNING: writing every TLS session's secrets to";

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

/// What tshark shows of the TLS stream in `pcap` (decrypted with `keylog`
/// when given), the TLS server being on `tls_port`.
fn tshark_follow(pcap: &Path, tls_port: u16, keylog: Option<&Path>) -> String {
    let tshark = require("tshark", "tshark");
    let mut args = vec![
        "-n".to_string(),
        "-r".into(),
        pcap.display().to_string(),
        "-d".into(),
        format!("tcp.port=={tls_port},tls"),
        "-q".into(),
        "-z".into(),
        "follow,tls,ascii,0".into(),
    ];
    if let Some(keylog) = keylog {
        args.extend(["-o".into(), format!("tls.keylog_file:{}", keylog.display())]);
    }
    String::from_utf8_lossy(&run_tool(&tshark, &args)).into_owned()
}

/// Sends `line` over `tls` and reads the echo back, then closes.
fn echo_line(mut tls: impl Read + Write, line: &[u8]) {
    tls.write_all(line).expect("write");
    let mut back = vec![0u8; line.len()];
    tls.read_exact(&mut back).expect("read the echo");
    assert_eq!(back, line);
}

/// Checks that tshark decrypts `rec` with `keylog` (the line shows both
/// ways) and not without it.
fn assert_decrypts(rec: &Recording, dir: &Path, tls_port: u16, keylog: &Path, line: &str) {
    let log = std::fs::read_to_string(keylog).expect("the key log exists");
    assert!(!log.is_empty(), "the key log is empty");
    let pcap = dir.join("session.pcap");
    write_pcap(rec, &pcap).expect("write the pcap");
    let with = tshark_follow(&pcap, tls_port, Some(keylog));
    assert_eq!(
        with.matches(line).count(),
        2,
        "tshark did not decrypt the line both ways with the key log\n{with}\nkey log:\n{log}"
    );
    let without = tshark_follow(&pcap, tls_port, None);
    assert!(
        !without.contains(line),
        "plaintext without the key log?\n{without}"
    );
}

#[test]
fn tunnel_server_tls13_keylog_flag_is_decrypted_by_tshark() {
    let dir = temp_dir("keylog13");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let keylog = dir.join("keys.log");
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::server(
        &listen,
        &backend.addr(),
        &cert,
        &["--keylog", keylog.to_str().unwrap()],
        port,
    );
    tunnel.expect_log(WARNING);

    let relay = Relay::start(port);
    let config = Arc::new(ClientConfig::with_pinned_certs(vec![cert.der.clone()]));
    let conn = Connection::client(config, Some("localhost")).unwrap();
    let mut tls = TlsStream::new(conn, connect_local(relay.port).unwrap());
    echo_line(&mut tls, b"tls13 secret line\n");
    assert_eq!(
        tls.conn().negotiated().unwrap().version,
        ProtocolVersion::Tls13
    );
    tls.close_notify().unwrap();
    drop(tls);
    let rec = relay.finish();

    let log = std::fs::read_to_string(&keylog).unwrap();
    for label in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    ] {
        assert_eq!(log.matches(label).count(), 1, "{label} in\n{log}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&keylog).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the key log is readable by others: {mode:o}"
    );
    assert_decrypts(&rec, &dir, port, &keylog, "tls13 secret line");
}

#[test]
fn tunnel_server_tls12_sslkeylogfile_is_decrypted_by_tshark() {
    let dir = temp_dir("keylog12");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let keylog = dir.join("keys.log");
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = tunnel_command([
        "server",
        "--listen",
        &listen,
        "--target",
        &backend.addr(),
        "--cert",
        cert.cert.to_str().unwrap(),
        "--key",
        cert.key.to_str().unwrap(),
    ]);
    cmd.env("SSLKEYLOGFILE", &keylog);
    let mut tunnel = Tunnel {
        peer: Peer::spawn_command(cmd),
    };
    tunnel.peer.wait_for_port(port);
    tunnel.expect_log(WARNING);

    let relay = Relay::start(port);
    let mut config = ClientConfig::with_pinned_certs(vec![cert.der.clone()]);
    config.versions = vec![ProtocolVersion::Tls12];
    let conn = Connection::client(Arc::new(config), Some("localhost")).unwrap();
    let mut tls = TlsStream::new(conn, connect_local(relay.port).unwrap());
    echo_line(&mut tls, b"tls12 secret line\n");
    assert_eq!(
        tls.conn().negotiated().unwrap().version,
        ProtocolVersion::Tls12
    );
    tls.close_notify().unwrap();
    drop(tls);
    let rec = relay.finish();
    let log = std::fs::read_to_string(&keylog).unwrap();
    assert_eq!(log.lines().count(), 1, "one CLIENT_RANDOM line:\n{log}");
    assert!(log.starts_with("CLIENT_RANDOM "), "{log}");
    assert_decrypts(&rec, &dir, port, &keylog, "tls12 secret line");
}

#[test]
fn tunnel_client_mode_keylog_is_decrypted_by_tshark() {
    let dir = temp_dir("keylogc");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let keylog = dir.join("keys.log");
    let backend = echo();
    let sport = free_port();
    let server_listen = format!("127.0.0.1:{sport}");
    // The server tunnel logs nothing: the keys come from the client tunnel.
    let _server = Tunnel::server(&server_listen, &backend.addr(), &cert, &[], sport);
    let relay = Relay::start(sport);
    let cport = free_port();
    let client_listen = format!("127.0.0.1:{cport}");
    let relay_addr = format!("127.0.0.1:{}", relay.port);
    let client = Tunnel::start(
        [
            "client",
            "--listen",
            &client_listen,
            "--target",
            &relay_addr,
            "--cacert",
            cert.cert.to_str().unwrap(),
            "--server-name",
            "localhost",
            "--keylog",
            keylog.to_str().unwrap(),
        ],
        &[cport],
    );
    client.expect_log(WARNING);
    let mut sock = connect_local(cport).unwrap();
    echo_line(&mut sock, b"client mode secret line\n");
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = sock.read_to_end(&mut rest);
    let rec = relay.finish();
    assert_decrypts(&rec, &dir, sport, &keylog, "client mode secret line");
}

#[test]
fn check_with_keylog_creates_no_file() {
    let dir = temp_dir("keylogcheck");
    let keylog = dir.join("keys.log");
    let (code, out, err) = tls_tests::tunnel::run_tunnel([
        "--check",
        "--keylog",
        keylog.to_str().unwrap(),
        "server",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:2",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("would log TLS secrets to"), "{out}");
    assert!(!keylog.exists(), "--check created the key log");
}
