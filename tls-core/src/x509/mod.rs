//! X.509 certificate path validation, in the style of rustls-webpki: small,
//! budgeted, fail closed.
//!
//! Certificates, CRLs and OCSP responses are parsed strictly with the
//! crate's own DER reader, so all of this works without `std` (only the
//! loaders that read files need it); signatures are checked with `ring` (RSA PKCS#1 and
//! PSS with SHA-256/384/512, ECDSA P-256/P-384, Ed25519; nothing weaker).
//!
//! - [`TrustAnchors`]: trusted CAs from PEM or the system bundle.
//! - [`verify_chain`] / [`verify_chain_with_policy`]: build a path from an
//!   end-entity certificate through the peer's intermediates to an anchor
//!   and check it (validity, basicConstraints and pathLen, keyUsage,
//!   extendedKeyUsage, name constraints, unknown critical extensions, the
//!   peer's name, optional CRLs), within a [`Budget`].
//! - [`WebPkiVerifier`] and [`WebPkiClientVerifier`]: the
//!   [`crate::ServerCertVerifier`] and [`crate::ClientCertVerifier`] built
//!   on it.
//!
//! Checked against the x509-limbo suite (see `tls-tests`' `limbo` harness).

mod anchors;
mod cert;
mod constraints;
mod crl;
mod error;
mod names;
mod ocsp;
mod path;
mod psl;
#[cfg(test)]
mod tests;

use alloc::sync::Arc;
use alloc::vec::Vec;

pub use anchors::{pem_blocks, pem_certificates, TrustAnchor, TrustAnchors, SYSTEM_BUNDLE_PATHS};
pub use error::CertError;
pub use names::ServerName;
pub use ocsp::{
    OcspIssuer, OcspSigners, OcspStatus, OcspTarget, OcspVerified, MAX_OCSP_RESPONSE,
    OCSP_NONCE_LEN,
};
pub use psl::{PublicSuffixList, SYSTEM_PUBLIC_SUFFIX_LIST};

use crate::config::UnixTime;
use crate::error::Error;
use crate::verify::{
    ClientCertVerified, ClientCertVerifier, ServerCertVerified, ServerCertVerifier,
};
use cert::{Cert, Role};
use crl::Crl;

/// What the end-entity certificate is to be used for; selects the
/// extendedKeyUsage purpose required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyUsage {
    /// A TLS server (id-kp-serverAuth).
    ServerAuth,
    /// A TLS client (id-kp-clientAuth).
    ClientAuth,
}

/// Which rule set applies where the web PKI and plain RFC 5280 differ.
/// Everything else applies in both: in particular, for either profile and
/// either side a TLS end-entity certificate must not be a CA certificate and,
/// when it has a keyUsage, must allow digitalSignature (see
/// [`verify_chain_with_policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// CA/Browser Forum rules: the end-entity must carry a non-critical
    /// extendedKeyUsage naming the usage and not anyExtendedKeyUsage, and
    /// trust anchors must not carry extendedKeyUsage.
    WebPki,
    /// RFC 5280: an absent extendedKeyUsage allows any usage, and an
    /// anchor's extendedKeyUsage (if any) need only allow the usage.
    Rfc5280,
}

/// Limits on the work one verification may do; running out fails the
/// verification (`CertError::BudgetExceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    /// Signature checks (certificates and CRLs), over all candidate paths.
    pub max_signatures: u32,
    /// Candidate issuers considered, over all candidate paths.
    pub max_path_candidates: u32,
    /// Comparisons between a name and a name constraint (or between
    /// RDNs), over all candidate paths.
    pub max_name_constraint_comparisons: u64,
    /// Intermediates on one path (a deeper path is not explored).
    pub max_depth: usize,
}

impl Default for Budget {
    /// 100 signatures, 200 candidates, 50 000 comparisons, depth 10.
    fn default() -> Self {
        Budget {
            max_signatures: 100,
            max_path_candidates: 200,
            max_name_constraint_comparisons: 50_000,
            max_depth: 10,
        }
    }
}

/// Everything a verification needs besides the certificates, the name and
/// the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The usage required of the end-entity certificate.
    pub usage: KeyUsage,
    /// Web PKI or plain RFC 5280 rules where they differ.
    pub profile: Profile,
    /// For [`KeyUsage::ServerAuth`]: a subject commonName that is another
    /// spelling of one of the end-entity's subjectAltName hosts (other
    /// letter case, an IP address in a form other than the canonical text,
    /// a U-label for an A-label) is refused (CA/Browser Forum BR §7.1.4.3
    /// wants a character-for-character copy). A commonName naming anything
    /// else is let be: it is never used to match names (RFC 6125).
    pub common_name_rule: bool,
    /// At most this many intermediates that are not self-issued.
    pub max_chain_depth: Option<usize>,
    /// DER CRLs to check every certificate on the path against.
    pub crls: Vec<Vec<u8>>,
    /// When set, an end-entity wildcard dNSName `*.X` where X is a public
    /// suffix (`*.co.uk`) matches no name. Without a list only `*.tld` is
    /// refused (as malformed).
    pub public_suffixes: Option<Arc<PublicSuffixList>>,
    /// The work budget.
    pub budget: Budget,
}

impl Policy {
    /// The defaults for `usage`: the Web PKI profile for server
    /// certificates and RFC 5280 for client certificates (the CA/Browser
    /// Forum rules are for servers; an absent extendedKeyUsage on a client
    /// certificate allows any usage, a present one must name clientAuth);
    /// commonName rule on; no depth limit beyond the budget; no CRLs; no
    /// public suffix list; the default budget.
    pub fn new(usage: KeyUsage) -> Policy {
        Policy {
            usage,
            profile: match usage {
                KeyUsage::ServerAuth => Profile::WebPki,
                KeyUsage::ClientAuth => Profile::Rfc5280,
            },
            common_name_rule: true,
            max_chain_depth: None,
            crls: Vec::new(),
            public_suffixes: None,
            budget: Budget::default(),
        }
    }
}

/// A path that verified: which of the caller's intermediates it used (end
/// entity's issuer first) and which anchor it ends at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPath {
    intermediates: Vec<usize>,
    anchor: usize,
}

impl VerifiedPath {
    /// Indices into the `intermediates` passed in, from the end-entity's
    /// issuer up.
    pub fn intermediates(&self) -> &[usize] {
        &self.intermediates
    }

    /// Index of the trust anchor in the [`TrustAnchors`] set.
    pub fn anchor(&self) -> usize {
        self.anchor
    }
}

/// Verifies `end_entity` (DER) for `usage` and, when given, `name`, at time
/// `now`, building a path through `intermediates` (DER, any order, unused
/// ones ignored) to one of `anchors`, with [`Policy::new`]`(usage)` and
/// `budget`. See [`verify_chain_with_policy`].
pub fn verify_chain(
    anchors: &TrustAnchors,
    end_entity: &[u8],
    intermediates: &[Vec<u8>],
    usage: KeyUsage,
    name: Option<&ServerName>,
    now: UnixTime,
    budget: &Budget,
) -> Result<VerifiedPath, CertError> {
    let mut policy = Policy::new(usage);
    policy.budget = *budget;
    verify_chain_with_policy(anchors, end_entity, intermediates, name, now, &policy)
}

/// Verifies `end_entity` (DER) under `policy`: the end-entity's own checks
/// (profile, validity, extendedKeyUsage, name: dNSName/iPAddress
/// subjectAltNames only, no commonName fallback) and then path building
/// through `intermediates` to one of `anchors`, each candidate path checked
/// whole (signatures, validity, CA bits, pathLen, name constraints, EKU,
/// CRLs). Certificates that no path uses are never judged.
pub fn verify_chain_with_policy(
    anchors: &TrustAnchors,
    end_entity: &[u8],
    intermediates: &[Vec<u8>],
    name: Option<&ServerName>,
    now: UnixTime,
    policy: &Policy,
) -> Result<VerifiedPath, CertError> {
    let now = i64::try_from(now.0).unwrap_or(i64::MAX);
    let ee = Cert::parse(end_entity)?;
    ee.check_profile(Role::EndEntity)?;
    ee.check_validity(now)?;
    check_tls_end_entity(&ee)?;
    path::check_end_entity_eku(ee.eku.as_ref(), policy.usage, policy.profile)?;
    if policy.usage == KeyUsage::ServerAuth && policy.common_name_rule {
        names::check_common_names(&ee.common_names(), ee.san_names())?;
    }
    if let Some(name) = name {
        // A wildcard over a public suffix (`*.co.uk`) matches nothing.
        let spans_suffix = |n: &names::GeneralName<'_>| match (n, &policy.public_suffixes) {
            (names::GeneralName::Dns(d), Some(psl)) => d
                .strip_prefix("*.")
                .is_some_and(|base| psl.is_public_suffix(base)),
            _ => false,
        };
        if !ee
            .san_names()
            .iter()
            .any(|n| names::san_matches(n, name) && !spans_suffix(n))
        {
            return Err(CertError::NameMismatch);
        }
    }

    let candidates: Vec<path::Candidate<'_>> = intermediates
        .iter()
        .map(|der| {
            Cert::parse(der).ok().map(|c| {
                let profile = c.check_profile(Role::Intermediate);
                (c, profile)
            })
        })
        .collect();
    let crls = policy
        .crls
        .iter()
        .map(|der| Crl::parse(der))
        .collect::<Result<Vec<_>, _>>()?;
    path::Search::new(anchors, &ee, &candidates, &crls, policy, now).run()
}

/// The rules for a TLS end-entity certificate, the same for servers and
/// clients.
///
/// - Not a CA certificate (cA TRUE): webpki refuses one on both sides
///   (`CaUsedAsEndEntity`) and the CA/Browser Forum requires cA FALSE
///   (BR §7.1.2.7.8). OpenSSL's sslserver/sslclient purposes and Go let one
///   pass; we side with webpki so that a CA key is never also a TLS identity
///   (a self-signed certificate can still be trusted as it is, see
///   [`check_trusted_certificate`]).
/// - A keyUsage, when present, must allow digitalSignature. Both TLS
///   versions here authenticate only by signing the handshake ((EC)DHE key
///   exchange, never static RSA or (EC)DH), so that is the one bit a TLS key
///   needs: RFC 5246 §7.4.2 (ECDHE_RSA, ECDHE_ECDSA) and §7.4.6 (client
///   certificates), RFC 8446 §4.4.2.2. OpenSSL's sslclient purpose asks the
///   same; its sslserver purpose also takes keyEncipherment or keyAgreement,
///   which only static RSA and (EC)DH key exchange can use.
/// - A subjectAltName must not be critical when the subject is not empty
///   (CA/Browser Forum BR §7.1.2.7.12; RFC 5280 §4.2.1.6 says SHOULD). It
///   names the peer, and a CA that marks it critical beside a subject name
///   did not make the certificate for TLS.
fn check_tls_end_entity(ee: &Cert<'_>) -> Result<(), CertError> {
    if ee.is_ca() {
        return Err(CertError::BasicConstraints(
            "CA certificate used as end-entity",
        ));
    }
    check_signing_key_usage(ee)?;
    if !ee.subject_rdns.is_empty() && ee.san.as_ref().is_some_and(|s| s.critical) {
        return Err(CertError::Profile(
            "critical subjectAltName with a non-empty subject",
        ));
    }
    Ok(())
}

/// A TLS end-entity's keyUsage, when present, must allow digitalSignature
/// (see [`check_tls_end_entity`]).
fn check_signing_key_usage(ee: &Cert<'_>) -> Result<(), CertError> {
    if ee
        .key_usage
        .is_some_and(|ku| ku & cert::KU_DIGITAL_SIGNATURE == 0)
    {
        return Err(CertError::BasicConstraints(
            "end-entity keyUsage lacks digitalSignature",
        ));
    }
    Ok(())
}

/// A [`ServerCertVerifier`] doing full path validation against a set of
/// trust anchors (Web PKI profile by default). It requires a server name:
/// without one it refuses the certificate.
#[derive(Debug, Clone)]
pub struct WebPkiVerifier {
    anchors: Arc<TrustAnchors>,
    policy: Policy,
}

impl WebPkiVerifier {
    /// A verifier for server certificates with [`Policy::new`]`(ServerAuth)`.
    pub fn new(anchors: Arc<TrustAnchors>) -> Self {
        WebPkiVerifier {
            anchors,
            policy: Policy::new(KeyUsage::ServerAuth),
        }
    }

    /// A verifier with a caller-chosen policy.
    pub fn with_policy(anchors: Arc<TrustAnchors>, policy: Policy) -> Self {
        WebPkiVerifier { anchors, policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The trust anchors.
    pub fn anchors(&self) -> &Arc<TrustAnchors> {
        &self.anchors
    }
}

impl ServerCertVerifier for WebPkiVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let name = server_name.ok_or(Error::BadCertificate("no server name to verify against"))?;
        let name = ServerName::parse(name)?;
        verify_chain_with_policy(
            &self.anchors,
            end_entity,
            intermediates,
            Some(&name),
            now,
            &self.policy,
        )?;
        Ok(ServerCertVerified::assertion())
    }
}

/// Checks a certificate trusted as it is (e.g. a self-signed server listed
/// in a CA file, as OpenSSL treats one): valid at `now`, a keyUsage (if
/// any) that allows digitalSignature (as for any TLS end-entity, see
/// [`verify_chain_with_policy`]; OpenSSL checks the purpose of such a
/// certificate too), and, when `name` is given, valid for that DNS name or
/// IP address by its subjectAltName (no Common Name fallback). No chain is
/// built and no issuer is checked; a CA certificate is fine here (a
/// self-signed certificate usually is one).
pub fn check_trusted_certificate(
    cert_der: &[u8],
    name: Option<&str>,
    now: UnixTime,
) -> Result<(), CertError> {
    let cert = Cert::parse(cert_der)?;
    cert.check_validity(i64::try_from(now.0).unwrap_or(i64::MAX))?;
    check_signing_key_usage(&cert)?;
    if let Some(name) = name {
        let reference = ServerName::parse(name)?;
        if !cert
            .san_names()
            .iter()
            .any(|san| names::san_matches(san, &reference))
        {
            return Err(CertError::NameMismatch);
        }
    }
    Ok(())
}

/// A [`ClientCertVerifier`] for mutual TLS: path validation of the client's
/// certificate for clientAuth against a set of trust anchors
/// ([`Policy::new`]`(ClientAuth)` by default). No name is checked: who the
/// client is, is the caller's access-control decision.
#[derive(Debug, Clone)]
pub struct WebPkiClientVerifier {
    anchors: Arc<TrustAnchors>,
    policy: Policy,
}

impl WebPkiClientVerifier {
    /// A verifier for client certificates with [`Policy::new`]`(ClientAuth)`.
    pub fn new(anchors: Arc<TrustAnchors>) -> Self {
        WebPkiClientVerifier {
            anchors,
            policy: Policy::new(KeyUsage::ClientAuth),
        }
    }

    /// A verifier with a caller-chosen policy.
    pub fn with_policy(anchors: Arc<TrustAnchors>, policy: Policy) -> Self {
        WebPkiClientVerifier { anchors, policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The trust anchors.
    pub fn anchors(&self) -> &Arc<TrustAnchors> {
        &self.anchors
    }
}

impl ClientCertVerifier for WebPkiClientVerifier {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        verify_chain_with_policy(
            &self.anchors,
            end_entity,
            intermediates,
            None,
            now,
            &self.policy,
        )?;
        Ok(ClientCertVerified::assertion())
    }
}
