//! Shared by the fuzz targets, the corpus generator and the differential
//! replay test: deterministic randomness and time, a fixed server identity,
//! the loop that feeds an engine the fuzzer's bytes, and the differential
//! harness against rustls.
//!
//! # What is deterministic
//!
//! - The engine's own randomness (`config.rng`: client/server randoms,
//!   session ids, ticket nonces) is [`FixedEntropy`] and its clock is
//!   [`FixedClock`], so everything the engine draws from its config repeats.
//! - The server identity is an Ed25519 key from a fixed seed and a
//!   self-signed certificate over it with fixed dates and serial
//!   ([`server_identity`]); Ed25519 signatures are deterministic.
//! - Not deterministic: ring draws ECDHE private keys (and ECDSA nonces, not
//!   used here) from the OS — its `SecureRandom` is sealed. So the key_share
//!   the engine sends, and everything encrypted after the ServerHello,
//!   differ between runs.
//! - Therefore: the fuzz input alone decides what the engine is fed and
//!   every accept/reject decision it makes (a peer's bytes can only pass the
//!   first AEAD check with negligible probability, in any run), and a crash
//!   reproduces from its artifact. The bytes the engine *sends* after its
//!   key_share are not reproducible byte for byte.

pub mod diff;
#[cfg(feature = "three-way")]
pub mod diff3;
pub mod triage;
#[cfg(feature = "three-way")]
pub mod triage3;

use std::sync::{Arc, OnceLock};

/// What a differential target does with a disagreement of class `class`
/// that no triage entry covers: with `DIFF_LOG_DIR` set, the input is
/// written there (one file per class, with the class beside it) and fuzzing
/// goes on, for triage runs; otherwise it panics, so libFuzzer saves it.
pub fn untriaged(class: &str, data: &[u8]) {
    if let Some(dir) = std::env::var_os("DIFF_LOG_DIR").filter(|d| !d.is_empty()) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        class.hash(&mut h);
        let path = std::path::Path::new(&dir).join(format!("{:016x}", h.finish()));
        if !path.exists() {
            let _ = std::fs::write(&path, data);
            let _ = std::fs::write(path.with_extension("class"), class);
        }
        return;
    }
    panic!("untriaged disagreement: {class}");
}

use tls_core::{
    CertifiedKey, Clock, Connection, EntropyError, EntropySource, SigningKey, UnixTime,
};

/// Deterministic "randomness", so a crash reproduces byte for byte. The
/// seed tells the two sides of an in-memory handshake apart (with the same
/// bytes, a TLS 1.2 server would "echo" the client's random session id).
pub struct FixedEntropy(pub u8);

/// The seed our clients use.
pub const CLIENT_SEED: u8 = 1;
/// The seed our servers use.
pub const SERVER_SEED: u8 = 2;

impl EntropySource for FixedEntropy {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7) ^ self.0.wrapping_mul(0x5b);
        }
        Ok(())
    }
}

/// A fixed time (2026-01-01).
pub struct FixedClock;

/// The time [`FixedClock`] reports.
pub const FIXED_NOW: UnixTime = UnixTime(1_767_225_600);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        FIXED_NOW
    }
}

/// A PKCS#8 v1 Ed25519 private key from a fixed seed (RFC 8410 §7 layout).
pub fn ed25519_pkcs8(seed_byte: u8) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend((0..32u8).map(|i| i.wrapping_mul(seed_byte).wrapping_add(1)));
    der
}

/// The fixed server identity: (certificate DER, PKCS#8 key DER), for
/// "localhost", self-signed with Ed25519 (deterministic signatures; rcgen's
/// default dates are fixed and its serial is derived from the key).
pub fn server_identity() -> &'static (Vec<u8>, Vec<u8>) {
    static ID: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    ID.get_or_init(|| {
        let pkcs8 = ed25519_pkcs8(3);
        let key = rcgen::KeyPair::try_from(pkcs8.as_slice()).expect("rcgen loads the key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("certificate");
        (cert.der().to_vec(), pkcs8)
    })
}

/// [`server_identity`] as tls-core wants it.
pub fn certified_key() -> Arc<CertifiedKey> {
    let (cert, key) = server_identity();
    Arc::new(
        CertifiedKey::new(
            vec![cert.clone()],
            SigningKey::from_der(key).expect("tls-core loads the key"),
        )
        .unwrap(),
    )
}

/// Feeds `data` to `conn` as the peer's bytes. The first byte picks how the
/// rest is cut into `feed` calls (whole, or pieces of 1..=64 bytes), to
/// exercise record and handshake reassembly. Nothing here may panic; a fatal
/// error must poison the connection.
pub fn drive(conn: &mut Connection, data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let piece = if control & 0x80 == 0 {
        rest.len().max(1)
    } else {
        usize::from(control & 0x3f) + 1
    };
    let mut buf = [0u8; 4096];
    for chunk in rest.chunks(piece) {
        let result = conn.feed(chunk);
        // Take whatever the engine wants to send, and any plaintext.
        let pending = conn.pending_tls().len();
        conn.consume_tls(pending);
        while conn.read(&mut buf) > 0 {}
        while conn.next_event().is_some() {}
        if let Err(e) = result {
            // Poisoned: every later call fails with the same error.
            assert_eq!(conn.error(), Some(&e));
            assert_eq!(conn.feed(b"\x17\x03\x03\x00\x01\x00"), Err(e.clone()));
            assert_eq!(conn.write(b"after failure"), Err(e));
            return;
        }
    }
    // Exercise the sending side in whatever state the input left us.
    let _ = conn.write(b"0123456789");
    let _ = conn.update_keys(true);
    let mut ekm = [0u8; 32];
    let _ = conn.export_keying_material(&mut ekm, b"EXPORTER-fuzz", Some(b"ctx"));
    conn.close();
    let pending = conn.pending_tls().len();
    conn.consume_tls(pending);
    let _ = conn.negotiated();
    let _ = conn.is_handshaking();
}

/// Splits `data` into length-prefixed pieces (u16 big-endian length, then
/// that many bytes; a short final piece takes what is left).
pub fn split_pieces(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let n = n.min(rest.len());
        out.push(&rest[..n]);
        data = &rest[n..];
    }
    out
}

/// The inverse of [`split_pieces`], for the corpus generator.
pub fn join_pieces<T: AsRef<[u8]>>(pieces: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        let p = p.as_ref();
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}
