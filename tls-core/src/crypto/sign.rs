//! Our own signing key, for CertificateVerify.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};

use super::verify::{cert_spki, parse_algorithm, parse_spki, SpkiAlg};
use crate::der::{self, Reader};
use crate::error::Error;
use crate::msgs::enums::SignatureScheme;

enum Inner {
    EcdsaP256(EcdsaKeyPair),
    EcdsaP384(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private key that signs CertificateVerify: ECDSA P-256/P-384, Ed25519 or
/// RSA (RSA-PSS). `Debug` shows only the key type.
pub struct SigningKey {
    inner: Inner,
}

const ECDSA_P256_SCHEMES: &[SignatureScheme] = &[SignatureScheme::EcdsaSecp256r1Sha256];
const ECDSA_P384_SCHEMES: &[SignatureScheme] = &[SignatureScheme::EcdsaSecp384r1Sha384];
const ED25519_SCHEMES: &[SignatureScheme] = &[SignatureScheme::Ed25519];
const RSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPssRsaeSha384,
    SignatureScheme::RsaPssRsaeSha512,
];
const RSA_TLS12_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPssRsaeSha384,
    SignatureScheme::RsaPssRsaeSha512,
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
];

impl SigningKey {
    /// A PKCS#8 PrivateKeyInfo ("PRIVATE KEY"): EC P-256/P-384 (with the
    /// public key inside, as OpenSSL writes), Ed25519 (v1 or v2), or RSA.
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, Error> {
        const MALFORMED: Error = Error::InvalidConfig("malformed PKCS#8 private key");
        let alg = (|| {
            let mut outer = Reader::new(der);
            let mut info = outer.sequence()?;
            outer.finish()?;
            info.take(der::INTEGER)?; // version
            parse_algorithm(info.take(der::SEQUENCE)?)
        })()
        .ok_or(MALFORMED)?
        .map_err(Error::InvalidConfig)?;
        let rng = SystemRandom::new();
        const REJECTED: Error = Error::InvalidConfig("PKCS#8 private key rejected");
        let inner = match alg {
            SpkiAlg::EcdsaP256 => Inner::EcdsaP256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
                    .map_err(|_| REJECTED)?,
            ),
            SpkiAlg::EcdsaP384 => Inner::EcdsaP384(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, der, &rng)
                    .map_err(|_| REJECTED)?,
            ),
            SpkiAlg::Ed25519 => Inner::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| REJECTED)?,
            ),
            SpkiAlg::Rsa => Inner::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| REJECTED)?),
        };
        Ok(SigningKey { inner })
    }

    /// A SEC1 / RFC 5915 ECPrivateKey ("EC PRIVATE KEY", as `openssl ecparam
    /// -genkey` writes): it must name its curve and carry its public key.
    pub fn from_sec1(der: &[u8]) -> Result<SigningKey, Error> {
        const MALFORMED: Error = Error::InvalidConfig("malformed EC private key");
        let (private, curve, public) = (|| {
            let mut outer = Reader::new(der);
            let mut key = outer.sequence()?;
            outer.finish()?;
            if key.take(der::INTEGER)? != [1] {
                return None; // ecPrivkeyVer1
            }
            let private = key.take(der::OCTET_STRING)?;
            let curve = match key.optional(der::context_constructed(0))? {
                Some(params) => {
                    let mut p = Reader::new(params);
                    let oid = p.expect_tlv(der::OID)?;
                    p.finish()?;
                    Some(oid.encoded)
                }
                None => None,
            };
            let public = match key.optional(der::context_constructed(1))? {
                Some(bits) => {
                    let mut b = Reader::new(bits);
                    let public = b.bit_string_bytes()?;
                    b.finish()?;
                    Some(public)
                }
                None => None,
            };
            key.finish()?;
            Some((private, curve, public))
        })()
        .ok_or(MALFORMED)?;
        let curve = curve.ok_or(Error::InvalidConfig(
            "EC private key does not name its curve",
        ))?;
        let public = public.ok_or(Error::InvalidConfig(
            "EC private key has no public key (re-export it with `openssl ec`)",
        ))?;
        // Reuse the AlgorithmIdentifier parser: id-ecPublicKey + the curve.
        let mut alg_id = Vec::with_capacity(9 + curve.len());
        alg_id.extend_from_slice(&[der::OID, 7, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
        alg_id.extend_from_slice(curve);
        let (signing, p384) = match parse_algorithm(&alg_id).ok_or(MALFORMED)? {
            Ok(SpkiAlg::EcdsaP256) => (&signature::ECDSA_P256_SHA256_ASN1_SIGNING, false),
            Ok(SpkiAlg::EcdsaP384) => (&signature::ECDSA_P384_SHA384_ASN1_SIGNING, true),
            _ => return Err(Error::InvalidConfig("unsupported elliptic curve")),
        };
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(signing, private, public, &rng)
            .map_err(|_| Error::InvalidConfig("EC private key rejected"))?;
        let inner = if p384 {
            Inner::EcdsaP384(pair)
        } else {
            Inner::EcdsaP256(pair)
        };
        Ok(SigningKey { inner })
    }

    /// A PKCS#1 RSAPrivateKey ("RSA PRIVATE KEY").
    pub fn from_pkcs1(der: &[u8]) -> Result<SigningKey, Error> {
        let pair = RsaKeyPair::from_der(der)
            .map_err(|_| Error::InvalidConfig("RSA private key rejected"))?;
        Ok(SigningKey {
            inner: Inner::Rsa(pair),
        })
    }

    /// A DER private key in any of the three forms: PKCS#8, then SEC1, then PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<SigningKey, Error> {
        SigningKey::from_pkcs8(der)
            .or_else(|_| SigningKey::from_sec1(der))
            .or_else(|_| SigningKey::from_pkcs1(der))
            .map_err(|_| Error::InvalidConfig("unrecognized or unsupported private key"))
    }

    /// The key type (the matching certificate's SubjectPublicKeyInfo type).
    pub fn alg(&self) -> SpkiAlg {
        match self.inner {
            Inner::EcdsaP256(_) => SpkiAlg::EcdsaP256,
            Inner::EcdsaP384(_) => SpkiAlg::EcdsaP384,
            Inner::Ed25519(_) => SpkiAlg::Ed25519,
            Inner::Rsa(_) => SpkiAlg::Rsa,
        }
    }

    /// The public key, in the form of a SubjectPublicKeyInfo's subjectPublicKey.
    pub fn public_key(&self) -> &[u8] {
        match &self.inner {
            Inner::EcdsaP256(k) | Inner::EcdsaP384(k) => k.public_key().as_ref(),
            Inner::Ed25519(k) => k.public_key().as_ref(),
            Inner::Rsa(k) => k.public_key().as_ref(),
        }
    }

    /// Checks that a DER certificate carries this key's public key (a
    /// configuration check): otherwise `Error::KeyMismatch`. A certificate
    /// that cannot be parsed, or whose key type we do not support, gives the
    /// parse error.
    pub fn check_matches_certificate(&self, cert_der: &[u8]) -> Result<(), Error> {
        let spki = parse_spki(cert_spki(cert_der)?)?;
        if spki.alg == self.alg() && spki.public_key == self.public_key() {
            Ok(())
        } else {
            Err(Error::KeyMismatch)
        }
    }

    /// The TLS 1.3 signature schemes this key can sign with, best first.
    pub fn tls13_schemes(&self) -> &'static [SignatureScheme] {
        match self.inner {
            Inner::EcdsaP256(_) => ECDSA_P256_SCHEMES,
            Inner::EcdsaP384(_) => ECDSA_P384_SCHEMES,
            Inner::Ed25519(_) => ED25519_SCHEMES,
            Inner::Rsa(_) => RSA_SCHEMES,
        }
    }

    /// The first of our schemes that the peer offered.
    pub fn choose_tls13_scheme(&self, offered: &[SignatureScheme]) -> Option<SignatureScheme> {
        self.tls13_schemes()
            .iter()
            .copied()
            .find(|s| offered.contains(s))
    }

    /// The TLS 1.2 signature schemes this key can sign with, best first: the
    /// TLS 1.3 ones, and for RSA also PKCS#1 v1.5 with SHA-2.
    pub fn tls12_schemes(&self) -> &'static [SignatureScheme] {
        match self.inner {
            Inner::Rsa(_) => RSA_TLS12_SCHEMES,
            _ => self.tls13_schemes(),
        }
    }

    /// The first of our TLS 1.2 schemes that the peer offered.
    pub fn choose_tls12_scheme(&self, offered: &[SignatureScheme]) -> Option<SignatureScheme> {
        self.tls12_schemes()
            .iter()
            .copied()
            .find(|s| offered.contains(s))
    }

    /// Signs `message` with `scheme`, which must be one of
    /// [`tls13_schemes`](Self::tls13_schemes) (else `Error::Misuse`).
    /// ECDSA and RSA-PSS draw their randomness from ring's `SystemRandom`.
    pub fn sign(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, Error> {
        if !self.tls13_schemes().contains(&scheme) {
            return Err(Error::Misuse("signature scheme not supported by this key"));
        }
        self.sign_checked(scheme, message)
    }

    /// Signs a TLS 1.2 handshake message with `scheme`, which must be one of
    /// [`tls12_schemes`](Self::tls12_schemes) (else `Error::Misuse`).
    pub fn sign_tls12(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, Error> {
        if !self.tls12_schemes().contains(&scheme) {
            return Err(Error::Misuse("signature scheme not supported by this key"));
        }
        self.sign_checked(scheme, message)
    }

    fn sign_checked(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, Error> {
        const FAILED: Error = Error::Internal("signing failed");
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::EcdsaP256(k) | Inner::EcdsaP384(k) => {
                Ok(k.sign(&rng, message).map_err(|_| FAILED)?.as_ref().to_vec())
            }
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Inner::Rsa(k) => {
                let padding: &'static dyn signature::RsaEncoding = match scheme {
                    SignatureScheme::RsaPssRsaeSha256 => &signature::RSA_PSS_SHA256,
                    SignatureScheme::RsaPssRsaeSha384 => &signature::RSA_PSS_SHA384,
                    SignatureScheme::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    SignatureScheme::RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    SignatureScheme::RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(padding, &rng, message, &mut sig)
                    .map_err(|_| FAILED)?;
                Ok(sig)
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::verify::verify_signature;

    #[test]
    fn ring_generated_pkcs8() {
        let rng = SystemRandom::new();
        let p256 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let p384 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, &rng).unwrap();
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        for (der, alg) in [
            (p256.as_ref(), SpkiAlg::EcdsaP256),
            (p384.as_ref(), SpkiAlg::EcdsaP384),
            (ed.as_ref(), SpkiAlg::Ed25519),
        ] {
            let key = SigningKey::from_der(der).unwrap();
            assert_eq!(key.alg(), alg);
            assert_eq!(
                alloc::format!("{key:?}"),
                alloc::format!("SigningKey {{ alg: {alg:?}, .. }}")
            );
            let scheme = key.tls13_schemes()[0];
            let sig = key.sign(scheme, b"message").unwrap();
            verify_signature(alg, key.public_key(), scheme, b"message", &sig).unwrap();
            assert!(matches!(
                key.sign(SignatureScheme::RsaPssRsaeSha256, b"message"),
                Err(Error::Misuse(_))
            ));
        }
        assert!(SigningKey::from_der(b"\x30\x03\x02\x01\x00").is_err());
    }

    #[test]
    fn choose_scheme() {
        let rng = SystemRandom::new();
        let p256 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = SigningKey::from_pkcs8(p256.as_ref()).unwrap();
        use SignatureScheme as S;
        assert_eq!(
            key.choose_tls13_scheme(&[S::Ed25519, S::EcdsaSecp256r1Sha256]),
            Some(S::EcdsaSecp256r1Sha256)
        );
        assert_eq!(
            key.choose_tls13_scheme(&[S::Ed25519, S::EcdsaSecp384r1Sha384]),
            None
        );
    }
}
