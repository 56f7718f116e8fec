//! The TLS 1.2 handshake transcript, kept as the messages' bytes: a TLS 1.2
//! CertificateVerify signs the messages themselves, not their hash.

use alloc::vec::Vec;

use crate::conn::Common;
use crate::crypto::{HashAlg, HashOutput};
use crate::error::Error;

/// Every handshake message so far, as sent or received.
pub(crate) struct Transcript12 {
    hash: HashAlg,
    bytes: Vec<u8>,
}

impl Transcript12 {
    /// A transcript starting with `first` (the ClientHello), hashed with `hash`.
    pub fn new(hash: HashAlg, first: &[u8]) -> Self {
        Transcript12 {
            hash,
            bytes: first.to_vec(),
        }
    }

    /// Adds a message (its whole encoding).
    pub fn add(&mut self, encoded: &[u8]) {
        self.bytes.extend_from_slice(encoded);
    }

    /// The hash of everything so far.
    pub fn hash(&self) -> HashOutput {
        self.hash.hash(&self.bytes)
    }

    /// The messages themselves, for a CertificateVerify signature.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Adds a message and queues it for the peer.
    pub fn send(&mut self, common: &mut Common, encoded: &[u8]) -> Result<(), Error> {
        self.add(encoded);
        common.send_handshake(encoded)
    }
}
