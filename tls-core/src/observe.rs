//! The key-schedule pieces an observer needs to decrypt and check a session
//! it only watched (the trace oracle, `tls-oracle`): traffic keys from
//! logged secrets, Finished values, CertificateVerify signatures. Reached
//! through [`crate::internal::observe`]; not part of the API.

use alloc::vec::Vec;

use crate::conn::Side;
use crate::crypto::{
    certificate_verify_message, hkdf_expand_label_secret, tls13_suite, verify_tls12_signature,
    verify_tls13_signature, AeadAlg, HashAlg, HashOutput, RecordKey12, TrafficKey,
};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, SignatureScheme};
use crate::tls12::prf::{finished_verify_data, record_keys};
use crate::tls12::suites::tls12_suite;
use crate::tls13::key_schedule;

/// A suite's transcript hash and record protection, for either version.
pub fn suite_params(suite: CipherSuite) -> Option<(HashAlg, AeadAlg)> {
    if let Some(s) = tls13_suite(suite) {
        return Some((s.hash, s.aead));
    }
    tls12_suite(suite).map(|s| (s.hash, s.aead))
}

/// The TLS 1.3 record key of a traffic secret, for `suite`.
///
/// # Errors
///
/// `suite` is not a TLS 1.3 suite we know, or the secret has the wrong size.
pub fn tls13_key(suite: CipherSuite, secret: &[u8]) -> Result<TrafficKey, Error> {
    let s = tls13_suite(suite).ok_or(Error::InvalidConfig("not a TLS 1.3 suite"))?;
    TrafficKey::from_secret(s, secret)
}

/// The next application traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn tls13_next_secret(hash: HashAlg, secret: &[u8]) -> Vec<u8> {
    key_schedule::next_traffic_secret(hash, secret)
        .as_ref()
        .to_vec()
}

/// The Finished verify_data the sender of `base_secret` (its handshake
/// traffic secret) must send after `transcript_hash` (RFC 8446 §4.4.4).
pub fn tls13_finished(hash: HashAlg, base_secret: &[u8], transcript_hash: &[u8]) -> HashOutput {
    let finished_key = hkdf_expand_label_secret(hash, base_secret, b"finished", b"");
    crate::crypto::hmac_sign(hash, finished_key.as_ref(), transcript_hash)
}

/// Checks a TLS 1.3 CertificateVerify: `signature` by the key of `spki_der`
/// under `scheme`, over the transcript hash up to the CertificateVerify
/// (RFC 8446 §4.4.3); `by_server` picks the context string.
///
/// # Errors
///
/// The key or scheme is unsupported, or the signature does not verify.
pub fn tls13_check_signature(
    spki_der: &[u8],
    scheme: SignatureScheme,
    by_server: bool,
    transcript_hash: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let message = certificate_verify_message(by_server, transcript_hash);
    verify_tls13_signature(spki_der, scheme, &message, signature)
}

/// Checks a TLS 1.2 signature (ServerKeyExchange params or the client's
/// CertificateVerify over the handshake messages) by the key of `spki_der`.
///
/// # Errors
///
/// The key or scheme is unsupported, or the signature does not verify.
pub fn tls12_check_signature(
    spki_der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    verify_tls12_signature(spki_der, scheme, message, signature)
}

/// A TLS 1.2 connection's record keys, by direction (RFC 5246 §6.3).
pub struct Tls12Keys {
    /// Protects what the client sends.
    pub client_write: RecordKey12,
    /// Protects what the server sends.
    pub server_write: RecordKey12,
}

/// The TLS 1.2 record keys from the master secret and the hello randoms.
///
/// # Errors
///
/// `suite` is not a TLS 1.2 suite we know.
pub fn tls12_keys(
    suite: CipherSuite,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<Tls12Keys, Error> {
    let s = tls12_suite(suite).ok_or(Error::InvalidConfig("not a TLS 1.2 suite"))?;
    let keys = record_keys(Side::Client, s, master, client_random, server_random)?;
    Ok(Tls12Keys {
        client_write: keys.write,
        server_write: keys.read,
    })
}

/// The TLS 1.2 Finished verify_data (RFC 5246 §7.4.9) the client (or the
/// server) must send after `transcript_hash`; `None` for a suite we do not know.
pub fn tls12_finished(
    suite: CipherSuite,
    master: &[u8],
    by_client: bool,
    transcript_hash: &[u8],
) -> Option<[u8; 12]> {
    let s = tls12_suite(suite)?;
    let side = if by_client {
        Side::Client
    } else {
        Side::Server
    };
    Some(finished_verify_data(s.hash, master, side, transcript_hash))
}
