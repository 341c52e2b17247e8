//! The RESP2/RESP3 value tree every reply decodes into.

use bytes::Bytes;

/// One decoded reply. RESP2 and RESP3 share this type: RESP2 replies simply never use the
/// RESP3-only variants.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// RESP2 null bulk / null array, RESP3 `_`.
    Nil,
    /// `:` integer.
    Int(i64),
    /// RESP3 `,` double.
    Double(f64),
    /// RESP3 `#` boolean.
    Boolean(bool),
    /// RESP3 `(` big number, kept as its decimal text.
    BigNumber(Bytes),
    /// `+` simple string.
    Simple(Bytes),
    /// `$` bulk string.
    Bulk(Bytes),
    /// RESP3 `=` verbatim string: a three-byte format (`txt`, `mkd`) and the text.
    Verbatim { format: [u8; 3], text: Bytes },
    /// `-` simple error or RESP3 `!` bulk error, the full message (`MOVED 3999 127.0.0.1:7002`).
    Error(Bytes),
    /// `*` array.
    Array(Vec<Value>),
    /// RESP3 `%` map, in wire order.
    Map(Vec<(Value, Value)>),
    /// RESP3 `~` set, in wire order.
    Set(Vec<Value>),
    /// RESP3 `>` push: out-of-band data, never the reply to a command.
    Push(Vec<Value>),
}

impl Value {
    /// The bytes of a string-like value (simple, bulk, verbatim, big number).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Simple(b) | Value::Bulk(b) | Value::BigNumber(b) => Some(b),
            Value::Verbatim { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value as UTF-8 text, when it is a string-like value holding valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The value as an integer: `Int`, or a string-like value holding a decimal integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            other => other.as_str().and_then(|s| s.parse().ok()),
        }
    }

    /// The elements of an array, set or push.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(v) | Value::Set(v) | Value::Push(v) => Some(v),
            _ => None,
        }
    }

    /// True for `-`/`!` error replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_))
    }

    /// Key/value pairs of a RESP3 map, or of a RESP2 flat array `[k1, v1, k2, v2, ...]`.
    pub fn to_pairs(&self) -> Option<Vec<(&Value, &Value)>> {
        match self {
            Value::Map(m) => Some(m.iter().map(|(k, v)| (k, v)).collect()),
            Value::Array(a) if a.len() % 2 == 0 => {
                Some(a.chunks_exact(2).map(|c| (&c[0], &c[1])).collect())
            }
            _ => None,
        }
    }
}
