//! Incremental RESP decoder (stub: to be written).
use super::Value;
use crate::error::Result;
use bytes::BytesMut;

/// Limits that protect the client from hostile or broken servers.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of aggregates accepted.
    pub max_depth: usize,
    /// Longest bulk string accepted, in bytes.
    pub max_bulk_len: usize,
    /// Most elements accepted in one aggregate.
    pub max_aggregate_len: usize,
}

/// Decodes RESP2/RESP3 values from a growing buffer.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
}

impl Decoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Self {
        Decoder { limits }
    }
    /// Takes one complete value off the front of `buf`, `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, _buf: &mut BytesMut) -> Result<Option<Value>> {
        let _ = self.limits;
        Ok(None)
    }
}
