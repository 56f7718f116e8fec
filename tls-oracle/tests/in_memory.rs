//! The oracle on sessions tls-core makes with itself in memory: clean ones
//! pass, and edited ones are flagged with the right rule.

mod support;
use support::*;

use tls_core::ProtocolVersion;
use tls_tests::{client_config, server_config, KeyType};

fn steps() -> Vec<Step> {
    vec![
        Step::ClientWrites(b"ping"),
        Step::ServerWrites(b"pong"),
        Step::ClientUpdates(true),
        Step::ClientWrites(b"after update"),
        Step::ServerWrites(b"answer"),
        Step::Close,
    ]
}

#[test]
fn clean_tls13_with_key_update_passes() {
    let (rec, log) = in_memory(
        client_config(KeyType::EcdsaP256),
        server_config(KeyType::EcdsaP256),
        &steps(),
    );
    assert_clean("TLS 1.3", &rec, &log);
}

#[test]
fn clean_tls12_passes() {
    let mut client = client_config(KeyType::Rsa2048);
    client.versions = vec![ProtocolVersion::Tls12];
    let s = vec![
        Step::ClientWrites(b"ping"),
        Step::ServerWrites(b"pong"),
        Step::Close,
    ];
    let (rec, log) = in_memory(client, server_config(KeyType::Rsa2048), &s);
    assert_clean("TLS 1.2", &rec, &log);
}

// ---- Edited traces: each must be flagged with the right rule. ----

use tls_core::internal::msgs::enums::ContentType;
use tls_core::internal::observe;
use tls_core::internal::record::buffer::RecordBuffer;
use tls_core::internal::record::protect::{RecordOpener, RecordSealer};
use tls_core::CipherSuite;
use tls_tests::pcap::{Dir, Recording};

/// The records of a byte string: (header, body).
fn records(bytes: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 5 <= bytes.len() {
        let len = usize::from(u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]));
        out.push((
            bytes[at..at + 5].to_vec(),
            bytes[at + 5..at + 5 + len].to_vec(),
        ));
        at += 5 + len;
    }
    assert_eq!(at, bytes.len(), "segments hold whole records here");
    out
}

fn join(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (h, b) in records {
        let mut h = h.clone();
        h[3..5].copy_from_slice(&(b.len() as u16).to_be_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(b);
    }
    out
}

/// The server's first segment (ServerHello first) and its index.
fn server_first(rec: &Recording) -> usize {
    rec.segments
        .iter()
        .position(|(d, _)| *d == Dir::ToClient)
        .unwrap()
}

/// Rewrites the ServerHello's extension block with `edit` (the list of
/// (type, body) pairs), fixing the lengths.
fn edit_server_hello(rec: &mut Recording, edit: impl FnOnce(&mut Vec<(u16, Vec<u8>)>)) {
    let i = server_first(rec);
    let mut recs = records(&rec.segments[i].1);
    let body = &recs[0].1;
    assert_eq!(body[0], 2, "a ServerHello");
    let sh = &body[4..];
    let sid_len = usize::from(sh[34]);
    let ext_at = 34 + 1 + sid_len + 3;
    let mut exts = Vec::new();
    let mut at = ext_at + 2;
    while at < sh.len() {
        let typ = u16::from_be_bytes([sh[at], sh[at + 1]]);
        let len = usize::from(u16::from_be_bytes([sh[at + 2], sh[at + 3]]));
        exts.push((typ, sh[at + 4..at + 4 + len].to_vec()));
        at += 4 + len;
    }
    edit(&mut exts);
    let mut block = Vec::new();
    for (t, b) in &exts {
        block.extend_from_slice(&t.to_be_bytes());
        block.extend_from_slice(&(b.len() as u16).to_be_bytes());
        block.extend_from_slice(b);
    }
    let mut new_sh = sh[..ext_at].to_vec();
    new_sh.extend_from_slice(&(block.len() as u16).to_be_bytes());
    new_sh.extend_from_slice(&block);
    let mut msg = vec![2];
    msg.extend_from_slice(&(new_sh.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&new_sh);
    recs[0].1 = msg;
    rec.segments[i].1 = join(&recs);
}

/// The cipher suite of the session (from the ServerHello).
fn suite(rec: &Recording) -> CipherSuite {
    let body = &records(&rec.segments[server_first(rec)].1)[0].1;
    let sid_len = usize::from(body[4 + 34]);
    let at = 4 + 35 + sid_len;
    CipherSuite::from_wire(u16::from_be_bytes([body[at], body[at + 1]]))
}

/// The hex secret logged under `label`.
fn secret(log: &str, label: &str) -> Vec<u8> {
    let hex = log
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap()
        .split(' ')
        .nth(2)
        .unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn clean13() -> (Recording, String) {
    let mut client = client_config(KeyType::EcdsaP256);
    client.alpn_protocols = vec![b"h2".to_vec()];
    in_memory(client, server_config(KeyType::EcdsaP256), &steps())
}

fn assert_flagged(found: &[tls_oracle::Deviation], section: &str, needle: &str) {
    assert!(
        found
            .iter()
            .any(|d| d.section == section && d.to_string().contains(needle)),
        "expected [{section}] ... {needle:?}, got:\n{}",
        found
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_missing_key_share_is_flagged() {
    let (mut rec, log) = clean13();
    edit_server_hello(&mut rec, |exts| exts.retain(|(t, _)| *t != 51));
    let found = verdict(&rec, &log);
    assert_flagged(
        &found,
        "RFC 8446 §4.1.3",
        "neither key_share nor pre_shared_key",
    );
    // The transcript changed, so the Finished values no longer match.
    assert_flagged(&found, "RFC 8446 §4.4.4", "verify_data");
}

#[test]
fn an_extension_not_allowed_in_the_server_hello_is_flagged() {
    let (mut rec, log) = clean13();
    // ALPN was offered, but its answer belongs in EncryptedExtensions.
    edit_server_hello(&mut rec, |exts| exts.push((16, vec![0, 3, 2, b'h', b'2'])));
    let found = verdict(&rec, &log);
    assert_flagged(
        &found,
        "RFC 8446 §4.2",
        "application_layer_protocol_negotiation (16) is not allowed in SH",
    );
}

#[test]
fn a_message_out_of_order_is_flagged() {
    // TLS 1.2's server flight is plaintext: ServerKeyExchange moved before
    // Certificate, one record per message.
    let mut client = client_config(KeyType::EcdsaP256);
    client.versions = vec![ProtocolVersion::Tls12];
    let s = vec![Step::ClientWrites(b"ping"), Step::Close];
    let (mut rec, log) = in_memory(client, server_config(KeyType::EcdsaP256), &s);
    let i = server_first(&rec);
    let recs = records(&rec.segments[i].1);
    let mut payload = Vec::new();
    let mut rest = Vec::new();
    for (h, b) in recs {
        if h[0] == 22 {
            payload.extend_from_slice(&b);
        } else {
            rest.push((h, b));
        }
    }
    let mut msgs = Vec::new();
    let mut at = 0;
    while at + 4 <= payload.len() {
        let len = (usize::from(payload[at + 1]) << 16)
            | usize::from(u16::from_be_bytes([payload[at + 2], payload[at + 3]]));
        msgs.push(payload[at..at + 4 + len].to_vec());
        at += 4 + len;
    }
    let cert = msgs.iter().position(|m| m[0] == 11).unwrap();
    let ske = msgs.iter().position(|m| m[0] == 12).unwrap();
    msgs.swap(cert, ske);
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = msgs
        .into_iter()
        .map(|m| (vec![22, 3, 3, 0, 0], m))
        .collect();
    out.extend(rest);
    rec.segments[i].1 = join(&out);
    let found = verdict(&rec, &log);
    assert_flagged(
        &found,
        "RFC 5246 §7.3",
        "ServerKeyExchange: not expected here",
    );
}

#[test]
fn an_unprotected_record_after_the_keys_is_flagged() {
    let (mut rec, log) = clean13();
    let i = server_first(&rec);
    let mut recs = records(&rec.segments[i].1);
    let sh = recs[0].clone();
    recs.insert(recs.len(), sh);
    rec.segments[i].1 = join(&recs);
    let found = verdict(&rec, &log);
    assert_flagged(
        &found,
        "RFC 8446 §5",
        "unprotected Handshake record after keys were in use",
    );
}

#[test]
fn a_wrong_finished_is_flagged() {
    let (mut rec, log) = clean13();
    let suite = suite(&rec);
    let sec = secret(&log, "SERVER_HANDSHAKE_TRAFFIC_SECRET");
    let mut opener = RecordOpener::new(observe::tls13_key(suite, &sec).unwrap());
    let mut sealer = RecordSealer::new(observe::tls13_key(suite, &sec).unwrap());
    // The server's encrypted handshake records, opened, the last byte of the
    // last one (the end of Finished's verify_data) flipped, sealed again.
    let i = server_first(&rec);
    let recs = records(&rec.segments[i].1);
    let mut plains = Vec::new();
    for (h, b) in &recs {
        if h[0] == 23 {
            let mut body = b.clone();
            let header: [u8; 5] = h.as_slice().try_into().unwrap();
            let (typ, plain) = opener.open(&header, &mut body).unwrap();
            plains.push(Some((typ, plain.to_vec())));
        } else {
            plains.push(None);
        }
    }
    let last = plains
        .iter()
        .rposition(|p| matches!(p, Some((ContentType::Handshake, _))))
        .unwrap();
    if let Some((_, p)) = &mut plains[last] {
        *p.last_mut().unwrap() ^= 1;
    }
    let mut out = Vec::new();
    for ((h, b), p) in recs.iter().zip(&plains) {
        match p {
            Some((typ, plain)) => {
                let mut buf = RecordBuffer::new();
                sealer.seal(*typ, plain, &mut buf).unwrap();
                out.extend_from_slice(buf.as_slice());
            }
            None => {
                out.extend_from_slice(h);
                out.extend_from_slice(b);
            }
        }
    }
    rec.segments[i].1 = out;
    let found = verdict(&rec, &log);
    assert_flagged(
        &found,
        "RFC 8446 §4.4.4",
        "server -> client, Finished: verify_data does not match",
    );
}

#[test]
fn a_bad_server_key_exchange_signature_is_flagged() {
    let mut client = client_config(KeyType::EcdsaP256);
    client.versions = vec![ProtocolVersion::Tls12];
    let s = vec![Step::ClientWrites(b"ping"), Step::Close];
    let (mut rec, log) = in_memory(client, server_config(KeyType::EcdsaP256), &s);
    let i = server_first(&rec);
    let mut recs = records(&rec.segments[i].1);
    // TLS 1.2's server flight is plaintext: find ServerKeyExchange (12).
    for (h, b) in &mut recs {
        if h[0] != 22 {
            continue;
        }
        let mut at = 0;
        while at + 4 <= b.len() {
            let len = usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]))
                | (usize::from(b[at + 1]) << 16);
            if b[at] == 12 {
                b[at + 4 + len - 1] ^= 1; // inside the signature
            }
            at += 4 + len;
        }
    }
    rec.segments[i].1 = join(&recs);
    let found = verdict(&rec, &log);
    assert_flagged(
        &found,
        "RFC 8422 §5.4",
        "ServerKeyExchange: the signature does not verify",
    );
}
