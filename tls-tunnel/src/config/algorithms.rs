//! Protocol versions, cipher suites and key-exchange groups of a service,
//! and the names they are written with (OpenSSL's spelling, as stunnel.conf
//! uses it).
//!
//! tls-core speaks TLS 1.3 and TLS 1.2 with ECDHE and AEAD suites only, over
//! X25519, P-256 and P-384, and in TLS 1.3 also the post-quantum hybrids
//! X25519MLKEM768 (first by default), SecP256r1MLKEM768 and
//! SecP384r1MLKEM1024; a name for anything else is an error naming it.

use tls_core::config::{
    DEFAULT_CIPHER_SUITES, DEFAULT_GROUPS, DEFAULT_TLS12_CIPHER_SUITES, DEFAULT_VERSIONS,
};
use tls_core::{CipherSuite, NamedGroup, ProtocolVersion};

/// What a service offers (client mode) or accepts (server mode). The server's
/// order of preference wins for suites and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithms {
    /// Protocol versions, TLS 1.3 first; never empty.
    pub versions: Vec<ProtocolVersion>,
    /// TLS 1.3 cipher suites, most preferred first; empty only when TLS 1.3
    /// is not in `versions`.
    pub tls13_suites: Vec<CipherSuite>,
    /// TLS 1.2 cipher suites, most preferred first; empty only when TLS 1.2
    /// is not in `versions`.
    pub tls12_suites: Vec<CipherSuite>,
    /// Key-exchange groups, most preferred first; never empty.
    pub groups: Vec<NamedGroup>,
    /// Let TLS 1.2 peers without the extended master secret (RFC 7627)
    /// connect. Off by default: without it a TLS 1.2 session can be
    /// synchronised with another one by a man in the middle (the triple
    /// handshake attack).
    pub allow_no_ems: bool,
    /// OpenSSL's security level (stunnel's securityLevel): 2 and below are
    /// our fixed policy; 3 and 4 ask for 128 and 192 bits of security of
    /// keys, signatures, groups and ciphers (see `crate::seclevel`).
    pub security_level: u8,
}

impl Default for Algorithms {
    fn default() -> Self {
        Algorithms {
            versions: DEFAULT_VERSIONS.to_vec(),
            tls13_suites: DEFAULT_CIPHER_SUITES.to_vec(),
            tls12_suites: DEFAULT_TLS12_CIPHER_SUITES.to_vec(),
            groups: DEFAULT_GROUPS.to_vec(),
            allow_no_ems: false,
            security_level: 2,
        }
    }
}

impl Algorithms {
    /// The suites of both versions in one list, TLS 1.3 first, as tls-core
    /// configurations take them.
    pub fn cipher_suites(&self) -> Vec<CipherSuite> {
        let mut suites = self.tls13_suites.clone();
        suites.extend_from_slice(&self.tls12_suites);
        suites
    }

    /// Checks that every enabled version has a suite and that there is a
    /// group it can use.
    pub fn check(&self) -> Result<(), String> {
        if self.versions.is_empty() {
            return Err("no protocol version left: enable TLSv1.2 or TLSv1.3".into());
        }
        for (version, suites, name) in [
            (ProtocolVersion::Tls13, &self.tls13_suites, "TLS 1.3"),
            (ProtocolVersion::Tls12, &self.tls12_suites, "TLS 1.2"),
        ] {
            if self.versions.contains(&version) && suites.is_empty() {
                return Err(format!(
                    "{name} is enabled but no {name} cipher suite is: add one or turn {name} off"
                ));
            }
        }
        if self.groups.is_empty() {
            return Err("no key-exchange group (curve) given".into());
        }
        let tls12_only = !self.versions.contains(&ProtocolVersion::Tls13);
        if tls12_only && self.groups.iter().all(|g| tls13_only(*g)) {
            return Err(
                "only TLS 1.2 is enabled and every curve given is a TLS 1.3 post-quantum \
                 hybrid: add X25519, P-256 or P-384, or enable TLS 1.3"
                    .into(),
            );
        }
        Ok(())
    }

    /// Sets the suites from names of either version (our TOML format's
    /// `cipher_suites`), each version's in the order given.
    pub fn set_suites<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), String> {
        self.tls13_suites.clear();
        self.tls12_suites.clear();
        for name in names {
            let suite = parse_suite(name)?;
            if DEFAULT_CIPHER_SUITES.contains(&suite) {
                push_new(&mut self.tls13_suites, suite);
            } else {
                push_new(&mut self.tls12_suites, suite);
            }
        }
        Ok(())
    }
}

/// TLS 1.3 suites by their OpenSSL (and RFC) names.
const TLS13_NAMES: [(&str, CipherSuite); 3] = [
    ("TLS_AES_128_GCM_SHA256", CipherSuite::Tls13Aes128GcmSha256),
    ("TLS_AES_256_GCM_SHA384", CipherSuite::Tls13Aes256GcmSha384),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::Tls13Chacha20Poly1305Sha256,
    ),
];

/// TLS 1.2 suites by their OpenSSL names.
const TLS12_NAMES: [(&str, CipherSuite); 6] = [
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::EcdheEcdsaAes128GcmSha256,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        CipherSuite::EcdheRsaAes128GcmSha256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::EcdheEcdsaAes256GcmSha384,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        CipherSuite::EcdheRsaAes256GcmSha384,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        CipherSuite::EcdheRsaChacha20Poly1305Sha256,
    ),
];

/// Groups by the names OpenSSL accepts for them.
const GROUP_NAMES: [(&str, NamedGroup); 9] = [
    ("X25519MLKEM768", NamedGroup::X25519MlKem768),
    ("SecP256r1MLKEM768", NamedGroup::Secp256r1MlKem768),
    ("SecP384r1MLKEM1024", NamedGroup::Secp384r1MlKem1024),
    ("X25519", NamedGroup::X25519),
    ("P-256", NamedGroup::Secp256r1),
    ("prime256v1", NamedGroup::Secp256r1),
    ("secp256r1", NamedGroup::Secp256r1),
    ("P-384", NamedGroup::Secp384r1),
    ("secp384r1", NamedGroup::Secp384r1),
];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

fn names<T>(table: &[(&str, T)]) -> String {
    table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// The items of an OpenSSL list (`A:B:C`; commas and spaces also separate).
fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split([':', ',', ' ', '\t']).filter(|s| !s.is_empty())
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// A protocol version as stunnel writes it, or `None` for one older than
/// TLS 1.2 (which tls-core never speaks).
pub fn parse_version(name: &str) -> Result<Option<ProtocolVersion>, String> {
    match name.to_ascii_lowercase().as_str() {
        "tlsv1.3" => Ok(Some(ProtocolVersion::Tls13)),
        "tlsv1.2" => Ok(Some(ProtocolVersion::Tls12)),
        "tlsv1.1" | "tlsv1" | "tlsv1.0" | "sslv3" | "sslv2" => Ok(None),
        _ => Err(format!(
            "unknown protocol version {name:?} (expected TLSv1.2 or TLSv1.3)"
        )),
    }
}

/// A TLS 1.3 suite list (`ciphersuites`), in order.
pub fn parse_tls13_suites(list: &str) -> Result<Vec<CipherSuite>, String> {
    let mut suites = Vec::new();
    for name in items(list) {
        let suite = lookup(&TLS13_NAMES, name).ok_or_else(|| {
            format!(
                "TLS 1.3 cipher suite {name:?} is not supported (supported: {})",
                names(&TLS13_NAMES)
            )
        })?;
        push_new(&mut suites, suite);
    }
    if suites.is_empty() {
        return Err(format!(
            "names no TLS 1.3 cipher suite (supported: {}; to turn TLS 1.3 off use \
             sslVersionMax = TLSv1.2)",
            names(&TLS13_NAMES)
        ));
    }
    Ok(suites)
}

/// A TLS 1.2 OpenSSL cipher list (`ciphers`), in OpenSSL's cipher-string
/// language evaluated over our suites (see [`super::cipher_string`]).
pub fn parse_tls12_suites(list: &str) -> Result<Vec<CipherSuite>, String> {
    let suites = super::cipher_string::evaluate(list, &TLS12_NAMES)?;
    if suites.is_empty() {
        return Err(format!(
            "names no TLS 1.2 cipher suite tls-tunnel has (it has {}; to turn TLS 1.2 off \
             use sslVersionMin = TLSv1.3)",
            names(&TLS12_NAMES)
        ));
    }
    Ok(suites)
}

/// A group list (`curves`), in order.
pub fn parse_groups(list: &str) -> Result<Vec<NamedGroup>, String> {
    let mut groups = Vec::new();
    for name in items(list) {
        push_new(&mut groups, parse_group(name)?);
    }
    if groups.is_empty() {
        return Err(format!("names no curve (supported: {SUPPORTED_GROUPS})"));
    }
    Ok(groups)
}

/// The groups we have, for error messages.
const SUPPORTED_GROUPS: &str =
    "X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, X25519, P-256, P-384";

/// One group (curve) by its OpenSSL name, in any case: X25519MLKEM768,
/// SecP256r1MLKEM768, SecP384r1MLKEM1024 (TLS 1.3 only), X25519, P-256
/// (prime256v1, secp256r1) or P-384 (secp384r1).
pub fn parse_group(name: &str) -> Result<NamedGroup, String> {
    lookup(&GROUP_NAMES, name)
        .ok_or_else(|| format!("curve {name:?} is not supported (supported: {SUPPORTED_GROUPS})"))
}

/// True for the post-quantum hybrid groups, which only TLS 1.3 uses.
pub fn tls13_only(group: NamedGroup) -> bool {
    matches!(
        group,
        NamedGroup::X25519MlKem768 | NamedGroup::Secp256r1MlKem768 | NamedGroup::Secp384r1MlKem1024
    )
}

/// One cipher suite of either version, by its OpenSSL name.
pub fn parse_suite(name: &str) -> Result<CipherSuite, String> {
    lookup(&TLS13_NAMES, name)
        .or_else(|| lookup(&TLS12_NAMES, name))
        .ok_or_else(|| {
            format!(
                "cipher suite {name:?} is not supported (supported: {}, {})",
                names(&TLS13_NAMES),
                names(&TLS12_NAMES)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_lists_keep_their_order() {
        assert_eq!(
            parse_tls13_suites("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256").unwrap(),
            [
                CipherSuite::Tls13Chacha20Poly1305Sha256,
                CipherSuite::Tls13Aes128GcmSha256
            ]
        );
        assert_eq!(
            parse_tls12_suites(
                "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL:!MD5"
            )
            .unwrap(),
            [
                CipherSuite::EcdheRsaAes256GcmSha384,
                CipherSuite::EcdheEcdsaAes128GcmSha256
            ]
        );
        assert_eq!(
            parse_tls12_suites("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:!ECDHE-RSA-AES256-GCM-SHA384")
                .unwrap(),
            [CipherSuite::EcdheRsaChacha20Poly1305Sha256]
        );
        assert_eq!(
            parse_groups("P-384:x25519:prime256v1").unwrap(),
            [
                NamedGroup::Secp384r1,
                NamedGroup::X25519,
                NamedGroup::Secp256r1
            ]
        );
        // OpenSSL 3.5's names for the hybrids, in any case.
        assert_eq!(
            parse_groups("X25519MLKEM768:secp256r1mlkem768:SECP384R1MLKEM1024:X25519").unwrap(),
            [
                NamedGroup::X25519MlKem768,
                NamedGroup::Secp256r1MlKem768,
                NamedGroup::Secp384r1MlKem1024,
                NamedGroup::X25519
            ]
        );
    }

    #[test]
    fn the_default_groups_put_x25519mlkem768_first() {
        assert_eq!(
            Algorithms::default().groups,
            [
                NamedGroup::X25519MlKem768,
                NamedGroup::X25519,
                NamedGroup::Secp256r1,
                NamedGroup::Secp384r1
            ]
        );
    }

    #[test]
    fn tls12_alone_needs_a_classical_group() {
        let mut a = Algorithms {
            versions: vec![ProtocolVersion::Tls12],
            groups: vec![NamedGroup::X25519MlKem768],
            ..Algorithms::default()
        };
        let e = a.check().unwrap_err();
        assert!(e.contains("TLS 1.3 post-quantum hybrid"), "{e}");
        a.groups.push(NamedGroup::Secp256r1);
        assert_eq!(a.check(), Ok(()));
        a.versions = DEFAULT_VERSIONS.to_vec();
        a.groups = vec![NamedGroup::X25519MlKem768];
        assert_eq!(a.check(), Ok(()));
    }

    #[test]
    fn openssl_cipher_strings() {
        use CipherSuite as C;
        let all = DEFAULT_TLS12_CIPHER_SUITES.to_vec();
        assert_eq!(parse_tls12_suites("HIGH:!aNULL:!MD5").unwrap(), all);
        // stunnel's own default.
        assert_eq!(
            parse_tls12_suites("HIGH:!aNULL:!SSLv2:!DH:!kDHEPSK").unwrap(),
            all
        );
        assert_eq!(
            parse_tls12_suites("ECDHE+AESGCM:!aRSA").unwrap(),
            [C::EcdheEcdsaAes128GcmSha256, C::EcdheEcdsaAes256GcmSha384]
        );
        assert_eq!(
            parse_tls12_suites("EECDH+CHACHA20:EECDH+AES256:-aECDSA").unwrap(),
            [
                C::EcdheRsaChacha20Poly1305Sha256,
                C::EcdheRsaAes256GcmSha384
            ]
        );
        assert_eq!(
            parse_tls12_suites("AES128:CHACHA20:@STRENGTH").unwrap(),
            [
                C::EcdheEcdsaChacha20Poly1305Sha256,
                C::EcdheRsaChacha20Poly1305Sha256,
                C::EcdheEcdsaAes128GcmSha256,
                C::EcdheRsaAes128GcmSha256
            ]
        );
        // `!` is for good, `-` not; `+X` moves to the end.
        assert_eq!(
            parse_tls12_suites("!AES256:HIGH:+CHACHA20:-aRSA").unwrap(),
            [
                C::EcdheEcdsaAes128GcmSha256,
                C::EcdheEcdsaChacha20Poly1305Sha256
            ]
        );
        let e = parse_tls12_suites("MEDIUM:RC4").unwrap_err();
        assert!(e.contains("names no TLS 1.2 cipher suite"), "{e}");
    }

    #[test]
    fn bad_names_are_named() {
        let e = parse_tls13_suites("TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256").unwrap_err();
        assert!(
            e.contains("\"TLS_AES_128_CCM_SHA256\" is not supported"),
            "{e}"
        );
        let e = parse_tls12_suites("HIGHEST:!aNULL").unwrap_err();
        assert!(
            e.contains("\"HIGHEST\" is not an OpenSSL cipher keyword"),
            "{e}"
        );
        let e = parse_tls12_suites("DHE-RSA-AES128-GCM-SHA256").unwrap_err();
        assert!(
            e.contains("\"DHE-RSA-AES128-GCM-SHA256\" is not supported"),
            "{e}"
        );
        let e = parse_tls12_suites("!aNULL").unwrap_err();
        assert!(e.contains("names no TLS 1.2 cipher suite"), "{e}");
        let e = parse_groups("X25519:X448").unwrap_err();
        assert!(e.contains("curve \"X448\" is not supported"), "{e}");
        let e = parse_version("TLSv2").unwrap_err();
        assert!(e.contains("\"TLSv2\""), "{e}");
        assert_eq!(parse_version("TLSv1.1"), Ok(None));
    }
}
