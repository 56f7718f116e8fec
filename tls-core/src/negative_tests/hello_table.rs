//! The hellos' semantic rules, as two tables of (change to a valid hello,
//! the alert RFC 8446 §4.1-§4.2 and §9.2, RFC 5246 and RFC 5746 prescribe):
//! ServerHellos and HelloRetryRequests fed to a client that has sent its
//! ClientHello, and ClientHellos (our client's, changed) fed to a server.
//! A well-formed value that is not allowed is illegal_parameter, a required
//! extension that is absent missing_extension, no common parameters
//! handshake_failure, no common version protocol_version.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::alert_table::pair;
use super::plaintext_messages;
use crate::conn::Connection;
use crate::crypto::KeyExchange;
use crate::msgs::enums::{
    AlertDescription, CipherSuite, ContentType, ExtensionType, HandshakeType, NamedGroup,
    ProtocolVersion,
};
use crate::msgs::extensions::{
    ClientExtension, HrrExtension, KeyShareEntry, ServerExtension, UnknownExtension,
};
use crate::msgs::handshake::{ClientHello, HandshakeMessage, HelloRetryRequest, ServerHello};
use crate::record::buffer::RecordBuffer;
use crate::record::protect::frame_plaintext;

use AlertDescription as A;

/// The random that marks a ServerHello as a HelloRetryRequest (RFC 8446 §4.1.3).
const RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

fn record(message: &HandshakeMessage) -> Vec<u8> {
    let mut out = RecordBuffer::new();
    frame_plaintext(ContentType::Handshake, &message.to_vec(), &mut out);
    out.as_slice().to_vec()
}

/// The ClientHello `client` sent (and drains it).
fn sent_hello(client: &mut Connection) -> ClientHello {
    let wire = client.pending_tls().to_vec();
    client.consume_tls(wire.len());
    let body = plaintext_messages(&wire).remove(0);
    match HandshakeMessage::decode(HandshakeType::ClientHello, &body[4..]).unwrap() {
        HandshakeMessage::ClientHello(ch) => ch,
        _ => unreachable!(),
    }
}

/// Feeds `wire` and compares the alert with `want` (`None`: accepted).
fn outcome(conn: &mut Connection, wire: &[u8], want: Option<AlertDescription>) -> Option<String> {
    let got = conn.feed(wire).err();
    let alert = got.as_ref().and_then(|e| e.alert());
    (alert != want).then(|| format!("{got:?} ({alert:?}), want {want:?}"))
}

type ServerHelloChange = fn(&mut ServerHello);

#[test]
fn server_hello_fields_answer_with_the_rfc_alert() {
    let share = |group| KeyShareEntry {
        group,
        key_exchange: KeyExchange::generate(group).unwrap().public_key().to_vec(),
    };
    let rows: Vec<(&str, ServerHelloChange, Option<AlertDescription>)> = vec![
        ("as sent", |_| {}, None),
        (
            "a suite not offered",
            |sh| sh.cipher_suite = CipherSuite::from_wire(0x1305),
            Some(A::IllegalParameter),
        ),
        (
            "a TLS 1.2 suite",
            |sh| sh.cipher_suite = CipherSuite::EcdheEcdsaAes128GcmSha256,
            Some(A::IllegalParameter),
        ),
        (
            "another session_id",
            |sh| sh.session_id = vec![7; 32],
            Some(A::IllegalParameter),
        ),
        (
            "compression",
            |sh| sh.compression_method = 1,
            Some(A::IllegalParameter),
        ),
        (
            "supported_versions TLS 1.2",
            |sh| sh.extensions[0] = ServerExtension::SupportedVersions(ProtocolVersion::Tls12),
            Some(A::IllegalParameter),
        ),
        (
            "supported_versions 3.5",
            |sh| {
                sh.extensions[0] =
                    ServerExtension::SupportedVersions(ProtocolVersion::from_wire(0x0305))
            },
            Some(A::IllegalParameter),
        ),
        (
            "key_share for a group without a client share",
            |sh| {
                sh.extensions[1] = ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::Secp384r1,
                    key_exchange: KeyExchange::generate(NamedGroup::Secp384r1)
                        .unwrap()
                        .public_key()
                        .to_vec(),
                })
            },
            Some(A::IllegalParameter),
        ),
        (
            "all-zero X25519 share",
            |sh| {
                sh.extensions[1] = ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: vec![0; 32],
                })
            },
            Some(A::IllegalParameter),
        ),
        (
            "X25519 share of 31 bytes",
            |sh| {
                sh.extensions[1] = ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: vec![9; 31],
                })
            },
            Some(A::IllegalParameter),
        ),
        (
            "X25519MLKEM768 share of 1119 bytes",
            |sh| {
                sh.extensions[1] = ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::X25519MlKem768,
                    key_exchange: vec![9; 1119],
                })
            },
            Some(A::IllegalParameter),
        ),
        (
            "X25519MLKEM768 share of 1121 bytes",
            |sh| {
                sh.extensions[1] = ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::X25519MlKem768,
                    key_exchange: vec![9; 1121],
                })
            },
            Some(A::IllegalParameter),
        ),
        (
            "X25519MLKEM768 share with an all-zero X25519 half",
            |sh| {
                let mut share = vec![9; 1088];
                share.extend_from_slice(&[0; 32]);
                sh.extensions[1] = ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::X25519MlKem768,
                    key_exchange: share,
                })
            },
            Some(A::IllegalParameter),
        ),
        (
            "no key_share",
            |sh| {
                sh.extensions.remove(1);
            },
            Some(A::MissingExtension),
        ),
        // Unsolicited (RFC 8446 §4.2), as OpenSSL answers it.
        (
            "pre_shared_key never offered",
            |sh| sh.extensions.push(ServerExtension::PreSharedKey(0)),
            Some(A::UnsupportedExtension),
        ),
        (
            "supported_versions twice",
            |sh| {
                let again = sh.extensions[0].clone();
                sh.extensions.push(again);
            },
            Some(A::IllegalParameter),
        ),
        // Recognised but not specified for a TLS 1.3 ServerHello (RFC 8446
        // §4.2); a TLS 1.2 ServerHello may echo it (below).
        (
            "supported_groups echoed",
            |sh| sh.extensions.push(groups_echo()),
            Some(A::IllegalParameter),
        ),
    ];
    let mut failures = Vec::new();
    for (what, change, want) in rows {
        let (mut client, _) = pair(Some(ProtocolVersion::Tls13));
        let ch = sent_hello(&mut client);
        let mut sh = ServerHello {
            legacy_version: 0x0303,
            random: [9; 32],
            session_id: ch.session_id.clone(),
            cipher_suite: CipherSuite::Tls13Aes128GcmSha256,
            compression_method: 0,
            extensions: vec![
                ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
                ServerExtension::KeyShare(share(NamedGroup::X25519)),
            ],
        };
        change(&mut sh);
        let wire = record(&HandshakeMessage::ServerHello(sh));
        failures.extend(outcome(&mut client, &wire, want).map(|e| format!("{what}: {e}")));
    }

    // HelloRetryRequests: (what, the group asked for, suite, alert).
    let retries = [
        (
            "retry for P-256",
            NamedGroup::Secp256r1,
            CipherSuite::Tls13Aes128GcmSha256,
            None,
        ),
        (
            "retry for the group already shared",
            NamedGroup::X25519,
            CipherSuite::Tls13Aes128GcmSha256,
            Some(A::IllegalParameter),
        ),
        (
            "retry for the hybrid already shared",
            NamedGroup::X25519MlKem768,
            CipherSuite::Tls13Aes128GcmSha256,
            Some(A::IllegalParameter),
        ),
        (
            "retry for a hybrid not in supported_groups",
            NamedGroup::Secp256r1MlKem768,
            CipherSuite::Tls13Aes128GcmSha256,
            Some(A::IllegalParameter),
        ),
        (
            "retry for a group not supported",
            NamedGroup::from_wire(0x001e),
            CipherSuite::Tls13Aes128GcmSha256,
            Some(A::IllegalParameter),
        ),
        (
            "retry with a suite not offered",
            NamedGroup::Secp256r1,
            CipherSuite::from_wire(0x1305),
            Some(A::IllegalParameter),
        ),
    ];
    for (what, group, suite, want) in retries {
        let (mut client, _) = pair(Some(ProtocolVersion::Tls13));
        let ch = sent_hello(&mut client);
        let hrr = HandshakeMessage::HelloRetryRequest(HelloRetryRequest {
            legacy_version: 0x0303,
            session_id: ch.session_id.clone(),
            cipher_suite: suite,
            compression_method: 0,
            extensions: vec![
                HrrExtension::SupportedVersions(ProtocolVersion::Tls13),
                HrrExtension::KeyShare(group),
            ],
        });
        let wire = record(&hrr);
        assert_eq!(&wire[11..43], &RETRY_RANDOM, "encoded as a retry");
        failures.extend(outcome(&mut client, &wire, want).map(|e| format!("{what}: {e}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A ServerHello extension echoing supported_groups (X25519).
fn groups_echo() -> ServerExtension {
    ServerExtension::Unknown(UnknownExtension {
        typ: ExtensionType::SupportedGroups.to_wire(),
        data: vec![0, 2, 0, 0x1d],
    })
}

/// BoGo's SupportedCurves-ServerHello-TLS12: a TLS 1.2 ServerHello may echo
/// the client's supported_groups (RFC 5246 §7.4.1.4 allows an extension the
/// client sent); the client ignores it and waits for the Certificate.
#[test]
fn a_tls12_server_hello_may_echo_supported_groups() {
    let (mut client, _) = pair(Some(ProtocolVersion::Tls12));
    let ch = sent_hello(&mut client);
    let sh = ServerHello {
        legacy_version: 0x0303,
        random: [9; 32],
        session_id: Vec::new(),
        cipher_suite: CipherSuite::EcdheEcdsaAes128GcmSha256,
        compression_method: 0,
        extensions: vec![
            ServerExtension::RenegotiationInfo(Vec::new()),
            ServerExtension::ExtendedMasterSecret,
            groups_echo(),
        ],
    };
    assert!(ch.supported_groups().is_some());
    let wire = record(&HandshakeMessage::ServerHello(sh));
    assert_eq!(outcome(&mut client, &wire, None), None);
}

type ClientHelloChange = fn(&mut ClientHello);

/// The key_exchange bytes of `ch`'s share for `group`.
fn share_of(ch: &mut ClientHello, group: NamedGroup) -> &mut Vec<u8> {
    let shares = ch.extensions.iter_mut().find_map(|e| match e {
        ClientExtension::KeyShare(shares) => Some(shares),
        _ => None,
    });
    let share = shares.and_then(|s| s.iter_mut().find(|s| s.group == group));
    &mut share.expect("a share for the group").key_exchange
}

/// Removes `ch`'s share for `group` (supported_groups unchanged).
fn drop_share(ch: &mut ClientHello, group: NamedGroup) {
    for e in &mut ch.extensions {
        if let ClientExtension::KeyShare(shares) = e {
            shares.retain(|s| s.group != group);
        }
    }
}

/// Removes every extension `drop` picks.
fn without(ch: &mut ClientHello, drop: fn(&ClientExtension) -> bool) {
    ch.extensions.retain(|e| !drop(e));
}

#[test]
fn client_hello_fields_answer_with_the_rfc_alert() {
    use ClientExtension as E;
    // (what, versions the hello offers, change, alert)
    let rows: Vec<(
        &str,
        Option<ProtocolVersion>,
        ClientHelloChange,
        Option<AlertDescription>,
    )> = vec![
        ("as sent", None, |_| {}, None),
        (
            "TLS 1.3 with compression",
            None,
            |ch| ch.compression_methods = vec![1, 0],
            Some(A::IllegalParameter),
        ),
        (
            "only TLS 1.1",
            None,
            |ch| {
                ch.legacy_version = 0x0302;
                without(ch, |e| matches!(e, E::SupportedVersions(_)));
            },
            Some(A::ProtocolVersion),
        ),
        (
            "supported_versions with only TLS 1.1",
            None,
            |ch| {
                for e in &mut ch.extensions {
                    if let E::SupportedVersions(v) = e {
                        *v = vec![ProtocolVersion::from_wire(0x0302)];
                    }
                }
            },
            Some(A::ProtocolVersion),
        ),
        (
            "no signature_algorithms",
            Some(ProtocolVersion::Tls13),
            |ch| without(ch, |e| matches!(e, E::SignatureAlgorithms(_))),
            Some(A::MissingExtension),
        ),
        (
            "key_share without supported_groups",
            Some(ProtocolVersion::Tls13),
            |ch| without(ch, |e| matches!(e, E::SupportedGroups(_))),
            Some(A::MissingExtension),
        ),
        (
            "supported_groups without key_share",
            Some(ProtocolVersion::Tls13),
            |ch| without(ch, |e| matches!(e, E::KeyShare(_))),
            Some(A::MissingExtension),
        ),
        (
            "key_share for a group not in supported_groups",
            Some(ProtocolVersion::Tls13),
            |ch| {
                for e in &mut ch.extensions {
                    if let E::SupportedGroups(g) = e {
                        *g = vec![NamedGroup::Secp256r1];
                    }
                }
            },
            Some(A::IllegalParameter),
        ),
        (
            "two shares for one group",
            Some(ProtocolVersion::Tls13),
            |ch| {
                for e in &mut ch.extensions {
                    if let E::KeyShare(shares) = e {
                        let again = shares[0].clone();
                        shares.push(again);
                    }
                }
            },
            Some(A::IllegalParameter),
        ),
        (
            "X25519 share of 31 bytes",
            Some(ProtocolVersion::Tls13),
            |ch| {
                drop_share(ch, NamedGroup::X25519MlKem768);
                share_of(ch, NamedGroup::X25519).truncate(31);
            },
            Some(A::IllegalParameter),
        ),
        // Only the share used is checked (RFC 8446 §4.2.8 lets a server
        // check the others, and not doing so is common).
        (
            "X25519 share of 31 bytes beside the hybrid chosen",
            Some(ProtocolVersion::Tls13),
            |ch| share_of(ch, NamedGroup::X25519).truncate(31),
            None,
        ),
        (
            "X25519MLKEM768 share of 1215 bytes",
            Some(ProtocolVersion::Tls13),
            |ch| share_of(ch, NamedGroup::X25519MlKem768).truncate(1215),
            Some(A::IllegalParameter),
        ),
        (
            "X25519MLKEM768 share of 1217 bytes",
            Some(ProtocolVersion::Tls13),
            |ch| share_of(ch, NamedGroup::X25519MlKem768).push(0),
            Some(A::IllegalParameter),
        ),
        // FIPS 203 §7.2's modulus check: a 12-bit coefficient of 4095 >= q.
        (
            "X25519MLKEM768 encapsulation key not reduced mod q",
            Some(ProtocolVersion::Tls13),
            |ch| {
                let share = share_of(ch, NamedGroup::X25519MlKem768);
                share[0] = 0xff;
                share[1] |= 0x0f;
            },
            Some(A::IllegalParameter),
        ),
        // The hybrids are TLS 1.3 only: offered alone to a TLS 1.2 server,
        // no group is in common.
        (
            "TLS 1.2 with only X25519MLKEM768",
            Some(ProtocolVersion::Tls12),
            |ch| {
                for e in &mut ch.extensions {
                    if let E::SupportedGroups(g) = e {
                        *g = vec![NamedGroup::X25519MlKem768];
                    }
                }
            },
            Some(A::HandshakeFailure),
        ),
        (
            "an extension twice",
            None,
            |ch| {
                let again = ch.extensions[0].clone();
                ch.extensions.push(again);
            },
            Some(A::IllegalParameter),
        ),
        (
            "no suite in common",
            Some(ProtocolVersion::Tls13),
            |ch| ch.cipher_suites = vec![CipherSuite::from_wire(0x1305)],
            Some(A::HandshakeFailure),
        ),
        (
            "no group in common",
            Some(ProtocolVersion::Tls13),
            |ch| {
                for e in &mut ch.extensions {
                    match e {
                        E::SupportedGroups(g) => *g = vec![NamedGroup::from_wire(0x001e)],
                        E::KeyShare(s) => s.clear(),
                        _ => {}
                    }
                }
            },
            Some(A::HandshakeFailure),
        ),
        (
            "TLS 1.2 renegotiation_info not empty",
            Some(ProtocolVersion::Tls12),
            |ch| {
                for e in &mut ch.extensions {
                    if let E::RenegotiationInfo(v) = e {
                        *v = vec![1; 12];
                    }
                }
            },
            Some(A::HandshakeFailure),
        ),
        // RFC 5246 names no alert; OpenSSL says decode_error, ours illegal_parameter.
        (
            "TLS 1.2 without null compression",
            Some(ProtocolVersion::Tls12),
            |ch| ch.compression_methods = vec![1],
            Some(A::IllegalParameter),
        ),
        (
            "TLS 1.2 ec_point_formats without uncompressed",
            Some(ProtocolVersion::Tls12),
            |ch| {
                for e in &mut ch.extensions {
                    if let E::EcPointFormats(f) = e {
                        *f = vec![1];
                    }
                }
            },
            Some(A::IllegalParameter),
        ),
    ];
    let mut failures = Vec::new();
    for (what, version, change, want) in rows {
        let (mut client, mut server) = pair(version);
        let mut ch = sent_hello(&mut client);
        change(&mut ch);
        let wire = record(&HandshakeMessage::ClientHello(ch));
        failures.extend(outcome(&mut server, &wire, want).map(|e| format!("{what}: {e}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The second ClientHello after a HelloRetryRequest for P-256 (RFC 8446
/// §4.1.2): one share of that group, nothing else. Without key_share at all
/// it is missing_extension (§9.2: supported_groups "MUST also contain a
/// key_share extension"; BoGo's SecondClientHelloMissingKeyShare-TLS13), with
/// a share of another group illegal_parameter.
#[test]
fn second_client_hello_key_share_answers_with_the_rfc_alert() {
    use alloc::sync::Arc;
    use ClientExtension as E;
    let rows: Vec<(&str, ClientHelloChange, AlertDescription)> = vec![
        (
            "no key_share",
            |ch| without(ch, |e| matches!(e, E::KeyShare(_))),
            A::MissingExtension,
        ),
        (
            "an X25519 share",
            |ch| {
                for e in &mut ch.extensions {
                    if let E::KeyShare(shares) = e {
                        *shares = vec![KeyShareEntry {
                            group: NamedGroup::X25519,
                            key_exchange: KeyExchange::generate(NamedGroup::X25519)
                                .unwrap()
                                .public_key()
                                .to_vec(),
                        }];
                    }
                }
            },
            A::IllegalParameter,
        ),
    ];
    let mut failures = Vec::new();
    for (what, change, want) in rows {
        let (cert, key) = super::test_cert();
        let mut cc = crate::config::ClientConfig::with_pinned_certs(vec![cert.clone()]);
        cc.groups = vec![NamedGroup::X25519, NamedGroup::Secp256r1];
        let mut sc = crate::config::ServerConfig::with_single_cert(
            crate::config::CertifiedKey::new(vec![cert], key).unwrap(),
        );
        sc.groups = vec![NamedGroup::Secp256r1];
        let mut client = Connection::client(Arc::new(cc), Some("localhost")).unwrap();
        let mut server = Connection::server(Arc::new(sc));
        let hello = client.pending_tls().to_vec();
        client.consume_tls(hello.len());
        server.feed(&hello).unwrap();
        let retry = server.pending_tls().to_vec();
        server.consume_tls(retry.len());
        client.feed(&retry).unwrap();
        let mut ch = sent_hello(&mut client);
        change(&mut ch);
        let wire = record(&HandshakeMessage::ClientHello(ch));
        failures.extend(outcome(&mut server, &wire, Some(want)).map(|e| format!("{what}: {e}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What our client offers: the hybrid and X25519 shares with TLS 1.3, and
/// no hybrid at all in a TLS 1.2-only hello.
#[test]
fn the_client_offers_the_hybrid_only_with_tls13() {
    let groups = |ch: &ClientHello| ch.supported_groups().map(<[NamedGroup]>::to_vec);
    let (mut client, _) = pair(None);
    let ch = sent_hello(&mut client);
    assert_eq!(groups(&ch), Some(crate::config::DEFAULT_GROUPS.to_vec()));
    let shares: Vec<(NamedGroup, usize)> = ch
        .key_shares()
        .unwrap()
        .iter()
        .map(|s| (s.group, s.key_exchange.len()))
        .collect();
    assert_eq!(
        shares,
        [(NamedGroup::X25519MlKem768, 1216), (NamedGroup::X25519, 32)]
    );

    let (mut client, _) = pair(Some(ProtocolVersion::Tls12));
    let ch = sent_hello(&mut client);
    let classical = [
        NamedGroup::X25519,
        NamedGroup::Secp256r1,
        NamedGroup::Secp384r1,
    ];
    assert_eq!(groups(&ch), Some(classical.to_vec()));
    assert!(ch.key_shares().is_none());
}

type SecondHelloChange = fn(&mut ClientHello);

/// After a HelloRetryRequest for X25519, the second ClientHello carries one
/// share, for X25519 (RFC 8446 §4.1.2); a hybrid share instead of it or
/// beside it is illegal_parameter.
#[test]
fn a_second_hello_must_carry_only_the_share_asked_for() {
    use crate::config::{CertifiedKey, ClientConfig, ServerConfig};
    use alloc::sync::Arc;
    fn hybrid() -> KeyShareEntry {
        let kx = KeyExchange::start(NamedGroup::X25519MlKem768, &entropy::HostEntropy).unwrap();
        KeyShareEntry {
            group: NamedGroup::X25519MlKem768,
            key_exchange: kx.public_key().to_vec(),
        }
    }
    let (cert, key) = super::test_cert();
    let mut cc = ClientConfig::with_pinned_certs(vec![cert.clone()]);
    cc.groups = vec![NamedGroup::X25519MlKem768, NamedGroup::X25519];
    cc.classical_share_with_hybrid = false;
    let cc = Arc::new(cc);
    let mut sc = ServerConfig::with_single_cert(CertifiedKey::new(vec![cert], key).unwrap());
    sc.groups = vec![NamedGroup::X25519];
    let sc = Arc::new(sc);
    let rows: [(&str, SecondHelloChange, Option<AlertDescription>); 3] = [
        ("as sent", |_| {}, None),
        (
            "the hybrid's share instead",
            |ch| {
                for e in &mut ch.extensions {
                    if let ClientExtension::KeyShare(shares) = e {
                        *shares = vec![hybrid()];
                    }
                }
            },
            Some(A::IllegalParameter),
        ),
        (
            "the hybrid's share as well",
            |ch| {
                for e in &mut ch.extensions {
                    if let ClientExtension::KeyShare(shares) = e {
                        shares.insert(0, hybrid());
                    }
                }
            },
            Some(A::IllegalParameter),
        ),
    ];
    let mut failures = Vec::new();
    for (what, change, want) in rows {
        let mut client = Connection::client(cc.clone(), Some("localhost")).unwrap();
        let mut server = Connection::server(sc.clone());
        let first = client.pending_tls().to_vec();
        client.consume_tls(first.len());
        server.feed(&first).unwrap();
        let retry = server.pending_tls().to_vec();
        server.consume_tls(retry.len());
        client.feed(&retry).unwrap();
        let mut second = sent_hello(&mut client);
        assert_eq!(second.key_shares().unwrap()[0].group, NamedGroup::X25519);
        change(&mut second);
        let wire = record(&HandshakeMessage::ClientHello(second));
        failures.extend(outcome(&mut server, &wire, want).map(|e| format!("{what}: {e}")));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
