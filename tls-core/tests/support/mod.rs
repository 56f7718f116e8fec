//! What tls-core's integration tests share: a self-signed identity, configs
//! that trust it, and in-memory client/server pairs with the pump that moves
//! bytes between them (whole flights, or cut into pieces).
//!
//! Each test file includes it with `mod support;` and uses part of it.
#![allow(dead_code)]

// Spelled out: tls-core's own unit tests include this file too, and that
// crate is `no_std` (with std linked for its tests).
use std::string::{String, ToString};
use std::sync::{Arc, OnceLock};
use std::vec;
use std::vec::Vec;

use tls_core::{CertifiedKey, ClientConfig, Connection, Error, Event, ServerConfig, SigningKey};

/// A self-signed certificate for `localhost` and its key.
pub(crate) struct Pki {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

/// A new identity whose key uses `alg`.
pub(crate) fn pki(alg: &'static rcgen::SignatureAlgorithm) -> Pki {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    Pki {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// One P-256 identity for the whole test binary (key generation is slow
/// enough to matter in property tests).
pub(crate) fn pki_p256() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| pki(&rcgen::PKCS_ECDSA_P256_SHA256))
}

/// The identity as a server's certificate and key.
pub(crate) fn certified(p: &Pki) -> CertifiedKey {
    CertifiedKey::from_pem(p.cert_pem.as_bytes(), p.key_pem.as_bytes()).unwrap()
}

/// The certificate (DER) and the signing key, as `CertifiedKey::new` and
/// the scripted peers take them.
pub(crate) fn cert_and_key(p: &Pki) -> (Vec<u8>, SigningKey) {
    (
        p.cert_der.clone(),
        SigningKey::from_pkcs8(&p.key_der).unwrap(),
    )
}

/// A client pinning `p`'s certificate and a server presenting it, both with
/// the default versions and suites.
pub(crate) fn configs(p: &Pki) -> (ClientConfig, ServerConfig) {
    let client = ClientConfig::with_pinned_certs(vec![p.cert_der.clone()]);
    (client, ServerConfig::with_single_cert(certified(p)))
}

/// Everything `conn` has to send, marked as sent.
pub(crate) fn take(conn: &mut Connection) -> Vec<u8> {
    let out = conn.pending_tls().to_vec();
    conn.consume_tls(out.len());
    out
}

/// Moves whole flights both ways until neither side has anything to send;
/// the first error either side reports.
pub(crate) fn pump(client: &mut Connection, server: &mut Connection) -> Result<(), Error> {
    for _ in 0..100 {
        let to_server = take(client);
        let to_client = take(server);
        if to_server.is_empty() && to_client.is_empty() {
            return Ok(());
        }
        server.feed(&to_server)?;
        client.feed(&to_client)?;
    }
    panic!("pump did not settle");
}

/// Feeds `bytes` to `to` in pieces whose sizes cycle through `sizes`
/// (each at least 1; whole when `sizes` is empty), taking the next size
/// from `at`.
pub(crate) fn feed_in_pieces(to: &mut Connection, bytes: &[u8], sizes: &[usize], at: &mut usize) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = match sizes.get(*at % sizes.len().max(1)) {
            Some(size) => (*size).min(rest.len()),
            None => rest.len(),
        };
        *at += 1;
        to.feed(&rest[..n]).expect("peer's bytes accepted");
        rest = &rest[n..];
    }
}

/// [`pump`], with every flight cut by [`feed_in_pieces`].
pub(crate) fn pump_in_pieces(
    client: &mut Connection,
    server: &mut Connection,
    sizes: &[usize],
    at: &mut usize,
) {
    for _ in 0..200 {
        let to_server = take(client);
        let to_client = take(server);
        if to_server.is_empty() && to_client.is_empty() {
            return;
        }
        feed_in_pieces(server, &to_server, sizes, at);
        feed_in_pieces(client, &to_client, sizes, at);
    }
    panic!("pump did not settle");
}

/// A client (to `localhost`) and a server from these configs, handshaken;
/// both have reported [`Event::HandshakeComplete`].
pub(crate) fn connect(cc: &Arc<ClientConfig>, sc: &Arc<ServerConfig>) -> (Connection, Connection) {
    let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
    let mut server = Connection::server(sc.clone());
    pump(&mut client, &mut server).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
    assert_eq!(client.next_event(), Some(Event::HandshakeComplete));
    assert_eq!(server.next_event(), Some(Event::HandshakeComplete));
    (client, server)
}

/// [`connect`] for configs used once.
pub(crate) fn handshake(cc: ClientConfig, sc: ServerConfig) -> (Connection, Connection) {
    connect(&Arc::new(cc), &Arc::new(sc))
}

/// All application data received so far, read out.
pub(crate) fn read_all(conn: &mut Connection) -> Vec<u8> {
    let got = conn.peek_plaintext().to_vec();
    conn.consume_plaintext(got.len());
    got
}
