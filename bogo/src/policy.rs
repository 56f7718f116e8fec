//! BoringSSL's compliance policies (`-fips-202205`, `-wpa-202304`): each
//! limits a connection to TLS 1.2 and 1.3 with a set of cipher suites,
//! key-exchange groups and signature schemes (BoringSSL's
//! `SSL_set_compliance_policy`).
//!
//! tls-core takes the suites and groups from its configuration and the
//! schemes it verifies from the shim's verifier, so those three follow the
//! policy. The schemes it signs with are its key's own (a fixed list): the
//! policy is honoured when that list is within the policy's, and a key that
//! could sign with a scheme outside it is unimplemented (exit 89).

use tls_core::{CipherSuite, NamedGroup, SignatureScheme};

/// A compliance policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// FIPS 202205: AES-GCM, P-256 and P-384, RSA and ECDSA with SHA-2.
    Fips202205,
    /// WPA3-Enterprise 192-bit mode (202304): AES-256-GCM, P-384, SHA-384 and
    /// SHA-512 signatures.
    Wpa202304,
}

impl Policy {
    /// The policy a flag names, if it names one.
    pub fn from_flag(flag: &str) -> Option<Policy> {
        match flag {
            "-fips-202205" => Some(Policy::Fips202205),
            "-wpa-202304" => Some(Policy::Wpa202304),
            _ => None,
        }
    }

    /// The cipher suites allowed, TLS 1.3 and TLS 1.2 alike.
    pub fn cipher_suites(self) -> Vec<CipherSuite> {
        use CipherSuite as C;
        match self {
            Policy::Fips202205 => vec![
                C::Tls13Aes128GcmSha256,
                C::Tls13Aes256GcmSha384,
                C::EcdheEcdsaAes128GcmSha256,
                C::EcdheRsaAes128GcmSha256,
                C::EcdheEcdsaAes256GcmSha384,
                C::EcdheRsaAes256GcmSha384,
            ],
            Policy::Wpa202304 => vec![
                C::Tls13Aes256GcmSha384,
                C::EcdheEcdsaAes256GcmSha384,
                C::EcdheRsaAes256GcmSha384,
            ],
        }
    }

    /// The key-exchange groups allowed, most preferred first.
    pub fn groups(self) -> Vec<NamedGroup> {
        match self {
            Policy::Fips202205 => vec![NamedGroup::Secp256r1, NamedGroup::Secp384r1],
            Policy::Wpa202304 => vec![NamedGroup::Secp384r1],
        }
    }

    /// True if the policy allows signing or verifying with `scheme`.
    pub fn allows(self, scheme: SignatureScheme) -> bool {
        use SignatureScheme as S;
        match self {
            Policy::Fips202205 => matches!(
                scheme,
                S::RsaPkcs1Sha256
                    | S::RsaPkcs1Sha384
                    | S::RsaPkcs1Sha512
                    | S::EcdsaSecp256r1Sha256
                    | S::EcdsaSecp384r1Sha384
                    | S::RsaPssRsaeSha256
                    | S::RsaPssRsaeSha384
                    | S::RsaPssRsaeSha512
            ),
            Policy::Wpa202304 => matches!(
                scheme,
                S::RsaPkcs1Sha384
                    | S::RsaPkcs1Sha512
                    | S::EcdsaSecp384r1Sha384
                    | S::RsaPssRsaeSha384
                    | S::RsaPssRsaeSha512
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wpa_is_narrower_than_fips() {
        let (fips, wpa) = (Policy::Fips202205, Policy::Wpa202304);
        assert!(wpa
            .cipher_suites()
            .iter()
            .all(|s| fips.cipher_suites().contains(s)));
        assert!(fips.allows(SignatureScheme::RsaPssRsaeSha256));
        assert!(!wpa.allows(SignatureScheme::RsaPssRsaeSha256));
        assert!(!fips.allows(SignatureScheme::Ed25519));
        assert_eq!(Policy::from_flag("-wpa-202304"), Some(wpa));
    }
}
