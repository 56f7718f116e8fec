//! OpenSSL's cipher-string language for the TLS 1.2 `ciphers` option, as
//! stunnel.conf files use it (`HIGH:!aNULL:!MD5`, `ECDHE+AESGCM`,
//! `@STRENGTH`), evaluated over the suites tls-core has: ECDHE with AES-GCM
//! or ChaCha20-Poly1305. A keyword selects those of our suites it would
//! select in OpenSSL (`HIGH` all six, `MEDIUM` none); a suite named
//! explicitly that we do not have is an error, as is an unknown keyword.

use tls_core::config::DEFAULT_TLS12_CIPHER_SUITES;
use tls_core::CipherSuite;

/// What keywords look at in one of our suites.
struct Traits {
    ecdsa: bool,
    aes: bool,
    bits: u16,
}

fn traits(s: CipherSuite) -> Traits {
    use CipherSuite as C;
    let ecdsa = matches!(
        s,
        C::EcdheEcdsaAes128GcmSha256
            | C::EcdheEcdsaAes256GcmSha384
            | C::EcdheEcdsaChacha20Poly1305Sha256
    );
    let aes = !matches!(
        s,
        C::EcdheEcdsaChacha20Poly1305Sha256 | C::EcdheRsaChacha20Poly1305Sha256
    );
    let sha384 = matches!(s, C::EcdheEcdsaAes256GcmSha384 | C::EcdheRsaAes256GcmSha384);
    let bits = if aes && !sha384 { 128 } else { 256 };
    Traits { ecdsa, aes, bits }
}

/// Whether a keyword selects a suite.
type Selects = fn(&Traits) -> bool;

/// Keywords and which of our suites they select.
const KEYWORDS: [(&str, Selects); 22] = [
    ("ALL", |_| true),
    ("DEFAULT", |_| true),
    ("HIGH", |_| true),
    ("TLSv1.2", |_| true),
    ("ECDHE", |_| true),
    ("ECDH", |_| true),
    ("EECDH", |_| true),
    ("kECDHE", |_| true),
    ("kEECDH", |_| true),
    ("aRSA", |t| !t.ecdsa),
    ("aECDSA", |t| t.ecdsa),
    ("ECDSA", |t| t.ecdsa),
    ("AES", |t| t.aes),
    ("AESGCM", |t| t.aes),
    ("FIPS", |t| t.aes),
    ("AES128", |t| t.aes && t.bits == 128),
    ("AES256", |t| t.aes && t.bits == 256),
    ("CHACHA20", |t| !t.aes),
    ("SUITEB128", |t| t.ecdsa && t.aes),
    ("SUITEB128C2", |t| t.ecdsa && t.aes && t.bits == 256),
    ("SUITEB128ONLY", |t| t.ecdsa && t.aes && t.bits == 128),
    ("SUITEB192", |t| t.ecdsa && t.aes && t.bits == 256),
];

/// OpenSSL keywords that select none of our suites: legacy or weak
/// algorithms, other key exchanges, older protocol versions. `SHA256` and
/// `SHA384` name a suite's MAC, which for ours is the AEAD itself; `AEAD`
/// selects nothing in OpenSSL 3.0 (stunnel's in Debian).
const NONE_OF_OURS: [&str; 64] = [
    "AEAD",
    "SHA256",
    "SHA384",
    "MEDIUM",
    "LOW",
    "EXPORT",
    "EXP",
    "eNULL",
    "NULL",
    "aNULL",
    "COMPLEMENTOFDEFAULT",
    "COMPLEMENTOFALL",
    "kRSA",
    "RSA",
    "kDHE",
    "kEDH",
    "DH",
    "DHE",
    "EDH",
    "ADH",
    "AECDH",
    "kDHr",
    "kDHd",
    "kDH",
    "aDSS",
    "DSS",
    "aDH",
    "aECDH",
    "kECDHr",
    "kECDHe",
    "kECDH",
    "3DES",
    "DES",
    "RC4",
    "RC2",
    "IDEA",
    "SEED",
    "MD5",
    "SHA1",
    "SHA",
    "CAMELLIA",
    "CAMELLIA128",
    "CAMELLIA256",
    "ARIA",
    "ARIA128",
    "ARIA256",
    "PSK",
    "kPSK",
    "kECDHEPSK",
    "kDHEPSK",
    "kRSAPSK",
    "aPSK",
    "SRP",
    "kSRP",
    "aSRP",
    "kGOST",
    "aGOST",
    "aGOST01",
    "CCM",
    "AESCCM",
    "AESCCM8",
    "TLSv1",
    "TLSv1.0",
    "SSLv3",
];

/// The suites of ours one term selects, in tls-core's order of preference.
fn select(term: &str, names: &[(&str, CipherSuite)]) -> Result<Vec<CipherSuite>, String> {
    if let Some((_, s)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(term)) {
        return Ok(vec![*s]);
    }
    if let Some((_, pick)) = KEYWORDS.iter().find(|(k, _)| *k == term) {
        return Ok(DEFAULT_TLS12_CIPHER_SUITES
            .into_iter()
            .filter(|s| pick(&traits(*s)))
            .collect());
    }
    if NONE_OF_OURS.contains(&term) || term == "SSLv2" {
        return Ok(Vec::new());
    }
    let ours = names.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    Err(if term.contains('-') {
        format!("TLS 1.2 cipher {term:?} is not supported (tls-tunnel has {ours})")
    } else {
        format!("{term:?} is not an OpenSSL cipher keyword tls-tunnel knows (suites: {ours})")
    })
}

/// Evaluates an OpenSSL cipher list over our TLS 1.2 suites: items joined
/// by `:` (or `,`, space), `A+B` for suites in both, `!X` removes for good,
/// `-X` removes (it may come back), `+X` moves to the end, `@STRENGTH` sorts
/// by key size, `@SECLEVEL=n` is ignored (see securityLevel).
pub fn evaluate(list: &str, names: &[(&str, CipherSuite)]) -> Result<Vec<CipherSuite>, String> {
    let mut suites: Vec<CipherSuite> = Vec::new();
    let mut banned: Vec<CipherSuite> = Vec::new();
    for item in list.split([':', ',', ' ', '\t']).filter(|s| !s.is_empty()) {
        if item == "@STRENGTH" {
            suites.sort_by_key(|s| std::cmp::Reverse(traits(*s).bits));
            continue;
        }
        if item.starts_with("@SECLEVEL=") {
            continue;
        }
        let (op, body) = match item.chars().next() {
            Some(c @ ('!' | '-' | '+')) => (Some(c), item.get(1..).unwrap_or("")),
            _ => (None, item),
        };
        let mut set: Option<Vec<CipherSuite>> = None;
        for term in body.split('+').filter(|t| !t.is_empty()) {
            let picked = select(term, names)?;
            set = Some(match set {
                None => picked,
                Some(prev) => prev.into_iter().filter(|s| picked.contains(s)).collect(),
            });
        }
        let set = set.ok_or_else(|| format!("empty item {item:?} in the cipher list"))?;
        match op {
            Some('!') => {
                suites.retain(|s| !set.contains(s));
                banned.extend(set);
            }
            Some('-') => suites.retain(|s| !set.contains(s)),
            Some(_) => {
                let (moved, kept): (Vec<_>, Vec<_>) = suites.iter().partition(|s| set.contains(s));
                suites = kept.into_iter().chain(moved).collect();
            }
            None => {
                for s in set {
                    if !banned.contains(&s) && !suites.contains(&s) {
                        suites.push(s);
                    }
                }
            }
        }
    }
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every keyword selects, among our six suites, what `openssl ciphers`
    /// selects (the OpenSSL stunnel links: the oracle).
    #[test]
    fn keywords_select_what_openssl_selects() {
        let names = super::super::algorithms::TLS12_NAMES;
        let terms = KEYWORDS.iter().map(|(k, _)| *k).chain(NONE_OF_OURS);
        let mut differ = Vec::new();
        for term in terms {
            let out = std::process::Command::new("openssl")
                .args(["ciphers", "-v", "-tls1_2", term])
                .output()
                .expect("openssl (Debian package openssl) runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let theirs: Vec<CipherSuite> = text
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter_map(|n| names.iter().find(|(name, _)| *name == n).map(|(_, s)| *s))
                .collect();
            let mut ours = select(term, &names).expect("a known keyword");
            let mut theirs_sorted = theirs;
            let rank = |s: &CipherSuite| names.iter().position(|(_, n)| n == s);
            ours.sort_by_key(rank);
            theirs_sorted.sort_by_key(rank);
            if ours != theirs_sorted {
                differ.push(format!("{term}: ours {ours:?}, OpenSSL {theirs_sorted:?}"));
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }
}
