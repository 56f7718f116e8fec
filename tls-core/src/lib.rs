//! A sans-IO TLS 1.3 and TLS 1.2 engine: the caller feeds received bytes in and takes bytes
//! to send out; the engine owns no socket, thread, clock or OS randomness.
//!
//! Time and randomness are inputs through the configuration, so a handshake can
//! be replayed byte for byte and a unikernel can supply its own sources.
//!
//! Besides certificates, a TLS 1.3 handshake can be authenticated by an
//! external pre-shared key ([`ExternalPsk`] in `ClientConfig::external_psk`
//! and `ServerConfig::external_psks`), always combined with (EC)DHE; see
//! the [`psk`] module.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod client;
pub mod config;
mod conn;
pub mod crypto;
// Parts of the DER reader serve only the x509 module, which needs std.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
mod der;
pub mod error;
pub mod keys;
pub mod msgs;
#[cfg(all(test, feature = "std"))]
mod negative_tests;
pub mod psk;
#[cfg(all(test, feature = "std"))]
mod psk_tests;
pub mod record;
mod server;
pub mod stapling;
#[cfg(all(test, feature = "std"))]
mod stapling_tests;
#[cfg(feature = "std")]
mod stream;
pub mod tickets;
pub mod tls12;
pub mod tls13;
pub mod verify;
mod versions;
#[cfg(feature = "std")]
pub mod x509;
#[cfg(all(test, feature = "std"))]
mod zero_copy_tests;
// The integration tests' support module, shared with the unit tests: it
// names this crate `tls_core`, as they do.
#[cfg(all(test, feature = "std"))]
extern crate self as tls_core;
#[cfg(all(test, feature = "std"))]
#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(feature = "std")]
pub use config::SystemClock;
pub use config::{
    CertifiedKey, ClientConfig, ClientHelloInfo, Clock, ResolvesServerCert, ServerConfig,
    SingleCert, UnixTime,
};
pub use conn::{Connection, Event, Negotiated, Side};
pub use crypto::SigningKey;
pub use entropy::{EntropyError, EntropySource};
pub use error::Error;
pub use msgs::enums::{
    AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme,
};
pub use psk::{ExternalPsk, NoCertificate};
#[cfg(feature = "std")]
pub use stream::TlsStream;
pub use tickets::{ClientSessionStore, StoredTicket, TicketEncrypter, TicketKey};
#[cfg(feature = "std")]
pub use tickets::{MemorySessionStore, RotatingTicketer};
#[cfg(feature = "std")]
pub use tls12::session::MemorySessionCache;
pub use tls12::session::{SessionIdCache, StoredSession12};
pub use verify::{
    ClientCertVerified, ClientCertVerifier, PinnedCertVerifier, ServerCertVerified,
    ServerCertVerifier, SignatureVerified,
};
#[cfg(feature = "std")]
pub use x509::{TrustAnchors, WebPkiClientVerifier, WebPkiVerifier};
