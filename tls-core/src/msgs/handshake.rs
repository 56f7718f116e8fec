//! TLS 1.3 handshake messages (RFC 8446 §4): one type per message, strict
//! decoding, and encoding that is its exact inverse.
//!
//! One normalisation: the extensions block of a ClientHello or ServerHello
//! may be absent (TLS 1.2 style). Both an absent block and an explicit empty
//! block decode to an empty `Vec`, and an empty `Vec` encodes as an absent
//! block. So a hello with an explicit zero-length extensions block is the one
//! accepted input that does not re-encode to the same bytes; transcripts must
//! always hash the bytes received, never a re-encoding.

use alloc::vec::Vec;

use crate::error::Error;
use crate::msgs::codec::{
    put_u16, put_u32, read_list, write_list, LenPrefix, ListElement, Reader, VecRule,
};
use crate::msgs::enums::{
    CipherSuite, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion, SignatureScheme,
};
use crate::msgs::extensions::{
    decode_block, encode_raw_block, CertReqExtension, ClientExtension, EncryptedExtension,
    HrrExtension, KeyShareEntry, OfferedPsks, ServerExtension, TicketExtension, UnknownExtension,
};
use crate::msgs::server_ext::CertEntryExtension;

/// The random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A decoded TLS 1.3 handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeMessage {
    /// client_hello
    ClientHello(ClientHello),
    /// server_hello whose random is not [`HRR_RANDOM`]
    ServerHello(ServerHello),
    /// server_hello whose random is [`HRR_RANDOM`]
    HelloRetryRequest(HelloRetryRequest),
    /// new_session_ticket
    NewSessionTicket(NewSessionTicket),
    /// end_of_early_data (empty body)
    EndOfEarlyData,
    /// encrypted_extensions
    EncryptedExtensions(EncryptedExtensions),
    /// certificate
    Certificate(CertificatePayload),
    /// certificate_request
    CertificateRequest(CertificateRequest),
    /// certificate_verify
    CertificateVerify(CertificateVerify),
    /// finished
    Finished(Finished),
    /// key_update
    KeyUpdate(KeyUpdateRequest),
}

impl HandshakeMessage {
    /// Decodes the body of a handshake message of type `typ` (the bytes after
    /// the 4-byte header). A server_hello with the HelloRetryRequest random
    /// becomes [`HandshakeMessage::HelloRetryRequest`]; types not used in
    /// TLS 1.3 are [`Error::UnexpectedMessage`].
    pub fn decode(typ: HandshakeType, body: &[u8]) -> Result<Self, Error> {
        use HandshakeMessage as M;
        let mut r = Reader::new(body);
        let msg = match typ {
            HandshakeType::ClientHello => M::ClientHello(ClientHello::read(&mut r)?),
            HandshakeType::ServerHello => read_server_hello(&mut r)?,
            HandshakeType::NewSessionTicket => M::NewSessionTicket(NewSessionTicket::read(&mut r)?),
            HandshakeType::EndOfEarlyData => M::EndOfEarlyData,
            HandshakeType::EncryptedExtensions => M::EncryptedExtensions(EncryptedExtensions {
                extensions: EncryptedExtension::decode_list(&mut r)?,
            }),
            HandshakeType::Certificate => M::Certificate(CertificatePayload::read(&mut r)?),
            HandshakeType::CertificateRequest => {
                M::CertificateRequest(CertificateRequest::read(&mut r)?)
            }
            HandshakeType::CertificateVerify => {
                M::CertificateVerify(CertificateVerify::read(&mut r)?)
            }
            HandshakeType::Finished => M::Finished(Finished::read(&mut r)),
            HandshakeType::KeyUpdate => M::KeyUpdate(match r.u8("key_update")? {
                0 => KeyUpdateRequest::NotRequested,
                1 => KeyUpdateRequest::Requested,
                _ => return Err(Error::IllegalParameter("key_update request value")),
            }),
            _ => {
                return Err(Error::UnexpectedMessage(
                    "handshake type not used in TLS 1.3",
                ))
            }
        };
        r.finish("trailing bytes in handshake message")?;
        Ok(msg)
    }

    /// The handshake type on the wire (server_hello for a HelloRetryRequest).
    pub fn typ(&self) -> HandshakeType {
        use HandshakeMessage as M;
        match self {
            M::ClientHello(_) => HandshakeType::ClientHello,
            M::ServerHello(_) | M::HelloRetryRequest(_) => HandshakeType::ServerHello,
            M::NewSessionTicket(_) => HandshakeType::NewSessionTicket,
            M::EndOfEarlyData => HandshakeType::EndOfEarlyData,
            M::EncryptedExtensions(_) => HandshakeType::EncryptedExtensions,
            M::Certificate(_) => HandshakeType::Certificate,
            M::CertificateRequest(_) => HandshakeType::CertificateRequest,
            M::CertificateVerify(_) => HandshakeType::CertificateVerify,
            M::Finished(_) => HandshakeType::Finished,
            M::KeyUpdate(_) => HandshakeType::KeyUpdate,
        }
    }

    /// Appends the message: the 4-byte header (type, u24 length) and the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use HandshakeMessage as M;
        out.push(self.typ().to_wire());
        Self::BODY.write_with(out, |out| match self {
            M::ClientHello(m) => m.write(out),
            M::ServerHello(m) => m.write(out),
            M::HelloRetryRequest(m) => m.write(out),
            M::NewSessionTicket(m) => m.write(out),
            M::EndOfEarlyData => {}
            M::EncryptedExtensions(m) => EncryptedExtension::encode_list(&m.extensions, out),
            M::Certificate(m) => m.write(out),
            M::CertificateRequest(m) => {
                REQUEST_CONTEXT.write_bytes(out, &m.context);
                CertReqExtension::encode_list(&m.extensions, out);
            }
            M::CertificateVerify(m) => m.write(out),
            M::Finished(m) => m.write(out),
            M::KeyUpdate(k) => out.push(match k {
                KeyUpdateRequest::NotRequested => 0,
                KeyUpdateRequest::Requested => 1,
            }),
        });
    }

    /// The encoded message, header included.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(crate::msgs::codec::ENCODE_CAPACITY);
        self.encode(&mut out);
        out
    }

    /// A handshake message's body after its type: `uint24 length` and the
    /// bytes (RFC 8446 §4). TLS 1.2 messages are framed the same way.
    pub(crate) const BODY: VecRule = VecRule::new(LenPrefix::U24, "handshake message");
}

/// `opaque legacy_session_id<0..32>`: the prefix is read here, the bound of
/// 32 by [`read_session_id`].
const SESSION_ID: VecRule = VecRule::new(LenPrefix::U8, "legacy_session_id");

/// `opaque certificate_request_context<0..2^8-1>` (Certificate and
/// CertificateRequest).
const REQUEST_CONTEXT: VecRule = VecRule::new(LenPrefix::U8, "certificate_request_context");

/// A legacy_session_id (or its echo): 0..=32 bytes.
fn read_session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
    let id = SESSION_ID.read_bytes(r)?;
    if id.len() > 32 {
        return Err(Error::Decode("legacy_session_id longer than 32 bytes"));
    }
    Ok(id)
}

/// A ServerHello body, which is a HelloRetryRequest when the random says so.
fn read_server_hello(r: &mut Reader<'_>) -> Result<HandshakeMessage, Error> {
    let legacy_version = r.u16("server_hello legacy_version")?;
    let random: [u8; 32] = r.array("server_hello random")?;
    let session_id = read_session_id(r)?;
    let cipher_suite = CipherSuite::from_wire(r.u16("server_hello cipher_suite")?);
    let compression_method = r.u8("server_hello compression_method")?;
    if random == HRR_RANDOM {
        // A HelloRetryRequest is TLS 1.3 only: its extensions block is required.
        let extensions = HrrExtension::decode_list(r)?;
        return Ok(HandshakeMessage::HelloRetryRequest(HelloRetryRequest {
            legacy_version,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        }));
    }
    let extensions = if r.is_empty() {
        Vec::new()
    } else {
        ServerExtension::decode_list(r)?
    };
    Ok(HandshakeMessage::ServerHello(ServerHello {
        legacy_version,
        random,
        session_id,
        cipher_suite,
        compression_method,
        extensions,
    }))
}

/// A ClientHello (RFC 8446 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// legacy_version (0x0303 for TLS 1.3).
    pub legacy_version: u16,
    /// The client random.
    pub random: [u8; 32],
    /// legacy_session_id, 0..=32 bytes.
    pub session_id: Vec<u8>,
    /// The offered cipher suites, at least one.
    pub cipher_suites: Vec<CipherSuite>,
    /// legacy_compression_methods, 1..=255 bytes.
    pub compression_methods: Vec<u8>,
    /// The extensions; empty means the block is absent on the wire.
    pub extensions: Vec<ClientExtension>,
}

impl ClientHello {
    /// The hello encoded as a handshake message, header included: what
    /// `HandshakeMessage::ClientHello(hello).to_vec()` gives, without
    /// giving the hello up.
    pub(crate) fn to_message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(crate::msgs::codec::ENCODE_CAPACITY);
        out.push(HandshakeType::ClientHello.to_wire());
        HandshakeMessage::BODY.write_with(&mut out, |out| self.write(out));
        out
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let legacy_version = r.u16("client_hello legacy_version")?;
        let random = r.array("client_hello random")?;
        let session_id = read_session_id(r)?;
        let cipher_suites = read_list::<CipherSuite>(r)?;
        let compression_methods = Self::COMPRESSION_METHODS.read_bytes(r)?;
        let extensions = if r.is_empty() {
            Vec::new()
        } else {
            ClientExtension::decode_list(r)?
        };
        Ok(ClientHello {
            legacy_version,
            random,
            session_id,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_u16(out, self.legacy_version);
        out.extend_from_slice(&self.random);
        SESSION_ID.write_bytes(out, &self.session_id);
        write_list::<CipherSuite>(out, &self.cipher_suites);
        Self::COMPRESSION_METHODS.write_bytes(out, &self.compression_methods);
        if !self.extensions.is_empty() {
            ClientExtension::encode_list(&self.extensions, out);
        }
    }

    /// `opaque legacy_compression_methods<1..2^8-1>`.
    const COMPRESSION_METHODS: VecRule =
        VecRule::non_empty(LenPrefix::U8, "legacy_compression_methods");

    /// True when an extension of type `typ` is present.
    pub fn has(&self, typ: ExtensionType) -> bool {
        self.extensions.iter().any(|e| e.typ() == typ)
    }

    /// The server_name host name.
    pub fn server_name(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::ServerName(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    /// The supported_versions list.
    pub fn supported_versions(&self) -> Option<&[ProtocolVersion]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::SupportedVersions(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The key_share entries.
    pub fn key_shares(&self) -> Option<&[KeyShareEntry]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::KeyShare(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The supported_groups list.
    pub fn supported_groups(&self) -> Option<&[NamedGroup]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::SupportedGroups(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The signature_algorithms list.
    pub fn signature_algorithms(&self) -> Option<&[SignatureScheme]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::SignatureAlgorithms(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The signature_algorithms_cert list.
    pub fn signature_algorithms_cert(&self) -> Option<&[SignatureScheme]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::SignatureAlgorithmsCert(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The offered ALPN protocol names.
    pub fn alpn(&self) -> Option<&[Vec<u8>]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::Alpn(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The cookie echoed from a HelloRetryRequest.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::Cookie(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The psk_key_exchange_modes bytes.
    pub fn psk_modes(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::PskKeyExchangeModes(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The offered pre-shared keys.
    pub fn pre_shared_key(&self) -> Option<&OfferedPsks> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::PreSharedKey(p) => Some(p),
            _ => None,
        })
    }

    /// The certificate_authorities names.
    pub fn certificate_authorities(&self) -> Option<&[Vec<u8>]> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::CertificateAuthorities(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The record_size_limit value.
    pub fn record_size_limit(&self) -> Option<u16> {
        self.extensions.iter().find_map(|e| match e {
            ClientExtension::RecordSizeLimit(v) => Some(*v),
            _ => None,
        })
    }
}

/// A ServerHello that is not a HelloRetryRequest (RFC 8446 §4.1.3).
///
/// A `random` equal to [`HRR_RANDOM`] encodes to bytes that decode as a
/// HelloRetryRequest; build a [`HelloRetryRequest`] instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// legacy_version (0x0303 for TLS 1.3).
    pub legacy_version: u16,
    /// The server random.
    pub random: [u8; 32],
    /// legacy_session_id_echo, 0..=32 bytes.
    pub session_id: Vec<u8>,
    /// The selected cipher suite.
    pub cipher_suite: CipherSuite,
    /// legacy_compression_method (0).
    pub compression_method: u8,
    /// The extensions; empty means the block is absent on the wire.
    pub extensions: Vec<ServerExtension>,
}

impl ServerHello {
    fn write(&self, out: &mut Vec<u8>) {
        put_u16(out, self.legacy_version);
        out.extend_from_slice(&self.random);
        SESSION_ID.write_bytes(out, &self.session_id);
        put_u16(out, self.cipher_suite.to_wire());
        out.push(self.compression_method);
        if !self.extensions.is_empty() {
            ServerExtension::encode_list(&self.extensions, out);
        }
    }

    /// True when an extension of type `typ` is present.
    pub fn has(&self, typ: ExtensionType) -> bool {
        self.extensions.iter().any(|e| e.typ() == typ)
    }

    /// The version selected in supported_versions.
    pub fn supported_version(&self) -> Option<ProtocolVersion> {
        self.extensions.iter().find_map(|e| match e {
            ServerExtension::SupportedVersions(v) => Some(*v),
            _ => None,
        })
    }

    /// The server's key share.
    pub fn key_share(&self) -> Option<&KeyShareEntry> {
        self.extensions.iter().find_map(|e| match e {
            ServerExtension::KeyShare(k) => Some(k),
            _ => None,
        })
    }

    /// The index of the PSK identity the server selected.
    pub fn pre_shared_key(&self) -> Option<u16> {
        self.extensions.iter().find_map(|e| match e {
            ServerExtension::PreSharedKey(i) => Some(*i),
            _ => None,
        })
    }
}

/// A HelloRetryRequest: a ServerHello whose random is [`HRR_RANDOM`]
/// (RFC 8446 §4.1.4). Its extensions block is always present on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloRetryRequest {
    /// legacy_version (0x0303).
    pub legacy_version: u16,
    /// legacy_session_id_echo, 0..=32 bytes.
    pub session_id: Vec<u8>,
    /// The selected cipher suite.
    pub cipher_suite: CipherSuite,
    /// legacy_compression_method (0).
    pub compression_method: u8,
    /// The extensions.
    pub extensions: Vec<HrrExtension>,
}

impl HelloRetryRequest {
    fn write(&self, out: &mut Vec<u8>) {
        put_u16(out, self.legacy_version);
        out.extend_from_slice(&HRR_RANDOM);
        SESSION_ID.write_bytes(out, &self.session_id);
        put_u16(out, self.cipher_suite.to_wire());
        out.push(self.compression_method);
        HrrExtension::encode_list(&self.extensions, out);
    }

    /// True when an extension of type `typ` is present.
    pub fn has(&self, typ: ExtensionType) -> bool {
        self.extensions.iter().any(|e| e.typ() == typ)
    }

    /// The group the server asks a key share for.
    pub fn selected_group(&self) -> Option<NamedGroup> {
        self.extensions.iter().find_map(|e| match e {
            HrrExtension::KeyShare(g) => Some(*g),
            _ => None,
        })
    }

    /// The cookie the client must echo.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            HrrExtension::Cookie(c) => Some(c.as_slice()),
            _ => None,
        })
    }

    /// The version selected in supported_versions.
    pub fn supported_version(&self) -> Option<ProtocolVersion> {
        self.extensions.iter().find_map(|e| match e {
            HrrExtension::SupportedVersions(v) => Some(*v),
            _ => None,
        })
    }
}

/// EncryptedExtensions (RFC 8446 §4.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedExtensions {
    /// The extensions.
    pub extensions: Vec<EncryptedExtension>,
}

impl EncryptedExtensions {
    /// True when an extension of type `typ` is present.
    pub fn has(&self, typ: ExtensionType) -> bool {
        self.extensions.iter().any(|e| e.typ() == typ)
    }

    /// The ALPN protocol the server selected.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.extensions.iter().find_map(|e| match e {
            EncryptedExtension::Alpn(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    /// The server's record_size_limit.
    pub fn record_size_limit(&self) -> Option<u16> {
        self.extensions.iter().find_map(|e| match e {
            EncryptedExtension::RecordSizeLimit(v) => Some(*v),
            _ => None,
        })
    }
}

/// A Certificate message (RFC 8446 §4.4.2), X.509 certificates only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePayload {
    /// certificate_request_context, 0..=255 bytes (empty for the server).
    pub context: Vec<u8>,
    /// The chain, end-entity first; empty when the client has no certificate.
    pub entries: Vec<CertificateEntry>,
}

/// One certificate of a chain with its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateEntry {
    /// The DER certificate, 1..2^24-1 bytes.
    pub cert: Vec<u8>,
    /// The extensions (status_request, signed_certificate_timestamp), kept raw.
    pub extensions: Vec<UnknownExtension>,
}

impl CertificatePayload {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let context = REQUEST_CONTEXT.read_bytes(r)?;
        let entries = read_list::<CertificateEntry>(r)?;
        Ok(CertificatePayload { context, entries })
    }

    fn write(&self, out: &mut Vec<u8>) {
        REQUEST_CONTEXT.write_bytes(out, &self.context);
        write_list::<CertificateEntry>(out, &self.entries);
    }
}

/// `CertificateEntry certificate_list<0..2^24-1>` (RFC 8446 §4.4.2): the
/// entry's cert_data is an [`Asn1Cert`], then its extensions block.
impl ListElement for CertificateEntry {
    type Item = Self;
    const LIST: VecRule = Asn1Cert::LIST;

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let cert = Asn1Cert::read(r)?;
        let extensions = decode_block::<CertEntryExtension>(r)?
            .into_iter()
            .map(|e| e.0)
            .collect();
        Ok(CertificateEntry { cert, extensions })
    }

    fn write(item: &Self, out: &mut Vec<u8>) {
        Asn1Cert::write(&item.cert, out);
        encode_raw_block(&item.extensions, out);
    }
}

/// An element of TLS 1.2's `ASN.1Cert certificate_list<0..2^24-1>`:
/// `opaque ASN.1Cert<1..2^24-1>` (RFC 5246 §7.4.2), also TLS 1.3's cert_data
/// and the chains kept in session tickets.
pub(crate) struct Asn1Cert;

impl Asn1Cert {
    const CERT: VecRule = VecRule::non_empty(LenPrefix::U24, "cert_data");
}

impl ListElement for Asn1Cert {
    type Item = Vec<u8>;
    const LIST: VecRule = VecRule::new(LenPrefix::U24, "certificate_list");

    fn read(r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
        Self::CERT.read_bytes(r)
    }

    fn write(item: &Vec<u8>, out: &mut Vec<u8>) {
        Self::CERT.write_bytes(out, item)
    }
}

/// A CertificateRequest (RFC 8446 §4.3.2); signature_algorithms is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// certificate_request_context, 0..=255 bytes.
    pub context: Vec<u8>,
    /// The extensions, signature_algorithms among them.
    pub extensions: Vec<CertReqExtension>,
}

impl CertificateRequest {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let context = REQUEST_CONTEXT.read_bytes(r)?;
        let extensions = CertReqExtension::decode_list(r)?;
        let req = CertificateRequest {
            context,
            extensions,
        };
        if req.signature_algorithms().is_none() {
            return Err(Error::MissingExtension("signature_algorithms"));
        }
        Ok(req)
    }

    /// The signature_algorithms list (always present in a decoded request).
    pub fn signature_algorithms(&self) -> Option<&[SignatureScheme]> {
        self.extensions.iter().find_map(|e| match e {
            CertReqExtension::SignatureAlgorithms(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The signature_algorithms_cert list.
    pub fn signature_algorithms_cert(&self) -> Option<&[SignatureScheme]> {
        self.extensions.iter().find_map(|e| match e {
            CertReqExtension::SignatureAlgorithmsCert(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The certificate_authorities names.
    pub fn certificate_authorities(&self) -> Option<&[Vec<u8>]> {
        self.extensions.iter().find_map(|e| match e {
            CertReqExtension::CertificateAuthorities(v) => Some(v.as_slice()),
            _ => None,
        })
    }
}

/// A CertificateVerify (RFC 8446 §4.4.3; the TLS 1.2 message, RFC 5246
/// §7.4.8, has the same form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateVerify {
    /// The signature scheme.
    pub scheme: SignatureScheme,
    /// The signature, 0..2^16-1 bytes.
    pub signature: Vec<u8>,
}

impl CertificateVerify {
    /// `opaque signature<0..2^16-1>`.
    const SIGNATURE: VecRule = VecRule::new(LenPrefix::U16, "certificate_verify signature");

    /// Decodes the body, for both TLS versions. The caller checks that the
    /// body ends here.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(CertificateVerify {
            scheme: SignatureScheme::from_wire(r.u16("certificate_verify scheme")?),
            signature: Self::SIGNATURE.read_bytes(r)?,
        })
    }

    /// Appends the body.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        put_u16(out, self.scheme.to_wire());
        Self::SIGNATURE.write_bytes(out, &self.signature);
    }
}

/// A Finished message (RFC 8446 §4.4.4, RFC 5246 §7.4.9): its length is
/// checked, when it is verified, by `check_verify_data_len` against the
/// hash length (TLS 1.3) or 12 (TLS 1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The verify_data, the whole body.
    pub verify_data: Vec<u8>,
}

impl Finished {
    /// Decodes the body, for both TLS versions: verify_data is all of it.
    pub(crate) fn read(r: &mut Reader<'_>) -> Self {
        Finished {
            verify_data: r.take_rest().to_vec(),
        }
    }

    /// Appends the body.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.verify_data);
    }
}

/// Checks that a received verify_data (a Finished body, or a PSK binder,
/// which is computed the same way) has the length its version fixes: the
/// hash length in TLS 1.3 (RFC 8446 §4.4.4), 12 in TLS 1.2 (RFC 5246
/// §7.4.9). Another length is a malformed message, not a wrong MAC:
/// `Error::Decode` (decode_error, as OpenSSL answers it), for both versions.
pub(crate) fn check_verify_data_len(received: &[u8], expected: usize) -> Result<(), Error> {
    if received.len() != expected {
        return Err(Error::Decode("Finished of the wrong length"));
    }
    Ok(())
}

/// A NewSessionTicket (RFC 8446 §4.6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSessionTicket {
    /// ticket_lifetime in seconds.
    pub lifetime: u32,
    /// ticket_age_add.
    pub age_add: u32,
    /// ticket_nonce, 0..=255 bytes.
    pub nonce: Vec<u8>,
    /// The ticket, at least one byte.
    pub ticket: Vec<u8>,
    /// The extensions.
    pub extensions: Vec<TicketExtension>,
}

impl NewSessionTicket {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(NewSessionTicket {
            lifetime: r.u32("ticket_lifetime")?,
            age_add: r.u32("ticket_age_add")?,
            nonce: Self::NONCE.read_bytes(r)?,
            ticket: Self::TICKET.read_bytes(r)?,
            extensions: TicketExtension::decode_list(r)?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_u32(out, self.lifetime);
        put_u32(out, self.age_add);
        Self::NONCE.write_bytes(out, &self.nonce);
        Self::TICKET.write_bytes(out, &self.ticket);
        TicketExtension::encode_list(&self.extensions, out);
    }

    /// `opaque ticket_nonce<0..255>`.
    const NONCE: VecRule = VecRule::new(LenPrefix::U8, "ticket_nonce");

    /// `opaque ticket<1..2^16-1>`.
    const TICKET: VecRule = VecRule::non_empty(LenPrefix::U16, "ticket");

    /// The early_data max_early_data_size.
    pub fn max_early_data_size(&self) -> Option<u32> {
        self.extensions.iter().find_map(|e| match e {
            TicketExtension::EarlyData(n) => Some(*n),
            _ => None,
        })
    }
}

/// A KeyUpdate's request_update field (RFC 8446 §4.6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUpdateRequest {
    /// update_not_requested (0)
    NotRequested,
    /// update_requested (1)
    Requested,
}

#[cfg(test)]
mod tests;
