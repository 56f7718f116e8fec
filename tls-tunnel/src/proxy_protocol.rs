//! The PROXY protocol (HAProxy), versions 1 and 2: headers we send to a
//! target (v2 with TLS version, ALPN and SNI TLVs), and headers we accept from
//! a load balancer in front of us.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::listen::Stream;

/// The twelve bytes that open a v2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// TLV: the negotiated ALPN protocol.
pub const PP2_TYPE_ALPN: u8 = 0x01;
/// TLV: the authority (the SNI host name).
pub const PP2_TYPE_AUTHORITY: u8 = 0x02;
/// TLV: TLS details, with sub-TLVs.
pub const PP2_TYPE_SSL: u8 = 0x20;
/// Sub-TLV of [`PP2_TYPE_SSL`]: the protocol version, e.g. `TLSv1.3`.
pub const PP2_SUBTYPE_SSL_VERSION: u8 = 0x21;
/// Sub-TLV of [`PP2_TYPE_SSL`]: the client certificate's common name.
pub const PP2_SUBTYPE_SSL_CN: u8 = 0x22;
/// Sub-TLV of [`PP2_TYPE_SSL`]: the cipher suite name.
pub const PP2_SUBTYPE_SSL_CIPHER: u8 = 0x23;
/// `client` flag of [`PP2_TYPE_SSL`]: the connection used TLS.
pub const PP2_CLIENT_SSL: u8 = 0x01;
/// `client` flag of [`PP2_TYPE_SSL`]: a client certificate was presented.
pub const PP2_CLIENT_CERT_CONN: u8 = 0x02;

/// What the TLS side agreed on, for the v2 TLVs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// e.g. `TLSv1.3`.
    pub version: String,
    /// e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// The SNI name the client asked for.
    pub sni: Option<String>,
    /// The client certificate's common name.
    pub client_cn: Option<String>,
}

/// Normalises both addresses to one family (IPv4-mapped IPv6 when mixed).
fn same_family(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let v6 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(ip) => SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    if src.is_ipv4() == dst.is_ipv4() {
        (src, dst)
    } else {
        (v6(src), v6(dst))
    }
}

/// A v1 header line for a connection from `src` to `dst` (`UNKNOWN` when
/// either is not an IP address, e.g. a Unix socket).
pub fn encode_v1(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    match addrs {
        Some((src, dst)) => {
            let (src, dst) = same_family(src, dst);
            let fam = if src.is_ipv4() { "TCP4" } else { "TCP6" };
            format!(
                "PROXY {fam} {} {} {} {}\r\n",
                src.ip(),
                dst.ip(),
                src.port(),
                dst.port()
            )
            .into_bytes()
        }
        None => b"PROXY UNKNOWN\r\n".to_vec(),
    }
}

/// The largest value a TLV (or the whole v2 address block) can hold: its
/// length is a 16-bit field.
const MAX_V2_LEN: usize = u16::MAX as usize;

/// Appends one TLV; a value longer than its 16-bit length field allows is
/// an error (never a wrapped or truncated length).
fn push_tlv(out: &mut Vec<u8>, typ: u8, value: &[u8]) -> Result<(), String> {
    let len = u16::try_from(value.len()).map_err(|_| {
        format!(
            "PROXY v2 TLV 0x{typ:02x} too long: {} bytes, at most {MAX_V2_LEN}",
            value.len()
        )
    })?;
    out.push(typ);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// A v2 header for a connection from `src` to `dst`, with TLS TLVs; an
/// error when a TLV or the whole block is longer than the 16-bit lengths of
/// the format allow (a huge client certificate name, say).
pub fn encode_v2(
    addrs: Option<(SocketAddr, SocketAddr)>,
    tls: Option<&TlsInfo>,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let fam = match addrs.map(|(s, d)| same_family(s, d)) {
        Some((SocketAddr::V4(s), SocketAddr::V4(d))) => {
            body.extend_from_slice(&s.ip().octets());
            body.extend_from_slice(&d.ip().octets());
            body.extend_from_slice(&s.port().to_be_bytes());
            body.extend_from_slice(&d.port().to_be_bytes());
            0x11
        }
        Some((s, d)) => {
            let ip6 = |a: SocketAddr| match a.ip() {
                IpAddr::V6(ip) => ip,
                IpAddr::V4(ip) => ip.to_ipv6_mapped(),
            };
            body.extend_from_slice(&ip6(s).octets());
            body.extend_from_slice(&ip6(d).octets());
            body.extend_from_slice(&s.port().to_be_bytes());
            body.extend_from_slice(&d.port().to_be_bytes());
            0x21
        }
        None => 0x00,
    };
    if let Some(tls) = tls {
        if let Some(alpn) = &tls.alpn {
            push_tlv(&mut body, PP2_TYPE_ALPN, alpn)?;
        }
        if let Some(sni) = &tls.sni {
            push_tlv(&mut body, PP2_TYPE_AUTHORITY, sni.as_bytes())?;
        }
        let mut ssl = Vec::new();
        let client = PP2_CLIENT_SSL
            | if tls.client_cn.is_some() {
                PP2_CLIENT_CERT_CONN
            } else {
                0
            };
        ssl.push(client);
        ssl.extend_from_slice(&0u32.to_be_bytes()); // verify: 0 = success
        push_tlv(&mut ssl, PP2_SUBTYPE_SSL_VERSION, tls.version.as_bytes())?;
        push_tlv(&mut ssl, PP2_SUBTYPE_SSL_CIPHER, tls.cipher.as_bytes())?;
        if let Some(cn) = &tls.client_cn {
            push_tlv(&mut ssl, PP2_SUBTYPE_SSL_CN, cn.as_bytes())?;
        }
        push_tlv(&mut body, PP2_TYPE_SSL, &ssl)?;
    }
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(0x21); // version 2, PROXY command
    out.push(fam);
    let len = u16::try_from(body.len()).map_err(|_| {
        format!(
            "PROXY v2 header too long: {} bytes, at most {MAX_V2_LEN}",
            body.len()
        )
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// A parsed incoming header: the original client and destination, when the
/// sender gave them (`None` for LOCAL / UNKNOWN).
pub type Received = Option<(SocketAddr, SocketAddr)>;

/// Reads exactly one v1 or v2 header from `stream` (no byte beyond it).
pub async fn read_header(stream: &mut Stream) -> Result<Received, String> {
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .await
        .map_err(|e| format!("reading PROXY header: {e}"))?;
    if head == V2_SIGNATURE {
        let mut rest = [0u8; 4];
        stream
            .read_exact(&mut rest)
            .await
            .map_err(|e| format!("reading PROXY header: {e}"))?;
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let mut body = vec![0u8; len];
        stream
            .read_exact(&mut body)
            .await
            .map_err(|e| format!("reading PROXY header: {e}"))?;
        return parse_v2(rest[0], rest[1], &body);
    }
    if !head.starts_with(b"PROXY ") {
        return Err("expected a PROXY protocol header".into());
    }
    let mut line = head.to_vec();
    while !line.ends_with(b"\r\n") {
        if line.len() >= 107 {
            return Err("PROXY v1 line too long".into());
        }
        let mut b = [0u8; 1];
        stream
            .read_exact(&mut b)
            .await
            .map_err(|e| format!("reading PROXY header: {e}"))?;
        line.push(b[0]);
    }
    parse_v1(&line)
}

/// Parses a complete v1 line, CRLF included.
pub fn parse_v1(line: &[u8]) -> Result<Received, String> {
    let text = std::str::from_utf8(line).map_err(|_| "PROXY v1 line is not ASCII")?;
    let parts: Vec<&str> = text.trim_end_matches("\r\n").split(' ').collect();
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(None),
        ["PROXY", fam @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let ip = |s: &str| {
                s.parse::<IpAddr>()
                    .map_err(|_| format!("bad address {s:?} in PROXY line"))
            };
            let port = |s: &str| {
                s.parse::<u16>()
                    .map_err(|_| format!("bad port {s:?} in PROXY line"))
            };
            let (s, d) = (ip(src)?, ip(dst)?);
            if (*fam == "TCP4") != (s.is_ipv4() && d.is_ipv4()) {
                return Err("PROXY line family does not match its addresses".into());
            }
            Ok(Some((
                SocketAddr::new(s, port(sport)?),
                SocketAddr::new(d, port(dport)?),
            )))
        }
        _ => Err("malformed PROXY v1 line".into()),
    }
}

/// Parses a v2 header's version/command byte, family byte and body.
pub fn parse_v2(ver_cmd: u8, fam: u8, body: &[u8]) -> Result<Received, String> {
    if ver_cmd >> 4 != 2 {
        return Err("unsupported PROXY protocol version".into());
    }
    match ver_cmd & 0x0f {
        0 => return Ok(None), // LOCAL: a health check from the balancer itself
        1 => {}
        _ => return Err("unknown PROXY v2 command".into()),
    }
    let short = || "PROXY v2 address block too short".to_string();
    let port = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    match fam {
        0x11 => {
            let b = body.get(..12).ok_or_else(short)?;
            let ip = |o: usize| IpAddr::from([b[o], b[o + 1], b[o + 2], b[o + 3]]);
            Ok(Some((
                SocketAddr::new(ip(0), port(&b[8..])),
                SocketAddr::new(ip(4), port(&b[10..])),
            )))
        }
        0x21 => {
            let b = body.get(..36).ok_or_else(short)?;
            let ip = |o: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[o..o + 16]);
                IpAddr::V6(Ipv6Addr::from(a))
            };
            Ok(Some((
                SocketAddr::new(ip(0), port(&b[32..])),
                SocketAddr::new(ip(16), port(&b[34..])),
            )))
        }
        _ => Ok(None), // UNSPEC or Unix addresses: nothing to report
    }
}

/// Splits a v2 header's TLVs (after the address block of family `fam`).
pub fn tlvs(fam: u8, body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let skip = match fam {
        0x11 => 12,
        0x21 => 36,
        0x31 => 216,
        _ => 0,
    };
    let mut rest = body.get(skip..).unwrap_or_default();
    let mut out = Vec::new();
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let Some(value) = rest.get(3..3 + len) else {
            break;
        };
        out.push((rest[0], value.to_vec()));
        rest = &rest[3 + len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            "192.0.2.1:5555".parse().unwrap(),
            "198.51.100.2:443".parse().unwrap(),
        )
    }

    #[test]
    fn v1_round_trip() {
        let line = encode_v1(Some(addrs()));
        assert_eq!(line, b"PROXY TCP4 192.0.2.1 198.51.100.2 5555 443\r\n");
        assert_eq!(parse_v1(&line).unwrap(), Some(addrs()));
        assert_eq!(parse_v1(b"PROXY UNKNOWN\r\n").unwrap(), None);
    }

    #[test]
    fn v2_round_trip_with_tlvs() {
        let info = TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_128_GCM_SHA256".into(),
            alpn: Some(b"h2".to_vec()),
            sni: Some("a.example".into()),
            client_cn: None,
        };
        let h = encode_v2(Some(addrs()), Some(&info)).unwrap();
        assert_eq!(h[..12], V2_SIGNATURE);
        let body = &h[16..];
        assert_eq!(parse_v2(h[12], h[13], body).unwrap(), Some(addrs()));
        let t = tlvs(h[13], body);
        assert_eq!(t[0], (PP2_TYPE_ALPN, b"h2".to_vec()));
        assert_eq!(t[1], (PP2_TYPE_AUTHORITY, b"a.example".to_vec()));
        assert_eq!(t[2].0, PP2_TYPE_SSL);
        let sub = tlvs(0, &t[2].1[5..]);
        assert_eq!(sub[0], (PP2_SUBTYPE_SSL_VERSION, b"TLSv1.3".to_vec()));
    }

    #[test]
    fn v2_mixed_families_use_v6() {
        let src: SocketAddr = "[2001:db8::1]:1".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let h = encode_v2(Some((src, dst)), None).unwrap();
        assert_eq!(h[13], 0x21);
    }

    fn info_with_cn(cn_len: usize) -> TlsInfo {
        TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_128_GCM_SHA256".into(),
            alpn: None,
            sni: None,
            client_cn: Some("c".repeat(cn_len)),
        }
    }

    #[test]
    fn v2_overlong_tlvs_are_errors_not_wrapped_lengths() {
        // The SSL TLV's value: client flag and verify (5), the version and
        // cipher sub-TLVs (3 + 7, 3 + 22), the CN sub-TLV (3 + n): 43 + n.
        // With an IPv4 address block (12) and the SSL TLV's own header (3),
        // n = 65477 makes the body exactly 65535 bytes: the most that fits.
        let h = encode_v2(Some(addrs()), Some(&info_with_cn(65_477))).unwrap();
        assert_eq!(u16::from_be_bytes([h[14], h[15]]), u16::MAX);
        assert_eq!(h.len(), 16 + 65_535);
        // One byte more: the body no longer fits its length field.
        let e = encode_v2(Some(addrs()), Some(&info_with_cn(65_478))).unwrap_err();
        assert!(e.contains("PROXY v2 header too long: 65536 bytes"), "{e}");
        // The SSL TLV's value itself too long (but each sub-TLV fits).
        let e = encode_v2(Some(addrs()), Some(&info_with_cn(65_500))).unwrap_err();
        assert!(e.contains("TLV 0x20 too long"), "{e}");
        // A CN longer than a sub-TLV can carry.
        let e = encode_v2(None, Some(&info_with_cn(70_000))).unwrap_err();
        assert!(e.contains("TLV 0x22 too long: 70000 bytes"), "{e}");
    }
}
