//! Opening and sealing protected records, in place: TLS 1.3 (RFC 8446
//! §5.2–5.4) with the inner content type, or TLS 1.2 (RFC 5246 §6.2.3.3) with
//! the outer type in the additional data ([`RecordKey12`]). A record is sealed
//! where it is sent from: header, plaintext, content type and tag are written
//! into the outgoing [`RecordBuffer`], the plaintext either copied there
//! ([`RecordSealer::seal`]) or written there by the caller
//! ([`RecordSealer::seal_with`]).

use super::buffer::{run_fill, RecordBuffer};
use super::{HEADER_LEN, MAX_PLAINTEXT};
use crate::crypto::RecordKey12;
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
        // RFC 8446 §5.2: TLSInnerPlaintext (content, type and padding) is at
        // most 2^14 + 1 bytes; padding does not buy room past that.
        if inner.len() > MAX_PLAINTEXT + 1 {
            return Err(Error::RecordOverflow);
        }
        let Some(type_at) = inner.iter().rposition(|&b| b != 0) else {
            return Err(Error::UnexpectedMessage(
                "protected record has no content type",
            ));
        };
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

    /// Bytes before a record's plaintext: the header, and TLS 1.2 AES-GCM's
    /// explicit nonce.
    fn prefix_len(&self) -> usize {
        match &self.key {
            Key::Tls13(_) => HEADER_LEN,
            Key::Tls12(key) => HEADER_LEN + key.explicit_nonce_len(),
        }
    }

    /// Bytes after a record's plaintext: TLS 1.3's inner content type, and
    /// the tag.
    fn suffix_len(&self) -> usize {
        match &self.key {
            Key::Tls13(_) => 1 + TrafficKey::TAG_LEN,
            Key::Tls12(_) => RecordKey12::TAG_LEN,
        }
    }

    /// Appends one protected record carrying `fragment` (at most 2^14 bytes) of
    /// type `typ` to `out`: the fragment is copied once, into the place where
    /// it is encrypted.
    pub fn seal(
        &mut self,
        typ: ContentType,
        fragment: &[u8],
        out: &mut RecordBuffer,
    ) -> Result<(), Error> {
        if fragment.len() > MAX_PLAINTEXT {
            return Err(Error::Internal("record fragment too large"));
        }
        /// Placeholders for the header and nonce, and the type and tag.
        const ROOM: [u8; 32] = [0; 32];
        let (prefix, suffix) = (self.prefix_len(), self.suffix_len());
        let start = out.len();
        // Appended rather than written into `spare`, which would first zero
        // space that was never initialised; in one allocation at most.
        out.reserve(prefix + fragment.len() + suffix);
        out.extend_from_slice(ROOM.get(..prefix).unwrap_or_default());
        out.extend_from_slice(fragment);
        out.extend_from_slice(ROOM.get(..suffix).unwrap_or_default());
        let end = out.len();
        let record = out.get_mut(start..end).unwrap_or_default();
        match self.seal_record(typ, record, fragment.len()) {
            Ok(_) => Ok(()),
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// Appends one protected record of type `typ` whose plaintext `fill`
    /// writes straight into `out`, where it is encrypted: `fill` gets
    /// `min(max, 2^14)` bytes (of unspecified content) and returns how many
    /// it wrote. Nothing is sealed when it writes none or fails (its error is
    /// the inner one); more than it was given is `Error::Misuse`.
    pub fn seal_with<E>(
        &mut self,
        typ: ContentType,
        max: usize,
        out: &mut RecordBuffer,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<Result<usize, E>, Error> {
        let max = max.min(MAX_PLAINTEXT);
        let (prefix, suffix) = (self.prefix_len(), self.suffix_len());
        let region = out.spare(prefix + max + suffix);
        let n = match run_fill(
            region.get_mut(prefix..prefix + max).unwrap_or_default(),
            fill,
        )? {
            Ok(0) => return Ok(Ok(0)),
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        let record = region.get_mut(..prefix + n + suffix).unwrap_or_default();
        let len = self.seal_record(typ, record, n)?;
        out.commit(len);
        Ok(Ok(n))
    }

    /// Seals `record` in place: it holds `plain_len` bytes of plaintext after
    /// [`Self::prefix_len`] bytes, and room for [`Self::suffix_len`] after
    /// them. Writes the header, nonce, content type and tag; returns the
    /// record's length.
    fn seal_record(
        &mut self,
        typ: ContentType,
        record: &mut [u8],
        plain_len: usize,
    ) -> Result<usize, Error> {
        let seq = self.seq;
        self.seq = seq
            .checked_add(1)
            .ok_or(Error::Internal("write sequence number exhausted"))?;
        let key = match &self.key {
            Key::Tls13(key) => key,
            Key::Tls12(key) => return key.seal_in_place(seq, typ, record, plain_len),
        };
        let body_len = plain_len + 1 + TrafficKey::TAG_LEN;
        let [len_hi, len_lo] = u16::try_from(body_len)
            .map_err(|_| Error::Internal("record too large"))?
            .to_be_bytes();
        let header = [ContentType::ApplicationData.to_wire(), 3, 3, len_hi, len_lo];
        let record = record
            .get_mut(..HEADER_LEN + body_len)
            .ok_or(Error::Internal("record buffer too short"))?;
        let (head, body) = record.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&header);
        let (inner, tag_out) = body.split_at_mut(plain_len + 1);
        if let Some(last) = inner.last_mut() {
            *last = typ.to_wire();
        }
        let tag = key.seal_in_place_separate_tag(seq, &header, inner)?;
        tag_out.copy_from_slice(&tag);
        Ok(HEADER_LEN + body_len)
    }
}

/// Appends `payload` as unprotected records of type `typ`, split at 2^14 bytes.
pub fn frame_plaintext(typ: ContentType, payload: &[u8], out: &mut RecordBuffer) {
    frame_with_version(typ, [3, 3], payload, out);
}

/// Appends an initial ClientHello as handshake records carrying record
/// version TLS 1.0, which RFC 8446 §5.1 allows there "for compatibility"
/// and which old servers and middleboxes expect (as OpenSSL, BoringSSL and
/// NSS send it); every later record says TLS 1.2.
pub(crate) fn frame_initial_hello(payload: &[u8], out: &mut RecordBuffer) {
    frame_with_version(ContentType::Handshake, [3, 1], payload, out);
}

fn frame_with_version(typ: ContentType, version: [u8; 2], payload: &[u8], out: &mut RecordBuffer) {
    for fragment in payload.chunks(MAX_PLAINTEXT) {
        let [len_hi, len_lo] = (fragment.len() as u16).to_be_bytes();
        let [major, minor] = version;
        out.extend_from_slice(&[typ.to_wire(), major, minor, len_hi, len_lo]);
        out.extend_from_slice(fragment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{ALL_TLS13_SUITES, TLS13_AES_128_GCM_SHA256};
    use crate::tls12::suites::ALL_TLS12_SUITES;
    use alloc::vec;
    use alloc::vec::Vec;

    fn sealed(sealer: &mut RecordSealer, typ: ContentType, fragment: &[u8]) -> Vec<u8> {
        let mut out = RecordBuffer::new();
        sealer.seal(typ, fragment, &mut out).unwrap();
        out.as_slice().to_vec()
    }

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
            let mut wire = sealed(&mut sealer, ContentType::ApplicationData, msg);
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

    /// BoGo's LargePlaintext-TLS13-Padded-*: content within 2^14 but
    /// padding that takes TLSInnerPlaintext past 2^14 + 1 is record_overflow.
    #[test]
    fn padding_past_the_inner_plaintext_limit_overflows() {
        for (content, padding, fits) in [
            (8193, 8192, false),
            (MAX_PLAINTEXT, 1, false),
            (1, MAX_PLAINTEXT, false),
            (MAX_PLAINTEXT, 0, true),
            (1, MAX_PLAINTEXT - 1, true),
        ] {
            let (_, mut opener) = pair();
            let key = TrafficKey::from_secret(&TLS13_AES_128_GCM_SHA256, &[7u8; 32]).unwrap();
            let mut inner = vec![b'a'; content];
            inner.push(23);
            inner.resize(content + 1 + padding, 0);
            let len = u16::try_from(inner.len() + 16).unwrap();
            let header = [23, 3, 3, (len >> 8) as u8, len as u8];
            let tag = key
                .seal_in_place_separate_tag(0, &header, &mut inner)
                .unwrap();
            inner.extend_from_slice(tag.as_ref());
            let opened = opener
                .open(&header, &mut inner)
                .map(|(typ, data)| (typ, data.len()));
            if fits {
                assert_eq!(opened, Ok((ContentType::ApplicationData, content)));
            } else {
                assert_eq!(opened, Err(Error::RecordOverflow), "{content} + {padding}");
            }
        }
    }

    #[test]
    fn tampered_record_fails_and_sequence_does_not_advance() {
        let (mut sealer, mut opener) = pair();
        let mut wire = sealed(&mut sealer, ContentType::ApplicationData, b"data");
        let mut bad = wire.clone();
        bad[7] ^= 1;
        let (h, body) = split(&mut bad);
        assert_eq!(opener.open(&h, body), Err(Error::BadRecordMac));
        let (h, body) = split(&mut wire);
        assert!(opener.open(&h, body).is_ok());
    }

    /// Sealer pairs under one key, for each TLS 1.3 suite and each TLS 1.2
    /// AEAD (AES-GCM with its explicit nonce, ChaCha20 without).
    fn sealer_pairs() -> Vec<(RecordSealer, RecordSealer, RecordOpener)> {
        let mut pairs = Vec::new();
        for suite in ALL_TLS13_SUITES {
            let secret = vec![0x42u8; suite.hash.output_len()];
            let key = || TrafficKey::from_secret(suite, &secret).unwrap();
            pairs.push((
                RecordSealer::new(key()),
                RecordSealer::new(key()),
                RecordOpener::new(key()),
            ));
        }
        for suite in ALL_TLS12_SUITES.iter().take(3) {
            let key = || {
                crate::tls12::prf::record_keys(
                    crate::Side::Client,
                    suite,
                    &[5; 48],
                    &[1; 32],
                    &[2; 32],
                )
                .unwrap()
                .write
            };
            pairs.push((
                RecordSealer::tls12(key()),
                RecordSealer::tls12(key()),
                RecordOpener::tls12(key()),
            ));
        }
        pairs
    }

    #[test]
    fn seal_with_gives_the_bytes_seal_gives() {
        for (mut a, mut b, mut opener) in sealer_pairs() {
            let mut with = RecordBuffer::new();
            // Stale bytes in the spare space must not leak into the records.
            with.spare(100).fill(0xee);
            for msg in [&b"first"[..], &[0x5a; MAX_PLAINTEXT][..], b"x"] {
                let copied = sealed(&mut a, ContentType::ApplicationData, msg);
                let start = with.len();
                let n = b
                    .seal_with(ContentType::ApplicationData, msg.len(), &mut with, |buf| {
                        assert_eq!(buf.len(), msg.len());
                        buf.copy_from_slice(msg);
                        Ok::<_, ()>(msg.len())
                    })
                    .unwrap();
                assert_eq!(n, Ok(msg.len()));
                let mut wire = with.as_slice()[start..].to_vec();
                assert_eq!(wire, copied);
                let (header, body) = split(&mut wire);
                assert_eq!(
                    opener.open(&header, body).unwrap(),
                    (ContentType::ApplicationData, msg)
                );
            }
        }
    }

    #[test]
    fn seal_with_seals_only_what_fill_wrote() {
        for (mut a, mut b, _) in sealer_pairs() {
            let mut out = RecordBuffer::new();
            // More than a record is asked for: the fill gets 2^14 bytes.
            let r = b.seal_with(ContentType::ApplicationData, 1 << 20, &mut out, |buf| {
                assert_eq!(buf.len(), MAX_PLAINTEXT);
                buf[..3].copy_from_slice(b"abc");
                Ok::<_, ()>(3)
            });
            assert_eq!(r, Ok(Ok(3)));
            assert_eq!(
                out.as_slice(),
                sealed(&mut a, ContentType::ApplicationData, b"abc")
            );
            let before = out.as_slice().to_vec();
            // Nothing written, a failed fill, a fill claiming too much: no
            // record, and the sequence number does not move.
            let r = b.seal_with(ContentType::ApplicationData, 10, &mut out, |_| {
                Ok::<_, ()>(0)
            });
            assert_eq!(r, Ok(Ok(0)));
            let r = b.seal_with(ContentType::ApplicationData, 10, &mut out, |buf| {
                buf.fill(1);
                Err("would block")
            });
            assert_eq!(r, Ok(Err("would block")));
            let r = b.seal_with(ContentType::ApplicationData, 10, &mut out, |_| {
                Ok::<_, ()>(11)
            });
            assert!(matches!(r, Err(Error::Misuse(_))));
            assert_eq!(out.as_slice(), before);
            assert_eq!(b.records_sealed(), 1);
            let r = b.seal_with(ContentType::ApplicationData, 2, &mut out, |buf| {
                buf.copy_from_slice(b"de");
                Ok::<_, ()>(2)
            });
            assert_eq!(r, Ok(Ok(2)));
            let next = sealed(&mut a, ContentType::ApplicationData, b"de");
            assert_eq!(out.as_slice()[before.len()..], next);
        }
    }

    #[test]
    fn record_overhead_matches_the_protocol() {
        for (mut a, _, _) in sealer_pairs() {
            let wire = sealed(&mut a, ContentType::Handshake, b"12345");
            let explicit = match &a.key {
                Key::Tls13(_) => 1, // the inner content type
                Key::Tls12(key) => key.explicit_nonce_len(),
            };
            assert_eq!(wire.len(), HEADER_LEN + explicit + 5 + RecordKey12::TAG_LEN);
        }
    }
}
