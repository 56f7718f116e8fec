//! Wire enumerations. Unknown values are kept as `Unknown(..)`, never rejected here.

use alloc::vec::Vec;

use crate::error::Error;
use crate::msgs::codec::{put_u16, LenPrefix, ListElement, Reader, VecRule};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident : $repr:ty { $($(#[$vdoc:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this implementation does not know.
            Unknown($repr),
        }

        impl $name {
            /// The value as it appears on the wire.
            pub fn to_wire(self) -> $repr {
                match self {
                    $($name::$variant => $value,)*
                    $name::Unknown(v) => v,
                }
            }

            /// The variant for a wire value.
            pub fn from_wire(v: $repr) -> Self {
                match v {
                    $($value => $name::$variant,)*
                    other => $name::Unknown(other),
                }
            }
        }
    };
}

wire_enum! {
    /// Record content types (RFC 8446 §5.1).
    ContentType: u8 {
        /// change_cipher_spec, only the middlebox-compatibility dummy in TLS 1.3.
        ChangeCipherSpec = 20,
        /// alert
        Alert = 21,
        /// handshake
        Handshake = 22,
        /// application_data
        ApplicationData = 23,
    }
}

wire_enum! {
    /// Protocol versions.
    ProtocolVersion: u16 {
        /// SSL 3.0 (refused).
        Ssl3 = 0x0300,
        /// TLS 1.0 (refused).
        Tls10 = 0x0301,
        /// TLS 1.1 (refused).
        Tls11 = 0x0302,
        /// TLS 1.2
        Tls12 = 0x0303,
        /// TLS 1.3
        Tls13 = 0x0304,
    }
}

wire_enum! {
    /// Handshake message types.
    HandshakeType: u8 {
        /// hello_request (TLS 1.2 only)
        HelloRequest = 0,
        /// client_hello
        ClientHello = 1,
        /// server_hello (also HelloRetryRequest)
        ServerHello = 2,
        /// new_session_ticket
        NewSessionTicket = 4,
        /// end_of_early_data
        EndOfEarlyData = 5,
        /// encrypted_extensions
        EncryptedExtensions = 8,
        /// certificate
        Certificate = 11,
        /// server_key_exchange (TLS 1.2)
        ServerKeyExchange = 12,
        /// certificate_request
        CertificateRequest = 13,
        /// server_hello_done (TLS 1.2)
        ServerHelloDone = 14,
        /// certificate_verify
        CertificateVerify = 15,
        /// client_key_exchange (TLS 1.2)
        ClientKeyExchange = 16,
        /// finished
        Finished = 20,
        /// certificate_status (TLS 1.2, RFC 6066 §8)
        CertificateStatus = 22,
        /// key_update
        KeyUpdate = 24,
        /// message_hash, the synthetic message of the HelloRetryRequest transcript rule
        MessageHash = 254,
    }
}

wire_enum! {
    /// Alert descriptions (RFC 8446 §6).
    AlertDescription: u8 {
        /// close_notify
        CloseNotify = 0,
        /// unexpected_message
        UnexpectedMessage = 10,
        /// bad_record_mac
        BadRecordMac = 20,
        /// record_overflow
        RecordOverflow = 22,
        /// handshake_failure
        HandshakeFailure = 40,
        /// bad_certificate
        BadCertificate = 42,
        /// unsupported_certificate
        UnsupportedCertificate = 43,
        /// certificate_revoked
        CertificateRevoked = 44,
        /// certificate_expired
        CertificateExpired = 45,
        /// certificate_unknown
        CertificateUnknown = 46,
        /// illegal_parameter
        IllegalParameter = 47,
        /// unknown_ca
        UnknownCa = 48,
        /// access_denied
        AccessDenied = 49,
        /// decode_error
        DecodeError = 50,
        /// decrypt_error
        DecryptError = 51,
        /// protocol_version
        ProtocolVersion = 70,
        /// insufficient_security
        InsufficientSecurity = 71,
        /// internal_error
        InternalError = 80,
        /// inappropriate_fallback
        InappropriateFallback = 86,
        /// user_canceled
        UserCanceled = 90,
        /// no_renegotiation
        NoRenegotiation = 100,
        /// missing_extension
        MissingExtension = 109,
        /// unsupported_extension
        UnsupportedExtension = 110,
        /// unrecognized_name
        UnrecognizedName = 112,
        /// bad_certificate_status_response
        BadCertificateStatusResponse = 113,
        /// unknown_psk_identity
        UnknownPskIdentity = 115,
        /// certificate_required
        CertificateRequired = 116,
        /// no_application_protocol
        NoApplicationProtocol = 120,
    }
}

wire_enum! {
    /// Cipher suites: the TLS 1.3 suites and the TLS 1.2 ECDHE+AEAD suites.
    CipherSuite: u16 {
        /// TLS_AES_128_GCM_SHA256
        Tls13Aes128GcmSha256 = 0x1301,
        /// TLS_AES_256_GCM_SHA384
        Tls13Aes256GcmSha384 = 0x1302,
        /// TLS_CHACHA20_POLY1305_SHA256
        Tls13Chacha20Poly1305Sha256 = 0x1303,
        /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (TLS 1.2, RFC 5289)
        EcdheEcdsaAes128GcmSha256 = 0xc02b,
        /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (TLS 1.2, RFC 5289)
        EcdheEcdsaAes256GcmSha384 = 0xc02c,
        /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (TLS 1.2, RFC 5289)
        EcdheRsaAes128GcmSha256 = 0xc02f,
        /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (TLS 1.2, RFC 5289)
        EcdheRsaAes256GcmSha384 = 0xc030,
        /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (TLS 1.2, RFC 7905)
        EcdheRsaChacha20Poly1305Sha256 = 0xcca8,
        /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (TLS 1.2, RFC 7905)
        EcdheEcdsaChacha20Poly1305Sha256 = 0xcca9,
        /// TLS_EMPTY_RENEGOTIATION_INFO_SCSV
        EmptyRenegotiationInfoScsv = 0x00ff,
        /// TLS_FALLBACK_SCSV
        FallbackScsv = 0x5600,
    }
}

wire_enum! {
    /// Named groups for key exchange.
    NamedGroup: u16 {
        /// secp256r1 (P-256)
        Secp256r1 = 0x0017,
        /// secp384r1 (P-384)
        Secp384r1 = 0x0018,
        /// secp521r1 (not supported)
        Secp521r1 = 0x0019,
        /// x25519
        X25519 = 0x001d,
        /// x448 (not supported)
        X448 = 0x001e,
        /// SecP256r1MLKEM768: P-256 and ML-KEM-768 hybrid (RFC 10024,
        /// draft-ietf-tls-ecdhe-mlkem), TLS 1.3 only
        Secp256r1MlKem768 = 0x11eb,
        /// X25519MLKEM768: X25519 and ML-KEM-768 hybrid (RFC 10024,
        /// draft-ietf-tls-ecdhe-mlkem), TLS 1.3 only
        X25519MlKem768 = 0x11ec,
        /// SecP384r1MLKEM1024: P-384 and ML-KEM-1024 hybrid (RFC 10024,
        /// draft-ietf-tls-ecdhe-mlkem), TLS 1.3 only
        Secp384r1MlKem1024 = 0x11ed,
    }
}

wire_enum! {
    /// Signature schemes (RFC 8446 §4.2.3).
    SignatureScheme: u16 {
        /// rsa_pkcs1_sha256 (certificates and TLS 1.2 only)
        RsaPkcs1Sha256 = 0x0401,
        /// rsa_pkcs1_sha384 (certificates and TLS 1.2 only)
        RsaPkcs1Sha384 = 0x0501,
        /// rsa_pkcs1_sha512 (certificates and TLS 1.2 only)
        RsaPkcs1Sha512 = 0x0601,
        /// ecdsa_secp256r1_sha256
        EcdsaSecp256r1Sha256 = 0x0403,
        /// ecdsa_secp384r1_sha384
        EcdsaSecp384r1Sha384 = 0x0503,
        /// ecdsa_secp521r1_sha512 (not supported)
        EcdsaSecp521r1Sha512 = 0x0603,
        /// rsa_pss_rsae_sha256
        RsaPssRsaeSha256 = 0x0804,
        /// rsa_pss_rsae_sha384
        RsaPssRsaeSha384 = 0x0805,
        /// rsa_pss_rsae_sha512
        RsaPssRsaeSha512 = 0x0806,
        /// ed25519
        Ed25519 = 0x0807,
        /// ed448 (not supported)
        Ed448 = 0x0808,
        /// rsa_pss_pss_sha256 (not supported)
        RsaPssPssSha256 = 0x0809,
        /// rsa_pkcs1_sha1 (refused)
        RsaPkcs1Sha1 = 0x0201,
        /// ecdsa_sha1 (refused)
        EcdsaSha1 = 0x0203,
    }
}

wire_enum! {
    /// Extension types.
    ExtensionType: u16 {
        /// server_name
        ServerName = 0,
        /// max_fragment_length
        MaxFragmentLength = 1,
        /// status_request
        StatusRequest = 5,
        /// supported_groups
        SupportedGroups = 10,
        /// ec_point_formats (TLS 1.2)
        EcPointFormats = 11,
        /// signature_algorithms
        SignatureAlgorithms = 13,
        /// heartbeat (refused)
        Heartbeat = 15,
        /// application_layer_protocol_negotiation
        Alpn = 16,
        /// signed_certificate_timestamp
        SignedCertificateTimestamp = 18,
        /// padding
        Padding = 21,
        /// encrypt_then_mac (TLS 1.2, CBC only: ignored)
        EncryptThenMac = 22,
        /// extended_master_secret (TLS 1.2)
        ExtendedMasterSecret = 23,
        /// record_size_limit
        RecordSizeLimit = 28,
        /// session_ticket (TLS 1.2)
        SessionTicket = 35,
        /// pre_shared_key
        PreSharedKey = 41,
        /// early_data
        EarlyData = 42,
        /// supported_versions
        SupportedVersions = 43,
        /// cookie
        Cookie = 44,
        /// psk_key_exchange_modes
        PskKeyExchangeModes = 45,
        /// certificate_authorities
        CertificateAuthorities = 47,
        /// post_handshake_auth
        PostHandshakeAuth = 49,
        /// signature_algorithms_cert
        SignatureAlgorithmsCert = 50,
        /// key_share
        KeyShare = 51,
        /// renegotiation_info (TLS 1.2)
        RenegotiationInfo = 0xff01,
    }
}

/// Declares the list rule of a two-byte wire enum: every element is two bytes,
/// so a list of odd length is refused with the list's error.
macro_rules! u16_list_element {
    ($(#[$doc:meta])* $name:ident: $rule:expr) => {
        $(#[$doc])*
        impl ListElement for $name {
            type Item = Self;
            const LIST: VecRule = $rule;
            const FIXED_SIZE: Option<usize> = Some(2);

            fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
                Ok($name::from_wire(r.u16(Self::LIST.what())?))
            }

            fn write(item: &Self, out: &mut Vec<u8>) {
                put_u16(out, item.to_wire());
            }
        }
    };
}

u16_list_element! {
    /// `CipherSuite cipher_suites<2..2^16-2>` (RFC 8446 §4.1.2).
    CipherSuite: VecRule::non_empty(LenPrefix::U16, "cipher_suites")
}

u16_list_element! {
    /// `NamedGroup named_group_list<2..2^16-1>` (RFC 8446 §4.2.7).
    NamedGroup: VecRule::non_empty(LenPrefix::U16, "supported_groups")
}

u16_list_element! {
    /// `SignatureScheme supported_signature_algorithms<2..2^16-2>` (RFC 8446
    /// §4.2.3, RFC 5246 §7.4.4): signature_algorithms,
    /// signature_algorithms_cert and the TLS 1.2 CertificateRequest.
    SignatureScheme: VecRule::non_empty(LenPrefix::U16, "signature_algorithms")
}

u16_list_element! {
    /// `ProtocolVersion versions<2..254>` in a ClientHello's
    /// supported_versions (RFC 8446 §4.2.1).
    ProtocolVersion: VecRule::non_empty(LenPrefix::U8, "supported_versions")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip() {
        for v in 0..=u16::MAX {
            assert_eq!(CipherSuite::from_wire(v).to_wire(), v);
            assert_eq!(NamedGroup::from_wire(v).to_wire(), v);
            assert_eq!(ExtensionType::from_wire(v).to_wire(), v);
        }
        for v in 0..=u8::MAX {
            assert_eq!(AlertDescription::from_wire(v).to_wire(), v);
            assert_eq!(HandshakeType::from_wire(v).to_wire(), v);
        }
        assert_eq!(SignatureScheme::from_wire(0x0807), SignatureScheme::Ed25519);
    }
}
