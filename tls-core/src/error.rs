//! The one error type of the engine, and the alert each error sends.

use core::fmt;

use crate::msgs::enums::AlertDescription;

/// Everything that can go wrong in a connection.
///
/// Each variant maps to the alert the engine sends for it ([`Error::alert`]).
/// A fatal error poisons the connection: every later call returns the same error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer's bytes could not be decoded (bad length, trailing data, bad value).
    Decode(&'static str),
    /// A message arrived that the current state does not expect.
    UnexpectedMessage(&'static str),
    /// A field held a value that is well-formed but not allowed here.
    IllegalParameter(&'static str),
    /// No acceptable set of parameters could be agreed with the peer.
    HandshakeFailure(&'static str),
    /// A Finished MAC or a handshake signature did not verify.
    DecryptError(&'static str),
    /// A record failed AEAD authentication.
    BadRecordMac,
    /// A record was larger than the protocol allows.
    RecordOverflow,
    /// The peer offered or chose only protocol versions we refuse.
    ProtocolVersion,
    /// A required extension was missing.
    MissingExtension(&'static str),
    /// An extension appeared in a message where it is not allowed.
    UnsupportedExtension(&'static str),
    /// A client retrying with a lower version (TLS_FALLBACK_SCSV) reached a
    /// server that supports a higher one (RFC 7507).
    InappropriateFallback,
    /// The client offered ALPN protocols and the server supports none of them.
    NoApplicationProtocol,
    /// The server does not have a certificate for the name the client asked for.
    UnrecognizedName,
    /// The peer's certificate was rejected by the verifier.
    BadCertificate(&'static str),
    /// The peer's certificate uses a key or algorithm we do not support.
    UnsupportedCertificate(&'static str),
    /// The peer's certificate was refused for a reason none of the other
    /// certificate alerts names (RFC 8446, section 6.2: certificate_unknown,
    /// "some other (unspecified) issue arose in processing the certificate").
    /// A verifier with its own acceptance rules returns it.
    CertificateUnknown(&'static str),
    /// The OCSP response the server stapled is not satisfactory: it does not
    /// verify, or says the certificate is revoked (RFC 6066 §8). A verifier
    /// returns it from [`crate::ServerCertVerifier::verify_stapled_ocsp`].
    BadCertificateStatus(&'static str),
    /// The server requires a client certificate and the client sent none.
    /// Sent as certificate_required; in TLS 1.2, which has no such alert,
    /// as handshake_failure (RFC 5246 §7.4.6).
    CertificateRequired,
    /// The peer's certificate is valid, but the access rules applied to it
    /// refuse the connection (RFC 8446, section 6.2: access_denied). A
    /// verifier returns it to refuse inside the handshake with that alert.
    AccessDenied(&'static str),
    /// The peer sent a fatal alert (or a warning alert TLS 1.3 treats as fatal).
    AlertReceived(AlertDescription),
    /// The peer closed the transport without close_notify while data was expected.
    UnexpectedEof,
    /// The connection was already closed, so the call cannot proceed.
    Closed,
    /// The random source failed.
    Entropy,
    /// A private key was paired with a certificate that does not carry its
    /// public key (a configuration error: building a [`crate::CertifiedKey`]).
    KeyMismatch,
    /// The configuration or credentials given cannot be used: a malformed or
    /// unreadable PEM file or private key, an empty certificate chain, a PSK
    /// of the wrong size, no group or cipher suite the engine supports.
    /// Returned when the piece is built or the connection started; should one
    /// surface mid-handshake, the engine sends internal_error.
    InvalidConfig(&'static str),
    /// The caller used the API out of turn or with a bad argument: a
    /// KeyUpdate or an export before the handshake completed (or a KeyUpdate
    /// in TLS 1.2), an exporter label TLS reserves, a `write_with` fill that
    /// claims more bytes than it was given, a signature scheme the key cannot
    /// make. Those calls send nothing and leave the connection as it was:
    /// fix the call. (Were one ever raised while handling the peer's bytes,
    /// the engine would send internal_error, as for [`Error::Internal`].)
    Misuse(&'static str),
    /// A failure that should not happen whatever the caller and the peer do:
    /// a crypto primitive refused its input, a state invariant broke.
    Internal(&'static str),
}

impl Error {
    /// The alert to send for this error, or `None` when no alert is sent
    /// (the peer's own alert, a closed connection).
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        Some(match self {
            Error::Decode(_) => A::DecodeError,
            Error::UnexpectedMessage(_) => A::UnexpectedMessage,
            Error::IllegalParameter(_) => A::IllegalParameter,
            Error::HandshakeFailure(_) => A::HandshakeFailure,
            Error::DecryptError(_) => A::DecryptError,
            Error::BadRecordMac => A::BadRecordMac,
            Error::RecordOverflow => A::RecordOverflow,
            Error::ProtocolVersion => A::ProtocolVersion,
            Error::MissingExtension(_) => A::MissingExtension,
            Error::UnsupportedExtension(_) => A::UnsupportedExtension,
            Error::InappropriateFallback => A::InappropriateFallback,
            Error::NoApplicationProtocol => A::NoApplicationProtocol,
            Error::UnrecognizedName => A::UnrecognizedName,
            Error::BadCertificate(_) => A::BadCertificate,
            Error::UnsupportedCertificate(_) => A::UnsupportedCertificate,
            Error::CertificateUnknown(_) => A::CertificateUnknown,
            Error::BadCertificateStatus(_) => A::BadCertificateStatusResponse,
            Error::CertificateRequired => A::CertificateRequired,
            Error::AccessDenied(_) => A::AccessDenied,
            Error::Entropy
            | Error::KeyMismatch
            | Error::InvalidConfig(_)
            | Error::Misuse(_)
            | Error::Internal(_) => A::InternalError,
            Error::AlertReceived(_) | Error::UnexpectedEof | Error::Closed => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(why) => write!(f, "decode error: {why}"),
            Error::UnexpectedMessage(why) => write!(f, "unexpected message: {why}"),
            Error::IllegalParameter(why) => write!(f, "illegal parameter: {why}"),
            Error::HandshakeFailure(why) => write!(f, "handshake failure: {why}"),
            Error::DecryptError(why) => write!(f, "decrypt error: {why}"),
            Error::BadRecordMac => f.write_str("record failed authentication"),
            Error::RecordOverflow => f.write_str("record too large"),
            Error::ProtocolVersion => f.write_str("no acceptable protocol version"),
            Error::MissingExtension(what) => write!(f, "missing extension: {what}"),
            Error::UnsupportedExtension(what) => write!(f, "extension not allowed: {what}"),
            Error::InappropriateFallback => f.write_str("fallback to a lower version refused"),
            Error::NoApplicationProtocol => f.write_str("no ALPN protocol in common"),
            Error::UnrecognizedName => f.write_str("no certificate for the requested name"),
            Error::BadCertificate(why) => write!(f, "bad certificate: {why}"),
            Error::UnsupportedCertificate(why) => write!(f, "unsupported certificate: {why}"),
            Error::CertificateUnknown(why) => write!(f, "certificate unknown: {why}"),
            Error::BadCertificateStatus(why) => write!(f, "bad stapled OCSP response: {why}"),
            Error::CertificateRequired => f.write_str("client certificate required but not sent"),
            Error::AccessDenied(why) => write!(f, "access denied: {why}"),
            Error::AlertReceived(alert) => write!(f, "peer sent alert {alert:?}"),
            Error::UnexpectedEof => f.write_str("peer closed the transport without close_notify"),
            Error::Closed => f.write_str("connection is closed"),
            Error::Entropy => f.write_str("random source failed"),
            Error::KeyMismatch => f.write_str("private key does not match certificate"),
            Error::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            Error::Misuse(why) => write!(f, "API misuse: {why}"),
            Error::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
