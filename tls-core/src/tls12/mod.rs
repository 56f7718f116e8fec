//! TLS 1.2 machinery both sides share (RFC 5246, ECDHE + AEAD only): the PRF
//! and key derivation, the handshake transcript, session resumption state,
//! and the traffic state after the handshake. The per-side handshakes in
//! `client::tls12` and `server::tls12` drive these.

pub(crate) mod prf;
pub(crate) mod session;
pub(crate) mod suites;
pub(crate) mod traffic;
pub(crate) mod transcript;
