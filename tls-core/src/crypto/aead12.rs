//! TLS 1.2 record protection for one direction: an AEAD key whose nonce is
//! the 4-byte salt plus an explicit per-record nonce (AES-GCM, RFC 5288) or
//! the IV XORed with the sequence number (ChaCha20-Poly1305, RFC 7905). The
//! keys come from the key block derived in `crate::tls12::prf`.

use core::fmt;

use ring::aead;
use zeroize::Zeroize;

use super::aead::AeadAlg;
use crate::error::Error;
use crate::msgs::enums::ContentType;

/// One direction's TLS 1.2 record key. `Debug` shows only the algorithm.
pub struct RecordKey12 {
    alg: AeadAlg,
    key: aead::LessSafeKey,
    iv: [u8; 12],
}

impl RecordKey12 {
    /// The AEAD tag length of every TLS 1.2 suite.
    pub const TAG_LEN: usize = 16;

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
        let body_len = explicit + plain_len + Self::TAG_LEN;
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
        if body.len() < explicit_len + Self::TAG_LEN {
            return Err(Error::BadRecordMac);
        }
        let (explicit, sealed) = body.split_at_mut(explicit_len);
        let explicit: Option<[u8; 8]> = explicit.try_into().ok();
        let plain_len = sealed.len() - Self::TAG_LEN;
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
