//! TLS 1.2 interop with rustls (ring provider, TLS 1.2 only), in process over
//! memory buffers: our server against a rustls client and our client against
//! a rustls server, for each TLS 1.2 suite and group, 64 KiB each way, and
//! ticket resumption of our server by rustls.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::SupportedCipherSuite;
use tls_core::{Connection, NamedGroup, Negotiated, ProtocolVersion};
use tls_tests::rustls_peer::{self, GROUPS as ALL_GROUPS, TLS12_SUITES as SUITES};
use tls_tests::{client_config, server_config};

const SIZE: usize = 64 * 1024;

/// A ring provider with one TLS 1.2 suite and these groups.
fn provider_with(suite: SupportedCipherSuite, groups: &[NamedGroup]) -> Arc<CryptoProvider> {
    rustls_peer::provider(&[suite], groups)
}

/// Moves `SIZE` bytes each way, then our close_notify and rustls's answer.
fn exchange(ours: &mut Connection, theirs: &mut rustls::Connection) -> Negotiated {
    let (n, view) = rustls_peer::exchange(ours, theirs, SIZE);
    assert_eq!(n.version, ProtocolVersion::Tls12);
    assert_eq!(view.version, Some(rustls::ProtocolVersion::TLSv1_2));
    n
}

#[test]
fn server_every_suite_and_group_vs_rustls_client() {
    for (suite, theirs, key_type) in SUITES {
        for group in ALL_GROUPS {
            // rustls offers every group (in TLS 1.2 they also bound an ECDSA
            // certificate's curve); our server takes only `group`.
            let config = Arc::new(rustls_peer::client_config(provider_with(
                theirs,
                &ALL_GROUPS,
            )));
            let mut server_config = server_config(key_type);
            server_config.groups = vec![group];
            let mut ours = Connection::server(Arc::new(server_config));
            let n = exchange(&mut ours, &mut rustls_peer::client(config.clone()));
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
            let mut server = rustls_peer::server(rustls_peer::server_config(
                key_type,
                provider_with(theirs, &[group]),
            ));
            let n = exchange(&mut ours, &mut server);
            assert_eq!((n.suite, n.group), (suite, group));
        }
    }
}

#[test]
fn rustls_client_resumes_with_our_server() {
    let (_, theirs, key_type) = SUITES[0];
    let config = Arc::new(rustls_peer::client_config(provider_with(
        theirs,
        &ALL_GROUPS,
    )));
    let ours_config = Arc::new(server_config(key_type));
    let mut first = Connection::server(ours_config.clone());
    assert!(!exchange(&mut first, &mut rustls_peer::client(config.clone())).resumed);
    let mut second = Connection::server(ours_config);
    assert!(exchange(&mut second, &mut rustls_peer::client(config)).resumed);
}
