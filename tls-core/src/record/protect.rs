//! Opening and sealing protected records, in place: TLS 1.3 (RFC 8446
//! §5.2–5.4) with the inner content type, or TLS 1.2 (RFC 5246 §6.2.3.3) with
//! the outer type in the additional data ([`RecordKey12`]).

use alloc::vec::Vec;

use super::{HEADER_LEN, MAX_PLAINTEXT};
use crate::crypto::tls12::RecordKey12;
use crate::crypto::TrafficKey;
use crate::error::Error;
use crate::msgs::enums::ContentType;

/// A record key of either protocol version.
enum Key {
    Tls13(TrafficKey),
    Tls12(RecordKey12),
}

/// Decrypts the peer's records under one traffic key, counting sequence numbers.
pub struct RecordOpener {
    key: Key,
    seq: u64,
}

impl RecordOpener {
    /// An opener starting at sequence number 0.
    pub fn new(key: TrafficKey) -> Self {
        RecordOpener {
            key: Key::Tls13(key),
            seq: 0,
        }
    }

    /// A TLS 1.2 opener starting at sequence number 0.
    pub fn tls12(key: RecordKey12) -> Self {
        RecordOpener {
            key: Key::Tls12(key),
            seq: 0,
        }
    }

    /// True for TLS 1.2, where every record type is protected.
    pub fn is_tls12(&self) -> bool {
        matches!(self.key, Key::Tls12(_))
    }

    /// Decrypts `body` in place and strips the padding, giving the inner content
    /// type and the plaintext. The sequence number advances only on success, so
    /// a record that fails (e.g. skipped early data) can be dropped.
    pub fn open<'a>(
        &mut self,
        header: &[u8; HEADER_LEN],
        body: &'a mut [u8],
    ) -> Result<(ContentType, &'a [u8]), Error> {
        let seq = self.seq;
        let next = seq
            .checked_add(1)
            .ok_or(Error::Internal("read sequence number exhausted"))?;
        let key = match &self.key {
            Key::Tls13(key) => key,
            Key::Tls12(key) => {
                let typ = ContentType::from_wire(header[0]);
                let plain = key.open(seq, typ, body)?;
                self.seq = next;
                if plain.len() > MAX_PLAINTEXT {
                    return Err(Error::RecordOverflow);
                }
                return Ok((typ, plain));
            }
        };
        let inner = key.open_in_place(seq, header, body)?;
        self.seq = next;
        let Some(type_at) = inner.iter().rposition(|&b| b != 0) else {
            return Err(Error::UnexpectedMessage(
                "protected record has no content type",
            ));
        };
        if type_at > MAX_PLAINTEXT {
            return Err(Error::RecordOverflow);
        }
        let (content, rest) = inner.split_at(type_at);
        let typ = rest.first().copied().map(ContentType::from_wire);
        match typ {
            Some(ContentType::Unknown(_)) | None => {
                Err(Error::UnexpectedMessage("unknown inner content type"))
            }
            Some(typ) => Ok((typ, content)),
        }
    }
}

/// Encrypts our records under one traffic key, counting sequence numbers.
pub struct RecordSealer {
    key: Key,
    seq: u64,
}

impl RecordSealer {
    /// A sealer starting at sequence number 0.
    pub fn new(key: TrafficKey) -> Self {
        RecordSealer {
            key: Key::Tls13(key),
            seq: 0,
        }
    }

    /// A TLS 1.2 sealer starting at sequence number 0.
    pub fn tls12(key: RecordKey12) -> Self {
        RecordSealer {
            key: Key::Tls12(key),
            seq: 0,
        }
    }

    /// How many records this key has sealed.
    pub fn records_sealed(&self) -> u64 {
        self.seq
    }

    /// Appends one protected record carrying `fragment` (at most 2^14 bytes) of
    /// type `typ` to `out`, encrypting in place there.
    pub fn seal(
        &mut self,
        typ: ContentType,
        fragment: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if fragment.len() > MAX_PLAINTEXT {
            return Err(Error::Internal("record fragment too large"));
        }
        let seq = self.seq;
        self.seq = seq
            .checked_add(1)
            .ok_or(Error::Internal("write sequence number exhausted"))?;
        let key = match &self.key {
            Key::Tls13(key) => key,
            Key::Tls12(key) => return key.seal(seq, typ, fragment, out),
        };
        let body_len = fragment.len() + 1 + TrafficKey::TAG_LEN;
        let [len_hi, len_lo] = (body_len as u16).to_be_bytes();
        let header = [ContentType::ApplicationData.to_wire(), 3, 3, len_hi, len_lo];
        out.reserve(HEADER_LEN + body_len);
        out.extend_from_slice(&header);
        let start = out.len();
        out.extend_from_slice(fragment);
        out.push(typ.to_wire());
        let tag =
            key.seal_in_place_separate_tag(seq, &header, out.get_mut(start..).unwrap_or_default())?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }
}

/// Appends `payload` as unprotected records of type `typ`, split at 2^14 bytes.
pub fn frame_plaintext(typ: ContentType, payload: &[u8], out: &mut Vec<u8>) {
    for fragment in payload.chunks(MAX_PLAINTEXT) {
        let [len_hi, len_lo] = (fragment.len() as u16).to_be_bytes();
        out.extend_from_slice(&[typ.to_wire(), 3, 3, len_hi, len_lo]);
        out.extend_from_slice(fragment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::TLS13_AES_128_GCM_SHA256;
    use alloc::vec;

    fn pair() -> (RecordSealer, RecordOpener) {
        let secret = [7u8; 32];
        let key = || TrafficKey::from_secret(&TLS13_AES_128_GCM_SHA256, &secret).unwrap();
        (RecordSealer::new(key()), RecordOpener::new(key()))
    }

    fn split(wire: &mut [u8]) -> ([u8; HEADER_LEN], &mut [u8]) {
        let (h, body) = wire.split_at_mut(HEADER_LEN);
        (h.try_into().unwrap(), body)
    }

    #[test]
    fn sealed_records_open_in_sequence() {
        let (mut sealer, mut opener) = pair();
        for msg in [&b"first"[..], b"", b"third"] {
            let mut wire = Vec::new();
            sealer
                .seal(ContentType::ApplicationData, msg, &mut wire)
                .unwrap();
            let (header, body) = split(&mut wire);
            assert_eq!(
                opener.open(&header, body).unwrap(),
                (ContentType::ApplicationData, msg)
            );
        }
    }

    #[test]
    fn padding_is_stripped_and_all_zero_is_refused() {
        let (_, mut opener) = pair();
        let key = TrafficKey::from_secret(&TLS13_AES_128_GCM_SHA256, &[7u8; 32]).unwrap();
        let seal_raw = |seq: u64, inner: &[u8]| {
            let len = (inner.len() + 16) as u16;
            let header = [23, 3, 3, (len >> 8) as u8, len as u8];
            let mut body = inner.to_vec();
            let tag = key
                .seal_in_place_separate_tag(seq, &header, &mut body)
                .unwrap();
            body.extend_from_slice(tag.as_ref());
            (header, body)
        };
        let (h, mut b) = seal_raw(0, b"hi\x16\0\0\0\0");
        assert_eq!(
            opener.open(&h, &mut b).unwrap(),
            (ContentType::Handshake, &b"hi"[..])
        );
        let (h, mut b) = seal_raw(1, &[0, 0, 0]);
        assert!(matches!(
            opener.open(&h, &mut b),
            Err(Error::UnexpectedMessage(_))
        ));
    }

    #[test]
    fn oversized_content_overflows() {
        let (_, mut opener) = pair();
        let key = TrafficKey::from_secret(&TLS13_AES_128_GCM_SHA256, &[7u8; 32]).unwrap();
        let mut inner = vec![b'a'; MAX_PLAINTEXT + 1];
        inner.push(23);
        let len = (inner.len() + 16) as u16;
        let header = [23, 3, 3, (len >> 8) as u8, len as u8];
        let tag = key
            .seal_in_place_separate_tag(0, &header, &mut inner)
            .unwrap();
        inner.extend_from_slice(tag.as_ref());
        assert_eq!(opener.open(&header, &mut inner), Err(Error::RecordOverflow));
    }

    #[test]
    fn tampered_record_fails_and_sequence_does_not_advance() {
        let (mut sealer, mut opener) = pair();
        let mut wire = Vec::new();
        sealer
            .seal(ContentType::ApplicationData, b"data", &mut wire)
            .unwrap();
        let mut bad = wire.clone();
        bad[7] ^= 1;
        let (h, body) = split(&mut bad);
        assert_eq!(opener.open(&h, body), Err(Error::BadRecordMac));
        let (h, body) = split(&mut wire);
        assert!(opener.open(&h, body).is_ok());
    }
}
