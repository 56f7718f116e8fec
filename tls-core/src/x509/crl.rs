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
        let (rest, crl) = x509_parser::parse_x509_crl(der).map_err(|_| BAD)?;
        if !rest.is_empty() {
            return Err(BAD);
        }
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
        if t.peek_tag() == Some(der::INTEGER) {
            t.read().ok_or(BAD)?;
        }
        let inner_alg = t.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        let issuer = t.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        t.read().ok_or(BAD)?; // thisUpdate
        if matches!(t.peek_tag(), Some(0x17 | 0x18)) {
            t.read().ok_or(BAD)?; // nextUpdate
        }
        // Serials of the revoked certificates, from our own walk so they
        // borrow the input.
        let mut revoked = Vec::new();
        if let Some(list) = t.optional(der::SEQUENCE).ok_or(BAD)? {
            let mut entries = Reader::new(list);
            while !entries.is_empty() {
                let mut entry = entries.sequence().ok_or(BAD)?;
                revoked.push(entry.take(der::INTEGER).ok_or(BAD)?);
            }
        }

        let mut problem = None;
        if inner_alg.encoded != sig_alg.encoded {
            problem = Some(CertError::Revocation("CRL signature algorithms differ"));
        }
        let mut has_number = false;
        let mut seen: Vec<&[u8]> = Vec::new();
        for ext in crl.extensions() {
            let oid = ext.oid.as_bytes();
            if seen.contains(&oid) {
                problem = Some(CertError::Revocation("duplicate CRL extension"));
            }
            seen.push(oid);
            match oid {
                OID_CRL_NUMBER => {
                    has_number = true;
                    if ext.critical {
                        problem = Some(CertError::Revocation("critical cRLNumber"));
                    }
                }
                OID_AKI if !ext.critical => {}
                // issuingDistributionPoint, deltaCRLIndicator and anything
                // else critical: not supported.
                _ if ext.critical => {
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
        for entry in crl.iter_revoked_certificates() {
            for ext in entry.extensions() {
                let oid = ext.oid.as_bytes();
                if ext.critical || !(oid == OID_REASON_CODE || oid == OID_INVALIDITY_DATE) {
                    if ext.critical {
                        problem = Some(CertError::Revocation("unsupported CRL entry extension"));
                    }
                    // certificateIssuer (indirect CRLs) changes whose serials
                    // follow: not supported.
                    if oid == [0x55, 0x1d, 0x1d] {
                        problem = Some(CertError::Revocation("indirect CRL"));
                    }
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
