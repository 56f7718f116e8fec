//! The record layer, following the data: [`deframe`] splits received bytes
//! into records, [`protect`] opens and seals them, [`join`] reassembles
//! handshake messages that span records. Received and outgoing bytes are held
//! in [`buffer::RecordBuffer`]s, whose spare space can be written in place.

pub(crate) mod buffer;
pub(crate) mod deframe;
pub(crate) mod join;
pub(crate) mod protect;

/// Bytes in a record header: type, legacy version, length.
pub(crate) const HEADER_LEN: usize = 5;
/// The largest plaintext fragment a record may carry (2^14).
pub const MAX_PLAINTEXT: usize = 16384;
/// The largest protected record body TLS 1.3 allows (2^14 + 256).
pub(crate) const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 256;
