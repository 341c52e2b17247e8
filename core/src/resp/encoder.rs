//! Command encoder (stub: to be written).
use bytes::{Bytes, BytesMut};

/// Appends one command as a RESP array of bulk strings.
pub fn encode_command(_args: &[Bytes], _out: &mut BytesMut) {}

/// The exact number of bytes `encode_command` appends.
pub fn encoded_len(_args: &[Bytes]) -> usize {
    0
}
