//! The TLS 1.3 Certificate and CertificateVerify messages (RFC 8446 §4.4.2–4.4.3),
//! sent and checked the same way by client and server: `client::tls13` and
//! `server::tls13` call these for their own and the peer's authentication.

use alloc::vec::Vec;

use crate::config::CertifiedKey;
use crate::conn::common::{Common, Side};
use crate::crypto::{certificate_verify_message, Transcript};
use crate::error::Error;
use crate::msgs::enums::SignatureScheme;
use crate::msgs::handshake::{
    CertificateEntry, CertificatePayload, CertificateVerify, HandshakeMessage,
};
use crate::verify::SignatureVerified;

/// Sends our Certificate (with the request's `context`) and, when we have a
/// certificate to present, a CertificateVerify over the transcript signed with
/// `scheme` (RFC 8446 §4.4.2–4.4.3). With no signer, the Certificate is empty.
/// A `staple` (an OCSP response) goes in the end-entity's entry. The signed
/// context string is that of `common`'s side.
pub(crate) fn send_certificate(
    common: &mut Common,
    context: Vec<u8>,
    signer: Option<(&CertifiedKey, SignatureScheme)>,
    staple: Option<&[u8]>,
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
        let signer_is_server = common.side == Side::Server;
        let message = certificate_verify_message(signer_is_server, transcript.current().as_ref());
        let signature = certified.key().sign(scheme, &message)?;
        let verify = CertificateVerify { scheme, signature };
        common.send_message(&HandshakeMessage::CertificateVerify(verify), transcript)?;
    }
    Ok(())
}

/// Checks the peer's CertificateVerify (RFC 8446 §4.4.3) over `transcript`
/// (through the peer's Certificate): the scheme must be one we offered
/// (`offered`), and `verify` (the configured verifier) must accept the
/// signature by the peer's end-entity certificate. `signer` is the peer's
/// side, which decides the signed context string.
pub(crate) fn check_certificate_verify(
    signer: Side,
    offered: &[SignatureScheme],
    transcript: &Transcript,
    peer_certificates: &[Vec<u8>],
    cv: &CertificateVerify,
    verify: impl FnOnce(&[u8], SignatureScheme, &[u8], &[u8]) -> Result<SignatureVerified, Error>,
) -> Result<SignatureVerified, Error> {
    if !offered.contains(&cv.scheme) {
        return Err(Error::IllegalParameter(if signer == Side::Server {
            "server signed with a scheme we did not offer"
        } else {
            "client signed with a scheme we did not offer"
        }));
    }
    let message = certificate_verify_message(signer == Side::Server, transcript.current().as_ref());
    let end_entity = peer_certificates
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default();
    verify(end_entity, cv.scheme, &message, &cv.signature)
}
