//! A sans-IO TLS 1.3 engine: the caller feeds received bytes in and takes bytes
//! to send out; the engine owns no socket, thread, clock or OS randomness.
//!
//! Time and randomness are inputs through the configuration, so a handshake can
//! be replayed byte for byte and a unikernel can supply its own sources.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod crypto;
pub mod error;
pub mod key_schedule;
pub mod keys;
pub mod msgs;

pub use entropy::{EntropyError, EntropySource};
pub use error::Error;
