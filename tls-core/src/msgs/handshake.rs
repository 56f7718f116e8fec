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
        let mut out = Vec::new();
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
/// checked by the state machine against the hash length (TLS 1.3) or 12
/// (TLS 1.2).
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
mod tests {
    use super::*;
    use crate::msgs::codec::put_bytes;
    use crate::msgs::strategies;
    use alloc::vec;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|c| match c {
                b'0'..=b'9' => c - b'0',
                _ => (c | 0x20) - b'a' + 10,
            })
            .collect();
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    /// Splits an encoded message into its type and body, checking the header.
    fn unframe(bytes: &[u8]) -> (HandshakeType, &[u8]) {
        let mut r = Reader::new(bytes);
        let typ = HandshakeType::from_wire(r.u8("type").unwrap());
        let body = r.vec_u24("body").unwrap();
        r.finish("message").unwrap();
        (typ, body.rest())
    }

    fn decode_framed(bytes: &[u8]) -> Result<HandshakeMessage, Error> {
        let (typ, body) = unframe(bytes);
        HandshakeMessage::decode(typ, body)
    }

    // RFC 8448 §3, the simple 1-RTT handshake.
    const RFC8448_CH: &str = "
        01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2
        1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01
        00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00
        0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00
        23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e
        43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00
        03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06
        04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c
        00 02 40 01";
    const RFC8448_SH: &str = "
        02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c
        8a c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24
        00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25
        3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04";
    const RFC8448_EE: &str = "
        08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01
        01 02 01 03 01 04 00 1c 00 02 40 01 00 00 00 00";

    #[test]
    fn rfc8448_client_hello() {
        let bytes = hex(RFC8448_CH);
        let HandshakeMessage::ClientHello(ch) = decode_framed(&bytes).unwrap() else {
            panic!("not a ClientHello")
        };
        assert_eq!(ch.legacy_version, 0x0303);
        assert_eq!(ch.random[..4], [0xcb, 0x34, 0xec, 0xb1]);
        assert!(ch.session_id.is_empty());
        assert_eq!(
            ch.cipher_suites,
            [
                CipherSuite::Tls13Aes128GcmSha256,
                CipherSuite::Tls13Chacha20Poly1305Sha256,
                CipherSuite::Tls13Aes256GcmSha384
            ]
        );
        assert_eq!(ch.compression_methods, [0]);
        assert_eq!(ch.server_name(), Some(&b"server"[..]));
        assert_eq!(ch.supported_versions(), Some(&[ProtocolVersion::Tls13][..]));
        let shares = ch.key_shares().unwrap();
        assert_eq!(shares.len(), 1);
        assert_eq!(shares[0].group, NamedGroup::X25519);
        assert_eq!(shares[0].key_exchange.len(), 32);
        assert_eq!(shares[0].key_exchange[..2], [0x99, 0x38]);
        let groups = ch.supported_groups().unwrap();
        assert_eq!(groups.len(), 9);
        assert_eq!(
            groups[..3],
            [
                NamedGroup::X25519,
                NamedGroup::Secp256r1,
                NamedGroup::Secp384r1
            ]
        );
        assert_eq!(groups[4], NamedGroup::Unknown(0x0100));
        let sigs = ch.signature_algorithms().unwrap();
        assert_eq!(sigs.len(), 15);
        assert_eq!(sigs[0], SignatureScheme::EcdsaSecp256r1Sha256);
        assert_eq!(ch.psk_modes(), Some(&[1][..]));
        assert_eq!(ch.record_size_limit(), Some(0x4001));
        assert!(ch.has(ExtensionType::RenegotiationInfo));
        assert!(ch
            .extensions
            .contains(&ClientExtension::SessionTicket(vec![])));
        assert!(ch.alpn().is_none() && ch.cookie().is_none() && ch.pre_shared_key().is_none());
        assert_eq!(ch.extensions.len(), 9);
        assert_eq!(HandshakeMessage::ClientHello(ch).to_vec(), bytes);
    }

    #[test]
    fn rfc8448_server_hello_and_encrypted_extensions() {
        let bytes = hex(RFC8448_SH);
        let HandshakeMessage::ServerHello(sh) = decode_framed(&bytes).unwrap() else {
            panic!("not a ServerHello")
        };
        assert_eq!(sh.cipher_suite, CipherSuite::Tls13Aes128GcmSha256);
        assert_eq!(sh.random[..2], [0xa6, 0xaf]);
        assert_eq!(sh.supported_version(), Some(ProtocolVersion::Tls13));
        let share = sh.key_share().unwrap();
        assert_eq!(share.group, NamedGroup::X25519);
        assert_eq!(share.key_exchange[..2], [0xc9, 0x82]);
        assert_eq!(HandshakeMessage::ServerHello(sh).to_vec(), bytes);

        let bytes = hex(RFC8448_EE);
        let HandshakeMessage::EncryptedExtensions(ee) = decode_framed(&bytes).unwrap() else {
            panic!("not EncryptedExtensions")
        };
        assert_eq!(ee.record_size_limit(), Some(0x4001));
        assert!(ee.has(ExtensionType::ServerName) && ee.alpn().is_none());
        assert_eq!(HandshakeMessage::EncryptedExtensions(ee).to_vec(), bytes);
    }

    #[test]
    fn truncated_client_hello_is_rejected_at_every_length() {
        let bytes = hex(RFC8448_CH);
        let body = &bytes[4..];
        for n in 0..body.len() {
            let res = HandshakeMessage::decode(HandshakeType::ClientHello, &body[..n]);
            // Cutting exactly before the extensions block leaves a valid
            // extension-less hello.
            if n == 2 + 32 + 1 + 8 + 2 {
                assert!(res.is_ok());
            } else {
                assert!(res.is_err(), "prefix of {n} bytes accepted");
            }
        }
    }

    #[test]
    fn trailing_byte_is_rejected() {
        for hexed in [RFC8448_CH, RFC8448_SH, RFC8448_EE] {
            let bytes = hex(hexed);
            let (typ, body) = unframe(&bytes);
            let mut longer = body.to_vec();
            longer.push(0);
            assert!(matches!(
                HandshakeMessage::decode(typ, &longer),
                Err(Error::Decode(_))
            ));
        }
        let ku = HandshakeMessage::decode(HandshakeType::KeyUpdate, &[0, 0]);
        assert_eq!(
            ku,
            Err(Error::Decode("trailing bytes in handshake message"))
        );
        let eoed = HandshakeMessage::decode(HandshakeType::EndOfEarlyData, &[0]);
        assert_eq!(
            eoed,
            Err(Error::Decode("trailing bytes in handshake message"))
        );
    }

    /// A minimal ClientHello body with the given session id and suites bytes.
    fn ch_body(session_id: &[u8], suites: &[u8]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[7; 32]);
        put_bytes(&mut b, LenPrefix::U8, session_id);
        put_bytes(&mut b, LenPrefix::U16, suites);
        put_bytes(&mut b, LenPrefix::U8, &[0]);
        b
    }

    #[test]
    fn client_hello_field_limits() {
        let ok = ch_body(&[1; 32], &[0x13, 0x01]);
        assert!(HandshakeMessage::decode(HandshakeType::ClientHello, &ok).is_ok());
        let long_id = ch_body(&[1; 33], &[0x13, 0x01]);
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::ClientHello, &long_id),
            Err(Error::Decode("legacy_session_id longer than 32 bytes"))
        );
        let no_suites = ch_body(&[], &[]);
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::ClientHello, &no_suites),
            Err(Error::Decode("cipher_suites"))
        );
        let odd_suites = ch_body(&[], &[0x13, 0x01, 0x13]);
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::ClientHello, &odd_suites),
            Err(Error::Decode("cipher_suites"))
        );
        let mut no_compression = ch_body(&[], &[0x13, 0x01]);
        // Replace the compression_methods vector [1, 0] by an empty one.
        no_compression.truncate(no_compression.len() - 2);
        no_compression.push(0);
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::ClientHello, &no_compression),
            Err(Error::Decode("legacy_compression_methods"))
        );
    }

    #[test]
    fn explicit_empty_extension_block_is_normalised() {
        let mut body = ch_body(&[], &[0x13, 0x01]);
        let bare = HandshakeMessage::decode(HandshakeType::ClientHello, &body).unwrap();
        body.extend_from_slice(&[0, 0]);
        let explicit = HandshakeMessage::decode(HandshakeType::ClientHello, &body).unwrap();
        assert_eq!(bare, explicit);
        // The one documented exception to byte-exact re-encoding.
        assert_eq!(explicit.to_vec().len(), body.len() + 4 - 2);
    }

    #[test]
    fn duplicate_and_misplaced_extensions_in_client_hello() {
        let mut body = ch_body(&[], &[0x13, 0x01]);
        body.extend_from_slice(&[0, 8, 0, 23, 0, 0, 0, 23, 0, 0]);
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::ClientHello, &body),
            Err(Error::IllegalParameter("duplicate extension"))
        );
        let mut body = ch_body(&[], &[0x13, 0x01]);
        let psk = ClientExtension::PreSharedKey(OfferedPsks {
            identities: vec![crate::msgs::extensions::PskIdentity {
                identity: vec![1],
                obfuscated_ticket_age: 0,
            }],
            binders: vec![vec![0; 32]],
        });
        ClientExtension::encode_list(&[psk, ClientExtension::EarlyData], &mut body);
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::ClientHello, &body),
            Err(Error::IllegalParameter("pre_shared_key not last"))
        );
    }

    #[test]
    fn key_share_in_encrypted_extensions_is_illegal() {
        let body = [0, 9, 0, 51, 0, 5, 0, 0x1d, 0, 1, 9];
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::EncryptedExtensions, &body),
            Err(Error::IllegalParameter(
                "extension not allowed in encrypted_extensions"
            ))
        );
    }

    #[test]
    fn key_update_values() {
        let decode = |b: u8| HandshakeMessage::decode(HandshakeType::KeyUpdate, &[b]);
        assert_eq!(
            decode(0),
            Ok(HandshakeMessage::KeyUpdate(KeyUpdateRequest::NotRequested))
        );
        assert_eq!(
            decode(1),
            Ok(HandshakeMessage::KeyUpdate(KeyUpdateRequest::Requested))
        );
        for b in 2..=u8::MAX {
            assert_eq!(
                decode(b),
                Err(Error::IllegalParameter("key_update request value"))
            );
        }
        assert!(matches!(
            HandshakeMessage::decode(HandshakeType::KeyUpdate, &[]),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn hello_retry_request_is_recognised_by_its_random() {
        let mut body = vec![3, 3];
        body.extend_from_slice(&HRR_RANDOM);
        body.extend_from_slice(&[0, 0x13, 0x01, 0]);
        // No extensions block: a HelloRetryRequest must have one.
        assert!(matches!(
            HandshakeMessage::decode(HandshakeType::ServerHello, &body),
            Err(Error::Decode(_))
        ));
        body.extend_from_slice(&[0, 12, 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x17]);
        let HandshakeMessage::HelloRetryRequest(hrr) =
            HandshakeMessage::decode(HandshakeType::ServerHello, &body).unwrap()
        else {
            panic!("not a HelloRetryRequest")
        };
        assert_eq!(hrr.selected_group(), Some(NamedGroup::Secp256r1));
        assert_eq!(hrr.supported_version(), Some(ProtocolVersion::Tls13));
        assert_eq!(hrr.cookie(), None);
        let msg = HandshakeMessage::HelloRetryRequest(hrr);
        assert_eq!(msg.typ(), HandshakeType::ServerHello);
        assert_eq!(&msg.to_vec()[4..], &body[..]);
    }

    #[test]
    fn other_handshake_types_are_unexpected() {
        for t in [0u8, 3, 6, 12, 14, 16, 254, 99] {
            assert_eq!(
                HandshakeMessage::decode(HandshakeType::from_wire(t), &[]),
                Err(Error::UnexpectedMessage(
                    "handshake type not used in TLS 1.3"
                ))
            );
        }
    }

    #[test]
    fn certificate_request_needs_signature_algorithms() {
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::CertificateRequest, &[0, 0, 0]),
            Err(Error::MissingExtension("signature_algorithms"))
        );
        let ok = [0, 0, 8, 0, 13, 0, 4, 0, 2, 8, 7];
        let HandshakeMessage::CertificateRequest(cr) =
            HandshakeMessage::decode(HandshakeType::CertificateRequest, &ok).unwrap()
        else {
            panic!("not a CertificateRequest")
        };
        assert_eq!(
            cr.signature_algorithms(),
            Some(&[SignatureScheme::Ed25519][..])
        );
    }

    #[test]
    fn certificate_entries_checked() {
        // Empty cert_data.
        let body = [0, 0, 0, 5, 0, 0, 0, 0, 0];
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::Certificate, &body),
            Err(Error::Decode("cert_data"))
        );
        // key_share inside a CertificateEntry.
        let body = [0, 0, 0, 10, 0, 0, 1, 0xaa, 0, 4, 0, 51, 0, 0];
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::Certificate, &body),
            Err(Error::IllegalParameter(
                "extension not allowed in certificate"
            ))
        );
        // status_request kept raw; empty chain is fine.
        let body = [0, 0, 0, 11, 0, 0, 1, 0xaa, 0, 5, 0, 5, 0, 1, 7];
        let msg = HandshakeMessage::decode(HandshakeType::Certificate, &body).unwrap();
        assert_eq!(&msg.to_vec()[4..], &body[..]);
        assert!(HandshakeMessage::decode(HandshakeType::Certificate, &[0, 0, 0, 0]).is_ok());
    }

    #[test]
    fn new_session_ticket_needs_a_ticket() {
        let body = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0];
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::NewSessionTicket, &body),
            Err(Error::Decode("ticket"))
        );
    }

    proptest! {
        #[test]
        fn messages_round_trip(msg in strategies::message()) {
            let bytes = msg.to_vec();
            let back = decode_framed(&bytes).unwrap();
            prop_assert_eq!(&back, &msg);
            prop_assert_eq!(back.to_vec(), bytes);
        }

        /// Damaged encodings never panic, and whatever is accepted re-encodes
        /// to the same bytes (except an explicit empty hello extensions block).
        #[test]
        fn damaged_messages_never_panic(
            msg in strategies::message(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            how in 0u8..3,
        ) {
            let bytes = msg.to_vec();
            let (typ, body) = unframe(&bytes);
            let mut body = body.to_vec();
            if !body.is_empty() {
                let i = at.index(body.len());
                match how {
                    0 => body[i] = byte,
                    1 => { body.remove(i); }
                    _ => body.insert(i, byte),
                }
            }
            if let Ok(m) = HandshakeMessage::decode(typ, &body) {
                let again = m.to_vec();
                let again_body = &again[4..];
                if again_body != &body[..] {
                    let hello_without_exts = match &m {
                        HandshakeMessage::ClientHello(ch) => ch.extensions.is_empty(),
                        HandshakeMessage::ServerHello(sh) => sh.extensions.is_empty(),
                        _ => false,
                    };
                    prop_assert!(hello_without_exts);
                    prop_assert_eq!(&body[body.len() - 2..], &[0, 0]);
                    prop_assert_eq!(again_body, &body[..body.len() - 2]);
                }
            }
        }

        #[test]
        fn random_bodies_never_panic(t in any::<u8>(), body in strategies::bytes(0, 200)) {
            let _ = HandshakeMessage::decode(HandshakeType::from_wire(t), &body);
        }
    }
}
