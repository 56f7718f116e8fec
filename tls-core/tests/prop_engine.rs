//! Property tests for the engine: our client and our server, each fed its
//! peer's bytes in arbitrary chunk sizes (down to one byte, cutting records
//! and headers anywhere), complete the same handshake as when fed whole
//! flights — the same version, suite, group, ALPN, SNI, HelloRetryRequest
//! and resumption — and then move application data both ways intact.

use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;

use tls_core::tickets::MemorySessionStore;
use tls_core::{
    ClientConfig, Connection, Event, NamedGroup, Negotiated, ProtocolVersion, ServerConfig,
};

mod support;
use support::*;

#[derive(Debug, Clone)]
struct Setup {
    version: Option<ProtocolVersion>,
    hello_retry: bool,
    alpn: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![
            Just(None),
            Just(Some(ProtocolVersion::Tls13)),
            Just(Some(ProtocolVersion::Tls12))
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(version, hello_retry, alpn)| Setup {
            version,
            hello_retry,
            alpn,
        })
}

fn configs_for(
    s: &Setup,
    store: &Arc<MemorySessionStore>,
) -> (Arc<ClientConfig>, Arc<ServerConfig>) {
    let (mut cc, mut sc) = configs(pki_p256());
    cc.session_store = Some(store.clone());
    if let Some(v) = s.version {
        cc.versions = vec![v];
        sc.versions = vec![v];
    }
    if s.hello_retry {
        cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
        sc.groups = vec![NamedGroup::Secp256r1];
    }
    if s.alpn {
        cc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    (Arc::new(cc), Arc::new(sc))
}

/// One handshake (and a resumption), bytes cut by `sizes`; what both sides
/// agreed on each time.
fn run(s: &Setup, sizes: &[usize], data: &[u8]) -> Vec<(Negotiated, Negotiated)> {
    let store = Arc::new(MemorySessionStore::new(4));
    let (cc, sc) = configs_for(s, &store);
    let mut at = 0;
    let mut agreed = Vec::new();
    for _ in 0..2 {
        let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
        let mut server = Connection::server(sc.clone());
        pump_in_pieces(&mut client, &mut server, sizes, &mut at);
        assert!(!client.is_handshaking() && !server.is_handshaking());
        assert_eq!(client.next_event(), Some(Event::HandshakeComplete));
        assert_eq!(server.next_event(), Some(Event::HandshakeComplete));
        client.write(data).unwrap();
        server.write(b"reply").unwrap();
        pump_in_pieces(&mut client, &mut server, sizes, &mut at);
        assert_eq!(read_all(&mut server), data);
        assert_eq!(read_all(&mut client), b"reply");
        client.close();
        pump_in_pieces(&mut client, &mut server, sizes, &mut at);
        assert!(server.peer_closed());
        let mut c = client.negotiated().unwrap().clone();
        let mut sv = server.negotiated().unwrap().clone();
        // Only the client sees a certificate; compare the rest.
        c.peer_certificates.clear();
        sv.peer_certificates.clear();
        agreed.push((c, sv));
    }
    agreed
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn chunked_delivery_completes_the_same_handshake(
        s in setup(),
        sizes in vec(1usize..=64, 1..8),
        data in vec(any::<u8>(), 0..3000),
    ) {
        let whole = run(&s, &[], &data);
        let pieces = run(&s, &sizes, &data);
        prop_assert_eq!(&whole, &pieces);
        for (client, server) in &whole {
            prop_assert_eq!(client.version, server.version);
            prop_assert_eq!(client.suite, server.suite);
            prop_assert_eq!(&client.alpn, &server.alpn);
        }
        // The second connection resumed.
        prop_assert!(whole[1].0.resumed || whole[1].0.version == ProtocolVersion::Tls12);
    }

    #[test]
    fn byte_at_a_time_delivery_completes(s in setup()) {
        let whole = run(&s, &[], b"x");
        let bytes = run(&s, &[1], b"x");
        prop_assert_eq!(whole, bytes);
    }
}
