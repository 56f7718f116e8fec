//! proptest strategies generating valid handshake messages and extension
//! blocks: every value they produce satisfies the decoding rules, so it must
//! round-trip exactly.

use alloc::vec;
use alloc::vec::Vec;

use proptest::collection::vec;
use proptest::prelude::*;

use crate::msgs::enums::{
    CipherSuite, ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme,
};
use crate::msgs::extensions::*;
use crate::msgs::handshake::*;

/// 'lo..=hi' random bytes.
pub(super) fn bytes(lo: usize, hi: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), lo..=hi)
}

pub(super) fn group() -> impl Strategy<Value = NamedGroup> {
    prop_oneof![
        Just(NamedGroup::X25519),
        Just(NamedGroup::Secp256r1),
        any::<u16>().prop_map(NamedGroup::from_wire)
    ]
}

pub(super) fn scheme() -> impl Strategy<Value = SignatureScheme> {
    any::<u16>().prop_map(SignatureScheme::from_wire)
}

pub(super) fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![
        Just(ProtocolVersion::Tls13),
        any::<u16>().prop_map(ProtocolVersion::from_wire)
    ]
}

pub(super) fn suite() -> impl Strategy<Value = CipherSuite> {
    any::<u16>().prop_map(CipherSuite::from_wire)
}

/// An unknown extension whose type satisfies `allowed` (types that decode as
/// `Unknown` in the block being generated).
pub(super) fn unknown(
    allowed: fn(ExtensionType) -> bool,
) -> impl Strategy<Value = UnknownExtension> {
    (
        any::<u16>().prop_filter("type has its own variant", move |t| {
            allowed(ExtensionType::from_wire(*t))
        }),
        bytes(0, 12),
    )
        .prop_map(|(typ, data)| UnknownExtension { typ, data })
}

fn truly_unknown(t: ExtensionType) -> bool {
    matches!(t, ExtensionType::Unknown(_))
}

pub(super) fn key_share() -> impl Strategy<Value = KeyShareEntry> {
    (group(), bytes(1, 40)).prop_map(|(group, key_exchange)| KeyShareEntry {
        group,
        key_exchange,
    })
}

pub(super) fn offered_psks() -> impl Strategy<Value = OfferedPsks> {
    vec((bytes(1, 20), any::<u32>(), bytes(32, 48)), 1..4).prop_map(|v| {
        let mut identities = Vec::new();
        let mut binders = Vec::new();
        for (identity, obfuscated_ticket_age, binder) in v {
            identities.push(PskIdentity {
                identity,
                obfuscated_ticket_age,
            });
            binders.push(binder);
        }
        OfferedPsks {
            identities,
            binders,
        }
    })
}

fn client_unknown(t: ExtensionType) -> bool {
    use ExtensionType as E;
    matches!(
        t,
        E::Unknown(_)
            | E::MaxFragmentLength
            | E::Heartbeat
            | E::SignedCertificateTimestamp
            | E::EncryptThenMac
    )
}

pub(super) fn client_ext() -> impl Strategy<Value = ClientExtension> {
    use ClientExtension as C;
    prop_oneof![
        bytes(1, 20).prop_map(C::ServerName),
        vec(group(), 1..5).prop_map(C::SupportedGroups),
        vec(scheme(), 1..5).prop_map(C::SignatureAlgorithms),
        vec(scheme(), 1..5).prop_map(C::SignatureAlgorithmsCert),
        vec(bytes(1, 8), 1..4).prop_map(C::Alpn),
        vec(version(), 1..4).prop_map(C::SupportedVersions),
        vec(key_share(), 0..3).prop_map(|mut v| {
            let mut seen = Vec::new();
            v.retain(|k| {
                let new = !seen.contains(&k.group);
                seen.push(k.group);
                new
            });
            C::KeyShare(v)
        }),
        bytes(1, 20).prop_map(C::Cookie),
        bytes(1, 3).prop_map(C::PskKeyExchangeModes),
        offered_psks().prop_map(C::PreSharedKey),
        Just(C::EarlyData),
        Just(C::PostHandshakeAuth),
        vec(bytes(1, 16), 1..3).prop_map(C::CertificateAuthorities),
        Just(C::ExtendedMasterSecret),
        bytes(0, 12).prop_map(C::RenegotiationInfo),
        bytes(1, 3).prop_map(C::EcPointFormats),
        bytes(0, 12).prop_map(C::SessionTicket),
        (64u16..).prop_map(C::RecordSizeLimit),
        bytes(0, 12).prop_map(C::StatusRequest),
        (0usize..40).prop_map(C::Padding),
        unknown(client_unknown).prop_map(C::Unknown),
    ]
}

/// Keeps the first extension of each type.
fn dedup<T>(mut v: Vec<T>, typ: impl Fn(&T) -> ExtensionType) -> Vec<T> {
    let mut seen = Vec::new();
    v.retain(|e| {
        let t = typ(e);
        let new = !seen.contains(&t);
        seen.push(t);
        new
    });
    v
}

pub(super) fn client_exts() -> impl Strategy<Value = Vec<ClientExtension>> {
    vec(client_ext(), 0..8).prop_map(|v| {
        let mut v = dedup(v, ClientExtension::typ);
        // pre_shared_key goes last.
        if let Some(i) = v
            .iter()
            .position(|e| matches!(e, ClientExtension::PreSharedKey(_)))
        {
            let psk = v.remove(i);
            v.push(psk);
        }
        v
    })
}

fn server_unknown(t: ExtensionType) -> bool {
    use ExtensionType as E;
    matches!(
        t,
        E::Unknown(_)
            | E::ServerName
            | E::MaxFragmentLength
            | E::StatusRequest
            | E::Heartbeat
            | E::SignedCertificateTimestamp
            | E::EncryptThenMac
            | E::RecordSizeLimit
    )
}

pub(super) fn server_exts() -> impl Strategy<Value = Vec<ServerExtension>> {
    use ServerExtension as S;
    let one = prop_oneof![
        version().prop_map(S::SupportedVersions),
        key_share().prop_map(S::KeyShare),
        any::<u16>().prop_map(S::PreSharedKey),
        bytes(0, 12).prop_map(S::RenegotiationInfo),
        Just(S::ExtendedMasterSecret),
        bytes(1, 3).prop_map(S::EcPointFormats),
        Just(S::SessionTicket),
        bytes(1, 8).prop_map(S::Alpn),
        unknown(server_unknown).prop_map(S::Unknown),
    ];
    vec(one, 0..6).prop_map(|v| dedup(v, ServerExtension::typ))
}

pub(super) fn hrr_exts() -> impl Strategy<Value = Vec<HrrExtension>> {
    use HrrExtension as H;
    let one = prop_oneof![
        version().prop_map(H::SupportedVersions),
        group().prop_map(H::KeyShare),
        bytes(1, 20).prop_map(H::Cookie),
        unknown(truly_unknown).prop_map(H::Unknown),
    ];
    vec(one, 0..5).prop_map(|v| dedup(v, HrrExtension::typ))
}

fn ee_unknown(t: ExtensionType) -> bool {
    use ExtensionType as E;
    matches!(t, E::Unknown(_) | E::MaxFragmentLength | E::Heartbeat)
}

pub(super) fn ee_exts() -> impl Strategy<Value = Vec<EncryptedExtension>> {
    use EncryptedExtension as X;
    let one = prop_oneof![
        Just(X::ServerName),
        vec(group(), 1..5).prop_map(X::SupportedGroups),
        bytes(1, 8).prop_map(X::Alpn),
        Just(X::EarlyData),
        (64u16..).prop_map(X::RecordSizeLimit),
        unknown(ee_unknown).prop_map(X::Unknown),
    ];
    vec(one, 0..6).prop_map(|v| dedup(v, EncryptedExtension::typ))
}

fn cert_unknown(t: ExtensionType) -> bool {
    use ExtensionType as E;
    matches!(
        t,
        E::Unknown(_) | E::StatusRequest | E::SignedCertificateTimestamp
    )
}

/// CertificateRequest extensions, signature_algorithms always among them.
pub(super) fn certreq_exts() -> impl Strategy<Value = Vec<CertReqExtension>> {
    use CertReqExtension as X;
    let other = prop_oneof![
        vec(scheme(), 1..5).prop_map(X::SignatureAlgorithmsCert),
        vec(bytes(1, 16), 1..3).prop_map(X::CertificateAuthorities),
        unknown(cert_unknown).prop_map(X::Unknown),
    ];
    (
        vec(scheme(), 1..5),
        vec(other, 0..4),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(sigs, others, at)| {
            let mut v = dedup(others, CertReqExtension::typ);
            v.insert(at.index(v.len() + 1), X::SignatureAlgorithms(sigs));
            v
        })
}

pub(super) fn ticket_exts() -> impl Strategy<Value = Vec<TicketExtension>> {
    let one = prop_oneof![
        any::<u32>().prop_map(TicketExtension::EarlyData),
        unknown(truly_unknown).prop_map(TicketExtension::Unknown),
    ];
    vec(one, 0..4).prop_map(|v| dedup(v, TicketExtension::typ))
}

pub(super) fn cert_entry() -> impl Strategy<Value = CertificateEntry> {
    (bytes(1, 40), vec(unknown(cert_unknown), 0..3)).prop_map(|(cert, exts)| CertificateEntry {
        cert,
        extensions: dedup(exts, |e| ExtensionType::from_wire(e.typ)),
    })
}

pub(super) fn session_id() -> impl Strategy<Value = Vec<u8>> {
    bytes(0, 32)
}

pub(super) fn client_hello() -> impl Strategy<Value = ClientHello> {
    (
        any::<u16>(),
        any::<[u8; 32]>(),
        session_id(),
        vec(suite(), 1..6),
        bytes(1, 3),
        client_exts(),
    )
        .prop_map(
            |(
                legacy_version,
                random,
                session_id,
                cipher_suites,
                compression_methods,
                extensions,
            )| {
                ClientHello {
                    legacy_version,
                    random,
                    session_id,
                    cipher_suites,
                    compression_methods,
                    extensions,
                }
            },
        )
}

pub(super) fn server_hello() -> impl Strategy<Value = ServerHello> {
    (
        any::<u16>(),
        any::<[u8; 32]>().prop_filter("HRR random", |r| *r != HRR_RANDOM),
        session_id(),
        suite(),
        any::<u8>(),
        server_exts(),
    )
        .prop_map(
            |(legacy_version, random, session_id, cipher_suite, compression_method, extensions)| {
                ServerHello {
                    legacy_version,
                    random,
                    session_id,
                    cipher_suite,
                    compression_method,
                    extensions,
                }
            },
        )
}

pub(super) fn hello_retry_request() -> impl Strategy<Value = HelloRetryRequest> {
    (any::<u16>(), session_id(), suite(), any::<u8>(), hrr_exts()).prop_map(
        |(legacy_version, session_id, cipher_suite, compression_method, extensions)| {
            HelloRetryRequest {
                legacy_version,
                session_id,
                cipher_suite,
                compression_method,
                extensions,
            }
        },
    )
}

pub(super) fn message() -> impl Strategy<Value = HandshakeMessage> {
    use HandshakeMessage as M;
    prop_oneof![
        client_hello().prop_map(M::ClientHello),
        server_hello().prop_map(M::ServerHello),
        hello_retry_request().prop_map(M::HelloRetryRequest),
        (
            any::<u32>(),
            any::<u32>(),
            bytes(0, 16),
            bytes(1, 40),
            ticket_exts()
        )
            .prop_map(
                |(lifetime, age_add, nonce, ticket, extensions)| M::NewSessionTicket(
                    NewSessionTicket {
                        lifetime,
                        age_add,
                        nonce,
                        ticket,
                        extensions,
                    }
                )
            ),
        Just(M::EndOfEarlyData),
        ee_exts().prop_map(|extensions| M::EncryptedExtensions(EncryptedExtensions { extensions })),
        (bytes(0, 8), vec(cert_entry(), 0..4))
            .prop_map(|(context, entries)| M::Certificate(CertificatePayload { context, entries })),
        (bytes(0, 8), certreq_exts()).prop_map(|(context, extensions)| M::CertificateRequest(
            CertificateRequest {
                context,
                extensions
            }
        )),
        (scheme(), bytes(0, 80)).prop_map(|(scheme, signature)| M::CertificateVerify(
            CertificateVerify { scheme, signature }
        )),
        bytes(0, 64).prop_map(|verify_data| M::Finished(Finished { verify_data })),
        prop_oneof![
            Just(KeyUpdateRequest::NotRequested),
            Just(KeyUpdateRequest::Requested)
        ]
        .prop_map(M::KeyUpdate),
    ]
}
