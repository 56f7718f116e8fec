//! Why a certificate or a chain was refused.

use core::fmt;

use crate::error::Error;

/// Why certificate path validation failed. Each variant carries (or maps to)
/// a fixed reason string; [`CertError::reason`] gives it and the conversion
/// into [`crate::Error`] yields `Error::BadCertificate(reason)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertError {
    /// The DER (or PEM) could not be parsed, or breaks the encoding rules.
    Malformed(&'static str),
    /// A field is well-formed but breaks the certificate profile (RFC 5280 or
    /// the CA/Browser Forum rules we enforce).
    Profile(&'static str),
    /// A critical extension we do not understand.
    UnsupportedCriticalExtension,
    /// A key type, key size or signature algorithm we do not accept.
    UnsupportedAlgorithm(&'static str),
    /// A signature did not verify.
    BadSignature,
    /// A certificate on the path has expired.
    Expired,
    /// A certificate on the path is not valid yet.
    NotYetValid,
    /// No path to a trust anchor could be found.
    UnknownIssuer,
    /// The end-entity certificate is not valid for the expected name.
    NameMismatch,
    /// The extended key usage does not allow the requested usage.
    ExtendedKeyUsage(&'static str),
    /// basicConstraints or keyUsage forbid the certificate's role on the path.
    BasicConstraints(&'static str),
    /// A pathLenConstraint (or the caller's maximum chain depth) was exceeded.
    PathLength,
    /// A name is outside what a CA's name constraints allow.
    NameConstraints(&'static str),
    /// A certificate on the path is listed on its issuer's CRL.
    Revoked,
    /// A CRL for a certificate on the path could not be used (fail closed).
    Revocation(&'static str),
    /// A work budget (signatures, path candidates, name-constraint
    /// comparisons, path depth) ran out: refused rather than searched further.
    BudgetExceeded(&'static str),
    /// A file could not be read.
    Io(&'static str),
}

impl CertError {
    /// The fixed reason string for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            CertError::Malformed(why)
            | CertError::Profile(why)
            | CertError::UnsupportedAlgorithm(why)
            | CertError::ExtendedKeyUsage(why)
            | CertError::BasicConstraints(why)
            | CertError::NameConstraints(why)
            | CertError::Revocation(why)
            | CertError::BudgetExceeded(why)
            | CertError::Io(why) => why,
            CertError::UnsupportedCriticalExtension => "unsupported critical extension",
            CertError::BadSignature => "bad signature",
            CertError::Expired => "certificate expired",
            CertError::NotYetValid => "certificate not yet valid",
            CertError::UnknownIssuer => "unknown issuer",
            CertError::NameMismatch => "certificate not valid for name",
            CertError::PathLength => "path length constraint exceeded",
            CertError::Revoked => "certificate revoked",
        }
    }

    /// A short name of the kind of error (stable, for logs and test harnesses).
    pub fn kind(&self) -> &'static str {
        match self {
            CertError::Malformed(_) => "malformed",
            CertError::Profile(_) => "profile",
            CertError::UnsupportedCriticalExtension => "unsupported critical extension",
            CertError::UnsupportedAlgorithm(_) => "unsupported algorithm",
            CertError::BadSignature => "bad signature",
            CertError::Expired => "expired",
            CertError::NotYetValid => "not yet valid",
            CertError::UnknownIssuer => "unknown issuer",
            CertError::NameMismatch => "name mismatch",
            CertError::ExtendedKeyUsage(_) => "extended key usage",
            CertError::BasicConstraints(_) => "basic constraints",
            CertError::PathLength => "path length",
            CertError::NameConstraints(_) => "name constraints",
            CertError::Revoked => "revoked",
            CertError::Revocation(_) => "revocation",
            CertError::BudgetExceeded(_) => "budget exceeded",
            CertError::Io(_) => "io",
        }
    }

    /// How telling the error is when several candidate paths failed: the
    /// path builder reports the highest-ranked one.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            CertError::UnknownIssuer => 0,
            CertError::BadSignature => 1,
            CertError::BudgetExceeded(_) => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Malformed(_)
            | CertError::Profile(_)
            | CertError::UnsupportedAlgorithm(_)
            | CertError::ExtendedKeyUsage(_)
            | CertError::BasicConstraints(_)
            | CertError::NameConstraints(_)
            | CertError::Revocation(_)
            | CertError::BudgetExceeded(_)
            | CertError::Io(_) => write!(f, "{}: {}", self.kind(), self.reason()),
            _ => f.write_str(self.reason()),
        }
    }
}

impl core::error::Error for CertError {}

impl From<CertError> for Error {
    fn from(e: CertError) -> Error {
        Error::BadCertificate(e.reason())
    }
}
