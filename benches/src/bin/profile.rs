//! One workload, for `valgrind --tool=callgrind` (instruction counts are
//! repeatable under load, unlike wall-clock time):
//!
//!     profile <ring|send|recv|send-in-place|recv-in-place|hs-server|hs-client|resume-server|resume-client> <ours|rustls> [suite] [count]
//!
//! `send`/`recv` move `count` 16 KiB records (suite: tls13_aes128gcm,
//! tls13_aes256gcm, tls13_chacha20, tls12_ecdsa_aes128gcm);
//! `send-in-place`/`recv-in-place` do the same through tls-core's zero-copy
//! `write_with`/`feed_with` ([`InPlace`]; tls-core only); the handshake
//! workloads run `count` handshakes. Set-up (the first handshake, sealing the
//! records to receive) is done before `START` is printed; compare with
//! `--toggle-collect=profile::run` to count the measured part only.

use std::hint::black_box;
use std::time::Instant;

use tls_benches::*;

fn suite(name: &str) -> Suite {
    BULK_SUITES
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("unknown suite {name}"))
}

#[inline(never)]
fn run<T: BulkSender + ?Sized>(tx: &mut T, data: &[u8], count: usize) -> usize {
    (0..count).map(|_| tx.send(black_box(data))).sum()
}

#[inline(never)]
fn run_recv<R: BulkReceiver + ?Sized>(rx: &mut R, records: &[Vec<u8>], out: &mut [u8]) -> usize {
    records.iter().map(|r| rx.receive(black_box(r), out)).sum()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let work = args.get(1).map(String::as_str).unwrap_or("send");
    let stack = match args.get(2).map(String::as_str).unwrap_or("ours") {
        "ours" => Stack::Ours,
        "rustls" => Stack::Rustls,
        other => panic!("unknown stack {other}"),
    };
    let suite = suite(args.get(3).map(String::as_str).unwrap_or("tls13_aes128gcm"));
    let count: usize = args.get(4).and_then(|c| c.parse().ok()).unwrap_or(1000);
    let data = vec![0x5au8; RECORD];
    let mut out = vec![0u8; 2 * RECORD];
    let t = Instant::now();
    let done = match work {
        "send" | "recv" | "send-in-place" | "recv-in-place" => {
            let setup = Setup::new(KeyType::EcdsaP256, suite, false);
            let (mut tx, mut rx): (Box<dyn Bulk>, Box<dyn Bulk>) = match stack {
                Stack::Ours if work.ends_with("in-place") => {
                    let (c, s) = ours_pair(setup);
                    (Box::new(InPlace(c)), Box::new(InPlace(s)))
                }
                Stack::Ours => {
                    let (c, s) = ours_pair(setup);
                    (Box::new(c), Box::new(s))
                }
                Stack::Rustls if work.ends_with("in-place") => {
                    panic!("{work} is tls-core's zero-copy API: use `ours`")
                }
                Stack::Rustls => {
                    let (c, s) = rustls_pair(setup);
                    (Box::new(c), Box::new(s))
                }
            };
            if work.starts_with("send") {
                run(tx.as_sender(), &data, count)
            } else {
                let records = sealed_records(tx.as_sender(), &data, count);
                run_recv(rx.as_receiver(), &records, &mut out)
            }
        }
        "ring" => {
            let key = ring_key(suite.aead);
            let mut buf = data.clone();
            run_ring(&key, &mut buf, count)
        }
        _ => {
            let resume = work.starts_with("resume");
            let side = if work.ends_with("server") {
                Side::Server
            } else {
                Side::Client
            };
            let setup = Setup::new(KeyType::EcdsaP256, suite, resume);
            let mut go: Box<dyn FnMut()> = match stack {
                Stack::Ours => {
                    let (cc, sc) = (ours_client_config(setup), ours_server_config(setup));
                    Box::new(move || {
                        let mut c = ours_client(&cc);
                        let mut s = tls_core::Connection::server(sc.clone());
                        handshake(&mut c, &mut s, side);
                    })
                }
                Stack::Rustls => {
                    let (cc, sc) = (rustls_client_config(setup), rustls_server_config(setup));
                    Box::new(move || {
                        let mut c = rustls_client(&cc);
                        let mut s = rustls_server(&sc);
                        handshake(&mut c, &mut s, side);
                    })
                }
            };
            go();
            run_handshakes(&mut go, count)
        }
    };
    eprintln!(
        "{work} {stack:?} {}: {done} in {:?}",
        suite.name,
        t.elapsed()
    );
}

#[inline(never)]
fn run_ring(key: &ring::aead::LessSafeKey, buf: &mut [u8], count: usize) -> usize {
    for seq in 0..count as u64 {
        let _ = black_box(ring_seal(key, seq, black_box(&mut *buf)));
    }
    count
}

#[inline(never)]
fn run_handshakes(go: &mut dyn FnMut(), count: usize) -> usize {
    for _ in 0..count {
        go();
    }
    count
}

trait Bulk {
    fn as_sender(&mut self) -> &mut dyn BulkSender;
    fn as_receiver(&mut self) -> &mut dyn BulkReceiver;
}
impl<T: BulkSender + BulkReceiver> Bulk for T {
    fn as_sender(&mut self) -> &mut dyn BulkSender {
        self
    }
    fn as_receiver(&mut self) -> &mut dyn BulkReceiver {
        self
    }
}
