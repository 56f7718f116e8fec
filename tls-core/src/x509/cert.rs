//! One certificate, parsed strictly with the crate's own DER reader (no
//! std needed): the raw pieces, the validity times and the extension values
//! we rely on, and the profile checks that do not depend on the rest of the
//! path.

use alloc::string::String;
use alloc::vec::Vec;

use super::constraints::{self, NameConstraints};
use super::error::CertError;
use super::names::{self, GeneralName, Rdn};
use crate::crypto::{self, CertSignatureAlg, SpkiAlg};
use crate::der::{self, Reader};
use crate::error::Error;

const OID_SKI: &[u8] = &[0x55, 0x1d, 0x0e];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const OID_NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
const OID_CERT_POLICIES: &[u8] = &[0x55, 0x1d, 0x20];
const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23];
const OID_POLICY_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x24];
const OID_EKU: &[u8] = &[0x55, 0x1d, 0x25];
const OID_AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
/// id-ad-ocsp, 1.3.6.1.5.5.7.48.1 (an authorityInfoAccess method).
const OID_AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];

/// id-kp-serverAuth, 1.3.6.1.5.5.7.3.1.
pub(crate) const EKU_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// id-kp-clientAuth, 1.3.6.1.5.5.7.3.2.
pub(crate) const EKU_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
/// anyExtendedKeyUsage, 2.5.29.37.0.
pub(crate) const EKU_ANY: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// digitalSignature (bit 0).
pub(crate) const KU_DIGITAL_SIGNATURE: u16 = 1 << 15;
/// keyCertSign (bit 5).
pub(crate) const KU_KEY_CERT_SIGN: u16 = 1 << (15 - 5);
/// cRLSign (bit 6).
pub(crate) const KU_CRL_SIGN: u16 = 1 << (15 - 6);

/// The most octets a serial number may have (RFC 5280 §4.1.2.2).
const MAX_SERIAL_LEN: usize = 20;

/// basicConstraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BasicConstraints {
    pub(crate) critical: bool,
    pub(crate) ca: bool,
    pub(crate) path_len: Option<u64>,
}

/// extendedKeyUsage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Eku<'a> {
    pub(crate) critical: bool,
    pub(crate) purposes: Vec<&'a [u8]>,
}

impl Eku<'_> {
    /// True if the purposes include `oid`.
    pub(crate) fn has(&self, oid: &[u8]) -> bool {
        self.purposes.contains(&oid)
    }
}

/// subjectAltName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct San<'a> {
    pub(crate) critical: bool,
    pub(crate) names: Vec<GeneralName<'a>>,
}

/// authorityKeyIdentifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Aki<'a> {
    pub(crate) key_id: Option<&'a [u8]>,
    pub(crate) has_issuer_or_serial: bool,
}

/// Where a certificate sits on a path; some profile rules depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The peer's certificate.
    EndEntity,
    /// An intermediate from the peer's chain.
    Intermediate,
    /// A certificate loaded as a trust anchor.
    Anchor,
}

/// A parsed certificate, borrowing its DER.
#[derive(Debug, Clone)]
pub(crate) struct Cert<'a> {
    /// The signed part (TBSCertificate), whole encoding.
    pub(crate) tbs: &'a [u8],
    /// The signatureAlgorithm, whole encoding.
    pub(crate) sig_alg: &'a [u8],
    /// The signature bytes.
    pub(crate) signature: &'a [u8],
    /// The serialNumber INTEGER's contents.
    pub(crate) serial: &'a [u8],
    /// The issuer Name, whole encoding.
    pub(crate) issuer: &'a [u8],
    /// The subject Name, whole encoding.
    pub(crate) subject: &'a [u8],
    /// The subject's RDNs.
    pub(crate) subject_rdns: Vec<Rdn<'a>>,
    /// The SubjectPublicKeyInfo, whole encoding.
    pub(crate) spki: &'a [u8],
    /// notBefore, Unix seconds.
    pub(crate) not_before: i64,
    /// notAfter, Unix seconds.
    pub(crate) not_after: i64,
    pub(crate) basic: Option<BasicConstraints>,
    pub(crate) key_usage: Option<u16>,
    pub(crate) eku: Option<Eku<'a>>,
    pub(crate) san: Option<San<'a>>,
    /// The nameConstraints extension's value (parsed in `name_constraints`).
    pub(crate) name_constraints_der: Option<&'a [u8]>,
    pub(crate) name_constraints: Option<NameConstraints<'a>>,
    pub(crate) aki: Option<Aki<'a>>,
    pub(crate) ski: Option<&'a [u8]>,
    /// The OCSP responder URIs of authorityInfoAccess, in order.
    pub(crate) ocsp_urls: Vec<&'a str>,
    /// Why the extensions could not be accepted, if they could not. The
    /// certificate is then unusable, but its names are known, so a path
    /// builder can say why a candidate issuer was refused.
    pub(crate) defect: Option<CertError>,
}

const MALFORMED: CertError = CertError::Malformed("malformed certificate");

impl<'a> Cert<'a> {
    /// Parses a DER certificate strictly, with every extension we
    /// understand. A version other than 3 is an error; an extension problem
    /// (an unknown critical extension, a duplicate, a malformed value) is
    /// kept in `defect` and reported by [`Cert::check_profile`].
    pub(crate) fn parse(der: &'a [u8]) -> Result<Cert<'a>, CertError> {
        let mut outer = Reader::new(der);
        let mut cert = outer.sequence().ok_or(MALFORMED)?;
        outer.finish().ok_or(MALFORMED)?;
        let tbs = cert.expect_tlv(der::SEQUENCE).ok_or(MALFORMED)?;
        let sig_alg = cert.expect_tlv(der::SEQUENCE).ok_or(MALFORMED)?;
        let signature = match cert.take(der::BIT_STRING).and_then(der::bit_string) {
            Some((0, bytes)) => bytes,
            _ => return Err(MALFORMED),
        };
        cert.finish().ok_or(MALFORMED)?;

        let mut t = Reader::new(tbs.contents);
        let version = t.optional(der::context_constructed(0)).ok_or(MALFORMED)?;
        // Only version 3 (as webpki): TLS needs the extensions (subjectAltName,
        // extendedKeyUsage, basicConstraints) that only v3 carries (§4.1.2.1).
        match version.and_then(|v| der::single(v, der::INTEGER)) {
            Some([2]) => {}
            _ => return Err(CertError::Profile("not a version 3 certificate")),
        }
        let serial = t.take(der::INTEGER).ok_or(MALFORMED)?;
        let inner_alg = t.expect_tlv(der::SEQUENCE).ok_or(MALFORMED)?;
        // §4.1.1.2: signatureAlgorithm MUST equal the signature field of
        // tbsCertificate.
        if inner_alg.encoded != sig_alg.encoded {
            return Err(CertError::Profile(
                "signature algorithm differs from the one in the signed part",
            ));
        }
        let issuer = t.expect_tlv(der::SEQUENCE).ok_or(MALFORMED)?;
        let mut validity = t.sequence().ok_or(MALFORMED)?;
        const BAD_TIME: CertError = CertError::Malformed("malformed validity");
        let not_before = validity.read().and_then(der::time).ok_or(BAD_TIME)?;
        let not_after = validity.read().and_then(der::time).ok_or(BAD_TIME)?;
        validity.finish().ok_or(BAD_TIME)?;
        let subject = t.expect_tlv(der::SEQUENCE).ok_or(MALFORMED)?;
        let spki = t.expect_tlv(der::SEQUENCE).ok_or(MALFORMED)?;
        t.optional(der::context(1)).ok_or(MALFORMED)?; // issuerUniqueID
        t.optional(der::context(2)).ok_or(MALFORMED)?; // subjectUniqueID
        let extensions = t.optional(der::context_constructed(3)).ok_or(MALFORMED)?;
        t.finish().ok_or(MALFORMED)?;

        names::check_name(issuer.contents).ok_or(CertError::Malformed("malformed issuer name"))?;
        let subject_rdns = names::parse_name(subject.contents)
            .ok_or(CertError::Malformed("malformed subject name"))?;

        let mut c = Cert {
            tbs: tbs.encoded,
            sig_alg: sig_alg.encoded,
            signature,
            serial,
            issuer: issuer.encoded,
            subject: subject.encoded,
            subject_rdns,
            spki: spki.encoded,
            not_before,
            not_after,
            basic: None,
            key_usage: None,
            eku: None,
            san: None,
            name_constraints_der: None,
            name_constraints: None,
            aki: None,
            ski: None,
            ocsp_urls: Vec::new(),
            defect: None,
        };
        if let Some(extensions) = extensions {
            let parsed = der::single(extensions, der::SEQUENCE)
                .ok_or(CertError::Malformed("malformed extensions"))
                .and_then(|list| c.parse_extensions(list));
            c.defect = parsed.err();
        }
        Ok(c)
    }

    fn parse_extensions(&mut self, list: &'a [u8]) -> Result<(), CertError> {
        const BAD: CertError = CertError::Malformed("malformed extension");
        let mut r = Reader::new(list);
        let mut seen: Vec<&[u8]> = Vec::new();
        if r.is_empty() {
            return Err(CertError::Malformed("empty extensions"));
        }
        while !r.is_empty() {
            let mut ext = r.sequence().ok_or(BAD)?;
            let oid = ext.take(der::OID).ok_or(BAD)?;
            let critical = match ext.optional(der::BOOLEAN).ok_or(BAD)? {
                Some(b) => der::boolean(b).ok_or(BAD)?,
                None => false,
            };
            let value = ext.take(der::OCTET_STRING).ok_or(BAD)?;
            ext.finish().ok_or(BAD)?;
            // §4.2: at most one instance of a particular extension.
            if seen.contains(&oid) {
                return Err(CertError::Profile("duplicate extension"));
            }
            seen.push(oid);
            self.parse_extension(oid, critical, value)?;
        }
        Ok(())
    }

    fn parse_extension(
        &mut self,
        oid: &[u8],
        critical: bool,
        value: &'a [u8],
    ) -> Result<(), CertError> {
        match oid {
            OID_SKI => {
                // §4.2.1.2: MUST be non-critical.
                if critical {
                    return Err(CertError::Profile("critical subjectKeyIdentifier"));
                }
                let id = der::single(value, der::OCTET_STRING)
                    .filter(|id| !id.is_empty())
                    .ok_or(CertError::Malformed("malformed subjectKeyIdentifier"))?;
                self.ski = Some(id);
            }
            OID_KEY_USAGE => {
                let bits = der::single(value, der::BIT_STRING)
                    .and_then(der::bit_string)
                    .ok_or(CertError::Malformed("malformed keyUsage"))?
                    .1;
                let first = u16::from(bits.first().copied().unwrap_or(0));
                let second = u16::from(bits.get(1).copied().unwrap_or(0));
                let ku = (first << 8) | second;
                // §4.2.1.3: at least one bit MUST be set.
                if ku == 0 {
                    return Err(CertError::Profile("keyUsage with no bit set"));
                }
                self.key_usage = Some(ku);
            }
            OID_SAN => {
                let list = der::single(value, der::SEQUENCE)
                    .ok_or(CertError::Malformed("malformed subjectAltName"))?;
                let names = names::parse_general_names(list)?;
                self.san = Some(San { critical, names });
            }
            OID_BASIC_CONSTRAINTS => {
                const BAD: CertError = CertError::Malformed("malformed basicConstraints");
                let mut r = Reader::new(der::single(value, der::SEQUENCE).ok_or(BAD)?);
                let ca = match r.optional(der::BOOLEAN).ok_or(BAD)? {
                    Some(b) => der::boolean(b).ok_or(BAD)?,
                    None => false,
                };
                let path_len = match r.optional(der::INTEGER).ok_or(BAD)? {
                    Some(n) => Some(der::small_uint(n).ok_or(BAD)?),
                    None => None,
                };
                r.finish().ok_or(BAD)?;
                // §4.2.1.9: no pathLenConstraint unless cA is asserted.
                if path_len.is_some() && !ca {
                    return Err(CertError::Profile("pathLenConstraint without cA"));
                }
                self.basic = Some(BasicConstraints {
                    critical,
                    ca,
                    path_len,
                });
            }
            OID_NAME_CONSTRAINTS => {
                self.name_constraints = Some(constraints::parse(value)?);
                self.name_constraints_der = Some(value);
            }
            OID_AKI => {
                const BAD: CertError = CertError::Malformed("malformed authorityKeyIdentifier");
                // §4.2.1.1: MUST be non-critical.
                if critical {
                    return Err(CertError::Profile("critical authorityKeyIdentifier"));
                }
                let mut r = Reader::new(der::single(value, der::SEQUENCE).ok_or(BAD)?);
                let key_id = r.optional(der::context(0)).ok_or(BAD)?;
                let issuer = r.optional(der::context_constructed(1)).ok_or(BAD)?;
                let serial = r.optional(der::context(2)).ok_or(BAD)?;
                r.finish().ok_or(BAD)?;
                if let Some(names) = issuer {
                    names::parse_general_names(names)?;
                }
                if key_id.is_some_and(<[u8]>::is_empty) || issuer.is_some() != serial.is_some() {
                    return Err(BAD);
                }
                self.aki = Some(Aki {
                    key_id,
                    has_issuer_or_serial: issuer.is_some() || serial.is_some(),
                });
            }
            OID_EKU => {
                const BAD: CertError = CertError::Malformed("malformed extendedKeyUsage");
                let mut r = Reader::new(der::single(value, der::SEQUENCE).ok_or(BAD)?);
                let mut purposes = Vec::new();
                while !r.is_empty() {
                    purposes.push(r.take(der::OID).filter(|o| !o.is_empty()).ok_or(BAD)?);
                }
                // §4.2.1.12: KeyPurposeId SEQUENCE SIZE (1..MAX).
                if purposes.is_empty() {
                    return Err(CertError::Profile("empty extendedKeyUsage"));
                }
                self.eku = Some(Eku { critical, purposes });
            }
            OID_AIA => {
                const BAD: CertError = CertError::Malformed("malformed authorityInfoAccess");
                // §4.2.2.1: MUST be non-critical.
                if critical {
                    return Err(CertError::Profile("critical authorityInfoAccess"));
                }
                let mut r = Reader::new(der::single(value, der::SEQUENCE).ok_or(BAD)?);
                if r.is_empty() {
                    return Err(BAD);
                }
                while !r.is_empty() {
                    let mut desc = r.sequence().ok_or(BAD)?;
                    let method = desc.take(der::OID).ok_or(BAD)?;
                    let location = names::parse_general_name(desc.read().ok_or(BAD)?)?;
                    desc.finish().ok_or(BAD)?;
                    if let (OID_AD_OCSP, GeneralName::Uri(uri)) = (method, location) {
                        self.ocsp_urls.push(uri);
                    }
                }
            }
            OID_POLICY_CONSTRAINTS => {
                // We do no policy processing, so we cannot honour it; and
                // §4.2.1.11 says it MUST be critical.
                return Err(if critical {
                    CertError::UnsupportedCriticalExtension
                } else {
                    CertError::Profile("non-critical policyConstraints")
                });
            }
            OID_CERT_POLICIES if !critical => {}
            _ if critical => return Err(CertError::UnsupportedCriticalExtension),
            _ => {}
        }
        Ok(())
    }

    /// True if issuer and subject are the same name (byte for byte).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// True if basicConstraints says this is a CA.
    pub(crate) fn is_ca(&self) -> bool {
        self.basic.is_some_and(|b| b.ca)
    }

    /// The subjectAltName entries (none when the extension is absent).
    pub(crate) fn san_names(&self) -> &[GeneralName<'a>] {
        self.san.as_ref().map_or(&[], |s| s.names.as_slice())
    }

    /// The subject's commonName values, decoded.
    pub(crate) fn common_names(&self) -> Vec<Option<String>> {
        names::attribute_strings(&self.subject_rdns, names::OID_COMMON_NAME)
    }

    /// Checks validity at `now` (both bounds inclusive).
    pub(crate) fn check_validity(&self, now: i64) -> Result<(), CertError> {
        check_validity(self.not_before, self.not_after, now)
    }

    /// The profile rules that do not depend on the rest of the path.
    ///
    /// Each rule here refuses what RFC 5280 (or, for trust anchors, the
    /// CA/Browser Forum baseline) forbids, and the clause is named next to
    /// it. What RFC 5280 allows, or only asks of CAs with a SHOULD, is not
    /// refused, even where the CA/Browser Forum forbids it for the Web PKI
    /// (those rules live with [`super::Profile::WebPki`]). Deliberately not
    /// refused although RFC 5280 says MUST: a missing authorityKeyIdentifier
    /// or one without keyIdentifier (§4.2.1.1; OpenSSL, Go and webpki accept
    /// both, and path building matches issuers by name and signature, the key
    /// identifiers being only a hint), an authorityKeyIdentifier with
    /// authorityCertIssuer and serial (allowed by §4.2.1.1, and written by
    /// OpenSSL's `keyid,issuer:always`), and a zero serial number (§4.1.2.2
    /// asks certificate users to handle one gracefully).
    pub(crate) fn check_profile(&self, role: Role) -> Result<(), CertError> {
        if let Some(defect) = self.defect {
            return Err(defect);
        }
        // §4.1.2.4: the issuer MUST be a non-empty distinguished name.
        if self.issuer_is_empty() {
            return Err(CertError::Profile("empty issuer name"));
        }
        let subject_empty = self.subject_rdns.is_empty();
        let is_ca = self.is_ca();
        let ku = self.key_usage;
        // §4.2.1.9: without cA, keyCertSign MUST NOT be asserted.
        if ku.is_some_and(|k| k & KU_KEY_CERT_SIGN != 0) && !is_ca {
            return Err(CertError::BasicConstraints("keyCertSign without cA"));
        }
        if let Some(bc) = self.basic.filter(|b| b.ca) {
            // §4.1.2.6: a CA's subject MUST be non-empty.
            if subject_empty {
                return Err(CertError::Profile("CA certificate with an empty subject"));
            }
            // §4.2.1.2: subjectKeyIdentifier MUST appear in every CA
            // certificate. (OpenSSL, Go and webpki do not insist; limbo's
            // rfc5280::ski cases do, and every CA tool we know writes one.)
            if self.ski.is_none() {
                return Err(CertError::Profile(
                    "CA certificate without subjectKeyIdentifier",
                ));
            }
            // §4.2.1.9: basicConstraints MUST be critical in a CA
            // certificate whose key verifies certificate signatures.
            if !bc.critical {
                return Err(CertError::Profile(
                    "basicConstraints not critical in a CA certificate",
                ));
            }
            // §4.2.1.3: a key that verifies certificate signatures needs
            // keyCertSign when keyUsage is present.
            if ku.is_some_and(|k| k & KU_KEY_CERT_SIGN == 0) {
                return Err(CertError::BasicConstraints(
                    "CA certificate keyUsage lacks keyCertSign",
                ));
            }
        }
        // §4.2.1.10: nameConstraints MUST be used only in a CA certificate.
        if self.name_constraints.is_some() && !is_ca {
            return Err(CertError::Profile(
                "nameConstraints in a non-CA certificate",
            ));
        }
        match &self.san {
            // §4.2.1.6: with an empty subject, subjectAltName MUST be critical.
            Some(san) if subject_empty && !san.critical => {
                return Err(CertError::Profile(
                    "empty subject without a critical subjectAltName",
                ));
            }
            // §4.1.2.6: an empty subject MUST come with a subjectAltName.
            None if subject_empty => {
                return Err(CertError::Profile("empty subject without subjectAltName"));
            }
            _ => {}
        }
        // §4.2.1.6: each name MUST follow its form's syntax.
        for name in self.san_names() {
            check_san_syntax(name)?;
        }
        check_public_key(self.spki)?;
        match role {
            Role::EndEntity | Role::Intermediate => check_serial(self.serial)?,
            Role::Anchor => {}
        }
        if role == Role::Anchor {
            if !is_ca {
                return Err(CertError::BasicConstraints(
                    "trust anchor is not a CA certificate",
                ));
            }
            // CA/Browser Forum BR §7.1.2.1.3 (root CA authorityKeyIdentifier):
            // keyIdentifier MUST be present, equal to the subjectKeyIdentifier
            // of a self-signed root; authorityCertIssuer and serial MUST NOT.
            // A root is the one certificate whose AKI names itself, so these
            // catch a root that was not made as one.
            if let Some(aki) = self.aki {
                if aki.key_id.is_none() {
                    return Err(CertError::Profile(
                        "trust anchor's authorityKeyIdentifier without keyIdentifier",
                    ));
                }
                if aki.has_issuer_or_serial {
                    return Err(CertError::Profile(
                        "trust anchor's authorityKeyIdentifier with authorityCertIssuer or serial number",
                    ));
                }
                if let (true, Some(ski)) = (self.is_self_issued(), self.ski) {
                    if aki.key_id != Some(ski) {
                        return Err(CertError::Profile(
                            "self-signed trust anchor's authorityKeyIdentifier differs from its subjectKeyIdentifier",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn issuer_is_empty(&self) -> bool {
        // An empty Name is SEQUENCE with no contents: 30 00.
        self.issuer.len() <= 2
    }

    /// Verifies that this certificate's signature was made by the key in
    /// `issuer_spki`.
    pub(crate) fn verify_signed_by(&self, issuer_spki: &[u8]) -> Result<(), CertError> {
        verify_signature(issuer_spki, self.sig_alg, self.tbs, self.signature)
    }
}

/// Validity with both bounds inclusive (RFC 5280 §4.1.2.5).
pub(crate) fn check_validity(not_before: i64, not_after: i64, now: i64) -> Result<(), CertError> {
    if now < not_before {
        Err(CertError::NotYetValid)
    } else if now > not_after {
        Err(CertError::Expired)
    } else {
        Ok(())
    }
}

fn check_san_syntax(name: &GeneralName<'_>) -> Result<(), CertError> {
    let ok = match name {
        GeneralName::Dns(s) => names::valid_dns_name(s, true),
        GeneralName::Email(s) => names::valid_email(s),
        GeneralName::Ip(b) => b.len() == 4 || b.len() == 16,
        GeneralName::Uri(s) => !s.is_empty(),
        GeneralName::Directory(_) | GeneralName::Other(_) => true,
    };
    if ok {
        Ok(())
    } else {
        Err(CertError::Profile(match name {
            GeneralName::Dns(_) => "invalid dNSName in subjectAltName",
            GeneralName::Email(_) => "invalid rfc822Name in subjectAltName",
            GeneralName::Ip(_) => "invalid iPAddress in subjectAltName",
            _ => "invalid subjectAltName",
        }))
    }
}

/// Serial numbers (RFC 5280 §4.1.2.2): minimally encoded, not negative, at
/// most 20 octets (a leading zero octet that keeps a 20-octet value positive
/// is allowed). Zero is accepted: the same section asks certificate users to
/// handle a zero or negative serial gracefully, and OpenSSL, Go and webpki
/// accept zero. A negative one is refused as Go (since 1.23) refuses it; one
/// longer than 20 octets is beyond what users "MUST be able to handle".
fn check_serial(serial: &[u8]) -> Result<(), CertError> {
    let digits = match serial {
        [] => return Err(CertError::Malformed("empty serial number")),
        [first, ..] if first & 0x80 != 0 => {
            return Err(CertError::Profile("negative serial number"))
        }
        [0, second, ..] if second & 0x80 == 0 => {
            return Err(CertError::Malformed("serial number not minimally encoded"))
        }
        [0, rest @ ..] => rest,
        all => all,
    };
    if digits.len() > MAX_SERIAL_LEN {
        return Err(CertError::Profile("serial number longer than 20 octets"));
    }
    Ok(())
}

/// The public key must be one we can use: ECDSA P-256/P-384 with a named
/// curve, Ed25519, or RSA with a 2048..=8192-bit modulus whose size is a
/// multiple of 8.
pub(crate) fn check_public_key(spki: &[u8]) -> Result<SpkiAlg, CertError> {
    let parsed = crypto::parse_spki(spki).map_err(|e| match e {
        Error::UnsupportedCertificate(why) => CertError::UnsupportedAlgorithm(why),
        _ => CertError::Malformed("malformed subjectPublicKeyInfo"),
    })?;
    if parsed.alg == SpkiAlg::Rsa {
        let bits = rsa_modulus_bits(parsed.public_key)
            .ok_or(CertError::Malformed("malformed RSA public key"))?;
        if !(2048..=8192).contains(&bits) || bits % 8 != 0 {
            return Err(CertError::UnsupportedAlgorithm("RSA key size not accepted"));
        }
    }
    Ok(parsed.alg)
}

/// The bit length of an RSAPublicKey's modulus.
fn rsa_modulus_bits(key: &[u8]) -> Option<usize> {
    let mut r = Reader::new(der::single(key, der::SEQUENCE)?);
    let n = r.take(der::INTEGER)?;
    let e = r.take(der::INTEGER)?;
    r.finish()?;
    if e.is_empty() || e.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let digits = match n {
        [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => rest,
        [first, ..] if first & 0x80 == 0 && *first != 0 => n,
        _ => return None, // negative, empty or not minimal
    };
    let first = *digits.first()?;
    Some((digits.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

// AlgorithmIdentifier OIDs (contents).
const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// A hash AlgorithmIdentifier (parameters NULL or absent).
fn parse_hash_alg(contents: &[u8]) -> Option<Hash> {
    let mut r = Reader::new(contents);
    let hash = match r.take(der::OID)? {
        OID_SHA256 => Hash::Sha256,
        OID_SHA384 => Hash::Sha384,
        OID_SHA512 => Hash::Sha512,
        _ => return None,
    };
    if !r.is_empty() {
        r.take(der::NULL).filter(|n| n.is_empty())?;
    }
    r.finish()?;
    Some(hash)
}

/// RSASSA-PSS-params: the same SHA-2 hash for the message and MGF1, the
/// salt as long as the hash, trailer field 1. Nothing else is accepted.
fn parse_pss_params(params: &[u8]) -> Option<Hash> {
    let mut r = Reader::new(params);
    let hash_alg = der::single(r.take(der::context_constructed(0))?, der::SEQUENCE)?;
    let hash = parse_hash_alg(hash_alg)?;
    let mut mgf = Reader::new(der::single(
        r.take(der::context_constructed(1))?,
        der::SEQUENCE,
    )?);
    if mgf.take(der::OID)? != OID_MGF1 {
        return None;
    }
    let mgf_hash = parse_hash_alg(mgf.take(der::SEQUENCE)?)?;
    mgf.finish()?;
    let salt = der::small_uint(der::single(
        r.take(der::context_constructed(2))?,
        der::INTEGER,
    )?)?;
    if let Some(trailer) = r.optional(der::context_constructed(3))? {
        if der::small_uint(der::single(trailer, der::INTEGER)?)? != 1 {
            return None;
        }
    }
    r.finish()?;
    let hash_len = match hash {
        Hash::Sha256 => 32,
        Hash::Sha384 => 48,
        Hash::Sha512 => 64,
    };
    (mgf_hash == hash && salt == hash_len).then_some(hash)
}

/// The algorithm of a certificate signature given its AlgorithmIdentifier and
/// the signer's key type: RSA PKCS#1 v1.5 and PSS with SHA-256/384/512, ECDSA P-256/P-384
/// with SHA-256/384, Ed25519. Nothing weaker (no SHA-1, no MD5).
fn signature_algorithm(sig_alg: &[u8], key: SpkiAlg) -> Result<CertSignatureAlg, CertError> {
    const UNSUPPORTED: CertError =
        CertError::UnsupportedAlgorithm("unsupported signature algorithm");
    const MISMATCH: CertError =
        CertError::UnsupportedAlgorithm("signature algorithm does not match the issuer's key");
    let mut r = Reader::new(der::single(sig_alg, der::SEQUENCE).ok_or(MALFORMED)?);
    let oid = r.take(der::OID).ok_or(MALFORMED)?;
    let params = r.read();
    r.finish().ok_or(MALFORMED)?;
    let no_params = params.is_none();
    let null_or_none = params.is_none_or(|p| p.tag == der::NULL && p.contents.is_empty());
    let alg = match (oid, key) {
        (OID_SHA256_RSA | OID_SHA384_RSA | OID_SHA512_RSA, SpkiAlg::Rsa) if null_or_none => {
            match oid {
                OID_SHA256_RSA => CertSignatureAlg::RsaPkcs1Sha256,
                OID_SHA384_RSA => CertSignatureAlg::RsaPkcs1Sha384,
                _ => CertSignatureAlg::RsaPkcs1Sha512,
            }
        }
        (OID_RSA_PSS, SpkiAlg::Rsa) => {
            let params = params
                .filter(|p| p.tag == der::SEQUENCE)
                .and_then(|p| parse_pss_params(p.contents))
                .ok_or(UNSUPPORTED)?;
            match params {
                Hash::Sha256 => CertSignatureAlg::RsaPssSha256,
                Hash::Sha384 => CertSignatureAlg::RsaPssSha384,
                Hash::Sha512 => CertSignatureAlg::RsaPssSha512,
            }
        }
        (OID_ECDSA_SHA256, SpkiAlg::EcdsaP256) if no_params => CertSignatureAlg::EcdsaP256Sha256,
        (OID_ECDSA_SHA384, SpkiAlg::EcdsaP256) if no_params => CertSignatureAlg::EcdsaP256Sha384,
        (OID_ECDSA_SHA256, SpkiAlg::EcdsaP384) if no_params => CertSignatureAlg::EcdsaP384Sha256,
        (OID_ECDSA_SHA384, SpkiAlg::EcdsaP384) if no_params => CertSignatureAlg::EcdsaP384Sha384,
        (OID_ED25519, SpkiAlg::Ed25519) if no_params => CertSignatureAlg::Ed25519,
        (
            OID_SHA256_RSA | OID_SHA384_RSA | OID_SHA512_RSA | OID_RSA_PSS | OID_ECDSA_SHA256
            | OID_ECDSA_SHA384 | OID_ED25519,
            _,
        ) => return Err(MISMATCH),
        _ => return Err(UNSUPPORTED),
    };
    Ok(alg)
}

/// Verifies `signature` over `signed` with the key of `signer_spki`, using
/// the AlgorithmIdentifier `sig_alg` (whole encoding).
pub(crate) fn verify_signature(
    signer_spki: &[u8],
    sig_alg: &[u8],
    signed: &[u8],
    sig: &[u8],
) -> Result<(), CertError> {
    let key_alg = check_public_key(signer_spki)?;
    let key = crypto::parse_spki(signer_spki)
        .map_err(|_| CertError::Malformed("malformed subjectPublicKeyInfo"))?;
    let alg = signature_algorithm(sig_alg, key_alg)?;
    if crypto::verify_cert_signature(alg, key.public_key, signed, sig) {
        Ok(())
    } else {
        Err(CertError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_serial_rules() {
        assert!(check_serial(&[1]).is_ok());
        assert!(check_serial(&[0, 0x80]).is_ok());
        assert!(check_serial(&[0]).is_ok(), "zero is accepted (§4.1.2.2)");
        assert!(check_serial(&[0x80]).is_err());
        assert!(check_serial(&[0, 1]).is_err());
        assert!(check_serial(&[1; 20]).is_ok());
        assert!(check_serial(&[1; 21]).is_err());
        let mut padded = alloc::vec![0u8];
        padded.extend_from_slice(&[0x80; 20]);
        assert!(check_serial(&padded).is_ok());
    }

    #[test]
    fn x509_rsa_modulus_size() {
        // SEQUENCE { INTEGER 0x00 0x80 .. (2048 bits), INTEGER 65537 }
        let mut n = alloc::vec![0x00, 0x80];
        n.extend_from_slice(&[0; 255]);
        let mut body = alloc::vec![0x02, 0x82, 0x01, 0x01];
        body.extend_from_slice(&n);
        body.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
        let mut key = alloc::vec![0x30, 0x82, 0x01, 0x0a];
        key.extend_from_slice(&body);
        assert_eq!(rsa_modulus_bits(&key), Some(2048));
    }
}
