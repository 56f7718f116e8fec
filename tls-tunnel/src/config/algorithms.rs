//! Protocol versions, cipher suites and key-exchange groups of a service,
//! and the names they are written with (OpenSSL's spelling, as stunnel.conf
//! uses it).
//!
//! tls-core speaks TLS 1.3 and TLS 1.2 with ECDHE and AEAD suites only, over
//! X25519, P-256 and P-384, and in TLS 1.3 also the post-quantum hybrids
//! X25519MLKEM768 (first by default), SecP256r1MLKEM768 and
//! SecP384r1MLKEM1024; a name for anything else is an error naming it.
//!
//! Group lists (`curves`, `groups`) take OpenSSL 3.5's syntax
//! ([`parse_group_list`]): `?NAME` skips a group we lack, `*NAME` asks for a
//! key share, `/` separates tuples of groups of equal preference, `-NAME`
//! removes a group and `DEFAULT` stands for our default list.

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
    /// As a client, when the first group is a post-quantum hybrid, send a
    /// key share for the first classical group too (tls-core's
    /// `ClientConfig::classical_share_with_hybrid`). On unless a group list
    /// with `*` marks no classical group.
    pub classical_share_with_hybrid: bool,
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
            classical_share_with_hybrid: true,
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

    /// Takes the groups of a parsed group list, and its key-share choice
    /// if it made one.
    pub fn set_groups(&mut self, list: &GroupList) {
        self.groups = list.groups.clone();
        if let Some(classical) = list.classical_share {
            self.classical_share_with_hybrid = classical;
        }
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
pub(super) const TLS12_NAMES: [(&str, CipherSuite); 6] = [
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

/// Groups by the names OpenSSL accepts for them (matched in any case); the
/// hybrids are TLS 1.3 only.
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

/// A group list in OpenSSL 3.5's syntax, resolved to our groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupList {
    /// Our groups, most preferred first (tuples flattened); never empty.
    pub groups: Vec<NamedGroup>,
    /// Whether a client sends the first classical group's key share
    /// alongside a hybrid first group: `Some` when the list marks groups
    /// with `*` (true if one of them is classical), `None` otherwise
    /// (tls-core's default: it does).
    pub classical_share: Option<bool>,
    /// Names the caller's `lacking` recognised, left out (without `?`).
    pub left_out: Vec<String>,
}

/// A group list (`curves`, `groups`) in OpenSSL 3.5's syntax
/// (SSL_CTX_set1_groups_list): names separated by `:` (also `,` and
/// spaces), tuples of equal preference separated by `/`, each name with
/// any of these prefixes:
///
/// - `?`: a name we do not know is skipped instead of refused;
/// - `*`: a client sends a key share for this group. tls-core sends one
///   for the first group, and when that is a hybrid, one for the first
///   classical group too: `*` on a classical group keeps that second share,
///   a list whose `*` marks only hybrids drops it. Other placements cannot
///   be expressed: the first group always gets the share;
/// - `-`: the group is removed from the list built so far.
///
/// `DEFAULT` stands for our default list. The tuples are flattened: as
/// OpenSSL's client does, ours offers the groups in the order written; our
/// server takes any key share the client sent, in the list's order, and
/// asks for another (HelloRetryRequest) only when none is usable, as if
/// the whole list were one tuple (OpenSSL's server asks for a preferred
/// tuple's group; ours saves the round trip, see tls-core's server).
///
/// A name that `lacking` recognises (OpenSSL has it, tls-core does not) is
/// left out and listed in [`GroupList::left_out`], unless it has `?`; any
/// other unknown name without `?` is an error naming it.
pub fn parse_group_list(list: &str, lacking: impl Fn(&str) -> bool) -> Result<GroupList, String> {
    let mut groups = Vec::new();
    let mut starred = Vec::new();
    let mut left_out = Vec::new();
    for item in list
        .split([':', ',', ' ', '\t', '/'])
        .filter(|s| !s.is_empty())
    {
        let name = item.trim_start_matches(['*', '?', '-']);
        let prefixes = &item[..item.len() - name.len()];
        let (share, optional, remove) = (
            prefixes.contains('*'),
            prefixes.contains('?'),
            prefixes.contains('-'),
        );
        if name.is_empty() {
            return Err(format!("{item:?} has no group name after its prefix"));
        }
        if share && remove {
            return Err(format!(
                "{item:?}: a group cannot be both given a key share (*) and removed (-)"
            ));
        }
        let named: Vec<NamedGroup> = if name.eq_ignore_ascii_case("DEFAULT") {
            DEFAULT_GROUPS.to_vec()
        } else if let Some(group) = lookup(&GROUP_NAMES, name) {
            vec![group]
        } else if optional {
            continue;
        } else if lacking(name) {
            if !remove {
                left_out.push(name.to_string());
            }
            continue;
        } else {
            return Err(format!(
                "curve {name:?} is not supported (supported: {SUPPORTED_GROUPS}; \
                 write ?{name} to skip it)"
            ));
        };
        if remove {
            groups.retain(|g| !named.contains(g));
            starred.retain(|g| !named.contains(g));
            continue;
        }
        if share {
            // `*DEFAULT` shares the default list's first group.
            starred.extend(named.first().copied());
        }
        for g in named {
            push_new(&mut groups, g);
        }
    }
    if groups.is_empty() {
        return Err(format!("names no curve (supported: {SUPPORTED_GROUPS})"));
    }
    let classical_share = (!starred.is_empty()).then(|| starred.iter().any(|g| !tls13_only(*g)));
    Ok(GroupList {
        groups,
        classical_share,
        left_out,
    })
}

/// The groups we have, for error messages.
const SUPPORTED_GROUPS: &str =
    "X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, X25519, P-256, P-384";

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

    /// A group list of names we know, as the TOML front end parses it.
    fn groups_of(list: &str) -> Result<Vec<NamedGroup>, String> {
        Ok(parse_group_list(list, |_| false)?.groups)
    }

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
            groups_of("P-384:x25519:prime256v1").unwrap(),
            [
                NamedGroup::Secp384r1,
                NamedGroup::X25519,
                NamedGroup::Secp256r1
            ]
        );
        // OpenSSL 3.5's names for the hybrids, in any case.
        assert_eq!(
            groups_of("X25519MLKEM768:secp256r1mlkem768:SECP384R1MLKEM1024:X25519").unwrap(),
            [
                NamedGroup::X25519MlKem768,
                NamedGroup::Secp256r1MlKem768,
                NamedGroup::Secp384r1MlKem1024,
                NamedGroup::X25519
            ]
        );
    }

    #[test]
    fn openssl_35_group_list_syntax() {
        use NamedGroup as G;
        let none = |_: &str| false;
        // `/` separates tuples; they are flattened in order. `*` on a
        // hybrid and a classical group: both shares (tls-core's default).
        let l = parse_group_list("*X25519MLKEM768/*X25519:P-256/P-384", none).unwrap();
        assert_eq!(
            l.groups,
            [G::X25519MlKem768, G::X25519, G::Secp256r1, G::Secp384r1]
        );
        assert_eq!(l.classical_share, Some(true));
        // `*` on the hybrid alone: its share goes alone.
        let l = parse_group_list("*X25519MLKEM768/X25519", none).unwrap();
        assert_eq!(l.groups, [G::X25519MlKem768, G::X25519]);
        assert_eq!(l.classical_share, Some(false));
        let mut a = Algorithms::default();
        a.set_groups(&l);
        assert_eq!(a.groups, [G::X25519MlKem768, G::X25519]);
        assert!(!a.classical_share_with_hybrid);
        // No `*`: the default choice stands.
        let l = parse_group_list("X25519MLKEM768:X25519", none).unwrap();
        assert_eq!(l.classical_share, None);
        let mut a = Algorithms::default();
        a.set_groups(&l);
        assert!(a.classical_share_with_hybrid);
        // `?` skips a name nobody knows, in either prefix order with `*`.
        let l = parse_group_list("?brainpoolP256r1tls13:?*X448:*?X25519:secp384r1", none).unwrap();
        assert_eq!(l.groups, [G::X25519, G::Secp384r1]);
        assert_eq!(l.classical_share, Some(true));
        assert!(l.left_out.is_empty());
        // A name the caller knows we lack is left out and reported, unless `?`.
        let lacking = |n: &str| n.eq_ignore_ascii_case("X448");
        let l = parse_group_list("X448:X25519/?x448", lacking).unwrap();
        assert_eq!(l.groups, [G::X25519]);
        assert_eq!(l.left_out, ["X448"]);
        // DEFAULT and `-`: OpenSSL 3.5's way to edit the default list.
        let l = parse_group_list("DEFAULT:-P-384:-?X448", none).unwrap();
        assert_eq!(l.groups, [G::X25519MlKem768, G::X25519, G::Secp256r1]);
        let l = parse_group_list("*DEFAULT", none).unwrap();
        assert_eq!(l.groups, DEFAULT_GROUPS);
        assert_eq!(l.classical_share, Some(false));
        let l = parse_group_list("*X25519:*P-256:-X25519", none).unwrap();
        assert_eq!(l.groups, [G::Secp256r1]);
        assert_eq!(l.classical_share, Some(true));
        // Refused, naming the item.
        let e = parse_group_list("X25519:X448", none).unwrap_err();
        assert!(
            e.contains("curve \"X448\" is not supported") && e.contains("?X448"),
            "{e}"
        );
        let e = parse_group_list("*X25519:*", none).unwrap_err();
        assert!(e.contains("\"*\" has no group name"), "{e}");
        let e = parse_group_list("*-X25519", none).unwrap_err();
        assert!(
            e.contains("both given a key share (*) and removed (-)"),
            "{e}"
        );
        let e = parse_group_list("?X448/?P-521", none).unwrap_err();
        assert!(e.contains("names no curve"), "{e}");
        let e = parse_group_list("X25519:-X25519", none).unwrap_err();
        assert!(e.contains("names no curve"), "{e}");
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
        let e = groups_of("X25519:X448").unwrap_err();
        assert!(e.contains("curve \"X448\" is not supported"), "{e}");
        let e = parse_version("TLSv2").unwrap_err();
        assert!(e.contains("\"TLSv2\""), "{e}");
        assert_eq!(parse_version("TLSv1.1"), Ok(None));
    }
}
