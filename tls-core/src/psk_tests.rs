//! External PSK handshakes (RFC 8446 §4.2.11) between our client and
//! server: certificate-less on a known identity, a wrong key refused with
//! decrypt_error, unknown identities falling back to the certificate,
//! psk_ke refused, and the interplay with HelloRetryRequest and tickets.

use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::config::{CertifiedKey, ClientConfig, ServerConfig, SingleCert};
use crate::conn::Connection;
use crate::crypto::{tls13_suite, HashAlg, SigningKey, Transcript};
use crate::error::Error;
use crate::msgs::enums::{
    AlertDescription, CipherSuite, ContentType, HandshakeType, NamedGroup, ProtocolVersion,
};
use crate::msgs::extensions::{ClientExtension, OfferedPsks, PskIdentity};
use crate::msgs::handshake::{ClientHello, HandshakeMessage};
use crate::psk::{ExternalPsk, NoCertificate};
use crate::record::buffer::RecordBuffer;
use crate::record::protect::frame_plaintext;
use crate::support::{cert_and_key, connect, pki_p256, pump, take};

fn test_cert() -> (Vec<u8>, SigningKey) {
    cert_and_key(pki_p256())
}

fn psk(identity: &[u8], key: u8) -> ExternalPsk {
    ExternalPsk::new(identity.to_vec(), vec![key; 32]).unwrap()
}

/// A TLS 1.3 client offering `offered`, pinning `pinned` (a certificate
/// it would accept if the server does not take the PSK).
fn client(offered: Option<ExternalPsk>, pinned: Vec<u8>) -> ClientConfig {
    let mut cc = ClientConfig::with_pinned_certs(vec![pinned]);
    cc.versions = vec![ProtocolVersion::Tls13];
    cc.external_psk = offered;
    cc
}

/// A server knowing `psks`, presenting `cert` if given (else none at all).
fn server(psks: Vec<ExternalPsk>, cert: Option<(Vec<u8>, SigningKey)>) -> ServerConfig {
    let (der, key) = test_cert();
    let mut sc = ServerConfig::with_single_cert(CertifiedKey::new(vec![der], key).unwrap());
    sc.cert_resolver = match cert {
        Some((der, key)) => Arc::new(SingleCert(Arc::new(
            CertifiedKey::new(vec![der], key).unwrap(),
        ))),
        None => Arc::new(NoCertificate),
    };
    sc.external_psks = psks;
    sc
}

/// Data goes both ways over a finished pair.
fn exchange(c: &mut Connection, s: &mut Connection) {
    c.write(b"ping").unwrap();
    s.feed(&take(c)).unwrap();
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf);
    assert_eq!(&buf[..n], b"ping");
    s.write(b"pong").unwrap();
    c.feed(&take(s)).unwrap();
    let n = c.read(&mut buf);
    assert_eq!(&buf[..n], b"pong");
}

#[test]
fn known_identity_handshakes_without_certificates() {
    let (unused_pin, _) = test_cert();
    let cc = Arc::new(client(Some(psk(b"alice", 7)), unused_pin));
    let sc = Arc::new(server(vec![psk(b"bob", 1), psk(b"alice", 7)], None));
    let (mut c, mut s) = connect(&cc, &sc);
    for n in [c.negotiated().unwrap(), s.negotiated().unwrap()] {
        assert_eq!(n.suite, CipherSuite::Tls13Aes128GcmSha256);
        assert!(n.peer_certificates.is_empty());
        assert!(!n.resumed);
    }
    exchange(&mut c, &mut s);
}

#[test]
fn wrong_key_is_decrypt_error() {
    let (unused_pin, _) = test_cert();
    let cc = Arc::new(client(Some(psk(b"alice", 8)), unused_pin));
    let sc = Arc::new(server(vec![psk(b"alice", 7)], Some(test_cert())));
    let mut c = Connection::client(cc, Some("localhost")).unwrap();
    let mut s = Connection::server(sc);
    assert_eq!(
        pump(&mut c, &mut s),
        Err(Error::DecryptError("bad PSK binder"))
    );
    assert_eq!(
        c.feed(&take(&mut s)),
        Err(Error::AlertReceived(AlertDescription::DecryptError))
    );
}

#[test]
fn unknown_identity_falls_back_to_the_certificate() {
    let (der, key) = test_cert();
    let cc = Arc::new(client(Some(psk(b"mallory", 7)), der.clone()));
    let sc = Arc::new(server(vec![psk(b"alice", 7)], Some((der.clone(), key))));
    let (c, _s) = connect(&cc, &sc);
    assert_eq!(c.negotiated().unwrap().peer_certificates, vec![der]);
}

#[test]
fn unknown_identity_without_certificate_is_refused() {
    let (unused_pin, _) = test_cert();
    let cc = Arc::new(client(Some(psk(b"mallory", 7)), unused_pin));
    let sc = Arc::new(server(vec![psk(b"alice", 7)], None));
    let mut c = Connection::client(cc, Some("localhost")).unwrap();
    let mut s = Connection::server(sc);
    let err = pump(&mut c, &mut s).unwrap_err();
    assert_eq!(err.alert(), Some(AlertDescription::HandshakeFailure));
}

#[test]
fn suite_of_another_hash_falls_back_to_the_certificate() {
    let (der, key) = test_cert();
    let cc = Arc::new(client(Some(psk(b"alice", 7)), der.clone()));
    let mut sc = server(vec![psk(b"alice", 7)], Some((der.clone(), key)));
    sc.cipher_suites = vec![CipherSuite::Tls13Aes256GcmSha384];
    let (c, _s) = connect(&cc, &Arc::new(sc));
    assert_eq!(c.negotiated().unwrap().peer_certificates, vec![der]);
    // The same PSK declared for SHA-384 is used with that suite.
    let (unused_pin, _) = test_cert();
    let alice384 = psk(b"alice", 7).with_hash(HashAlg::Sha384);
    let cc = Arc::new(client(Some(alice384.clone()), unused_pin));
    let mut sc = server(vec![alice384], None);
    sc.cipher_suites = vec![CipherSuite::Tls13Aes256GcmSha384];
    let (c, _s) = connect(&cc, &Arc::new(sc));
    assert!(c.negotiated().unwrap().peer_certificates.is_empty());
}

#[test]
fn binders_survive_a_hello_retry() {
    let (unused_pin, _) = test_cert();
    let mut cc = client(Some(psk(b"alice", 7)), unused_pin);
    cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
    let mut sc = server(vec![psk(b"alice", 7)], None);
    sc.groups = vec![NamedGroup::Secp256r1];
    let (mut c, mut s) = connect(&Arc::new(cc), &Arc::new(sc));
    let n = c.negotiated().unwrap();
    assert!(n.hello_retry && n.peer_certificates.is_empty());
    exchange(&mut c, &mut s);
}

/// The client's second ClientHello (after our server's HelloRetryRequest)
/// with its pre_shared_key removed, the records around it unchanged.
fn second_hello_without_psk(c: &mut Connection, s: &mut Connection) -> Vec<u8> {
    s.feed(&take(c)).unwrap();
    c.feed(&take(s)).unwrap();
    let wire = take(c);
    let mut out = RecordBuffer::new();
    let mut rest = wire.as_slice();
    while let [typ, _, _, hi, lo, ..] = *rest {
        let (record, tail) = rest.split_at(5 + usize::from(u16::from_be_bytes([hi, lo])));
        rest = tail;
        if typ != ContentType::Handshake.to_wire() {
            out.extend_from_slice(record);
            continue;
        }
        let HandshakeMessage::ClientHello(mut ch) =
            HandshakeMessage::decode(HandshakeType::ClientHello, &record[9..]).unwrap()
        else {
            unreachable!()
        };
        ch.extensions
            .retain(|e| !matches!(e, ClientExtension::PreSharedKey(_)));
        frame_plaintext(
            ContentType::Handshake,
            &HandshakeMessage::ClientHello(ch).to_vec(),
            &mut out,
        );
    }
    out.as_slice().to_vec()
}

/// BoGo's Resume-Server-OmitPSKsOnSecondClientHello: after a retry the
/// client may drop only the PSKs incompatible with the suite (RFC 8446
/// §4.1.2); dropping the one we would accept is illegal_parameter. A PSK we
/// would not accept (an unknown identity) may go.
#[test]
fn a_second_hello_must_keep_the_psk_we_would_accept() {
    for (identity, refused) in [(&b"alice"[..], true), (b"mallory", false)] {
        let (der, key) = test_cert();
        let mut cc = client(Some(psk(identity, 7)), der.clone());
        cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
        let mut sc = server(vec![psk(b"alice", 7)], Some((der, key)));
        sc.groups = vec![NamedGroup::Secp256r1];
        let mut c = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
        let mut s = Connection::server(Arc::new(sc));
        let second = second_hello_without_psk(&mut c, &mut s);
        let got = s.feed(&second);
        if refused {
            assert_eq!(
                got,
                Err(Error::IllegalParameter(
                    "second ClientHello dropped the PSK it offered first"
                ))
            );
        } else {
            assert_eq!(got, Ok(()));
        }
    }
}

#[test]
fn tickets_from_a_psk_handshake_resume() {
    let (unused_pin, _) = test_cert();
    let cc = Arc::new(client(Some(psk(b"alice", 7)), unused_pin));
    let sc = Arc::new(server(vec![psk(b"alice", 7)], None));
    let (mut c, mut s) = connect(&cc, &sc);
    // The tickets arrive after the handshake.
    exchange(&mut c, &mut s);
    let (c, s) = connect(&cc, &sc);
    assert!(c.negotiated().unwrap().resumed);
    assert!(s.negotiated().unwrap().resumed);
}

/// A ClientHello offering `identity` with the given key-exchange modes.
fn hello_with_modes(identity: &[u8], modes: Vec<u8>) -> ClientHello {
    ClientHello {
        legacy_version: 0x0303,
        random: [0; 32],
        session_id: Vec::new(),
        cipher_suites: vec![CipherSuite::Tls13Aes128GcmSha256],
        compression_methods: vec![0],
        extensions: vec![
            ClientExtension::PskKeyExchangeModes(modes),
            ClientExtension::PreSharedKey(OfferedPsks {
                identities: vec![PskIdentity {
                    identity: identity.to_vec(),
                    obfuscated_ticket_age: 0,
                }],
                binders: vec![vec![0; 32]],
            }),
        ],
    }
}

#[test]
fn psk_ke_alone_is_refused_with_the_reason() {
    let sc = server(vec![psk(b"alice", 7)], None);
    let suite = tls13_suite(CipherSuite::Tls13Aes128GcmSha256).unwrap();
    let prefix = Transcript::new(suite.hash);
    let accept = |identity: &[u8], modes: Vec<u8>| {
        let ch = hello_with_modes(identity, modes);
        let encoded = crate::msgs::handshake::HandshakeMessage::ClientHello(ch.clone()).to_vec();
        crate::psk::accept(&sc, &ch, suite, &prefix, &encoded, sc.clock.now()).map(|a| a.is_some())
    };
    let err = accept(b"alice", vec![0]).unwrap_err();
    assert_eq!(err.alert(), Some(AlertDescription::HandshakeFailure));
    assert!(err.to_string().contains("no forward secrecy"), "{err}");
    // An identity we do not know is skipped in either mode; with psk_dhe_ke
    // our identity's (zero) binder is checked and refused.
    assert_eq!(accept(b"bob", vec![0]), Ok(false));
    assert_eq!(accept(b"bob", vec![1]), Ok(false));
    assert_eq!(
        accept(b"alice", vec![0, 1]),
        Err(Error::DecryptError("bad PSK binder"))
    );
}

#[test]
fn keys_and_identities_are_bounded() {
    assert!(ExternalPsk::new(b"a".to_vec(), vec![1; 15]).is_err());
    assert!(ExternalPsk::new(Vec::new(), vec![1; 16]).is_err());
    assert!(ExternalPsk::new(vec![b'a'; 1025], vec![1; 16]).is_err());
    assert!(ExternalPsk::new(b"a".to_vec(), vec![1; 1025]).is_err());
    let ok = ExternalPsk::new(b"a".to_vec(), vec![0xab; 16]).unwrap();
    assert_eq!(ok.hash(), HashAlg::Sha256);
    // Debug never shows the key.
    assert!(!alloc::format!("{ok:?}").contains("171"));
}

#[test]
fn the_client_checks_the_selected_identity() {
    let sha256 = tls13_suite(CipherSuite::Tls13Aes128GcmSha256).unwrap();
    let sha384 = tls13_suite(CipherSuite::Tls13Aes256GcmSha384).unwrap();
    let alice = || Some(psk(b"alice", 7));
    let pick = |index, external, suite| {
        crate::psk::selected(Some(index), None, external, suite).map(|p| p.is_some())
    };
    assert_eq!(pick(0, alice(), sha256), Ok(true));
    let not_offered = Err(Error::IllegalParameter(
        "server selected a PSK we did not offer",
    ));
    // An index past our offer, or a suite of another hash than the PSK's.
    assert_eq!(pick(1, alice(), sha256), not_offered);
    assert_eq!(pick(0, alice(), sha384), not_offered);
    // A pre_shared_key answering no offer at all is unsolicited.
    assert_eq!(
        pick(0, None, sha256),
        Err(Error::UnsupportedExtension("pre_shared_key"))
    );
    assert_eq!(
        crate::psk::selected(None, None, alice(), sha256).map(|p| p.is_some()),
        Ok(false)
    );
}

#[test]
fn a_ticket_another_server_cannot_open_leaves_the_external_psk() {
    let (unused_pin, _) = test_cert();
    let cc = Arc::new(client(Some(psk(b"alice", 7)), unused_pin));
    let first = Arc::new(server(vec![psk(b"alice", 7)], None));
    let (mut c, mut s) = connect(&cc, &first);
    exchange(&mut c, &mut s);
    // Another server (its own ticket key) knowing the same PSK: the ticket
    // is offered first and skipped, the PSK after it is taken.
    let other = Arc::new(server(vec![psk(b"alice", 7)], None));
    let (c, s) = connect(&cc, &other);
    for n in [c.negotiated().unwrap(), s.negotiated().unwrap()] {
        assert!(!n.resumed && n.peer_certificates.is_empty(), "{n:?}");
    }
}
