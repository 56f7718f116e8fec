//! A tiny strict DER reader: just enough to walk certificates, public keys
//! and private keys (definite, minimal lengths; single-byte tags).

/// Universal tag: INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// Universal tag: BIT STRING.
pub(crate) const BIT_STRING: u8 = 0x03;
/// Universal tag: OCTET STRING.
pub(crate) const OCTET_STRING: u8 = 0x04;
/// Universal tag: NULL.
pub(crate) const NULL: u8 = 0x05;
/// Universal tag: OBJECT IDENTIFIER.
pub(crate) const OID: u8 = 0x06;
/// Universal tag: SEQUENCE (constructed).
pub(crate) const SEQUENCE: u8 = 0x30;
/// Context-specific constructed tag `[0]`.
pub(crate) const CONTEXT_0: u8 = 0xa0;
/// Context-specific constructed tag `[1]`.
pub(crate) const CONTEXT_1: u8 = 0xa1;

/// A cursor over DER bytes. Every method returns `None` on malformed input;
/// callers turn that into the error that fits their context.
#[derive(Debug, Clone)]
pub(crate) struct Der<'a> {
    buf: &'a [u8],
}

/// One element: its contents and its whole encoding.
pub(crate) struct Tlv<'a> {
    pub(crate) contents: &'a [u8],
    pub(crate) encoded: &'a [u8],
}

impl<'a> Der<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Der { buf }
    }

    /// `Some(())` when every byte has been read.
    pub(crate) fn finish(&self) -> Option<()> {
        self.buf.is_empty().then_some(())
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    /// The next element, whatever its tag.
    pub(crate) fn read(&mut self) -> Option<Tlv<'a>> {
        let (&tag, rest) = self.buf.split_first()?;
        if tag & 0x1f == 0x1f {
            return None; // high tag numbers: never needed here
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return None; // indefinite or absurd
            }
            let (bytes, tail) = split(rest, n)?;
            rest = tail;
            if bytes.first() == Some(&0) {
                return None; // not minimal
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return None; // long form where short form fits
            }
            len
        };
        let (contents, tail) = split(rest, len)?;
        let header_len = self.buf.len() - rest.len();
        let (encoded, _) = split(self.buf, header_len + len)?;
        self.buf = tail;
        Some(Tlv { contents, encoded })
    }

    /// The contents of the next element, which must have tag `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.expect_tlv(tag).map(|t| t.contents)
    }

    /// The next element, which must have tag `tag`.
    pub(crate) fn expect_tlv(&mut self, tag: u8) -> Option<Tlv<'a>> {
        if self.peek_tag()? != tag {
            return None;
        }
        self.read()
    }

    /// The contents of the next element if it has tag `tag`; `Some(None)` when
    /// the next element has another tag or the input is exhausted.
    pub(crate) fn optional(&mut self, tag: u8) -> Option<Option<&'a [u8]>> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag).map(Some)
        } else {
            Some(None)
        }
    }

    /// A SEQUENCE, as a reader over its contents.
    pub(crate) fn sequence(&mut self) -> Option<Der<'a>> {
        self.expect(SEQUENCE).map(Der::new)
    }

    /// A BIT STRING with no unused bits, as its bytes.
    pub(crate) fn bit_string_bytes(&mut self) -> Option<&'a [u8]> {
        match self.expect(BIT_STRING)?.split_first()? {
            (0, bytes) => Some(bytes),
            _ => None,
        }
    }
}

fn split(buf: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (n <= buf.len()).then(|| buf.split_at(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut d = Der::new(&[0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00]);
        let t = d.read().unwrap();
        assert_eq!(
            (t.contents, t.encoded),
            (&[0xaa, 0xbb][..], &[4, 2, 0xaa, 0xbb][..])
        );
        assert_eq!(d.expect(NULL), Some(&[][..]));
        assert!(d.finish().is_some());

        let mut long = alloc::vec![0x04, 0x81, 0x80];
        long.extend_from_slice(&[7; 0x80]);
        assert_eq!(
            Der::new(&long).expect(OCTET_STRING).map(<[u8]>::len),
            Some(0x80)
        );
    }

    #[test]
    fn rejects_non_der() {
        // indefinite length, non-minimal long form, truncated, high tag, overlong
        for bad in [
            &[0x30, 0x80, 0x00, 0x00][..],
            &[0x04, 0x81, 0x01, 0xaa],
            &[0x04, 0x82, 0x00, 0x80],
            &[0x04, 0x03, 0xaa],
            &[0x1f, 0x01, 0x00],
            &[0x04, 0x85, 1, 0, 0, 0, 0],
            &[0x04],
        ] {
            assert!(Der::new(bad).read().is_none(), "{bad:02x?}");
        }
        // bit strings must have no unused bits
        assert!(Der::new(&[0x03, 0x02, 0x01, 0xfe])
            .bit_string_bytes()
            .is_none());
        assert_eq!(
            Der::new(&[0x03, 0x02, 0x00, 0xfe]).bit_string_bytes(),
            Some(&[0xfe][..])
        );
    }
}
