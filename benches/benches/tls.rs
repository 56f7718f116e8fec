//! tls-core against rustls (ring provider), each figure benched for both
//! stacks back to back in one group, so `ratios` can divide them:
//!
//! - `bulk_send_<suite>` / `bulk_recv_<suite>`: one 16 KiB record sealed
//!   (write + take the records out) or opened (feed one record + read the
//!   plaintext out); plus `ring` in each group, the raw AEAD seal or open of
//!   16 KiB in place — the ceiling bulk transfer cannot beat; plus
//!   `ours_in_place`, tls-core's zero-copy calls ([`InPlace`]): `write_with`
//!   sealing the plaintext where it lies in the record buffer (like `ring`,
//!   it re-seals the buffer's bytes rather than producing fresh plaintext, so
//!   the socket read that would fill it is not counted), and `feed_with`
//!   copying the record into the receive buffer (the copy a socket read
//!   does) followed by `peek_plaintext` + `consume_plaintext` instead of a
//!   `read` into a buffer (the write to a socket that would follow is not
//!   counted).
//! - `full_<key>_<side>`: a full handshake (TLS 1.3, X25519), timing only the
//!   calls of one side; the other side is the same stack, untimed.
//! - `full_pq_ecdsa_p256_<side>`: the same with the post-quantum hybrid
//!   X25519MLKEM768 (the client sends an X25519 share alongside, as both
//!   stacks do by default), against rustls with its aws-lc-rs provider
//!   (ring has no ML-KEM); `ours_x25519` and `rustls_x25519` in the same
//!   group are the classical handshake of each stack (rustls also with
//!   aws-lc-rs), so the hybrid's cost is read from one run.
//! - `resumed_<version>_<side>`: a ticket resumption (TLS 1.3 psk_dhe_ke or
//!   TLS 1.2 ticket), both stacks issuing tickets with their own ticketer.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tls_benches::*;
use tls_core::NamedGroup;

const BATCH: usize = 32;

fn bulk(c: &mut Criterion) {
    let data = vec![0x5au8; RECORD];
    for suite in BULK_SUITES {
        let setup = Setup::new(KeyType::EcdsaP256, suite, false);
        let mut g = c.benchmark_group(format!("bulk_send_{}", suite.name));
        g.throughput(Throughput::Bytes(RECORD as u64));
        let (mut ours, _ours_peer) = ours_pair(setup);
        g.bench_function("ours", |b| b.iter(|| ours.send(black_box(&data))));
        let (mut theirs, _theirs_peer) = rustls_pair(setup);
        g.bench_function("rustls", |b| b.iter(|| theirs.send(black_box(&data))));
        let (ours, _ours_peer) = ours_pair(setup);
        let mut in_place = InPlace(ours);
        g.bench_function("ours_in_place", |b| {
            b.iter(|| in_place.send(black_box(&data)))
        });
        let key = ring_key(suite.aead);
        let mut buf = data.clone();
        let mut seq = 0u64;
        g.bench_function("ring", |b| {
            b.iter(|| {
                seq += 1;
                ring_seal(&key, seq, black_box(&mut buf))
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("bulk_recv_{}", suite.name));
        g.throughput(Throughput::Bytes(RECORD as u64));
        let mut out = vec![0u8; 2 * RECORD];
        let (mut tx, mut rx) = ours_pair(setup);
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| recv_loop(iters, &mut tx, &mut rx, &data, &mut out))
        });
        let (mut tx, rx) = ours_pair(setup);
        let mut rx = InPlace(rx);
        g.bench_function("ours_in_place", |b| {
            b.iter_custom(|iters| recv_loop(iters, &mut tx, &mut rx, &data, &mut out))
        });
        let (mut tx, mut rx) = rustls_pair(setup);
        g.bench_function("rustls", |b| {
            b.iter_custom(|iters| recv_loop(iters, &mut tx, &mut rx, &data, &mut out))
        });
        let mut sealed = data.clone();
        let tag = ring_seal(&key, 7, &mut sealed);
        sealed.extend_from_slice(tag.as_ref());
        g.bench_function("ring", |b| {
            b.iter_batched_ref(
                || sealed.clone(),
                |buf| {
                    let mut nonce = [0u8; 12];
                    nonce[4..].copy_from_slice(&7u64.to_be_bytes());
                    key.open_in_place(
                        ring::aead::Nonce::assume_unique_for_key(nonce),
                        ring::aead::Aad::from([23u8, 3, 3, 0x40, 0x11]),
                        buf,
                    )
                    .expect("open")
                    .len()
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

/// Times `iters` receives; the records are sealed by the same stack's peer
/// beforehand, `BATCH` at a time, untimed.
fn recv_loop<T: BulkSender, R: BulkReceiver>(
    iters: u64,
    tx: &mut T,
    rx: &mut R,
    data: &[u8],
    out: &mut [u8],
) -> Duration {
    let mut spent = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let n = left.min(BATCH);
        let records = sealed_records(tx, data, n);
        let t = Instant::now();
        for r in &records {
            let got = rx.receive(black_box(r), out);
            debug_assert_eq!(got, RECORD);
        }
        spent += t.elapsed();
        left -= n;
    }
    spent
}

fn handshakes(c: &mut Criterion) {
    let full = [
        ("full_ecdsa_p256", KeyType::EcdsaP256, TLS13_AES128),
        ("full_rsa2048", KeyType::Rsa2048, TLS13_AES128),
    ];
    for (name, key, suite) in full {
        let setup = Setup::new(key, suite, false);
        for side in [Side::Server, Side::Client] {
            bench_handshakes(c, name, setup, side, false);
        }
    }
    for side in [Side::Server, Side::Client] {
        bench_pq_handshakes(c, side);
    }
    let resumed = [
        ("resumed_tls13", TLS13_AES128),
        ("resumed_tls12", TLS12_ECDSA_AES128),
    ];
    for (name, suite) in resumed {
        let setup = Setup::new(KeyType::EcdsaP256, suite, true);
        for side in [Side::Server, Side::Client] {
            bench_handshakes(c, name, setup, side, true);
        }
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Server => "server",
        Side::Client => "client",
    }
}

fn bench_handshakes(c: &mut Criterion, name: &str, setup: Setup, side: Side, resume: bool) {
    let mut g = c.benchmark_group(format!("{name}_{}", side_name(side)));
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);

    let cc = ours_client_config(setup);
    let sc = ours_server_config(setup);
    let one = |timed, expect: bool| {
        let t = Instant::now();
        let mut client = ours_client(&cc);
        let built = t.elapsed();
        let t = Instant::now();
        let mut server = tls_core::Connection::server(sc.clone());
        let built_server = t.elapsed();
        let spent = handshake(&mut client, &mut server, timed);
        assert_eq!(
            client.resumed() && server.resumed(),
            expect,
            "ours: resumed?"
        );
        spent
            + match timed {
                Side::Client => built,
                Side::Server => built_server,
            }
    };
    if resume {
        one(Side::Client, false); // a full handshake leaves the first tickets
    }
    g.bench_function("ours", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| one(side, resume)).sum())
    });

    let cc = rustls_client_config(setup);
    let sc = rustls_server_config(setup);
    let one = |timed, expect: bool| {
        let t = Instant::now();
        let mut client = rustls_client(&cc);
        let built = t.elapsed();
        let t = Instant::now();
        let mut server = rustls_server(&sc);
        let built_server = t.elapsed();
        let spent = handshake(&mut client, &mut server, timed);
        assert_eq!(
            client.resumed() && server.resumed(),
            expect,
            "rustls: resumed?"
        );
        spent
            + match timed {
                Side::Client => built,
                Side::Server => built_server,
            }
    };
    if resume {
        one(Side::Client, false);
    }
    g.bench_function("rustls", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| one(side, resume)).sum())
    });
    g.finish();
}

/// `full_pq_ecdsa_p256_<side>`: TLS 1.3 full handshakes over the ECDSA P-256
/// chain, X25519MLKEM768 (`ours`, `rustls`) and X25519 (`ours_x25519`,
/// `rustls_x25519`), rustls with aws-lc-rs throughout. Each handshake checks
/// the group both sides agreed on, and that no HelloRetryRequest was needed.
fn bench_pq_handshakes(c: &mut Criterion, side: Side) {
    let mut g = c.benchmark_group(format!("full_pq_ecdsa_p256_{}", side_name(side)));
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    let runs = [
        ("ours", Stack::Ours, Kx::X25519MlKem768),
        ("rustls", Stack::Rustls, Kx::X25519MlKem768),
        ("ours_x25519", Stack::Ours, Kx::X25519AwsLc),
        ("rustls_x25519", Stack::Rustls, Kx::X25519AwsLc),
    ];
    for (id, stack, kx) in runs {
        let setup = Setup {
            kx,
            ..Setup::new(KeyType::EcdsaP256, TLS13_AES128, false)
        };
        let want = match kx {
            Kx::X25519MlKem768 => NamedGroup::X25519MlKem768,
            Kx::X25519 | Kx::X25519AwsLc => NamedGroup::X25519,
            Kx::P256 => NamedGroup::Secp256r1,
        }
        .to_wire();
        let one: Box<dyn Fn() -> Duration> = match stack {
            Stack::Ours => {
                let (cc, sc) = (ours_client_config(setup), ours_server_config(setup));
                Box::new(move || {
                    let t = Instant::now();
                    let mut client = ours_client(&cc);
                    let built = t.elapsed();
                    let t = Instant::now();
                    let mut server = tls_core::Connection::server(sc.clone());
                    let built_server = t.elapsed();
                    let spent = handshake(&mut client, &mut server, side);
                    check_pq(&client, &server, want, id);
                    assert!(
                        !client.negotiated().is_some_and(|n| n.hello_retry),
                        "{id}: HelloRetryRequest"
                    );
                    spent
                        + if side == Side::Client {
                            built
                        } else {
                            built_server
                        }
                })
            }
            Stack::Rustls => {
                let (cc, sc) = (rustls_client_config(setup), rustls_server_config(setup));
                Box::new(move || {
                    let t = Instant::now();
                    let mut client = rustls_client(&cc);
                    let built = t.elapsed();
                    let t = Instant::now();
                    let mut server = rustls_server(&sc);
                    let built_server = t.elapsed();
                    let spent = handshake(&mut client, &mut server, side);
                    check_pq(&client, &server, want, id);
                    assert_eq!(
                        client.handshake_kind(),
                        Some(rustls::HandshakeKind::Full),
                        "{id}: HelloRetryRequest"
                    );
                    spent
                        + if side == Side::Client {
                            built
                        } else {
                            built_server
                        }
                })
            }
        };
        g.bench_function(id, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| one()).sum())
        });
    }
    g.finish();
}

/// Both sides negotiated `want`.
fn check_pq(client: &dyn Peer, server: &dyn Peer, want: u16, id: &str) {
    assert_eq!(client.group(), Some(want), "{id}: client's group");
    assert_eq!(server.group(), Some(want), "{id}: server's group");
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = bulk, handshakes
}
criterion_main!(benches);
