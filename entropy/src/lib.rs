//! Where tls-core's randomness comes from.
//!
//! tls-core never reaches for the operating system itself: it draws every random
//! byte (hello randoms, session ids, padding) through the [`EntropySource`] trait
//! that its configuration holds. This crate defines that trait and its sources.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

use core::fmt;

/// The source failed to produce random bytes; no output was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntropyError(pub &'static str);

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entropy source failed: {}", self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EntropyError {}

/// A source of cryptographically secure random bytes, shared between connections.
pub trait EntropySource: Send + Sync {
    /// Fills `dest` entirely with random bytes, or fails without partial output.
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError>;
}

/// Random bytes from the host operating system (`getrandom(2)` on Linux), which
/// blocks until the kernel's pool is seeded.
#[cfg(feature = "std")]
#[derive(Debug, Default, Clone, Copy)]
pub struct HostEntropy;

#[cfg(feature = "std")]
impl EntropySource for HostEntropy {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::getrandom(dest).map_err(|_| EntropyError("getrandom failed"))
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn host_entropy_fills_distinct_buffers() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        HostEntropy.fill(&mut a).unwrap();
        HostEntropy.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
