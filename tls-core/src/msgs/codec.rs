//! Reading and writing the TLS presentation language: integers and
//! length-prefixed vectors, every length checked.
//!
//! A vector's rule (`VecRule`: prefix width, floor, error name) and a
//! list's rule (`ListElement`, on the element type) are each declared once,
//! next to the type or field they describe; `read_list` and `write_list`
//! apply them, so no decoder restates a width or an emptiness check.

use alloc::vec::Vec;

use crate::error::Error;

/// The capacity a message is encoded into at first: most handshake messages
/// fit, so the buffer is allocated once rather than grown byte by byte
/// (a certificate chain grows it a few times).
pub(crate) const ENCODE_CAPACITY: usize = 512;

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

    /// Every byte not yet read, leaving the reader empty.
    pub fn take_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
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
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian `u32`.
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Length prefix sizes for [`put_vec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LenPrefix {
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
pub(crate) fn put_vec(out: &mut Vec<u8>, prefix: LenPrefix, body: impl FnOnce(&mut Vec<u8>)) {
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
pub(crate) fn put_bytes(out: &mut Vec<u8>, prefix: LenPrefix, bytes: &[u8]) {
    put_vec(out, prefix, |out| out.extend_from_slice(bytes));
}

/// The rule of one length-prefixed vector, as the RFCs write
/// `T name<floor..ceiling>`: the width of its length prefix, the fewest bytes
/// its body may hold, and the name its errors carry.
///
/// Every vector it refuses (a length past the end of the input, a body
/// shorter than `min`) is [`Error::Decode`] with that name, so the alert is
/// `decode_error`. A rule is declared once, next to the type or field it
/// describes, and both directions go through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VecRule {
    prefix: LenPrefix,
    min: usize,
    what: &'static str,
}

impl VecRule {
    /// A vector that may be empty (`<0..2^k-1>`).
    pub(crate) const fn new(prefix: LenPrefix, what: &'static str) -> Self {
        VecRule::at_least(prefix, 0, what)
    }

    /// A vector of at least one byte (`<1..2^k-1>`).
    pub(crate) const fn non_empty(prefix: LenPrefix, what: &'static str) -> Self {
        VecRule::at_least(prefix, 1, what)
    }

    /// A vector of at least `min` bytes (`<min..2^k-1>`).
    pub(crate) const fn at_least(prefix: LenPrefix, min: usize, what: &'static str) -> Self {
        VecRule { prefix, min, what }
    }

    /// The name the vector's errors carry.
    pub(crate) const fn what(&self) -> &'static str {
        self.what
    }

    /// The error for a malformed vector.
    pub(crate) const fn error(&self) -> Error {
        Error::Decode(self.what)
    }

    /// The vector's body as a sub-reader, its length checked against the
    /// input and against `min`.
    pub(crate) fn body<'a>(&self, r: &mut Reader<'a>) -> Result<Reader<'a>, Error> {
        let body = match self.prefix {
            LenPrefix::U8 => r.vec_u8(self.what),
            LenPrefix::U16 => r.vec_u16(self.what),
            LenPrefix::U24 => r.vec_u24(self.what),
        }?;
        if body.rest().len() < self.min {
            return Err(self.error());
        }
        Ok(body)
    }

    /// The vector's body as bytes, copied out.
    pub(crate) fn read_bytes(&self, r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
        Ok(self.body(r)?.rest().to_vec())
    }

    /// Appends the vector whose body `body` writes (see [`put_vec`]).
    pub(crate) fn write_with(&self, out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
        put_vec(out, self.prefix, body);
    }

    /// Appends `bytes` as the vector's body.
    pub(crate) fn write_bytes(&self, out: &mut Vec<u8>, bytes: &[u8]) {
        put_bytes(out, self.prefix, bytes);
    }
}

/// One kind of element of a length-prefixed list, with the list's wire rule
/// declared once here instead of at every place the list is read or written
/// (the idea of rustls's `TlsListElement`).
///
/// `Item` is the value a list holds; it is `Self` for the wire types, and a
/// plain type (such as `Vec<u8>`) when `Self` is a marker that names one
/// kind of opaque element (an ALPN name, a certificate).
pub(crate) trait ListElement {
    /// The decoded value of one element.
    type Item;
    /// The rule of the list as a whole: prefix width, whether it may be empty,
    /// and the name of its [`Error::Decode`].
    const LIST: VecRule;
    /// The encoded size of every element when they all have the same one: a
    /// list whose length is not a multiple of it is refused with the list's
    /// error.
    const FIXED_SIZE: Option<usize> = None;

    /// Decodes one element.
    fn read(r: &mut Reader<'_>) -> Result<Self::Item, Error>;

    /// Appends one element.
    fn write(item: &Self::Item, out: &mut Vec<u8>);
}

/// Decodes a list of `T` by `T`'s rule; every element must decode and the
/// list's body must be read to its end.
pub(crate) fn read_list<T: ListElement>(r: &mut Reader<'_>) -> Result<Vec<T::Item>, Error> {
    let mut body = T::LIST.body(r)?;
    let mut out = Vec::new();
    if let Some(size) = T::FIXED_SIZE {
        let len = body.rest().len();
        if len.checked_rem(size) != Some(0) {
            return Err(T::LIST.error());
        }
        out.reserve(len.checked_div(size).unwrap_or(0));
    }
    while !body.is_empty() {
        out.push(T::read(&mut body)?);
    }
    Ok(out)
}

/// Appends a list of `T` by `T`'s rule.
pub(crate) fn write_list<T: ListElement>(out: &mut Vec<u8>, items: &[T::Item]) {
    T::LIST.write_with(out, |out| {
        for item in items {
            T::write(item, out);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    /// Two-byte elements in a non-empty u16-prefixed list.
    struct Pair;

    impl ListElement for Pair {
        type Item = u16;
        const LIST: VecRule = VecRule::non_empty(LenPrefix::U16, "pairs");
        const FIXED_SIZE: Option<usize> = Some(2);

        fn read(r: &mut Reader<'_>) -> Result<u16, Error> {
            r.u16("pair")
        }

        fn write(item: &u16, out: &mut Vec<u8>) {
            put_u16(out, *item)
        }
    }

    /// Non-empty u8-prefixed names in a u24-prefixed list that may be empty.
    struct Name;

    impl Name {
        const NAME: VecRule = VecRule::non_empty(LenPrefix::U8, "name");
    }

    impl ListElement for Name {
        type Item = Vec<u8>;
        const LIST: VecRule = VecRule::new(LenPrefix::U24, "names");

        fn read(r: &mut Reader<'_>) -> Result<Vec<u8>, Error> {
            Self::NAME.read_bytes(r)
        }

        fn write(item: &Vec<u8>, out: &mut Vec<u8>) {
            Self::NAME.write_bytes(out, item)
        }
    }

    fn pairs(bytes: &[u8]) -> Result<Vec<u16>, Error> {
        let mut r = Reader::new(bytes);
        let list = read_list::<Pair>(&mut r)?;
        r.finish("after pairs")?;
        Ok(list)
    }

    fn names(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let mut r = Reader::new(bytes);
        let list = read_list::<Name>(&mut r)?;
        r.finish("after names")?;
        Ok(list)
    }

    #[test]
    fn list_rules_come_from_the_element_type() {
        assert_eq!(pairs(&[0, 4, 0, 1, 0xbe, 0xef]), Ok(vec![1, 0xbeef]));
        // Empty where the rule refuses it, and where it allows it.
        assert_eq!(pairs(&[0, 0]), Err(Error::Decode("pairs")));
        assert_eq!(names(&[0, 0, 0]), Ok(vec![]));
        // A length that is not a multiple of the element size.
        assert_eq!(pairs(&[0, 3, 0, 1, 2]), Err(Error::Decode("pairs")));
        // A prefix longer than the input, or cut short.
        assert_eq!(pairs(&[0, 4, 0, 1]), Err(Error::Decode("pairs")));
        assert_eq!(pairs(&[0]), Err(Error::Decode("pairs")));
        assert_eq!(names(&[0, 0, 3, 1, b'a']), Err(Error::Decode("names")));
        // Bytes inside the list that do not make a whole element.
        assert_eq!(names(&[0, 0, 3, 1, b'a', 5]), Err(Error::Decode("name")));
        // An element that breaks its own rule.
        assert_eq!(names(&[0, 0, 1, 0]), Err(Error::Decode("name")));
        // Bytes after the list are the caller's to refuse.
        assert_eq!(pairs(&[0, 2, 0, 1, 9]), Err(Error::Decode("after pairs")));
    }

    #[test]
    fn vector_floors_are_checked() {
        let rule = VecRule::at_least(LenPrefix::U8, 3, "three");
        assert_eq!(
            rule.read_bytes(&mut Reader::new(&[2, 1, 2])),
            Err(Error::Decode("three"))
        );
        assert_eq!(
            rule.read_bytes(&mut Reader::new(&[3, 1, 2, 3])),
            Ok(vec![1, 2, 3])
        );
        let mut out = Vec::new();
        rule.write_bytes(&mut out, b"abc");
        assert_eq!(out, [3, b'a', b'b', b'c']);
    }

    proptest! {
        #[test]
        fn lists_round_trip(
            v in prop::collection::vec(any::<u16>(), 1..64),
            n in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..8), 0..16),
        ) {
            let mut out = Vec::new();
            write_list::<Pair>(&mut out, &v);
            write_list::<Name>(&mut out, &n);
            let mut r = Reader::new(&out);
            prop_assert_eq!(read_list::<Pair>(&mut r).unwrap(), v);
            prop_assert_eq!(read_list::<Name>(&mut r).unwrap(), n);
            prop_assert!(r.is_empty());
        }

        /// Whatever a list decoder accepts re-encodes to the bytes it read.
        #[test]
        fn accepted_lists_re_encode(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            let mut r = Reader::new(&bytes);
            if let Ok(list) = read_list::<Name>(&mut r) {
                let used = bytes.len() - r.rest().len();
                let mut out = Vec::new();
                write_list::<Name>(&mut out, &list);
                prop_assert_eq!(&out[..], &bytes[..used]);
            }
        }
    }

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
