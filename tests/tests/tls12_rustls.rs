//! TLS 1.2 interop with rustls (ring provider, TLS 1.2 only), in process over
//! memory buffers: our server against a rustls client and our client against
//! a rustls server, for each TLS 1.2 suite and group, 64 KiB each way, and
//! ticket resumption of our server by rustls.

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::crypto::{ring as provider, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{RootCertStore, SupportedCipherSuite};
use tls_core::{CipherSuite, Connection, NamedGroup, Negotiated, ProtocolVersion};
use tls_tests::{assert_same_bytes, client_config, payload, pki, server_config, KeyType};

const SIZE: usize = 64 * 1024;

const SUITES: [(CipherSuite, SupportedCipherSuite, KeyType); 6] = [
    (
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        KeyType::EcdsaP256,
    ),
    (
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        KeyType::EcdsaP384,
    ),
    (
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        KeyType::Ed25519,
    ),
    (
        CipherSuite::EcdheRsaAes128GcmSha256,
        provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaAes256GcmSha384,
        provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        KeyType::Rsa2048,
    ),
    (
        CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        KeyType::Rsa2048,
    ),
];

fn rustls_group(group: NamedGroup) -> &'static dyn SupportedKxGroup {
    match group {
        NamedGroup::X25519 => provider::kx_group::X25519,
        NamedGroup::Secp256r1 => provider::kx_group::SECP256R1,
        NamedGroup::Secp384r1 => provider::kx_group::SECP384R1,
        other => panic!("no rustls group for {other:?}"),
    }
}

const ALL_GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

fn provider_with(suite: SupportedCipherSuite, groups: &[NamedGroup]) -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: vec![suite],
        kx_groups: groups.iter().map(|&g| rustls_group(g)).collect(),
        ..provider::default_provider()
    })
}

fn rustls_client_config(provider: Arc<CryptoProvider>) -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki().ca_der.clone()))
        .expect("test CA");
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("TLS 1.2")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn rustls_client(config: &Arc<rustls::ClientConfig>) -> rustls::Connection {
    let name = ServerName::try_from("localhost").expect("name");
    rustls::ClientConnection::new(config.clone(), name)
        .expect("rustls client")
        .into()
}

fn rustls_server(key_type: KeyType, provider: Arc<CryptoProvider>) -> rustls::Connection {
    let p = pki();
    let leaf = p.leaf(key_type);
    let chain = vec![
        CertificateDer::from(leaf.cert_der.clone()),
        CertificateDer::from(p.ca_der.clone()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("TLS 1.2")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("rustls accepts the test key");
    rustls::ServerConnection::new(Arc::new(config))
        .expect("rustls server")
        .into()
}

/// Moves `SIZE` bytes each way, then our close_notify and rustls's answer.
fn exchange(ours: &mut Connection, theirs: &mut rustls::Connection) -> Negotiated {
    let ours_out = payload(41, SIZE);
    let theirs_out = payload(42, SIZE);
    ours.write(&ours_out).expect("our write");
    theirs
        .writer()
        .write_all(&theirs_out)
        .expect("rustls write");
    let (mut ours_in, mut theirs_in) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 64 * 1024];
    let mut closed = false;
    for _ in 0..10_000 {
        let mut progress = false;
        while !ours.pending_tls().is_empty() {
            let mut pending = ours.pending_tls();
            let n = theirs.read_tls(&mut pending).expect("rustls read_tls");
            if n == 0 {
                break;
            }
            ours.consume_tls(n);
            progress = true;
            theirs
                .process_new_packets()
                .unwrap_or_else(|e| panic!("rustls rejected our records: {e}"));
            loop {
                match theirs.reader().read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => theirs_in.extend_from_slice(&buf[..k]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("rustls read: {e}"),
                }
            }
        }
        let mut wire = Vec::new();
        while theirs.wants_write() {
            theirs.write_tls(&mut wire).expect("rustls write_tls");
        }
        if !wire.is_empty() {
            progress = true;
            ours.feed(&wire)
                .unwrap_or_else(|e| panic!("our engine rejected rustls's records: {e}"));
        }
        loop {
            let k = ours.read(&mut buf);
            if k == 0 {
                break;
            }
            ours_in.extend_from_slice(&buf[..k]);
            progress = true;
        }
        if !closed && ours_in.len() == SIZE && theirs_in.len() == SIZE {
            ours.close();
            closed = true;
            progress = true;
        }
        if closed && ours.peer_closed() {
            break;
        }
        if !progress && closed {
            theirs.send_close_notify();
        }
    }
    assert_same_bytes("we received", &ours_in, &theirs_out);
    assert_same_bytes("rustls received", &theirs_in, &ours_out);
    let n = ours.negotiated().cloned().expect("negotiated");
    assert_eq!(n.version, ProtocolVersion::Tls12);
    assert_eq!(
        theirs.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    n
}

#[test]
fn server_every_suite_and_group_vs_rustls_client() {
    for (suite, theirs, key_type) in SUITES {
        for group in ALL_GROUPS {
            // rustls offers every group (in TLS 1.2 they also bound an ECDSA
            // certificate's curve); our server takes only `group`.
            let config = rustls_client_config(provider_with(theirs, &ALL_GROUPS));
            let mut server_config = server_config(key_type);
            server_config.groups = vec![group];
            let mut ours = Connection::server(Arc::new(server_config));
            let n = exchange(&mut ours, &mut rustls_client(&config));
            assert_eq!((n.suite, n.group), (suite, group));
        }
    }
}

#[test]
fn client_every_suite_and_group_vs_rustls_server() {
    for (suite, theirs, key_type) in SUITES {
        for group in ALL_GROUPS {
            let mut ours =
                Connection::client(Arc::new(client_config(key_type)), Some("localhost")).unwrap();
            let mut server = rustls_server(key_type, provider_with(theirs, &[group]));
            let n = exchange(&mut ours, &mut server);
            assert_eq!((n.suite, n.group), (suite, group));
        }
    }
}

#[test]
fn rustls_client_resumes_with_our_server() {
    let (_, theirs, key_type) = SUITES[0];
    let config = rustls_client_config(provider_with(theirs, &ALL_GROUPS));
    let ours_config = Arc::new(server_config(key_type));
    let mut first = Connection::server(ours_config.clone());
    assert!(!exchange(&mut first, &mut rustls_client(&config)).resumed);
    let mut second = Connection::server(ours_config);
    assert!(exchange(&mut second, &mut rustls_client(&config)).resumed);
}
