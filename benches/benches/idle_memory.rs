//! Heap bytes per established, idle connection, for both stacks, counted by a
//! counting global allocator: N connections of one side are kept (each boxed,
//! so the connection value itself is counted too) after their handshake with
//! a peer that is then dropped, all buffers drained; the live-bytes growth
//! divided by N. Two states: right after the handshake, and after 64 KiB
//! moved each way and read (buffers that grew must be given back when idle).
//! TLS 1.3, AES-128-GCM, X25519, ECDSA P-256 chain, no tickets.
//!
//! Prints a table and writes `<target>/criterion/idle_memory.json` for `ratios`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::any::Any;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicIsize, Ordering};

use tls_benches::*;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 1000;
const DATA: usize = 64 * 1024;

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// Moves DATA bytes each way and reads them all.
fn exchange_ours(c: &mut tls_core::Connection, s: &mut tls_core::Connection) {
    let data = vec![7u8; DATA];
    let mut buf = vec![0u8; DATA];
    c.write(&data).unwrap();
    s.write(&data).unwrap();
    let mut got = (0, 0);
    while got != (DATA, DATA) {
        let mut wire = Vec::new();
        c.take_output(&mut wire);
        s.feed_all(&wire);
        wire.clear();
        s.take_output(&mut wire);
        c.feed_all(&wire);
        got.0 += s.read(&mut buf);
        got.1 += c.read(&mut buf);
    }
}

fn read_rustls(conn: &mut rustls::Connection, buf: &mut [u8]) -> usize {
    match conn.reader().read(buf) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(e) => panic!("{e}"),
    }
}

fn exchange_rustls(c: &mut rustls::Connection, s: &mut rustls::Connection) {
    let data = vec![7u8; DATA];
    let mut buf = vec![0u8; DATA];
    c.writer().write_all(&data).unwrap();
    s.writer().write_all(&data).unwrap();
    let mut got = (0, 0);
    // rustls refuses more TLS input while its plaintext buffer is full: read as we go.
    fn deliver(
        from: &mut rustls::Connection,
        to: &mut rustls::Connection,
        buf: &mut [u8],
    ) -> usize {
        let mut wire = Vec::new();
        from.take_output(&mut wire);
        let mut rest = &wire[..];
        let mut got = 0;
        while !rest.is_empty() {
            to.read_tls(&mut rest).unwrap();
            to.process_new_packets().unwrap();
            got += read_rustls(to, buf);
        }
        got + read_rustls(to, buf)
    }
    while got != (DATA, DATA) {
        got.0 += deliver(c, s, &mut buf);
        got.1 += deliver(s, c, &mut buf);
    }
}

/// Bytes per kept connection for one stack, side and state.
fn measure(stack: Stack, side: Side, with_data: bool) -> f64 {
    let setup = Setup::new(KeyType::EcdsaP256, TLS13_AES128, false);
    let (occ, osc) = (ours_client_config(setup), ours_server_config(setup));
    let (rcc, rsc) = (rustls_client_config(setup), rustls_server_config(setup));
    let make = || -> (Box<dyn Any>, Box<dyn Any>) {
        match stack {
            Stack::Ours => {
                let mut c = ours_client(&occ);
                let mut s = tls_core::Connection::server(osc.clone());
                handshake(&mut c, &mut s, Side::Client);
                if with_data {
                    exchange_ours(&mut c, &mut s);
                }
                (Box::new(c), Box::new(s))
            }
            Stack::Rustls => {
                let mut c = rustls_client(&rcc);
                let mut s = rustls_server(&rsc);
                handshake(&mut c, &mut s, Side::Client);
                if with_data {
                    exchange_rustls(&mut c, &mut s);
                }
                (Box::new(c), Box::new(s))
            }
        }
    };
    // Warm up lazily initialised statics.
    for _ in 0..3 {
        drop(make());
    }
    let mut kept: Vec<Box<dyn Any>> = Vec::with_capacity(N);
    let base = live();
    for _ in 0..N {
        let (c, s) = make();
        kept.push(match side {
            Side::Client => c,
            Side::Server => s,
        });
    }
    let per = (live() - base) as f64 / N as f64;
    drop(kept);
    per
}

fn main() {
    // `cargo bench` passes --bench; a filter argument that names another bench skips this.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.iter().any(|a| !"idle_memory".contains(a.as_str())) {
        return;
    }
    let _ = pki();
    let mut json = serde_json::Map::new();
    println!("idle connection heap bytes (N = {N}, TLS 1.3 AES-128-GCM X25519 ECDSA P-256)");
    println!(
        "{:<36} {:>10} {:>10} {:>8}",
        "connection", "ours", "rustls", "ratio"
    );
    for (with_data, state) in [(false, "after_handshake"), (true, "after_64k_each_way")] {
        for side in [Side::Server, Side::Client] {
            let ours = measure(Stack::Ours, side, with_data);
            let theirs = measure(Stack::Rustls, side, with_data);
            let side = if side == Side::Server {
                "server"
            } else {
                "client"
            };
            let name = format!("{side}_{state}");
            println!(
                "{name:<36} {ours:>10.0} {theirs:>10.0} {:>8.2}",
                ours / theirs
            );
            json.insert(name, serde_json::json!({ "ours": ours, "rustls": theirs }));
        }
    }
    let exe = std::env::current_exe().expect("exe");
    // <target>/release/deps/idle_memory-HASH
    if let Some(target) = exe.ancestors().nth(3) {
        let dir = target.join("criterion");
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("idle_memory.json");
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).expect("write json");
        println!("wrote {}", path.display());
    }
}
