//! Names: the reference name we check a certificate against, the
//! GeneralName forms certificates carry, distinguished names, and the
//! syntax and matching rules for each (RFC 5280 §4.2.1.6, RFC 6125).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use super::error::CertError;
use crate::der::{self, Reader};

/// The name the peer is expected to have: a DNS name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerName {
    /// A DNS name, stored in lower case without a trailing dot.
    Dns(String),
    /// An IP address; matched only against iPAddress subjectAltNames.
    Ip(IpAddr),
}

impl ServerName {
    /// Parses an IP literal (dotted-decimal IPv4 or textual IPv6) or a DNS
    /// name (letters, digits and hyphens in dot-separated labels; one
    /// trailing dot is allowed and dropped). Anything else is
    /// `CertError::Malformed`.
    pub fn parse(name: &str) -> Result<ServerName, CertError> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(ServerName::Ip(ip));
        }
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        if !valid_dns_name(trimmed, false) {
            return Err(CertError::Malformed("invalid server name"));
        }
        Ok(ServerName::Dns(trimmed.to_ascii_lowercase()))
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerName::Dns(name) => f.write_str(name),
            ServerName::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// One GeneralName (RFC 5280 §4.2.1.6), borrowed from the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeneralName<'a> {
    /// dNSName (ASCII; may be a wildcard pattern in a subjectAltName).
    Dns(&'a str),
    /// rfc822Name (ASCII).
    Email(&'a str),
    /// uniformResourceIdentifier (ASCII).
    Uri(&'a str),
    /// iPAddress: 4 or 16 bytes in a subjectAltName, 8 or 32 (address and
    /// mask) in a name constraint.
    Ip(&'a [u8]),
    /// directoryName: the whole DER encoding of the Name.
    Directory(&'a [u8]),
    /// otherName, x400Address, ediPartyName or registeredID, by tag number:
    /// forms we never match.
    Other(u8),
}

impl GeneralName<'_> {
    /// A number per name form, to pair names with constraints of the same form.
    pub(crate) fn form(&self) -> u8 {
        match self {
            GeneralName::Other(n) => *n,
            GeneralName::Email(_) => 1,
            GeneralName::Dns(_) => 2,
            GeneralName::Directory(_) => 4,
            GeneralName::Uri(_) => 6,
            GeneralName::Ip(_) => 7,
        }
    }
}

/// Parses one GeneralName element. The string forms must be ASCII (IA5String).
pub(crate) fn parse_general_name(tlv: der::Tlv<'_>) -> Result<GeneralName<'_>, CertError> {
    const BAD: CertError = CertError::Malformed("malformed GeneralName");
    fn ascii(bytes: &[u8]) -> Result<&str, CertError> {
        if !bytes.is_ascii() {
            return Err(CertError::Malformed("non-ASCII name"));
        }
        core::str::from_utf8(bytes).map_err(|_| BAD)
    }
    Ok(match tlv.tag {
        0xa0 => GeneralName::Other(0),
        0x81 => GeneralName::Email(ascii(tlv.contents)?),
        0x82 => GeneralName::Dns(ascii(tlv.contents)?),
        0xa3 => GeneralName::Other(3),
        0xa4 => {
            let mut r = Reader::new(tlv.contents);
            let name = r.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
            r.finish().ok_or(BAD)?;
            check_name(name.contents).ok_or(BAD)?;
            GeneralName::Directory(name.encoded)
        }
        0xa5 => GeneralName::Other(5),
        0x86 => GeneralName::Uri(ascii(tlv.contents)?),
        0x87 => GeneralName::Ip(tlv.contents),
        0x88 => GeneralName::Other(8),
        _ => return Err(BAD),
    })
}

/// Parses a GeneralNames SEQUENCE's contents (at least one name).
pub(crate) fn parse_general_names(contents: &[u8]) -> Result<Vec<GeneralName<'_>>, CertError> {
    let mut r = Reader::new(contents);
    let mut names = Vec::new();
    while !r.is_empty() {
        let tlv = r
            .read()
            .ok_or(CertError::Malformed("malformed GeneralNames"))?;
        names.push(parse_general_name(tlv)?);
    }
    if names.is_empty() {
        return Err(CertError::Malformed("empty GeneralNames"));
    }
    Ok(names)
}

/// One AttributeTypeAndValue of a distinguished name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attribute<'a> {
    /// The attribute type OID's contents.
    pub(crate) oid: &'a [u8],
    /// The value's tag (the string type for the usual attributes).
    pub(crate) tag: u8,
    /// The value's contents.
    pub(crate) value: &'a [u8],
}

/// A relative distinguished name: one or more attributes.
pub(crate) type Rdn<'a> = Vec<Attribute<'a>>;

/// id-at-commonName, 2.5.4.3.
pub(crate) const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// pkcs-9 emailAddress, 1.2.840.113549.1.9.1.
pub(crate) const OID_EMAIL_ADDRESS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

/// Parses the contents of a Name SEQUENCE into its RDNs; `None` if malformed.
pub(crate) fn parse_name(contents: &[u8]) -> Option<Vec<Rdn<'_>>> {
    let mut rdns: Vec<Rdn<'_>> = Vec::new();
    walk_name(contents, |attribute, starts_rdn| match rdns.last_mut() {
        Some(rdn) if !starts_rdn => rdn.push(attribute),
        _ => rdns.push(alloc::vec![attribute]),
    })?;
    Some(rdns)
}

/// Checks the contents of a Name SEQUENCE as [`parse_name`] does, keeping
/// nothing (no allocation): `None` if malformed.
pub(crate) fn check_name(contents: &[u8]) -> Option<()> {
    walk_name(contents, |_, _| {})
}

/// Reads the contents of a Name SEQUENCE: every RDN a SET of one or more
/// attributes, each a SEQUENCE of a non-empty OID and one value. Gives each
/// attribute to `each`, with whether it starts an RDN; `None` if malformed.
fn walk_name<'a>(contents: &'a [u8], mut each: impl FnMut(Attribute<'a>, bool)) -> Option<()> {
    let mut r = Reader::new(contents);
    while !r.is_empty() {
        let mut set = Reader::new(r.take(der::SET)?);
        let mut starts_rdn = true;
        if set.is_empty() {
            return None;
        }
        while !set.is_empty() {
            let mut atv = set.sequence()?;
            let oid = atv.take(der::OID)?;
            let value = atv.read()?;
            atv.finish()?;
            if oid.is_empty() {
                return None;
            }
            let attribute = Attribute {
                oid,
                tag: value.tag,
                value: value.contents,
            };
            each(attribute, starts_rdn);
            starts_rdn = false;
        }
    }
    Some(())
}

/// A directory string's text, for the string types we can decode
/// (UTF8String, PrintableString, IA5String, BMPString, UniversalString).
pub(crate) fn decode_string(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        0x0c => core::str::from_utf8(value).ok().map(ToString::to_string),
        0x13 | 0x16 => value
            .is_ascii()
            .then(|| value.iter().map(|&b| char::from(b)).collect()),
        0x1e => {
            if !value.len().is_multiple_of(2) {
                return None;
            }
            let units = value
                .chunks_exact(2)
                .map(|c| <[u8; 2]>::try_from(c).map(u16::from_be_bytes))
                .collect::<Result<Vec<u16>, _>>()
                .ok()?;
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        0x1c => {
            if !value.len().is_multiple_of(4) {
                return None;
            }
            value
                .chunks_exact(4)
                .map(|c| {
                    <[u8; 4]>::try_from(c)
                        .ok()
                        .and_then(|b| char::from_u32(u32::from_be_bytes(b)))
                })
                .collect()
        }
        _ => None,
    }
}

/// Values of one attribute type in a parsed name, decoded (`None` for a
/// value we cannot decode).
pub(crate) fn attribute_strings(rdns: &[Rdn<'_>], oid: &[u8]) -> Vec<Option<String>> {
    rdns.iter()
        .flatten()
        .filter(|a| a.oid == oid)
        .map(|a| decode_string(a.tag, a.value))
        .collect()
}

/// Attribute value comparison for name constraints: strings compare after
/// trimming, collapsing inner whitespace and lower-casing (an approximation
/// of RFC 4518); anything else compares by tag and bytes.
pub(crate) fn attribute_eq(a: &Attribute<'_>, b: &Attribute<'_>) -> bool {
    if a.oid != b.oid {
        return false;
    }
    match (decode_string(a.tag, a.value), decode_string(b.tag, b.value)) {
        (Some(x), Some(y)) => normalize(&x) == normalize(&y),
        _ => a.tag == b.tag && a.value == b.value,
    }
}

fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// DNS name syntax (RFC 1034 preferred name syntax as modified by RFC 1123):
/// dot-separated labels of 1..=63 letters, digits and hyphens, no hyphen at
/// either end of a label, at most 253 characters, no trailing dot, and a
/// last label that is not all digits (so an IPv4 address is not a DNS name).
/// With `wildcard`, the first label may be exactly `*` when at least two
/// labels follow it.
pub(crate) fn valid_dns_name(name: &str, wildcard: bool) -> bool {
    if name.is_empty() || name.len() > 253 || !name.is_ascii() {
        return false;
    }
    let mut labels: Vec<&str> = name.split('.').collect();
    if wildcard && labels.first() == Some(&"*") {
        if labels.len() < 3 {
            return false;
        }
        labels.remove(0);
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()))
}

/// True if the presented dNSName (possibly a `*.` wildcard, already
/// syntax-checked) matches the reference name (lower case). A wildcard
/// stands for exactly one whole, non-empty left-most label (RFC 6125 §6.4.3).
pub(crate) fn dns_name_matches(presented: &str, reference: &str) -> bool {
    match presented.strip_prefix("*.") {
        Some(rest) => match reference.split_once('.') {
            Some((first, tail)) => !first.is_empty() && tail.eq_ignore_ascii_case(rest),
            None => false,
        },
        None => presented.eq_ignore_ascii_case(reference),
    }
}

/// An rfc822Name: a Mailbox of RFC 5321 §4.1.2 (which RFC 5280 §4.2.1.6
/// names), with a DNS name after the last `@`. The local part is a
/// Dot-string (RFC 5322 atext in dot-separated runs) or a Quoted-string
/// (`"john doe"@example.com`, backslash escaping any printable character);
/// at most 64 octets. Address literals (`user@[192.0.2.1]`) are not taken.
pub(crate) fn valid_email(mailbox: &str) -> bool {
    let Some((local, domain)) = mailbox.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && (valid_dot_string(local) || valid_quoted_string(local))
        && valid_dns_name(domain, false)
}

/// RFC 5321 Dot-string: atext runs separated by single dots.
fn valid_dot_string(local: &str) -> bool {
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
    local
        .split('.')
        .all(|run| !run.is_empty() && run.bytes().all(atext))
}

/// RFC 5321 Quoted-string: `"` ... `"` with printable ASCII (and space)
/// inside; `"` and `\` only escaped by a backslash.
fn valid_quoted_string(local: &str) -> bool {
    let Some(inner) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return false;
    };
    let mut escaped = false;
    for b in inner.bytes() {
        if !(b' '..=b'~').contains(&b) {
            return false;
        }
        match (escaped, b) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, b'"') => return false,
            _ => {}
        }
    }
    !escaped
}

/// An rfc822Name constraint: a mailbox, a host, or `.domain` for any
/// subdomain (RFC 5280 §4.2.1.10).
pub(crate) fn valid_email_constraint(constraint: &str) -> bool {
    if constraint.contains('@') {
        valid_email(constraint)
    } else {
        valid_dns_name(constraint.strip_prefix('.').unwrap_or(constraint), false)
    }
}

/// True if a subjectAltName dNSName matches the reference name, or an
/// iPAddress equals the reference address. There is no Common Name fallback.
pub(crate) fn san_matches(san: &GeneralName<'_>, reference: &ServerName) -> bool {
    match (san, reference) {
        (GeneralName::Dns(presented), ServerName::Dns(name)) => dns_name_matches(presented, name),
        (GeneralName::Ip(bytes), ServerName::Ip(IpAddr::V4(ip))) => *bytes == ip.octets(),
        (GeneralName::Ip(bytes), ServerName::Ip(IpAddr::V6(ip))) => *bytes == ip.octets(),
        _ => false,
    }
}

/// The subject commonName of a server certificate against its
/// subjectAltName (after CA/Browser Forum BR §7.1.4.3, which wants the CN to
/// be a character-for-character copy of a SAN entry). The commonName is
/// never used to match the peer's name (RFC 6125 §6.4.4; we have no CN
/// fallback), so a CN naming anything else (another host, an IP address not
/// among the iPAddresses, a person, text we cannot decode) does not make the
/// certificate invalid. Only a CN that is another spelling of one of the
/// subjectAltName hosts is refused, since it shows the certificate was not
/// made to that rule: an IP address in any form but the canonical text
/// (dotted decimal, RFC 5952) of the iPAddress it denotes, a dNSName in
/// other letter case, or the U-label form of an A-label dNSName.
pub(crate) fn check_common_names(
    common_names: &[Option<String>],
    sans: &[GeneralName<'_>],
) -> Result<(), CertError> {
    let dns = || {
        sans.iter().filter_map(|n| match n {
            GeneralName::Dns(d) => Some(*d),
            _ => None,
        })
    };
    for cn in common_names.iter().flatten() {
        if cn.chars().any(char::is_whitespace) || dns().any(|d| d == cn) {
            continue;
        }
        if !cn.is_ascii() {
            if to_a_labels(cn).is_some_and(|a| dns().any(|d| d.eq_ignore_ascii_case(&a))) {
                return Err(CertError::Profile(
                    "commonName is the U-label spelling of a dNSName",
                ));
            }
            continue;
        }
        if dns().any(|d| d.eq_ignore_ascii_case(cn)) {
            return Err(CertError::Profile(
                "commonName differs in case from a dNSName",
            ));
        }
        if let Some(ip) = lenient_ip(cn) {
            let among_sans = sans.iter().any(|n| san_matches(n, &ServerName::Ip(ip)));
            if among_sans && ip.to_string() != *cn {
                return Err(CertError::Profile(
                    "commonName is another spelling of an iPAddress",
                ));
            }
        }
    }
    Ok(())
}

/// A domain name with each non-ASCII label in its ACE form (`xn--` and the
/// label's Punycode, RFC 3492), after lower-casing; `None` if a label cannot
/// be encoded. (No IDNA mapping beyond lower case: enough to recognise a
/// U-label that spells an A-label, which is all it is used for.)
fn to_a_labels(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len() + 8);
    for (i, label) in name.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        let label: String = label.chars().flat_map(char::to_lowercase).collect();
        if label.is_ascii() {
            out.push_str(&label);
        } else {
            out.push_str("xn--");
            punycode_encode(&label, &mut out)?;
        }
    }
    Some(out)
}

/// Punycode encoding (RFC 3492 §6.3) of `input`, appended to `out`; `None`
/// on arithmetic overflow.
fn punycode_encode(input: &str, out: &mut String) -> Option<()> {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    fn digit(d: u32) -> Option<char> {
        match d {
            0..=25 => char::from_u32(u32::from(b'a') + d),
            26..=35 => char::from_u32(u32::from(b'0') + d - 26),
            _ => None,
        }
    }
    // §6.1: the bias adaptation function.
    fn adapt(delta: u32, points: u32, first: bool) -> u32 {
        let mut delta = if first { delta / 700 } else { delta / 2 };
        delta += delta / points.max(1);
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + 38)
    }
    let chars: Vec<u32> = input.chars().map(u32::from).collect();
    let basic = u32::try_from(chars.iter().filter(|&&c| c < 0x80).count()).ok()?;
    let total = u32::try_from(chars.len()).ok()?;
    out.extend(input.chars().filter(char::is_ascii));
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias, mut handled) = (0x80_u32, 0_u32, 72_u32, basic);
    while handled < total {
        let m = chars.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(handled + 1)?)?;
        n = m;
        for &c in &chars {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t))?);
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit(q)?);
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(())
}

/// An IP address in any spelling a lax parser would take: textual IPv6
/// (any case, any compression), or IPv4 as 1 to 4 dot-separated parts in
/// decimal, octal (leading 0) or hex (0x), the last part filling the
/// remaining bytes (as inet_aton).
fn lenient_ip(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (part.get(1..)?, 8)
            } else {
                (*part, 10)
            };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        values.push(u32::from_str_radix(digits, radix).ok()?);
    }
    let (last, init) = values.split_last()?;
    let mut addr: u32 = 0;
    for (i, v) in init.iter().enumerate() {
        if *v > 255 {
            return None;
        }
        addr |= v << (24 - 8 * i);
    }
    let last_bits = 32 - 8 * init.len() as u32;
    if last_bits < 32 && *last >> last_bits != 0 {
        return None;
    }
    addr |= last;
    Some(IpAddr::V4(core::net::Ipv4Addr::from(addr)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_dns_syntax() {
        for good in [
            "example.com",
            "a-b.example",
            "localhost",
            "xn--n3h.com",
            "EXAMPLE.com",
        ] {
            assert!(valid_dns_name(good, false), "{good}");
        }
        for bad in [
            "",
            ".example.com",
            "example.com.",
            "foo_bar.example.com",
            "-a.com",
            "a-.com",
            "8.8.8.8",
            "a..b",
            "*.example.com",
            "😜.example.com",
        ] {
            assert!(!valid_dns_name(bad, false), "{bad}");
        }
        assert!(valid_dns_name("*.example.com", true));
        for bad in [
            "*",
            "*.com",
            "ba*.example.com",
            "foo.*.example.com",
            "xn--*-1b.example.com",
        ] {
            assert!(!valid_dns_name(bad, true), "{bad}");
        }
    }

    #[test]
    fn x509_wildcard_matching() {
        assert!(dns_name_matches("*.example.com", "foo.example.com"));
        assert!(dns_name_matches("*.Example.com", "foo.example.com"));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.example.com", "foo.bar.example.com"));
        assert!(dns_name_matches("Example.com", "example.com"));
        assert!(!dns_name_matches("example.com", "example2.com"));
    }

    #[test]
    fn x509_server_names() {
        assert_eq!(
            ServerName::parse("Example.COM.").unwrap(),
            ServerName::Dns("example.com".into())
        );
        assert!(matches!(ServerName::parse("::1"), Ok(ServerName::Ip(_))));
        assert!(matches!(
            ServerName::parse("127.0.0.1"),
            Ok(ServerName::Ip(_))
        ));
        assert!(ServerName::parse("foo bar").is_err());
        assert!(ServerName::parse("").is_err());
    }

    #[test]
    fn x509_email_syntax() {
        assert!(valid_email("foo@example.com"));
        assert!(valid_email("*@example.com"));
        assert!(!valid_email("invalid@address@example.com"));
        assert!(!valid_email("@example.com"));
        assert!(!valid_email(".a@example.com"));
        assert!(!valid_email("a..b@example.com"));
        assert!(valid_email("\"john doe\"@example.com"));
        assert!(valid_email("\"a@b\"@example.com"));
        assert!(valid_email("\"say \\\"hi\\\"\"@example.com"));
        assert!(!valid_email("\"unterminated@example.com"));
        assert!(!valid_email("\"a\"b\"@example.com"));
        assert!(!valid_email("a@[192.0.2.1]"));
        assert!(valid_email_constraint("example.com"));
        assert!(valid_email_constraint(".example.com"));
        assert!(!valid_email_constraint("invalid@invalid@example.com"));
    }

    #[test]
    fn x509_common_name_rule() {
        let sans = [
            GeneralName::Dns("example.com"),
            GeneralName::Dns("xn--test--gs1lv54n.com"),
            GeneralName::Ip(&[192, 168, 1, 1]),
        ];
        let ok = |cn: &str| check_common_names(&[Some(cn.into())], &sans).is_ok();
        // Copies of a SAN entry, and CNs that name something else.
        assert!(ok("example.com"));
        assert!(ok("192.168.1.1"));
        assert!(ok("my test server"));
        assert!(ok("other.example.net"));
        assert!(ok("10.0.0.1"), "an IP literal not among the SANs");
        assert!(ok("010.0.0.1"));
        assert!(ok("12345"), "digits that a lax parser reads as 0.0.48.57");
        assert!(ok("Bücher-Server"));
        assert!(ok("bücher.example"));
        assert!(check_common_names(&[None], &sans).is_ok(), "undecodable CN");
        // Other spellings of a SAN entry.
        assert!(!ok("Example.COM"));
        assert!(!ok("192.168.001.001"));
        assert!(!ok("0xC0A80101"));
        assert!(!ok("test-測試.com"));
        assert!(!ok("TEST-測試.com"));
        assert_eq!(lenient_ip("0xC0A80101"), "192.168.1.1".parse().ok());
        assert_eq!(lenient_ip("192.168.001.001"), "192.168.1.1".parse().ok());
        assert_eq!(lenient_ip("2001:DB8::1"), "2001:db8::1".parse().ok());
        assert_eq!(lenient_ip("example"), None);
        assert_eq!(lenient_ip("1.2.3.256"), None);
        assert!(check_common_names(&[Some("foo".into())], &[GeneralName::Other(0)]).is_ok());
    }

    #[test]
    fn x509_punycode_rfc3492_samples() {
        let a = |s: &str| to_a_labels(s);
        assert_eq!(
            a("test-測試.com").as_deref(),
            Some("xn--test--gs1lv54n.com")
        );
        assert_eq!(a("⌘.com").as_deref(), Some("xn--bih.com"));
        assert_eq!(a("☃.com").as_deref(), Some("xn--n3h.com"));
        assert_eq!(a("בדיקה.com").as_deref(), Some("xn--5dbedt4e.com"));
        // RFC 3492 §7.1 (A) Arabic (Egyptian) and (L) Japanese samples.
        assert_eq!(
            a("\u{644}\u{64A}\u{647}\u{645}\u{627}\u{628}\u{62A}\u{643}\u{644}\u{645}\u{648}\u{634}\u{639}\u{631}\u{628}\u{64A}\u{61F}").as_deref(),
            Some("xn--egbpdaj6bu4bxfgehfvwxn")
        );
        assert_eq!(
            a("3年B組金八先生").as_deref(),
            Some("xn--3b-ww4c5e180e575a65lsy2b")
        );
        assert_eq!(a("example.com").as_deref(), Some("example.com"));
    }
}
