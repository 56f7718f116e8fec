//! Key logging (NSS key log format): both ends of a connection log the same
//! lines, named by the ClientHello's random, for TLS 1.3 (full, after a
//! HelloRetryRequest, resumed) and TLS 1.2 (full and resumed).
//! `tests/tests/keylog_tshark.rs` checks the lines against Wireshark.

use std::sync::{Arc, Mutex};

use tls_core::keylog::{line, KeyLog};
use tls_core::{Connection, NamedGroup, ProtocolVersion};

mod support;
use support::*;

/// Keeps the lines in memory.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl KeyLog for Lines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push(line(label, client_random, secret));
    }
}

impl Lines {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The labels of `lines`, in order.
fn labels(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|l| l.split(' ').next().unwrap()).collect()
}

/// The hex of the random in a ClientHello record at the start of `flight`.
fn client_random_hex(flight: &[u8]) -> String {
    // record header (5), handshake header (4), legacy_version (2).
    flight[11..43].iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs one handshake with both ends logging; returns (client's lines,
/// server's lines, the ClientHello's random in hex).
fn logged_handshake(
    client: &Arc<tls_core::ClientConfig>,
    server: &Arc<tls_core::ServerConfig>,
    client_log: &Lines,
    server_log: &Lines,
) -> (Vec<String>, Vec<String>, Connection) {
    let mut c = Connection::client(client.clone(), Some("localhost")).unwrap();
    let mut s = Connection::server(server.clone());
    let random = client_random_hex(c.pending_tls());
    pump(&mut c, &mut s).unwrap();
    assert!(!c.is_handshaking() && !s.is_handshaking());
    // A ticket (TLS 1.3) arrives with the server's last flight.
    c.write(b"x").unwrap();
    pump(&mut c, &mut s).unwrap();
    let (cl, sl) = (client_log.take(), server_log.take());
    for l in cl.iter().chain(&sl) {
        assert_eq!(l.split(' ').nth(1), Some(random.as_str()), "{l}");
    }
    (cl, sl, c)
}

fn logging_configs(
    version: ProtocolVersion,
) -> (
    Arc<tls_core::ClientConfig>,
    Arc<tls_core::ServerConfig>,
    Arc<Lines>,
    Arc<Lines>,
) {
    let (mut client, mut server) = configs(pki_p256());
    client.versions = vec![version];
    client.session_store = Some(Arc::new(tls_core::tickets::MemorySessionStore::new(8)));
    let (cl, sl) = (Arc::new(Lines::default()), Arc::new(Lines::default()));
    client.key_log = Some(cl.clone());
    server.key_log = Some(sl.clone());
    (Arc::new(client), Arc::new(server), cl, sl)
}

const TLS13_LABELS: [&str; 5] = [
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
];

#[test]
fn tls13_full_and_resumed_log_the_same_five_secrets_on_both_ends() {
    let (client, server, cl, sl) = logging_configs(ProtocolVersion::Tls13);
    for round in ["full", "resumed"] {
        let (c_lines, s_lines, c) = logged_handshake(&client, &server, &cl, &sl);
        assert_eq!(c.negotiated().unwrap().resumed, round == "resumed");
        assert_eq!(labels(&c_lines), TLS13_LABELS, "{round}");
        assert_eq!(c_lines, s_lines, "{round}");
        // Every secret is SHA-256 sized here (the default suite) and distinct.
        for l in &c_lines {
            assert_eq!(l.split(' ').nth(2).unwrap().len(), 64, "{l}");
        }
        let mut secrets: Vec<_> = c_lines.iter().map(|l| l.split(' ').nth(2)).collect();
        secrets.dedup();
        assert_eq!(secrets.len(), 5);
    }
}

#[test]
fn tls13_after_hello_retry_logs_once_under_the_unchanged_random() {
    let (mut client, mut server) = configs(pki_p256());
    client.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
    server.groups = vec![NamedGroup::Secp256r1];
    let (cl, sl) = (Arc::new(Lines::default()), Arc::new(Lines::default()));
    client.key_log = Some(cl.clone());
    server.key_log = Some(sl.clone());
    let (c_lines, s_lines, c) = logged_handshake(&Arc::new(client), &Arc::new(server), &cl, &sl);
    assert!(c.negotiated().unwrap().hello_retry);
    assert_eq!(labels(&c_lines), TLS13_LABELS);
    assert_eq!(c_lines, s_lines);
}

#[test]
fn tls12_full_and_resumed_log_the_master_secret() {
    let (client, server, cl, sl) = logging_configs(ProtocolVersion::Tls12);
    let mut masters = Vec::new();
    for round in ["full", "resumed"] {
        let (c_lines, s_lines, c) = logged_handshake(&client, &server, &cl, &sl);
        assert_eq!(c.negotiated().unwrap().resumed, round == "resumed");
        assert_eq!(labels(&c_lines), ["CLIENT_RANDOM"], "{round}");
        assert_eq!(c_lines, s_lines, "{round}");
        let master = c_lines[0].split(' ').nth(2).unwrap().to_string();
        assert_eq!(master.len(), 96, "48-byte master secret");
        masters.push(master);
    }
    // Resumption keeps the master secret; the random names the new connection.
    assert_eq!(masters[0], masters[1]);
}

#[test]
fn nothing_is_logged_without_a_key_log() {
    let (client, server) = configs(pki_p256());
    assert!(client.key_log.is_none() && server.key_log.is_none());
    let (c, s) = handshake(client, server);
    assert!(!c.is_handshaking() && !s.is_handshaking());
}
