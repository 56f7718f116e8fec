//! Trust anchors: what we keep of each trusted CA certificate (subject,
//! key, name constraints and the few fields path validation consults), not
//! the certificate itself.

use alloc::vec::Vec;
#[cfg(feature = "std")]
use std::path::Path;

use super::cert::{self, Cert, Role};
use super::constraints::{self, NameConstraints};
use super::error::CertError;

/// Where the system CA bundle is looked for, in order.
pub const SYSTEM_BUNDLE_PATHS: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// One trusted CA: its subject name and public key, plus the constraints
/// path validation honours (validity, name constraints, pathLenConstraint,
/// keyUsage, extendedKeyUsage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    subject: Vec<u8>,
    spki: Vec<u8>,
    name_constraints: Option<Vec<u8>>,
    not_before: i64,
    not_after: i64,
    path_len: Option<u64>,
    key_usage: Option<u16>,
    eku: Option<Vec<Vec<u8>>>,
    ski: Option<Vec<u8>>,
}

impl TrustAnchor {
    /// Extracts a trust anchor from a DER certificate. The certificate must
    /// parse, be a CA certificate and pass the profile checks (version 3,
    /// critical basicConstraints with cA, subjectKeyIdentifier, keyUsage with
    /// keyCertSign if present, no unknown critical extension, an accepted
    /// key, a consistent authorityKeyIdentifier). Its validity period is
    /// kept and checked at verification time.
    pub fn from_der(der: &[u8]) -> Result<TrustAnchor, CertError> {
        let c = Cert::parse(der)?;
        c.check_profile(Role::Anchor)?;
        Ok(TrustAnchor {
            subject: c.subject.to_vec(),
            spki: c.spki.to_vec(),
            name_constraints: c.name_constraints_der.map(<[u8]>::to_vec),
            not_before: c.not_before,
            not_after: c.not_after,
            path_len: c.basic.and_then(|b| b.path_len),
            key_usage: c.key_usage,
            eku: c
                .eku
                .as_ref()
                .map(|e| e.purposes.iter().map(|p| p.to_vec()).collect()),
            ski: c.ski.map(<[u8]>::to_vec),
        })
    }

    /// The subject Name (DER).
    pub fn subject(&self) -> &[u8] {
        &self.subject
    }

    /// The SubjectPublicKeyInfo (DER).
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    pub(crate) fn subject_key_id(&self) -> Option<&[u8]> {
        self.ski.as_deref()
    }

    pub(crate) fn path_len(&self) -> Option<u64> {
        self.path_len
    }

    pub(crate) fn key_usage(&self) -> Option<u16> {
        self.key_usage
    }

    /// The extendedKeyUsage purposes, if the anchor certificate had them.
    pub(crate) fn eku(&self) -> Option<&[Vec<u8>]> {
        self.eku.as_deref()
    }

    pub(crate) fn check_validity(&self, now: i64) -> Result<(), CertError> {
        cert::check_validity(self.not_before, self.not_after, now)
    }

    /// The anchor's name constraints, parsed (validated when loaded).
    pub(crate) fn name_constraints(&self) -> Result<Option<NameConstraints<'_>>, CertError> {
        self.name_constraints
            .as_deref()
            .map(constraints::parse)
            .transpose()
    }
}

/// A set of trust anchors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustAnchors {
    anchors: Vec<TrustAnchor>,
    skipped: usize,
}

impl TrustAnchors {
    /// An empty set.
    pub fn new() -> Self {
        TrustAnchors::default()
    }

    /// Adds one DER certificate as a trust anchor (see
    /// [`TrustAnchor::from_der`]); on error nothing is added.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), CertError> {
        self.anchors.push(TrustAnchor::from_der(der)?);
        Ok(())
    }

    /// Parses every CERTIFICATE block of a PEM file's contents. Strict: any
    /// block that is not an acceptable trust anchor is an error, and so is
    /// input with no certificate at all.
    pub fn from_pem(pem: &[u8]) -> Result<TrustAnchors, CertError> {
        let mut anchors = TrustAnchors::new();
        for der in pem_certificates(pem)? {
            anchors.add_der(&der)?;
        }
        Ok(anchors)
    }

    /// [`TrustAnchors::from_pem`] on a file's contents.
    #[cfg(feature = "std")]
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<TrustAnchors, CertError> {
        let pem = std::fs::read(path).map_err(|_| CertError::Io("cannot read CA file"))?;
        TrustAnchors::from_pem(&pem)
    }

    /// Adds every CERTIFICATE block that is an acceptable trust anchor and
    /// skips (and counts, see [`TrustAnchors::skipped`]) the rest. Returns
    /// how many were added.
    pub fn add_pem_lenient(&mut self, pem: &[u8]) -> Result<usize, CertError> {
        let mut added = 0;
        for der in pem_certificates(pem)? {
            match TrustAnchor::from_der(&der) {
                Ok(anchor) => {
                    self.anchors.push(anchor);
                    added += 1;
                }
                Err(_) => self.skipped += 1,
            }
        }
        Ok(added)
    }

    /// The system CA bundle: the first of [`SYSTEM_BUNDLE_PATHS`] that
    /// exists, loaded leniently (certificates that fail our profile checks,
    /// typically legacy roots, are skipped and counted). An error if no
    /// bundle exists or none of its certificates is usable.
    #[cfg(feature = "std")]
    pub fn from_system() -> Result<TrustAnchors, CertError> {
        for path in SYSTEM_BUNDLE_PATHS {
            let Ok(pem) = std::fs::read(path) else {
                continue;
            };
            let mut anchors = TrustAnchors::new();
            anchors.add_pem_lenient(&pem)?;
            if anchors.is_empty() {
                return Err(CertError::Io("system CA bundle has no usable certificate"));
            }
            return Ok(anchors);
        }
        Err(CertError::Io("no system CA bundle found"))
    }

    /// How many anchors the set holds.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// True if the set holds no anchor.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// How many certificates the lenient loaders skipped.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The anchors, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &TrustAnchor> {
        self.anchors.iter()
    }

    /// The anchor at `index` (as in [`super::VerifiedPath::anchor`]).
    pub fn get(&self, index: usize) -> Option<&TrustAnchor> {
        self.anchors.get(index)
    }
}

/// The DER contents of every PEM block labelled `label` (e.g.
/// `"CERTIFICATE"`, `"X509 CRL"`), in order; other blocks are ignored.
/// Malformed PEM, or no block with the label, is an error.
pub fn pem_blocks(pem: &[u8], label: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let out: Vec<Vec<u8>> = crate::keys::pem_blocks(pem)
        .map_err(|_| CertError::Malformed("malformed PEM"))?
        .into_iter()
        .filter(|(l, _)| l == label)
        .map(|(_, der)| der)
        .collect();
    if out.is_empty() {
        return Err(CertError::Malformed("no PEM block with the expected label"));
    }
    Ok(out)
}

/// The DER certificates of a PEM file's contents ([`pem_blocks`] with
/// `"CERTIFICATE"`).
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, CertError> {
    pem_blocks(pem, "CERTIFICATE")
}
