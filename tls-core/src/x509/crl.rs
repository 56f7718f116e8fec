//! Certificate revocation lists: a CRL the caller supplies is checked for
//! every certificate on a candidate path whose issuer it names.
//!
//! Supported: complete CRLs (v2, with a non-critical cRLNumber) signed
//! directly by the certificate's issuer. A CRL that names the issuer but
//! cannot be used (bad signature, issuer without cRLSign, delta or
//! partitioned CRL, unknown critical extension) fails the path: we fail
//! closed rather than ignore it. CRL times (thisUpdate/nextUpdate) are not
//! enforced.

use alloc::vec::Vec;

use super::error::CertError;
use crate::der::{self, Reader};

const OID_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23];
const OID_REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
const OID_INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18];

/// A parsed CRL, borrowing its DER.
#[derive(Debug, Clone)]
pub(crate) struct Crl<'a> {
    /// The issuer Name, whole encoding.
    pub(crate) issuer: &'a [u8],
    /// The signed part, whole encoding.
    pub(crate) tbs: &'a [u8],
    /// The signatureAlgorithm, whole encoding.
    pub(crate) sig_alg: &'a [u8],
    /// The signature bytes.
    pub(crate) signature: &'a [u8],
    /// Serial numbers (INTEGER contents) of the revoked certificates.
    pub(crate) revoked: Vec<&'a [u8]>,
    /// Why this CRL cannot be used, if it cannot.
    pub(crate) problem: Option<CertError>,
}

impl<'a> Crl<'a> {
    /// Parses a DER CRL. A CRL that does not parse at all is an error; one
    /// that parses but breaks the rules above carries its `problem`.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Crl<'a>, CertError> {
        const BAD: CertError = CertError::Malformed("malformed CRL");
        let mut outer = Reader::new(der);
        let mut list = outer.sequence().ok_or(BAD)?;
        outer.finish().ok_or(BAD)?;
        let tbs = list.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        let sig_alg = list.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        let signature = match list.take(der::BIT_STRING).and_then(der::bit_string) {
            Some((0, bytes)) => bytes,
            _ => return Err(BAD),
        };
        list.finish().ok_or(BAD)?;
        let mut t = Reader::new(tbs.contents);
        // version: absent (v1) or v2, encoded as 1.
        if let Some(version) = t.optional(der::INTEGER).ok_or(BAD)? {
            if version != [1] {
                return Err(BAD);
            }
        }
        let inner_alg = t.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        let issuer = t.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        t.read().and_then(der::time).ok_or(BAD)?; // thisUpdate
        if matches!(t.peek_tag(), Some(der::UTC_TIME | der::GENERALIZED_TIME)) {
            t.read().and_then(der::time).ok_or(BAD)?; // nextUpdate
        }
        // Serials of the revoked certificates (borrowing the input) and each
        // entry's extensions.
        let mut revoked = Vec::new();
        let mut entry_extensions = Vec::new();
        if let Some(list) = t.optional(der::SEQUENCE).ok_or(BAD)? {
            let mut entries = Reader::new(list);
            while !entries.is_empty() {
                let mut entry = entries.sequence().ok_or(BAD)?;
                revoked.push(entry.take(der::INTEGER).ok_or(BAD)?);
                entry.read().and_then(der::time).ok_or(BAD)?; // revocationDate
                if let Some(exts) = entry.optional(der::SEQUENCE).ok_or(BAD)? {
                    entry_extensions.extend(extensions(exts).ok_or(BAD)?);
                }
                entry.finish().ok_or(BAD)?;
            }
        }
        let crl_extensions = match t.optional(der::context_constructed(0)).ok_or(BAD)? {
            Some(explicit) => {
                extensions(der::single(explicit, der::SEQUENCE).ok_or(BAD)?).ok_or(BAD)?
            }
            None => Vec::new(),
        };
        t.finish().ok_or(BAD)?;

        let mut problem = None;
        if inner_alg.encoded != sig_alg.encoded {
            problem = Some(CertError::Revocation("CRL signature algorithms differ"));
        }
        let mut has_number = false;
        let mut seen: Vec<&[u8]> = Vec::new();
        for &(oid, critical, _) in &crl_extensions {
            if seen.contains(&oid) {
                problem = Some(CertError::Revocation("duplicate CRL extension"));
            }
            seen.push(oid);
            match oid {
                OID_CRL_NUMBER => {
                    has_number = true;
                    if critical {
                        problem = Some(CertError::Revocation("critical cRLNumber"));
                    }
                }
                OID_AKI if !critical => {}
                // issuingDistributionPoint, deltaCRLIndicator and anything
                // else critical: not supported.
                _ if critical => {
                    problem = Some(CertError::Revocation("unsupported critical CRL extension"));
                }
                [0x55, 0x1d, 0x1b] | [0x55, 0x1d, 0x1c] => {
                    problem = Some(CertError::Revocation("delta or partitioned CRL"));
                }
                _ => {}
            }
        }
        if !has_number {
            problem = Some(CertError::Revocation("CRL without cRLNumber"));
        }
        for &(oid, critical, _) in &entry_extensions {
            if critical || !(oid == OID_REASON_CODE || oid == OID_INVALIDITY_DATE) {
                if critical {
                    problem = Some(CertError::Revocation("unsupported CRL entry extension"));
                }
                // certificateIssuer (indirect CRLs) changes whose serials
                // follow: not supported.
                if oid == [0x55, 0x1d, 0x1d] {
                    problem = Some(CertError::Revocation("indirect CRL"));
                }
            }
        }
        Ok(Crl {
            issuer: issuer.encoded,
            tbs: tbs.encoded,
            sig_alg: sig_alg.encoded,
            signature,
            revoked,
            problem,
        })
    }
}

/// One extension: extnID contents, critical, extnValue contents.
type Extension<'a> = (&'a [u8], bool, &'a [u8]);

/// The extensions of an Extensions SEQUENCE's contents (at least one).
fn extensions(list: &[u8]) -> Option<Vec<Extension<'_>>> {
    let mut r = Reader::new(list);
    let mut out = Vec::new();
    if r.is_empty() {
        return None;
    }
    while !r.is_empty() {
        let mut ext = r.sequence()?;
        let oid = ext.take(der::OID)?;
        let critical = match ext.optional(der::BOOLEAN)? {
            Some(b) => der::boolean(b)?,
            None => false,
        };
        let value = ext.take(der::OCTET_STRING)?;
        ext.finish()?;
        out.push((oid, critical, value));
    }
    Some(out)
}
