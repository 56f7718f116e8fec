//! Where tls-core's randomness comes from.
//!
//! tls-core never reaches for the operating system itself: it draws every random
//! byte (hello randoms, session ids, cookies, ticket nonces, padding) through the
//! [`EntropySource`] trait that its configuration holds. This crate defines that
//! trait, the sources that feed it and a pool that mixes and stretches them.
//!
//! # Sources
//!
//! - `HostEntropy` (feature `std`): the operating system's `getrandom(2)`
//!   through the `getrandom` crate, which blocks until the kernel is seeded.
//! - [`xentropyd::Xentropyd`]: the Xen dom0 entropy daemon's protocol over any
//!   byte stream the caller opens (a Xen console device, a pipe, a Unix socket).
//! - [`cpu::CpuSource`]: the x86-64 `RDSEED`/`RDRAND` instructions where present.
//! - [`jitter::JitterSource`]: CPU timing jitter, a raw noise source meant to
//!   bootstrap a machine that has nothing better.
//!
//! # The pool
//!
//! [`pool::Pool`] is an SP 800-90A `HMAC_DRBG` (HMAC-SHA-256, 256-bit security
//! strength) fed from any number of [`pool::NoiseSource`]s. It refuses output
//! until it is seeded, updates its key after every request (backtracking
//! resistance), reseeds after a number of requests and after a time, runs the
//! SP 800-90B continuous health tests on raw noise ([`health`]) and a
//! stuck-output check on conditioned sources, and reseeds when the process id
//! changes so that a forked child never repeats its parent's stream.
//! [`pool::SharedPool`] wraps it in a lock and a clock so it can be shared as an
//! `Arc<dyn EntropySource>` between connections.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use std::sync::Arc;
//! use entropy::pool::SharedPool;
//! use entropy::EntropySource;
//!
//! let pool: Arc<dyn EntropySource> = Arc::new(SharedPool::host().expect("seeded"));
//! let mut hello_random = [0u8; 32];
//! pool.fill(&mut hello_random).expect("random");
//! assert_ne!(hello_random, [0u8; 32]);
//! # }
//! ```
//!
//! A platform with its own generator implements [`EntropySource`] and hands
//! it to tls-core's configuration (`ClientConfig::builder().entropy(..)`).
//! A source that cannot deliver returns an error, and the handshake that
//! needed the bytes fails with it rather than going on with weak randomness:
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use entropy::{EntropyError, EntropySource};
//!
//! /// A hardware generator that reports when it is not ready (its health
//! /// check failed); the bytes come from the host here, from the device's
//! /// data register on the real platform.
//! struct Trng {
//!     healthy: AtomicBool,
//! }
//!
//! impl EntropySource for Trng {
//!     fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
//!         if !self.healthy.load(Ordering::Acquire) {
//!             return Err(EntropyError("trng: health check failed"));
//!         }
//!         entropy::HostEntropy.fill(dest)
//!     }
//! }
//!
//! let trng = Trng { healthy: AtomicBool::new(true) };
//! let mut key = [0u8; 16];
//! assert!(trng.fill(&mut key).is_ok());
//! trng.healthy.store(false, Ordering::Release);
//! assert!(trng.fill(&mut key).is_err());
//! ```
//!
//! # ring's own randomness, and unikernels
//!
//! ring draws the randomness for ephemeral key shares and signatures from its
//! `ring::rand::SystemRandom`, whose trait is sealed: it cannot be handed an
//! [`EntropySource`]. `SystemRandom` calls the `getrandom` crate (0.2). On a
//! hosted target that is the kernel and nothing needs doing. On a target
//! without an operating system (`x86_64-unknown-none` and other `*-none`
//! unikernel targets) route it into the pool:
//!
//! 1. enable this crate's `custom-getrandom` feature, which registers
//!    `getrandom_hook::fill` as getrandom's custom backend
//!    (`getrandom::register_custom_getrandom!`);
//! 2. enable ring's `less-safe-getrandom-custom-or-rdrand` feature, without
//!    which ring refuses to use getrandom on `target_os = "none"`;
//! 3. at boot, build and seed a [`pool::SharedPool`] (for example from
//!    xentropyd over the Xen console), put it in a `static` or leak it, and call
//!    `getrandom_hook::install` with it before the first handshake.
//!
//! getrandom 0.2 uses a custom backend only on targets it has no native
//! support for, so on Linux the hook is compiled but inert; only one crate in a
//! binary may register a custom backend.
//!
//! The `unikernel` feature is steps 1 and 2 (and `tls-core`'s `unikernel`
//! feature turns it on). Nothing may turn on getrandom's `rdrand` feature in
//! such a build: getrandom would then prefer the CPU's RDRAND to the hook.
//! On `wasm32-unknown-unknown` ring also needs its `wasm32_unknown_unknown_js`
//! feature, and getrandom 0.2 prefers its JavaScript backend (wasm-bindgen
//! imports) to a custom one there; `unikernel/getrandom-custom` in this
//! repository is a drop-in getrandom 0.2 that always calls the registered
//! backend, for a `[patch]` in such a build (see README.md, "Unikernels").
//!
//! # Features
//!
//! - `std` (default): `HostEntropy`, `std::io` streams for xentropyd,
//!   `std::sync::Mutex` in the shared pool, `std::time::Instant` for the reseed
//!   timer and `std::process::id` for fork detection. Without it the crate is
//!   `#![no_std]` + `alloc`; the shared pool then locks with a spin lock and the
//!   caller supplies the clock (and, if it can fork, the process id).
//! - `custom-getrandom`: the getrandom backend hook described above.
//! - `unikernel`: `custom-getrandom` plus ring's
//!   `less-safe-getrandom-custom-or-rdrand`: all randomness from the embedder
//!   on an OS-less target.
//!
//! # Unsafe code
//!
//! The crate denies unsafe code everywhere except two narrow, commented spots:
//! the `RDSEED`/`RDRAND` intrinsics in [`cpu`], and the getrandom registration
//! macro (which exports an unmangled symbol) in `getrandom_hook`.
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::fmt;

pub mod cpu;
pub mod drbg;
#[cfg(feature = "custom-getrandom")]
pub mod getrandom_hook;
pub mod health;
pub mod jitter;
pub mod pool;
pub mod xentropyd;

pub use health::{HealthFailure, MinEntropy};
pub use pool::{MonotonicClock, NoiseSource, Pool, PoolConfig, PoolError, SharedPool, SourceKind};
pub use xentropyd::{Xentropyd, XentropydError};

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

impl<T: EntropySource + ?Sized> EntropySource for &T {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        (**self).fill(dest)
    }
}

impl<T: EntropySource + ?Sized> EntropySource for Box<T> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        (**self).fill(dest)
    }
}

impl<T: EntropySource + ?Sized> EntropySource for Arc<T> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        (**self).fill(dest)
    }
}

/// Random bytes from the host operating system (`getrandom(2)` on Linux), which
/// blocks until the kernel's pool is seeded.
///
/// Its output is conditioned (the kernel's CSPRNG): add it to a pool as
/// [`SourceKind::Conditioned`].
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

    #[test]
    fn smart_pointers_are_sources() {
        let arc: Arc<dyn EntropySource> = Arc::new(HostEntropy);
        let boxed: Box<dyn EntropySource> = Box::new(arc.clone());
        fn draw(source: impl EntropySource) {
            let mut buf = [0u8; 16];
            source.fill(&mut buf).unwrap();
        }
        draw(&arc);
        draw(&boxed);
        draw(boxed);
    }
}
