//! Verifying handshake signatures against the peer's end-entity certificate,
//! with a small DER walk to find its SubjectPublicKeyInfo.

use alloc::vec::Vec;

use ring::signature;

use crate::der::{self, Reader};
use crate::error::Error;
use crate::msgs::enums::SignatureScheme;

// OID contents (the bytes after tag and length).
/// id-ecPublicKey, 1.2.840.10045.2.1
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 / secp256r1, 1.2.840.10045.3.1.7
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// secp384r1, 1.3.132.0.34
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// id-Ed25519, 1.3.101.112
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// rsaEncryption, 1.2.840.113549.1.1.1
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The kinds of public key we can verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpkiAlg {
    /// ECDSA on P-256 (id-ecPublicKey with prime256v1).
    EcdsaP256,
    /// ECDSA on P-384 (id-ecPublicKey with secp384r1).
    EcdsaP384,
    /// Ed25519 (id-Ed25519).
    Ed25519,
    /// RSA (rsaEncryption), for RSA-PSS in TLS 1.3.
    Rsa,
}

/// A parsed SubjectPublicKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spki<'a> {
    /// The key type.
    pub alg: SpkiAlg,
    /// The subjectPublicKey bits: an uncompressed EC point, the 32 Ed25519
    /// bytes, or a DER RSAPublicKey.
    pub public_key: &'a [u8],
}

/// What an AlgorithmIdentifier names: `None` when malformed,
/// `Some(Err(why))` when well-formed but unsupported.
pub(crate) fn parse_algorithm(alg_id: &[u8]) -> Option<Result<SpkiAlg, &'static str>> {
    let mut d = Reader::new(alg_id);
    let oid = d.take(der::OID)?;
    let alg = match oid {
        OID_EC_PUBLIC_KEY => {
            // namedCurve only: implicit and explicit curves are refused
            let Some(curve) = d.optional(der::OID)? else {
                return Some(Err("elliptic curve key without a named curve"));
            };
            match curve {
                OID_P256 => Ok(SpkiAlg::EcdsaP256),
                OID_P384 => Ok(SpkiAlg::EcdsaP384),
                _ => Err("unsupported elliptic curve"),
            }
        }
        OID_ED25519 => Ok(SpkiAlg::Ed25519),
        OID_RSA_ENCRYPTION => {
            // parameters NULL (RFC 3279); tolerate absent
            if d.optional(der::NULL)?.is_some_and(|n| !n.is_empty()) {
                return None;
            }
            Ok(SpkiAlg::Rsa)
        }
        _ => Err("unsupported public key algorithm"),
    };
    if alg.is_ok() {
        d.finish()?;
    }
    Some(alg)
}

/// Parses a DER SubjectPublicKeyInfo. Malformed DER is
/// `Error::BadCertificate`; a key type we do not support is
/// `Error::UnsupportedCertificate`.
pub fn parse_spki(spki_der: &[u8]) -> Result<Spki<'_>, Error> {
    const MALFORMED: Error = Error::BadCertificate("malformed subject public key info");
    let mut outer = Reader::new(spki_der);
    let mut spki = outer.sequence().ok_or(MALFORMED)?;
    outer.finish().ok_or(MALFORMED)?;
    let alg_id = spki.take(der::SEQUENCE).ok_or(MALFORMED)?;
    let public_key = spki.bit_string_bytes().ok_or(MALFORMED)?;
    spki.finish().ok_or(MALFORMED)?;
    let alg = parse_algorithm(alg_id)
        .ok_or(MALFORMED)?
        .map_err(Error::UnsupportedCertificate)?;
    Ok(Spki { alg, public_key })
}

/// The ring algorithm for a key type and a TLS 1.3 signature scheme, if the
/// two go together. TLS 1.3 binds ECDSA curves to hashes and never accepts
/// RSA PKCS#1 v1.5 or SHA-1 in CertificateVerify.
fn tls13_algorithm(
    alg: SpkiAlg,
    scheme: SignatureScheme,
) -> Option<&'static dyn signature::VerificationAlgorithm> {
    use SignatureScheme as S;
    Some(match (alg, scheme) {
        (SpkiAlg::EcdsaP256, S::EcdsaSecp256r1Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (SpkiAlg::EcdsaP384, S::EcdsaSecp384r1Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (SpkiAlg::Ed25519, S::Ed25519) => &signature::ED25519,
        (SpkiAlg::Rsa, S::RsaPssRsaeSha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (SpkiAlg::Rsa, S::RsaPssRsaeSha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (SpkiAlg::Rsa, S::RsaPssRsaeSha512) => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// True if a key of type `alg` can make TLS 1.3 signatures with `scheme`.
#[cfg(test)]
pub(crate) fn tls13_scheme_matches(alg: SpkiAlg, scheme: SignatureScheme) -> bool {
    tls13_algorithm(alg, scheme).is_some()
}

/// Verifies a TLS 1.3 signature with a raw public key of type `alg`.
/// A scheme that does not fit the key is
/// `Error::IllegalParameter("signature scheme does not match certificate key")`;
/// a signature that does not verify (including an RSA key outside
/// 2048..=8192 bits) is `Error::DecryptError("bad CertificateVerify signature")`.
pub(crate) fn verify_signature(
    alg: SpkiAlg,
    public_key: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let ring_alg = tls13_algorithm(alg, scheme).ok_or(Error::IllegalParameter(
        "signature scheme does not match certificate key",
    ))?;
    signature::UnparsedPublicKey::new(ring_alg, public_key)
        .verify(message, signature)
        .map_err(|_| Error::DecryptError("bad CertificateVerify signature"))
}

/// A certificate's signature algorithm, as X.509 names it (the OID and its
/// parameters are read by `x509`): RSA PKCS#1 v1.5 and PSS with SHA-256/384/512
/// (keys of 2048 to 8192 bits), ECDSA P-256/P-384 with SHA-256/384, Ed25519.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertSignatureAlg {
    /// sha256WithRSAEncryption
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, 48-byte salt
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, 64-byte salt
    RsaPssSha512,
    /// ecdsa-with-SHA256 by a P-256 key
    EcdsaP256Sha256,
    /// ecdsa-with-SHA384 by a P-256 key
    EcdsaP256Sha384,
    /// ecdsa-with-SHA256 by a P-384 key
    EcdsaP384Sha256,
    /// ecdsa-with-SHA384 by a P-384 key
    EcdsaP384Sha384,
    /// Ed25519
    Ed25519,
}

/// Verifies a certificate (or CRL) signature over `signed` with `public_key`
/// (the subjectPublicKey bits of the signer's SPKI); false when it does not verify.
pub(crate) fn verify_cert_signature(
    alg: CertSignatureAlg,
    public_key: &[u8],
    signed: &[u8],
    sig: &[u8],
) -> bool {
    let ring_alg: &'static dyn signature::VerificationAlgorithm = match alg {
        CertSignatureAlg::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        CertSignatureAlg::RsaPkcs1Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        CertSignatureAlg::RsaPkcs1Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        CertSignatureAlg::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        CertSignatureAlg::RsaPssSha384 => &signature::RSA_PSS_2048_8192_SHA384,
        CertSignatureAlg::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
        CertSignatureAlg::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
        CertSignatureAlg::EcdsaP256Sha384 => &signature::ECDSA_P256_SHA384_ASN1,
        CertSignatureAlg::EcdsaP384Sha256 => &signature::ECDSA_P384_SHA256_ASN1,
        CertSignatureAlg::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
        CertSignatureAlg::Ed25519 => &signature::ED25519,
    };
    signature::UnparsedPublicKey::new(ring_alg, public_key)
        .verify(signed, sig)
        .is_ok()
}

/// Verifies a TLS 1.3 CertificateVerify signature with the key of a DER
/// SubjectPublicKeyInfo (see [`cert_spki`]). Errors as [`parse_spki`] and
/// [`verify_signature`].
pub(crate) fn verify_tls13_signature(
    spki_der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let spki = parse_spki(spki_der)?;
    verify_signature(spki.alg, spki.public_key, scheme, message, signature)
}

/// The SubjectPublicKeyInfo (whole DER encoding) of a DER X.509 certificate.
/// Only the structure up to the SPKI is checked; anything malformed is
/// `Error::BadCertificate("malformed certificate")`.
pub fn cert_spki(cert_der: &[u8]) -> Result<&[u8], Error> {
    fn walk(cert_der: &[u8]) -> Option<&[u8]> {
        let mut outer = Reader::new(cert_der);
        let mut cert = outer.sequence()?;
        outer.finish()?;
        let mut tbs = cert.sequence()?;
        cert.take(der::SEQUENCE)?; // signatureAlgorithm
        cert.take(der::BIT_STRING)?; // signatureValue
        cert.finish()?;

        tbs.optional(der::context_constructed(0))?; // [0] EXPLICIT version
        tbs.take(der::INTEGER)?; // serialNumber
        tbs.take(der::SEQUENCE)?; // signature
        tbs.take(der::SEQUENCE)?; // issuer
        tbs.take(der::SEQUENCE)?; // validity
        tbs.take(der::SEQUENCE)?; // subject
        Some(tbs.expect_tlv(der::SEQUENCE)?.encoded) // subjectPublicKeyInfo
    }
    walk(cert_der).ok_or(Error::BadCertificate("malformed certificate"))
}

/// The content a TLS 1.3 CertificateVerify signature covers (RFC 8446 §4.4.3):
/// 64 spaces, the context string for the signer's side, a zero byte, and the
/// transcript hash up to (not including) the CertificateVerify.
pub(crate) fn certificate_verify_message(
    signer_is_server: bool,
    transcript_hash: &[u8],
) -> Vec<u8> {
    let context: &[u8] = if signer_is_server {
        b"TLS 1.3, server CertificateVerify"
    } else {
        b"TLS 1.3, client CertificateVerify"
    };
    let mut m = Vec::with_capacity(64 + context.len() + 1 + transcript_hash.len());
    m.extend_from_slice(&[0x20; 64]);
    m.extend_from_slice(context);
    m.push(0);
    m.extend_from_slice(transcript_hash);
    m
}

/// The signature schemes we accept in TLS 1.2 handshake signatures: the
/// TLS 1.3 ones plus RSA PKCS#1 v1.5 with SHA-2. Never SHA-1 or MD5.
pub const TLS12_SIGNATURE_SCHEMES: [SignatureScheme; 9] = [
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::EcdsaSecp384r1Sha384,
    SignatureScheme::Ed25519,
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPssRsaeSha384,
    SignatureScheme::RsaPssRsaeSha512,
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
];

/// The ring algorithm for a key type and a TLS 1.2 signature scheme. Unlike
/// TLS 1.3, an ECDSA scheme names only the hash, not the curve.
fn tls12_algorithm(
    alg: SpkiAlg,
    scheme: SignatureScheme,
) -> Option<&'static dyn signature::VerificationAlgorithm> {
    use SignatureScheme as S;
    use SpkiAlg as K;
    Some(match (alg, scheme) {
        (K::EcdsaP256, S::EcdsaSecp256r1Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (K::EcdsaP256, S::EcdsaSecp384r1Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (K::EcdsaP384, S::EcdsaSecp256r1Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (K::EcdsaP384, S::EcdsaSecp384r1Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (K::Ed25519, S::Ed25519) => &signature::ED25519,
        (K::Rsa, S::RsaPssRsaeSha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (K::Rsa, S::RsaPssRsaeSha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (K::Rsa, S::RsaPssRsaeSha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (K::Rsa, S::RsaPkcs1Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (K::Rsa, S::RsaPkcs1Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (K::Rsa, S::RsaPkcs1Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    })
}

/// Verifies a TLS 1.2 ServerKeyExchange or CertificateVerify signature with
/// the key of a DER SubjectPublicKeyInfo.
pub(crate) fn verify_tls12_signature(
    spki_der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    sig: &[u8],
) -> Result<(), Error> {
    let spki = parse_spki(spki_der)?;
    let alg = tls12_algorithm(spki.alg, scheme).ok_or(Error::IllegalParameter(
        "signature scheme does not match certificate key",
    ))?;
    signature::UnparsedPublicKey::new(alg, spki.public_key)
        .verify(message, sig)
        .map_err(|_| Error::DecryptError("bad TLS 1.2 handshake signature"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rfc8448;
    use crate::crypto::unhex;

    /// A DER SubjectPublicKeyInfo built from parts (test helper).
    pub(crate) fn build_spki(alg: SpkiAlg, public_key: &[u8]) -> Vec<u8> {
        fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
            let mut out = alloc::vec![tag];
            let n = contents.len();
            if n < 0x80 {
                out.push(n as u8);
            } else if n < 0x100 {
                out.extend_from_slice(&[0x81, n as u8]);
            } else {
                out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
            }
            out.extend_from_slice(contents);
            out
        }
        let mut alg_id = Vec::new();
        match alg {
            SpkiAlg::EcdsaP256 | SpkiAlg::EcdsaP384 => {
                alg_id.extend(tlv(der::OID, OID_EC_PUBLIC_KEY));
                let curve = if alg == SpkiAlg::EcdsaP256 {
                    OID_P256
                } else {
                    OID_P384
                };
                alg_id.extend(tlv(der::OID, curve));
            }
            SpkiAlg::Ed25519 => alg_id.extend(tlv(der::OID, OID_ED25519)),
            SpkiAlg::Rsa => {
                alg_id.extend(tlv(der::OID, OID_RSA_ENCRYPTION));
                alg_id.extend(tlv(der::NULL, &[]));
            }
        }
        let mut bits = alloc::vec![0u8];
        bits.extend_from_slice(public_key);
        let mut body = tlv(der::SEQUENCE, &alg_id);
        body.extend(tlv(der::BIT_STRING, &bits));
        tlv(der::SEQUENCE, &body)
    }

    #[test]
    fn ring_generated_keys_round_trip() {
        use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let msg = certificate_verify_message(true, &[7; 32]);

        let cases: [(
            SpkiAlg,
            SignatureScheme,
            &'static signature::EcdsaSigningAlgorithm,
        ); 2] = [
            (
                SpkiAlg::EcdsaP256,
                SignatureScheme::EcdsaSecp256r1Sha256,
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            ),
            (
                SpkiAlg::EcdsaP384,
                SignatureScheme::EcdsaSecp384r1Sha384,
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            ),
        ];
        for (alg, scheme, signing) in cases {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref(), &rng).unwrap();
            let spki = build_spki(alg, pair.public_key().as_ref());
            assert_eq!(parse_spki(&spki).unwrap().alg, alg);
            let sig = pair.sign(&rng, &msg).unwrap();
            verify_tls13_signature(&spki, scheme, &msg, sig.as_ref()).unwrap();
            let mut bad = sig.as_ref().to_vec();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert_eq!(
                verify_tls13_signature(&spki, scheme, &msg, &bad),
                Err(Error::DecryptError("bad CertificateVerify signature"))
            );
            assert_eq!(
                verify_tls13_signature(&spki, SignatureScheme::Ed25519, &msg, sig.as_ref()),
                Err(Error::IllegalParameter(
                    "signature scheme does not match certificate key"
                ))
            );
        }

        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let spki = build_spki(SpkiAlg::Ed25519, pair.public_key().as_ref());
        let sig = pair.sign(&msg);
        verify_tls13_signature(&spki, SignatureScheme::Ed25519, &msg, sig.as_ref()).unwrap();
        assert!(matches!(
            verify_tls13_signature(&spki, SignatureScheme::Ed25519, b"other", sig.as_ref()),
            Err(Error::DecryptError(_))
        ));
        assert!(matches!(
            verify_tls13_signature(
                &spki,
                SignatureScheme::EcdsaSecp256r1Sha256,
                &msg,
                sig.as_ref()
            ),
            Err(Error::IllegalParameter(_))
        ));
    }

    #[test]
    fn refused_schemes() {
        use SignatureScheme as S;
        for s in [
            S::RsaPkcs1Sha256,
            S::RsaPkcs1Sha384,
            S::RsaPkcs1Sha512,
            S::RsaPkcs1Sha1,
            S::RsaPssPssSha256,
        ] {
            assert!(!tls13_scheme_matches(SpkiAlg::Rsa, s), "{s:?}");
        }
        assert!(!tls13_scheme_matches(
            SpkiAlg::EcdsaP256,
            S::EcdsaSecp384r1Sha384
        ));
        assert!(!tls13_scheme_matches(
            SpkiAlg::EcdsaP384,
            S::EcdsaSecp256r1Sha256
        ));
        assert!(!tls13_scheme_matches(SpkiAlg::EcdsaP256, S::EcdsaSha1));
        assert!(tls13_scheme_matches(SpkiAlg::Rsa, S::RsaPssRsaeSha512));
    }

    #[test]
    fn rfc8448_certificate_spki() {
        // The server Certificate message of RFC 8448 §3: 1 + 3 header bytes,
        // 1-byte context, 3-byte list length, 3-byte cert length, then the cert.
        let flight = unhex(rfc8448::SERVER_FLIGHT);
        let cert_msg = &flight[40..40 + 445];
        assert_eq!(cert_msg[0], 11);
        let cert = &cert_msg[11..11 + 0x1b0];
        let spki = cert_spki(cert).unwrap();
        let parsed = parse_spki(spki).unwrap();
        assert_eq!(parsed.alg, SpkiAlg::Rsa);
        assert_eq!(parsed.public_key.len(), 0x89 + 3);

        // structural damage anywhere before the SPKI is caught
        assert_eq!(
            cert_spki(&cert[..cert.len() - 1]),
            Err(Error::BadCertificate("malformed certificate"))
        );
        let mut trailing = cert.to_vec();
        trailing.push(0);
        assert!(cert_spki(&trailing).is_err());
        assert!(cert_spki(&[]).is_err());
    }

    #[test]
    fn spki_errors() {
        let good = build_spki(SpkiAlg::Ed25519, &[9; 32]);
        assert!(parse_spki(&good).is_ok());
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            parse_spki(&trailing),
            Err(Error::BadCertificate(_))
        ));
        // unused bits in the BIT STRING
        let mut unused = good.clone();
        let at = unused.len() - 33;
        unused[at] = 1;
        assert!(matches!(parse_spki(&unused), Err(Error::BadCertificate(_))));
        // an unknown algorithm (id-Ed448, 1.3.101.113)
        let mut ed448 = good.clone();
        ed448[8] = 0x71;
        assert!(matches!(
            parse_spki(&ed448),
            Err(Error::UnsupportedCertificate(_))
        ));
        // secp521r1 (1.3.132.0.35)
        let p384 = build_spki(SpkiAlg::EcdsaP384, &[4; 97]);
        let mut p521 = p384.clone();
        let at = p521.iter().position(|&b| b == 0x22).unwrap();
        p521[at] = 0x23;
        assert_eq!(
            parse_spki(&p521),
            Err(Error::UnsupportedCertificate("unsupported elliptic curve"))
        );
        assert_eq!(parse_spki(&p384).unwrap().public_key.len(), 97);
    }

    #[test]
    fn certificate_verify_content() {
        let m = certificate_verify_message(false, &[1, 2]);
        assert_eq!(m.len(), 64 + 33 + 1 + 2);
        assert!(m[..64].iter().all(|&b| b == b' '));
        assert_eq!(&m[64..97], b"TLS 1.3, client CertificateVerify");
        assert_eq!(&m[97..], &[0, 1, 2]);
    }
}
