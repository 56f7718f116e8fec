//! TLS 1.2 key derivation: the PRF (RFC 5246 §5), the master secret with or
//! without the extended master secret (RFC 7627), the key block that becomes
//! the two [`RecordKey12`]s, Finished verify_data and RFC 5705 exporters.
//! The handshakes in `client::tls12` and `server::tls12` call these; the
//! resulting record keys go to the connection's record layer.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::suites::Tls12Suite;
use crate::crypto::{AeadAlg, HashAlg, HmacKey, RecordKey12, Secret};
use crate::error::Error;
use crate::msgs::handshake::check_verify_data_len;
use crate::Side;

/// The TLS 1.2 PRF with the suite hash (RFC 5246 §5): P_hash(secret, label || seed).
pub(crate) fn prf(hash: HashAlg, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    prf_with_key(hash, &HmacKey::new(hash, secret), label, seed, out);
}

/// [`prf`] with the secret's HMAC key already set up.
fn prf_with_key(hash: HashAlg, key: &HmacKey, label: &[u8], seed: &[u8], out: &mut [u8]) {
    let mut a = key.sign(&[label, seed]);
    let mut chunks = out.chunks_mut(hash.output_len()).peekable();
    while let Some(chunk) = chunks.next() {
        let block = key.sign(&[a.as_ref(), label, seed]);
        if let Some(src) = block.as_ref().get(..chunk.len()) {
            chunk.copy_from_slice(src);
        }
        // A(i+1) only when another block follows.
        if chunks.peek().is_some() {
            a = key.sign(&[a.as_ref()]);
        }
    }
}

/// The length of a TLS 1.2 master secret.
pub(crate) const MASTER_SECRET_LEN: usize = 48;

/// The master secret: with the extended master secret (RFC 7627 §4) when
/// `session_hash` (the transcript hash through ClientKeyExchange) is given,
/// otherwise the RFC 5246 §8.1 form over the two randoms.
pub(crate) fn master_secret(
    hash: HashAlg,
    pre_master: &[u8],
    session_hash: Option<&[u8]>,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<Secret, Error> {
    let mut out = Zeroizing::new([0u8; MASTER_SECRET_LEN]);
    match session_hash {
        Some(h) => prf(hash, pre_master, b"extended master secret", h, &mut *out),
        None => {
            let mut seed = [0u8; 64];
            seed[..32].copy_from_slice(client_random);
            seed[32..].copy_from_slice(server_random);
            prf(hash, pre_master, b"master secret", &seed, &mut *out);
        }
    }
    Secret::from_slice(&*out)
}

/// A TLS 1.2 connection's two record keys, named from its own side: the
/// key block (RFC 5246 §6.3) holds the client's write key first, and
/// [`record_keys`] hands each to the side that uses it for that purpose, so
/// no caller splits a `(client, server)` pair by hand.
pub(crate) struct RecordKeys12 {
    /// Opens what the peer sends.
    pub(crate) read: RecordKey12,
    /// Seals what we send.
    pub(crate) write: RecordKey12,
}

/// The record keys of both directions, from the key block (RFC 5246 §6.3),
/// for the side `ours`.
pub(crate) fn record_keys(
    ours: Side,
    suite: &Tls12Suite,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<RecordKeys12, Error> {
    let key_len = suite.aead.key_len();
    let iv_len = implicit_iv_len(suite.aead);
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(server_random);
    seed[32..].copy_from_slice(client_random);
    let mut block = Zeroizing::new(alloc::vec![0u8; 2 * key_len + 2 * iv_len]);
    prf(suite.hash, master, b"key expansion", &seed, &mut block);
    let part = |from: usize, len: usize| {
        block
            .get(from..from + len)
            .ok_or(Error::Internal("key block too short"))
    };
    let client = RecordKey12::new(suite.aead, part(0, key_len)?, part(2 * key_len, iv_len)?)?;
    let server = RecordKey12::new(
        suite.aead,
        part(key_len, key_len)?,
        part(2 * key_len + iv_len, iv_len)?,
    )?;
    Ok(match ours {
        Side::Client => RecordKeys12 {
            read: server,
            write: client,
        },
        Side::Server => RecordKeys12 {
            read: client,
            write: server,
        },
    })
}

/// Finished verify_data length in TLS 1.2.
pub(crate) const VERIFY_DATA_LEN: usize = 12;

/// verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..12],
/// the label that of `sender`, the side that sends this Finished.
pub(crate) fn finished_verify_data(
    hash: HashAlg,
    master: &[u8],
    sender: Side,
    transcript_hash: &[u8],
) -> [u8; VERIFY_DATA_LEN] {
    verify_data_with_key(hash, &HmacKey::new(hash, master), sender, transcript_hash)
}

/// [`finished_verify_data`] with the master secret's HMAC key set up.
fn verify_data_with_key(
    hash: HashAlg,
    master: &HmacKey,
    sender: Side,
    transcript_hash: &[u8],
) -> [u8; VERIFY_DATA_LEN] {
    let label: &[u8] = match sender {
        Side::Client => b"client finished",
        Side::Server => b"server finished",
    };
    let mut out = [0u8; VERIFY_DATA_LEN];
    prf_with_key(hash, master, label, transcript_hash, &mut out);
    out
}

/// Proof that the peer's TLS 1.2 Finished verified: only
/// [`check_finished12`] makes one.
#[derive(Debug)]
pub(crate) struct Finished12Verified(());

/// Checks the peer's Finished in constant time (both values are HMACed under
/// the master secret and the tags compared by [`hmac_verify`]); `sender` is
/// the peer's side.
pub(crate) fn check_finished12(
    hash: HashAlg,
    master: &[u8],
    sender: Side,
    transcript_hash: &[u8],
    received: &[u8],
) -> Result<Finished12Verified, Error> {
    // verify_data is 12 bytes for every suite we have (RFC 5246 §7.4.9).
    check_verify_data_len(received, VERIFY_DATA_LEN)?;
    // One HMAC key under the master secret for the PRF and both HMACs.
    let key = HmacKey::new(hash, master);
    let expected = verify_data_with_key(hash, &key, sender, transcript_hash);
    let tag = key.sign(&[&expected]);
    key.verify(received, tag.as_ref())?;
    Ok(Finished12Verified(()))
}

/// RFC 5705 keying material: PRF(master, label, client_random || server_random
/// [|| context_len || context]). An absent context and an empty one differ.
pub(crate) fn export(
    hash: HashAlg,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    label: &[u8],
    context: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(), Error> {
    const RESERVED: [&[u8]; 4] = [
        b"client finished",
        b"server finished",
        b"master secret",
        b"key expansion",
    ];
    if RESERVED.contains(&label) || label.starts_with(b"extended master secret") {
        return Err(Error::Misuse("exporter label reserved by TLS"));
    }
    let mut seed = Vec::with_capacity(64 + 2 + context.map_or(0, <[u8]>::len));
    seed.extend_from_slice(client_random);
    seed.extend_from_slice(server_random);
    if let Some(context) = context {
        let len =
            u16::try_from(context.len()).map_err(|_| Error::Misuse("exporter context too long"))?;
        seed.extend_from_slice(&len.to_be_bytes());
        seed.extend_from_slice(context);
    }
    prf(hash, master, label, &seed, out);
    Ok(())
}

/// Bytes of the write IV taken from the key block: the 4-byte GCM salt
/// (RFC 5288 §3) or the 12-byte ChaCha20-Poly1305 IV (RFC 7905 §2).
fn implicit_iv_len(alg: AeadAlg) -> usize {
    match alg {
        AeadAlg::Aes128Gcm | AeadAlg::Aes256Gcm => 4,
        AeadAlg::Chacha20Poly1305 => 12,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;
    use crate::msgs::enums::ContentType;
    use crate::tls12::suites::ALL_TLS12_SUITES;

    #[test]
    fn prf_sha256_known_answer() {
        // Computed with `openssl kdf -kdfopt digest:SHA256 ... TLS1-PRF`.
        let mut out = [0u8; 100];
        prf(
            HashAlg::Sha256,
            &unhex("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &unhex("a0ba9f936cda311827a6f796ffd5198c"),
            &mut out,
        );
        assert_eq!(&out[..], &unhex(PRF_SHA256_OUT)[..]);
    }

    const PRF_SHA256_OUT: &str = "
        e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a
        6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab
        4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701
        87347b66";

    #[test]
    fn records_round_trip_for_every_suite() {
        for suite in ALL_TLS12_SUITES {
            let master = [5u8; 48];
            // c1 seals as the client; c2 opens as the server; s2 is the
            // server's write key, which must not open the client's records.
            let c1 = record_keys(Side::Client, suite, &master, &[1; 32], &[2; 32])
                .unwrap()
                .write;
            let server = record_keys(Side::Server, suite, &master, &[1; 32], &[2; 32]).unwrap();
            let (c2, s2) = (server.read, server.write);
            let mut wire = alloc::vec![0u8; 5 + c1.explicit_nonce_len() + 5 + RecordKey12::TAG_LEN];
            let at = 5 + c1.explicit_nonce_len();
            wire[at..at + 5].copy_from_slice(b"hello");
            let len = c1
                .seal_in_place(7, ContentType::ApplicationData, &mut wire, 5)
                .unwrap();
            assert_eq!(len, wire.len());
            assert_eq!(wire[..5], [23, 3, 3, 0, (len - 5) as u8]);
            if at > 5 {
                assert_eq!(wire[5..at], 7u64.to_be_bytes(), "explicit nonce");
            }
            let mut short = alloc::vec![0u8; len - 1];
            assert!(c1
                .seal_in_place(8, ContentType::ApplicationData, &mut short, 5)
                .is_err());
            let mut body = wire[5..].to_vec();
            let explicit = c2.explicit_nonce_len();
            assert_eq!(
                c2.open(7, ContentType::ApplicationData, &mut body).unwrap(),
                b"hello"
            );
            let mut body = wire[5..].to_vec();
            assert_eq!(
                c2.open(8, ContentType::ApplicationData, &mut body),
                Err(Error::BadRecordMac)
            );
            let mut body = wire[5..].to_vec();
            assert_eq!(
                c2.open(7, ContentType::Handshake, &mut body),
                Err(Error::BadRecordMac)
            );
            let mut body = wire[5..].to_vec();
            assert_eq!(
                s2.open(7, ContentType::ApplicationData, &mut body),
                Err(Error::BadRecordMac)
            );
            let mut short = alloc::vec![0u8; explicit + RecordKey12::TAG_LEN - 1];
            assert_eq!(
                c2.open(0, ContentType::ApplicationData, &mut short),
                Err(Error::BadRecordMac)
            );
        }
    }

    #[test]
    fn finished_and_exporter() {
        let h = [9u8; 32];
        let vd = finished_verify_data(HashAlg::Sha256, &[1; 48], Side::Client, &h);
        assert!(check_finished12(HashAlg::Sha256, &[1; 48], Side::Client, &h, &vd).is_ok());
        assert_eq!(
            check_finished12(HashAlg::Sha256, &[1; 48], Side::Server, &h, &vd).map(|_| ()),
            Err(Error::DecryptError("bad Finished"))
        );
        // The wrong length is a malformed message, not a wrong MAC.
        let mut long = vd.to_vec();
        long.push(0);
        for wrong in [&vd[..11], &long[..], &[][..]] {
            assert_eq!(
                check_finished12(HashAlg::Sha256, &[1; 48], Side::Client, &h, wrong).map(|_| ()),
                Err(Error::Decode("Finished of the wrong length"))
            );
        }
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        export(
            HashAlg::Sha256,
            &[1; 48],
            &[1; 32],
            &[2; 32],
            b"EXP",
            None,
            &mut a,
        )
        .unwrap();
        export(
            HashAlg::Sha256,
            &[1; 48],
            &[1; 32],
            &[2; 32],
            b"EXP",
            Some(b""),
            &mut b,
        )
        .unwrap();
        assert_ne!(a, b, "absent and empty contexts differ in TLS 1.2");
        assert!(export(
            HashAlg::Sha256,
            &[1; 48],
            &[1; 32],
            &[2; 32],
            b"key expansion",
            None,
            &mut a
        )
        .is_err());
    }
}
