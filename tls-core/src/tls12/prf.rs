//! TLS 1.2 cryptography: the ECDHE+AEAD suites (RFC 5289, RFC 7905), the PRF
//! (RFC 5246 §5), the extended master secret (RFC 7627), the key block,
//! Finished and exporters (RFC 5705), record protection with the explicit
//! (AES-GCM, RFC 5288) or XOR (ChaCha20-Poly1305) nonce, and the signatures
//! TLS 1.2 allows in ServerKeyExchange and CertificateVerify.

use alloc::vec::Vec;
use core::fmt;

use ring::{aead, hmac, signature};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::AeadAlg;
use crate::crypto::HashAlg;
use crate::crypto::Secret;
use crate::crypto::{parse_spki, SpkiAlg};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, ContentType, SignatureScheme};

/// Which certificate key a TLS 1.2 suite's server signs its key exchange with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuiteAuth {
    /// ECDHE_ECDSA: an ECDSA or Ed25519 key (RFC 8422).
    Ecdsa,
    /// ECDHE_RSA: an RSA key.
    Rsa,
}

impl SuiteAuth {
    /// True when a certificate key of type `key` can authenticate this suite.
    pub fn accepts(self, key: SpkiAlg) -> bool {
        matches!(
            (self, key),
            (
                SuiteAuth::Ecdsa,
                SpkiAlg::EcdsaP256 | SpkiAlg::EcdsaP384 | SpkiAlg::Ed25519
            ) | (SuiteAuth::Rsa, SpkiAlg::Rsa)
        )
    }
}

/// A TLS 1.2 cipher suite: ECDHE key exchange, an AEAD, the PRF hash.
#[derive(Debug, PartialEq, Eq)]
pub struct Tls12Suite {
    /// The wire value.
    pub suite: CipherSuite,
    /// The PRF and transcript hash.
    pub hash: HashAlg,
    /// The record protection.
    pub aead: AeadAlg,
    /// How the server authenticates.
    pub auth: SuiteAuth,
}

macro_rules! suite12 {
    ($(#[$doc:meta])* $name:ident, $cs:ident, $hash:ident, $aead:ident, $auth:ident) => {
        $(#[$doc])*
        pub static $name: Tls12Suite = Tls12Suite {
            suite: CipherSuite::$cs,
            hash: HashAlg::$hash,
            aead: AeadAlg::$aead,
            auth: SuiteAuth::$auth,
        };
    };
}

suite12!(
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    TLS12_ECDHE_ECDSA_AES128_GCM, EcdheEcdsaAes128GcmSha256, Sha256, Aes128Gcm, Ecdsa
);
suite12!(
    /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    TLS12_ECDHE_ECDSA_AES256_GCM, EcdheEcdsaAes256GcmSha384, Sha384, Aes256Gcm, Ecdsa
);
suite12!(
    /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    TLS12_ECDHE_ECDSA_CHACHA20, EcdheEcdsaChacha20Poly1305Sha256, Sha256, Chacha20Poly1305, Ecdsa
);
suite12!(
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    TLS12_ECDHE_RSA_AES128_GCM, EcdheRsaAes128GcmSha256, Sha256, Aes128Gcm, Rsa
);
suite12!(
    /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    TLS12_ECDHE_RSA_AES256_GCM, EcdheRsaAes256GcmSha384, Sha384, Aes256Gcm, Rsa
);
suite12!(
    /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    TLS12_ECDHE_RSA_CHACHA20, EcdheRsaChacha20Poly1305Sha256, Sha256, Chacha20Poly1305, Rsa
);

/// Every TLS 1.2 suite, in our order of preference.
pub static ALL_TLS12_SUITES: &[&Tls12Suite] = &[
    &TLS12_ECDHE_ECDSA_AES128_GCM,
    &TLS12_ECDHE_ECDSA_AES256_GCM,
    &TLS12_ECDHE_ECDSA_CHACHA20,
    &TLS12_ECDHE_RSA_AES128_GCM,
    &TLS12_ECDHE_RSA_AES256_GCM,
    &TLS12_ECDHE_RSA_CHACHA20,
];

/// The suite for a wire value, if it is a TLS 1.2 suite we implement.
pub fn tls12_suite(cs: CipherSuite) -> Option<&'static Tls12Suite> {
    ALL_TLS12_SUITES.iter().copied().find(|s| s.suite == cs)
}

/// The TLS 1.2 PRF with the suite hash (RFC 5246 §5): P_hash(secret, label || seed).
pub fn prf(hash: HashAlg, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let key = hmac::Key::new(hash.ring_hmac(), secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(label);
    ctx.update(seed);
    let mut a = ctx.sign();
    let mut chunks = out.chunks_mut(hash.output_len()).peekable();
    while let Some(chunk) = chunks.next() {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        ctx.update(label);
        ctx.update(seed);
        let block = ctx.sign();
        if let Some(src) = block.as_ref().get(..chunk.len()) {
            chunk.copy_from_slice(src);
        }
        // A(i+1) only when another block follows.
        if chunks.peek().is_some() {
            a = hmac::sign(&key, a.as_ref());
        }
    }
}

/// The length of a TLS 1.2 master secret.
pub const MASTER_SECRET_LEN: usize = 48;

/// The master secret: with the extended master secret (RFC 7627 §4) when
/// `session_hash` (the transcript hash through ClientKeyExchange) is given,
/// otherwise the RFC 5246 §8.1 form over the two randoms.
pub fn master_secret(
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

/// The record keys of both directions, from the key block (RFC 5246 §6.3).
pub fn record_keys(
    suite: &Tls12Suite,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<(RecordKey12, RecordKey12), Error> {
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
    Ok((client, server))
}

/// Finished verify_data length in TLS 1.2.
pub const VERIFY_DATA_LEN: usize = 12;

/// verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))[0..12].
pub fn finished_verify_data(
    hash: HashAlg,
    master: &[u8],
    from_client: bool,
    transcript_hash: &[u8],
) -> [u8; VERIFY_DATA_LEN] {
    let label: &[u8] = if from_client {
        b"client finished"
    } else {
        b"server finished"
    };
    let mut out = [0u8; VERIFY_DATA_LEN];
    prf(hash, master, label, transcript_hash, &mut out);
    out
}

/// Proof that the peer's TLS 1.2 Finished verified: only
/// [`check_finished12`] makes one.
#[derive(Debug)]
pub struct Finished12Verified(());

/// Checks the peer's Finished in constant time (both values are HMACed under
/// the master secret and the tags compared with `ring::hmac::verify`).
pub fn check_finished12(
    hash: HashAlg,
    master: &[u8],
    from_client: bool,
    transcript_hash: &[u8],
    received: &[u8],
) -> Result<Finished12Verified, Error> {
    // verify_data is 12 bytes for every suite we have (RFC 5246 §7.4.9):
    // another length is malformed, decode_error as OpenSSL answers it.
    if received.len() != VERIFY_DATA_LEN {
        return Err(Error::Decode("Finished of the wrong length"));
    }
    let expected = finished_verify_data(hash, master, from_client, transcript_hash);
    let key = hmac::Key::new(hash.ring_hmac(), master);
    let tag = hmac::sign(&key, &expected);
    hmac::verify(&key, received, tag.as_ref()).map_err(|_| Error::DecryptError("bad Finished"))?;
    Ok(Finished12Verified(()))
}

/// RFC 5705 keying material: PRF(master, label, client_random || server_random
/// [|| context_len || context]). An absent context and an empty one differ.
pub fn export(
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
        return Err(Error::Internal("exporter label reserved by TLS"));
    }
    let mut seed = Vec::with_capacity(64 + 2 + context.map_or(0, <[u8]>::len));
    seed.extend_from_slice(client_random);
    seed.extend_from_slice(server_random);
    if let Some(context) = context {
        let len = u16::try_from(context.len())
            .map_err(|_| Error::Internal("exporter context too long"))?;
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

/// The AEAD tag length of every suite.
pub const TAG_LEN: usize = 16;

/// One direction's TLS 1.2 record key. `Debug` shows only the algorithm.
pub struct RecordKey12 {
    alg: AeadAlg,
    key: aead::LessSafeKey,
    iv: [u8; 12],
}

impl RecordKey12 {
    /// A key from its key-block parts (`iv` is 4 bytes for GCM, 12 for ChaCha20).
    pub fn new(alg: AeadAlg, key: &[u8], iv: &[u8]) -> Result<Self, Error> {
        let unbound = aead::UnboundKey::new(alg.ring_alg(), key)
            .map_err(|_| Error::Internal("AEAD key rejected"))?;
        let mut full = [0u8; 12];
        full.get_mut(..iv.len())
            .ok_or(Error::Internal("IV too long"))?
            .copy_from_slice(iv);
        Ok(RecordKey12 {
            alg,
            key: aead::LessSafeKey::new(unbound),
            iv: full,
        })
    }

    /// Bytes of explicit nonce in each record: 8 for GCM, none for ChaCha20.
    pub fn explicit_nonce_len(&self) -> usize {
        match self.alg {
            AeadAlg::Aes128Gcm | AeadAlg::Aes256Gcm => 8,
            AeadAlg::Chacha20Poly1305 => 0,
        }
    }

    /// GCM: salt || explicit (the sequence number when sealing); ChaCha20: IV XOR seq.
    fn nonce(&self, seq: u64, explicit: Option<[u8; 8]>) -> aead::Nonce {
        let mut nonce = self.iv;
        if self.explicit_nonce_len() == 0 {
            for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *n ^= s;
            }
        } else {
            nonce[4..].copy_from_slice(&explicit.unwrap_or(seq.to_be_bytes()));
        }
        aead::Nonce::assume_unique_for_key(nonce)
    }

    fn aad(seq: u64, typ: ContentType, len: usize) -> [u8; 13] {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&seq.to_be_bytes());
        aad[8] = typ.to_wire();
        aad[9] = 3;
        aad[10] = 3;
        aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
        aad
    }

    /// Seals one record of type `typ` in place in `record`, which holds
    /// `plain_len` bytes of plaintext (at most 2^14, checked by the caller)
    /// after room for the 5-byte header and the explicit nonce
    /// ([`Self::explicit_nonce_len`]), and room for the tag after them.
    /// Writes the header, nonce and tag; returns the record's length.
    pub fn seal_in_place(
        &self,
        seq: u64,
        typ: ContentType,
        record: &mut [u8],
        plain_len: usize,
    ) -> Result<usize, Error> {
        let explicit = self.explicit_nonce_len();
        let body_len = explicit + plain_len + TAG_LEN;
        let [hi, lo] = u16::try_from(body_len)
            .map_err(|_| Error::Internal("record too large"))?
            .to_be_bytes();
        let record = record
            .get_mut(..5 + body_len)
            .ok_or(Error::Internal("record buffer too short"))?;
        let (head, body) = record.split_at_mut(5);
        head.copy_from_slice(&[typ.to_wire(), 3, 3, hi, lo]);
        let (nonce_out, sealed) = body.split_at_mut(explicit);
        if let Some(seq_bytes) = seq.to_be_bytes().get(..explicit) {
            nonce_out.copy_from_slice(seq_bytes);
        }
        let (plain, tag_out) = sealed.split_at_mut(plain_len);
        let aad = Self::aad(seq, typ, plain_len);
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(seq, None), aead::Aad::from(aad), plain)
            .map_err(|_| Error::Internal("AEAD seal failed"))?;
        tag_out.copy_from_slice(tag.as_ref());
        Ok(5 + body_len)
    }

    /// Decrypts a record body in place, returning the plaintext. Any failure is
    /// [`Error::BadRecordMac`].
    pub fn open<'a>(
        &self,
        seq: u64,
        typ: ContentType,
        body: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        let explicit_len = self.explicit_nonce_len();
        if body.len() < explicit_len + TAG_LEN {
            return Err(Error::BadRecordMac);
        }
        let (explicit, sealed) = body.split_at_mut(explicit_len);
        let explicit: Option<[u8; 8]> = explicit.try_into().ok();
        let plain_len = sealed.len() - TAG_LEN;
        let aad = Self::aad(seq, typ, plain_len);
        self.key
            .open_in_place(self.nonce(seq, explicit), aead::Aad::from(aad), sealed)
            .map_err(|_| Error::BadRecordMac)
    }
}

impl Drop for RecordKey12 {
    fn drop(&mut self) {
        self.iv.zeroize();
    }
}

impl fmt::Debug for RecordKey12 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordKey12")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The signature schemes we accept in TLS 1.2 handshake signatures: the
/// TLS 1.3 ones plus RSA PKCS#1 v1.5 with SHA-2. Never SHA-1 or MD5.
pub const TLS12_SIGNATURE_SCHEMES: [SignatureScheme; 9] = [
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::EcdsaSecp384r1Sha384,
    SignatureScheme::Ed25519,
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPssRsaeSha384,
    SignatureScheme::RsaPssRsaeSha512,
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
];

/// The ring algorithm for a key type and a TLS 1.2 signature scheme. Unlike
/// TLS 1.3, an ECDSA scheme names only the hash, not the curve.
fn tls12_algorithm(
    alg: SpkiAlg,
    scheme: SignatureScheme,
) -> Option<&'static dyn signature::VerificationAlgorithm> {
    use SignatureScheme as S;
    use SpkiAlg as K;
    Some(match (alg, scheme) {
        (K::EcdsaP256, S::EcdsaSecp256r1Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (K::EcdsaP256, S::EcdsaSecp384r1Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (K::EcdsaP384, S::EcdsaSecp256r1Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (K::EcdsaP384, S::EcdsaSecp384r1Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (K::Ed25519, S::Ed25519) => &signature::ED25519,
        (K::Rsa, S::RsaPssRsaeSha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (K::Rsa, S::RsaPssRsaeSha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (K::Rsa, S::RsaPssRsaeSha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (K::Rsa, S::RsaPkcs1Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (K::Rsa, S::RsaPkcs1Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (K::Rsa, S::RsaPkcs1Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    })
}

/// Verifies a TLS 1.2 ServerKeyExchange or CertificateVerify signature with
/// the key of a DER SubjectPublicKeyInfo.
pub fn verify_tls12_signature(
    spki_der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    sig: &[u8],
) -> Result<(), Error> {
    let spki = parse_spki(spki_der)?;
    let alg = tls12_algorithm(spki.alg, scheme).ok_or(Error::IllegalParameter(
        "signature scheme does not match certificate key",
    ))?;
    signature::UnparsedPublicKey::new(alg, spki.public_key)
        .verify(message, sig)
        .map_err(|_| Error::DecryptError("bad TLS 1.2 handshake signature"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

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
            let (c1, _) = record_keys(suite, &master, &[1; 32], &[2; 32]).unwrap();
            let (c2, s2) = record_keys(suite, &master, &[1; 32], &[2; 32]).unwrap();
            let mut wire = alloc::vec![0u8; 5 + c1.explicit_nonce_len() + 5 + TAG_LEN];
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
            let mut short = alloc::vec![0u8; explicit + TAG_LEN - 1];
            assert_eq!(
                c2.open(0, ContentType::ApplicationData, &mut short),
                Err(Error::BadRecordMac)
            );
        }
    }

    #[test]
    fn finished_and_exporter() {
        let h = [9u8; 32];
        let vd = finished_verify_data(HashAlg::Sha256, &[1; 48], true, &h);
        assert!(check_finished12(HashAlg::Sha256, &[1; 48], true, &h, &vd).is_ok());
        assert_eq!(
            check_finished12(HashAlg::Sha256, &[1; 48], false, &h, &vd).map(|_| ()),
            Err(Error::DecryptError("bad Finished"))
        );
        // The wrong length is a malformed message, not a wrong MAC.
        let mut long = vd.to_vec();
        long.push(0);
        for wrong in [&vd[..11], &long[..], &[][..]] {
            assert_eq!(
                check_finished12(HashAlg::Sha256, &[1; 48], true, &h, wrong).map(|_| ()),
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
