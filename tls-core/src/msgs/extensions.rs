//! Hello extensions (RFC 8446 §4.2): one enum per extension block, each variant
//! holding the parsed value.
//!
//! Decoding is strict: every length is checked, trailing bytes are rejected,
//! a duplicate extension type is [`Error::IllegalParameter`], and a recognised
//! extension type that RFC 8446 §4.2 does not allow in the message is
//! [`Error::IllegalParameter`] too. Types we do not parse become `Unknown` and
//! round-trip byte for byte.
//!
//! Round trip: `decode_list(encode_list(x)) == x` holds for every value that
//! satisfies the decoding rules (non-empty vectors where the RFC requires them,
//! `Unknown` never holding a type that has its own variant in that enum).

use alloc::vec::Vec;

use crate::error::Error;
use crate::msgs::codec::{
    put_u16, put_u32, read_list, write_list, LenPrefix, ListElement, Reader, VecRule,
};
use crate::msgs::enums::{ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme};

pub use crate::msgs::server_ext::{
    CertReqExtension, EncryptedExtension, HrrExtension, ServerExtension, TicketExtension,
};

// ---------------------------------------------------------------------------
// Shared wire rules
// ---------------------------------------------------------------------------

/// An extension block: `Extension extensions<0..2^16-1>`.
const EXTENSIONS: VecRule = VecRule::new(LenPrefix::U16, "extensions");

/// One extension's body: `opaque extension_data<0..2^16-1>`.
const EXTENSION_DATA: VecRule = VecRule::new(LenPrefix::U16, "extension data");

/// `opaque cookie<1..2^16-1>` (ClientHello and HelloRetryRequest).
pub(crate) const COOKIE: VecRule = VecRule::non_empty(LenPrefix::U16, "cookie");

/// `opaque renegotiated_connection<0..255>` (RFC 5746 §3.2).
pub(crate) const RENEGOTIATION_INFO: VecRule = VecRule::new(LenPrefix::U8, "renegotiation_info");

/// `ECPointFormat ec_point_format_list<1..2^8-1>` (RFC 8422 §5.1.2), kept raw.
pub(crate) const EC_POINT_FORMATS: VecRule = VecRule::non_empty(LenPrefix::U8, "ec_point_formats");

/// The one-entry `ServerName server_name_list<1..2^16-1>` we accept.
const SERVER_NAME_LIST: VecRule = VecRule::non_empty(LenPrefix::U16, "server_name list");

/// `opaque HostName<1..2^16-1>` (RFC 6066 §3).
const HOST_NAME: VecRule = VecRule::non_empty(LenPrefix::U16, "server_name host_name");

/// `PskKeyExchangeMode ke_modes<1..255>` (RFC 8446 §4.2.9), kept raw.
const PSK_KEY_EXCHANGE_MODES: VecRule = VecRule::non_empty(LenPrefix::U8, "psk_key_exchange_modes");

/// An element of an ALPN `ProtocolNameList protocol_name_list<2..2^16-1>`:
/// `opaque ProtocolName<1..2^8-1>` (RFC 7301 §3.1).
pub(crate) struct ProtocolName;

impl ProtocolName {
    /// One name's rule.
    pub(crate) const NAME: VecRule = VecRule::non_empty(LenPrefix::U8, "alpn name");
}

impl ListElement for ProtocolName {
    type Item = Vec<u8>;
    const LIST: VecRule = VecRule::non_empty(LenPrefix::U16, "alpn list");

    fn read(r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
        Self::NAME.read_bytes(r)
    }

    fn write(item: &Vec<u8>, out: &mut Vec<u8>) {
        Self::NAME.write_bytes(out, item)
    }
}

/// An element of TLS 1.3's `DistinguishedName authorities<3..2^16-1>`:
/// `opaque DistinguishedName<1..2^16-1>` (RFC 8446 §4.2.4). The TLS 1.2
/// CertificateRequest also allows an empty list and says so where it reads one.
pub(crate) struct DistinguishedName;

impl DistinguishedName {
    /// One name's rule.
    const NAME: VecRule = VecRule::non_empty(LenPrefix::U16, "certificate_authorities");
}

impl ListElement for DistinguishedName {
    type Item = Vec<u8>;
    const LIST: VecRule = VecRule::non_empty(LenPrefix::U16, "certificate_authorities");

    fn read(r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
        Self::NAME.read_bytes(r)
    }

    fn write(item: &Vec<u8>, out: &mut Vec<u8>) {
        Self::NAME.write_bytes(out, item)
    }
}

/// A record_size_limit value (RFC 8449): at least 64.
pub(crate) fn record_size_limit(r: &mut Reader<'_>) -> Result<u16, Error> {
    let v = r.u16("record_size_limit")?;
    if v < 64 {
        // RFC 8449 §4: a value below 64 is illegal_parameter.
        return Err(Error::IllegalParameter("record_size_limit below 64"));
    }
    Ok(v)
}

/// True when `v` holds some value twice. Sorts, so it is O(n log n) even for
/// the largest lists a peer can send.
pub(crate) fn has_duplicates(mut v: Vec<u16>) -> bool {
    v.sort_unstable();
    v.windows(2).any(|w| w.first() == w.last())
}

/// One extension body: the per-message decoding rules.
pub(crate) trait ExtensionBody: Sized {
    /// Decodes the body of an extension of wire type `typ`. The caller checks
    /// that the body was read to its end.
    fn read(typ: u16, body: &mut Reader<'_>) -> Result<Self, Error>;
    /// The wire type.
    fn wire_type(&self) -> u16;
    /// Appends the body (without type and length).
    fn write(&self, out: &mut Vec<u8>);
}

/// How many entries an extension block holds, as far as it is well formed
/// (a malformed block is refused by the decoding that follows).
fn count_entries(mut block: Reader<'_>) -> usize {
    let mut count = 0usize;
    while block.u16("extension type").is_ok() && EXTENSION_DATA.body(&mut block).is_ok() {
        count = count.saturating_add(1);
    }
    count
}

/// Decodes the entries of an extension block (the block's own length prefix
/// already removed), rejecting duplicates.
pub(crate) fn decode_entries<T: ExtensionBody>(mut block: Reader<'_>) -> Result<Vec<T>, Error> {
    // Counted first, so the lists are allocated once, not regrown one
    // extension at a time.
    let count = count_entries(block.clone());
    let mut out = Vec::with_capacity(count);
    let mut types = Vec::with_capacity(count);
    while !block.is_empty() {
        let typ = block.u16("extension type")?;
        let mut body = EXTENSION_DATA.body(&mut block)?;
        let ext = T::read(typ, &mut body)?;
        body.finish(EXTENSION_DATA.what())?;
        types.push(typ);
        out.push(ext);
    }
    if has_duplicates(types) {
        return Err(Error::IllegalParameter("duplicate extension"));
    }
    Ok(out)
}

/// Decodes a u16-prefixed extension block.
pub(crate) fn decode_block<T: ExtensionBody>(r: &mut Reader<'_>) -> Result<Vec<T>, Error> {
    decode_entries(EXTENSIONS.body(r)?)
}

/// Appends the entries of an extension block without the block's prefix.
pub(crate) fn encode_entries<T: ExtensionBody>(list: &[T], out: &mut Vec<u8>) {
    for ext in list {
        put_u16(out, ext.wire_type());
        EXTENSION_DATA.write_with(out, |out| ext.write(out));
    }
}

/// Appends a u16-prefixed extension block.
pub(crate) fn encode_block<T: ExtensionBody>(list: &[T], out: &mut Vec<u8>) {
    EXTENSIONS.write_with(out, |out| encode_entries(list, out));
}

/// Appends a u16-prefixed block of extensions kept raw (a CertificateEntry's).
pub(crate) fn encode_raw_block(list: &[UnknownExtension], out: &mut Vec<u8>) {
    EXTENSIONS.write_with(out, |out| {
        for ext in list {
            put_u16(out, ext.typ);
            EXTENSION_DATA.write_bytes(out, &ext.data);
        }
    });
}

// ---------------------------------------------------------------------------
// Shared value types
// ---------------------------------------------------------------------------

/// An extension kept raw: its wire type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownExtension {
    /// The extension type on the wire.
    pub typ: u16,
    /// The extension body, without type and length.
    pub data: Vec<u8>,
}

impl UnknownExtension {
    pub(crate) fn read(typ: u16, body: &mut Reader<'_>) -> Self {
        // Consume the body so the caller's `finish` succeeds.
        let data = body.take_rest().to_vec();
        UnknownExtension { typ, data }
    }
}

/// One key share: a group and the public value for it (RFC 8446 §4.2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareEntry {
    /// The group.
    pub group: NamedGroup,
    /// The public value, at least one byte.
    pub key_exchange: Vec<u8>,
}

/// `KeyShareEntry client_shares<0..2^16-1>` (RFC 8446 §4.2.8); an entry's
/// `opaque key_exchange<1..2^16-1>`.
impl ListElement for KeyShareEntry {
    type Item = Self;
    const LIST: VecRule = VecRule::new(LenPrefix::U16, "key_share list");

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let group = NamedGroup::from_wire(r.u16("key_share group")?);
        let key_exchange = Self::KEY_EXCHANGE.read_bytes(r)?;
        Ok(KeyShareEntry {
            group,
            key_exchange,
        })
    }

    fn write(item: &Self, out: &mut Vec<u8>) {
        put_u16(out, item.group.to_wire());
        Self::KEY_EXCHANGE.write_bytes(out, &item.key_exchange);
    }
}

impl KeyShareEntry {
    const KEY_EXCHANGE: VecRule = VecRule::non_empty(LenPrefix::U16, "key_share key_exchange");
}

/// One PSK identity offered by the client (RFC 8446 §4.2.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PskIdentity {
    /// The identity (a ticket, or an external PSK label), at least one byte.
    pub identity: Vec<u8>,
    /// The obfuscated ticket age.
    pub obfuscated_ticket_age: u32,
}

/// The client's pre_shared_key extension: identities and one binder per identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedPsks {
    /// The identities, at least one.
    pub identities: Vec<PskIdentity>,
    /// The binders, as many as identities, each 32..=255 bytes.
    pub binders: Vec<Vec<u8>>,
}

/// `PskIdentity identities<7..2^16-1>` (RFC 8446 §4.2.11); an identity's
/// `opaque identity<1..2^16-1>`.
impl ListElement for PskIdentity {
    type Item = Self;
    const LIST: VecRule = VecRule::non_empty(LenPrefix::U16, "psk identities");

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let identity = Self::IDENTITY.read_bytes(r)?;
        let obfuscated_ticket_age = r.u32("psk ticket age")?;
        Ok(PskIdentity {
            identity,
            obfuscated_ticket_age,
        })
    }

    fn write(item: &Self, out: &mut Vec<u8>) {
        Self::IDENTITY.write_bytes(out, &item.identity);
        put_u32(out, item.obfuscated_ticket_age);
    }
}

impl PskIdentity {
    const IDENTITY: VecRule = VecRule::non_empty(LenPrefix::U16, "psk identity");
}

/// An element of `PskBinderEntry binders<33..2^16-1>`: `opaque
/// PskBinderEntry<32..255>` (RFC 8446 §4.2.11).
struct PskBinder;

impl PskBinder {
    const BINDER: VecRule = VecRule::at_least(LenPrefix::U8, 32, "psk binder");
}

impl ListElement for PskBinder {
    type Item = Vec<u8>;
    const LIST: VecRule = VecRule::non_empty(LenPrefix::U16, "psk binders");

    fn read(r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
        Self::BINDER.read_bytes(r)
    }

    fn write(item: &Vec<u8>, out: &mut Vec<u8>) {
        Self::BINDER.write_bytes(out, item)
    }
}

impl OfferedPsks {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let identities = read_list::<PskIdentity>(r)?;
        let binders = read_list::<PskBinder>(r)?;
        if binders.len() != identities.len() {
            return Err(Error::IllegalParameter("psk binder count"));
        }
        Ok(OfferedPsks {
            identities,
            binders,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        write_list::<PskIdentity>(out, &self.identities);
        self.write_binders(out);
    }

    fn write_binders(&self, out: &mut Vec<u8>) {
        write_list::<PskBinder>(out, &self.binders);
    }

    /// The encoded length of the binders list, its 2-byte prefix included.
    ///
    /// pre_shared_key is the last extension of a ClientHello, so the binders
    /// are the last bytes of the message: the "partial ClientHello" that the
    /// binders are computed over (RFC 8446 §4.2.11.2) is the encoded message
    /// minus this many bytes at the end.
    pub fn binders_encoded_len(&self) -> usize {
        let mut v = Vec::new();
        self.write_binders(&mut v);
        v.len()
    }
}

// ---------------------------------------------------------------------------
// ClientHello extensions
// ---------------------------------------------------------------------------

/// An extension of a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientExtension {
    /// server_name with exactly one host_name entry: the raw host name bytes.
    ServerName(Vec<u8>),
    /// supported_groups, at least one.
    SupportedGroups(Vec<NamedGroup>),
    /// signature_algorithms, at least one.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// signature_algorithms_cert, at least one.
    SignatureAlgorithmsCert(Vec<SignatureScheme>),
    /// application_layer_protocol_negotiation: at least one non-empty name.
    Alpn(Vec<Vec<u8>>),
    /// supported_versions, at least one.
    SupportedVersions(Vec<ProtocolVersion>),
    /// key_share: the client's shares (possibly none), groups distinct.
    KeyShare(Vec<KeyShareEntry>),
    /// cookie (echoed from a HelloRetryRequest), at least one byte.
    Cookie(Vec<u8>),
    /// psk_key_exchange_modes, raw mode bytes, at least one.
    PskKeyExchangeModes(Vec<u8>),
    /// pre_shared_key; always the last extension.
    PreSharedKey(OfferedPsks),
    /// early_data (empty body).
    EarlyData,
    /// post_handshake_auth (empty body).
    PostHandshakeAuth,
    /// certificate_authorities: DER distinguished names, at least one.
    CertificateAuthorities(Vec<Vec<u8>>),
    /// extended_master_secret (empty body, TLS 1.2).
    ExtendedMasterSecret,
    /// renegotiation_info: the renegotiated_connection bytes (empty on a first handshake).
    RenegotiationInfo(Vec<u8>),
    /// ec_point_formats (TLS 1.2), raw format bytes, at least one.
    EcPointFormats(Vec<u8>),
    /// session_ticket (TLS 1.2): the raw ticket, possibly empty.
    SessionTicket(Vec<u8>),
    /// record_size_limit (RFC 8449), at least 64.
    RecordSizeLimit(u16),
    /// status_request: the raw body.
    StatusRequest(Vec<u8>),
    /// padding (RFC 7685): the number of zero bytes.
    Padding(usize),
    /// Any other type, kept raw.
    Unknown(UnknownExtension),
}

impl ClientExtension {
    /// The extension type.
    pub fn typ(&self) -> ExtensionType {
        ExtensionType::from_wire(self.wire_type())
    }

    /// Decodes a u16-prefixed ClientHello extension block: duplicates and a
    /// pre_shared_key that is not last are [`Error::IllegalParameter`].
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Self>, Error> {
        let list: Vec<Self> = decode_block(r)?;
        let psk_at = list
            .iter()
            .position(|e| matches!(e, ClientExtension::PreSharedKey(_)));
        if let Some(i) = psk_at {
            if i + 1 != list.len() {
                return Err(Error::IllegalParameter("pre_shared_key not last"));
            }
        }
        Ok(list)
    }

    /// Appends a u16-prefixed ClientHello extension block.
    pub fn encode_list(list: &[Self], out: &mut Vec<u8>) {
        encode_block(list, out)
    }
}

impl ExtensionBody for ClientExtension {
    fn read(typ: u16, r: &mut Reader<'_>) -> Result<Self, Error> {
        use ClientExtension as C;
        use ExtensionType as E;
        Ok(match ExtensionType::from_wire(typ) {
            E::ServerName => {
                let mut list = SERVER_NAME_LIST.body(r)?;
                if list.u8("server_name type")? != 0 {
                    return Err(Error::Decode("server_name type"));
                }
                let name = HOST_NAME.read_bytes(&mut list)?;
                list.finish(SERVER_NAME_LIST.what())?;
                C::ServerName(name)
            }
            E::SupportedGroups => C::SupportedGroups(read_list::<NamedGroup>(r)?),
            E::SignatureAlgorithms => C::SignatureAlgorithms(read_list::<SignatureScheme>(r)?),
            E::SignatureAlgorithmsCert => {
                C::SignatureAlgorithmsCert(read_list::<SignatureScheme>(r)?)
            }
            E::Alpn => C::Alpn(read_list::<ProtocolName>(r)?),
            E::SupportedVersions => C::SupportedVersions(read_list::<ProtocolVersion>(r)?),
            E::KeyShare => {
                let shares = read_list::<KeyShareEntry>(r)?;
                if has_duplicates(shares.iter().map(|s| s.group.to_wire()).collect()) {
                    return Err(Error::IllegalParameter("duplicate key_share group"));
                }
                C::KeyShare(shares)
            }
            E::Cookie => C::Cookie(COOKIE.read_bytes(r)?),
            E::PskKeyExchangeModes => C::PskKeyExchangeModes(PSK_KEY_EXCHANGE_MODES.read_bytes(r)?),
            E::PreSharedKey => C::PreSharedKey(OfferedPsks::read(r)?),
            E::EarlyData => C::EarlyData,
            E::PostHandshakeAuth => C::PostHandshakeAuth,
            E::CertificateAuthorities => {
                C::CertificateAuthorities(read_list::<DistinguishedName>(r)?)
            }
            E::ExtendedMasterSecret => C::ExtendedMasterSecret,
            E::RenegotiationInfo => C::RenegotiationInfo(RENEGOTIATION_INFO.read_bytes(r)?),
            E::EcPointFormats => C::EcPointFormats(EC_POINT_FORMATS.read_bytes(r)?),
            E::SessionTicket => C::SessionTicket(UnknownExtension::read(typ, r).data),
            E::RecordSizeLimit => C::RecordSizeLimit(record_size_limit(r)?),
            E::StatusRequest => C::StatusRequest(UnknownExtension::read(typ, r).data),
            E::Padding => {
                let pad = UnknownExtension::read(typ, r).data;
                if pad.iter().any(|&b| b != 0) {
                    return Err(Error::Decode("padding not zero"));
                }
                C::Padding(pad.len())
            }
            // Every other type may appear in a ClientHello; we keep it raw.
            _ => C::Unknown(UnknownExtension::read(typ, r)),
        })
    }

    fn wire_type(&self) -> u16 {
        use ClientExtension as C;
        use ExtensionType as E;
        let t = match self {
            C::ServerName(_) => E::ServerName,
            C::SupportedGroups(_) => E::SupportedGroups,
            C::SignatureAlgorithms(_) => E::SignatureAlgorithms,
            C::SignatureAlgorithmsCert(_) => E::SignatureAlgorithmsCert,
            C::Alpn(_) => E::Alpn,
            C::SupportedVersions(_) => E::SupportedVersions,
            C::KeyShare(_) => E::KeyShare,
            C::Cookie(_) => E::Cookie,
            C::PskKeyExchangeModes(_) => E::PskKeyExchangeModes,
            C::PreSharedKey(_) => E::PreSharedKey,
            C::EarlyData => E::EarlyData,
            C::PostHandshakeAuth => E::PostHandshakeAuth,
            C::CertificateAuthorities(_) => E::CertificateAuthorities,
            C::ExtendedMasterSecret => E::ExtendedMasterSecret,
            C::RenegotiationInfo(_) => E::RenegotiationInfo,
            C::EcPointFormats(_) => E::EcPointFormats,
            C::SessionTicket(_) => E::SessionTicket,
            C::RecordSizeLimit(_) => E::RecordSizeLimit,
            C::StatusRequest(_) => E::StatusRequest,
            C::Padding(_) => E::Padding,
            C::Unknown(u) => return u.typ,
        };
        t.to_wire()
    }

    fn write(&self, out: &mut Vec<u8>) {
        use ClientExtension as C;
        match self {
            C::ServerName(name) => SERVER_NAME_LIST.write_with(out, |out| {
                out.push(0);
                HOST_NAME.write_bytes(out, name);
            }),
            C::SupportedGroups(v) => write_list::<NamedGroup>(out, v),
            C::SignatureAlgorithms(v) | C::SignatureAlgorithmsCert(v) => {
                write_list::<SignatureScheme>(out, v)
            }
            C::Alpn(names) => write_list::<ProtocolName>(out, names),
            C::SupportedVersions(v) => write_list::<ProtocolVersion>(out, v),
            C::KeyShare(shares) => write_list::<KeyShareEntry>(out, shares),
            C::Cookie(c) => COOKIE.write_bytes(out, c),
            C::PskKeyExchangeModes(m) => PSK_KEY_EXCHANGE_MODES.write_bytes(out, m),
            C::PreSharedKey(psk) => psk.write(out),
            C::EarlyData | C::PostHandshakeAuth | C::ExtendedMasterSecret => {}
            C::CertificateAuthorities(dns) => write_list::<DistinguishedName>(out, dns),
            C::RenegotiationInfo(v) => RENEGOTIATION_INFO.write_bytes(out, v),
            C::EcPointFormats(v) => EC_POINT_FORMATS.write_bytes(out, v),
            C::SessionTicket(v) | C::StatusRequest(v) => out.extend_from_slice(v),
            C::RecordSizeLimit(v) => put_u16(out, *v),
            // A count past the u16 body limit cannot be encoded; it is capped.
            C::Padding(n) => out.resize(out.len() + (*n).min(0xffff), 0),
            C::Unknown(u) => out.extend_from_slice(&u.data),
        }
    }
}

#[cfg(test)]
mod tests;
