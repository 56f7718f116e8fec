//! Reassembling handshake messages from handshake records.

use alloc::vec::Vec;

use crate::error::Error;
use crate::msgs::enums::HandshakeType;

/// The largest handshake message accepted (a certificate chain is the largest
/// ordinary one). Bounds the memory a peer can make us hold.
pub(crate) const MAX_HANDSHAKE_MESSAGE: usize = 64 * 1024;

/// Collects handshake record payloads and yields whole messages.
#[derive(Debug, Default)]
pub struct HandshakeJoiner {
    buf: Vec<u8>,
}

/// One complete handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHandshake {
    /// The message type.
    pub typ: HandshakeType,
    /// The whole encoding, header included, as it enters the transcript.
    pub encoded: Vec<u8>,
}

impl RawHandshake {
    /// The message body after the 4-byte header.
    pub fn body(&self) -> &[u8] {
        self.encoded.get(4..).unwrap_or_default()
    }
}

impl HandshakeJoiner {
    /// Appends the payload of one handshake record (which must not be empty).
    pub fn push(&mut self, payload: &[u8]) -> Result<(), Error> {
        if payload.is_empty() {
            return Err(Error::UnexpectedMessage("empty handshake record"));
        }
        self.buf.extend_from_slice(payload);
        Ok(())
    }

    /// True when no partial message is held: a key change may happen only then.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The type of the message being gathered, as soon as its first byte is
    /// here: the state checks it before waiting for (or decoding) the body.
    pub fn pending_type(&self) -> Option<HandshakeType> {
        self.buf.first().map(|&typ| HandshakeType::from_wire(typ))
    }

    /// The next complete message, if one has fully arrived.
    pub fn next_message(&mut self) -> Result<Option<RawHandshake>, Error> {
        let Some(&[typ, a, b, c]) = self.buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([0, a, b, c]) as usize;
        if len > MAX_HANDSHAKE_MESSAGE {
            return Err(Error::Decode("handshake message too large"));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let rest = self.buf.split_off(4 + len);
        let encoded = core::mem::replace(&mut self.buf, rest);
        Ok(Some(RawHandshake {
            typ: HandshakeType::from_wire(typ),
            encoded,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_and_coalesced_across_records() {
        let mut j = HandshakeJoiner::default();
        j.push(&[20, 0, 0, 2, 1]).unwrap();
        assert_eq!(j.next_message().unwrap(), None);
        j.push(&[2, 24, 0, 0, 1, 0]).unwrap();
        let first = j.next_message().unwrap().unwrap();
        assert_eq!(
            (first.typ, first.body()),
            (HandshakeType::Finished, &[1u8, 2][..])
        );
        let second = j.next_message().unwrap().unwrap();
        assert_eq!(
            (second.typ, second.body()),
            (HandshakeType::KeyUpdate, &[0u8][..])
        );
        assert!(j.is_empty());
    }

    #[test]
    fn huge_and_empty_are_refused() {
        let mut j = HandshakeJoiner::default();
        assert!(j.push(&[]).is_err());
        j.push(&[11, 0xff, 0xff, 0xff]).unwrap();
        assert!(j.next_message().is_err());
    }
}
