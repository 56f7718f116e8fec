//! OCSP stapling, server side (RFC 6066 §8, RFC 8446 §4.4.2.1): when the
//! client sent status_request asking for OCSP and the configured
//! [`OcspStapler`] has a response for the certificate presented, TLS 1.3
//! carries it in the end-entity CertificateEntry's status_request
//! extension and TLS 1.2 in a CertificateStatus message after Certificate
//! (announced by an empty status_request in the ServerHello).

use alloc::vec::Vec;

use crate::config::{CertifiedKey, ServerConfig};
use crate::msgs::extensions::{ClientExtension, UnknownExtension};
use crate::msgs::handshake::ClientHello;

/// Supplies the OCSP responses a server staples.
pub trait OcspStapler: Send + Sync {
    /// The DER OCSPResponse to staple for the chain whose end-entity
    /// certificate is `end_entity`, if there is a current one.
    fn staple(&self, end_entity: &[u8]) -> Option<Vec<u8>>;
}

/// status_request's extension type.
const STATUS_REQUEST: u16 = 5;
/// CertificateStatusType ocsp.
const OCSP: u8 = 1;
/// The certificate_status handshake message type (TLS 1.2).
const CERTIFICATE_STATUS: u8 = 22;

/// The response to staple in this handshake, if the client asked for OCSP
/// and there is one (at most 2^24 - 1 bytes, as its length field allows).
pub(crate) fn for_hello(
    config: &ServerConfig,
    ch: &ClientHello,
    certified: &CertifiedKey,
) -> Option<Vec<u8>> {
    let asked = ch
        .extensions
        .iter()
        .any(|e| matches!(e, ClientExtension::StatusRequest(body) if body.first() == Some(&OCSP)));
    if !asked {
        return None;
    }
    let response = config
        .ocsp_stapler
        .as_ref()?
        .staple(certified.chain().first()?)?;
    (!response.is_empty() && response.len() < 1 << 24).then_some(response)
}

/// The CertificateStatus body: status_type ocsp and the response with its
/// 24-bit length.
fn certificate_status(response: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(response.len() + 4);
    out.push(OCSP);
    out.extend_from_slice(&u24(response.len()));
    out.extend_from_slice(response);
    out
}

/// The TLS 1.3 CertificateEntry extension carrying `response`.
pub(crate) fn entry_extension(response: &[u8]) -> UnknownExtension {
    UnknownExtension {
        typ: STATUS_REQUEST,
        data: certificate_status(response),
    }
}

/// The empty status_request a TLS 1.2 ServerHello announces a
/// CertificateStatus with.
pub(crate) fn server_hello_extension() -> UnknownExtension {
    UnknownExtension {
        typ: STATUS_REQUEST,
        data: Vec::new(),
    }
}

/// The whole TLS 1.2 CertificateStatus handshake message.
pub(crate) fn tls12_message(response: &[u8]) -> Vec<u8> {
    let body = certificate_status(response);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(CERTIFICATE_STATUS);
    out.extend_from_slice(&u24(body.len()));
    out.extend_from_slice(&body);
    out
}

/// The low three bytes of `n`, big-endian (callers keep `n` below 2^24).
fn u24(n: usize) -> [u8; 3] {
    let [.., a, b, c] = n.to_be_bytes();
    [a, b, c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stapling_encodings() {
        assert_eq!(certificate_status(&[0xaa, 0xbb]), [1, 0, 0, 2, 0xaa, 0xbb]);
        assert_eq!(tls12_message(&[0xaa]), [22, 0, 0, 5, 1, 0, 0, 1, 0xaa]);
        assert_eq!(u24(0x01_0203), [1, 2, 3]);
    }
}
