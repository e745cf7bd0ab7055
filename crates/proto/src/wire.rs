//! SSH wire primitives (RFC 4251 §5): `byte`, `uint32`, `uint64`, `string`.
//!
//! [`Reader`] borrows from the input so that decoded messages point into the
//! frame buffer; [`WireWrite`] appends to a `Vec<u8>`.

use crate::error::{Error, Field, Result};

/// A cursor over a message body. Every read checks bounds first.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True when everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes exactly `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(Error::Truncated(Field(field)));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// One byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.take(1, field)?[0])
    }

    /// A big-endian `uint32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A big-endian `uint64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A `string`: `uint32` length, then that many bytes.
    pub fn string(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let len = self.u32(field)? as usize;
        self.take(len, field)
    }

    /// A `string` that must be UTF-8.
    pub fn utf8(&mut self, field: &'static str) -> Result<&'a str> {
        let bytes = self.string(field)?;
        std::str::from_utf8(bytes).map_err(|_| Error::InvalidUtf8(Field(field)))
    }

    /// A `string` of exactly `N` bytes.
    pub fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let bytes = self.string(field)?;
        bytes.try_into().map_err(|_| Error::Invalid {
            field: Field(field),
            reason: "wrong length",
        })
    }

    /// Fails unless everything has been read.
    pub fn finish(&self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes(self.buf.len()))
        }
    }
}

/// Appends SSH wire primitives to a buffer.
pub trait WireWrite {
    /// One byte.
    fn put_u8(&mut self, v: u8);
    /// A big-endian `uint32`.
    fn put_u32(&mut self, v: u32);
    /// A big-endian `uint64`.
    fn put_u64(&mut self, v: u64);
    /// A `string` (length prefix, then the bytes).
    fn put_string(&mut self, v: &[u8]);
    /// Raw bytes with no length prefix.
    fn put_raw(&mut self, v: &[u8]);
}

impl WireWrite for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_string(&mut self, v: &[u8]) {
        // A string longer than u32::MAX cannot be framed; frames are capped far below.
        self.put_u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.extend_from_slice(v);
    }
    fn put_raw(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trip_and_bounds() {
        let mut buf = Vec::new();
        buf.put_string(b"hello");
        buf.put_u32(7);
        let mut r = Reader::new(&buf);
        assert_eq!(r.string("s").ok(), Some(&b"hello"[..]));
        assert_eq!(r.u32("n").ok(), Some(7));
        assert!(r.finish().is_ok());
    }

    #[test]
    fn string_longer_than_input_is_truncated_not_panic() {
        let buf = [0, 0, 0, 9, b'a'];
        let mut r = Reader::new(&buf);
        assert_eq!(r.string("blob"), Err(Error::Truncated(Field("blob"))));
    }

    #[test]
    fn fixed_rejects_wrong_length() {
        let mut buf = Vec::new();
        buf.put_string(&[1, 2, 3]);
        let mut r = Reader::new(&buf);
        assert!(matches!(r.fixed::<32>("key"), Err(Error::Invalid { .. })));
    }
}
