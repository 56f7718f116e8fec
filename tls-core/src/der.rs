//! A small strict DER reader for the parts of keys and certificates we parse
//! ourselves (SubjectPublicKeyInfo, SEC1 keys, extension values, names,
//! algorithm identifiers).
//!
//! Every method returns `None` on malformed input: definite minimal lengths
//! only, single-byte tags only. Callers turn `None` into the error that fits.

/// Universal tag: BOOLEAN.
pub(crate) const BOOLEAN: u8 = 0x01;
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
/// Universal tag: UTCTime.
pub(crate) const UTC_TIME: u8 = 0x17;
/// Universal tag: GeneralizedTime.
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
/// Universal tag: SEQUENCE (constructed).
pub(crate) const SEQUENCE: u8 = 0x30;
/// Universal tag: SET (constructed).
pub(crate) const SET: u8 = 0x31;

/// Context-specific primitive tag `[n]`.
pub(crate) const fn context(n: u8) -> u8 {
    0x80 | n
}

/// Context-specific constructed tag `[n]`.
pub(crate) const fn context_constructed(n: u8) -> u8 {
    0xa0 | n
}

/// A cursor over DER bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

/// One element: its tag, its contents and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) contents: &'a [u8],
    pub(crate) encoded: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// True when every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// `Some(())` when every byte has been read.
    pub(crate) fn finish(&self) -> Option<()> {
        self.buf.is_empty().then_some(())
    }

    /// The tag of the next element, if any.
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
                return None; // long form where the short form fits
            }
            len
        };
        let (contents, tail) = split(rest, len)?;
        let header_len = self.buf.len().checked_sub(rest.len())?;
        let (encoded, _) = split(self.buf, header_len.checked_add(len)?)?;
        self.buf = tail;
        Some(Tlv {
            tag,
            contents,
            encoded,
        })
    }

    /// The next element, which must have tag `tag`.
    pub(crate) fn expect_tlv(&mut self, tag: u8) -> Option<Tlv<'a>> {
        if self.peek_tag()? != tag {
            return None;
        }
        self.read()
    }

    /// The contents of the next element, which must have tag `tag`.
    pub(crate) fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.expect_tlv(tag).map(|t| t.contents)
    }

    /// The contents of the next element if it has tag `tag`; `Some(None)`
    /// when the next element has another tag or the input is exhausted.
    pub(crate) fn optional(&mut self, tag: u8) -> Option<Option<&'a [u8]>> {
        if self.peek_tag() == Some(tag) {
            self.take(tag).map(Some)
        } else {
            Some(None)
        }
    }

    /// A BIT STRING with no unused bits, as its bytes.
    pub(crate) fn bit_string_bytes(&mut self) -> Option<&'a [u8]> {
        match self.take(BIT_STRING)?.split_first()? {
            (0, bytes) => Some(bytes),
            _ => None,
        }
    }

    /// A SEQUENCE, as a reader over its contents.
    pub(crate) fn sequence(&mut self) -> Option<Reader<'a>> {
        self.take(SEQUENCE).map(Reader::new)
    }
}

/// The contents of `input` when it is exactly one element with tag `tag`.
pub(crate) fn single(input: &[u8], tag: u8) -> Option<&[u8]> {
    let mut r = Reader::new(input);
    let contents = r.take(tag)?;
    r.finish()?;
    Some(contents)
}

/// A DER BOOLEAN's value (contents must be one byte, 0x00 or 0xff).
pub(crate) fn boolean(contents: &[u8]) -> Option<bool> {
    match contents {
        [0x00] => Some(false),
        [0xff] => Some(true),
        _ => None,
    }
}

/// A non-negative, minimally encoded INTEGER that fits in a `u64`.
pub(crate) fn small_uint(contents: &[u8]) -> Option<u64> {
    let (&first, rest) = contents.split_first()?;
    if first & 0x80 != 0 {
        return None; // negative
    }
    if first == 0 && rest.first().is_some_and(|b| b & 0x80 == 0) {
        return None; // not minimal
    }
    let digits = if first == 0 && !rest.is_empty() {
        rest
    } else {
        contents
    };
    if digits.len() > 8 {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// The bytes of a BIT STRING's contents, with the count of unused bits in
/// the last byte (0..=7; 0 when empty).
pub(crate) fn bit_string(contents: &[u8]) -> Option<(u8, &[u8])> {
    let (&unused, bytes) = contents.split_first()?;
    if unused > 7 || (bytes.is_empty() && unused != 0) {
        return None;
    }
    Some((unused, bytes))
}

/// A Time (RFC 5280 §4.1.2.5) as seconds since the Unix epoch: a UTCTime
/// `YYMMDDHHMMSSZ` (YY below 50 is 20YY, else 19YY) or a GeneralizedTime
/// `YYYYMMDDHHMMSSZ`. Only these DER forms: seconds present, no fraction,
/// no offset, a real calendar date.
pub(crate) fn time(t: Tlv<'_>) -> Option<i64> {
    match t.tag {
        UTC_TIME => date_time(t.contents, 2),
        GENERALIZED_TIME => date_time(t.contents, 4),
        _ => None,
    }
}

/// A GeneralizedTime's contents (`YYYYMMDDHHMMSSZ`) as seconds since the epoch.
pub(crate) fn generalized_time(contents: &[u8]) -> Option<i64> {
    date_time(contents, 4)
}

/// `year_digits` digits of year, then month, day, hour, minute, second (two
/// digits each) and `Z`.
fn date_time(s: &[u8], year_digits: usize) -> Option<i64> {
    let digits = match s {
        [d @ .., b'Z'] if d.len() == year_digits + 10 => d,
        _ => return None,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 4 ASCII digits per field: no overflow.
    let num = |start: usize, len: usize| -> Option<i64> {
        let field = digits.get(start..start.checked_add(len)?)?;
        Some(
            field
                .iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
        )
    };
    let mut year = num(0, year_digits)?;
    if year_digits == 2 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    let field = |i: usize| num(year_digits + 2 * i, 2);
    let (month, day) = (field(0)?, field(1)?);
    let (hour, minute, second) = (field(2)?, field(3)?, field(4)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 of the proleptic Gregorian date (years counted
    // from March so the leap day ends the year).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

fn split(buf: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (n <= buf.len()).then(|| buf.split_at(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_der_reader_basics() {
        let mut r = Reader::new(&[0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00]);
        let t = r.read().unwrap();
        assert_eq!((t.tag, t.contents), (0x04, &[0xaa, 0xbb][..]));
        assert_eq!(t.encoded, &[4, 2, 0xaa, 0xbb]);
        assert_eq!(r.take(NULL), Some(&[][..]));
        assert!(r.finish().is_some());
        for bad in [
            &[0x30, 0x80, 0x00, 0x00][..],
            &[0x04, 0x81, 0x01, 0xaa],
            &[0x04, 0x82, 0x00, 0x80],
            &[0x04, 0x03, 0xaa],
            &[0x1f, 0x01, 0x00],
            &[0x04],
        ] {
            assert!(Reader::new(bad).read().is_none(), "{bad:02x?}");
        }
    }

    #[test]
    fn x509_der_integers_and_booleans() {
        assert_eq!(small_uint(&[0]), Some(0));
        assert_eq!(small_uint(&[0x00, 0x80]), Some(128));
        assert_eq!(small_uint(&[0x00, 0x7f]), None);
        assert_eq!(small_uint(&[0x80]), None);
        assert_eq!(small_uint(&[]), None);
        assert_eq!(small_uint(&[1; 9]), None);
        assert_eq!(boolean(&[0xff]), Some(true));
        assert_eq!(boolean(&[0x01]), None);
        assert_eq!(bit_string(&[0x08, 0xff]), None);
        assert_eq!(bit_string(&[0x01]), None);
        assert_eq!(bit_string(&[0x00]), Some((0, &[][..])));
    }

    #[test]
    fn reads_short_and_long_lengths() {
        let mut d = Reader::new(&[0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00]);
        let t = d.read().unwrap();
        assert_eq!(
            (t.contents, t.encoded),
            (&[0xaa, 0xbb][..], &[4, 2, 0xaa, 0xbb][..])
        );
        assert_eq!(d.take(NULL), Some(&[][..]));
        assert!(d.finish().is_some());

        let mut long = alloc::vec![0x04, 0x81, 0x80];
        long.extend_from_slice(&[7; 0x80]);
        assert_eq!(
            Reader::new(&long).take(OCTET_STRING).map(<[u8]>::len),
            Some(0x80)
        );
    }

    #[test]
    fn x509_der_times() {
        let utc = |s: &[u8]| {
            time(Tlv {
                tag: UTC_TIME,
                contents: s,
                encoded: s,
            })
        };
        assert_eq!(generalized_time(b"19700101000000Z"), Some(0));
        assert_eq!(generalized_time(b"20260301120000Z"), Some(1_772_366_400));
        assert_eq!(generalized_time(b"99991231235959Z"), Some(253_402_300_799));
        assert_eq!(utc(b"700101000000Z"), Some(0));
        assert_eq!(utc(b"500101000000Z"), Some(-631_152_000));
        assert_eq!(utc(b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(generalized_time(b"20240229000000Z"), Some(1_709_164_800));
        for bad in [
            &b"20230229000000Z"[..],
            b"21000229000000Z",
            b"20260431000000Z",
            b"20260301120000",
            b"20261301120000Z",
            b"20260001120000Z",
            b"20260300120000Z",
            b"20260301240000Z",
            b"20260301126000Z",
            b"20260301120060Z",
            b"2026030112000.5Z",
            b"20260301120000.5Z",
            b"20260301120000+0100",
            b"-2026030112000Z",
            b"",
        ] {
            assert_eq!(generalized_time(bad), None, "{bad:?}");
        }
        assert_eq!(utc(b"7001010000Z"), None, "UTCTime without seconds");
        assert_eq!(
            utc(b"20260301120000Z"),
            None,
            "four-digit year in a UTCTime"
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
            assert!(Reader::new(bad).read().is_none(), "{bad:02x?}");
        }
        // bit strings must have no unused bits
        assert!(Reader::new(&[0x03, 0x02, 0x01, 0xfe])
            .bit_string_bytes()
            .is_none());
        assert_eq!(
            Reader::new(&[0x03, 0x02, 0x00, 0xfe]).bit_string_bytes(),
            Some(&[0xfe][..])
        );
    }
}
