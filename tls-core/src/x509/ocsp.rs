//! OCSP (RFC 6960): building a request for one certificate and checking the
//! responder's answer, strictly and within fixed limits, failing closed.
//!
//! A response is accepted only when it is a `successful` BasicOCSPResponse
//! whose signature is by the certificate's issuer, or by a responder
//! certificate carried in the response that the issuer signed, that names
//! the issuer, that is valid now and that carries id-kp-OCSPSigning
//! (§4.2.2.2); the signer must be the one the responderID names. The
//! SingleResponse for the certificate (CertID: hash of the issuer's name and
//! key with SHA-1 or SHA-256, and the serial) must be current: thisUpdate
//! not in the future and nextUpdate, when given, not past, each with five
//! minutes of clock skew (as OpenSSL's `OCSP_check_validity` used by
//! stunnel). When a nonce was sent, the response must echo it. An unknown
//! critical extension anywhere fails.
//!
//! The fetch itself (HTTP) is the caller's: this module does no I/O.

use alloc::string::String;
use alloc::vec::Vec;

use super::anchors::TrustAnchor;
use super::cert::{verify_signature, Cert};
use super::error::CertError;
use crate::config::UnixTime;
use crate::der::{self, Reader};

/// id-pkix-ocsp-basic.
const OID_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
/// id-pkix-ocsp-nonce.
const OID_NONCE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
/// id-kp-OCSPSigning.
const OID_OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];
/// id-sha1.
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// id-sha256.
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// AlgorithmIdentifier for SHA-1 with NULL parameters, as requests carry it.
const SHA1_ALG_ID: &[u8] = &[
    0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
];

/// The largest response accepted, in bytes.
pub const MAX_OCSP_RESPONSE: usize = 64 * 1024;
/// SingleResponses looked through in one response.
const MAX_SINGLE_RESPONSES: usize = 32;
/// Certificates looked through in one response.
const MAX_RESPONSE_CERTS: usize = 8;
/// Allowed clock skew for thisUpdate and nextUpdate, in seconds.
const SKEW_SECS: i64 = 300;
/// Nonce length sent (RFC 8954: 1 to 32 octets).
pub const OCSP_NONCE_LEN: usize = 16;

const BAD: CertError = CertError::Malformed("malformed OCSP response");

/// The certificate whose status is asked about, with its issuer: what an
/// OCSP request names and a response is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspTarget {
    cert: Vec<u8>,
    serial: Vec<u8>,
    issuer_name: Vec<u8>,
    issuer_spki: Vec<u8>,
}

/// Who may sign responses besides delegated responders: the issuer's name
/// and key, from a certificate or a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspIssuer {
    subject: Vec<u8>,
    spki: Vec<u8>,
}

impl OcspIssuer {
    /// The issuer described by a DER certificate.
    pub fn from_cert(der: &[u8]) -> Result<OcspIssuer, CertError> {
        let c = Cert::parse(der)?;
        Ok(OcspIssuer {
            subject: c.subject.to_vec(),
            spki: c.spki.to_vec(),
        })
    }

    /// The issuer described by a trust anchor.
    pub fn from_anchor(anchor: &TrustAnchor) -> OcspIssuer {
        OcspIssuer {
            subject: anchor.subject().to_vec(),
            spki: anchor.spki().to_vec(),
        }
    }
}

/// What the responder said about the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspStatus {
    /// Not revoked.
    Good,
    /// Revoked, at this time (seconds since the epoch).
    Revoked(i64),
    /// The responder does not know the certificate.
    Unknown,
}

/// A response that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspVerified {
    /// The certificate's status.
    pub status: OcspStatus,
    /// thisUpdate, in seconds since the epoch.
    pub this_update: i64,
    /// nextUpdate, when the responder gave one.
    pub next_update: Option<i64>,
}

/// Which signers a response may have (stunnel's `OCSPflag = NOCASIGN` and
/// `NODELEGATED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspSigners {
    /// A response signed by the issuer itself is accepted.
    pub issuer: bool,
    /// A response signed by a delegated responder is accepted.
    pub delegated: bool,
}

impl Default for OcspSigners {
    /// Both, as RFC 6960 allows.
    fn default() -> Self {
        OcspSigners {
            issuer: true,
            delegated: true,
        }
    }
}

impl OcspTarget {
    /// The target for `cert` (DER), issued by the first of `issuers` whose
    /// subject is the certificate's issuer name and whose key verifies the
    /// certificate's signature, with that issuer's index; `None` when none
    /// does (or `cert` does not parse).
    pub fn find(cert: &[u8], issuers: &[OcspIssuer]) -> Option<(OcspTarget, usize)> {
        let c = Cert::parse(cert).ok()?;
        let index = issuers
            .iter()
            .position(|i| i.subject == c.issuer && c.verify_signed_by(&i.spki).is_ok())?;
        let issuer = issuers.get(index)?;
        let target = OcspTarget {
            cert: cert.to_vec(),
            serial: c.serial.to_vec(),
            issuer_name: c.issuer.to_vec(),
            issuer_spki: issuer.spki.clone(),
        };
        Some((target, index))
    }

    /// The certificate asked about (DER).
    pub fn cert(&self) -> &[u8] {
        &self.cert
    }

    /// The OCSP responder URLs in the certificate's
    /// authorityInfoAccess extension (`OCSPaia`), in order.
    pub fn aia_urls(&self) -> Vec<String> {
        aia_ocsp_urls(&self.cert)
    }

    /// A DER OCSPRequest for this certificate (CertID with SHA-1, as RFC
    /// 5019 responders expect), unsigned, with the nonce extension when
    /// `nonce` is given (1 to 32 bytes).
    pub fn request(&self, nonce: Option<&[u8]>) -> Vec<u8> {
        let mut cert_id = Vec::new();
        cert_id.extend_from_slice(SHA1_ALG_ID);
        let key = key_bits(&self.issuer_spki).unwrap_or_default();
        tlv(&mut cert_id, der::OCTET_STRING, &sha1(&self.issuer_name));
        tlv(&mut cert_id, der::OCTET_STRING, &sha1(key));
        tlv(&mut cert_id, der::INTEGER, &self.serial);
        let mut request = Vec::new();
        tlv(&mut request, der::SEQUENCE, &wrap(der::SEQUENCE, &cert_id));
        let mut tbs = Vec::new();
        tlv(&mut tbs, der::SEQUENCE, &request);
        if let Some(nonce) = nonce {
            let mut ext = Vec::new();
            tlv(&mut ext, der::OID, OID_NONCE);
            tlv(&mut ext, der::OCTET_STRING, &wrap(der::OCTET_STRING, nonce));
            let list = wrap(der::SEQUENCE, &wrap(der::SEQUENCE, &ext));
            tlv(&mut tbs, der::context_constructed(2), &list);
        }
        wrap(der::SEQUENCE, &wrap(der::SEQUENCE, &tbs))
    }

    /// Checks a DER OCSPResponse about this certificate at `now` (see the
    /// module documentation). `nonce` is the one sent, if any; `signers`
    /// says who may sign.
    pub fn verify(
        &self,
        response: &[u8],
        nonce: Option<&[u8]>,
        signers: OcspSigners,
        now: UnixTime,
    ) -> Result<OcspVerified, CertError> {
        if response.len() > MAX_OCSP_RESPONSE {
            return Err(CertError::Revocation("OCSP response too large"));
        }
        let now = i64::try_from(now.0).unwrap_or(i64::MAX);
        let basic = basic_response(response)?;
        let mut b = Reader::new(basic);
        let mut outer = b.sequence().ok_or(BAD)?;
        b.finish().ok_or(BAD)?;
        let tbs = outer.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        let sig_alg = outer.expect_tlv(der::SEQUENCE).ok_or(BAD)?;
        let signature = outer.bit_string_bytes().ok_or(BAD)?;
        let certs = outer.optional(der::context_constructed(0)).ok_or(BAD)?;
        outer.finish().ok_or(BAD)?;

        let mut t = Reader::new(tbs.contents);
        if let Some(v) = t.optional(der::context_constructed(0)).ok_or(BAD)? {
            if der::single(v, der::INTEGER) != Some(&[0]) {
                return Err(CertError::Revocation("unknown OCSP response version"));
            }
        }
        let responder = t.read().ok_or(BAD)?;
        t.expect_tlv(0x18).ok_or(BAD)?; // producedAt
        let responses = t.take(der::SEQUENCE).ok_or(BAD)?;
        let extensions = t.optional(der::context_constructed(1)).ok_or(BAD)?;
        t.finish().ok_or(BAD)?;

        // Who signed: the issuer, or a delegated responder from `certs`.
        let signer_spki = self.signer(responder, certs, signers, now)?;
        verify_signature(&signer_spki, sig_alg.encoded, tbs.encoded, signature)?;

        let mut echoed = None;
        for (oid, critical, value) in extension_list(extensions)? {
            if oid == OID_NONCE {
                echoed = Some(value);
            } else if critical {
                return Err(CertError::Revocation("unknown critical OCSP extension"));
            }
        }
        if let Some(sent) = nonce {
            // extnValue holds the nonce as an OCTET STRING (RFC 8954).
            if echoed != Some(wrap(der::OCTET_STRING, sent).as_slice()) {
                return Err(CertError::Revocation("OCSP nonce missing or different"));
            }
        }

        let mut list = Reader::new(responses);
        let mut seen = 0usize;
        while !list.is_empty() {
            seen += 1;
            if seen > MAX_SINGLE_RESPONSES {
                return Err(CertError::BudgetExceeded("too many OCSP single responses"));
            }
            let mut single = list.sequence().ok_or(BAD)?;
            let cert_id = single.take(der::SEQUENCE).ok_or(BAD)?;
            if !self.matches(cert_id)? {
                continue;
            }
            let status = single.read().ok_or(BAD)?;
            let this_update = generalized_time(single.take(0x18).ok_or(BAD)?)?;
            let next_update = match single.optional(der::context_constructed(0)).ok_or(BAD)? {
                Some(n) => Some(generalized_time(der::single(n, 0x18).ok_or(BAD)?)?),
                None => None,
            };
            let single_ext = single.optional(der::context_constructed(1)).ok_or(BAD)?;
            single.finish().ok_or(BAD)?;
            if extension_list(single_ext)?.iter().any(|e| e.1) {
                return Err(CertError::Revocation("unknown critical OCSP extension"));
            }
            let status = match (status.tag, status.contents) {
                (0x80, []) => OcspStatus::Good,
                (0xa1, info) => {
                    let mut r = Reader::new(info);
                    let at = generalized_time(r.take(0x18).ok_or(BAD)?)?;
                    r.optional(der::context_constructed(0)).ok_or(BAD)?;
                    r.finish().ok_or(BAD)?;
                    OcspStatus::Revoked(at)
                }
                (0x82, []) => OcspStatus::Unknown,
                _ => return Err(BAD),
            };
            if this_update > now.saturating_add(SKEW_SECS) {
                return Err(CertError::Revocation("OCSP response not yet valid"));
            }
            if next_update.is_some_and(|n| n.saturating_add(SKEW_SECS) < now) {
                return Err(CertError::Revocation("OCSP response expired"));
            }
            if next_update.is_some_and(|n| n < this_update) {
                return Err(CertError::Revocation("OCSP nextUpdate before thisUpdate"));
            }
            return Ok(OcspVerified {
                status,
                this_update,
                next_update,
            });
        }
        Err(CertError::Revocation(
            "OCSP response does not cover the certificate",
        ))
    }

    /// True when `cert_id` (contents) names this certificate.
    fn matches(&self, cert_id: &[u8]) -> Result<bool, CertError> {
        let mut r = Reader::new(cert_id);
        let mut alg = r.sequence().ok_or(BAD)?;
        let oid = alg.take(der::OID).ok_or(BAD)?;
        if !(alg.is_empty() || alg.take(der::NULL) == Some(&[])) || !alg.is_empty() {
            return Err(BAD);
        }
        let name_hash = r.take(der::OCTET_STRING).ok_or(BAD)?;
        let key_hash = r.take(der::OCTET_STRING).ok_or(BAD)?;
        let serial = r.take(der::INTEGER).ok_or(BAD)?;
        r.finish().ok_or(BAD)?;
        let digest: fn(&[u8]) -> Vec<u8> = match oid {
            OID_SHA1 => sha1,
            OID_SHA256 => sha256,
            _ => return Ok(false),
        };
        let key = key_bits(&self.issuer_spki)?;
        Ok(serial == self.serial.as_slice()
            && name_hash == digest(&self.issuer_name).as_slice()
            && key_hash == digest(key).as_slice())
    }

    /// The key that must have signed the response, after checking a
    /// delegated responder's certificate.
    fn signer(
        &self,
        responder: der::Tlv<'_>,
        certs: Option<&[u8]>,
        signers: OcspSigners,
        now: i64,
    ) -> Result<Vec<u8>, CertError> {
        // ResponderID: byName [1] Name, byKey [2] KeyHash (SHA-1 of the key).
        let names = |subject: &[u8], spki: &[u8]| -> Result<bool, CertError> {
            match responder.tag {
                0xa1 => Ok(responder.contents == subject),
                0xa2 => {
                    let hash = der::single(responder.contents, der::OCTET_STRING).ok_or(BAD)?;
                    Ok(hash == sha1(key_bits(spki)?).as_slice())
                }
                _ => Err(BAD),
            }
        };
        if names(&self.issuer_name, &self.issuer_spki)? {
            if !signers.issuer {
                return Err(CertError::Revocation(
                    "OCSP response signed by the CA (NOCASIGN)",
                ));
            }
            return Ok(self.issuer_spki.clone());
        }
        let list = match certs {
            Some(c) => der::single(c, der::SEQUENCE).ok_or(BAD)?,
            None => &[],
        };
        let mut r = Reader::new(list);
        for _ in 0..MAX_RESPONSE_CERTS {
            if r.is_empty() {
                break;
            }
            let der = r.expect_tlv(der::SEQUENCE).ok_or(BAD)?.encoded;
            let c = Cert::parse(der)?;
            if !names(c.subject, c.spki)? {
                continue;
            }
            if !signers.delegated {
                return Err(CertError::Revocation(
                    "OCSP response signed by a delegated responder (NODELEGATED)",
                ));
            }
            if c.issuer != self.issuer_name.as_slice() {
                return Err(CertError::Revocation("OCSP responder not issued by the CA"));
            }
            if let Some(defect) = c.defect {
                return Err(defect);
            }
            c.check_validity(now)?;
            if !c.eku.as_ref().is_some_and(|e| e.has(OID_OCSP_SIGNING)) {
                return Err(CertError::Revocation(
                    "OCSP responder lacks id-kp-OCSPSigning",
                ));
            }
            c.verify_signed_by(&self.issuer_spki)?;
            return Ok(c.spki.to_vec());
        }
        Err(CertError::Revocation("OCSP response signer not found"))
    }
}

/// The BasicOCSPResponse inside an OCSPResponse, when its status is
/// `successful`.
fn basic_response(response: &[u8]) -> Result<&[u8], CertError> {
    let mut r = Reader::new(response);
    let mut outer = r.sequence().ok_or(BAD)?;
    r.finish().ok_or(BAD)?;
    match outer.take(0x0a).ok_or(BAD)? {
        [0] => {}
        [1] => return Err(CertError::Revocation("OCSP responder: malformed request")),
        [2] => return Err(CertError::Revocation("OCSP responder: internal error")),
        [3] => return Err(CertError::Revocation("OCSP responder: try later")),
        [5] => return Err(CertError::Revocation("OCSP responder: signature required")),
        [6] => return Err(CertError::Revocation("OCSP responder: unauthorized")),
        _ => return Err(BAD),
    }
    let bytes = outer.take(der::context_constructed(0)).ok_or(BAD)?;
    outer.finish().ok_or(BAD)?;
    let mut rb = Reader::new(der::single(bytes, der::SEQUENCE).ok_or(BAD)?);
    if rb.take(der::OID).ok_or(BAD)? != OID_BASIC {
        return Err(CertError::Revocation("OCSP response type is not basic"));
    }
    let basic = rb.take(der::OCTET_STRING).ok_or(BAD)?;
    rb.finish().ok_or(BAD)?;
    Ok(basic)
}

/// One extension: extnID contents, critical, extnValue contents.
type Extension<'a> = (&'a [u8], bool, &'a [u8]);

/// The extensions of an `[n] EXPLICIT Extensions`, duplicates refused.
fn extension_list(explicit: Option<&[u8]>) -> Result<Vec<Extension<'_>>, CertError> {
    let mut out: Vec<Extension<'_>> = Vec::new();
    let Some(explicit) = explicit else {
        return Ok(out);
    };
    let mut list = Reader::new(der::single(explicit, der::SEQUENCE).ok_or(BAD)?);
    while !list.is_empty() {
        if out.len() >= MAX_SINGLE_RESPONSES {
            return Err(CertError::BudgetExceeded("too many OCSP extensions"));
        }
        let mut ext = list.sequence().ok_or(BAD)?;
        let oid = ext.take(der::OID).ok_or(BAD)?;
        let critical = match ext.optional(der::BOOLEAN).ok_or(BAD)? {
            // DER: a DEFAULT FALSE is never encoded.
            Some(b) => der::boolean(b).filter(|&c| c).ok_or(BAD)?,
            None => false,
        };
        let value = ext.take(der::OCTET_STRING).ok_or(BAD)?;
        ext.finish().ok_or(BAD)?;
        if out.iter().any(|e| e.0 == oid) {
            return Err(CertError::Revocation("duplicate OCSP extension"));
        }
        out.push((oid, critical, value));
    }
    Ok(out)
}

/// The subjectPublicKey bits of a SubjectPublicKeyInfo (what key hashes
/// cover).
fn key_bits(spki: &[u8]) -> Result<&[u8], CertError> {
    let mut r = Reader::new(spki);
    let mut s = r.sequence().ok_or(BAD)?;
    s.take(der::SEQUENCE).ok_or(BAD)?;
    let bits = s.bit_string_bytes().ok_or(BAD)?;
    s.finish().ok_or(BAD)?;
    Ok(bits)
}

/// A GeneralizedTime in its DER form `YYYYMMDDHHMMSSZ`, as seconds since
/// the epoch.
fn generalized_time(s: &[u8]) -> Result<i64, CertError> {
    der::generalized_time(s).ok_or(CertError::Malformed("malformed OCSP time"))
}

/// The OCSP responder URIs of a certificate's authorityInfoAccess (none if
/// it does not parse).
fn aia_ocsp_urls(cert: &[u8]) -> Vec<String> {
    Cert::parse(cert)
        .map(|c| c.ocsp_urls.iter().map(|u| String::from(*u)).collect())
        .unwrap_or_default()
}

fn sha1(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// Appends a DER element.
fn tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            let digits = bytes.get(skip..).unwrap_or_default();
            // At most 8 length octets.
            out.push(0x80 | u8::try_from(digits.len()).unwrap_or(8));
            out.extend_from_slice(digits);
        }
    }
    out.extend_from_slice(contents);
}

/// One DER element as a new buffer.
fn wrap(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    tlv(&mut out, tag, contents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocsp_generalized_time() {
        assert_eq!(generalized_time(b"19700101000000Z"), Ok(0));
        assert_eq!(generalized_time(b"20260301120000Z"), Ok(1_772_366_400));
        assert!(generalized_time(b"20260301120000").is_err());
        assert!(generalized_time(b"20261301120000Z").is_err());
        assert!(generalized_time(b"2026030112000.5Z").is_err());
    }

    #[test]
    fn ocsp_der_length_forms() {
        assert_eq!(wrap(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        let long = wrap(0x04, &[0; 300]);
        assert_eq!(long.get(..4), Some(&[0x04, 0x82, 0x01, 0x2c][..]));
    }
}
