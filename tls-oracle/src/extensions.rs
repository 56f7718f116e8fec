//! Which extensions each TLS 1.3 message may carry (RFC 8446 §4.2's table,
//! with the later registrations from IANA's TLS 1.3 column), and the raw
//! extension lists of the messages, read straight from their bytes so that
//! duplicates and unknown types are seen as sent.

/// The TLS 1.3 messages that carry extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// ClientHello.
    ClientHello,
    /// ServerHello.
    ServerHello,
    /// HelloRetryRequest.
    HelloRetryRequest,
    /// EncryptedExtensions.
    EncryptedExtensions,
    /// A CertificateEntry of Certificate.
    Certificate,
    /// CertificateRequest.
    CertificateRequest,
    /// NewSessionTicket.
    NewSessionTicket,
}

impl Carrier {
    fn code(self) -> &'static str {
        match self {
            Carrier::ClientHello => "CH",
            Carrier::ServerHello => "SH",
            Carrier::HelloRetryRequest => "HRR",
            Carrier::EncryptedExtensions => "EE",
            Carrier::Certificate => "CT",
            Carrier::CertificateRequest => "CR",
            Carrier::NewSessionTicket => "NST",
        }
    }
}

/// Where a known extension may appear in TLS 1.3 (IANA's "TLS 1.3" column;
/// "-" registrations, the TLS 1.2-only ones, may appear in a ClientHello that
/// also offers TLS 1.2 and nowhere else). `None` for an unknown type.
fn allowed_in(typ: u16) -> Option<&'static [&'static str]> {
    Some(match typ {
        0 | 1 | 10 | 14 | 15 | 16 | 19 | 20 | 28 => &["CH", "EE"],
        5 | 18 => &["CH", "CR", "CT"],
        13 | 27 | 47 | 50 => &["CH", "CR"],
        21 | 45 | 49 => &["CH"],
        41 => &["CH", "SH"],
        42 => &["CH", "EE", "NST"],
        43 => &["CH", "SH", "HRR"],
        44 => &["CH", "HRR"],
        48 => &["CR"],
        51 => &["CH", "SH", "HRR"],
        // encrypted_client_hello (RFC 9849 / draft-ietf-tls-esni).
        0xfe0d => &["CH", "EE", "HRR"],
        // TLS 1.2 only: ec_point_formats, encrypt_then_mac,
        // extended_master_secret, session_ticket, renegotiation_info.
        11 | 22 | 23 | 35 | 0xff01 => &["CH"],
        _ => return None,
    })
}

/// The problems with extension list `types` in `carrier`: a type twice
/// (§4.2), a known type not allowed there (§4.2's table).
pub fn table_problems(carrier: Carrier, types: &[u16]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in types.iter().enumerate() {
        if types.get(..i).is_some_and(|before| before.contains(t)) {
            out.push(format!("extension {} appears twice", name(*t)));
        }
        if let Some(places) = allowed_in(*t) {
            if !places.contains(&carrier.code()) {
                out.push(format!(
                    "extension {} is not allowed in {} (allowed in {})",
                    name(*t),
                    carrier.code(),
                    places.join(", ")
                ));
            }
        }
    }
    out
}

/// A readable name for an extension type.
pub fn name(typ: u16) -> String {
    let known = match typ {
        0 => "server_name",
        1 => "max_fragment_length",
        5 => "status_request",
        10 => "supported_groups",
        11 => "ec_point_formats",
        13 => "signature_algorithms",
        14 => "use_srtp",
        15 => "heartbeat",
        16 => "application_layer_protocol_negotiation",
        18 => "signed_certificate_timestamp",
        19 => "client_certificate_type",
        20 => "server_certificate_type",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        27 => "compress_certificate",
        28 => "record_size_limit",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        48 => "oid_filters",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        0xfe0d => "encrypted_client_hello",
        0xff01 => "renegotiation_info",
        _ => return format!("{typ}"),
    };
    format!("{known} ({typ})")
}

/// A cursor over a message body.
struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn skip(&mut self, n: usize) -> Option<()> {
        self.data = self.data.get(n..)?;
        Some(())
    }
    fn vec(&mut self, len_bytes: usize) -> Option<&'a [u8]> {
        let mut len = 0usize;
        for i in 0..len_bytes {
            len = (len << 8) | usize::from(*self.data.get(i)?);
        }
        let body = self.data.get(len_bytes..len_bytes.checked_add(len)?)?;
        self.skip(len_bytes + len)?;
        Some(body)
    }
}

/// The types of an extension block (u16 length, then type/length/body).
fn block_types(block: &[u8]) -> Option<Vec<u16>> {
    let mut c = Cursor { data: block };
    let mut out = Vec::new();
    while !c.data.is_empty() {
        let typ = u16::from_be_bytes([*c.data.first()?, *c.data.get(1)?]);
        c.skip(2)?;
        c.vec(2)?;
        out.push(typ);
    }
    Some(out)
}

/// The extension types of a message body, in order; an empty list for a
/// body that ends before its extensions (TLS 1.2 hellos may omit them) and
/// `None` for a malformed one. For Certificate, the types of every entry.
pub fn types(carrier: Carrier, body: &[u8]) -> Option<Vec<u16>> {
    let mut c = Cursor { data: body };
    match carrier {
        Carrier::ClientHello => {
            c.skip(2 + 32)?;
            c.vec(1)?;
            c.vec(2)?;
            c.vec(1)?;
        }
        Carrier::ServerHello | Carrier::HelloRetryRequest => {
            c.skip(2 + 32)?;
            c.vec(1)?;
            c.skip(3)?;
        }
        Carrier::EncryptedExtensions => {}
        Carrier::CertificateRequest => {
            c.vec(1)?;
        }
        Carrier::NewSessionTicket => {
            c.skip(8)?;
            c.vec(1)?;
            c.vec(2)?;
        }
        Carrier::Certificate => {
            c.vec(1)?;
            let mut list = Cursor { data: c.vec(3)? };
            let mut out = Vec::new();
            while !list.data.is_empty() {
                list.vec(3)?;
                out.extend(block_types(list.vec(2)?)?);
            }
            return Some(out);
        }
    }
    if c.data.is_empty() {
        return Some(Vec::new());
    }
    block_types(c.vec(2)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_flags_misplaced_and_repeated_extensions() {
        assert!(table_problems(Carrier::ServerHello, &[43, 51]).is_empty());
        let p = table_problems(Carrier::ServerHello, &[43, 16, 43]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("application_layer_protocol_negotiation"));
        assert!(p[1].contains("twice"));
        // Unknown types pass the table (the offer rule covers them).
        assert!(table_problems(Carrier::EncryptedExtensions, &[0x1234]).is_empty());
        assert!(!table_problems(Carrier::EncryptedExtensions, &[23]).is_empty());
    }

    #[test]
    fn reads_extension_types_from_bodies() {
        // EncryptedExtensions with ALPN and an unknown type.
        let ee = [0, 8, 0, 16, 0, 0, 0x12, 0x34, 0, 0];
        assert_eq!(
            types(Carrier::EncryptedExtensions, &ee),
            Some(vec![16, 0x1234])
        );
        assert_eq!(types(Carrier::EncryptedExtensions, &ee[..5]), None);
    }
}
