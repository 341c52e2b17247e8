//! Topology tests. The fixtures are raw replies captured from a redis-server 7.0.15 cluster
//! (3 primaries, 3 replicas on 127.0.0.1:30001-30006), in RESP2 and RESP3, healthy, after a
//! failover (30003 killed, 30006 promoted), and with hostname / unknown endpoints configured.

mod model;
mod parse;

use bytes::Bytes;

use crate::resp::Value;

const SHARDS2: &[u8] = include_bytes!("fixtures/shards2.resp");
const SHARDS3: &[u8] = include_bytes!("fixtures/shards3.resp");
const SHARDS3_FAILOVER: &[u8] = include_bytes!("fixtures/shards3_failover.resp");
const SHARDS2_HOSTNAME: &[u8] = include_bytes!("fixtures/shards2_hostname.resp");
const SHARDS2_UNKNOWN: &[u8] = include_bytes!("fixtures/shards2_unknown.resp");
const SLOTS2: &[u8] = include_bytes!("fixtures/slots2.resp");
const SLOTS3: &[u8] = include_bytes!("fixtures/slots3.resp");
const SLOTS3_HOSTNAME: &[u8] = include_bytes!("fixtures/slots3_hostname.resp");
const SLOTS2_UNKNOWN: &[u8] = include_bytes!("fixtures/slots2_unknown.resp");

/// Decodes one complete RESP2/RESP3 value. A test-only reader for trusted fixtures (the real
/// decoder lives in `resp`): it panics on anything it does not expect.
fn resp(input: &[u8]) -> Value {
    let mut pos = 0;
    let v = read(input, &mut pos);
    assert_eq!(pos, input.len(), "trailing bytes in fixture");
    v
}

fn read(input: &[u8], pos: &mut usize) -> Value {
    let kind = input[*pos];
    let end = *pos + input[*pos..].windows(2).position(|w| w == b"\r\n").unwrap();
    let line = std::str::from_utf8(&input[*pos + 1..end]).unwrap();
    *pos = end + 2;
    let bytes = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    match kind {
        b'+' => Value::Simple(bytes(line)),
        b'-' => Value::Error(bytes(line)),
        b':' => Value::Int(line.parse().unwrap()),
        b'_' => Value::Nil,
        b'#' => Value::Boolean(line == "t"),
        b'$' | b'=' | b'!' => {
            let len: i64 = line.parse().unwrap();
            if len < 0 {
                return Value::Nil;
            }
            let data = Bytes::copy_from_slice(&input[*pos..*pos + len as usize]);
            *pos += len as usize + 2;
            match kind {
                b'$' => Value::Bulk(data),
                b'!' => Value::Error(data),
                _ => Value::Verbatim {
                    format: data[..3].try_into().unwrap(),
                    text: data.slice(4..),
                },
            }
        }
        b'*' | b'~' | b'>' => {
            let len: i64 = line.parse().unwrap();
            if len < 0 {
                return Value::Nil;
            }
            let items = (0..len).map(|_| read(input, pos)).collect();
            match kind {
                b'*' => Value::Array(items),
                b'~' => Value::Set(items),
                _ => Value::Push(items),
            }
        }
        b'%' => {
            let len: usize = line.parse().unwrap();
            Value::Map(
                (0..len)
                    .map(|_| (read(input, pos), read(input, pos)))
                    .collect(),
            )
        }
        other => panic!("unexpected RESP type byte {other:?}"),
    }
}

fn bulk(s: &str) -> Value {
    Value::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn int(n: i64) -> Value {
    Value::Int(n)
}

fn arr(items: Vec<Value>) -> Value {
    Value::Array(items)
}

/// A RESP2-style map: a flat array of key, value, key, value.
fn flat(pairs: Vec<(&str, Value)>) -> Value {
    Value::Array(pairs.into_iter().flat_map(|(k, v)| [bulk(k), v]).collect())
}

/// A RESP3 map.
fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (bulk(k), v)).collect())
}
