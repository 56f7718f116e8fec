//! Editing the sessions `s_client` saves with `-sess_out` (through
//! `openssl sess_id`, DER in and out): reading the ticket, tampering with
//! it or the PSK, allowing early data.

use std::path::{Path, PathBuf};

use super::openssl;
use crate::peer::run_tool;

/// The DER form of a session file written by `s_client -sess_out`.
pub fn session_der(pem: &Path) -> Vec<u8> {
    let der = run_tool(
        &openssl(),
        [
            "sess_id".as_ref(),
            "-in".as_ref(),
            pem.as_os_str(),
            "-outform".as_ref(),
            "DER".as_ref(),
        ],
    );
    assert!(
        !der.is_empty(),
        "openssl sess_id gave no DER for {}",
        pem.display()
    );
    der
}

/// Writes the session `der` as a PEM session file at `pem` (for `-sess_in`).
pub fn write_session(der: &[u8], pem: &Path) {
    let mut der_path = pem.as_os_str().to_owned();
    der_path.push(".der");
    let der_path = PathBuf::from(der_path);
    std::fs::write(&der_path, der).unwrap_or_else(|e| panic!("write {}: {e}", der_path.display()));
    run_tool(
        &openssl(),
        [
            "sess_id".as_ref(),
            "-inform".as_ref(),
            "DER".as_ref(),
            "-in".as_ref(),
            der_path.as_os_str(),
            "-out".as_ref(),
            pem.as_os_str(),
        ],
    );
}

/// One DER element: its (one-byte) tag and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tlv {
    tag: u8,
    contents: Vec<u8>,
}

/// Splits DER bytes into elements (one-byte tags, lengths up to 4 bytes).
fn der_elements(mut der: &[u8]) -> Vec<Tlv> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let tag = der[0];
        assert!(tag & 0x1f != 0x1f, "multi-byte DER tag");
        let first = *der.get(1).expect("DER length");
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            assert!((1..=4).contains(&n), "DER length of {n} bytes");
            let len = der[2..2 + n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, 2 + n)
        };
        out.push(Tlv {
            tag,
            contents: der[header..header + len].to_vec(),
        });
        der = &der[header + len..];
    }
    out
}

fn der_encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// The fields of an SSL_SESSION (the outer SEQUENCE's elements).
fn session_fields(der: &[u8]) -> Vec<Tlv> {
    let outer = der_elements(der);
    assert_eq!(outer.len(), 1, "one SSL_SESSION SEQUENCE");
    assert_eq!(outer[0].tag, 0x30, "SSL_SESSION is a SEQUENCE");
    der_elements(&outer[0].contents)
}

fn session_from_fields(fields: &[Tlv]) -> Vec<u8> {
    let body: Vec<u8> = fields
        .iter()
        .flat_map(|f| der_encode(f.tag, &f.contents))
        .collect();
    der_encode(0x30, &body)
}

/// Context-specific constructed tag `[n]`.
const fn context_tag(n: u8) -> u8 {
    0xa0 | n
}

/// The session's opaque ticket (field `[10]`, an OCTET STRING).
pub fn session_ticket(der: &[u8]) -> Vec<u8> {
    let fields = session_fields(der);
    let ticket = fields
        .iter()
        .find(|f| f.tag == context_tag(10))
        .expect("the session holds a ticket");
    let inner = der_elements(&ticket.contents);
    assert_eq!(inner[0].tag, 0x04, "the ticket is an OCTET STRING");
    inner[0].contents.clone()
}

/// The session with its ticket's last byte flipped: the server cannot open it.
pub fn session_with_tampered_ticket(der: &[u8]) -> Vec<u8> {
    let mut fields = session_fields(der);
    let ticket = fields
        .iter_mut()
        .find(|f| f.tag == context_tag(10))
        .expect("the session holds a ticket");
    let mut inner = der_elements(&ticket.contents);
    *inner[0].contents.last_mut().expect("non-empty ticket") ^= 1;
    ticket.contents = der_encode(inner[0].tag, &inner[0].contents);
    session_from_fields(&fields)
}

/// The session with a byte of its master key (in TLS 1.3, the ticket's
/// PSK) flipped: the ticket still opens, but the client's binder is wrong.
pub fn session_with_wrong_psk(der: &[u8]) -> Vec<u8> {
    let mut fields = session_fields(der);
    // version, ssl_version, cipher, session_id, master_key.
    let master_key = &mut fields[4];
    assert_eq!(master_key.tag, 0x04, "master_key is an OCTET STRING");
    master_key.contents[0] ^= 1;
    session_from_fields(&fields)
}

/// The session with its max_early_data (field `[15]`) set to `n`, as if the
/// ticket had carried an early_data extension allowing `n` bytes.
pub fn session_with_max_early_data(der: &[u8], n: u32) -> Vec<u8> {
    let tag = context_tag(15);
    let mut fields: Vec<Tlv> = session_fields(der)
        .into_iter()
        .filter(|f| f.tag != tag)
        .collect();
    let mut int: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    if int.first().is_none_or(|&b| b & 0x80 != 0) {
        int.insert(0, 0);
    }
    let field = Tlv {
        tag,
        contents: der_encode(0x02, &int),
    };
    // Context-tagged fields are in tag order after the universal ones.
    let at = fields
        .iter()
        .position(|f| f.tag & 0xc0 == 0x80 && f.tag > tag)
        .unwrap_or(fields.len());
    fields.insert(at, field);
    session_from_fields(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_fields_round_trip_and_early_data_is_inserted_in_order() {
        let fields = vec![
            Tlv {
                tag: 0x02,
                contents: vec![1],
            },
            Tlv {
                tag: 0x04,
                contents: vec![0x13, 0x01],
            },
            Tlv {
                tag: context_tag(14),
                contents: der_encode(0x02, &[5]),
            },
            Tlv {
                tag: context_tag(16),
                contents: der_encode(0x04, b"h2"),
            },
            Tlv {
                tag: context_tag(3),
                contents: vec![0x55; 300],
            },
        ];
        let der = session_from_fields(&fields);
        assert_eq!(session_fields(&der), fields);
        let edited = session_fields(&session_with_max_early_data(&der, 0x8000));
        assert_eq!(edited.len(), fields.len() + 1);
        assert_eq!(edited[3].tag, context_tag(15));
        assert_eq!(edited[3].contents, [0x02, 0x03, 0x00, 0x80, 0x00]);
        assert_eq!(edited[4].tag, context_tag(16));
    }
}
