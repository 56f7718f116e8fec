//! A byte buffer that stays initialised beyond its logical end, so that the
//! space after the end can be handed out as `&mut [u8]` (for a socket read
//! or for plaintext to be sealed in place) without zeroing it every time.
//!
//! Safe Rust hands out only initialised memory. A `Vec<u8>` that is cleared
//! and resized with zeros before each use pays a memset as large as the data;
//! here the `Vec`'s length is the initialised extent, which only grows (with
//! zeros, once), while the buffer's own length moves freely below it.

use alloc::vec::Vec;
use core::ops::Range;

use crate::error::Error;

/// Bytes `0..len` hold data; the `Vec`'s further bytes up to its length are
/// initialised (zeros or stale data) and reusable without zeroing.
#[derive(Debug, Default)]
pub struct RecordBuffer {
    /// The initialised memory: its length is the initialised extent.
    mem: Vec<u8>,
    /// The logical length, at most `mem.len()`.
    len: usize,
}

impl RecordBuffer {
    /// An empty buffer holding no memory.
    pub const fn new() -> Self {
        RecordBuffer {
            mem: Vec::new(),
            len: 0,
        }
    }

    /// The number of bytes of data.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no data.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes allocated.
    pub fn capacity(&self) -> usize {
        self.mem.capacity()
    }

    /// The bytes initialised (data and reusable space after it).
    pub fn initialised(&self) -> usize {
        self.mem.len()
    }

    /// The data.
    pub fn as_slice(&self) -> &[u8] {
        self.mem.get(..self.len).unwrap_or_default()
    }

    /// The data at `range`, if it lies within the data.
    pub fn get(&self, range: Range<usize>) -> Option<&[u8]> {
        self.as_slice().get(range)
    }

    /// The data at `range`, mutably, if it lies within the data.
    pub fn get_mut(&mut self, range: Range<usize>) -> Option<&mut [u8]> {
        self.mem.get_mut(..self.len)?.get_mut(range)
    }

    /// The `n` bytes after the data, to be written and then added with
    /// [`RecordBuffer::commit`]. Their content is unspecified (zeros or stale
    /// data). Zeros are written only where the initialised extent falls short.
    pub fn spare(&mut self, n: usize) -> &mut [u8] {
        let end = self.len.saturating_add(n);
        if self.mem.len() < end {
            self.mem.resize(end, 0);
        }
        self.mem.get_mut(self.len..end).unwrap_or_default()
    }

    /// Adds `n` bytes after the data (written through
    /// [`RecordBuffer::spare`]) to the data; limited to the initialised extent.
    pub fn commit(&mut self, n: usize) {
        self.len = self.len.saturating_add(n).min(self.mem.len());
    }

    /// Makes room for `additional` bytes after the data without moving the
    /// buffer again while they are appended (as `Vec::reserve`).
    pub fn reserve(&mut self, additional: usize) {
        let end = self.len.saturating_add(additional);
        self.mem.reserve(end.saturating_sub(self.mem.len()));
    }

    /// Appends `data`, reusing initialised space first; never zeroes.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        let reusable = self.mem.len() - self.len;
        let (over, beyond) = data.split_at(reusable.min(data.len()));
        if let Some(dst) = self.mem.get_mut(self.len..self.len + over.len()) {
            dst.copy_from_slice(over);
        }
        self.mem.extend_from_slice(beyond);
        self.len += data.len();
    }

    /// Appends one byte.
    pub fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    /// Shortens the data to `n` bytes (no effect if it is not longer); the
    /// memory stays initialised.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// Removes the first `n` bytes of data, moving the rest to the front.
    pub fn remove_front(&mut self, n: usize) {
        let n = n.min(self.len);
        if n > 0 {
            self.mem.copy_within(n..self.len, 0);
            self.len -= n;
        }
    }

    /// Empties the buffer, keeping its memory (and its initialised extent).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Empties the buffer and gives its memory back.
    pub fn release(&mut self) {
        *self = RecordBuffer::new();
    }
}

/// Runs a caller's `fill` on `buf`: `Ok(Ok(n))` when it wrote `n` bytes,
/// `Ok(Err(e))` with its own error, and `Error::Misuse` when it claims
/// more bytes than `buf` holds. The one place the contract of
/// `Connection::write_with` / `feed_with` fills is checked.
pub(crate) fn run_fill<E>(
    buf: &mut [u8],
    fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
) -> Result<Result<usize, E>, Error> {
    let given = buf.len();
    match fill(buf) {
        Ok(n) if n > given => Err(Error::Misuse("fill wrote more than it was given")),
        result => Ok(result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_space_is_reused_without_losing_data() {
        let mut b = RecordBuffer::new();
        assert_eq!((b.len(), b.capacity(), b.initialised()), (0, 0, 0));
        b.extend_from_slice(b"abc");
        let spare = b.spare(4);
        assert_eq!(spare, [0, 0, 0, 0]);
        spare.copy_from_slice(b"defg");
        b.commit(2);
        assert_eq!(b.as_slice(), b"abcde");
        assert_eq!(b.initialised(), 7);
        // The uncommitted bytes are still there, initialised.
        assert_eq!(b.spare(2), b"fg");
        b.push(b'x');
        assert_eq!(b.as_slice(), b"abcdex");
        // Appending across the initialised extent, into reserved room.
        b.reserve(100);
        let cap = b.capacity();
        assert!(cap >= 106);
        b.extend_from_slice(b"yz!");
        assert_eq!(b.capacity(), cap);
        assert_eq!(b.as_slice(), b"abcdexyz!");
        assert_eq!(b.initialised(), 9);
        // Committing more than is initialised is limited.
        b.commit(100);
        assert_eq!(b.len(), 9);
    }

    #[test]
    fn clear_truncate_and_remove_keep_the_initialised_extent() {
        let mut b = RecordBuffer::new();
        b.extend_from_slice(b"0123456789");
        let cap = b.capacity();
        b.remove_front(4);
        assert_eq!(b.as_slice(), b"456789");
        assert_eq!(b.get(1..3), Some(&b"56"[..]));
        assert_eq!(b.get(5..7), None);
        b.get_mut(0..1).unwrap()[0] = b'X';
        assert_eq!(b.as_slice(), b"X56789");
        b.truncate(100);
        assert_eq!(b.len(), 6);
        b.truncate(2);
        assert_eq!(b.as_slice(), b"X5");
        b.clear();
        assert!(b.is_empty());
        assert_eq!((b.initialised(), b.capacity()), (10, cap));
        // Spare space within the initialised extent is not zeroed again.
        assert_eq!(b.spare(3), b"X56");
        b.release();
        assert_eq!((b.len(), b.capacity(), b.initialised()), (0, 0, 0));
    }
}
