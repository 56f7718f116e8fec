//! One instruction-count scenario per run, for `benches/icount.sh`, which
//! runs it under `valgrind --tool=callgrind --toggle-collect=icount::measured`:
//!
//!     icount list                      # "<scenario> <units>" a line: handshakes or bytes counted
//!     icount <scenario> <ours|rustls>  # run one
//!
//! Every call the measured side makes goes through [`measured`], and nothing
//! else does: callgrind then counts only those calls (set-up, the PKI, the
//! warm-up handshake and the other side's calls are not counted). A
//! handshake scenario runs both sides in one thread, over memory, the same
//! way for both stacks; `_client` counts the client's calls (building it,
//! building its ClientHello, every feed and output call, dropping it),
//! `_server` the server's. Bulk scenarios count one side moving 1 MiB in
//! 16 KiB records: `send` seals (write + take the records out), `recv` opens
//! (feed + read the plaintext out); the peer seals the records beforehand.
//! The `_in_place` rows drive tls-core through its zero-copy calls
//! ([`InPlace`]: `write_with` seals where the caller produced the plaintext,
//! `feed_with` + `peek_plaintext` opens where the record was received),
//! against the same rustls calls as the plain rows (rustls has no such
//! calls).

use std::hint::black_box;

use tls_benches::*;
use tls_core::NamedGroup;

/// Handshakes counted per handshake scenario (after one uncounted warm-up).
const HANDSHAKES: usize = 2;
/// Plaintext moved by a bulk scenario.
const BULK_BYTES: usize = 1 << 20;

/// What a scenario measures.
#[derive(Clone, Copy)]
enum Work {
    Handshake {
        side: Side,
        resume: bool,
    },
    Send,
    Recv,
    /// `Send` with tls-core's in-place calls.
    SendInPlace,
    /// `Recv` with tls-core's in-place calls.
    RecvInPlace,
}

struct Scenario {
    name: String,
    setup: Setup,
    work: Work,
}

fn scenarios() -> Vec<Scenario> {
    let p256 = |suite, kx| Setup {
        kx,
        ..Setup::new(KeyType::EcdsaP256, suite, false)
    };
    let handshakes = [
        (
            "full_tls13_ecdsa_x25519",
            p256(TLS13_AES128, Kx::X25519),
            false,
        ),
        ("full_tls13_ecdsa_p256", p256(TLS13_AES128, Kx::P256), false),
        (
            "full_tls13_rsa_x25519",
            Setup::new(KeyType::Rsa2048, TLS13_AES128, false),
            false,
        ),
        (
            "full_tls12_ecdsa_x25519",
            p256(TLS12_ECDSA_AES128, Kx::X25519),
            false,
        ),
        (
            "full_tls12_rsa_x25519",
            Setup::new(KeyType::Rsa2048, TLS12_RSA_AES128, false),
            false,
        ),
        (
            "full_tls13_ecdsa_x25519mlkem768",
            p256(TLS13_AES128, Kx::X25519MlKem768),
            false,
        ),
        (
            "resumed_tls13",
            Setup::new(KeyType::EcdsaP256, TLS13_AES128, true),
            true,
        ),
        (
            "resumed_tls12",
            Setup::new(KeyType::EcdsaP256, TLS12_ECDSA_AES128, true),
            true,
        ),
    ];
    let mut all = Vec::new();
    for (name, setup, resume) in handshakes {
        for (side, side_name) in [(Side::Client, "client"), (Side::Server, "server")] {
            all.push(Scenario {
                name: format!("{name}_{side_name}"),
                setup,
                work: Work::Handshake { side, resume },
            });
        }
    }
    for suite in [TLS13_AES128, TLS13_AES256, TLS13_CHACHA] {
        let works = [
            (Work::Send, "send"),
            (Work::Recv, "recv"),
            (Work::SendInPlace, "send_in_place"),
            (Work::RecvInPlace, "recv_in_place"),
        ];
        for (work, what) in works {
            all.push(Scenario {
                name: format!("bulk_{}_{what}", suite.name),
                setup: Setup::new(KeyType::EcdsaP256, suite, false),
                work,
            });
        }
    }
    all
}

/// Whether [`step`] counts the side's calls yet (off during the warm-up).
static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The one function callgrind collects inside.
#[inline(never)]
fn measured(f: &mut dyn FnMut()) {
    f();
    black_box(());
}

/// Runs `f`, through [`measured`] if `on` and counting has started.
fn step(on: bool, mut f: impl FnMut()) {
    if on && COUNTING.load(std::sync::atomic::Ordering::Relaxed) {
        measured(&mut f);
    } else {
        f();
    }
}

/// One handshake over memory (tickets that follow it delivered too), the
/// calls of `side`'s connection counted. `new_client`/`new_server` build
/// the connections (counted for their side), which are dropped at the end
/// (counted too).
fn handshake<P: Peer>(
    new_client: impl FnOnce() -> P,
    new_server: impl FnOnce() -> P,
    side: Side,
) -> (bool, Option<u16>) {
    let (on_c, on_s) = (side == Side::Client, side == Side::Server);
    let (mut client, mut server) = (None, None);
    let mut new_client = Some(new_client);
    let mut new_server = Some(new_server);
    step(on_c, || client = new_client.take().map(|f| f()));
    step(on_s, || server = new_server.take().map(|f| f()));
    let (Some(mut c), Some(mut s)) = (client, server) else {
        unreachable!("both built")
    };
    let mut c2s = Vec::with_capacity(4096);
    let mut s2c = Vec::with_capacity(8192);
    let mut settled = false;
    for _ in 0..20 {
        c2s.clear();
        s2c.clear();
        step(on_c, || c.take_output(&mut c2s));
        if !c2s.is_empty() {
            step(on_s, || s.feed_all(&c2s));
        }
        step(on_s, || s.take_output(&mut s2c));
        if !s2c.is_empty() {
            step(on_c, || c.feed_all(&s2c));
        }
        if c2s.is_empty() && s2c.is_empty() {
            settled = true;
            break;
        }
    }
    assert!(
        settled && !c.handshaking() && !s.handshaking(),
        "handshake stalled"
    );
    let resumed = c.resumed() && s.resumed();
    let group = c.group();
    assert_eq!(group, s.group(), "both sides' group");
    let mut c = Some(c);
    let mut s = Some(s);
    step(on_c, || drop(c.take()));
    step(on_s, || drop(s.take()));
    (resumed, group)
}

fn expected_group(kx: Kx) -> u16 {
    match kx {
        Kx::X25519 | Kx::X25519AwsLc => NamedGroup::X25519,
        Kx::X25519MlKem768 => NamedGroup::X25519MlKem768,
        Kx::P256 => NamedGroup::Secp256r1,
    }
    .to_wire()
}

/// Runs `one` once uncounted (twice for a resumption: the full handshake
/// leaves the tickets), then [`HANDSHAKES`] times counted, checking each.
fn handshakes(one: &mut dyn FnMut() -> (bool, Option<u16>), setup: Setup, resume: bool) {
    let want = Some(expected_group(setup.kx));
    // A TLS 1.2 resumption exchanges no key: rustls reports the original
    // session's group, tls-core none. Not compared there.
    let check = |(resumed, group): (bool, Option<u16>), expect: bool, what: &str| {
        assert_eq!(resumed, expect, "{what}: resumed?");
        if !(resumed && setup.suite.tls12) {
            assert_eq!(group, want, "{what}: group");
        }
    };
    if resume {
        check(one(), false, "the first handshake");
    }
    check(one(), resume, "warm-up");
    COUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..HANDSHAKES {
        check(one(), resume, "counted");
    }
}

/// Moves [`BULK_BYTES`] from `tx` to `rx`, counting `tx`'s calls (`Send`)
/// or `rx`'s (`Recv`).
fn bulk<T: BulkSender + BulkReceiver>(tx: &mut T, rx: &mut T, work: Work) {
    let data = vec![0x5au8; RECORD];
    let mut plain = vec![0u8; 2 * RECORD];
    let count = BULK_BYTES / RECORD;
    // Warm-up (uncounted): one record each way through the same calls.
    let warm = sealed_records(tx, &data, 1);
    let got: usize = warm.iter().map(|r| rx.receive(r, &mut plain)).sum();
    assert_eq!(got, RECORD);
    COUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
    match work {
        Work::Send | Work::SendInPlace => {
            let mut sent = 0;
            step(true, || {
                for _ in 0..count {
                    sent += tx.send(black_box(&data));
                }
            });
            assert!(sent > BULK_BYTES, "sealed {sent}");
        }
        _ => {
            COUNTING.store(false, std::sync::atomic::Ordering::Relaxed);
            let records = sealed_records(tx, &data, count);
            COUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
            let mut got = 0;
            step(true, || {
                for r in &records {
                    got += rx.receive(black_box(r), &mut plain);
                }
            });
            assert_eq!(got, BULK_BYTES);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let all = scenarios();
    let name = args.get(1).map(String::as_str).unwrap_or("list");
    if name == "list" {
        for s in &all {
            let units = match s.work {
                Work::Handshake { .. } => HANDSHAKES,
                _ => BULK_BYTES,
            };
            println!("{} {units}", s.name);
        }
        return;
    }
    let Some(scenario) = all.iter().find(|s| s.name == name) else {
        eprintln!("icount: unknown scenario {name} (`icount list` names them)");
        std::process::exit(2);
    };
    let stack = match args.get(2).map(String::as_str) {
        Some("ours") => Stack::Ours,
        Some("rustls") => Stack::Rustls,
        _ => {
            eprintln!("icount: usage: icount <scenario> <ours|rustls>");
            std::process::exit(2);
        }
    };
    let setup = scenario.setup;
    match (scenario.work, stack) {
        (Work::Handshake { side, resume }, Stack::Ours) => {
            let (cc, sc) = (ours_client_config(setup), ours_server_config(setup));
            let mut one = || {
                handshake(
                    || ours_client(&cc),
                    || tls_core::Connection::server(sc.clone()),
                    side,
                )
            };
            handshakes(&mut one, setup, resume);
        }
        (Work::Handshake { side, resume }, Stack::Rustls) => {
            let (cc, sc) = (rustls_client_config(setup), rustls_server_config(setup));
            let mut one = || handshake(|| rustls_client(&cc), || rustls_server(&sc), side);
            handshakes(&mut one, setup, resume);
        }
        (work @ (Work::SendInPlace | Work::RecvInPlace), Stack::Ours) => {
            let (tx, rx) = ours_pair(setup);
            bulk(&mut InPlace(tx), &mut InPlace(rx), work);
        }
        (work, Stack::Ours) => {
            let (mut tx, mut rx) = ours_pair(setup);
            bulk(&mut tx, &mut rx, work);
        }
        (work, Stack::Rustls) => {
            let (mut tx, mut rx) = rustls_pair(setup);
            bulk(&mut tx, &mut rx, work);
        }
    }
}
