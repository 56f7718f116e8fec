//! Reading and writing the TLS presentation language: integers and
//! length-prefixed vectors, every length checked.

use alloc::vec::Vec;

use crate::error::Error;

/// A cursor over received bytes. Every read is bounds-checked and fails with
/// [`Error::Decode`] rather than panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Fails unless every byte has been read: trailing data is an error.
    pub fn finish(&self, what: &'static str) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::Decode(what))
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        if n > self.buf.len() {
            return Err(Error::Decode(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// A big-endian `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian 24-bit integer.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, Error> {
        let [a, b, c] = self.array(what)?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A vector with a one-byte length prefix, as a sub-reader.
    pub fn vec_u8(&mut self, what: &'static str) -> Result<Reader<'a>, Error> {
        let n = self.u8(what)? as usize;
        Ok(Reader::new(self.take(n, what)?))
    }

    /// A vector with a two-byte length prefix, as a sub-reader.
    pub fn vec_u16(&mut self, what: &'static str) -> Result<Reader<'a>, Error> {
        let n = self.u16(what)? as usize;
        Ok(Reader::new(self.take(n, what)?))
    }

    /// A vector with a three-byte length prefix, as a sub-reader.
    pub fn vec_u24(&mut self, what: &'static str) -> Result<Reader<'a>, Error> {
        let n = self.u24(what)? as usize;
        Ok(Reader::new(self.take(n, what)?))
    }
}

/// Appends a big-endian `u16`.
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian 24-bit integer (the top byte of `v` must be zero).
pub fn put_u24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

/// Appends a big-endian `u32`.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Length prefix sizes for [`put_vec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenPrefix {
    /// One byte.
    U8,
    /// Two bytes.
    U16,
    /// Three bytes.
    U24,
}

/// Appends a length-prefixed vector whose body `body` writes.
///
/// Encoders only write values they built themselves; a body too long for its
/// prefix is a bug in the caller and is truncated to the prefix's maximum rather
/// than panicking (the peer then rejects the message).
pub fn put_vec(out: &mut Vec<u8>, prefix: LenPrefix, body: impl FnOnce(&mut Vec<u8>)) {
    let width = match prefix {
        LenPrefix::U8 => 1,
        LenPrefix::U16 => 2,
        LenPrefix::U24 => 3,
    };
    let start = out.len();
    out.extend_from_slice(&[0u8; 3][..width]);
    body(out);
    let len = out.len() - start - width;
    let max = (1usize << (8 * width)) - 1;
    let len = len.min(max) as u32;
    out[start..start + width].copy_from_slice(&len.to_be_bytes()[4 - width..]);
}

/// Appends `bytes` with a length prefix.
pub fn put_bytes(out: &mut Vec<u8>, prefix: LenPrefix, bytes: &[u8]) {
    put_vec(out, prefix, |out| out.extend_from_slice(bytes));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_lengths_past_the_end() {
        let mut r = Reader::new(&[0, 3, 1, 2]);
        assert_eq!(r.vec_u16("v").err(), Some(Error::Decode("v")));
        assert_eq!(Reader::new(&[1]).u16("n").err(), Some(Error::Decode("n")));
    }

    #[test]
    fn nested_vectors_round_trip() {
        let mut out = Vec::new();
        put_vec(&mut out, LenPrefix::U24, |out| {
            put_bytes(out, LenPrefix::U8, b"ab");
            put_u16(out, 0xbeef);
        });
        assert_eq!(out, [0, 0, 5, 2, b'a', b'b', 0xbe, 0xef]);
        let mut r = Reader::new(&out);
        let mut inner = r.vec_u24("outer").unwrap();
        assert_eq!(inner.vec_u8("ab").unwrap().rest(), b"ab");
        assert_eq!(inner.u16("n").unwrap(), 0xbeef);
        inner.finish("inner").unwrap();
        r.finish("outer").unwrap();
    }
}
