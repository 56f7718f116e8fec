//! Hash functions, their outputs, and the running transcript hash.

use core::fmt;

use ring::{digest, hkdf, hmac};

/// The hash functions of the TLS 1.3 cipher suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
}

/// The longest hash output (SHA-384).
pub(crate) const MAX_HASH_LEN: usize = 48;

static ZEROS: [u8; MAX_HASH_LEN] = [0; MAX_HASH_LEN];

impl HashAlg {
    /// Output length in bytes (`Hash.length` in RFC 8446).
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }

    /// The hash of `data`.
    pub fn hash(self, data: &[u8]) -> HashOutput {
        HashOutput::from_bytes(digest::digest(self.ring_digest(), data).as_ref())
    }

    /// The ring digest algorithm.
    pub(crate) fn ring_digest(self) -> &'static digest::Algorithm {
        match self {
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
        }
    }

    /// The ring HKDF algorithm.
    pub(crate) fn ring_hkdf(self) -> hkdf::Algorithm {
        match self {
            HashAlg::Sha256 => hkdf::HKDF_SHA256,
            HashAlg::Sha384 => hkdf::HKDF_SHA384,
        }
    }

    /// The ring HMAC algorithm.
    pub(crate) fn ring_hmac(self) -> hmac::Algorithm {
        match self {
            HashAlg::Sha256 => hmac::HMAC_SHA256,
            HashAlg::Sha384 => hmac::HMAC_SHA384,
        }
    }

    /// `output_len()` zero bytes (the key schedule's "0" input).
    pub(crate) fn zeros(self) -> &'static [u8] {
        ZEROS.split_at(self.output_len()).0
    }
}

/// A hash or HMAC output: up to 48 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HashOutput {
    buf: [u8; MAX_HASH_LEN],
    len: usize,
}

impl HashOutput {
    /// Copies a hash value; `None` if longer than 48 bytes (SHA-384).
    pub fn new(bytes: &[u8]) -> Option<HashOutput> {
        (bytes.len() <= MAX_HASH_LEN).then(|| HashOutput::from_bytes(bytes))
    }

    /// Only called with ring outputs, which never exceed 48 bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> HashOutput {
        let mut buf = [0u8; MAX_HASH_LEN];
        let len = bytes.len().min(MAX_HASH_LEN);
        buf[..len].copy_from_slice(&bytes[..len]);
        HashOutput { buf, len }
    }
}

impl AsRef<[u8]> for HashOutput {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Debug for HashOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashOutput(")?;
        for b in self.as_ref() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The running hash of the handshake messages (RFC 8446 §4.4.1).
#[derive(Clone)]
pub(crate) struct Transcript {
    alg: HashAlg,
    ctx: digest::Context,
}

impl Transcript {
    /// An empty transcript.
    pub(crate) fn new(alg: HashAlg) -> Transcript {
        Transcript {
            alg,
            ctx: digest::Context::new(alg.ring_digest()),
        }
    }

    /// The transcript after a HelloRetryRequest: the first ClientHello
    /// (`client_hello1`, the whole handshake message) is replaced by the
    /// synthetic `message_hash` message carrying its hash (RFC 8446 §4.4.1).
    /// Feed the HelloRetryRequest and everything after it with [`update`](Self::update).
    pub(crate) fn for_hello_retry(alg: HashAlg, client_hello1: &[u8]) -> Transcript {
        let hash = alg.hash(client_hello1);
        let mut t = Transcript::new(alg);
        // message_hash(254), uint24 length = Hash.length (< 256)
        t.update(&[254, 0, 0, hash.as_ref().len() as u8]);
        t.update(hash.as_ref());
        t
    }

    /// Adds bytes (whole handshake messages, header included).
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// The hash of everything added so far; the transcript goes on.
    pub(crate) fn current(&self) -> HashOutput {
        HashOutput::from_bytes(self.ctx.clone().finish().as_ref())
    }

    /// The hash function.
    #[cfg(test)]
    pub(crate) fn alg(&self) -> HashAlg {
        self.alg
    }
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcript")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    #[test]
    fn known_hashes() {
        let empty256 = unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(HashAlg::Sha256.hash(b"").as_ref(), &empty256[..]);
        let abc384 = unhex(
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed
             8086072ba1e7cc2358baeca134c825a7",
        );
        assert_eq!(HashAlg::Sha384.hash(b"abc").as_ref(), &abc384[..]);
        assert_eq!(HashAlg::Sha384.zeros().len(), 48);
    }

    #[test]
    fn transcript_is_incremental() {
        let mut t = Transcript::new(HashAlg::Sha256);
        t.update(b"ab");
        assert_eq!(t.current(), HashAlg::Sha256.hash(b"ab"));
        t.update(b"c");
        assert_eq!(t.current(), HashAlg::Sha256.hash(b"abc"));
        assert_eq!(t.alg(), HashAlg::Sha256);
    }

    #[test]
    fn hello_retry_transcript() {
        let ch1 = b"\x01\x00\x00\x02hi";
        let mut synthetic = alloc::vec![254, 0, 0, 48];
        synthetic.extend_from_slice(HashAlg::Sha384.hash(ch1).as_ref());
        let t = Transcript::for_hello_retry(HashAlg::Sha384, ch1);
        assert_eq!(t.current(), HashAlg::Sha384.hash(&synthetic));
    }
}
