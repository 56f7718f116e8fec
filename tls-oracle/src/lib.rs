//! A trace oracle: given a capture of TLS sessions (pcap or pcapng) and the
//! NSS key log of their secrets, it reassembles each TCP connection,
//! decrypts both directions and checks every record and handshake message
//! against RFC 8446 (TLS 1.3) and RFC 5246 (TLS 1.2) with tls-core's strict
//! codec, running the handshake as an observer. Each deviation names the
//! direction, the message and the RFC section.
//!
//! ```no_run
//! let capture = std::fs::read("session.pcap")?;
//! let keys = std::fs::read_to_string("keys.log")?;
//! let keys = tls_oracle::KeyLog::parse(&keys).map_err(|e| e.join("\n"))?;
//! for stream in tls_oracle::read_streams(&capture, Some(443))? {
//!     for deviation in tls_oracle::check(&stream, &keys) {
//!         println!("{deviation}");
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod capture;
pub mod extensions;
pub mod keylog;
mod session;
mod tls12;
mod tls13;

pub use capture::{read_streams, CaptureError, Dir, Stream};
pub use keylog::KeyLog;
pub use session::{check, examine, Deviation, Summary};
