//! The error text the runner reads: BoringSSL-style `:REASON:` tokens.
//!
//! The runner checks that a failing shim's stderr contains the reason
//! BoringSSL would print. An alert received from the peer is a fact of the
//! wire, so its token is BoringSSL's own (`:TLSV1_ALERT_DECODE_ERROR:`).
//! For our own errors we print one token per engine error kind, named after
//! the alert the engine sends; BoringSSL's finer-grained reasons are mapped
//! onto ours in the config's `ErrorMap` (as rustls does), each mapping a
//! statement that the two name the same failure.

use tls_core::{AlertDescription, Error};

/// The token for an engine error.
pub fn token(error: &Error) -> String {
    // A server's empty Certificate is decode_error in both stacks (RFC 8446
    // §4.4.2.4), under BoringSSL's finer reason in TLS 1.3 only: both tokens
    // (the reason is shared with errors of other alerts, so it cannot be an
    // ErrorMap entry).
    if *error == Error::Decode("empty server Certificate") {
        return ":DECODE_ERROR: :PEER_DID_NOT_RETURN_A_CERTIFICATE:".to_string();
    }
    // BoringSSL's WRONG_CURVE names a group or curve outside what was
    // offered, with illegal_parameter (a peer's key share or retry) or
    // handshake_failure (a TLS 1.2 server with no certificate on the
    // client's curves), so it too is printed beside our token.
    let wrong_curve = [
        Error::IllegalParameter("server chose a group we did not offer"),
        Error::IllegalParameter("server key share is not for our group"),
        Error::IllegalParameter("HelloRetryRequest asks for an unusable group"),
        Error::IllegalParameter("second ClientHello has the wrong key share"),
        Error::HandshakeFailure("certificate key on a curve the client did not offer"),
    ];
    if wrong_curve.contains(error) {
        return format!("{} :WRONG_CURVE:", alert_token(error));
    }
    alert_token(error)
}

/// The token naming the alert the engine sends for `error` (or, for a
/// received alert, BoringSSL's name for it).
fn alert_token(error: &Error) -> String {
    let reason = match error {
        Error::Decode(_) => "DECODE_ERROR",
        Error::UnexpectedMessage(_) => "UNEXPECTED_MESSAGE",
        Error::IllegalParameter(_) => "ILLEGAL_PARAMETER",
        Error::HandshakeFailure(_) => "HANDSHAKE_FAILURE",
        Error::DecryptError(_) => "DECRYPT_ERROR",
        Error::BadRecordMac => "DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
        Error::RecordOverflow => "RECORD_OVERFLOW",
        Error::ProtocolVersion => "UNSUPPORTED_PROTOCOL",
        Error::MissingExtension(_) => "MISSING_EXTENSION",
        Error::UnsupportedExtension(_) => "UNEXPECTED_EXTENSION",
        Error::InappropriateFallback => "INAPPROPRIATE_FALLBACK",
        Error::NoApplicationProtocol => "NO_APPLICATION_PROTOCOL",
        Error::UnrecognizedName => "UNRECOGNIZED_NAME",
        Error::BadCertificate(_) => "BAD_CERTIFICATE",
        Error::UnsupportedCertificate(_) => "UNSUPPORTED_CERTIFICATE",
        Error::CertificateUnknown(_) => "CERTIFICATE_UNKNOWN",
        Error::BadCertificateStatus(_) => "BAD_CERTIFICATE_STATUS_RESPONSE",
        Error::CertificateRequired => "PEER_DID_NOT_RETURN_A_CERTIFICATE",
        Error::AccessDenied(_) => "ACCESS_DENIED",
        Error::AlertReceived(alert) => return format!(":{}:", received_alert(*alert)),
        Error::UnexpectedEof => "UNEXPECTED_EOF",
        Error::Closed => "CLOSED",
        Error::Entropy
        | Error::KeyMismatch
        | Error::InvalidConfig(_)
        | Error::Misuse(_)
        | Error::Internal(_) => "INTERNAL_ERROR",
        // A variant a later tls-core adds, until it is mapped.
        _ => "INTERNAL_ERROR",
    };
    format!(":{reason}:")
}

/// BoringSSL's reason for a fatal alert received from the peer.
fn received_alert(alert: AlertDescription) -> String {
    use AlertDescription as A;
    let name = match alert {
        A::CloseNotify => "SSLV3_ALERT_CLOSE_NOTIFY",
        A::UnexpectedMessage => "SSLV3_ALERT_UNEXPECTED_MESSAGE",
        A::BadRecordMac => "SSLV3_ALERT_BAD_RECORD_MAC",
        A::RecordOverflow => "TLSV1_ALERT_RECORD_OVERFLOW",
        A::HandshakeFailure => "SSLV3_ALERT_HANDSHAKE_FAILURE",
        A::BadCertificate => "SSLV3_ALERT_BAD_CERTIFICATE",
        A::UnsupportedCertificate => "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        A::CertificateRevoked => "SSLV3_ALERT_CERTIFICATE_REVOKED",
        A::CertificateExpired => "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        A::CertificateUnknown => "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        A::IllegalParameter => "SSLV3_ALERT_ILLEGAL_PARAMETER",
        A::UnknownCa => "TLSV1_ALERT_UNKNOWN_CA",
        A::AccessDenied => "TLSV1_ALERT_ACCESS_DENIED",
        A::DecodeError => "TLSV1_ALERT_DECODE_ERROR",
        A::DecryptError => "TLSV1_ALERT_DECRYPT_ERROR",
        A::ProtocolVersion => "TLSV1_ALERT_PROTOCOL_VERSION",
        A::InsufficientSecurity => "TLSV1_ALERT_INSUFFICIENT_SECURITY",
        A::InternalError => "TLSV1_ALERT_INTERNAL_ERROR",
        A::InappropriateFallback => "TLSV1_ALERT_INAPPROPRIATE_FALLBACK",
        A::UserCanceled => "TLSV1_ALERT_USER_CANCELLED",
        A::NoRenegotiation => "TLSV1_ALERT_NO_RENEGOTIATION",
        A::MissingExtension => "TLSV1_ALERT_MISSING_EXTENSION",
        A::UnsupportedExtension => "TLSV1_ALERT_UNSUPPORTED_EXTENSION",
        A::UnrecognizedName => "TLSV1_ALERT_UNRECOGNIZED_NAME",
        A::BadCertificateStatusResponse => "TLSV1_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE",
        A::UnknownPskIdentity => "TLSV1_ALERT_UNKNOWN_PSK_IDENTITY",
        A::CertificateRequired => "TLSV1_ALERT_CERTIFICATE_REQUIRED",
        A::NoApplicationProtocol => "TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
        other => match other.to_wire() {
            // Alerts tls-core has no name for, by their wire value.
            21 => "TLSV1_ALERT_DECRYPTION_FAILED",
            30 => "SSLV3_ALERT_DECOMPRESSION_FAILURE",
            41 => "SSLV3_ALERT_NO_CERTIFICATE",
            60 => "TLSV1_ALERT_EXPORT_RESTRICTION",
            111 => "TLSV1_ALERT_CERTIFICATE_UNOBTAINABLE",
            114 => "TLSV1_ALERT_BAD_CERTIFICATE_HASH_VALUE",
            121 => "TLSV1_ALERT_ECH_REQUIRED",
            value => return format!("TLSV1_ALERT_UNKNOWN_{value}"),
        },
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_alerts_use_boringssl_names() {
        let e = Error::AlertReceived(AlertDescription::DecodeError);
        assert_eq!(token(&e), ":TLSV1_ALERT_DECODE_ERROR:");
        assert_eq!(
            token(&Error::Decode("empty server Certificate")),
            ":DECODE_ERROR: :PEER_DID_NOT_RETURN_A_CERTIFICATE:"
        );
        assert_eq!(
            token(&Error::IllegalParameter(
                "server key share is not for our group"
            )),
            ":ILLEGAL_PARAMETER: :WRONG_CURVE:"
        );
        assert_eq!(
            token(&Error::BadRecordMac),
            ":DECRYPTION_FAILED_OR_BAD_RECORD_MAC:"
        );
    }
}
