//! The record layer fed arbitrary bytes: the deframer (cut at arbitrary
//! boundaries must give the same records as whole), handshake reassembly,
//! and the TLS 1.3 and 1.2 record openers under fixed keys. The first byte
//! picks the piece size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_core::internal::crypto::{AeadAlg, RecordKey12, TrafficKey, TLS13_AES_128_GCM_SHA256};
use tls_core::internal::msgs::alert::Alert;
use tls_core::internal::msgs::enums::ContentType;
use tls_core::internal::msgs::handshake::HandshakeMessage;
use tls_core::internal::msgs::handshake12::Message12;
use tls_core::internal::record::deframe::Deframer;
use tls_core::internal::record::join::HandshakeJoiner;
use tls_core::internal::record::protect::RecordOpener;

type Records = Vec<(ContentType, [u8; 5], Vec<u8>)>;

/// Deframes `data` fed in pieces of `piece` bytes: the records, and the
/// error that stopped it (if any).
fn deframe(data: &[u8], piece: usize) -> (Records, Option<tls_core::Error>) {
    let mut d = Deframer::default();
    let mut out = Vec::new();
    for chunk in data.chunks(piece.max(1)) {
        d.push(chunk);
        loop {
            match d.next_record() {
                Ok(Some(r)) => {
                    let body = d.body_mut(&r).to_vec();
                    assert_eq!(body.len(), r.body.len());
                    out.push((r.typ, r.header, body));
                    d.consume(&r);
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, data)) = data.split_first() else {
        return;
    };
    let (whole, whole_err) = deframe(data, data.len());
    let (pieces, pieces_err) = deframe(data, usize::from(control & 0x3f) + 1);
    assert_eq!(whole, pieces, "cutting the stream changed the records");
    assert_eq!(whole_err, pieces_err);

    let mut joiner = HandshakeJoiner::default();
    let key13 = TrafficKey::from_secret(&TLS13_AES_128_GCM_SHA256, &[7u8; 32]).expect("key");
    let mut open13 = RecordOpener::new(key13);
    let key12 = RecordKey12::new(AeadAlg::Aes128Gcm, &[7u8; 16], &[9u8; 4]).expect("key");
    let mut open12 = RecordOpener::tls12(key12);
    for (typ, header, body) in whole {
        match typ {
            ContentType::Handshake => {
                if joiner.push(&body).is_err() {
                    continue;
                }
                while let Ok(Some(msg)) = joiner.next_message() {
                    let _ = HandshakeMessage::decode(msg.typ, msg.body());
                    let _ = Message12::decode(msg.typ, msg.body());
                }
            }
            ContentType::Alert => {
                if let Ok(a) = Alert::decode(&body) {
                    assert_eq!(a.encode().as_slice(), body.as_slice());
                }
            }
            _ => {
                let mut b = body.clone();
                let _ = open13.open(&header, &mut b);
                let mut b = body;
                let _ = open12.open(&header, &mut b);
            }
        }
    }
});
