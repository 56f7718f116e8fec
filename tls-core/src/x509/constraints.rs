//! Name constraints (RFC 5280 §4.2.1.10): parsing, and checking the names of
//! a certificate against one CA's constraints within a comparison budget.
//!
//! Forms understood: dNSName, iPAddress, rfc822Name and directoryName. A
//! constraint of any other form is kept; a certificate that carries a name
//! of that form under it is refused (fail closed).

use alloc::vec::Vec;

use super::cert::Cert;
use super::error::CertError;
use super::names::{self, GeneralName, Rdn};
use crate::der::{self, Reader};

/// A parsed nameConstraints extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameConstraints<'a> {
    pub(crate) permitted: Vec<GeneralName<'a>>,
    pub(crate) excluded: Vec<GeneralName<'a>>,
}

/// Parses a nameConstraints extension value. At least one non-empty subtree
/// list is required; minimum must be 0 (absent) and maximum absent; each
/// understood base must be well-formed.
pub(crate) fn parse(value: &[u8]) -> Result<NameConstraints<'_>, CertError> {
    const BAD: CertError = CertError::Malformed("malformed nameConstraints");
    let mut r = Reader::new(der::single(value, der::SEQUENCE).ok_or(BAD)?);
    let permitted = r.optional(der::context_constructed(0)).ok_or(BAD)?;
    let excluded = r.optional(der::context_constructed(1)).ok_or(BAD)?;
    r.finish().ok_or(BAD)?;
    let nc = NameConstraints {
        permitted: permitted
            .map(parse_subtrees)
            .transpose()?
            .unwrap_or_default(),
        excluded: excluded
            .map(parse_subtrees)
            .transpose()?
            .unwrap_or_default(),
    };
    if nc.permitted.is_empty() && nc.excluded.is_empty() {
        return Err(CertError::Profile("nameConstraints without subtrees"));
    }
    Ok(nc)
}

fn parse_subtrees(contents: &[u8]) -> Result<Vec<GeneralName<'_>>, CertError> {
    const BAD: CertError = CertError::Malformed("malformed GeneralSubtree");
    let mut r = Reader::new(contents);
    let mut out = Vec::new();
    while !r.is_empty() {
        let mut subtree = r.sequence().ok_or(BAD)?;
        let base = names::parse_general_name(subtree.read().ok_or(BAD)?)?;
        if !subtree.is_empty() {
            // minimum (DEFAULT 0, so never encoded in DER) and maximum
            // (MUST be absent) are not allowed by the RFC 5280 profile.
            return Err(CertError::Profile("GeneralSubtree with minimum or maximum"));
        }
        if !valid_base(&base) {
            return Err(CertError::Profile("invalid name constraint"));
        }
        out.push(base);
    }
    if out.is_empty() {
        return Err(CertError::Profile("empty GeneralSubtrees"));
    }
    Ok(out)
}

fn valid_base(base: &GeneralName<'_>) -> bool {
    match base {
        GeneralName::Dns(s) => s.is_empty() || names::valid_dns_name(s, false),
        GeneralName::Ip(b) => ip_constraint(b).is_some(),
        GeneralName::Email(s) => names::valid_email_constraint(s),
        GeneralName::Directory(_) | GeneralName::Uri(_) | GeneralName::Other(_) => true,
    }
}

/// Splits an iPAddress constraint into (address, mask), requiring 4+4 or
/// 16+16 bytes and a contiguous (CIDR) mask.
fn ip_constraint(b: &[u8]) -> Option<(&[u8], &[u8])> {
    if b.len() != 8 && b.len() != 32 {
        return None;
    }
    let (addr, mask) = b.split_at(b.len() / 2);
    let mut seen_zero = false;
    for byte in mask {
        for bit in (0..8).rev() {
            let one = byte & (1 << bit) != 0;
            if one && seen_zero {
                return None;
            }
            seen_zero |= !one;
        }
    }
    Some((addr, mask))
}

/// The names of `cert` that name constraints apply to: its subjectAltName
/// entries, its subject (when non-empty) and the emailAddress attributes of
/// its subject. An emailAddress that is not an IA5String cannot be checked:
/// it fails only when `email_constrained` (rfc822Name constraints exist).
fn constrained_names<'a>(
    cert: &Cert<'a>,
    email_constrained: bool,
) -> Result<Vec<GeneralName<'a>>, CertError> {
    let mut out: Vec<GeneralName<'a>> = cert.san_names().to_vec();
    if !cert.subject_rdns.is_empty() {
        out.push(GeneralName::Directory(cert.subject));
        for attr in cert.subject_rdns.iter().flatten() {
            if attr.oid == names::OID_EMAIL_ADDRESS {
                // IA5String only; anything else cannot be checked.
                let text = (attr.tag == 0x16)
                    .then(|| core::str::from_utf8(attr.value).ok())
                    .flatten()
                    .filter(|t| t.is_ascii());
                match text {
                    Some(text) => out.push(GeneralName::Email(text)),
                    None if email_constrained => {
                        return Err(CertError::NameConstraints(
                            "subject emailAddress that cannot be checked",
                        ))
                    }
                    None => {}
                }
            }
        }
    }
    Ok(out)
}

/// Counts one unit of work against the budget.
fn tick(left: &mut u64) -> Result<(), CertError> {
    *left = left
        .checked_sub(1)
        .ok_or(CertError::BudgetExceeded("name constraint comparisons"))?;
    Ok(())
}

/// Counts `n` units of work against the budget.
fn tick_n(left: &mut u64, n: usize) -> Result<(), CertError> {
    *left = u64::try_from(n)
        .ok()
        .and_then(|n| left.checked_sub(n))
        .ok_or(CertError::BudgetExceeded("name constraint comparisons"))?;
    Ok(())
}

/// Checks every constrained name of `cert` against `nc`. `left` is the
/// remaining comparison budget, shared by the whole verification.
pub(crate) fn check(
    nc: &NameConstraints<'_>,
    cert: &Cert<'_>,
    left: &mut u64,
) -> Result<(), CertError> {
    let email_constrained = nc
        .permitted
        .iter()
        .chain(&nc.excluded)
        .any(|c| matches!(c, GeneralName::Email(_)));
    for name in constrained_names(cert, email_constrained)? {
        let form = name.form();
        for c in &nc.excluded {
            tick(left)?;
            if c.form() != form {
                continue;
            }
            if within(&name, c, true, left)? {
                return Err(CertError::NameConstraints("name is in an excluded subtree"));
            }
        }
        let mut constrained = false;
        let mut permitted = false;
        for c in &nc.permitted {
            tick(left)?;
            if c.form() != form || permitted {
                continue;
            }
            constrained = true;
            permitted = within(&name, c, false, left)?;
        }
        if constrained && !permitted {
            return Err(CertError::NameConstraints(
                "name is not in a permitted subtree",
            ));
        }
    }
    Ok(())
}

/// True if `name` is within the subtree `base` (same form). For an
/// excluded subtree a wildcard name counts as within when any name it could
/// match is; for a permitted subtree only when every such name is.
fn within(
    name: &GeneralName<'_>,
    base: &GeneralName<'_>,
    excluded: bool,
    left: &mut u64,
) -> Result<bool, CertError> {
    // RFC 5280 §4.2.1.10: a constraint on a name form the application cannot
    // process, when a name of that form is present, means rejecting.
    const UNSUPPORTED: CertError =
        CertError::NameConstraints("constraint on a name form we do not check");
    Ok(match (name, base) {
        (GeneralName::Dns(n), GeneralName::Dns(c)) => match n.strip_prefix("*.") {
            Some(parent) => {
                dns_within(parent, c)
                    || (excluded
                        && c.split_once('.')
                            .is_some_and(|(_, p)| p.eq_ignore_ascii_case(parent)))
            }
            None => dns_within(n, c),
        },
        (GeneralName::Ip(n), GeneralName::Ip(c)) => {
            let (addr, mask) = ip_constraint(c).ok_or(UNSUPPORTED)?;
            n.len() == addr.len()
                && n.iter()
                    .zip(addr)
                    .zip(mask)
                    .all(|((n, a), m)| n & m == a & m)
        }
        (GeneralName::Email(n), GeneralName::Email(c)) => email_within(n, c),
        (GeneralName::Directory(n), GeneralName::Directory(c)) => {
            let n = name_rdns(n)?;
            let c = name_rdns(c)?;
            // Parsing costs as much as comparing: count it.
            tick_n(left, n.len() + c.len())?;
            dn_within(&n, &c, left)?
        }
        _ => return Err(UNSUPPORTED),
    })
}

/// dNSName subtree: the name itself or any name made by adding labels on
/// the left. An empty constraint covers every name.
fn dns_within(name: &str, constraint: &str) -> bool {
    if constraint.is_empty() || name.eq_ignore_ascii_case(constraint) {
        return true;
    }
    name.len() > constraint.len() + 1
        && name
            .get(name.len() - constraint.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(constraint))
        && name.as_bytes().get(name.len() - constraint.len() - 1) == Some(&b'.')
}

/// rfc822Name subtree: a whole mailbox (local part compared exactly, host
/// without case), every mailbox on one host, or (with a leading dot) every
/// mailbox on any subdomain.
fn email_within(name: &str, constraint: &str) -> bool {
    // The host follows the last `@` (a quoted local part may hold one).
    let Some((local, host)) = name.rsplit_once('@') else {
        return false;
    };
    if let Some((c_local, c_host)) = constraint.rsplit_once('@') {
        local == c_local && host.eq_ignore_ascii_case(c_host)
    } else if let Some(domain) = constraint.strip_prefix('.') {
        host.len() > domain.len() && dns_within(host, domain) && !host.eq_ignore_ascii_case(domain)
    } else {
        host.eq_ignore_ascii_case(constraint)
    }
}

fn name_rdns(encoded: &[u8]) -> Result<Vec<Rdn<'_>>, CertError> {
    der::single(encoded, der::SEQUENCE)
        .and_then(names::parse_name)
        .ok_or(CertError::Malformed("malformed directoryName"))
}

/// directoryName subtree: the constraint's RDNs are a prefix of the name's.
fn dn_within(name: &[Rdn<'_>], constraint: &[Rdn<'_>], left: &mut u64) -> Result<bool, CertError> {
    if constraint.len() > name.len() {
        return Ok(false);
    }
    for (n, c) in name.iter().zip(constraint) {
        tick(left)?;
        if n.len() != c.len() || !n.iter().zip(c).all(|(a, b)| names::attribute_eq(a, b)) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns_in(name: &str, c: &str, excluded: bool) -> bool {
        let mut left = 100;
        within(
            &GeneralName::Dns(name),
            &GeneralName::Dns(c),
            excluded,
            &mut left,
        )
        .unwrap()
    }

    #[test]
    fn x509_nc_dns_subtrees() {
        assert!(dns_in("example.com", "example.com", false));
        assert!(dns_in("foo.bar.example.com", "example.com", false));
        assert!(!dns_in("not-example.com", "example.com", false));
        assert!(!dns_in("example.com", "foo.example.com", false));
        assert!(dns_in("anything.test", "", false));
        // wildcards: permitted only if every match is inside
        assert!(dns_in("*.foo.com", "foo.com", false));
        assert!(!dns_in("*.example.com", "foo.example.com", false));
        // excluded if any match is inside
        assert!(dns_in("*.example.com", "bar.example.com", true));
        assert!(!dns_in("*.example.com", "a.bar.example.com", true));
        assert!(dns_in("*.bar.example.com", "example.com", true));
    }

    #[test]
    fn x509_nc_email_and_ip() {
        assert!(email_within("foo@example.com", "foo@example.com"));
        assert!(email_within("foo@example.com", "example.com"));
        assert!(email_within("*@example.com", "*@example.com"));
        assert!(!email_within("user@example.com", "*@example.com"));
        assert!(!email_within("*@subdomain.example.com", "*@example.com"));
        assert!(email_within("a@x.example.com", ".example.com"));
        assert!(!email_within("a@example.com", ".example.com"));
        assert!(ip_constraint(&[192, 0, 2, 0, 255, 255, 255, 0]).is_some());
        assert!(ip_constraint(&[192, 0, 2, 0, 255, 0, 255, 0]).is_none());
        assert!(ip_constraint(&[192, 0, 2, 1]).is_none());
        let mut left = 10;
        let c = [192, 0, 2, 0, 255, 255, 255, 0];
        assert!(within(
            &GeneralName::Ip(&[192, 0, 2, 7]),
            &GeneralName::Ip(&c),
            false,
            &mut left
        )
        .unwrap());
        assert!(!within(
            &GeneralName::Ip(&[192, 0, 3, 1]),
            &GeneralName::Ip(&c),
            false,
            &mut left
        )
        .unwrap());
    }

    #[test]
    fn x509_nc_parse_rejects_empty_and_bad() {
        // SEQUENCE {} : no subtrees
        assert!(parse(&[0x30, 0x00]).is_err());
        // SEQUENCE { NULL, NULL }
        assert!(parse(&[0x30, 0x04, 0x05, 0x00, 0x05, 0x00]).is_err());
        // permitted [0] { SEQUENCE { dNSName "a.com" } }
        let ok = [
            0x30, 0x0b, 0xa0, 0x09, 0x30, 0x07, 0x82, 0x05, b'a', b'.', b'c', b'o', b'm',
        ];
        assert_eq!(parse(&ok).unwrap().permitted, [GeneralName::Dns("a.com")]);
        let mut leading_dot = ok;
        leading_dot[8] = b'.';
        assert!(parse(&leading_dot).is_err());
    }
}
