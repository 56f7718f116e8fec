//! Splitting the received byte stream into records.

use core::ops::Range;

use super::buffer::RecordBuffer;
use super::{HEADER_LEN, MAX_CIPHERTEXT};
use crate::error::Error;
use crate::msgs::enums::ContentType;

/// One complete record inside the deframer's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// The record's content type as sent (the outer type for protected records).
    pub typ: ContentType,
    /// The 5-byte header, which is the additional data for AEAD.
    pub header: [u8; HEADER_LEN],
    /// Where the body lies in [`Deframer::body_mut`]'s buffer.
    pub body: Range<usize>,
}

/// Buffers received bytes and hands out complete records, in order.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: RecordBuffer,
    /// Bytes at the front of `buf` already handed out and consumed.
    used: usize,
}

impl Deframer {
    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.used > 0 && self.used == self.buf.len() {
            self.buf.clear();
            self.used = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// `n` bytes of space after the bytes received, for the caller to write
    /// received bytes into and then add with [`Deframer::commit`] (content
    /// unspecified). Consumed bytes are dropped from the front first.
    pub fn spare(&mut self, n: usize) -> &mut [u8] {
        self.buf.remove_front(self.used);
        self.used = 0;
        self.buf.spare(n)
    }

    /// Adds the first `n` bytes written into [`Deframer::spare`] to the bytes
    /// received.
    pub fn commit(&mut self, n: usize) {
        self.buf.commit(n);
    }

    /// Bytes received but not yet consumed as records.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.used
    }

    /// The next complete record, if one has fully arrived. The caller must
    /// call [`Deframer::consume`] with it once done.
    ///
    /// A header announcing a body over 2^14+256 bytes fails at once with
    /// `RecordOverflow`, without waiting for the body.
    pub fn next_record(&mut self) -> Result<Option<RecordRef>, Error> {
        let pending = self.buf.as_slice().get(self.used..).unwrap_or_default();
        let Some(header) = pending.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(header);
        let typ = ContentType::from_wire(h[0]);
        if let ContentType::Unknown(_) = typ {
            // An SSLv2-format CLIENT-HELLO: 2-byte length with the top bit
            // set, then message type 1. SSLv2 and its hellos are refused.
            if h[0] & 0x80 != 0 && h[2] == 1 {
                return Err(Error::ProtocolVersion);
            }
            // Five printable bytes are a peer speaking a text protocol
            // (HTTP, SMTP after a failed STARTTLS, ...) in the clear: say
            // so, as that is what an operator reading the log must learn.
            if h.iter()
                .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
            {
                return Err(Error::UnexpectedMessage(
                    "plaintext where a TLS record was expected (the peer is not speaking TLS)",
                ));
            }
            return Err(Error::UnexpectedMessage("unknown record content type"));
        }
        if h[1] != 3 {
            return Err(Error::Decode("record version is not TLS"));
        }
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        if len > MAX_CIPHERTEXT {
            return Err(Error::RecordOverflow);
        }
        if pending.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let start = self.used + HEADER_LEN;
        Ok(Some(RecordRef {
            typ,
            header: h,
            body: start..start + len,
        }))
    }

    /// The buffer that [`RecordRef::body`] indexes, for in-place decryption.
    pub fn body_mut(&mut self, record: &RecordRef) -> &mut [u8] {
        self.buf.get_mut(record.body.clone()).unwrap_or_default()
    }

    /// The buffer's capacity.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives back the buffer's memory if every byte was consumed.
    pub fn release(&mut self) {
        if self.used == self.buf.len() {
            self.buf.release();
            self.used = 0;
        }
    }

    /// True when `record` (from [`Deframer::next_record`]) ends at the last
    /// byte received.
    pub fn ends_with(&self, record: &RecordRef) -> bool {
        record.body.end == self.buf.len()
    }

    /// Bytes at `range` of the buffer [`RecordRef::body`] indexes.
    pub fn slice(&self, range: Range<usize>) -> Option<&[u8]> {
        self.buf.get(range)
    }

    /// Takes the whole buffer (the caller has finished with every record in
    /// it) and continues with `empty`, which is cleared; both keep their
    /// memory and its initialised extent.
    pub fn swap_buffer(&mut self, mut empty: RecordBuffer) -> RecordBuffer {
        empty.clear();
        self.used = 0;
        core::mem::replace(&mut self.buf, empty)
    }

    /// Marks a record handed out by [`Deframer::next_record`] as consumed,
    /// compacting the buffer once most of it is consumed.
    pub fn consume(&mut self, record: &RecordRef) {
        self.used = record.body.end.min(self.buf.len());
        if self.used == self.buf.len() {
            self.buf.clear();
            self.used = 0;
        } else if self.used > self.buf.len() / 2 {
            self.buf.remove_front(self.used);
            self.used = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Moves every complete record's type and body out of `d` into `seen`.
    fn take_records(d: &mut Deframer, seen: &mut Vec<(ContentType, Vec<u8>)>) {
        while let Some(r) = d.next_record().unwrap() {
            seen.push((r.typ, d.body_mut(&r).to_vec()));
            d.consume(&r);
        }
    }

    #[test]
    fn records_arrive_byte_by_byte() {
        let wire = [22, 3, 3, 0, 2, 0xaa, 0xbb, 21, 3, 3, 0, 2, 1, 0];
        let mut d = Deframer::default();
        let mut seen = Vec::new();
        for b in wire {
            d.push(&[b]);
            take_records(&mut d, &mut seen);
        }
        assert_eq!(
            seen,
            [
                (ContentType::Handshake, vec![0xaa, 0xbb]),
                (ContentType::Alert, vec![1, 0])
            ]
        );
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn records_written_into_spare_space_arrive_in_pieces() {
        let wire = [
            22, 3, 3, 0, 2, 0xaa, 0xbb, 21, 3, 3, 0, 2, 1, 0, 23, 3, 3, 0, 1, 9,
        ];
        for piece in 1..=wire.len() {
            let mut d = Deframer::default();
            let mut seen = Vec::new();
            for chunk in wire.chunks(piece) {
                // Room to spare: only what is committed counts.
                let spare = d.spare(chunk.len() + 3);
                spare[..chunk.len()].copy_from_slice(chunk);
                spare[chunk.len()..].fill(0xff);
                d.commit(chunk.len());
                take_records(&mut d, &mut seen);
            }
            assert_eq!(
                seen,
                [
                    (ContentType::Handshake, vec![0xaa, 0xbb]),
                    (ContentType::Alert, vec![1, 0]),
                    (ContentType::ApplicationData, vec![9]),
                ],
                "pieces of {piece}"
            );
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn oversized_header_fails_before_the_body_arrives() {
        let mut d = Deframer::default();
        d.push(&[23, 3, 3, 0x41, 0x01]);
        assert_eq!(d.next_record(), Err(Error::RecordOverflow));
    }

    #[test]
    fn non_tls_bytes_are_refused() {
        let mut d = Deframer::default();
        d.push(b"GET / HTTP/1.1\r\n");
        assert!(matches!(
            d.next_record(),
            Err(Error::UnexpectedMessage(m)) if m.starts_with("plaintext where a TLS record")
        ));
        // Not text and not a content type: the generic reason.
        let mut d = Deframer::default();
        d.push(&[0x30, 3, 3, 0, 1, 0]);
        assert_eq!(
            d.next_record(),
            Err(Error::UnexpectedMessage("unknown record content type"))
        );
        let mut d = Deframer::default();
        // An SSLv2-format ClientHello offering SSL 3.0 / TLS 1.0.
        d.push(&[0x80, 0x2e, 1, 3, 1, 0, 0x15, 0, 0, 0, 0x10]);
        assert_eq!(d.next_record(), Err(Error::ProtocolVersion));
        let mut d = Deframer::default();
        d.push(&[22, 2, 0, 0, 1, 0]);
        assert_eq!(
            d.next_record(),
            Err(Error::Decode("record version is not TLS"))
        );
    }
}
