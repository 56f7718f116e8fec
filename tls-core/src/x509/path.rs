//! Path building: from the end-entity certificate, try every candidate
//! issuer (trust anchors first, then the peer's intermediates), depth first,
//! never reusing a certificate on one path, within the work budget. Each
//! complete candidate path gets the whole-path checks (path length, name
//! constraints, extended key usage, revocation); the first path that passes
//! wins.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::anchors::{TrustAnchor, TrustAnchors};
use super::cert::{self, Cert, Eku};
use super::constraints;
use super::crl::Crl;
use super::error::CertError;
use super::{KeyUsage, Policy, Profile, VerifiedPath};

/// A certificate in the search: the end-entity, an intermediate (by index
/// into the caller's list) or a trust anchor (by index into the set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    EndEntity,
    Intermediate(usize),
    Anchor(usize),
}

/// A parsed intermediate with the outcome of its profile checks, which only
/// matter if a path uses it.
pub(crate) type Candidate<'a> = Option<(Cert<'a>, Result<(), CertError>)>;

pub(crate) struct Search<'p, 'a> {
    pub(crate) anchors: &'p TrustAnchors,
    pub(crate) ee: &'p Cert<'a>,
    pub(crate) intermediates: &'p [Candidate<'a>],
    pub(crate) crls: &'p [Crl<'a>],
    pub(crate) policy: &'p Policy,
    pub(crate) now: i64,
    signatures_left: u32,
    candidates_left: u32,
    comparisons_left: u64,
    signature_cache: BTreeMap<(Node, Node), Result<(), CertError>>,
    /// Set when a budget that ends the whole search ran out.
    exhausted: bool,
}

impl<'p, 'a> Search<'p, 'a> {
    pub(crate) fn new(
        anchors: &'p TrustAnchors,
        ee: &'p Cert<'a>,
        intermediates: &'p [Candidate<'a>],
        crls: &'p [Crl<'a>],
        policy: &'p Policy,
        now: i64,
    ) -> Self {
        Search {
            anchors,
            ee,
            intermediates,
            crls,
            policy,
            now,
            signatures_left: policy.budget.max_signatures,
            candidates_left: policy.budget.max_path_candidates,
            comparisons_left: policy.budget.max_name_constraint_comparisons,
            signature_cache: BTreeMap::new(),
            exhausted: false,
        }
    }

    /// Finds a valid path from the end-entity certificate to an anchor.
    pub(crate) fn run(&mut self) -> Result<VerifiedPath, CertError> {
        let mut path = Vec::new();
        self.build(Node::EndEntity, &mut path)
    }

    fn cert(&self, node: Node) -> Option<&'p Cert<'a>> {
        match node {
            Node::EndEntity => Some(self.ee),
            Node::Intermediate(i) => self.intermediates.get(i)?.as_ref().map(|(c, _)| c),
            Node::Anchor(_) => None,
        }
    }

    fn build(&mut self, child: Node, path: &mut Vec<usize>) -> Result<VerifiedPath, CertError> {
        let child_cert = self.cert(child).ok_or(CertError::UnknownIssuer)?;
        let mut best: Option<CertError> = None;
        // Candidates whose subjectKeyIdentifier contradicts the child's
        // authorityKeyIdentifier are tried last (a hint, not a filter).
        let anchors = self.anchors;
        for hinted in [true, false] {
            for (ai, anchor) in anchors.iter().enumerate() {
                if anchor.subject() != child_cert.issuer
                    || key_ids_agree(child_cert, anchor.subject_key_id()) != hinted
                {
                    continue;
                }
                self.take_candidate()?;
                match self.try_anchor(child, ai, anchor, path) {
                    Ok(verified) => return Ok(verified),
                    Err(e) if self.exhausted => return Err(e),
                    Err(e) => keep_best(&mut best, e),
                }
            }
        }
        let intermediates = self.intermediates;
        for hinted in [true, false] {
            for (ii, candidate) in intermediates.iter().enumerate() {
                let Some((inter, profile)) = candidate else {
                    continue;
                };
                if inter.subject != child_cert.issuer
                    || path.contains(&ii)
                    || key_ids_agree(child_cert, inter.ski) != hinted
                {
                    continue;
                }
                self.take_candidate()?;
                if path.len() >= self.policy.budget.max_depth {
                    keep_best(&mut best, CertError::BudgetExceeded("path depth"));
                    continue;
                }
                match self.try_intermediate(child, ii, inter, profile, path) {
                    Ok(verified) => return Ok(verified),
                    Err(e) if self.exhausted => return Err(e),
                    Err(e) => keep_best(&mut best, e),
                }
            }
        }
        Err(best.unwrap_or(CertError::UnknownIssuer))
    }

    fn try_anchor(
        &mut self,
        child: Node,
        ai: usize,
        anchor: &TrustAnchor,
        path: &[usize],
    ) -> Result<VerifiedPath, CertError> {
        anchor.check_validity(self.now)?;
        // CA/Browser Forum BR §7.1.2.1.2: a root carries no extKeyUsage.
        if self.policy.profile == Profile::WebPki && anchor.eku().is_some() {
            return Err(CertError::ExtendedKeyUsage(
                "trust anchor carries extendedKeyUsage",
            ));
        }
        self.check_signature(child, Node::Anchor(ai), anchor.spki())?;
        self.check_path(path, anchor)?;
        Ok(VerifiedPath {
            intermediates: path.to_vec(),
            anchor: ai,
        })
    }

    fn try_intermediate(
        &mut self,
        child: Node,
        ii: usize,
        inter: &'p Cert<'a>,
        profile: &Result<(), CertError>,
        path: &mut Vec<usize>,
    ) -> Result<VerifiedPath, CertError> {
        (*profile)?;
        if !inter.is_ca() {
            return Err(CertError::BasicConstraints("issuer is not a CA"));
        }
        inter.check_validity(self.now)?;
        self.check_signature(child, Node::Intermediate(ii), inter.spki)?;
        path.push(ii);
        let result = self.build(Node::Intermediate(ii), path);
        path.pop();
        result
    }

    fn take_candidate(&mut self) -> Result<(), CertError> {
        match self.candidates_left.checked_sub(1) {
            Some(left) => {
                self.candidates_left = left;
                Ok(())
            }
            None => {
                self.exhausted = true;
                Err(CertError::BudgetExceeded("path candidates"))
            }
        }
    }

    fn take_signature(&mut self) -> Result<(), CertError> {
        match self.signatures_left.checked_sub(1) {
            Some(left) => {
                self.signatures_left = left;
                Ok(())
            }
            None => {
                self.exhausted = true;
                Err(CertError::BudgetExceeded("signature checks"))
            }
        }
    }

    fn check_signature(
        &mut self,
        child: Node,
        issuer: Node,
        issuer_spki: &[u8],
    ) -> Result<(), CertError> {
        if let Some(result) = self.signature_cache.get(&(child, issuer)) {
            return *result;
        }
        let child_cert = self.cert(child).ok_or(CertError::UnknownIssuer)?;
        self.take_signature()?;
        let result = child_cert.verify_signed_by(issuer_spki);
        self.signature_cache.insert((child, issuer), result);
        result
    }

    /// The checks that need the whole path: intermediates and anchor as
    /// found, end-entity at the bottom.
    fn check_path(&mut self, path: &[usize], anchor: &TrustAnchor) -> Result<(), CertError> {
        let inters: Vec<&'p Cert<'a>> = path
            .iter()
            .map(|&i| {
                self.cert(Node::Intermediate(i))
                    .ok_or(CertError::UnknownIssuer)
            })
            .collect::<Result<_, _>>()?;
        // Intermediates that count towards path lengths: not self-issued.
        let counted = |certs: &[&Cert<'_>]| certs.iter().filter(|c| !c.is_self_issued()).count();

        let all = counted(&inters);
        if self.policy.max_chain_depth.is_some_and(|max| all > max) {
            return Err(CertError::PathLength);
        }
        for (k, inter) in inters.iter().enumerate() {
            let below = inters.get(..k).map_or(0, counted);
            if inter
                .basic
                .and_then(|b| b.path_len)
                .is_some_and(|max| below as u64 > max)
            {
                return Err(CertError::PathLength);
            }
        }
        if anchor.path_len().is_some_and(|max| all as u64 > max) {
            return Err(CertError::PathLength);
        }

        let purpose = usage_oid(self.policy.usage);
        for inter in &inters {
            if !eku_allows(inter.eku.as_ref().map(|e| e.purposes.as_slice()), purpose) {
                return Err(CertError::ExtendedKeyUsage(
                    "intermediate's extendedKeyUsage does not allow the usage",
                ));
            }
        }
        let anchor_eku: Option<Vec<&[u8]>> =
            anchor.eku().map(|e| e.iter().map(Vec::as_slice).collect());
        if !eku_allows(anchor_eku.as_deref(), purpose) {
            return Err(CertError::ExtendedKeyUsage(
                "trust anchor's extendedKeyUsage does not allow the usage",
            ));
        }

        // Name constraints of each CA apply to every certificate below it,
        // except self-issued intermediates.
        let ee = self.ee;
        let subordinates = |k: usize| {
            core::iter::once(ee).chain(
                inters
                    .get(..k)
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .filter(|c| !c.is_self_issued()),
            )
        };
        for (k, inter) in inters.iter().enumerate() {
            if let Some(nc) = &inter.name_constraints {
                for sub in subordinates(k) {
                    self.check_constraints(nc, sub)?;
                }
            }
        }
        if let Some(nc) = anchor.name_constraints()? {
            for sub in subordinates(inters.len()) {
                self.check_constraints(&nc, sub)?;
            }
        }

        // Revocation: each certificate against CRLs from its issuer.
        if !self.crls.is_empty() {
            let mut child = Node::EndEntity;
            for (k, &ii) in path.iter().enumerate() {
                let issuer = inters.get(k).ok_or(CertError::UnknownIssuer)?;
                self.check_revocation(child, issuer.spki, issuer.key_usage)?;
                child = Node::Intermediate(ii);
            }
            self.check_revocation(child, anchor.spki(), anchor.key_usage())?;
        }
        Ok(())
    }

    fn check_constraints(
        &mut self,
        nc: &constraints::NameConstraints<'_>,
        sub: &Cert<'_>,
    ) -> Result<(), CertError> {
        let result = constraints::check(nc, sub, &mut self.comparisons_left);
        if matches!(result, Err(CertError::BudgetExceeded(_))) {
            self.exhausted = true;
        }
        result
    }

    fn check_revocation(
        &mut self,
        child: Node,
        issuer_spki: &[u8],
        issuer_key_usage: Option<u16>,
    ) -> Result<(), CertError> {
        let child_cert = self.cert(child).ok_or(CertError::UnknownIssuer)?;
        let crls = self.crls;
        for crl in crls.iter().filter(|crl| crl.issuer == child_cert.issuer) {
            if let Some(problem) = crl.problem {
                return Err(problem);
            }
            if issuer_key_usage.is_some_and(|ku| ku & cert::KU_CRL_SIGN == 0) {
                return Err(CertError::Revocation("CRL issuer's keyUsage lacks cRLSign"));
            }
            self.take_signature()?;
            cert::verify_signature(issuer_spki, crl.sig_alg, crl.tbs, crl.signature)
                .map_err(|_| CertError::Revocation("CRL signature does not verify"))?;
            if crl.revoked.contains(&child_cert.serial) {
                return Err(CertError::Revoked);
            }
        }
        Ok(())
    }
}

/// False when both key identifiers are known and differ: the candidate is
/// unlikely to be the issuer.
fn key_ids_agree(child: &Cert<'_>, issuer_ski: Option<&[u8]>) -> bool {
    match (child.aki.and_then(|a| a.key_id), issuer_ski) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

/// Keeps the most telling error (see `CertError::rank`), the first among equals.
fn keep_best(best: &mut Option<CertError>, e: CertError) {
    if best.is_none_or(|b| e.rank() > b.rank()) {
        *best = Some(e);
    }
}

pub(crate) fn usage_oid(usage: KeyUsage) -> &'static [u8] {
    match usage {
        KeyUsage::ServerAuth => cert::EKU_SERVER_AUTH,
        KeyUsage::ClientAuth => cert::EKU_CLIENT_AUTH,
    }
}

/// A CA's extendedKeyUsage, when present, must allow the purpose (or be
/// anyExtendedKeyUsage): EKU constraints chain down the path.
fn eku_allows(purposes: Option<&[&[u8]]>, purpose: &[u8]) -> bool {
    purposes.is_none_or(|p| p.iter().any(|&o| o == purpose || o == cert::EKU_ANY))
}

/// The end-entity's extendedKeyUsage. WebPki profile: present, not
/// critical, naming the usage, without anyExtendedKeyUsage (CA/Browser Forum
/// BR §7.1.2.7.10; RFC 5280 itself allows an absent one, and OpenSSL, Go and
/// webpki accept that, hence the Rfc5280 profile for private PKIs). Rfc5280
/// profile: absent means any usage; present must name the usage
/// (§4.2.1.12).
pub(crate) fn check_end_entity_eku(
    eku: Option<&Eku<'_>>,
    usage: KeyUsage,
    profile: Profile,
) -> Result<(), CertError> {
    let strict = profile == Profile::WebPki;
    let Some(eku) = eku else {
        return if strict {
            Err(CertError::ExtendedKeyUsage(
                "end-entity certificate has no extendedKeyUsage",
            ))
        } else {
            Ok(())
        };
    };
    if strict && eku.critical {
        return Err(CertError::ExtendedKeyUsage("critical extendedKeyUsage"));
    }
    if strict && eku.has(cert::EKU_ANY) {
        return Err(CertError::ExtendedKeyUsage(
            "anyExtendedKeyUsage in an end-entity certificate",
        ));
    }
    if !eku.has(usage_oid(usage)) {
        return Err(CertError::ExtendedKeyUsage(
            "end-entity certificate is not valid for this usage",
        ));
    }
    Ok(())
}
