//! Captures without capture privileges: [`Relay`] stands between clients
//! and a server on 127.0.0.1, forwards both directions and records what it
//! forwarded; [`write_pcap`] turns the record into a pcap file (IPv4 + TCP,
//! with the three-way handshake, sequence numbers and FINs) that Wireshark's
//! `tshark` reads as if `tcpdump -i lo` had taken it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::peer::{connect_local, local_listener, set_timeouts};

/// Which way a segment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the client (the side that connected to the relay).
    ToServer,
    /// From the server.
    ToClient,
}

/// What a relay forwarded, in the order it forwarded it.
#[derive(Debug, Default, Clone)]
pub struct Recording {
    /// The client's port (the relay's accepted socket's peer port).
    pub client_port: u16,
    /// The server's port.
    pub server_port: u16,
    /// Each read, as forwarded.
    pub segments: Vec<(Dir, Vec<u8>)>,
}

/// A TCP relay on 127.0.0.1 that records both directions of each
/// connection it relays (one after the other).
pub struct Relay {
    /// Where the client connects.
    pub port: u16,
    worker: thread::JoinHandle<Vec<Recording>>,
}

impl Relay {
    /// Listens on a free port; the first connection is relayed to
    /// 127.0.0.1:`server_port`.
    pub fn start(server_port: u16) -> Relay {
        Relay::start_n(server_port, 1)
    }

    /// Like [`Relay::start`], for `n` connections in turn.
    pub fn start_n(server_port: u16, n: usize) -> Relay {
        let (listener, port) = local_listener();
        let worker =
            thread::spawn(move || (0..n).map(|_| relay_one(&listener, server_port)).collect());
        Relay { port, worker }
    }

    /// Waits until both directions have closed; returns the recording (of
    /// the first connection).
    pub fn finish(self) -> Recording {
        self.finish_all().into_iter().next().unwrap_or_default()
    }

    /// Waits for every connection; returns their recordings in order.
    pub fn finish_all(self) -> Vec<Recording> {
        self.worker.join().expect("the relay thread panicked")
    }
}

fn relay_one(listener: &TcpListener, server_port: u16) -> Recording {
    let (client, peer) = listener.accept().expect("accept the client");
    set_timeouts(&client).expect("timeouts");
    let server = connect_local(server_port).expect("connect to the server");
    let log = Arc::new(Mutex::new(Recording {
        client_port: peer.port(),
        server_port,
        segments: Vec::new(),
    }));
    let up = {
        let (from, to, log) = (
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
            log.clone(),
        );
        thread::spawn(move || pump(from, to, Dir::ToServer, &log))
    };
    pump(server, client, Dir::ToClient, &log);
    let _ = up.join();
    let recording = log.lock().expect("log").clone();
    recording
}

/// Copies `from` to `to` until EOF or an error (bounded by the socket
/// timeouts), recording each read before it is forwarded, so a reply is
/// always recorded after what it answers.
fn pump(mut from: TcpStream, mut to: TcpStream, dir: Dir, log: &Mutex<Recording>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default().to_vec();
        if let Ok(mut log) = log.lock() {
            log.segments.push((dir, chunk.clone()));
        }
        if to.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Writes `rec` as a pcap file (LINKTYPE_RAW: IPv4 packets, checksums left
/// zero, which Wireshark does not check by default).
pub fn write_pcap(rec: &Recording, path: &Path) -> std::io::Result<()> {
    let mut out = Vec::new();
    // Global header: magic, version 2.4, zone, sigfigs, snaplen, linktype 101.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&101u32.to_le_bytes());

    let mut tcp = TcpState {
        client_port: rec.client_port,
        server_port: rec.server_port,
        client_seq: 1_000,
        server_seq: 5_000,
        tick: 0,
    };
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH: u8 = 0x08;
    const FIN: u8 = 0x01;
    tcp.packet(&mut out, Dir::ToServer, SYN, &[]);
    tcp.client_seq += 1;
    tcp.packet(&mut out, Dir::ToClient, SYN | ACK, &[]);
    tcp.server_seq += 1;
    tcp.packet(&mut out, Dir::ToServer, ACK, &[]);
    for (dir, bytes) in &rec.segments {
        // Segments of at most 32 KiB keep the IPv4 length in range.
        for piece in bytes.chunks(32 * 1024) {
            tcp.packet(&mut out, *dir, PSH | ACK, piece);
            tcp.advance(*dir, piece.len());
        }
    }
    tcp.packet(&mut out, Dir::ToServer, FIN | ACK, &[]);
    tcp.advance(Dir::ToServer, 1);
    tcp.packet(&mut out, Dir::ToClient, FIN | ACK, &[]);
    tcp.advance(Dir::ToClient, 1);
    tcp.packet(&mut out, Dir::ToServer, ACK, &[]);
    std::fs::write(path, out)
}

struct TcpState {
    client_port: u16,
    server_port: u16,
    client_seq: u32,
    server_seq: u32,
    tick: u32,
}

impl TcpState {
    fn advance(&mut self, dir: Dir, n: usize) {
        let n = u32::try_from(n).expect("segment size");
        match dir {
            Dir::ToServer => self.client_seq = self.client_seq.wrapping_add(n),
            Dir::ToClient => self.server_seq = self.server_seq.wrapping_add(n),
        }
    }

    fn packet(&mut self, out: &mut Vec<u8>, dir: Dir, flags: u8, payload: &[u8]) {
        let (sport, dport, seq, ack) = match dir {
            Dir::ToServer => (
                self.client_port,
                self.server_port,
                self.client_seq,
                self.server_seq,
            ),
            Dir::ToClient => (
                self.server_port,
                self.client_port,
                self.server_seq,
                self.client_seq,
            ),
        };
        let ack = if flags & 0x10 != 0 { ack } else { 0 };
        let total = 20 + 20 + payload.len();
        let mut p = Vec::with_capacity(total);
        // IPv4: version/IHL, DSCP, total length, id, flags/fragment, TTL,
        // protocol TCP, checksum 0, 127.0.0.1 -> 127.0.0.1.
        p.extend_from_slice(&[0x45, 0]);
        p.extend_from_slice(&u16::try_from(total).expect("packet size").to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        // TCP: ports, seq, ack, data offset 5, flags, window, checksum 0, urgent.
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ack.to_be_bytes());
        p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(payload);
        // Record header: a microsecond per packet keeps them ordered.
        self.tick += 1;
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&self.tick.to_le_bytes());
        let len = u32::try_from(p.len()).expect("packet size").to_le_bytes();
        out.extend_from_slice(&len);
        out.extend_from_slice(&len);
        out.extend_from_slice(&p);
    }
}
