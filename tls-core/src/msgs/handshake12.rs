//! TLS 1.2 handshake messages (RFC 5246 §7.4, RFC 8422 §5, RFC 5077 §3.3):
//! the messages whose form differs from TLS 1.3 or that TLS 1.3 lacks.
//! ClientHello, ServerHello, CertificateVerify and Finished share the TLS 1.3
//! types. Decoding is strict like the rest of the codec.

use alloc::vec::Vec;

use crate::error::Error;
use crate::msgs::codec::{put_u16, put_u32, read_list, write_list, LenPrefix, Reader, VecRule};
use crate::msgs::enums::{HandshakeType, NamedGroup, SignatureScheme};
use crate::msgs::extensions::DistinguishedName;
use crate::msgs::handshake::{
    Asn1Cert, CertificateVerify, ClientHello, Finished, HandshakeMessage, ServerHello,
};

/// A decoded TLS 1.2 handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message12 {
    /// hello_request (empty body)
    HelloRequest,
    /// client_hello (a renegotiation attempt once the handshake is done)
    ClientHello(ClientHello),
    /// server_hello
    ServerHello(ServerHello),
    /// certificate: the DER chain, end-entity first (possibly empty from a client)
    Certificate(Vec<Vec<u8>>),
    /// server_key_exchange for ECDHE
    ServerKeyExchange(ServerKeyExchange),
    /// certificate_request
    CertificateRequest(CertificateRequest12),
    /// server_hello_done (empty body)
    ServerHelloDone,
    /// certificate_verify (same form as in TLS 1.3)
    CertificateVerify(CertificateVerify),
    /// client_key_exchange for ECDHE: the client's public point
    ClientKeyExchange(Vec<u8>),
    /// finished
    Finished(Finished),
    /// new_session_ticket (RFC 5077)
    NewSessionTicket(NewSessionTicket12),
    /// certificate_status (RFC 6066 §8): the stapled DER OCSPResponse
    CertificateStatus(Vec<u8>),
}

/// ECDHE parameters signed by the server (RFC 8422 §5.4), named curves only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// The group of the ephemeral key.
    pub group: NamedGroup,
    /// The server's public point, at least one byte.
    pub public: Vec<u8>,
    /// The signature scheme.
    pub scheme: SignatureScheme,
    /// The signature over client_random || server_random || params.
    pub signature: Vec<u8>,
}

/// ECCurveType named_curve.
const NAMED_CURVE: u8 = 3;

/// `opaque point<1..2^8-1>` (RFC 8422 §5.4): ServerECDHParams' public and
/// the ClientKeyExchange's ecdh_Yc.
const ECDH_POINT: VecRule = VecRule::non_empty(LenPrefix::U8, "ecdh point");

/// The ServerKeyExchange's `opaque signature<0..2^16-1>`.
const SKE_SIGNATURE: VecRule = VecRule::new(LenPrefix::U16, "signature");

/// `ClientCertificateType certificate_types<1..2^8-1>`, kept raw.
const CERTIFICATE_TYPES: VecRule = VecRule::non_empty(LenPrefix::U8, "certificate_types");

/// The TLS 1.2 NewSessionTicket's `opaque ticket<0..2^16-1>` (RFC 5077 §3.3).
const TICKET12: VecRule = VecRule::new(LenPrefix::U16, "ticket");

impl ServerKeyExchange {
    /// The ServerECDHParams as encoded: curve type, group, point.
    pub fn params(&self) -> Vec<u8> {
        ecdh_params(self.group, &self.public)
    }
}

/// ServerECDHParams for `group` and `public`.
pub fn ecdh_params(group: NamedGroup, public: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + public.len());
    out.push(NAMED_CURVE);
    put_u16(&mut out, group.to_wire());
    ECDH_POINT.write_bytes(&mut out, public);
    out
}

/// The content a ServerKeyExchange signature covers.
pub fn signed_params(client_random: &[u8; 32], server_random: &[u8; 32], params: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + params.len());
    out.extend_from_slice(client_random);
    out.extend_from_slice(server_random);
    out.extend_from_slice(params);
    out
}

/// A TLS 1.2 CertificateRequest (RFC 5246 §7.4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest12 {
    /// ClientCertificateType values, at least one.
    pub cert_types: Vec<u8>,
    /// supported_signature_algorithms, at least one.
    pub schemes: Vec<SignatureScheme>,
    /// Acceptable CA names (DER), possibly none.
    pub authorities: Vec<Vec<u8>>,
}

/// ClientCertificateType rsa_sign.
pub const RSA_SIGN: u8 = 1;
/// ClientCertificateType ecdsa_sign.
pub const ECDSA_SIGN: u8 = 64;

/// A TLS 1.2 NewSessionTicket (RFC 5077 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSessionTicket12 {
    /// ticket_lifetime_hint in seconds (0: unspecified).
    pub lifetime_hint: u32,
    /// The opaque ticket; empty means no new ticket.
    pub ticket: Vec<u8>,
}

impl Message12 {
    /// Decodes the body of a handshake message of type `typ`; types not used
    /// in TLS 1.2 are [`Error::UnexpectedMessage`].
    pub fn decode(typ: HandshakeType, body: &[u8]) -> Result<Self, Error> {
        use Message12 as M;
        match typ {
            HandshakeType::ClientHello => {
                return match HandshakeMessage::decode(typ, body)? {
                    HandshakeMessage::ClientHello(ch) => Ok(M::ClientHello(ch)),
                    _ => Err(Error::UnexpectedMessage("not a ClientHello")),
                }
            }
            HandshakeType::ServerHello => {
                return match HandshakeMessage::decode(typ, body)? {
                    HandshakeMessage::ServerHello(sh) => Ok(M::ServerHello(sh)),
                    _ => Err(Error::UnexpectedMessage("HelloRetryRequest in TLS 1.2")),
                }
            }
            _ => {}
        }
        let mut r = Reader::new(body);
        let msg = match typ {
            HandshakeType::HelloRequest => M::HelloRequest,
            HandshakeType::Certificate => M::Certificate(read_list::<Asn1Cert>(&mut r)?),
            HandshakeType::ServerKeyExchange => {
                if r.u8("ec curve type")? != NAMED_CURVE {
                    return Err(Error::IllegalParameter("ECDH parameters not a named curve"));
                }
                M::ServerKeyExchange(ServerKeyExchange {
                    group: NamedGroup::from_wire(r.u16("named curve")?),
                    public: ECDH_POINT.read_bytes(&mut r)?,
                    scheme: SignatureScheme::from_wire(r.u16("signature scheme")?),
                    signature: SKE_SIGNATURE.read_bytes(&mut r)?,
                })
            }
            HandshakeType::CertificateRequest => {
                let cert_types = CERTIFICATE_TYPES.read_bytes(&mut r)?;
                let schemes = read_list::<SignatureScheme>(&mut r)?;
                // `DistinguishedName certificate_authorities<0..2^16-1>`: unlike
                // TLS 1.3's extension, the list may be empty.
                let authorities = if r.rest() == [0, 0] {
                    let _ = r.take(2, "certificate_authorities")?;
                    Vec::new()
                } else {
                    read_list::<DistinguishedName>(&mut r)?
                };
                M::CertificateRequest(CertificateRequest12 {
                    cert_types,
                    schemes,
                    authorities,
                })
            }
            HandshakeType::ServerHelloDone => M::ServerHelloDone,
            HandshakeType::CertificateVerify => {
                M::CertificateVerify(CertificateVerify::read(&mut r)?)
            }
            HandshakeType::ClientKeyExchange => {
                M::ClientKeyExchange(ECDH_POINT.read_bytes(&mut r)?)
            }
            HandshakeType::Finished => M::Finished(Finished::read(&mut r)),
            HandshakeType::NewSessionTicket => M::NewSessionTicket(NewSessionTicket12 {
                lifetime_hint: r.u32("ticket_lifetime_hint")?,
                ticket: TICKET12.read_bytes(&mut r)?,
            }),
            HandshakeType::CertificateStatus => {
                M::CertificateStatus(crate::stapling::read_certificate_status(
                    r.take(body.len(), "certificate_status")?,
                )?)
            }
            _ => {
                return Err(Error::UnexpectedMessage(
                    "handshake type not used in TLS 1.2",
                ))
            }
        };
        r.finish("trailing bytes in handshake message")?;
        Ok(msg)
    }

    /// The handshake type on the wire.
    pub fn typ(&self) -> HandshakeType {
        use Message12 as M;
        match self {
            M::HelloRequest => HandshakeType::HelloRequest,
            M::ClientHello(_) => HandshakeType::ClientHello,
            M::ServerHello(_) => HandshakeType::ServerHello,
            M::Certificate(_) => HandshakeType::Certificate,
            M::ServerKeyExchange(_) => HandshakeType::ServerKeyExchange,
            M::CertificateRequest(_) => HandshakeType::CertificateRequest,
            M::ServerHelloDone => HandshakeType::ServerHelloDone,
            M::CertificateVerify(_) => HandshakeType::CertificateVerify,
            M::ClientKeyExchange(_) => HandshakeType::ClientKeyExchange,
            M::Finished(_) => HandshakeType::Finished,
            M::NewSessionTicket(_) => HandshakeType::NewSessionTicket,
            M::CertificateStatus(_) => HandshakeType::CertificateStatus,
        }
    }

    /// Appends the message: the 4-byte header and the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use Message12 as M;
        match self {
            M::ClientHello(ch) => return HandshakeMessage::ClientHello(ch.clone()).encode(out),
            M::ServerHello(sh) => return HandshakeMessage::ServerHello(sh.clone()).encode(out),
            _ => {}
        }
        out.push(self.typ().to_wire());
        HandshakeMessage::BODY.write_with(out, |out| match self {
            M::HelloRequest | M::ServerHelloDone | M::ClientHello(_) | M::ServerHello(_) => {}
            M::Certificate(chain) => write_list::<Asn1Cert>(out, chain),
            M::ServerKeyExchange(ske) => {
                out.extend_from_slice(&ske.params());
                put_u16(out, ske.scheme.to_wire());
                SKE_SIGNATURE.write_bytes(out, &ske.signature);
            }
            M::CertificateRequest(cr) => {
                CERTIFICATE_TYPES.write_bytes(out, &cr.cert_types);
                write_list::<SignatureScheme>(out, &cr.schemes);
                write_list::<DistinguishedName>(out, &cr.authorities);
            }
            M::CertificateVerify(cv) => cv.write(out),
            M::ClientKeyExchange(point) => ECDH_POINT.write_bytes(out, point),
            M::Finished(f) => f.write(out),
            M::NewSessionTicket(t) => {
                put_u32(out, t.lifetime_hint);
                TICKET12.write_bytes(out, &t.ticket);
            }
            M::CertificateStatus(response) => {
                out.extend_from_slice(&crate::stapling::certificate_status(response))
            }
        });
    }

    /// The encoded message, header included.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(crate::msgs::codec::ENCODE_CAPACITY);
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn round_trip(msg: Message12) {
        let bytes = msg.to_vec();
        let typ = HandshakeType::from_wire(bytes[0]);
        let back = Message12::decode(typ, &bytes[4..]).unwrap();
        assert_eq!(back, msg);
        let mut longer = bytes[4..].to_vec();
        longer.push(0);
        // A Finished is its whole body: its length is checked by the state machine.
        if typ != HandshakeType::Finished {
            assert!(Message12::decode(typ, &longer).is_err());
        }
        for n in 0..bytes.len() - 4 {
            if let Ok(m) = Message12::decode(typ, &bytes[4..4 + n]) {
                // Only a shorter Finished or an emptied list can still decode.
                assert!(
                    matches!(m, Message12::Finished(_) | Message12::Certificate(_)),
                    "{m:?}"
                );
            }
        }
    }

    #[test]
    fn messages_round_trip_and_trailing_bytes_fail() {
        round_trip(Message12::Certificate(vec![vec![1, 2, 3], vec![4]]));
        round_trip(Message12::Certificate(vec![]));
        round_trip(Message12::ServerKeyExchange(ServerKeyExchange {
            group: NamedGroup::X25519,
            public: vec![9; 32],
            scheme: SignatureScheme::Ed25519,
            signature: vec![7; 64],
        }));
        round_trip(Message12::CertificateRequest(CertificateRequest12 {
            cert_types: vec![RSA_SIGN, ECDSA_SIGN],
            schemes: vec![SignatureScheme::RsaPkcs1Sha256],
            authorities: vec![vec![0x30, 0]],
        }));
        round_trip(Message12::ClientKeyExchange(vec![4; 65]));
        round_trip(Message12::NewSessionTicket(NewSessionTicket12 {
            lifetime_hint: 300,
            ticket: vec![1; 40],
        }));
        round_trip(Message12::Finished(Finished {
            verify_data: vec![1; 12],
        }));
        round_trip(Message12::CertificateStatus(vec![0x30, 3, 10, 1, 0]));
    }

    #[test]
    fn certificate_verify_and_finished_decode_alike_in_both_versions() {
        let cv = [0x08, 0x07, 0, 2, 0xaa, 0xbb];
        let expected = CertificateVerify {
            scheme: SignatureScheme::Ed25519,
            signature: vec![0xaa, 0xbb],
        };
        assert_eq!(
            Message12::decode(HandshakeType::CertificateVerify, &cv),
            Ok(Message12::CertificateVerify(expected.clone()))
        );
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::CertificateVerify, &cv),
            Ok(HandshakeMessage::CertificateVerify(expected))
        );
        for bad in [&cv[..5], &[0x08, 0x07, 0, 2, 0xaa, 0xbb, 0][..]] {
            let e12 = Message12::decode(HandshakeType::CertificateVerify, bad).unwrap_err();
            let e13 = HandshakeMessage::decode(HandshakeType::CertificateVerify, bad).unwrap_err();
            assert_eq!(e12, e13);
            assert!(matches!(e12, Error::Decode(_)));
        }
        let fin = [7u8; 12];
        assert_eq!(
            Message12::decode(HandshakeType::Finished, &fin),
            Ok(Message12::Finished(Finished {
                verify_data: fin.to_vec()
            }))
        );
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::Finished, &fin),
            Ok(HandshakeMessage::Finished(Finished {
                verify_data: fin.to_vec()
            }))
        );
    }

    #[test]
    fn empty_messages_and_refusals() {
        assert_eq!(
            Message12::decode(HandshakeType::ServerHelloDone, &[]),
            Ok(Message12::ServerHelloDone)
        );
        assert!(Message12::decode(HandshakeType::ServerHelloDone, &[0]).is_err());
        assert_eq!(
            Message12::decode(HandshakeType::HelloRequest, &[]),
            Ok(Message12::HelloRequest)
        );
        // explicit_prime curve parameters are refused.
        assert_eq!(
            Message12::decode(HandshakeType::ServerKeyExchange, &[1, 0, 0]),
            Err(Error::IllegalParameter("ECDH parameters not a named curve"))
        );
        assert_eq!(
            Message12::decode(HandshakeType::EncryptedExtensions, &[0, 0]),
            Err(Error::UnexpectedMessage(
                "handshake type not used in TLS 1.2"
            ))
        );
        assert!(Message12::decode(HandshakeType::ClientKeyExchange, &[0]).is_err());
        // A CertificateRequest with an empty CA list.
        let cr = [1, 64, 0, 2, 4, 3, 0, 0];
        assert!(matches!(
            Message12::decode(HandshakeType::CertificateRequest, &cr),
            Ok(Message12::CertificateRequest(c)) if c.authorities.is_empty()
        ));
    }
}
