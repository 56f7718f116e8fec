//! Version negotiation for both sides: which versions a configuration can
//! speak, the server's choice from a ClientHello (RFC 8446 §4.2.1, with
//! TLS_FALLBACK_SCSV, RFC 7507), and the downgrade sentinels a TLS 1.3
//! server writes into a TLS 1.2 ServerHello's random and a TLS 1.3 client
//! checks for (RFC 8446 §4.1.3). The client offers what
//! [`enabled_versions`] gives; the server's first ClientHello goes through
//! [`choose_version`] before `server::tls13` or `server::tls12` takes it.

use alloc::vec;
use alloc::vec::Vec;

use crate::config::ServerConfig;
use crate::crypto::tls13_suite;
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, ProtocolVersion};
use crate::msgs::handshake::ClientHello;
use crate::tls12::suites::tls12_suite;

/// The versions a config can speak: those listed that have a suite configured.
pub(crate) fn enabled_versions(
    versions: &[ProtocolVersion],
    suites: &[CipherSuite],
) -> Vec<ProtocolVersion> {
    let mut out = Vec::new();
    if versions.contains(&ProtocolVersion::Tls13)
        && suites.iter().any(|s| tls13_suite(*s).is_some())
    {
        out.push(ProtocolVersion::Tls13);
    }
    if versions.contains(&ProtocolVersion::Tls12)
        && suites.iter().any(|s| tls12_suite(*s).is_some())
    {
        out.push(ProtocolVersion::Tls12);
    }
    out
}

/// The version to speak with this ClientHello: the highest both sides
/// enable. A client below TLS 1.2 gets protocol_version; a TLS 1.2 client
/// signalling TLS_FALLBACK_SCSV to a TLS 1.3 server gets inappropriate_fallback.
pub(crate) fn choose_version(
    config: &ServerConfig,
    ch: &ClientHello,
) -> Result<ProtocolVersion, Error> {
    let ours = enabled_versions(&config.versions, &config.cipher_suites);
    let offered: Vec<ProtocolVersion> = match ch.supported_versions() {
        Some(versions) => versions.to_vec(),
        None if ch.legacy_version >= 0x0303 => vec![ProtocolVersion::Tls12],
        None => Vec::new(),
    };
    let chosen = [ProtocolVersion::Tls13, ProtocolVersion::Tls12]
        .into_iter()
        .find(|v| ours.contains(v) && offered.contains(v))
        .ok_or(Error::ProtocolVersion)?;
    if chosen == ProtocolVersion::Tls12
        && ours.contains(&ProtocolVersion::Tls13)
        && ch.cipher_suites.contains(&CipherSuite::FallbackScsv)
    {
        return Err(Error::InappropriateFallback);
    }
    Ok(chosen)
}

/// The last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.2
/// (RFC 8446 §4.1.3).
pub(crate) const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";
/// The last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.1 or below.
pub(crate) const DOWNGRADE_TLS11: [u8; 8] = *b"DOWNGRD\x00";

/// True when a server random carries either downgrade sentinel.
pub(crate) fn has_downgrade_sentinel(random: &[u8; 32]) -> bool {
    let tail = &random[24..];
    tail == DOWNGRADE_TLS12 || tail == DOWNGRADE_TLS11
}
