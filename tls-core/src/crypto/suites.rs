//! The TLS 1.3 cipher suites: an AEAD and a hash.

use super::aead::AeadAlg;
use super::hash::HashAlg;
use crate::msgs::enums::CipherSuite;

/// A TLS 1.3 cipher suite.
#[derive(Debug, PartialEq, Eq)]
pub struct Suite {
    /// The wire value.
    pub suite: CipherSuite,
    /// The hash of the key schedule and transcript.
    pub hash: HashAlg,
    /// The record protection.
    pub aead: AeadAlg,
}

/// TLS_AES_128_GCM_SHA256
pub static TLS13_AES_128_GCM_SHA256: Suite = Suite {
    suite: CipherSuite::Tls13Aes128GcmSha256,
    hash: HashAlg::Sha256,
    aead: AeadAlg::Aes128Gcm,
};

/// TLS_AES_256_GCM_SHA384
pub static TLS13_AES_256_GCM_SHA384: Suite = Suite {
    suite: CipherSuite::Tls13Aes256GcmSha384,
    hash: HashAlg::Sha384,
    aead: AeadAlg::Aes256Gcm,
};

/// TLS_CHACHA20_POLY1305_SHA256
pub(crate) static TLS13_CHACHA20_POLY1305_SHA256: Suite = Suite {
    suite: CipherSuite::Tls13Chacha20Poly1305Sha256,
    hash: HashAlg::Sha256,
    aead: AeadAlg::Chacha20Poly1305,
};

/// Every TLS 1.3 suite, in our order of preference.
pub(crate) static ALL_TLS13_SUITES: &[&Suite] = &[
    &TLS13_AES_128_GCM_SHA256,
    &TLS13_AES_256_GCM_SHA384,
    &TLS13_CHACHA20_POLY1305_SHA256,
];

/// The suite for a wire value, if it is a TLS 1.3 suite we implement.
pub(crate) fn tls13_suite(cs: CipherSuite) -> Option<&'static Suite> {
    ALL_TLS13_SUITES.iter().copied().find(|s| s.suite == cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        assert_eq!(
            tls13_suite(CipherSuite::from_wire(0x1302)),
            Some(&TLS13_AES_256_GCM_SHA384)
        );
        assert_eq!(
            tls13_suite(CipherSuite::from_wire(0x1303)).map(|s| s.hash),
            Some(HashAlg::Sha256)
        );
        assert_eq!(tls13_suite(CipherSuite::FallbackScsv), None);
        assert_eq!(tls13_suite(CipherSuite::Unknown(0x1304)), None);
        assert_eq!(ALL_TLS13_SUITES[0].suite, CipherSuite::Tls13Aes128GcmSha256);
    }
}
