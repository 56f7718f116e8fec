//! `ClientConfig::builder` and `ServerConfig::builder`: what `build()`
//! refuses (each with its own reason) and that what it accepts handshakes.

use std::sync::Arc;

use tls_core::config::{DEFAULT_CIPHER_SUITES, DEFAULT_TLS12_CIPHER_SUITES};
use tls_core::{
    CipherSuite, ClientConfig, ClientConfigBuilder, Error, NamedGroup, ProtocolVersion,
    ServerConfig, SingleCert,
};

mod support;
use support::*;

fn client() -> ClientConfigBuilder {
    ClientConfig::builder().pinned_certs(vec![pki_p256().cert_der.clone()])
}

/// The reason in an `InvalidConfig` error.
fn reason<T>(result: Result<T, Error>) -> &'static str {
    match result {
        Err(Error::InvalidConfig(why)) => why,
        Err(other) => panic!("expected InvalidConfig, got {other:?}"),
        Ok(_) => panic!("expected InvalidConfig, got a config"),
    }
}

#[test]
fn client_builder_refuses_unusable_algorithms() {
    let cases: Vec<(ClientConfigBuilder, &str)> = vec![
        (ClientConfig::builder(), "no server certificate verifier"),
        (client().versions(&[]), "no protocol version"),
        (
            client().versions(&[ProtocolVersion::Tls10]),
            "only TLS 1.3 and TLS 1.2",
        ),
        (client().cipher_suites(&[]), "empty cipher suite list"),
        (
            client().cipher_suites(&[CipherSuite::FallbackScsv]),
            "does not implement",
        ),
        (
            client()
                .versions(&[ProtocolVersion::Tls12])
                .cipher_suites(&DEFAULT_CIPHER_SUITES),
            "TLS 1.2 enabled without a TLS 1.2 cipher suite",
        ),
        (
            client()
                .versions(&[ProtocolVersion::Tls13, ProtocolVersion::Tls12])
                .cipher_suites(&DEFAULT_TLS12_CIPHER_SUITES),
            "TLS 1.3 enabled without a TLS 1.3 cipher suite",
        ),
        (client().groups(&[]), "empty group list"),
        (
            client()
                .versions(&[ProtocolVersion::Tls12])
                .groups(&[NamedGroup::X25519MlKem768]),
            "only post-quantum hybrid groups",
        ),
        (client().alpn_protocols(&[b"h2", b""]), "empty ALPN"),
        (
            client().alpn_protocols(&[&[b'x'; 256]]),
            "longer than 255 bytes",
        ),
    ];
    for (builder, want) in cases {
        let why = reason(builder.build());
        assert!(why.contains(want), "{why:?} does not say {want:?}");
    }
}

#[test]
fn mismatched_key_and_certificate_fail_at_build() {
    let p = pki_p256();
    let other = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let err = client()
        .client_cert_pem(p.cert_pem.as_bytes(), other.key_pem.as_bytes())
        .build()
        .err();
    assert_eq!(err, Some(Error::KeyMismatch));
    let err = ServerConfig::builder()
        .cert_pem(p.cert_pem.as_bytes(), other.key_pem.as_bytes())
        .build()
        .err();
    assert_eq!(err, Some(Error::KeyMismatch));
    let (cert, _) = cert_and_key(p);
    let (_, other_key) = cert_and_key(&other);
    let err = ServerConfig::builder()
        .cert(vec![cert], other_key)
        .build()
        .err();
    assert_eq!(err, Some(Error::KeyMismatch));
}

#[test]
fn server_builder_refuses_unusable_configs() {
    let p = pki_p256();
    let server = || ServerConfig::builder().cert_pem(p.cert_pem.as_bytes(), p.key_pem.as_bytes());
    assert!(reason(ServerConfig::builder().build()).contains("no certificate"));
    assert!(reason(server().cipher_suites(&[]).build()).contains("empty cipher suite list"));
    assert!(reason(server().alpn_protocols(&[b""]).build()).contains("empty ALPN"));
    // An ECDSA key with only ECDHE_RSA suites for TLS 1.2.
    let rsa_only = [
        CipherSuite::Tls13Aes128GcmSha256,
        CipherSuite::EcdheRsaAes128GcmSha256,
    ];
    let why = reason(server().cipher_suites(&rsa_only).build());
    assert!(why.contains("can use the certificate's key"), "{why}");
    // Without TLS 1.2 the same suites are fine.
    server()
        .cipher_suites(&rsa_only)
        .versions(&[ProtocolVersion::Tls13])
        .build()
        .expect("TLS 1.3 only");
}

#[test]
fn built_configs_handshake_with_alpn() {
    let p = pki_p256();
    for version in [ProtocolVersion::Tls13, ProtocolVersion::Tls12] {
        let cc = client()
            .versions(&[version])
            .alpn_protocols(&[b"h2", b"http/1.1"])
            .build()
            .expect("client config");
        let sc = ServerConfig::builder()
            .cert_pem(p.cert_pem.as_bytes(), p.key_pem.as_bytes())
            .alpn_protocols(&[b"http/1.1"])
            .build()
            .expect("server config");
        let (client, _server) = handshake(cc, sc);
        let negotiated = client.negotiated().expect("negotiated");
        assert_eq!(negotiated.version, version);
        assert_eq!(negotiated.alpn.as_deref(), Some(&b"http/1.1"[..]));
    }
    // A resolver instead of a single certificate.
    let sc = ServerConfig::builder()
        .cert_resolver(Arc::new(SingleCert(Arc::new(certified(p)))))
        .no_resumption()
        .build()
        .expect("resolver config");
    assert!(sc.ticketer.is_none() && sc.session_cache.is_none());
    handshake(client().build().expect("client"), sc);
}
