//! Trust material from disk: CA files and stunnel's hashed CA directories,
//! certificate revocation lists, and stunnel's rule that with CRLs given
//! every certificate of the peer's chain needs a CRL from its issuer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tls_core::x509::{pem_blocks, pem_certificates};
use tls_core::TrustAnchors;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::config::TrustExtras;
use crate::tls::{load_certs, read};

/// The regular files of a directory (following links), in name order.
fn dir_files(dir: &Path, what: &str) -> Result<Vec<std::path::PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {what} {}: {e}", dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        .collect();
    files.sort();
    Ok(files)
}

/// The DER CRLs of stunnel's CRLfile (PEM blocks, or one DER CRL) and
/// CRLpath (every file of the directory holding CRLs), in that order, each
/// with the file it came from.
fn load_crl_ders(trust: &TrustExtras) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    let mut crls = Vec::new();
    if let Some(file) = &trust.crl_file {
        let data = read(file, "CRL file")?;
        match pem_blocks(&data, "X509 CRL") {
            Ok(blocks) => crls.extend(blocks.into_iter().map(|b| (file.clone(), b))),
            Err(_) if data.first() == Some(&0x30) => crls.push((file.clone(), data)),
            Err(e) => {
                return Err(format!(
                    "CRL file {}: no CRL in this file (expected PEM blocks -----BEGIN X509 \
                     CRL----- or one DER CRL): {e}",
                    file.display()
                ))
            }
        }
    }
    if let Some(dir) = &trust.crl_dir {
        for file in dir_files(dir, "CRL directory")? {
            if let Ok(blocks) = pem_blocks(&read(&file, "CRL file")?, "X509 CRL") {
                crls.extend(blocks.into_iter().map(|b| (file.clone(), b)));
            }
        }
    }
    Ok(crls)
}

/// A CA file, or stunnel's hashed CA directory: its certificates as trust
/// anchors for chain validation, and as they are, so that a self-signed peer
/// listed in it is accepted.
pub struct CaFile {
    pub certs: Vec<Vec<u8>>,
    pub anchors: Arc<TrustAnchors>,
}

impl CaFile {
    /// Loads `path` (a PEM file, or a directory whose every file holding
    /// certificates counts) and the extra CA directory of `trust`.
    pub fn load(path: &Path, trust: &TrustExtras) -> Result<CaFile, String> {
        let mut certs: Vec<Vec<u8>> = Vec::new();
        let mut add = |found: Vec<Vec<u8>>| {
            for der in found {
                if !certs.contains(&der) {
                    certs.push(der);
                }
            }
        };
        for source in std::iter::once(path).chain(trust.ca_dir.as_deref()) {
            if source.is_dir() {
                // A hashed directory also holds CRLs and other files: only
                // the certificates count.
                for file in dir_files(source, "CA directory")? {
                    if let Ok(found) = pem_certificates(&read(&file, "CA file")?) {
                        add(found);
                    }
                }
            } else {
                add(load_certs(source)?);
            }
        }
        if certs.is_empty() {
            return Err(format!(
                "CA file {}: no CA certificate found (expected PEM blocks -----BEGIN \
                 CERTIFICATE-----)",
                path.display()
            ));
        }
        let mut anchors = TrustAnchors::new();
        // Certificates that cannot be anchors (e.g. a self-signed end-entity
        // certificate) still count as listed certificates.
        for der in &certs {
            let _ = anchors.add_der(der);
        }
        Ok(CaFile {
            certs,
            anchors: Arc::new(anchors),
        })
    }

    pub fn lists(&self, end_entity: &[u8]) -> bool {
        self.certs.iter().any(|c| c.as_slice() == end_entity)
    }
}

/// The CRLs of a service: what chain validation checks revocation against,
/// and the issuers they cover.
#[derive(Default)]
pub struct Crls {
    /// The CRLs, DER.
    pub ders: Vec<Vec<u8>>,
    /// The raw issuer names of the CRLs.
    issuers: Vec<Vec<u8>>,
}

impl Crls {
    /// Loads CRLfile and CRLpath.
    pub fn load(trust: &TrustExtras) -> Result<Crls, String> {
        let mut ders = Vec::new();
        let mut issuers = Vec::new();
        for (file, der) in load_crl_ders(trust)? {
            let (_, crl) = CertificateRevocationList::from_der(&der)
                .map_err(|e| format!("CRL file {}: cannot parse a CRL: {e}", file.display()))?;
            issuers.push(crl.issuer().as_raw().to_vec());
            ders.push(der);
        }
        Ok(Crls { ders, issuers })
    }

    /// stunnel's CRL check (OpenSSL's CRL_CHECK_ALL): once CRLs are given,
    /// the end-entity certificate and every intermediate the peer sent
    /// (self-issued ones aside) must have a CRL from its issuer; a
    /// certificate nobody can say is not revoked is refused.
    pub fn cover(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
    ) -> Result<(), tls_core::Error> {
        if self.ders.is_empty() {
            return Ok(());
        }
        for der in std::iter::once(end_entity).chain(intermediates.iter().map(Vec::as_slice)) {
            let (_, cert) = X509Certificate::from_der(der)
                .map_err(|_| tls_core::Error::BadCertificate("unparsable certificate"))?;
            let issuer = cert.issuer().as_raw();
            if issuer == cert.subject().as_raw() && der != end_entity {
                continue;
            }
            if !self.issuers.iter().any(|i| i.as_slice() == issuer) {
                return Err(tls_core::Error::BadCertificate(
                    "no CRL from the certificate's issuer (CRLfile/CRLpath)",
                ));
            }
        }
        Ok(())
    }
}
