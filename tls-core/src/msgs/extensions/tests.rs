//! Tests of the extensions codec.

use super::*;
use crate::msgs::codec::{put_bytes, put_vec};
use crate::msgs::strategies;
use alloc::vec;
use proptest::prelude::*;

/// Encodes `list`, decodes it back, and checks both directions.
fn round_trip<T: ExtensionBody + core::fmt::Debug + PartialEq>(list: &[T]) {
    let mut bytes = Vec::new();
    encode_block(list, &mut bytes);
    let mut r = Reader::new(&bytes);
    let back: Vec<T> = decode_block(&mut r).unwrap();
    r.finish("rest").unwrap();
    assert_eq!(back.as_slice(), list);
    let mut again = Vec::new();
    encode_block(&back, &mut again);
    assert_eq!(again, bytes);
}

/// Builds an extension block from (type, body) pairs.
fn block(exts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    put_vec(&mut out, LenPrefix::U16, |out| {
        for (t, body) in exts {
            put_u16(out, *t);
            put_bytes(out, LenPrefix::U16, body);
        }
    });
    out
}

fn client(exts: &[(u16, &[u8])]) -> Result<Vec<ClientExtension>, Error> {
    let bytes = block(exts);
    ClientExtension::decode_list(&mut Reader::new(&bytes))
}

proptest! {
    #[test]
    fn client_extensions_round_trip(v in strategies::client_exts()) {
        round_trip(&v);
        let mut bytes = Vec::new();
        ClientExtension::encode_list(&v, &mut bytes);
        prop_assert_eq!(ClientExtension::decode_list(&mut Reader::new(&bytes)).unwrap(), v);
    }

    #[test]
    fn server_extensions_round_trip(v in strategies::server_exts()) { round_trip(&v); }

    #[test]
    fn hrr_extensions_round_trip(v in strategies::hrr_exts()) { round_trip(&v); }

    #[test]
    fn encrypted_extensions_round_trip(v in strategies::ee_exts()) { round_trip(&v); }

    #[test]
    fn certreq_extensions_round_trip(v in strategies::certreq_exts()) { round_trip(&v); }

    #[test]
    fn ticket_extensions_round_trip(v in strategies::ticket_exts()) { round_trip(&v); }

    #[test]
    fn binders_are_the_tail(psk in strategies::offered_psks()) {
        let ext = [ClientExtension::PreSharedKey(psk.clone())];
        let mut bytes = Vec::new();
        ClientExtension::encode_list(&ext, &mut bytes);
        let n = psk.binders_encoded_len();
        let tail = bytes.get(bytes.len() - n..).unwrap();
        let mut r = Reader::new(tail);
        let mut list = r.vec_u16("binders").unwrap();
        r.finish("tail").unwrap();
        for b in &psk.binders {
            prop_assert_eq!(list.vec_u8("binder").unwrap().rest(), b.as_slice());
        }
        list.finish("binders").unwrap();
    }
}

#[test]
fn duplicate_extension_is_illegal() {
    assert_eq!(
        client(&[(23, b""), (0xfe00, b""), (23, b"")]),
        Err(Error::IllegalParameter("duplicate extension"))
    );
    // Unknown types count too.
    assert_eq!(
        client(&[(0xfe00, b"a"), (0xfe00, b"b")]),
        Err(Error::IllegalParameter("duplicate extension"))
    );
}

#[test]
fn pre_shared_key_must_be_last() {
    let mut psk = Vec::new();
    put_vec(&mut psk, LenPrefix::U16, |o| {
        put_bytes(o, LenPrefix::U16, b"id");
        put_u32(o, 7);
    });
    put_vec(&mut psk, LenPrefix::U16, |o| {
        put_bytes(o, LenPrefix::U8, &[9; 32])
    });
    assert!(client(&[(23, b""), (41, &psk)]).is_ok());
    assert_eq!(
        client(&[(41, &psk), (23, b"")]),
        Err(Error::IllegalParameter("pre_shared_key not last"))
    );
}

#[test]
fn psk_binders_checked() {
    let psk = |ids: usize, binders: &[usize]| {
        let mut v = Vec::new();
        put_vec(&mut v, LenPrefix::U16, |o| {
            for _ in 0..ids {
                put_bytes(o, LenPrefix::U16, b"id");
                put_u32(o, 0);
            }
        });
        put_vec(&mut v, LenPrefix::U16, |o| {
            for n in binders {
                put_bytes(o, LenPrefix::U8, &vec![1; *n]);
            }
        });
        client(&[(41, &v)])
    };
    assert!(psk(2, &[32, 255]).is_ok());
    assert_eq!(
        psk(2, &[32]),
        Err(Error::IllegalParameter("psk binder count"))
    );
    assert_eq!(psk(1, &[31]), Err(Error::Decode("psk binder")));
    assert_eq!(psk(0, &[32]), Err(Error::Decode("psk identities")));
    assert_eq!(psk(1, &[]), Err(Error::Decode("psk binders")));
}

#[test]
fn list_lengths_checked() {
    // supported_groups: odd, empty.
    assert_eq!(
        client(&[(10, &[0, 3, 0, 0x1d, 0])]),
        Err(Error::Decode("supported_groups"))
    );
    assert_eq!(
        client(&[(10, &[0, 0])]),
        Err(Error::Decode("supported_groups"))
    );
    // signature_algorithms empty.
    assert_eq!(
        client(&[(13, &[0, 0])]),
        Err(Error::Decode("signature_algorithms"))
    );
    // supported_versions: empty, odd.
    assert_eq!(
        client(&[(43, &[0])]),
        Err(Error::Decode("supported_versions"))
    );
    assert_eq!(
        client(&[(43, &[1, 3])]),
        Err(Error::Decode("supported_versions"))
    );
    // ALPN: empty list, empty name.
    assert_eq!(client(&[(16, &[0, 0])]), Err(Error::Decode("alpn list")));
    assert_eq!(client(&[(16, &[0, 1, 0])]), Err(Error::Decode("alpn name")));
    // key_share: empty key_exchange; an empty list is fine.
    assert_eq!(
        client(&[(51, &[0, 4, 0, 0x1d, 0, 0])]),
        Err(Error::Decode("key_share key_exchange"))
    );
    assert_eq!(
        client(&[(51, &[0, 0])]),
        Ok(vec![ClientExtension::KeyShare(vec![])])
    );
    // Inner vector shorter than its body: trailing bytes in the extension.
    assert_eq!(
        client(&[(44, &[0, 1, 7, 7])]),
        Err(Error::Decode("extension data"))
    );
    // Extension length running past the block.
    assert_eq!(
        ClientExtension::decode_list(&mut Reader::new(&[0, 4, 0, 23, 0, 1])),
        Err(Error::Decode("extension data"))
    );
    // Empty-bodied extensions must be empty.
    assert_eq!(client(&[(42, &[0])]), Err(Error::Decode("extension data")));
}

#[test]
fn duplicate_key_share_group_is_illegal() {
    let body = [0, 10, 0, 0x1d, 0, 1, 5, 0, 0x1d, 0, 1, 6];
    assert_eq!(
        client(&[(51, &body)]),
        Err(Error::IllegalParameter("duplicate key_share group"))
    );
}

#[test]
fn server_name_forms() {
    let ok = [0, 6, 0, 0, 3, b'a', b'.', b'b'];
    assert_eq!(
        client(&[(0, &ok)]),
        Ok(vec![ClientExtension::ServerName(b"a.b".to_vec())])
    );
    let bad_type = [0, 6, 1, 0, 3, b'a', b'.', b'b'];
    assert_eq!(
        client(&[(0, &bad_type)]),
        Err(Error::Decode("server_name type"))
    );
    let two = [0, 8, 0, 0, 1, b'a', 0, 0, 1, b'b'];
    assert_eq!(client(&[(0, &two)]), Err(Error::Decode("server_name list")));
    assert_eq!(
        client(&[(0, &[0, 3, 0, 0, 0])]),
        Err(Error::Decode("server_name host_name"))
    );
    assert_eq!(client(&[(0, &[])]), Err(Error::Decode("server_name list")));
}

#[test]
fn padding_and_record_size_limit() {
    assert_eq!(
        client(&[(21, &[0, 0, 0])]),
        Ok(vec![ClientExtension::Padding(3)])
    );
    assert_eq!(
        client(&[(21, &[0, 1])]),
        Err(Error::Decode("padding not zero"))
    );
    assert_eq!(
        client(&[(28, &[0, 64])]),
        Ok(vec![ClientExtension::RecordSizeLimit(64)])
    );
    assert_eq!(
        client(&[(28, &[0, 63])]),
        Err(Error::IllegalParameter("record_size_limit below 64"))
    );
    assert_eq!(
        client(&[(28, &[0, 64, 0])]),
        Err(Error::Decode("extension data"))
    );
}

#[test]
fn extension_not_allowed_in_message() {
    let key_share = block(&[(51, &[0, 0x1d, 0, 1, 5])]);
    assert_eq!(
        EncryptedExtension::decode_list(&mut Reader::new(&key_share)),
        Err(Error::IllegalParameter(
            "extension not allowed in encrypted_extensions"
        ))
    );
    let sigs = block(&[(13, &[0, 2, 4, 3])]);
    assert_eq!(
        ServerExtension::decode_list(&mut Reader::new(&sigs)),
        Err(Error::IllegalParameter(
            "extension not allowed in server_hello"
        ))
    );
    assert_eq!(
        HrrExtension::decode_list(&mut Reader::new(&sigs)),
        Err(Error::IllegalParameter(
            "extension not allowed in hello_retry_request"
        ))
    );
    assert_eq!(
        TicketExtension::decode_list(&mut Reader::new(&sigs)),
        Err(Error::IllegalParameter(
            "extension not allowed in new_session_ticket"
        ))
    );
    assert_eq!(
        CertReqExtension::decode_list(&mut Reader::new(&key_share)),
        Err(Error::IllegalParameter(
            "extension not allowed in certificate_request"
        ))
    );
    // A truly unknown type is kept.
    let unknown = block(&[(0x7a7a, b"xyz")]);
    assert_eq!(
        EncryptedExtension::decode_list(&mut Reader::new(&unknown)),
        Ok(vec![EncryptedExtension::Unknown(UnknownExtension {
            typ: 0x7a7a,
            data: b"xyz".to_vec()
        })])
    );
}

#[test]
fn server_alpn_holds_exactly_one_name() {
    let two = block(&[(16, &[0, 4, 1, b'a', 1, b'b'])]);
    assert_eq!(
        EncryptedExtension::decode_list(&mut Reader::new(&two)),
        Err(Error::Decode("alpn list: more than one name"))
    );
    let one = block(&[(16, &[0, 3, 2, b'h', b'2'])]);
    assert_eq!(
        EncryptedExtension::decode_list(&mut Reader::new(&one)),
        Ok(vec![EncryptedExtension::Alpn(b"h2".to_vec())])
    );
}
