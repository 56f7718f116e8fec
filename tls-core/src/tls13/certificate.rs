//! Small pieces of the TLS 1.3 handshake shared by client and server.

use alloc::vec::Vec;

use crate::config::CertifiedKey;
use crate::conn::Common;
use crate::crypto::{certificate_verify_message, Transcript};
use crate::error::Error;
use crate::msgs::enums::SignatureScheme;
use crate::msgs::handshake::{
    CertificateEntry, CertificatePayload, CertificateVerify, HandshakeMessage,
};
use crate::verify::SignatureVerified;

/// The last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.2
/// (RFC 8446 §4.1.3).
pub const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";
/// The last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.1 or below.
pub const DOWNGRADE_TLS11: [u8; 8] = *b"DOWNGRD\x00";

/// True when a server random carries either downgrade sentinel.
pub fn has_downgrade_sentinel(random: &[u8; 32]) -> bool {
    let tail = &random[24..];
    tail == DOWNGRADE_TLS12 || tail == DOWNGRADE_TLS11
}

/// Sends our Certificate (with the request's `context`) and, when we have a
/// certificate to present, a CertificateVerify over the transcript signed with
/// `scheme` (RFC 8446 §4.4.2–4.4.3). With no signer, the Certificate is empty.
/// A `staple` (an OCSP response) goes in the end-entity's entry.
pub(crate) fn send_certificate(
    common: &mut Common,
    context: Vec<u8>,
    signer: Option<(&CertifiedKey, SignatureScheme)>,
    staple: Option<&[u8]>,
    we_are_server: bool,
    transcript: &mut Transcript,
) -> Result<(), Error> {
    let entries = signer.map_or_else(Vec::new, |(certified, _)| {
        let entry = |(i, cert): (usize, &Vec<u8>)| CertificateEntry {
            cert: cert.clone(),
            extensions: staple
                .filter(|_| i == 0)
                .map(crate::stapling::entry_extension)
                .into_iter()
                .collect(),
        };
        certified.chain().iter().enumerate().map(entry).collect()
    });
    let certificate = CertificatePayload { context, entries };
    common.send_message(&HandshakeMessage::Certificate(certificate), transcript)?;
    if let Some((certified, scheme)) = signer {
        let message = certificate_verify_message(we_are_server, transcript.current().as_ref());
        let signature = certified.key().sign(scheme, &message)?;
        let verify = CertificateVerify { scheme, signature };
        common.send_message(&HandshakeMessage::CertificateVerify(verify), transcript)?;
    }
    Ok(())
}

/// Checks the peer's CertificateVerify (RFC 8446 §4.4.3) over `transcript`
/// (through the peer's Certificate): the scheme must be one we offered
/// (`offered`), and `verify` (the configured verifier) must accept the
/// signature by the peer's end-entity certificate. `from_server` says who
/// signed, which decides the signed context string.
pub(crate) fn check_certificate_verify(
    from_server: bool,
    offered: &[SignatureScheme],
    transcript: &Transcript,
    peer_certificates: &[Vec<u8>],
    cv: &CertificateVerify,
    verify: impl FnOnce(&[u8], SignatureScheme, &[u8], &[u8]) -> Result<SignatureVerified, Error>,
) -> Result<SignatureVerified, Error> {
    if !offered.contains(&cv.scheme) {
        return Err(Error::IllegalParameter(if from_server {
            "server signed with a scheme we did not offer"
        } else {
            "client signed with a scheme we did not offer"
        }));
    }
    let message = certificate_verify_message(from_server, transcript.current().as_ref());
    let end_entity = peer_certificates
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default();
    verify(end_entity, cv.scheme, &message, &cv.signature)
}
