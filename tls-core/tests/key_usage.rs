//! The peer's end-entity certificate signs the handshake, so a keyUsage
//! without digitalSignature is refused by the engine itself, whatever the
//! verifier decides (RFC 5280 §4.2.1.3; BoGo's ECDSAKeyUsage-* and
//! RSAKeyUsage-*-WantSignature-GotEncipherment-*): here the verifiers pin the
//! very certificate, so only the engine's check can refuse it. Both sides,
//! both versions.

use std::sync::Arc;

use rcgen::KeyUsagePurpose;
use tls_core::verify::PinnedCertVerifier;
use tls_core::{
    AlertDescription, CertifiedKey, ClientConfig, Connection, Error, ProtocolVersion, ServerConfig,
    SigningKey,
};

mod support;
use support::*;

/// A P-256 certificate for localhost with `usages` as its keyUsage.
fn leaf(usages: Vec<KeyUsagePurpose>) -> (Vec<u8>, SigningKey) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.key_usages = usages;
    let cert = params.self_signed(&key).unwrap();
    (
        cert.der().to_vec(),
        SigningKey::from_pkcs8(&key.serialize_der()).unwrap(),
    )
}

const REFUSED: Error = Error::BadCertificate("end-entity keyUsage lacks digitalSignature");

/// A handshake where the server's certificate (with `mutual`, the client's)
/// carries `usages`; the first error either side met.
fn run(version: ProtocolVersion, usages: Vec<KeyUsagePurpose>, mutual: bool) -> Result<(), Error> {
    let (plain, plain_key) = cert_and_key(pki_p256());
    let (odd, odd_key) = leaf(usages);
    let (server_cert, server_key, client_cert) = if mutual {
        (plain, plain_key, Some((odd, odd_key)))
    } else {
        (odd, odd_key, None)
    };
    let mut cc = ClientConfig::with_pinned_certs(vec![server_cert.clone()]);
    cc.versions = vec![version];
    let mut sc =
        ServerConfig::with_single_cert(CertifiedKey::new(vec![server_cert], server_key).unwrap());
    if let Some((der, key)) = client_cert {
        sc.client_verifier = Some(Arc::new(PinnedCertVerifier::new(vec![der.clone()])));
        cc.client_cert = Some(Arc::new(CertifiedKey::new(vec![der], key).unwrap()));
    }
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let mut server = Connection::server(Arc::new(sc));
    pump(&mut client, &mut server)
}

#[test]
fn a_peer_leaf_without_digital_signature_is_refused() {
    for version in [ProtocolVersion::Tls13, ProtocolVersion::Tls12] {
        for mutual in [false, true] {
            let what = format!("{version:?}, mutual {mutual}");
            let got = run(version, vec![KeyUsagePurpose::KeyEncipherment], mutual);
            assert_eq!(got, Err(REFUSED), "{what}");
            assert_eq!(REFUSED.alert(), Some(AlertDescription::BadCertificate));
            // digitalSignature among others, or no keyUsage at all: accepted.
            let usages = vec![
                KeyUsagePurpose::KeyEncipherment,
                KeyUsagePurpose::DigitalSignature,
            ];
            assert_eq!(run(version, usages, mutual), Ok(()), "{what}");
            assert_eq!(run(version, Vec::new(), mutual), Ok(()), "{what}");
        }
    }
}
