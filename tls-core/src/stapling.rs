//! OCSP stapling (RFC 6066 §8, RFC 8446 §4.4.2.1), both sides' wire rules.
//!
//! Server: when the client sent status_request asking for OCSP and the
//! configured [`OcspStapler`] has a response for the certificate presented,
//! TLS 1.3 carries it in the end-entity CertificateEntry's status_request
//! extension and TLS 1.2 in a CertificateStatus message after Certificate
//! (announced by an empty status_request in the ServerHello).
//!
//! Client (when [`crate::ClientConfig::request_ocsp`] is set): the
//! ClientHello asks for OCSP with no responder list and no request
//! extensions; a TLS 1.3 server may answer only in the end-entity
//! CertificateEntry, a TLS 1.2 server only after acknowledging in its
//! ServerHello. The response goes to the verifier and into
//! [`crate::Negotiated::ocsp_response`].

use alloc::vec;
use alloc::vec::Vec;

use crate::config::{CertifiedKey, ServerConfig};
use crate::error::Error;
use crate::msgs::codec::Reader;
use crate::msgs::extensions::{ClientExtension, UnknownExtension};
use crate::msgs::handshake::{CertificateEntry, ClientHello};

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

/// The client's status_request: CertificateStatusType ocsp, an empty
/// responder_id_list and empty request_extensions.
pub(crate) fn client_hello_extension() -> ClientExtension {
    ClientExtension::StatusRequest(vec![OCSP, 0, 0, 0, 0])
}

/// True when a TLS 1.2 ServerHello extension of type `typ` with body
/// `data` acknowledges our status_request; an acknowledgement with a body
/// is a decode error (RFC 6066 §8: its extension_data is empty).
pub(crate) fn is_server_hello_ack(typ: u16, data: &[u8]) -> Result<bool, Error> {
    match (typ, data.is_empty()) {
        (STATUS_REQUEST, true) => Ok(true),
        (STATUS_REQUEST, false) => Err(Error::Decode("status_request in ServerHello not empty")),
        _ => Ok(false),
    }
}

/// Reads a CertificateStatus body (the TLS 1.2 message, or the TLS 1.3
/// CertificateEntry extension): status_type ocsp and a non-empty
/// OCSPResponse with its 24-bit length, nothing after it. Returns the DER
/// OCSPResponse.
pub(crate) fn read_certificate_status(body: &[u8]) -> Result<Vec<u8>, Error> {
    let mut r = Reader::new(body);
    if r.u8("status_type")? != OCSP {
        return Err(Error::IllegalParameter(
            "CertificateStatus of a type we did not ask for",
        ));
    }
    let response = r.vec_u24("OCSPResponse")?;
    r.finish("trailing bytes in CertificateStatus")?;
    if response.is_empty() {
        return Err(Error::Decode("empty OCSPResponse"));
    }
    Ok(response.rest().to_vec())
}

/// The OCSP response a TLS 1.3 server sent in its Certificate, checking
/// every entry's extensions: the only one we accept is status_request, on
/// the end-entity entry only (illegal_parameter elsewhere), and only when
/// we asked for it; any extension we did not ask for is
/// unsupported_extension (RFC 8446 §4.4.2).
pub(crate) fn tls13_leaf_response(
    entries: &[CertificateEntry],
    requested: bool,
) -> Result<Option<Vec<u8>>, Error> {
    let mut response = None;
    for (index, entry) in entries.iter().enumerate() {
        for ext in &entry.extensions {
            match (ext.typ, requested, index) {
                (STATUS_REQUEST, true, 0) => {
                    response = Some(read_certificate_status(&ext.data)?);
                }
                (STATUS_REQUEST, true, _) => {
                    return Err(Error::IllegalParameter(
                        "status_request on a certificate other than the end-entity's",
                    ))
                }
                _ => {
                    return Err(Error::UnsupportedExtension(
                        "unsolicited extension in a CertificateEntry",
                    ))
                }
            }
        }
    }
    Ok(response)
}

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
pub(crate) fn certificate_status(response: &[u8]) -> Vec<u8> {
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

    #[test]
    fn certificate_status_reads_back_and_refuses_malformed_bodies() {
        let body = certificate_status(&[0x30, 0x03, 0x0a, 0x01, 0x00]);
        assert_eq!(
            read_certificate_status(&body),
            Ok(vec![0x30, 0x03, 0x0a, 0x01, 0x00])
        );
        let mut long = body.clone();
        long.push(0);
        assert!(matches!(
            read_certificate_status(&long),
            Err(Error::Decode(_))
        ));
        for n in 0..body.len() {
            assert!(matches!(
                read_certificate_status(&body[..n]),
                Err(Error::Decode(_))
            ));
        }
        assert!(matches!(
            read_certificate_status(&[1, 0, 0, 0]),
            Err(Error::Decode("empty OCSPResponse"))
        ));
        // ocsp_multi (RFC 6961) was not asked for.
        assert!(matches!(
            read_certificate_status(&[2, 0, 0, 1, 0]),
            Err(Error::IllegalParameter(_))
        ));
    }

    #[test]
    fn tls13_entry_rules() {
        let staple = entry_extension(&[0x30, 0]);
        let entry = |extensions| CertificateEntry {
            cert: vec![0x30],
            extensions,
        };
        let leaf = [entry(vec![staple.clone()]), entry(vec![])];
        assert_eq!(tls13_leaf_response(&leaf, true), Ok(Some(vec![0x30, 0])));
        assert_eq!(tls13_leaf_response(&[entry(vec![])], true), Ok(None));
        assert!(matches!(
            tls13_leaf_response(&leaf, false),
            Err(Error::UnsupportedExtension(_))
        ));
        let on_intermediate = [entry(vec![]), entry(vec![staple])];
        assert!(matches!(
            tls13_leaf_response(&on_intermediate, true),
            Err(Error::IllegalParameter(_))
        ));
        // signed_certificate_timestamp: never asked for.
        let sct = UnknownExtension {
            typ: 18,
            data: vec![0, 0],
        };
        assert!(matches!(
            tls13_leaf_response(&[entry(vec![sct])], true),
            Err(Error::UnsupportedExtension(_))
        ));
    }

    #[test]
    fn server_hello_acknowledgement() {
        assert_eq!(is_server_hello_ack(5, &[]), Ok(true));
        assert_eq!(is_server_hello_ack(0, &[]), Ok(false));
        assert!(is_server_hello_ack(5, &[0]).is_err());
    }
}
