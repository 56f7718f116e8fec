//! The TLS 1.2 handshake transcript: a running hash (for the extended
//! master secret and Finished), and the messages' bytes, because a TLS 1.2
//! CertificateVerify signs the messages themselves, not their hash.

use alloc::vec::Vec;

use crate::conn::common::Common;
use crate::crypto::{HashAlg, HashOutput, Transcript};
use crate::error::Error;

/// Every handshake message so far, as sent or received.
pub(crate) struct Transcript12 {
    running: Transcript,
    bytes: Vec<u8>,
}

impl Transcript12 {
    /// A transcript starting with `first` (the ClientHello), hashed with `hash`.
    pub(crate) fn new(hash: HashAlg, first: &[u8]) -> Self {
        let mut running = Transcript::new(hash);
        running.update(first);
        Transcript12 {
            running,
            bytes: first.to_vec(),
        }
    }

    /// Adds a message (its whole encoding).
    pub(crate) fn add(&mut self, encoded: &[u8]) {
        self.running.update(encoded);
        self.bytes.extend_from_slice(encoded);
    }

    /// The hash of everything so far (without hashing it all again).
    pub(crate) fn hash(&self) -> HashOutput {
        self.running.current()
    }

    /// The messages themselves, for a CertificateVerify signature.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Adds a message and queues it for the peer.
    pub(crate) fn send(&mut self, common: &mut Common, encoded: &[u8]) -> Result<(), Error> {
        self.add(encoded);
        common.send_handshake(encoded)
    }
}
