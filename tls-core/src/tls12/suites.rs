//! The TLS 1.2 cipher suites we implement: ECDHE key exchange with an AEAD
//! (RFC 5289, RFC 7905), and which certificate key each lets the server
//! sign with. Version negotiation (`crate::versions`) and both sides' hello
//! processing pick from this table.

use crate::crypto::{AeadAlg, HashAlg, SpkiAlg};
use crate::msgs::enums::{CipherSuite, NamedGroup};

/// Which certificate key a TLS 1.2 suite's server signs its key exchange with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SuiteAuth {
    /// ECDHE_ECDSA: an ECDSA or Ed25519 key (RFC 8422).
    Ecdsa,
    /// ECDHE_RSA: an RSA key.
    Rsa,
}

impl SuiteAuth {
    /// True when a certificate key of type `key` can authenticate this suite.
    pub(crate) fn accepts(self, key: SpkiAlg) -> bool {
        matches!(
            (self, key),
            (
                SuiteAuth::Ecdsa,
                SpkiAlg::EcdsaP256 | SpkiAlg::EcdsaP384 | SpkiAlg::Ed25519
            ) | (SuiteAuth::Rsa, SpkiAlg::Rsa)
        )
    }
}

/// A TLS 1.2 cipher suite: ECDHE key exchange, an AEAD, the PRF hash.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tls12Suite {
    /// The wire value.
    pub suite: CipherSuite,
    /// The PRF and transcript hash.
    pub hash: HashAlg,
    /// The record protection.
    pub aead: AeadAlg,
    /// How the server authenticates.
    pub auth: SuiteAuth,
}

macro_rules! suite12 {
    ($(#[$doc:meta])* $name:ident, $cs:ident, $hash:ident, $aead:ident, $auth:ident) => {
        $(#[$doc])*
        pub(crate) static $name: Tls12Suite = Tls12Suite {
            suite: CipherSuite::$cs,
            hash: HashAlg::$hash,
            aead: AeadAlg::$aead,
            auth: SuiteAuth::$auth,
        };
    };
}

suite12!(
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    TLS12_ECDHE_ECDSA_AES128_GCM, EcdheEcdsaAes128GcmSha256, Sha256, Aes128Gcm, Ecdsa
);
suite12!(
    /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    TLS12_ECDHE_ECDSA_AES256_GCM, EcdheEcdsaAes256GcmSha384, Sha384, Aes256Gcm, Ecdsa
);
suite12!(
    /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    TLS12_ECDHE_ECDSA_CHACHA20, EcdheEcdsaChacha20Poly1305Sha256, Sha256, Chacha20Poly1305, Ecdsa
);
suite12!(
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    TLS12_ECDHE_RSA_AES128_GCM, EcdheRsaAes128GcmSha256, Sha256, Aes128Gcm, Rsa
);
suite12!(
    /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    TLS12_ECDHE_RSA_AES256_GCM, EcdheRsaAes256GcmSha384, Sha384, Aes256Gcm, Rsa
);
suite12!(
    /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    TLS12_ECDHE_RSA_CHACHA20, EcdheRsaChacha20Poly1305Sha256, Sha256, Chacha20Poly1305, Rsa
);

/// Every TLS 1.2 suite, in our order of preference.
pub(crate) static ALL_TLS12_SUITES: &[&Tls12Suite] = &[
    &TLS12_ECDHE_ECDSA_AES128_GCM,
    &TLS12_ECDHE_ECDSA_AES256_GCM,
    &TLS12_ECDHE_ECDSA_CHACHA20,
    &TLS12_ECDHE_RSA_AES128_GCM,
    &TLS12_ECDHE_RSA_AES256_GCM,
    &TLS12_ECDHE_RSA_CHACHA20,
];

/// The suite for a wire value, if it is a TLS 1.2 suite we implement.
pub(crate) fn tls12_suite(cs: CipherSuite) -> Option<&'static Tls12Suite> {
    ALL_TLS12_SUITES.iter().copied().find(|s| s.suite == cs)
}

/// The curve of an ECDSA key, which in TLS 1.2 must be one of the client's
/// supported_groups (RFC 8422 §5.3); `None` for other keys.
pub(crate) fn ecdsa_curve(alg: SpkiAlg) -> Option<NamedGroup> {
    match alg {
        SpkiAlg::EcdsaP256 => Some(NamedGroup::Secp256r1),
        SpkiAlg::EcdsaP384 => Some(NamedGroup::Secp384r1),
        SpkiAlg::Ed25519 | SpkiAlg::Rsa => None,
    }
}
