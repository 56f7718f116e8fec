//! Keying material exporters (RFC 8446 §7.5, RFC 5705 for TLS 1.2) give the
//! same bytes on our side and on rustls's side of one connection: in memory,
//! both ways, every TLS 1.3 suite (SHA-256 and SHA-384), several labels,
//! contexts (none, empty, short, long) and lengths; unchanged by KeyUpdate;
//! fresh (and still equal) in a resumed session.

use std::io::Read;
use std::sync::Arc;

use rustls::{HandshakeKind, SupportedCipherSuite};
use tls_core::{ClientConfig, Connection, ProtocolVersion};
use tls_tests::rustls_peer::{self, establish, pump, GROUPS, TLS13_SUITES};
use tls_tests::{client_config, server_config, KeyType};

/// A rustls server config with one suite (ECDSA P-256 key).
fn rustls_server_config(suite: SupportedCipherSuite) -> Arc<rustls::ServerConfig> {
    let provider = rustls_peer::provider(&[suite], &GROUPS);
    Arc::new(rustls_peer::server_config(KeyType::EcdsaP256, provider))
}

/// A rustls client config with one suite.
fn rustls_client_config(suite: SupportedCipherSuite) -> Arc<rustls::ClientConfig> {
    Arc::new(rustls_peer::client_config(rustls_peer::provider(
        &[suite],
        &GROUPS,
    )))
}

fn rustls_client(config: &Arc<rustls::ClientConfig>) -> rustls::Connection {
    rustls_peer::client(config.clone())
}

fn rustls_server(config: &Arc<rustls::ServerConfig>) -> rustls::Connection {
    rustls_peer::server(config.clone())
}

const LABELS: [&[u8]; 4] = [
    b"EXPERIMENTAL tls-tests",
    b"EXPORTER-Channel-Binding",
    b"EXPORTER-network-token",
    b"",
];
const LENGTHS: [usize; 4] = [1, 32, 64, 1000];

fn contexts() -> Vec<Option<Vec<u8>>> {
    vec![
        None,
        Some(Vec::new()),
        Some(b"context".to_vec()),
        Some(vec![0x5a; 300]),
    ]
}

fn ours_export(conn: &Connection, len: usize, label: &[u8], context: Option<&[u8]>) -> Vec<u8> {
    let mut out = vec![0u8; len];
    conn.export_keying_material(&mut out, label, context)
        .unwrap_or_else(|e| panic!("our exporter ({label:?}, {len} bytes): {e}"));
    out
}

fn theirs_export(
    conn: &rustls::Connection,
    len: usize,
    label: &[u8],
    context: Option<&[u8]>,
) -> Vec<u8> {
    conn.export_keying_material(vec![0u8; len], label, context)
        .unwrap_or_else(|e| panic!("rustls's exporter ({label:?}, {len} bytes): {e}"))
}

/// Every label, context and length gives the same bytes on both sides.
/// Returns one value, to compare across connections.
fn assert_exporters_agree(ours: &Connection, theirs: &rustls::Connection) -> Vec<u8> {
    let version = ours.negotiated().expect("negotiated").version;
    for label in LABELS {
        for context in contexts() {
            for len in LENGTHS {
                let context = context.as_deref();
                let a = ours_export(ours, len, label, context);
                let b = theirs_export(theirs, len, label, context);
                assert_eq!(
                    a,
                    b,
                    "{version:?} exporter {label:?}, context {:?}, {len} bytes",
                    context.map(<[u8]>::len)
                );
            }
        }
    }
    // The values depend on label and context; in TLS 1.3 no context is the
    // empty context, in TLS 1.2 (RFC 5705) it is not.
    let base = ours_export(ours, 32, LABELS[0], Some(b"context"));
    assert_ne!(base, ours_export(ours, 32, LABELS[1], Some(b"context")));
    assert_ne!(base, ours_export(ours, 32, LABELS[0], Some(b"other")));
    let none = ours_export(ours, 32, LABELS[0], None);
    let empty = ours_export(ours, 32, LABELS[0], Some(b""));
    assert_eq!(
        none == empty,
        version == ProtocolVersion::Tls13,
        "{version:?}"
    );
    // A shorter output is not a prefix of a longer one in TLS 1.3 (the
    // length is in the HKDF label); in TLS 1.2 it is (a PRF stream).
    let long = ours_export(ours, 64, LABELS[0], Some(b"context"));
    assert_eq!(
        long[..32] == base[..],
        version == ProtocolVersion::Tls12,
        "{version:?}"
    );
    base
}

#[test]
fn our_client_exporters_equal_rustls_server_tls13() {
    for (suite, rustls_suite) in TLS13_SUITES {
        let mut theirs = rustls_server(&rustls_server_config(rustls_suite));
        let mut ours = Connection::client(
            Arc::new(client_config(KeyType::EcdsaP256)),
            Some("localhost"),
        )
        .expect("our client");
        establish(&mut ours, &mut theirs);
        assert_eq!(ours.negotiated().expect("negotiated").suite, suite);
        assert_exporters_agree(&ours, &theirs);
    }
}

#[test]
fn our_server_exporters_equal_rustls_client_tls13() {
    for (suite, rustls_suite) in TLS13_SUITES {
        let mut theirs = rustls_client(&rustls_client_config(rustls_suite));
        let mut ours = Connection::server(Arc::new(server_config(KeyType::EcdsaP256)));
        establish(&mut ours, &mut theirs);
        assert_eq!(ours.negotiated().expect("negotiated").suite, suite);
        assert_exporters_agree(&ours, &theirs);
    }
}

#[test]
fn exporters_are_unchanged_by_key_updates() {
    let (_, rustls_suite) = TLS13_SUITES[1];
    let mut theirs = rustls_server(&rustls_server_config(rustls_suite));
    let mut ours = Connection::client(
        Arc::new(client_config(KeyType::EcdsaP256)),
        Some("localhost"),
    )
    .expect("our client");
    establish(&mut ours, &mut theirs);
    let before = assert_exporters_agree(&ours, &theirs);
    for _ in 0..3 {
        // rustls answers the request with its own KeyUpdate.
        ours.update_keys(true).expect("KeyUpdate");
        ours.write(b"after the update").expect("write");
        pump(&mut ours, &mut theirs);
        let mut got = [0u8; 16];
        theirs.reader().read_exact(&mut got).expect("rustls read");
        assert_eq!(&got, b"after the update");
    }
    assert_eq!(assert_exporters_agree(&ours, &theirs), before);
}

#[test]
fn rustls_client_resumes_with_our_server_and_exporters_agree() {
    for (_, rustls_suite) in TLS13_SUITES {
        let client_config = rustls_client_config(rustls_suite);
        let server_config = Arc::new(server_config(KeyType::EcdsaP256));
        let mut values = Vec::new();
        for round in 0..2 {
            let mut theirs = rustls_client(&client_config);
            let mut ours = Connection::server(server_config.clone());
            establish(&mut ours, &mut theirs);
            let resumed = round == 1;
            assert_eq!(ours.negotiated().expect("negotiated").resumed, resumed);
            let kind = if resumed {
                HandshakeKind::Resumed
            } else {
                HandshakeKind::Full
            };
            assert_eq!(theirs.handshake_kind(), Some(kind));
            values.push(assert_exporters_agree(&ours, &theirs));
        }
        assert_ne!(
            values[0], values[1],
            "each connection exports its own values"
        );
    }
}

#[test]
fn our_client_resumes_with_rustls_server_and_exporters_agree() {
    for (_, rustls_suite) in TLS13_SUITES {
        let server_config = rustls_server_config(rustls_suite);
        let client_config: Arc<ClientConfig> = Arc::new(client_config(KeyType::EcdsaP256));
        let mut values = Vec::new();
        for round in 0..2 {
            let mut theirs = rustls_server(&server_config);
            let mut ours =
                Connection::client(client_config.clone(), Some("localhost")).expect("our client");
            establish(&mut ours, &mut theirs);
            let resumed = round == 1;
            assert_eq!(ours.negotiated().expect("negotiated").resumed, resumed);
            let kind = if resumed {
                HandshakeKind::Resumed
            } else {
                HandshakeKind::Full
            };
            assert_eq!(theirs.handshake_kind(), Some(kind));
            values.push(assert_exporters_agree(&ours, &theirs));
        }
        assert_ne!(values[0], values[1]);
    }
}

#[test]
fn exporters_equal_rustls_tls12_both_ways() {
    // The two ECDSA AES-GCM suites (rustls's server keeps its P-256 key).
    for &(suite, rustls_suite, _) in &rustls_peer::TLS12_SUITES[..2] {
        let mut theirs = rustls_server(&rustls_server_config(rustls_suite));
        let mut ours = Connection::client(
            Arc::new(client_config(KeyType::EcdsaP256)),
            Some("localhost"),
        )
        .expect("our client");
        establish(&mut ours, &mut theirs);
        let n = ours.negotiated().expect("negotiated");
        assert_eq!((n.version, n.suite), (ProtocolVersion::Tls12, suite));
        assert_exporters_agree(&ours, &theirs);

        let mut theirs = rustls_client(&rustls_client_config(rustls_suite));
        let mut ours = Connection::server(Arc::new(server_config(KeyType::EcdsaP256)));
        establish(&mut ours, &mut theirs);
        let n = ours.negotiated().expect("negotiated");
        assert_eq!((n.version, n.suite), (ProtocolVersion::Tls12, suite));
        assert_exporters_agree(&ours, &theirs);
    }
}
