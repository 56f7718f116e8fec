//! Sessions to check: made in memory by tls-core on both sides (for the
//! edited traces), or captured between real peers through a recording relay.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tls_core::keylog::{line, KeyLog as Log};
use tls_core::{ClientConfig, Connection, ServerConfig};
use tls_oracle::{Deviation, KeyLog};
use tls_tests::pcap::{write_pcap, Dir, Recording};

/// Key log lines kept in memory.
#[derive(Default)]
pub struct Lines(pub Mutex<String>);

impl Log for Lines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let mut text = self.0.lock().unwrap();
        text.push_str(&line(label, client_random, secret));
        text.push('\n');
    }
}

/// A step of an in-memory session.
pub enum Step {
    /// The client writes.
    ClientWrites(&'static [u8]),
    /// The server writes.
    ServerWrites(&'static [u8]),
    /// The client updates its keys (asking the server to, or not).
    ClientUpdates(bool),
    /// Both close.
    Close,
}

/// Runs a session in memory with the client's key log on; returns what
/// went each way, in order, and the key log.
pub fn in_memory(
    mut client: ClientConfig,
    server: ServerConfig,
    steps: &[Step],
) -> (Recording, String) {
    let lines = Arc::new(Lines::default());
    client.key_log = Some(lines.clone());
    let mut c = Connection::client(Arc::new(client), Some("localhost")).unwrap();
    let mut s = Connection::server(Arc::new(server));
    let mut rec = Recording {
        client_port: 40000,
        server_port: 443,
        segments: Vec::new(),
    };
    let pump = |c: &mut Connection, s: &mut Connection, rec: &mut Recording| {
        for _ in 0..8 {
            let out = c.pending_tls().to_vec();
            c.consume_tls(out.len());
            if !out.is_empty() {
                rec.segments.push((Dir::ToServer, out.clone()));
                s.feed(&out).unwrap();
            }
            let back = s.pending_tls().to_vec();
            s.consume_tls(back.len());
            if !back.is_empty() {
                rec.segments.push((Dir::ToClient, back.clone()));
                c.feed(&back).unwrap();
            }
        }
    };
    pump(&mut c, &mut s, &mut rec);
    assert!(!c.is_handshaking() && !s.is_handshaking());
    for step in steps {
        match step {
            Step::ClientWrites(b) => c.write(b).unwrap(),
            Step::ServerWrites(b) => s.write(b).unwrap(),
            Step::ClientUpdates(ask) => c.update_keys(*ask).unwrap(),
            Step::Close => {
                c.close();
                s.close();
            }
        }
        pump(&mut c, &mut s, &mut rec);
    }
    let log = lines.0.lock().unwrap().clone();
    (rec, log)
}

/// The oracle's verdict on one recorded session, through a pcap file (as
/// the binary reads it).
pub fn verdict(rec: &Recording, keylog: &str) -> Vec<Deviation> {
    let path = std::env::temp_dir().join(format!(
        "oracle-{}-{}.pcap",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    write_pcap(rec, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let keys = KeyLog::parse(keylog).unwrap();
    let streams = tls_oracle::read_streams(&bytes, Some(rec.server_port)).unwrap();
    assert_eq!(streams.len(), 1, "one connection in the capture");
    tls_oracle::check(&streams[0], &keys)
}

/// Asserts a clean verdict.
pub fn assert_clean(what: &str, rec: &Recording, keylog: &str) {
    let found = verdict(rec, keylog);
    assert!(
        found.is_empty(),
        "{what}: deviations in a clean session:\n{}\nkey log:\n{keylog}",
        found
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
