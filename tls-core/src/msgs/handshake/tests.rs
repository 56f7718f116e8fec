//! Tests of the handshake codec.

use super::*;
use crate::msgs::codec::put_bytes;
use crate::msgs::strategies;
use alloc::vec;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            _ => (c | 0x20) - b'a' + 10,
        })
        .collect();
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

/// Splits an encoded message into its type and body, checking the header.
fn unframe(bytes: &[u8]) -> (HandshakeType, &[u8]) {
    let mut r = Reader::new(bytes);
    let typ = HandshakeType::from_wire(r.u8("type").unwrap());
    let body = r.vec_u24("body").unwrap();
    r.finish("message").unwrap();
    (typ, body.rest())
}

fn decode_framed(bytes: &[u8]) -> Result<HandshakeMessage, Error> {
    let (typ, body) = unframe(bytes);
    HandshakeMessage::decode(typ, body)
}

// RFC 8448 §3, the simple 1-RTT handshake.
const RFC8448_CH: &str = "
    01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2
    1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01
    00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00
    0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00
    23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e
    43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00
    03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06
    04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c
    00 02 40 01";
const RFC8448_SH: &str = "
    02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c
    8a c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24
    00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25
    3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04";
const RFC8448_EE: &str = "
    08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01
    01 02 01 03 01 04 00 1c 00 02 40 01 00 00 00 00";

#[test]
fn rfc8448_client_hello() {
    let bytes = hex(RFC8448_CH);
    let HandshakeMessage::ClientHello(ch) = decode_framed(&bytes).unwrap() else {
        panic!("not a ClientHello")
    };
    assert_eq!(ch.legacy_version, 0x0303);
    assert_eq!(ch.random[..4], [0xcb, 0x34, 0xec, 0xb1]);
    assert!(ch.session_id.is_empty());
    assert_eq!(
        ch.cipher_suites,
        [
            CipherSuite::Tls13Aes128GcmSha256,
            CipherSuite::Tls13Chacha20Poly1305Sha256,
            CipherSuite::Tls13Aes256GcmSha384
        ]
    );
    assert_eq!(ch.compression_methods, [0]);
    assert_eq!(ch.server_name(), Some(&b"server"[..]));
    assert_eq!(ch.supported_versions(), Some(&[ProtocolVersion::Tls13][..]));
    let shares = ch.key_shares().unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0].group, NamedGroup::X25519);
    assert_eq!(shares[0].key_exchange.len(), 32);
    assert_eq!(shares[0].key_exchange[..2], [0x99, 0x38]);
    let groups = ch.supported_groups().unwrap();
    assert_eq!(groups.len(), 9);
    assert_eq!(
        groups[..3],
        [
            NamedGroup::X25519,
            NamedGroup::Secp256r1,
            NamedGroup::Secp384r1
        ]
    );
    assert_eq!(groups[4], NamedGroup::Unknown(0x0100));
    let sigs = ch.signature_algorithms().unwrap();
    assert_eq!(sigs.len(), 15);
    assert_eq!(sigs[0], SignatureScheme::EcdsaSecp256r1Sha256);
    assert_eq!(ch.psk_modes(), Some(&[1][..]));
    assert_eq!(ch.record_size_limit(), Some(0x4001));
    assert!(ch.has(ExtensionType::RenegotiationInfo));
    assert!(ch
        .extensions
        .contains(&ClientExtension::SessionTicket(vec![])));
    assert!(ch.alpn().is_none() && ch.cookie().is_none() && ch.pre_shared_key().is_none());
    assert_eq!(ch.extensions.len(), 9);
    assert_eq!(ch.to_message(), bytes);
    assert_eq!(HandshakeMessage::ClientHello(ch).to_vec(), bytes);
}

#[test]
fn rfc8448_server_hello_and_encrypted_extensions() {
    let bytes = hex(RFC8448_SH);
    let HandshakeMessage::ServerHello(sh) = decode_framed(&bytes).unwrap() else {
        panic!("not a ServerHello")
    };
    assert_eq!(sh.cipher_suite, CipherSuite::Tls13Aes128GcmSha256);
    assert_eq!(sh.random[..2], [0xa6, 0xaf]);
    assert_eq!(sh.supported_version(), Some(ProtocolVersion::Tls13));
    let share = sh.key_share().unwrap();
    assert_eq!(share.group, NamedGroup::X25519);
    assert_eq!(share.key_exchange[..2], [0xc9, 0x82]);
    assert_eq!(HandshakeMessage::ServerHello(sh).to_vec(), bytes);

    let bytes = hex(RFC8448_EE);
    let HandshakeMessage::EncryptedExtensions(ee) = decode_framed(&bytes).unwrap() else {
        panic!("not EncryptedExtensions")
    };
    assert_eq!(ee.record_size_limit(), Some(0x4001));
    assert!(ee.has(ExtensionType::ServerName) && ee.alpn().is_none());
    assert_eq!(HandshakeMessage::EncryptedExtensions(ee).to_vec(), bytes);
}

#[test]
fn truncated_client_hello_is_rejected_at_every_length() {
    let bytes = hex(RFC8448_CH);
    let body = &bytes[4..];
    for n in 0..body.len() {
        let res = HandshakeMessage::decode(HandshakeType::ClientHello, &body[..n]);
        // Cutting exactly before the extensions block leaves a valid
        // extension-less hello.
        if n == 2 + 32 + 1 + 8 + 2 {
            assert!(res.is_ok());
        } else {
            assert!(res.is_err(), "prefix of {n} bytes accepted");
        }
    }
}

#[test]
fn trailing_byte_is_rejected() {
    for hexed in [RFC8448_CH, RFC8448_SH, RFC8448_EE] {
        let bytes = hex(hexed);
        let (typ, body) = unframe(&bytes);
        let mut longer = body.to_vec();
        longer.push(0);
        assert!(matches!(
            HandshakeMessage::decode(typ, &longer),
            Err(Error::Decode(_))
        ));
    }
    let ku = HandshakeMessage::decode(HandshakeType::KeyUpdate, &[0, 0]);
    assert_eq!(
        ku,
        Err(Error::Decode("trailing bytes in handshake message"))
    );
    let eoed = HandshakeMessage::decode(HandshakeType::EndOfEarlyData, &[0]);
    assert_eq!(
        eoed,
        Err(Error::Decode("trailing bytes in handshake message"))
    );
}

/// A minimal ClientHello body with the given session id and suites bytes.
fn ch_body(session_id: &[u8], suites: &[u8]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    put_bytes(&mut b, LenPrefix::U8, session_id);
    put_bytes(&mut b, LenPrefix::U16, suites);
    put_bytes(&mut b, LenPrefix::U8, &[0]);
    b
}

#[test]
fn client_hello_field_limits() {
    let ok = ch_body(&[1; 32], &[0x13, 0x01]);
    assert!(HandshakeMessage::decode(HandshakeType::ClientHello, &ok).is_ok());
    let long_id = ch_body(&[1; 33], &[0x13, 0x01]);
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::ClientHello, &long_id),
        Err(Error::Decode("legacy_session_id longer than 32 bytes"))
    );
    let no_suites = ch_body(&[], &[]);
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::ClientHello, &no_suites),
        Err(Error::Decode("cipher_suites"))
    );
    let odd_suites = ch_body(&[], &[0x13, 0x01, 0x13]);
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::ClientHello, &odd_suites),
        Err(Error::Decode("cipher_suites"))
    );
    let mut no_compression = ch_body(&[], &[0x13, 0x01]);
    // Replace the compression_methods vector [1, 0] by an empty one.
    no_compression.truncate(no_compression.len() - 2);
    no_compression.push(0);
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::ClientHello, &no_compression),
        Err(Error::Decode("legacy_compression_methods"))
    );
}

#[test]
fn explicit_empty_extension_block_is_normalised() {
    let mut body = ch_body(&[], &[0x13, 0x01]);
    let bare = HandshakeMessage::decode(HandshakeType::ClientHello, &body).unwrap();
    body.extend_from_slice(&[0, 0]);
    let explicit = HandshakeMessage::decode(HandshakeType::ClientHello, &body).unwrap();
    assert_eq!(bare, explicit);
    // The one documented exception to byte-exact re-encoding.
    assert_eq!(explicit.to_vec().len(), body.len() + 4 - 2);
}

#[test]
fn duplicate_and_misplaced_extensions_in_client_hello() {
    let mut body = ch_body(&[], &[0x13, 0x01]);
    body.extend_from_slice(&[0, 8, 0, 23, 0, 0, 0, 23, 0, 0]);
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::ClientHello, &body),
        Err(Error::IllegalParameter("duplicate extension"))
    );
    let mut body = ch_body(&[], &[0x13, 0x01]);
    let psk = ClientExtension::PreSharedKey(OfferedPsks {
        identities: vec![crate::msgs::extensions::PskIdentity {
            identity: vec![1],
            obfuscated_ticket_age: 0,
        }],
        binders: vec![vec![0; 32]],
    });
    ClientExtension::encode_list(&[psk, ClientExtension::EarlyData], &mut body);
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::ClientHello, &body),
        Err(Error::IllegalParameter("pre_shared_key not last"))
    );
}

#[test]
fn key_share_in_encrypted_extensions_is_illegal() {
    let body = [0, 9, 0, 51, 0, 5, 0, 0x1d, 0, 1, 9];
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::EncryptedExtensions, &body),
        Err(Error::IllegalParameter(
            "extension not allowed in encrypted_extensions"
        ))
    );
}

#[test]
fn key_update_values() {
    let decode = |b: u8| HandshakeMessage::decode(HandshakeType::KeyUpdate, &[b]);
    assert_eq!(
        decode(0),
        Ok(HandshakeMessage::KeyUpdate(KeyUpdateRequest::NotRequested))
    );
    assert_eq!(
        decode(1),
        Ok(HandshakeMessage::KeyUpdate(KeyUpdateRequest::Requested))
    );
    for b in 2..=u8::MAX {
        assert_eq!(
            decode(b),
            Err(Error::IllegalParameter("key_update request value"))
        );
    }
    assert!(matches!(
        HandshakeMessage::decode(HandshakeType::KeyUpdate, &[]),
        Err(Error::Decode(_))
    ));
}

#[test]
fn hello_retry_request_is_recognised_by_its_random() {
    let mut body = vec![3, 3];
    body.extend_from_slice(&HRR_RANDOM);
    body.extend_from_slice(&[0, 0x13, 0x01, 0]);
    // No extensions block: a HelloRetryRequest must have one.
    assert!(matches!(
        HandshakeMessage::decode(HandshakeType::ServerHello, &body),
        Err(Error::Decode(_))
    ));
    body.extend_from_slice(&[0, 12, 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x17]);
    let HandshakeMessage::HelloRetryRequest(hrr) =
        HandshakeMessage::decode(HandshakeType::ServerHello, &body).unwrap()
    else {
        panic!("not a HelloRetryRequest")
    };
    assert_eq!(hrr.selected_group(), Some(NamedGroup::Secp256r1));
    assert_eq!(hrr.supported_version(), Some(ProtocolVersion::Tls13));
    assert_eq!(hrr.cookie(), None);
    let msg = HandshakeMessage::HelloRetryRequest(hrr);
    assert_eq!(msg.typ(), HandshakeType::ServerHello);
    assert_eq!(&msg.to_vec()[4..], &body[..]);
}

#[test]
fn other_handshake_types_are_unexpected() {
    for t in [0u8, 3, 6, 12, 14, 16, 254, 99] {
        assert_eq!(
            HandshakeMessage::decode(HandshakeType::from_wire(t), &[]),
            Err(Error::UnexpectedMessage(
                "handshake type not used in TLS 1.3"
            ))
        );
    }
}

#[test]
fn certificate_request_needs_signature_algorithms() {
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::CertificateRequest, &[0, 0, 0]),
        Err(Error::MissingExtension("signature_algorithms"))
    );
    let ok = [0, 0, 8, 0, 13, 0, 4, 0, 2, 8, 7];
    let HandshakeMessage::CertificateRequest(cr) =
        HandshakeMessage::decode(HandshakeType::CertificateRequest, &ok).unwrap()
    else {
        panic!("not a CertificateRequest")
    };
    assert_eq!(
        cr.signature_algorithms(),
        Some(&[SignatureScheme::Ed25519][..])
    );
}

#[test]
fn certificate_entries_checked() {
    // Empty cert_data.
    let body = [0, 0, 0, 5, 0, 0, 0, 0, 0];
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::Certificate, &body),
        Err(Error::Decode("cert_data"))
    );
    // key_share inside a CertificateEntry.
    let body = [0, 0, 0, 10, 0, 0, 1, 0xaa, 0, 4, 0, 51, 0, 0];
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::Certificate, &body),
        Err(Error::IllegalParameter(
            "extension not allowed in certificate"
        ))
    );
    // status_request kept raw; empty chain is fine.
    let body = [0, 0, 0, 11, 0, 0, 1, 0xaa, 0, 5, 0, 5, 0, 1, 7];
    let msg = HandshakeMessage::decode(HandshakeType::Certificate, &body).unwrap();
    assert_eq!(&msg.to_vec()[4..], &body[..]);
    assert!(HandshakeMessage::decode(HandshakeType::Certificate, &[0, 0, 0, 0]).is_ok());
}

#[test]
fn new_session_ticket_needs_a_ticket() {
    let body = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0];
    assert_eq!(
        HandshakeMessage::decode(HandshakeType::NewSessionTicket, &body),
        Err(Error::Decode("ticket"))
    );
}

proptest! {
    #[test]
    fn messages_round_trip(msg in strategies::message()) {
        let bytes = msg.to_vec();
        let back = decode_framed(&bytes).unwrap();
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(back.to_vec(), bytes);
    }

    /// Damaged encodings never panic, and whatever is accepted re-encodes
    /// to the same bytes (except an explicit empty hello extensions block).
    #[test]
    fn damaged_messages_never_panic(
        msg in strategies::message(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0u8..3,
    ) {
        let bytes = msg.to_vec();
        let (typ, body) = unframe(&bytes);
        let mut body = body.to_vec();
        if !body.is_empty() {
            let i = at.index(body.len());
            match how {
                0 => body[i] = byte,
                1 => { body.remove(i); }
                _ => body.insert(i, byte),
            }
        }
        if let Ok(m) = HandshakeMessage::decode(typ, &body) {
            let again = m.to_vec();
            let again_body = &again[4..];
            if again_body != &body[..] {
                let hello_without_exts = match &m {
                    HandshakeMessage::ClientHello(ch) => ch.extensions.is_empty(),
                    HandshakeMessage::ServerHello(sh) => sh.extensions.is_empty(),
                    _ => false,
                };
                prop_assert!(hello_without_exts);
                prop_assert_eq!(&body[body.len() - 2..], &[0, 0]);
                prop_assert_eq!(again_body, &body[..body.len() - 2]);
            }
        }
    }

    #[test]
    fn random_bodies_never_panic(t in any::<u8>(), body in strategies::bytes(0, 200)) {
        let _ = HandshakeMessage::decode(HandshakeType::from_wire(t), &body);
    }
}
