//! Record protection: the AEAD algorithms and per-direction traffic keys
//! (RFC 8446 §5.2, §5.3, §7.3).

use alloc::vec::Vec;
use core::fmt;

use ring::aead;
use zeroize::{Zeroize, Zeroizing};

use super::hash::HashAlg;
use super::secret::Expander;
use super::suites::Suite;
use crate::error::Error;

/// The AEAD algorithms of the TLS 1.3 suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeadAlg {
    /// AES-128-GCM
    Aes128Gcm,
    /// AES-256-GCM
    Aes256Gcm,
    /// ChaCha20-Poly1305
    Chacha20Poly1305,
}

/// Seals `in_out` in place with AES-256-GCM under `key` and an explicit
/// `nonce` (for session tickets, whose nonces are random), returning the tag;
/// `None` only if ring refuses.
#[cfg(feature = "std")]
pub(crate) fn seal_aes256_gcm(
    key: &[u8; 32],
    nonce: [u8; 12],
    aad: &[u8],
    in_out: &mut [u8],
) -> Option<[u8; 16]> {
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, key).ok()?);
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            in_out,
        )
        .ok()?;
    tag.as_ref().try_into().ok()
}

/// Opens `in_out` (ciphertext then tag) in place with AES-256-GCM, returning
/// the plaintext's length; `None` when it does not authenticate.
#[cfg(feature = "std")]
pub(crate) fn open_aes256_gcm(
    key: &[u8; 32],
    nonce: [u8; 12],
    aad: &[u8],
    in_out: &mut [u8],
) -> Option<usize> {
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, key).ok()?);
    key.open_in_place(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::from(aad),
        in_out,
    )
    .ok()
    .map(|plain| plain.len())
}

/// The per-record nonce length (`iv_length`) of every TLS 1.3 AEAD.
pub(crate) const IV_LEN: usize = 12;

impl AeadAlg {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes128Gcm => 16,
            AeadAlg::Aes256Gcm | AeadAlg::Chacha20Poly1305 => 32,
        }
    }

    /// The ring algorithm.
    pub fn ring_alg(self) -> &'static aead::Algorithm {
        match self {
            AeadAlg::Aes128Gcm => &aead::AES_128_GCM,
            AeadAlg::Aes256Gcm => &aead::AES_256_GCM,
            AeadAlg::Chacha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
}

/// One direction's record key: the AEAD key and the static IV from which each
/// record's nonce is made. `Debug` shows only the algorithm.
pub struct TrafficKey {
    alg: AeadAlg,
    key: aead::LessSafeKey,
    iv: [u8; IV_LEN],
}

impl TrafficKey {
    /// The AEAD tag length of every TLS 1.3 suite.
    pub const TAG_LEN: usize = 16;

    /// Derives the write key and IV from a traffic secret (RFC 8446 §7.3):
    /// key = HKDF-Expand-Label(secret, "key", "", key_length),
    /// iv = HKDF-Expand-Label(secret, "iv", "", 12).
    pub fn from_secret(suite: &Suite, traffic_secret: &[u8]) -> Result<TrafficKey, Error> {
        TrafficKey::derive(suite.hash, suite.aead, traffic_secret)
    }

    /// [`from_secret`](Self::from_secret) with the hash and AEAD given apart.
    pub fn derive(hash: HashAlg, alg: AeadAlg, traffic_secret: &[u8]) -> Result<TrafficKey, Error> {
        let mut key_buf = Zeroizing::new([0u8; 32]);
        let key = key_buf
            .get_mut(..alg.key_len())
            .ok_or(Error::Internal("AEAD key too long"))?;
        let secret = Expander::new(hash, traffic_secret);
        secret.expand_label(b"key", b"", key)?;
        let mut iv = [0u8; IV_LEN];
        secret.expand_label(b"iv", b"", &mut iv)?;
        let unbound = aead::UnboundKey::new(alg.ring_alg(), key)
            .map_err(|_| Error::Internal("AEAD key rejected"))?;
        Ok(TrafficKey {
            alg,
            key: aead::LessSafeKey::new(unbound),
            iv,
        })
    }

    /// The AEAD algorithm.
    pub fn alg(&self) -> AeadAlg {
        self.alg
    }

    /// The nonce for record `seq`: the IV XOR the 64-bit sequence number,
    /// left-padded with zeros (RFC 8446 §5.3).
    fn nonce(&self, seq: u64) -> aead::Nonce {
        let mut nonce = self.iv;
        for (n, s) in nonce[IV_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        aead::Nonce::assume_unique_for_key(nonce)
    }

    /// Encrypts `buf` in place and appends the 16-byte tag.
    pub fn seal_in_place(&self, seq: u64, aad: &[u8], buf: &mut Vec<u8>) -> Result<(), Error> {
        self.key
            .seal_in_place_append_tag(self.nonce(seq), aead::Aad::from(aad), buf)
            .map_err(|_| Error::Internal("AEAD seal failed"))
    }

    /// Encrypts `buf` in place and returns the tag, for callers that place
    /// the tag themselves.
    pub fn seal_in_place_separate_tag(
        &self,
        seq: u64,
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; Self::TAG_LEN], Error> {
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(seq), aead::Aad::from(aad), buf)
            .map_err(|_| Error::Internal("AEAD seal failed"))?;
        let mut out = [0u8; Self::TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts `buf` (ciphertext followed by the tag) in place and returns the
    /// plaintext, a prefix of `buf`. Any failure, including a `buf` shorter
    /// than the tag, is [`Error::BadRecordMac`].
    pub fn open_in_place<'a>(
        &self,
        seq: u64,
        aad: &[u8],
        buf: &'a mut [u8],
    ) -> Result<&'a mut [u8], Error> {
        self.key
            .open_in_place(self.nonce(seq), aead::Aad::from(aad), buf)
            .map_err(|_| Error::BadRecordMac)
    }
}

impl Drop for TrafficKey {
    fn drop(&mut self) {
        self.iv.zeroize();
    }
}

impl fmt::Debug for TrafficKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrafficKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::suites::ALL_TLS13_SUITES;

    const AAD: &[u8] = &[0x17, 0x03, 0x03, 0x00, 0x15];

    #[test]
    fn round_trip_every_suite() {
        for suite in ALL_TLS13_SUITES {
            let secret = alloc::vec![0x42u8; suite.hash.output_len()];
            let sender = TrafficKey::from_secret(suite, &secret).unwrap();
            let receiver = TrafficKey::from_secret(suite, &secret).unwrap();
            assert_eq!(sender.alg(), suite.aead);

            let mut buf = b"hello, world\x17".to_vec();
            sender.seal_in_place(7, AAD, &mut buf).unwrap();
            assert_eq!(buf.len(), 13 + TrafficKey::TAG_LEN);
            assert_ne!(&buf[..13], b"hello, world\x17");
            let sealed = buf.clone();

            assert_eq!(
                receiver.open_in_place(7, AAD, &mut buf).unwrap(),
                b"hello, world\x17"
            );

            // wrong sequence number
            let mut b = sealed.clone();
            assert_eq!(
                receiver.open_in_place(8, AAD, &mut b),
                Err(Error::BadRecordMac)
            );
            // tampered ciphertext, tag, aad
            for i in [0, sealed.len() - 1] {
                let mut b = sealed.clone();
                b[i] ^= 0x01;
                assert_eq!(
                    receiver.open_in_place(7, AAD, &mut b),
                    Err(Error::BadRecordMac)
                );
            }
            let mut b = sealed.clone();
            assert_eq!(
                receiver.open_in_place(7, &[0x17, 3, 3, 0, 0x16], &mut b),
                Err(Error::BadRecordMac)
            );
            // shorter than a tag
            let mut short = [0u8; 5];
            assert_eq!(
                receiver.open_in_place(0, AAD, &mut short),
                Err(Error::BadRecordMac)
            );

            // separate-tag sealing agrees with appended-tag sealing
            let mut plain = b"hello, world\x17".to_vec();
            let tag = sender
                .seal_in_place_separate_tag(7, AAD, &mut plain)
                .unwrap();
            plain.extend_from_slice(&tag);
            assert_eq!(plain, sealed);
        }
    }

    #[test]
    fn debug_hides_key() {
        let k = TrafficKey::derive(HashAlg::Sha256, AeadAlg::Aes128Gcm, &[1; 32]).unwrap();
        assert_eq!(alloc::format!("{k:?}"), "TrafficKey { alg: Aes128Gcm, .. }");
    }
}
