//! RESP2/RESP3: the value type, an incremental decoder with limits, and the command encoder.

mod decoder;
mod encoder;
mod value;

pub use decoder::{Decoder, Limits};
pub use encoder::{encode_command, encoded_len};
pub use value::Value;

#[cfg(test)]
mod tests;
