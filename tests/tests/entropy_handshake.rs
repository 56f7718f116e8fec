//! A full TLS 1.3 handshake in memory where both sides take their randomness
//! from an `entropy` pool seeded only from a deterministic test source, and
//! their time from a fixed clock.
//!
//! Every byte tls-core draws (hello randoms, the legacy session id, ...) goes
//! through the pool; a recording wrapper checks that the randoms on the wire
//! are exactly what the pool gave. ring still draws the ephemeral key shares
//! and the signature nonces from its own `SystemRandom` (the OS here); on a
//! unikernel that is routed into the pool by the entropy crate's
//! `custom-getrandom` hook.

use std::sync::{Arc, Mutex};

use entropy::pool::{NoiseSource, Pool, PoolConfig, SharedPool, SourceKind};
use entropy::{EntropyError, EntropySource};
use tls_core::{
    CertifiedKey, ClientConfig, Clock, Connection, Error, PinnedCertVerifier, ServerConfig,
    SingleCert, UnixTime,
};

/// Deterministic test noise (splitmix64); never for real use.
struct TestSeed(u64);

impl NoiseSource for TestSeed {
    fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in dest.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

/// A clock stopped at one instant.
struct FixedClock(UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

const NOW: UnixTime = UnixTime(1_750_000_000);

/// A pool seeded from `TestSeed(seed)` alone, its reseed timer on a fixed clock.
fn test_pool(seed: u64) -> SharedPool {
    let mut pool = Pool::new(PoolConfig::default());
    pool.add_source("test-seed", SourceKind::Conditioned, TestSeed(seed));
    let shared = SharedPool::new(pool, || 0u64);
    shared.seed().expect("seeded from the test source");
    shared
}

/// Passes draws through and remembers them.
struct Recording {
    inner: SharedPool,
    draws: Mutex<Vec<Vec<u8>>>,
}

impl Recording {
    fn new(inner: SharedPool) -> Arc<Recording> {
        Arc::new(Recording {
            inner,
            draws: Mutex::new(Vec::new()),
        })
    }

    fn draws(&self) -> Vec<Vec<u8>> {
        self.draws.lock().unwrap().clone()
    }
}

impl EntropySource for Recording {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        self.inner.fill(dest)?;
        self.draws.lock().unwrap().push(dest.to_vec());
        Ok(())
    }
}

struct Pki {
    cert_der: Vec<u8>,
    key: CertifiedKey,
}

fn pki() -> Pki {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let certified =
        CertifiedKey::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    Pki {
        cert_der: cert.der().to_vec(),
        key: certified,
    }
}

fn configs(
    pki: Pki,
    client_rng: Arc<dyn EntropySource>,
    server_rng: Arc<dyn EntropySource>,
) -> (ClientConfig, ServerConfig) {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    let client = ClientConfig::new(
        Arc::new(PinnedCertVerifier::new(vec![pki.cert_der])),
        client_rng,
        clock.clone(),
    );
    let server = ServerConfig::new(Arc::new(SingleCert(Arc::new(pki.key))), server_rng, clock);
    (client, server)
}

/// Moves bytes both ways until neither side has anything to send; returns
/// the first flight each side sent.
fn pump(client: &mut Connection, server: &mut Connection) -> (Vec<u8>, Vec<u8>) {
    let (mut first_c, mut first_s) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let to_server = client.pending_tls().to_vec();
        client.consume_tls(to_server.len());
        let to_client = server.pending_tls().to_vec();
        server.consume_tls(to_client.len());
        if to_server.is_empty() && to_client.is_empty() {
            return (first_c, first_s);
        }
        if first_c.is_empty() {
            first_c = to_server.clone();
        }
        if first_s.is_empty() {
            first_s = to_client.clone();
        }
        server.feed(&to_server).expect("server accepts");
        client.feed(&to_client).expect("client accepts");
    }
    panic!("pump did not settle");
}

fn read_all(conn: &mut Connection) -> Vec<u8> {
    let mut out = vec![0u8; conn.plaintext_len()];
    let n = conn.read(&mut out);
    out.truncate(n);
    out
}

/// Offset of the 32-byte random in a first flight that starts with a
/// ClientHello or ServerHello record: record header (5), handshake header (4),
/// legacy_version (2).
const RANDOM: std::ops::Range<usize> = 11..43;

#[test]
fn handshake_with_pool_randomness_and_a_fixed_clock() {
    let client_rng = Recording::new(test_pool(1));
    let server_rng = Recording::new(test_pool(2));
    let (cc, sc) = configs(pki(), client_rng.clone(), server_rng.clone());
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    let (client_hello, server_hello) = pump(&mut client, &mut server);
    assert!(!client.is_handshaking() && !server.is_handshaking());
    assert!(client.error().is_none() && server.error().is_none());

    // The randoms on the wire are the pool's output, drawn in order.
    let c_draws = client_rng.draws();
    let s_draws = server_rng.draws();
    assert!(!c_draws.is_empty() && !s_draws.is_empty());
    assert_eq!(client_hello[0], 22, "handshake record");
    assert_eq!(client_hello[5], 1, "ClientHello");
    assert_eq!(&client_hello[RANDOM], &c_draws[0][..]);
    assert_eq!(server_hello[5], 2, "ServerHello");
    assert!(
        s_draws.iter().any(|d| d[..] == server_hello[RANDOM]),
        "server random drawn from the pool"
    );
    // The legacy session id follows the random: length byte, then the bytes.
    assert_eq!(client_hello[43], 32);
    assert_eq!(&client_hello[44..76], &c_draws[1][..]);

    // Application data both ways.
    client.write(b"ping through the pool").unwrap();
    server.write(b"pong").unwrap();
    pump(&mut client, &mut server);
    assert_eq!(read_all(&mut server), b"ping through the pool");
    assert_eq!(read_all(&mut client), b"pong");
}

#[test]
fn the_same_test_seed_replays_the_same_hello_random() {
    let hello_random = || {
        let rng = Recording::new(test_pool(7));
        let (cc, _) = configs(pki(), rng.clone(), Arc::new(test_pool(8)));
        let client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
        client.pending_tls()[RANDOM].to_vec()
    };
    assert_eq!(hello_random(), hello_random());
}

#[test]
fn an_unseeded_pool_stops_the_handshake_before_it_starts() {
    let mut pool = Pool::new(PoolConfig::default());
    pool.add_source("test-seed", SourceKind::Conditioned, TestSeed(3));
    let unseeded: Arc<dyn EntropySource> = Arc::new(SharedPool::new(pool, || 0u64));
    let (cc, _) = configs(pki(), unseeded, Arc::new(test_pool(4)));
    let err = Connection::client(Arc::new(cc), Some("localhost")).err();
    assert_eq!(err, Some(Error::Entropy));
}
