//! The post-quantum hybrid groups negotiated between our client and our
//! server in memory: the defaults agree on X25519MLKEM768 at once, a side
//! without the hybrid gets X25519 without a HelloRetryRequest, a client that
//! sent only the hybrid's share is asked for another, and TLS 1.2 never
//! picks a hybrid.

use tls_core::{NamedGroup, ProtocolVersion};

mod support;
use support::*;

const CLASSICAL: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

/// The (version, group, hello_retry) both sides report; they must agree.
fn agreed(
    cc: tls_core::ClientConfig,
    sc: tls_core::ServerConfig,
) -> (ProtocolVersion, NamedGroup, bool) {
    let (mut client, mut server) = handshake(cc, sc);
    let seen = [&client, &server].map(|conn| {
        let n = conn.negotiated().unwrap();
        (n.version, n.group, n.hello_retry)
    });
    assert_eq!(seen[0], seen[1], "client and server disagree");
    client.write(b"ping").unwrap();
    pump(&mut client, &mut server).unwrap();
    assert_eq!(read_all(&mut server), b"ping");
    seen[0]
}

#[test]
fn the_defaults_agree_on_x25519mlkem768_without_a_retry() {
    let (cc, sc) = configs(pki_p256());
    assert_eq!(cc.groups[0], NamedGroup::X25519MlKem768);
    assert_eq!(
        agreed(cc, sc),
        (ProtocolVersion::Tls13, NamedGroup::X25519MlKem768, false)
    );
}

#[test]
fn a_classical_only_server_takes_the_default_clients_x25519_share() {
    let (cc, mut sc) = configs(pki_p256());
    sc.groups = CLASSICAL.to_vec();
    assert_eq!(
        agreed(cc, sc),
        (ProtocolVersion::Tls13, NamedGroup::X25519, false)
    );
}

#[test]
fn a_classical_only_client_gets_x25519_from_the_default_server() {
    let (mut cc, sc) = configs(pki_p256());
    cc.groups = CLASSICAL.to_vec();
    assert_eq!(
        agreed(cc, sc),
        (ProtocolVersion::Tls13, NamedGroup::X25519, false)
    );
}

/// The default server does not ask for the hybrid when the client supports
/// it but sent only a classical share (see `ServerConfig::groups`).
#[test]
fn the_default_server_does_not_retry_to_get_the_hybrid() {
    let (mut cc, sc) = configs(pki_p256());
    cc.groups = vec![NamedGroup::X25519, NamedGroup::X25519MlKem768];
    assert_eq!(
        agreed(cc, sc),
        (ProtocolVersion::Tls13, NamedGroup::X25519, false)
    );
}

/// A classical-only client still sends one share: a server wanting another
/// classical group asks for it.
#[test]
fn a_classical_only_client_sends_one_share() {
    let (mut cc, mut sc) = configs(pki_p256());
    cc.groups = CLASSICAL.to_vec();
    sc.groups = vec![NamedGroup::Secp256r1];
    assert_eq!(
        agreed(cc, sc),
        (ProtocolVersion::Tls13, NamedGroup::Secp256r1, true)
    );
}

#[test]
fn a_hybrid_only_share_draws_a_retry_for_x25519() {
    let (mut cc, mut sc) = configs(pki_p256());
    cc.groups = vec![NamedGroup::X25519MlKem768, NamedGroup::X25519];
    cc.classical_share_with_hybrid = false;
    sc.groups = vec![NamedGroup::X25519];
    assert_eq!(
        agreed(cc, sc),
        (ProtocolVersion::Tls13, NamedGroup::X25519, true)
    );
}

#[test]
fn a_hybrid_only_server_asks_a_classical_first_client_for_the_hybrid() {
    let (mut cc, mut sc) = configs(pki_p256());
    cc.groups = vec![NamedGroup::X25519, NamedGroup::X25519MlKem768];
    sc.groups = vec![NamedGroup::X25519MlKem768];
    assert_eq!(
        agreed(cc, sc),
        (ProtocolVersion::Tls13, NamedGroup::X25519MlKem768, true)
    );
}

#[test]
fn every_hybrid_group_completes() {
    for group in [
        NamedGroup::X25519MlKem768,
        NamedGroup::Secp256r1MlKem768,
        NamedGroup::Secp384r1MlKem1024,
    ] {
        let (mut cc, mut sc) = configs(pki_p256());
        cc.groups = vec![group, NamedGroup::X25519];
        sc.groups = vec![group];
        assert_eq!(agreed(cc, sc), (ProtocolVersion::Tls13, group, false));
    }
}

/// TLS 1.2 never negotiates a hybrid: whichever side speaks only TLS 1.2,
/// with the hybrid first in both configs, X25519 is agreed.
#[test]
fn tls12_never_picks_a_hybrid() {
    for tls12_side in ["client", "server"] {
        let (mut cc, mut sc) = configs(pki_p256());
        let versions = vec![ProtocolVersion::Tls12];
        match tls12_side {
            "client" => cc.versions = versions,
            _ => sc.versions = versions,
        }
        assert_eq!(sc.groups[0], NamedGroup::X25519MlKem768);
        assert_eq!(
            agreed(cc, sc),
            (ProtocolVersion::Tls12, NamedGroup::X25519, false),
            "TLS 1.2 {tls12_side}"
        );
    }
}

/// The default client's two key shares, X25519MLKEM768 and X25519, come
/// from one X25519 key pair: the X25519 share is the hybrid share's X25519
/// half (its last 32 bytes). Both a hybrid server and an X25519-only one
/// complete the handshake with that hello, each taking its share.
#[test]
fn the_x25519_share_is_the_hybrids_x25519_half() {
    use std::sync::Arc;
    use tls_core::internal::msgs::enums::HandshakeType;
    use tls_core::internal::msgs::handshake::HandshakeMessage;
    use tls_core::Connection;

    for (server_groups, want) in [
        (vec![NamedGroup::X25519MlKem768], NamedGroup::X25519MlKem768),
        (vec![NamedGroup::X25519], NamedGroup::X25519),
    ] {
        let (cc, mut sc) = configs(pki_p256());
        assert_eq!(
            cc.groups[..2],
            [NamedGroup::X25519MlKem768, NamedGroup::X25519]
        );
        sc.groups = server_groups;
        let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
        let mut server = Connection::server(Arc::new(sc));
        let hello = take(&mut client);
        // One plaintext record holding the ClientHello: 5-byte record header,
        // 4-byte handshake header.
        let HandshakeMessage::ClientHello(ch) =
            HandshakeMessage::decode(HandshakeType::ClientHello, &hello[9..]).unwrap()
        else {
            panic!("not a ClientHello");
        };
        let shares = ch.key_shares().unwrap();
        let groups: Vec<_> = shares.iter().map(|s| s.group).collect();
        assert_eq!(groups, [NamedGroup::X25519MlKem768, NamedGroup::X25519]);
        let (hybrid, x25519) = (&shares[0].key_exchange, &shares[1].key_exchange);
        assert_eq!(hybrid.len(), 1184 + 32);
        assert_eq!(x25519.len(), 32);
        assert_eq!(&hybrid[1184..], &x25519[..], "the two X25519 halves");

        server.feed(&hello).unwrap();
        pump(&mut client, &mut server).unwrap();
        assert!(!client.is_handshaking() && !server.is_handshaking());
        for conn in [&client, &server] {
            let n = conn.negotiated().unwrap();
            assert_eq!((n.group, n.hello_retry), (want, false));
        }
        client.write(b"ping").unwrap();
        pump(&mut client, &mut server).unwrap();
        assert_eq!(read_all(&mut server), b"ping");
    }
}
