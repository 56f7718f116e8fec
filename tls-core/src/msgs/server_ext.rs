//! Extensions of the server's messages and of CertificateRequest and
//! NewSessionTicket (RFC 8446 §4.2). Re-exported from
//! [`crate::msgs::extensions`]; the decoding rules are described there.

use alloc::vec::Vec;

use crate::error::Error;
use crate::msgs::codec::{put_u16, put_u32, read_list, write_list, ListElement, Reader};
use crate::msgs::enums::{ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme};
use crate::msgs::extensions::{
    decode_block, encode_block, record_size_limit, DistinguishedName, ExtensionBody, KeyShareEntry,
    ProtocolName, UnknownExtension, COOKIE, EC_POINT_FORMATS, RENEGOTIATION_INFO,
};

/// A protocol name list holding exactly one name (the server's ALPN choice).
fn single_alpn(r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
    let mut list = ProtocolName::LIST.body(r)?;
    let name = ProtocolName::read(&mut list)?;
    list.finish("alpn list: more than one name")?;
    Ok(name)
}

fn put_single_alpn(out: &mut Vec<u8>, name: &[u8]) {
    ProtocolName::LIST.write_with(out, |out| ProtocolName::NAME.write_bytes(out, name));
}

// ---------------------------------------------------------------------------
// ServerHello
// ---------------------------------------------------------------------------

/// An extension of a ServerHello (TLS 1.3, or TLS 1.2 for the 1.2-only variants).
///
/// Types that are legal in some ServerHello but not parsed here (server_name,
/// status_request, max_fragment_length, record_size_limit, ...) are `Unknown`;
/// the state machine rejects any it did not offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerExtension {
    /// supported_versions: the selected version.
    SupportedVersions(ProtocolVersion),
    /// key_share: the server's share.
    KeyShare(KeyShareEntry),
    /// pre_shared_key: the index of the selected identity.
    PreSharedKey(u16),
    /// renegotiation_info: the renegotiated_connection bytes (TLS 1.2).
    RenegotiationInfo(Vec<u8>),
    /// extended_master_secret (TLS 1.2, empty body).
    ExtendedMasterSecret,
    /// ec_point_formats (TLS 1.2), at least one.
    EcPointFormats(Vec<u8>),
    /// session_ticket (TLS 1.2, empty body).
    SessionTicket,
    /// application_layer_protocol_negotiation (TLS 1.2): the one selected name.
    Alpn(Vec<u8>),
    /// Any other type allowed in a ServerHello, kept raw.
    Unknown(UnknownExtension),
}

impl ServerExtension {
    /// The extension type.
    pub fn typ(&self) -> ExtensionType {
        ExtensionType::from_wire(self.wire_type())
    }

    /// Decodes a u16-prefixed ServerHello extension block.
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Self>, Error> {
        decode_block(r)
    }

    /// Appends a u16-prefixed ServerHello extension block.
    pub fn encode_list(list: &[Self], out: &mut Vec<u8>) {
        encode_block(list, out)
    }
}

impl ExtensionBody for ServerExtension {
    fn read(typ: u16, r: &mut Reader<'_>) -> Result<Self, Error> {
        use ExtensionType as E;
        use ServerExtension as S;
        Ok(match ExtensionType::from_wire(typ) {
            E::SupportedVersions => {
                S::SupportedVersions(ProtocolVersion::from_wire(r.u16("supported_versions")?))
            }
            E::KeyShare => S::KeyShare(KeyShareEntry::read(r)?),
            E::PreSharedKey => S::PreSharedKey(r.u16("pre_shared_key")?),
            E::RenegotiationInfo => S::RenegotiationInfo(RENEGOTIATION_INFO.read_bytes(r)?),
            E::ExtendedMasterSecret => S::ExtendedMasterSecret,
            E::EcPointFormats => S::EcPointFormats(EC_POINT_FORMATS.read_bytes(r)?),
            E::SessionTicket => S::SessionTicket,
            E::Alpn => S::Alpn(single_alpn(r)?),
            // Kept raw: a TLS 1.2 server may echo the client's supported_groups
            // (RFC 5246 §7.4.1.4 allows any extension the client sent), which the
            // TLS 1.2 client ignores; the TLS 1.3 client refuses it (RFC 8446 §4.2).
            E::SupportedGroups => S::Unknown(UnknownExtension::read(typ, r)),
            E::SignatureAlgorithms
            | E::SignatureAlgorithmsCert
            | E::Padding
            | E::EarlyData
            | E::Cookie
            | E::PskKeyExchangeModes
            | E::CertificateAuthorities
            | E::PostHandshakeAuth => {
                return Err(Error::IllegalParameter(
                    "extension not allowed in server_hello",
                ))
            }
            _ => S::Unknown(UnknownExtension::read(typ, r)),
        })
    }

    fn wire_type(&self) -> u16 {
        use ExtensionType as E;
        use ServerExtension as S;
        let t = match self {
            S::SupportedVersions(_) => E::SupportedVersions,
            S::KeyShare(_) => E::KeyShare,
            S::PreSharedKey(_) => E::PreSharedKey,
            S::RenegotiationInfo(_) => E::RenegotiationInfo,
            S::ExtendedMasterSecret => E::ExtendedMasterSecret,
            S::EcPointFormats(_) => E::EcPointFormats,
            S::SessionTicket => E::SessionTicket,
            S::Alpn(_) => E::Alpn,
            S::Unknown(u) => return u.typ,
        };
        t.to_wire()
    }

    fn write(&self, out: &mut Vec<u8>) {
        use ServerExtension as S;
        match self {
            S::SupportedVersions(v) => put_u16(out, v.to_wire()),
            S::KeyShare(k) => KeyShareEntry::write(k, out),
            S::PreSharedKey(i) => put_u16(out, *i),
            S::RenegotiationInfo(v) => RENEGOTIATION_INFO.write_bytes(out, v),
            S::ExtendedMasterSecret | S::SessionTicket => {}
            S::EcPointFormats(v) => EC_POINT_FORMATS.write_bytes(out, v),
            S::Alpn(name) => put_single_alpn(out, name),
            S::Unknown(u) => out.extend_from_slice(&u.data),
        }
    }
}

// ---------------------------------------------------------------------------
// HelloRetryRequest
// ---------------------------------------------------------------------------

/// An extension of a HelloRetryRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HrrExtension {
    /// supported_versions: the selected version.
    SupportedVersions(ProtocolVersion),
    /// key_share: the group the server wants a share for.
    KeyShare(NamedGroup),
    /// cookie, at least one byte.
    Cookie(Vec<u8>),
    /// A type this implementation does not know, kept raw.
    Unknown(UnknownExtension),
}

impl HrrExtension {
    /// The extension type.
    pub fn typ(&self) -> ExtensionType {
        ExtensionType::from_wire(self.wire_type())
    }

    /// Decodes a u16-prefixed HelloRetryRequest extension block.
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Self>, Error> {
        decode_block(r)
    }

    /// Appends a u16-prefixed HelloRetryRequest extension block.
    pub fn encode_list(list: &[Self], out: &mut Vec<u8>) {
        encode_block(list, out)
    }
}

impl ExtensionBody for HrrExtension {
    fn read(typ: u16, r: &mut Reader<'_>) -> Result<Self, Error> {
        use ExtensionType as E;
        use HrrExtension as H;
        Ok(match ExtensionType::from_wire(typ) {
            E::SupportedVersions => {
                H::SupportedVersions(ProtocolVersion::from_wire(r.u16("supported_versions")?))
            }
            E::KeyShare => H::KeyShare(NamedGroup::from_wire(r.u16("key_share group")?)),
            E::Cookie => H::Cookie(COOKIE.read_bytes(r)?),
            E::Unknown(_) => H::Unknown(UnknownExtension::read(typ, r)),
            _ => {
                return Err(Error::IllegalParameter(
                    "extension not allowed in hello_retry_request",
                ))
            }
        })
    }

    fn wire_type(&self) -> u16 {
        use ExtensionType as E;
        use HrrExtension as H;
        let t = match self {
            H::SupportedVersions(_) => E::SupportedVersions,
            H::KeyShare(_) => E::KeyShare,
            H::Cookie(_) => E::Cookie,
            H::Unknown(u) => return u.typ,
        };
        t.to_wire()
    }

    fn write(&self, out: &mut Vec<u8>) {
        use HrrExtension as H;
        match self {
            H::SupportedVersions(v) => put_u16(out, v.to_wire()),
            H::KeyShare(g) => put_u16(out, g.to_wire()),
            H::Cookie(c) => COOKIE.write_bytes(out, c),
            H::Unknown(u) => out.extend_from_slice(&u.data),
        }
    }
}

// ---------------------------------------------------------------------------
// EncryptedExtensions
// ---------------------------------------------------------------------------

/// An extension of EncryptedExtensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptedExtension {
    /// server_name, empty: the server used the client's name.
    ServerName,
    /// supported_groups: the server's preferences, at least one.
    SupportedGroups(Vec<NamedGroup>),
    /// application_layer_protocol_negotiation: the one selected name.
    Alpn(Vec<u8>),
    /// early_data (empty body): the server accepted 0-RTT data.
    EarlyData,
    /// record_size_limit (RFC 8449), at least 64.
    RecordSizeLimit(u16),
    /// Any other type allowed in EncryptedExtensions, kept raw.
    Unknown(UnknownExtension),
}

impl EncryptedExtension {
    /// The extension type.
    pub fn typ(&self) -> ExtensionType {
        ExtensionType::from_wire(self.wire_type())
    }

    /// Decodes a u16-prefixed EncryptedExtensions extension block.
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Self>, Error> {
        decode_block(r)
    }

    /// Appends a u16-prefixed EncryptedExtensions extension block.
    pub fn encode_list(list: &[Self], out: &mut Vec<u8>) {
        encode_block(list, out)
    }
}

impl ExtensionBody for EncryptedExtension {
    fn read(typ: u16, r: &mut Reader<'_>) -> Result<Self, Error> {
        use EncryptedExtension as X;
        use ExtensionType as E;
        Ok(match ExtensionType::from_wire(typ) {
            E::ServerName => X::ServerName,
            E::SupportedGroups => X::SupportedGroups(read_list::<NamedGroup>(r)?),
            E::Alpn => X::Alpn(single_alpn(r)?),
            E::EarlyData => X::EarlyData,
            E::RecordSizeLimit => X::RecordSizeLimit(record_size_limit(r)?),
            E::MaxFragmentLength | E::Heartbeat | E::Unknown(_) => {
                X::Unknown(UnknownExtension::read(typ, r))
            }
            _ => {
                return Err(Error::IllegalParameter(
                    "extension not allowed in encrypted_extensions",
                ))
            }
        })
    }

    fn wire_type(&self) -> u16 {
        use EncryptedExtension as X;
        use ExtensionType as E;
        let t = match self {
            X::ServerName => E::ServerName,
            X::SupportedGroups(_) => E::SupportedGroups,
            X::Alpn(_) => E::Alpn,
            X::EarlyData => E::EarlyData,
            X::RecordSizeLimit(_) => E::RecordSizeLimit,
            X::Unknown(u) => return u.typ,
        };
        t.to_wire()
    }

    fn write(&self, out: &mut Vec<u8>) {
        use EncryptedExtension as X;
        match self {
            X::ServerName | X::EarlyData => {}
            X::SupportedGroups(v) => write_list::<NamedGroup>(out, v),
            X::Alpn(name) => put_single_alpn(out, name),
            X::RecordSizeLimit(v) => put_u16(out, *v),
            X::Unknown(u) => out.extend_from_slice(&u.data),
        }
    }
}

// ---------------------------------------------------------------------------
// CertificateRequest
// ---------------------------------------------------------------------------

/// An extension of a CertificateRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertReqExtension {
    /// signature_algorithms, at least one.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// signature_algorithms_cert, at least one.
    SignatureAlgorithmsCert(Vec<SignatureScheme>),
    /// certificate_authorities: DER distinguished names, at least one.
    CertificateAuthorities(Vec<Vec<u8>>),
    /// Any other type allowed in a CertificateRequest (status_request,
    /// signed_certificate_timestamp, oid_filters, ...), kept raw.
    Unknown(UnknownExtension),
}

impl CertReqExtension {
    /// The extension type.
    pub fn typ(&self) -> ExtensionType {
        ExtensionType::from_wire(self.wire_type())
    }

    /// Decodes a u16-prefixed CertificateRequest extension block.
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Self>, Error> {
        decode_block(r)
    }

    /// Appends a u16-prefixed CertificateRequest extension block.
    pub fn encode_list(list: &[Self], out: &mut Vec<u8>) {
        encode_block(list, out)
    }
}

impl ExtensionBody for CertReqExtension {
    fn read(typ: u16, r: &mut Reader<'_>) -> Result<Self, Error> {
        use CertReqExtension as X;
        use ExtensionType as E;
        Ok(match ExtensionType::from_wire(typ) {
            E::SignatureAlgorithms => X::SignatureAlgorithms(read_list::<SignatureScheme>(r)?),
            E::SignatureAlgorithmsCert => {
                X::SignatureAlgorithmsCert(read_list::<SignatureScheme>(r)?)
            }
            E::CertificateAuthorities => {
                X::CertificateAuthorities(read_list::<DistinguishedName>(r)?)
            }
            E::StatusRequest | E::SignedCertificateTimestamp | E::Unknown(_) => {
                X::Unknown(UnknownExtension::read(typ, r))
            }
            _ => {
                return Err(Error::IllegalParameter(
                    "extension not allowed in certificate_request",
                ))
            }
        })
    }

    fn wire_type(&self) -> u16 {
        use CertReqExtension as X;
        use ExtensionType as E;
        let t = match self {
            X::SignatureAlgorithms(_) => E::SignatureAlgorithms,
            X::SignatureAlgorithmsCert(_) => E::SignatureAlgorithmsCert,
            X::CertificateAuthorities(_) => E::CertificateAuthorities,
            X::Unknown(u) => return u.typ,
        };
        t.to_wire()
    }

    fn write(&self, out: &mut Vec<u8>) {
        use CertReqExtension as X;
        match self {
            X::SignatureAlgorithms(v) | X::SignatureAlgorithmsCert(v) => {
                write_list::<SignatureScheme>(out, v)
            }
            X::CertificateAuthorities(dns) => write_list::<DistinguishedName>(out, dns),
            X::Unknown(u) => out.extend_from_slice(&u.data),
        }
    }
}

// ---------------------------------------------------------------------------
// NewSessionTicket
// ---------------------------------------------------------------------------

/// An extension of a NewSessionTicket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketExtension {
    /// early_data: max_early_data_size.
    EarlyData(u32),
    /// A type this implementation does not know, kept raw.
    Unknown(UnknownExtension),
}

impl TicketExtension {
    /// The extension type.
    pub fn typ(&self) -> ExtensionType {
        ExtensionType::from_wire(self.wire_type())
    }

    /// Decodes a u16-prefixed NewSessionTicket extension block.
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Self>, Error> {
        decode_block(r)
    }

    /// Appends a u16-prefixed NewSessionTicket extension block.
    pub fn encode_list(list: &[Self], out: &mut Vec<u8>) {
        encode_block(list, out)
    }
}

impl ExtensionBody for TicketExtension {
    fn read(typ: u16, r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match ExtensionType::from_wire(typ) {
            ExtensionType::EarlyData => {
                TicketExtension::EarlyData(r.u32("early_data max_early_data_size")?)
            }
            ExtensionType::Unknown(_) => TicketExtension::Unknown(UnknownExtension::read(typ, r)),
            _ => {
                return Err(Error::IllegalParameter(
                    "extension not allowed in new_session_ticket",
                ))
            }
        })
    }

    fn wire_type(&self) -> u16 {
        match self {
            TicketExtension::EarlyData(_) => ExtensionType::EarlyData.to_wire(),
            TicketExtension::Unknown(u) => u.typ,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            TicketExtension::EarlyData(n) => put_u32(out, *n),
            TicketExtension::Unknown(u) => out.extend_from_slice(&u.data),
        }
    }
}

// ---------------------------------------------------------------------------
// CertificateEntry
// ---------------------------------------------------------------------------

/// A CertificateEntry extension: status_request and
/// signed_certificate_timestamp (and unknown types) are kept raw; any other
/// recognised type is not allowed there.
pub(crate) struct CertEntryExtension(pub(crate) UnknownExtension);

impl ExtensionBody for CertEntryExtension {
    fn read(typ: u16, r: &mut Reader<'_>) -> Result<Self, Error> {
        match ExtensionType::from_wire(typ) {
            ExtensionType::StatusRequest
            | ExtensionType::SignedCertificateTimestamp
            | ExtensionType::Unknown(_) => Ok(CertEntryExtension(UnknownExtension::read(typ, r))),
            _ => Err(Error::IllegalParameter(
                "extension not allowed in certificate",
            )),
        }
    }

    fn wire_type(&self) -> u16 {
        self.0.typ
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.data)
    }
}
