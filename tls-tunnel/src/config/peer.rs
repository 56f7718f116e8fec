//! Peer-certificate rules that go beyond chain validation, as ghostunnel
//! writes them: names a certificate must carry (CN, OU, DNS SAN, URI SAN
//! with `*` and `**` wildcards) and SPKI pins (RFC 7469, section 2.4).

use std::fmt;

use super::{Access, ClientRole, ServerVerify};

/// A hash algorithm of an SPKI pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAlg {
    /// SHA-256, as `curl --pinnedpubkey sha256//...` takes.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl PinAlg {
    fn name(self) -> &'static str {
        match self {
            PinAlg::Sha256 => "sha256",
            PinAlg::Sha384 => "sha384",
            PinAlg::Sha512 => "sha512",
        }
    }

    fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            PinAlg::Sha256 => &ring::digest::SHA256,
            PinAlg::Sha384 => &ring::digest::SHA384,
            PinAlg::Sha512 => &ring::digest::SHA512,
        }
    }
}

/// The hash of a DER SubjectPublicKeyInfo: a certificate matches when its
/// public key hashes to it, whatever else the certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpkiPin {
    /// The hash algorithm.
    pub alg: PinAlg,
    /// The digest.
    pub digest: Vec<u8>,
}

impl SpkiPin {
    /// Parses `sha256:BASE64` (ghostunnel's form) or `sha256//BASE64`
    /// (curl's --pinnedpubkey form); sha384 and sha512 likewise.
    pub fn parse(text: &str) -> Result<SpkiPin, String> {
        let bad = |why: &str| {
            format!(
                "SPKI pin {text:?} {why} (expected sha256:BASE64, the base64 SHA-256 of the \
                 DER public key, as curl --pinnedpubkey sha256//BASE64 takes)"
            )
        };
        let (alg, b64) = text
            .split_once("//")
            .or_else(|| text.split_once(':'))
            .ok_or_else(|| bad("has no algorithm"))?;
        let alg = match alg.to_ascii_lowercase().as_str() {
            "sha256" => PinAlg::Sha256,
            "sha384" => PinAlg::Sha384,
            "sha512" => PinAlg::Sha512,
            _ => return Err(bad("names an unknown algorithm")),
        };
        let digest = base64_decode(b64.trim()).ok_or_else(|| bad("is not valid base64"))?;
        if digest.len() != alg.ring().output_len() {
            return Err(bad("has the wrong length for its algorithm"));
        }
        Ok(SpkiPin { alg, digest })
    }

    /// The pin of a DER SubjectPublicKeyInfo.
    #[cfg(test)]
    pub fn of(alg: PinAlg, spki_der: &[u8]) -> SpkiPin {
        SpkiPin {
            alg,
            digest: ring::digest::digest(alg.ring(), spki_der).as_ref().to_vec(),
        }
    }

    /// True when `spki_der` hashes to this pin.
    pub fn matches(&self, spki_der: &[u8]) -> bool {
        ring::digest::digest(self.alg.ring(), spki_der).as_ref() == self.digest.as_slice()
    }
}

impl fmt::Display for SpkiPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}//{}", self.alg.name(), base64_encode(&self.digest))
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padding optional; `None` on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
        acc &= (1 << bits) - 1;
    }
    Some(out)
}

/// Names a peer certificate must carry, any one of them: ghostunnel's
/// client-mode --verify-cn, --verify-ou, --verify-dns and --verify-uri.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameRules {
    /// Subject common names (exact).
    pub cn: Vec<String>,
    /// Subject organizational units (exact).
    pub ou: Vec<String>,
    /// DNS subject alternative names (ASCII case-insensitive).
    pub dns: Vec<String>,
    /// URI subject alternative names (`*` and `**` wildcards).
    pub uri: Vec<String>,
}

impl NameRules {
    /// True when no rule is given (any verified certificate will do).
    pub fn is_empty(&self) -> bool {
        self.cn.is_empty() && self.ou.is_empty() && self.dns.is_empty() && self.uri.is_empty()
    }
}

/// Checks how the pins and name rules of a server's client-certificate
/// checks combine.
pub fn check_server_rules(a: &Access) -> Result<(), String> {
    let others = a.allow_all || a.has_name_rule() || a.pinned || a.cacert.is_some();
    if !a.allow_spki.is_empty() && others {
        return Err(
            "allow-spki-pin admits clients by their key alone: it takes no CA file \
                    and no other allow rule"
                .into(),
        );
    }
    Ok(())
}

/// Checks how the name rules of a client's server check combine with how
/// the server is verified.
pub fn check_client_rules(client: &ClientRole) -> Result<(), String> {
    match &client.verify {
        _ if client.verify_names.is_empty() => Ok(()),
        ServerVerify::Spki(_) | ServerVerify::Insecure => Err(
            "verify-cn/-ou/-dns/-uri need the server's chain verified: not with \
             verify-spki-pin or verify = insecure"
                .into(),
        ),
        ServerVerify::Chain(_) | ServerVerify::Pinned(_) => Ok(()),
    }
}

/// ghostunnel's URI wildcards: `**` matches any run of characters, `*` any
/// run without a `/`; everything else matches itself.
pub fn uri_matches(pattern: &str, uri: &str) -> bool {
    match pattern.find('*') {
        None => pattern == uri,
        Some(i) => {
            let (literal, rest) = pattern.split_at(i);
            let Some(uri) = uri.strip_prefix(literal) else {
                return false;
            };
            let (deep, rest) = match rest.strip_prefix("**") {
                Some(r) => (true, r),
                None => (false, rest.get(1..).unwrap_or("")),
            };
            // Try every length the wildcard can take, shortest first.
            let mut end = 0;
            loop {
                if uri_matches(rest, uri.get(end..).unwrap_or("")) {
                    return true;
                }
                match uri.get(end..).and_then(|s| s.chars().next()) {
                    Some('/') if !deep => return false,
                    Some(c) => end += c.len_utf8(),
                    None => return false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_in_both_forms() {
        let spki = b"some public key";
        let pin = SpkiPin::of(PinAlg::Sha256, spki);
        let curl = pin.to_string();
        assert!(curl.starts_with("sha256//"), "{curl}");
        assert_eq!(SpkiPin::parse(&curl).unwrap(), pin);
        let ghost = curl.replacen("//", ":", 1);
        assert_eq!(SpkiPin::parse(&ghost).unwrap(), pin);
        assert!(SpkiPin::parse(&ghost).unwrap().matches(spki));
        assert!(!pin.matches(b"another key"));
        let p512 = SpkiPin::of(PinAlg::Sha512, spki).to_string();
        assert!(SpkiPin::parse(&p512).unwrap().matches(spki));
        for bad in [
            "sha256",
            "md5:AAAA",
            "sha256:@@@@",
            "sha256:AAAA",
            &p512.replace("sha512", "sha256"),
        ] {
            assert!(SpkiPin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn uri_wildcards() {
        assert!(uri_matches("spiffe://a/b", "spiffe://a/b"));
        assert!(!uri_matches("spiffe://a/b", "spiffe://a/bc"));
        assert!(uri_matches("spiffe://a/*", "spiffe://a/client1"));
        assert!(!uri_matches("spiffe://a/*", "spiffe://a/ns/client1"));
        assert!(uri_matches("spiffe://a/**", "spiffe://a/ns/client1"));
        assert!(uri_matches("spiffe://a/*/sa/*", "spiffe://a/prod/sa/x"));
        assert!(!uri_matches("spiffe://b/*", "spiffe://a/x"));
        assert!(uri_matches("spiffe://a/x*", "spiffe://a/x"));
    }
}
