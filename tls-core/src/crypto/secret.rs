//! Secrets, HKDF (RFC 5869) with the TLS 1.3 labels (RFC 8446 §7.1), and HMAC.

use core::fmt;

use ring::{hkdf, hmac};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::hash::{HashAlg, HashOutput};
use crate::error::Error;

/// The longest [`Secret`]: the SecP384r1MLKEM1024 hybrid key-exchange secret
/// (a 48-byte P-384 secret and a 32-byte ML-KEM secret); hashes give at most 64.
pub(crate) const MAX_SECRET_LEN: usize = 80;

/// Secret bytes (up to [`MAX_SECRET_LEN`]), wiped on drop. `Debug` shows only the length.
#[derive(Clone)]
pub(crate) struct Secret {
    buf: [u8; MAX_SECRET_LEN],
    len: usize,
}

impl Secret {
    /// Copies `bytes` into a secret; fails if longer than [`MAX_SECRET_LEN`].
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Secret, Error> {
        if bytes.len() > MAX_SECRET_LEN {
            return Err(Error::Internal("secret too long"));
        }
        let mut s = Secret::zeroed(bytes.len());
        s.buf[..bytes.len()].copy_from_slice(bytes);
        Ok(s)
    }

    /// `first` followed by `second` (a hybrid key exchange's two secrets);
    /// fails if together longer than [`MAX_SECRET_LEN`].
    pub(crate) fn concat(first: &[u8], second: &[u8]) -> Result<Secret, Error> {
        let len = first.len().saturating_add(second.len());
        if len > MAX_SECRET_LEN {
            return Err(Error::Internal("secret too long"));
        }
        let mut s = Secret::zeroed(len);
        let (a, b) = s.as_mut().split_at_mut(first.len());
        a.copy_from_slice(first);
        b.copy_from_slice(second);
        Ok(s)
    }

    /// `len` zero bytes, to be filled (`len` is clamped to the maximum).
    fn zeroed(len: usize) -> Secret {
        Secret {
            buf: [0; MAX_SECRET_LEN],
            len: len.min(MAX_SECRET_LEN),
        }
    }

    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// Length in bytes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl AsRef<[u8]> for Secret {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Zeroize for Secret {
    fn zeroize(&mut self) {
        self.buf.zeroize();
        self.len.zeroize();
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM). An empty salt is the same
/// as `Hash.length` zero bytes (HMAC pads short keys with zeros).
pub(crate) fn hkdf_extract(alg: HashAlg, salt: &[u8], ikm: &[u8]) -> Secret {
    let tag = hmac::sign(&hmac::Key::new(alg.ring_hmac(), salt), ikm);
    let mut s = Secret::zeroed(tag.as_ref().len());
    s.as_mut().copy_from_slice(tag.as_ref());
    s
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

const LABEL_PREFIX: &[u8] = b"tls13 ";

/// HKDF-Expand-Label(Secret, Label, Context, Length) of RFC 8446 §7.1, with
/// Length = `out.len()`. `label` is given without the "tls13 " prefix.
/// Fails (`Error::Internal`) if the label is over 249 bytes, the context over
/// 255 bytes, or `out` longer than HKDF allows (255 × hash length).
pub(crate) fn hkdf_expand_label(
    alg: HashAlg,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    Expander::new(alg, secret).expand_label(label, context, out)
}

/// A secret ready for several HKDF-Expand-Label calls: the HMAC key (its
/// inner and outer padded blocks hashed) is set up once, not once per label.
/// Kept only for the span of one derivation step, never stored.
pub(crate) struct Expander {
    alg: HashAlg,
    prk: hkdf::Prk,
}

impl Expander {
    /// The PRK `secret` (a key-schedule secret or traffic secret).
    pub(crate) fn new(alg: HashAlg, secret: &[u8]) -> Expander {
        Expander {
            alg,
            prk: hkdf::Prk::new_less_safe(alg.ring_hkdf(), secret),
        }
    }

    /// HKDF-Expand-Label of this secret, as [`hkdf_expand_label`].
    pub(crate) fn expand_label(
        &self,
        label: &[u8],
        context: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let length =
            u16::try_from(out.len()).map_err(|_| Error::Internal("HKDF output too long"))?;
        let label_len = u8::try_from(LABEL_PREFIX.len() + label.len())
            .map_err(|_| Error::Internal("HKDF label too long"))?;
        let context_len =
            u8::try_from(context.len()).map_err(|_| Error::Internal("HKDF context too long"))?;
        let length = length.to_be_bytes();
        let info: [&[u8]; 6] = [
            &length,
            &[label_len],
            LABEL_PREFIX,
            label,
            &[context_len],
            context,
        ];
        self.prk
            .expand(&info, Len(out.len()))
            .and_then(|okm| okm.fill(out))
            .map_err(|_| Error::Internal("HKDF output too long"))
    }

    /// HKDF-Expand-Label with Length = `Hash.length`, as
    /// [`hkdf_expand_label_secret`] (same panics).
    pub(crate) fn expand_label_secret(&self, label: &[u8], context: &[u8]) -> Secret {
        let mut s = Secret::zeroed(self.alg.output_len());
        if let Err(e) = self.expand_label(label, context, s.as_mut()) {
            panic!("hkdf_expand_label_secret: {e}");
        }
        s
    }
}

impl fmt::Debug for Expander {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expander")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// HKDF-Expand-Label with Length = `Hash.length`, as a [`Secret`]
/// (Derive-Secret when `context` is a transcript hash).
///
/// # Panics
///
/// If `label` is over 249 bytes or `context` over 255 bytes. The engine only
/// passes its own constant labels and hash-sized contexts, never peer data.
pub(crate) fn hkdf_expand_label_secret(
    alg: HashAlg,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
) -> Secret {
    Expander::new(alg, secret).expand_label_secret(label, context)
}

/// HMAC-Hash(key, data).
pub(crate) fn hmac_sign(alg: HashAlg, key: &[u8], data: &[u8]) -> HashOutput {
    HashOutput::from_bytes(hmac::sign(&hmac::Key::new(alg.ring_hmac(), key), data).as_ref())
}

/// An HMAC key set up once and applied to many messages, each given in
/// parts (the TLS 1.2 PRF's P_hash chains a dozen HMACs under one secret).
pub(crate) struct HmacKey(hmac::Key);

impl HmacKey {
    /// A key for HMAC with `alg`.
    pub(crate) fn new(alg: HashAlg, key: &[u8]) -> Self {
        HmacKey(hmac::Key::new(alg.ring_hmac(), key))
    }

    /// HMAC over the concatenation of `parts`.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> HashOutput {
        let mut ctx = hmac::Context::with_key(&self.0);
        for part in parts {
            ctx.update(part);
        }
        HashOutput::from_bytes(ctx.sign().as_ref())
    }

    /// Checks an HMAC tag over `data` in constant time, as [`hmac_verify`].
    pub(crate) fn verify(&self, data: &[u8], tag: &[u8]) -> Result<(), Error> {
        hmac::verify(&self.0, data, tag).map_err(|_| Error::DecryptError("bad Finished"))
    }
}

/// Checks an HMAC tag in constant time; a mismatch (or a tag of the wrong
/// length) is `Error::DecryptError("bad Finished")`.
pub(crate) fn hmac_verify(alg: HashAlg, key: &[u8], data: &[u8], tag: &[u8]) -> Result<(), Error> {
    hmac::verify(&hmac::Key::new(alg.ring_hmac(), key), data, tag)
        .map_err(|_| Error::DecryptError("bad Finished"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    #[test]
    fn rfc5869_case1_extract() {
        let ikm = [0x0b; 22];
        let salt = unhex("000102030405060708090a0b0c");
        let prk = hkdf_extract(HashAlg::Sha256, &salt, &ikm);
        assert_eq!(
            prk.as_ref(),
            &unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")[..]
        );
    }

    #[test]
    fn empty_salt_is_zero_salt() {
        let a = hkdf_extract(HashAlg::Sha384, &[], b"ikm");
        let b = hkdf_extract(HashAlg::Sha384, &[0; 48], b"ikm");
        assert_eq!(a.as_ref(), b.as_ref());
        assert_eq!(a.len(), 48);
    }

    #[test]
    fn expand_label_limits() {
        let mut out = [0u8; 16];
        let long = [b'a'; 250];
        assert!(hkdf_expand_label(HashAlg::Sha256, &[1; 32], &long, b"", &mut out).is_err());
        assert!(hkdf_expand_label(HashAlg::Sha256, &[1; 32], &long[..249], b"", &mut out).is_ok());
        assert!(hkdf_expand_label(HashAlg::Sha256, &[1; 32], b"x", &[0; 256], &mut out).is_err());
        let mut huge = alloc::vec![0u8; 255 * 32 + 1];
        assert!(hkdf_expand_label(HashAlg::Sha256, &[1; 32], b"x", b"", &mut huge).is_err());
    }

    #[test]
    fn secret_debug_hides_bytes() {
        let s = Secret::from_slice(&[0xab; 32]).unwrap();
        let text = alloc::format!("{s:?}");
        assert!(!text.contains("ab") && !text.contains("171"), "{text}");
        assert!(Secret::from_slice(&[0; MAX_SECRET_LEN]).is_ok());
        assert!(Secret::from_slice(&[0; MAX_SECRET_LEN + 1]).is_err());
    }

    #[test]
    fn concat_keeps_order_and_bounds() {
        let s = Secret::concat(&[1; 48], &[2; 32]).unwrap();
        assert_eq!(s.len(), 80);
        assert_eq!(&s.as_ref()[..48], &[1; 48]);
        assert_eq!(&s.as_ref()[48..], &[2; 32]);
        assert!(Secret::concat(&[1; 49], &[2; 32]).is_err());
    }

    #[test]
    fn hmac_round_trip() {
        let tag = hmac_sign(HashAlg::Sha256, b"key", b"data");
        assert!(hmac_verify(HashAlg::Sha256, b"key", b"data", tag.as_ref()).is_ok());
        let mut bad = *tag.as_ref().last().unwrap();
        bad ^= 1;
        let mut wrong = tag.as_ref().to_vec();
        *wrong.last_mut().unwrap() = bad;
        assert_eq!(
            hmac_verify(HashAlg::Sha256, b"key", b"data", &wrong),
            Err(Error::DecryptError("bad Finished"))
        );
        assert!(hmac_verify(HashAlg::Sha256, b"key", b"data", &tag.as_ref()[..31]).is_err());
    }
}
