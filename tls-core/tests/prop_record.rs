//! Property tests for the record layer and the codec, through the public API:
//!
//! - the deframer gives the same records whatever the cut points of the
//!   byte stream;
//! - handshake reassembly gives the same messages whatever the record
//!   boundaries;
//! - sealed records (TLS 1.3 and TLS 1.2 keys) fed back in arbitrary pieces
//!   open to the same plaintexts, in order;
//! - TLS 1.2 handshake messages and alerts round-trip exactly (the TLS 1.3
//!   messages and every extension have their round trip next to the code,
//!   in `msgs::handshake` and `msgs::extensions`).

use proptest::collection::vec;
use proptest::prelude::*;

use tls_core::internal::crypto::RecordKey12;
use tls_core::internal::crypto::{AeadAlg, TrafficKey, TLS13_AES_256_GCM_SHA384};
use tls_core::internal::msgs::alert::Alert;
use tls_core::internal::msgs::enums::{ContentType, HandshakeType, NamedGroup, SignatureScheme};
use tls_core::internal::msgs::handshake::{CertificateVerify, Finished};
use tls_core::internal::msgs::handshake12::{
    CertificateRequest12, Message12, NewSessionTicket12, ServerKeyExchange,
};
use tls_core::internal::record::buffer::RecordBuffer;
use tls_core::internal::record::deframe::Deframer;
use tls_core::internal::record::join::HandshakeJoiner;
use tls_core::internal::record::protect::{frame_plaintext, RecordOpener, RecordSealer};
use tls_core::internal::record::MAX_PLAINTEXT;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

fn bytes(lo: usize, hi: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), lo..=hi)
}

fn content_type() -> impl Strategy<Value = ContentType> {
    prop_oneof![
        Just(ContentType::Handshake),
        Just(ContentType::Alert),
        Just(ContentType::ApplicationData),
        Just(ContentType::ChangeCipherSpec),
    ]
}

/// Cuts `wire` at the given points (taken modulo its length), so every
/// boundary, including mid-header, is reachable.
fn cut(wire: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    if wire.is_empty() {
        return vec![];
    }
    let mut at: Vec<usize> = points.iter().map(|p| p % wire.len()).collect();
    at.push(0);
    at.push(wire.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| wire[w[0]..w[1]].to_vec()).collect()
}

/// Every record in `pieces`, fed one piece at a time.
fn deframe(pieces: &[Vec<u8>]) -> Vec<(ContentType, [u8; 5], Vec<u8>)> {
    let mut d = Deframer::default();
    let mut out = Vec::new();
    for p in pieces {
        d.push(p);
        while let Some(r) = d.next_record().expect("valid records") {
            out.push((r.typ, r.header, d.body_mut(&r).to_vec()));
            d.consume(&r);
        }
    }
    assert_eq!(d.buffered(), 0, "bytes left over");
    out
}

fn key13() -> TrafficKey {
    TrafficKey::from_secret(&TLS13_AES_256_GCM_SHA384, &[0x42; 48]).unwrap()
}

fn key12() -> RecordKey12 {
    RecordKey12::new(AeadAlg::Chacha20Poly1305, &[0x24; 32], &[9; 12]).unwrap()
}

fn cert_types() -> impl Strategy<Value = Vec<u8>> {
    bytes(1, 4)
}

fn scheme() -> impl Strategy<Value = SignatureScheme> {
    any::<u16>().prop_map(SignatureScheme::from_wire)
}

/// TLS 1.2 messages (the hellos are the TLS 1.3 types and are covered there).
fn message12() -> impl Strategy<Value = Message12> {
    use Message12 as M;
    prop_oneof![
        Just(M::HelloRequest),
        vec(bytes(1, 40), 0..4).prop_map(M::Certificate),
        (any::<u16>(), bytes(1, 65), scheme(), bytes(0, 80)).prop_map(
            |(g, public, scheme, signature)| M::ServerKeyExchange(ServerKeyExchange {
                group: NamedGroup::from_wire(g),
                public,
                scheme,
                signature,
            })
        ),
        (cert_types(), vec(scheme(), 1..6), vec(bytes(1, 20), 0..3)).prop_map(
            |(cert_types, schemes, authorities)| M::CertificateRequest(CertificateRequest12 {
                cert_types,
                schemes,
                authorities,
            })
        ),
        Just(M::ServerHelloDone),
        (scheme(), bytes(0, 80)).prop_map(|(scheme, signature)| M::CertificateVerify(
            CertificateVerify { scheme, signature }
        )),
        bytes(1, 97).prop_map(M::ClientKeyExchange),
        bytes(0, 32).prop_map(|verify_data| M::Finished(Finished { verify_data })),
        (any::<u32>(), bytes(0, 64)).prop_map(|(lifetime_hint, ticket)| M::NewSessionTicket(
            NewSessionTicket12 {
                lifetime_hint,
                ticket
            }
        )),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    /// Any record sequence, cut anywhere, deframes to the same records.
    #[test]
    fn deframing_ignores_cut_points(
        records in vec((content_type(), bytes(0, 300)), 1..8),
        points in vec(any::<usize>(), 0..20),
    ) {
        let mut wire = Vec::new();
        let mut expect = Vec::new();
        for (typ, body) in &records {
            let start = wire.len();
            wire.extend_from_slice(&[typ.to_wire(), 3, 3]);
            wire.extend_from_slice(&(body.len() as u16).to_be_bytes());
            wire.extend_from_slice(body);
            let header: [u8; 5] = wire[start..start + 5].try_into().unwrap();
            expect.push((*typ, header, body.clone()));
        }
        prop_assert_eq!(deframe(&cut(&wire, &points)), expect.clone());
        prop_assert_eq!(deframe(&[wire.clone()]), expect);
    }

    /// Handshake messages split across records at any boundary come out whole.
    #[test]
    fn handshake_messages_survive_any_record_boundaries(
        msgs in vec((1u8..=24, bytes(0, 600)), 1..6),
        points in vec(any::<usize>(), 0..20),
    ) {
        let mut stream = Vec::new();
        for (typ, body) in &msgs {
            stream.push(*typ);
            stream.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            stream.extend_from_slice(body);
        }
        let mut j = HandshakeJoiner::default();
        let mut got = Vec::new();
        for payload in cut(&stream, &points) {
            j.push(&payload).unwrap();
            while let Some(m) = j.next_message().unwrap() {
                got.push((m.typ.to_wire(), m.body().to_vec()));
            }
        }
        prop_assert!(j.is_empty());
        prop_assert_eq!(got, msgs);
    }

    /// Plaintext framed into handshake records (split at 2^14) and cut
    /// anywhere reassembles to the same bytes.
    #[test]
    fn plaintext_framing_round_trips(
        len in 0usize..40_000,
        points in vec(any::<usize>(), 0..10),
    ) {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let mut wire = RecordBuffer::new();
        frame_plaintext(ContentType::ApplicationData, &payload, &mut wire);
        let wire = wire.as_slice();
        let records = deframe(&cut(wire, &points));
        prop_assert!(records.iter().all(|(_, _, b)| b.len() <= MAX_PLAINTEXT));
        let joined: Vec<u8> = records.into_iter().flat_map(|(_, _, b)| b).collect();
        prop_assert_eq!(joined, payload);
    }

    /// Records sealed under a TLS 1.3 or a TLS 1.2 key, cut anywhere, open
    /// to the same (type, plaintext) in order.
    #[test]
    fn sealed_records_cut_anywhere_open_to_the_same_plaintext(
        tls12 in any::<bool>(),
        plain in vec((content_type(), bytes(0, 500)), 1..6),
        points in vec(any::<usize>(), 0..20),
    ) {
        let (mut sealer, mut opener) = if tls12 {
            (RecordSealer::tls12(key12()), RecordOpener::tls12(key12()))
        } else {
            (RecordSealer::new(key13()), RecordOpener::new(key13()))
        };
        let mut wire = RecordBuffer::new();
        for (typ, fragment) in &plain {
            sealer.seal(*typ, fragment, &mut wire).unwrap();
        }
        let wire = wire.as_slice();
        let mut got = Vec::new();
        for (_, header, mut body) in deframe(&cut(wire, &points)) {
            let (typ, text) = opener.open(&header, &mut body).unwrap();
            got.push((typ, text.to_vec()));
        }
        prop_assert_eq!(got, plain);
    }

    /// A flipped bit anywhere in a sealed record fails the record (and only
    /// that record: the sequence number does not advance).
    #[test]
    fn any_flipped_bit_fails_the_record(
        tls12 in any::<bool>(),
        fragment in bytes(0, 200),
        bit in any::<usize>(),
    ) {
        let (mut sealer, mut opener) = if tls12 {
            (RecordSealer::tls12(key12()), RecordOpener::tls12(key12()))
        } else {
            (RecordSealer::new(key13()), RecordOpener::new(key13()))
        };
        let mut out = RecordBuffer::new();
        sealer.seal(ContentType::ApplicationData, &fragment, &mut out).unwrap();
        let mut wire = out.as_slice().to_vec();
        let mut bad = wire.clone();
        // Flip a bit in the body (the header is only AAD for TLS 1.3 and
        // type/version for both; flipping its length would misframe).
        let body_bits = (bad.len() - 5) * 8;
        let b = bit % body_bits;
        bad[5 + b / 8] ^= 1 << (b % 8);
        let header: [u8; 5] = bad[..5].try_into().unwrap();
        prop_assert!(opener.open(&header, &mut bad[5..]).is_err());
        let header: [u8; 5] = wire[..5].try_into().unwrap();
        let (_, text) = opener.open(&header, &mut wire[5..]).unwrap();
        prop_assert_eq!(text, &fragment[..]);
    }

    /// TLS 1.2 messages: decode(encode(m)) == m and the bytes are canonical.
    #[test]
    fn tls12_messages_round_trip(msg in message12()) {
        let enc = msg.to_vec();
        let typ = HandshakeType::from_wire(enc[0]);
        prop_assert_eq!(typ, msg.typ());
        let decoded = Message12::decode(typ, &enc[4..]).unwrap();
        prop_assert_eq!(&decoded, &msg);
        prop_assert_eq!(decoded.to_vec(), enc);
    }

    /// Truncating a TLS 1.2 message, or adding a byte, never panics, and an
    /// added trailing byte is always refused.
    #[test]
    fn tls12_messages_damaged(msg in message12(), cut_at in any::<usize>(), extra in any::<u8>()) {
        let enc = msg.to_vec();
        let typ = HandshakeType::from_wire(enc[0]);
        let body = &enc[4..];
        let _ = Message12::decode(typ, &body[..cut_at % (body.len() + 1)]);
        let mut longer = body.to_vec();
        longer.push(extra);
        if !matches!(msg, Message12::Finished(_)) {
            prop_assert!(Message12::decode(typ, &longer).is_err());
        }
    }

    /// Alerts round-trip for every pair of bytes; any other length fails.
    #[test]
    fn alerts_round_trip(b in bytes(0, 4)) {
        match Alert::decode(&b) {
            Ok(a) => prop_assert_eq!(a.encode().to_vec(), b),
            Err(_) => prop_assert_ne!(b.len(), 2),
        }
    }
}
