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
//!
//! # Example
//!
//! A client and a server in memory: the caller moves the bytes each one
//! queues (here straight to the other, in real use over a socket).
//!
//! ```
//! use std::sync::Arc;
//! use tls_core::{CertifiedKey, ClientConfig, Connection, ServerConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any PEM certificate chain and private key do; this one is self-signed.
//! let key = rcgen::KeyPair::generate()?;
//! let cert = rcgen::CertificateParams::new(vec!["localhost".into()])?.self_signed(&key)?;
//! let identity = CertifiedKey::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
//!
//! let server_config = Arc::new(ServerConfig::with_single_cert(identity));
//! let client_config = Arc::new(ClientConfig::with_pinned_certs(vec![cert.der().to_vec()]));
//! let mut client = Connection::client(client_config, Some("localhost"))?;
//! let mut server = Connection::server(server_config);
//!
//! // Sends what `from` has queued to `to`.
//! fn transfer(from: &mut Connection, to: &mut Connection) -> Result<(), tls_core::Error> {
//!     let bytes = from.pending_tls().to_vec();
//!     from.consume_tls(bytes.len());
//!     to.feed(&bytes)
//! }
//! for _ in 0..4 {
//!     transfer(&mut client, &mut server)?;
//!     transfer(&mut server, &mut client)?;
//! }
//! assert!(!client.is_handshaking() && !server.is_handshaking());
//!
//! client.write(b"hello")?;
//! transfer(&mut client, &mut server)?;
//! assert_eq!(server.peek_plaintext(), b"hello");
//! # Ok(())
//! # }
//! ```
//!
//! # Where to start
//!
//! - Configuration: [`ClientConfig::builder`] and [`ServerConfig::builder`]
//!   refuse at `build()`, with the reason, a configuration that could not
//!   complete a handshake; the client names its server with a checked
//!   [`ServerName`].
//! - Over a blocking socket: [`TlsStream`] (`Read + Write`). Under tokio:
//!   the `tls-tokio` crate (`TlsConnector`, `TlsAcceptor`, an async
//!   `TlsStream` that hyper and tonic take).
//! - Examples, each run by the tests: `examples/blocking_client.rs`,
//!   `blocking_server.rs`, `mtls.rs`, `resumption.rs` (a custom
//!   [`ClientSessionStore`]) and `embedder.rs` (a custom [`Clock`] and
//!   [`EntropySource`]).
//!
//! ```
//! use std::sync::Arc;
//! use tls_core::{ClientConfig, Connection, ProtocolVersion, ServerName};
//!
//! # fn main() -> Result<(), tls_core::Error> {
//! let config = ClientConfig::builder()
//!     .pinned_certs(vec![b"the server's certificate, DER".to_vec()])
//!     .versions(&[ProtocolVersion::Tls13])
//!     .build()?;
//! let name = ServerName::try_from("example.com")?;
//! let client = Connection::client(Arc::new(config), Some(&name.as_str()))?;
//! assert!(client.wants_write()); // the ClientHello
//! assert!(ServerName::try_from("no such name!").is_err());
//! # Ok(())
//! # }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod client;
pub mod config;
mod conn;
mod crypto;
mod der;
pub mod error;
pub mod keylog;
pub mod keys;
mod msgs;
#[cfg(all(test, feature = "std"))]
mod negative_tests;
#[cfg(feature = "std")]
mod observe;
pub mod psk;
#[cfg(all(test, feature = "std"))]
mod psk_tests;
mod record;
mod server;
pub mod stapling;
#[cfg(all(test, feature = "std"))]
mod stapling_tests;
#[cfg(feature = "std")]
mod stream;
pub mod tickets;
mod tls12;
mod tls13;
pub mod verify;
mod versions;
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
pub use config::{ClientConfigBuilder, ServerConfigBuilder, ServerName};
pub use conn::{Connection, Event, Negotiated, Side};
pub use crypto::{HashAlg, HashOutput, SigningKey};
pub use entropy::{EntropyError, EntropySource};
pub use error::Error;
pub use msgs::enums::{
    AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme,
};
pub use psk::{ExternalPsk, NoCertificate};
pub use stapling::OcspStapler;
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
pub use x509::{TrustAnchors, WebPkiClientVerifier, WebPkiVerifier};

/// Engine internals for this project's own tests, fuzz targets, BoGo shim and
/// benchmarks: the wire codec, record layer and a few crypto pieces.
///
/// **Unstable and not part of the API**: anything here may change or vanish in
/// any release. Library users build on the items at the crate root and in the
/// public modules only.
#[doc(hidden)]
pub mod internal {
    /// Crypto pieces the record-layer tests and fuzz targets drive directly.
    pub mod crypto {
        pub use crate::crypto::{
            cert_spki, parse_spki, server_share, share_lengths, supported_group, AeadAlg,
            ClientShare, RecordKey12, TrafficKey, TLS12_SIGNATURE_SCHEMES,
            TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384,
        };
    }
    /// Key-schedule pieces for observers (the trace oracle).
    #[cfg(feature = "std")]
    pub mod observe {
        pub use crate::observe::*;
    }
    /// The wire codec, message by message.
    pub mod msgs {
        /// Alerts.
        pub mod alert {
            pub use crate::msgs::alert::*;
        }
        /// Wire enums.
        pub mod enums {
            pub use crate::msgs::enums::*;
        }
        /// Extensions.
        pub mod extensions {
            pub use crate::msgs::extensions::*;
        }
        /// TLS 1.3 handshake messages.
        pub mod handshake {
            pub use crate::msgs::handshake::*;
        }
        /// TLS 1.2 handshake messages.
        pub mod handshake12 {
            pub use crate::msgs::handshake12::*;
        }
    }
    /// The record layer.
    pub mod record {
        pub use crate::record::MAX_PLAINTEXT;
        /// Outgoing record buffer.
        pub mod buffer {
            pub use crate::record::buffer::RecordBuffer;
        }
        /// Bytes to records.
        pub mod deframe {
            pub use crate::record::deframe::Deframer;
        }
        /// Handshake messages across records.
        pub mod join {
            pub use crate::record::join::{HandshakeJoiner, RawHandshake};
        }
        /// Record protection.
        pub mod protect {
            pub use crate::record::protect::{frame_plaintext, RecordOpener, RecordSealer};
        }
    }
}
