//! Caller mistakes and unusable configuration are errors of their own
//! (`Error::Misuse`, `Error::InvalidConfig`), not `Error::Internal`; a misuse
//! sends nothing to the peer and leaves the connection working.

use std::sync::Arc;

use tls_core::{AlertDescription, CertifiedKey, Connection, Error, ExternalPsk, ProtocolVersion};

mod support;
use support::*;

#[test]
fn calls_before_the_handshake_are_misuse_and_send_nothing() {
    let (cc, sc) = configs(pki_p256());
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
    let hello = client.pending_tls().to_vec();
    assert!(matches!(client.update_keys(false), Err(Error::Misuse(_))));
    let mut out = [0u8; 32];
    assert!(matches!(
        client.export_keying_material(&mut out, b"EXPORTER-test", None),
        Err(Error::Misuse(_))
    ));
    // Nothing queued beyond the ClientHello, and the handshake still completes.
    assert_eq!(client.pending_tls(), hello.as_slice());
    let mut server = Connection::server(Arc::new(sc));
    pump(&mut client, &mut server).unwrap();
    assert!(!client.is_handshaking() && !server.is_handshaking());
    client.write(b"still fine").unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(read_all(&mut server), b"still fine");
}

#[test]
fn tls12_key_update_and_reserved_exporter_labels_are_misuse() {
    let (mut cc, sc) = configs(pki_p256());
    cc.versions = vec![ProtocolVersion::Tls12];
    let (mut client, mut server) = handshake(cc, sc);
    assert!(matches!(client.update_keys(true), Err(Error::Misuse(_))));
    let mut out = [0u8; 32];
    for label in [&b"master secret"[..], b"key expansion", b"client finished"] {
        assert!(matches!(
            client.export_keying_material(&mut out, label, None),
            Err(Error::Misuse(_))
        ));
    }
    assert!(take(&mut client).is_empty(), "a misuse sends nothing");
    client.write(b"after").unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(read_all(&mut server), b"after");
}

#[test]
fn a_fill_claiming_more_than_it_was_given_is_misuse() {
    let (cc, sc) = configs(pki_p256());
    let (mut client, mut server) = handshake(cc, sc);
    let r = client.write_with(8, |buf| Ok::<_, ()>(buf.len() + 1));
    assert!(matches!(r, Err(Error::Misuse(_))));
    client.write(b"ok").unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(read_all(&mut server), b"ok");
}

#[test]
fn unusable_configuration_is_invalid_config() {
    let (mut cc, _) = configs(pki_p256());
    cc.groups.clear();
    let r = Connection::client(Arc::new(cc), Some("localhost"));
    assert!(matches!(r, Err(Error::InvalidConfig(_))));

    let (mut cc, _) = configs(pki_p256());
    cc.cipher_suites.clear();
    let r = Connection::client(Arc::new(cc), Some("localhost"));
    assert!(matches!(r, Err(Error::InvalidConfig(_))));

    assert!(matches!(
        ExternalPsk::new(b"id".to_vec(), vec![7; 8]),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        ExternalPsk::new(Vec::new(), vec![7; 32]),
        Err(Error::InvalidConfig(_))
    ));
    let (_, key) = cert_and_key(pki_p256());
    assert!(matches!(
        CertifiedKey::new(Vec::new(), key),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        tls_core::keys::certs_from_pem(b"no pem here"),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        tls_core::keys::key_from_pem(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn caller_errors_map_to_internal_error_should_they_reach_the_peer() {
    for e in [
        Error::InvalidConfig("x"),
        Error::Misuse("x"),
        Error::Internal("x"),
    ] {
        assert_eq!(e.alert(), Some(AlertDescription::InternalError));
    }
    assert_eq!(
        Error::InvalidConfig("no groups configured").to_string(),
        "invalid configuration: no groups configured"
    );
    assert_eq!(Error::Misuse("x").to_string(), "API misuse: x");
}

/// A server name that is neither a DNS name nor an IP address: the server
/// refuses the SNI with an alert, and the client sees it as an error (it
/// does not wait for more).
#[test]
fn a_client_with_a_bad_server_name_gets_an_error_not_a_wait() {
    let (client, server) = configs(pki_p256());
    let mut c = Connection::client(Arc::new(client), Some("not a host name!")).unwrap();
    let mut s = Connection::server(Arc::new(server));
    let _ = pump(&mut c, &mut s);
    assert!(s.error().is_some(), "the server took the name");
    // The server's alert reaches the client.
    let alert = take(&mut s);
    assert!(!alert.is_empty(), "no alert from the server");
    assert!(
        c.feed(&alert).is_err(),
        "the client waits instead of failing"
    );
}
