//! TLS 1.3 machinery both sides share (RFC 8446): the key schedule, the
//! Certificate and CertificateVerify messages, and the traffic state after
//! the handshake. The per-side handshakes in `client::tls13` and
//! `server::tls13` drive these; nothing here knows which side it runs on
//! beyond a [`Side`](crate::Side) value.

pub(crate) mod certificate;
pub(crate) mod key_schedule;
pub(crate) mod traffic;
