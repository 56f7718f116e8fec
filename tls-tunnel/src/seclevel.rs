//! stunnel's `securityLevel`, with OpenSSL's meaning (SSL_CTX_set_security_level):
//! level 3 asks for 128 bits of security, level 4 for 192. Every key in a
//! certificate chain, ours or the peer's, must reach them (RSA 3072 / 7680
//! bits, elliptic curves of 256 / 384 bits), and so must the hash of every
//! certificate signature but a self-signed certificate's; key-exchange
//! groups, cipher suites and signature schemes below them are not offered.
//! Level 3 also stops session tickets (sessions stay in the server's cache,
//! as OpenSSL's stateful TLS 1.3 tickets). Levels up to 2 are what
//! tls-tunnel always does; level 5 (256 bits) needs P-521 or X448 key
//! exchange, which tls-core does not implement, and is refused.

use tls_core::{CipherSuite, NamedGroup, SignatureScheme};
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::SignatureAlgorithm;

use crate::config::Algorithms;
use crate::tls::checked::{Check, Peer};

/// The highest level implemented.
pub const MAX_LEVEL: u8 = 4;

/// The bits of security `level` asks for (OpenSSL's table); 0 for levels
/// tls-tunnel meets anyway.
pub fn bits(level: u8) -> u32 {
    match level {
        0..=2 => 0,
        3 => 128,
        4 => 192,
        _ => 256,
    }
}

/// The security bits of an RSA modulus of `n` bits (NIST SP 800-57, as
/// OpenSSL counts them).
fn rsa_bits(n: usize) -> u32 {
    match n {
        15360.. => 256,
        7680.. => 192,
        3072.. => 128,
        2048.. => 112,
        1024.. => 80,
        _ => 0,
    }
}

/// The security bits of a certificate's public key.
fn key_bits(cert: &X509Certificate<'_>) -> u32 {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => rsa_bits(rsa.key_size()),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => 128,
                Some("1.3.132.0.34") => 192,
                Some("1.3.132.0.35") => 256,
                // Another curve: half its size, as OpenSSL counts.
                _ => u32::try_from(point.key_size() / 2).unwrap_or(0),
            }
        }
        _ => match alg.as_str() {
            "1.3.101.112" => 128,
            "1.3.101.113" => 224,
            _ => 0,
        },
    }
}

/// The security bits of a hash, by its OID.
fn hash_bits(oid: &Oid<'_>) -> u32 {
    match oid.to_id_string().as_str() {
        "2.16.840.1.101.3.4.2.4" => 112,
        "2.16.840.1.101.3.4.2.1" => 128,
        "2.16.840.1.101.3.4.2.2" => 192,
        "2.16.840.1.101.3.4.2.3" => 256,
        _ => 0,
    }
}

/// The security bits of a certificate's signature (its hash's, as OpenSSL
/// counts; Ed25519 128, Ed448 224).
fn signature_bits(cert: &X509Certificate<'_>) -> u32 {
    let alg = &cert.signature_algorithm;
    if let Ok(SignatureAlgorithm::RSASSA_PSS(params)) = SignatureAlgorithm::try_from(alg) {
        return hash_bits(params.hash_algorithm_oid());
    }
    match alg.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.14" | "1.2.840.10045.4.3.1" => 112,
        "1.2.840.113549.1.1.11" | "1.2.840.10045.4.3.2" | "1.3.101.112" => 128,
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => 192,
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => 256,
        "1.3.101.113" => 224,
        // SHA-1, MD5 and what we do not know.
        _ => 0,
    }
}

/// True when `cert` names itself as its issuer, by name and, when both key
/// identifiers are there, by key (as OpenSSL tells a self-signed certificate).
fn signed_itself(cert: &X509Certificate<'_>) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    let mut authority = None;
    let mut subject = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                authority = a.key_identifier.as_ref().map(|k| k.0)
            }
            ParsedExtension::SubjectKeyIdentifier(k) => subject = Some(k.0),
            _ => {}
        }
    }
    match (authority, subject) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

/// Checks each certificate of a chain (DER, end-entity first) against
/// `level`: its key, and its signature unless it signed itself. The error
/// says which certificate fell short and how, as OpenSSL's "ee key too
/// small", "ca key too small" and "ca md too weak".
pub fn check_chain<'a>(level: u8, chain: impl IntoIterator<Item = &'a [u8]>) -> Result<(), String> {
    let want = bits(level);
    if want == 0 {
        return Ok(());
    }
    for (depth, der) in chain.into_iter().enumerate() {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| format!("certificate at depth {depth}: {e}"))?;
        let which = if depth == 0 {
            "end-entity".to_string()
        } else {
            format!("CA certificate at depth {depth}")
        };
        let have = key_bits(&cert);
        if have < want {
            return Err(format!(
                "securityLevel = {level}: the {which} key ({}) gives {have} bits of security, \
                 below {want} (RSA needs {} bits, elliptic curves {} bits)",
                cert.subject(),
                if level == 3 { 3072 } else { 7680 },
                want * 2
            ));
        }
        let self_signed = signed_itself(&cert);
        let sig = signature_bits(&cert);
        if !self_signed && sig < want {
            return Err(format!(
                "securityLevel = {level}: the {which} ({}) is signed with a hash of {sig} \
                 bits of security, below {want}",
                cert.subject()
            ));
        }
    }
    Ok(())
}

/// Drops the groups and cipher suites below `level` from `a` (OpenSSL does
/// not offer them); an error when nothing is left of either.
pub fn restrict(a: &mut Algorithms, level: u8) -> Result<(), String> {
    if level > MAX_LEVEL {
        return Err(format!(
            "securityLevel = {level} (256 bits of security) needs P-521 or X448 key exchange \
             and RSA keys of 15360 bits, which tls-tunnel does not implement: use 4 at most"
        ));
    }
    let want = bits(level);
    a.groups.retain(|g| group_bits(*g) >= want);
    if a.groups.is_empty() {
        return Err(format!(
            "securityLevel = {level} leaves no key-exchange group: it needs {want}-bit groups \
             (P-384 or a post-quantum hybrid for level 4)"
        ));
    }
    a.tls13_suites.retain(|s| suite_bits(*s) >= want);
    a.tls12_suites.retain(|s| suite_bits(*s) >= want);
    if a.tls13_suites.is_empty() && a.tls12_suites.is_empty() {
        return Err(format!(
            "securityLevel = {level} leaves no cipher suite: it needs {want}-bit ciphers \
             (AES-256-GCM or ChaCha20-Poly1305 for level 4)"
        ));
    }
    // A version without suites is off.
    let (t13, t12) = (!a.tls13_suites.is_empty(), !a.tls12_suites.is_empty());
    a.versions.retain(|v| match v {
        tls_core::ProtocolVersion::Tls13 => t13,
        tls_core::ProtocolVersion::Tls12 => t12,
        _ => true,
    });
    if a.versions.is_empty() {
        return Err(format!(
            "securityLevel = {level} leaves no protocol version with a cipher suite"
        ));
    }
    Ok(())
}

/// The security bits of a key-exchange group. A post-quantum hybrid has
/// its ML-KEM part's, as OpenSSL 3.5 rates it (ML-KEM-768 192, ML-KEM-1024
/// 256), never less than its classical part's.
fn group_bits(g: NamedGroup) -> u32 {
    match g {
        NamedGroup::Secp384r1MlKem1024 => 256,
        NamedGroup::Secp384r1 | NamedGroup::X25519MlKem768 | NamedGroup::Secp256r1MlKem768 => 192,
        NamedGroup::X25519 | NamedGroup::Secp256r1 => 128,
        _ => 0,
    }
}

/// The security bits of a cipher suite's cipher (its key length, as
/// OpenSSL's strength bits).
fn suite_bits(s: CipherSuite) -> u32 {
    match s.to_wire() {
        0x1301 | 0xc02b | 0xc02f => 128,
        _ => 256,
    }
}

/// The security bits of a signature scheme (its hash's).
fn scheme_bits(s: SignatureScheme) -> u32 {
    use SignatureScheme as S;
    match s {
        S::EcdsaSecp384r1Sha384 | S::RsaPssRsaeSha384 | S::RsaPkcs1Sha384 => 192,
        S::RsaPssRsaeSha512 | S::RsaPkcs1Sha512 => 256,
        S::EcdsaSecp256r1Sha256 | S::Ed25519 | S::RsaPssRsaeSha256 | S::RsaPkcs1Sha256 => 128,
        _ => 0,
    }
}

/// A verifier held to a security level (stacked with
/// [`crate::tls::checked`], on either side): the chain it accepts must also
/// meet the level (else bad_certificate, as OpenSSL's verification errors),
/// and only signature schemes meeting it are offered.
pub struct Level {
    /// The securityLevel.
    pub level: u8,
    /// False when the service does not verify the peer's chain (stunnel's
    /// `verifyChain = no`, or `requireCert = yes` without verification):
    /// OpenSSL then ignores the level's chain errors too.
    pub chains: bool,
}

impl Check for Level {
    fn check(&self, peer: &Peer<'_>) -> Result<(), tls_core::Error> {
        if self.chains {
            let rest = peer.intermediates.iter().map(Vec::as_slice);
            check_chain(self.level, std::iter::once(peer.end_entity).chain(rest)).map_err(
                |why| {
                    tracing::debug!("{why}");
                    tls_core::Error::BadCertificate("certificate below the securityLevel")
                },
            )?;
        }
        Ok(())
    }

    fn keeps(&self, scheme: SignatureScheme) -> bool {
        scheme_bits(scheme) >= bits(self.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["x.test".to_string()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn curves_meet_the_levels_of_their_size() {
        let p256 = cert(&rcgen::PKCS_ECDSA_P256_SHA256);
        let p384 = cert(&rcgen::PKCS_ECDSA_P384_SHA384);
        for level in 0..=3 {
            check_chain(level, [p256.as_slice()]).unwrap();
        }
        let e = check_chain(4, [p256.as_slice()]).unwrap_err();
        assert!(e.contains("128 bits of security, below 192"), "{e}");
        check_chain(4, [p384.as_slice()]).unwrap();
        // A P-384 certificate signed with SHA-256 by another: too weak at 4.
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "level CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["x.test".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let e = check_chain(4, [leaf.der().as_ref()]).unwrap_err();
        assert!(e.contains("signed with a hash of 128 bits"), "{e}");
    }

    #[test]
    fn level_4_keeps_only_192_bit_groups_and_ciphers() {
        let mut a = Algorithms::default();
        restrict(&mut a, 3).unwrap();
        assert_eq!(a, Algorithms::default());
        restrict(&mut a, 4).unwrap();
        // X25519MLKEM768 is rated by its ML-KEM-768 part, as OpenSSL does.
        assert_eq!(
            a.groups,
            vec![NamedGroup::X25519MlKem768, NamedGroup::Secp384r1]
        );
        assert!(!a.tls13_suites.contains(&CipherSuite::Tls13Aes128GcmSha256));
        assert!(a.tls13_suites.contains(&CipherSuite::Tls13Aes256GcmSha384));
        let mut only_x25519 = Algorithms {
            groups: vec![NamedGroup::X25519],
            ..Algorithms::default()
        };
        assert!(restrict(&mut only_x25519, 4)
            .unwrap_err()
            .contains("no key-exchange group"));
        assert!(restrict(&mut Algorithms::default(), 5)
            .unwrap_err()
            .contains("P-521"));
    }
}
