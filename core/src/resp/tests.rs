//! Decoder and encoder tests: round trips, incremental feeding, truncation at every byte.
//! Limits and malformed input are in `tests/limits.rs`, the fuzz loop in `tests/fuzz.rs`.

mod fuzz;
mod limits;

use super::{encode_command, encoded_len, Decoder, Limits, Value};
use crate::error::Error;
use bytes::{Bytes, BytesMut};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Every value decoded from `input` in one go, then the error that stopped decoding, if any.
fn decode_all_with(limits: Limits, input: &[u8]) -> (Vec<Value>, Option<Error>, usize) {
    let mut dec = Decoder::new(limits);
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        let before = buf.len();
        match dec.decode(&mut buf) {
            Ok(Some(v)) => {
                assert!(buf.len() < before, "a value must consume bytes");
                out.push(v);
            }
            Ok(None) => {
                assert_eq!(
                    buf.len(),
                    before,
                    "Ok(None) must leave the buffer untouched"
                );
                return (out, None, buf.len());
            }
            Err(e) => return (out, Some(e), buf.len()),
        }
    }
}

fn decode_all(input: &[u8]) -> (Vec<Value>, Option<Error>, usize) {
    decode_all_with(Limits::default(), input)
}

/// The same, feeding one byte at a time into one decoder.
fn decode_bytewise(limits: Limits, input: &[u8]) -> (Vec<Value>, Option<Error>, usize) {
    let mut dec = Decoder::new(limits);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for &byte in input {
        buf.extend_from_slice(&[byte]);
        loop {
            let snapshot = buf.clone();
            match dec.decode(&mut buf) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => {
                    assert_eq!(buf, snapshot, "Ok(None) must leave the buffer untouched");
                    break;
                }
                Err(e) => return (out, Some(e), buf.len()),
            }
        }
    }
    (out, None, buf.len())
}

/// Exactly one value and nothing left over.
fn decode_one(input: &[u8]) -> Value {
    let (mut values, error, left) = decode_all(input);
    assert!(error.is_none(), "{input:?}: {error:?}");
    assert_eq!((values.len(), left), (1, 0), "{input:?}: {values:?}");
    values.remove(0)
}

/// Test-only RESP3 writer, used to check that every variant survives a round trip.
fn write_value(v: &Value, out: &mut Vec<u8>) {
    fn line(out: &mut Vec<u8>, ty: u8, body: &[u8]) {
        out.push(ty);
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    fn bulk(out: &mut Vec<u8>, ty: u8, prefix: &[u8], payload: &[u8]) {
        let len = prefix.len() + payload.len();
        line(out, ty, len.to_string().as_bytes());
        out.extend_from_slice(prefix);
        out.extend_from_slice(payload);
        out.extend_from_slice(b"\r\n");
    }
    fn items(out: &mut Vec<u8>, ty: u8, vs: &[Value]) {
        line(out, ty, vs.len().to_string().as_bytes());
        vs.iter().for_each(|v| write_value(v, out));
    }
    match v {
        Value::Nil => line(out, b'_', b""),
        Value::Int(i) => line(out, b':', i.to_string().as_bytes()),
        Value::Double(d) => line(out, b',', d.to_string().as_bytes()),
        Value::Boolean(t) => line(out, b'#', if *t { b"t" } else { b"f" }),
        Value::BigNumber(n) => line(out, b'(', n),
        Value::Simple(s) => line(out, b'+', s),
        Value::Error(e) => bulk(out, b'!', b"", e),
        Value::Bulk(s) => bulk(out, b'$', b"", s),
        Value::Verbatim { format, text } => bulk(out, b'=', &[&format[..], b":"].concat(), text),
        Value::Array(vs) => items(out, b'*', vs),
        Value::Set(vs) => items(out, b'~', vs),
        Value::Push(vs) => items(out, b'>', vs),
        Value::Map(pairs) => {
            line(out, b'%', pairs.len().to_string().as_bytes());
            for (k, v) in pairs {
                write_value(k, out);
                write_value(v, out);
            }
        }
    }
}

/// Sample frames with the value each decodes to, covering every type byte.
fn samples() -> Vec<(&'static [u8], Value)> {
    use Value::*;
    vec![
        (b"+OK\r\n", Simple(b("OK"))),
        (b"+\r\n", Simple(b(""))),
        (b"-ERR unknown command\r\n", Error(b("ERR unknown command"))),
        (b":0\r\n", Int(0)),
        (b":-42\r\n", Int(-42)),
        (b":9223372036854775807\r\n", Int(i64::MAX)),
        (b":-9223372036854775808\r\n", Int(i64::MIN)),
        (b"$5\r\nhello\r\n", Bulk(b("hello"))),
        (b"$0\r\n\r\n", Bulk(b(""))),
        (b"$4\r\na\r\nb\r\n", Bulk(b("a\r\nb"))),
        (b"$-1\r\n", Nil),
        (b"*-1\r\n", Nil),
        (b"_\r\n", Nil),
        (b"*0\r\n", Array(vec![])),
        (
            b"*2\r\n$1\r\na\r\n:1\r\n",
            Array(vec![Bulk(b("a")), Int(1)]),
        ),
        (b",1.5\r\n", Double(1.5)),
        (b",-0.25\r\n", Double(-0.25)),
        (b",10\r\n", Double(10.0)),
        (b",1e3\r\n", Double(1000.0)),
        (b",inf\r\n", Double(f64::INFINITY)),
        (b",-inf\r\n", Double(f64::NEG_INFINITY)),
        (b"#t\r\n", Boolean(true)),
        (b"#f\r\n", Boolean(false)),
        (
            b"(3492890328409238509324850943850943825024385\r\n",
            BigNumber(b("3492890328409238509324850943850943825024385")),
        ),
        (b"(-12\r\n", BigNumber(b("-12"))),
        (
            b"!21\r\nSYNTAX invalid syntax\r\n",
            Error(b("SYNTAX invalid syntax")),
        ),
        (
            b"=15\r\ntxt:Some string\r\n",
            Verbatim {
                format: *b"txt",
                text: b("Some string"),
            },
        ),
        (
            b"=4\r\nmkd:\r\n",
            Verbatim {
                format: *b"mkd",
                text: b(""),
            },
        ),
        (
            b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
            Map(vec![
                (Simple(b("first")), Int(1)),
                (Simple(b("second")), Int(2)),
            ]),
        ),
        (b"%0\r\n", Map(vec![])),
        (b"~2\r\n+a\r\n:2\r\n", Set(vec![Simple(b("a")), Int(2)])),
        (
            b">3\r\n+message\r\n+chan\r\n$5\r\nhello\r\n",
            Push(vec![
                Simple(b("message")),
                Simple(b("chan")),
                Bulk(b("hello")),
            ]),
        ),
        (
            b"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n\
              *2\r\n:2039123\r\n:9543892\r\n",
            Array(vec![Int(2039123), Int(9543892)]),
        ),
        (b"|0\r\n:5\r\n", Int(5)),
        (
            b"*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n|1\r\n+a\r\n*1\r\n_\r\n:2\r\n",
            Array(vec![Int(1), Int(2)]),
        ),
        (
            b"*3\r\n*1\r\n%1\r\n~0\r\n>0\r\n_\r\n*2\r\n#t\r\n$-1\r\n",
            Array(vec![
                Array(vec![Map(vec![(Set(vec![]), Push(vec![]))])]),
                Nil,
                Array(vec![Boolean(true), Nil]),
            ]),
        ),
    ]
}

#[test]
fn samples_decode_to_expected_values() {
    for (frame, expected) in samples() {
        assert_eq!(decode_one(frame), expected, "{:?}", frame.escape_ascii());
    }
}

#[test]
fn nan_double() {
    for frame in [&b",nan\r\n"[..], b",-nan\r\n", b",NaN\r\n"] {
        match decode_one(frame) {
            Value::Double(d) => assert!(d.is_nan()),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn every_type_round_trips_through_the_writer() {
    for (_, value) in samples() {
        let mut wire = Vec::new();
        write_value(&value, &mut wire);
        assert_eq!(decode_one(&wire), value, "{:?}", wire.escape_ascii());
    }
}

#[test]
fn bulk_payloads_share_the_frame_without_copying() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let value = Decoder::default().decode(&mut buf).unwrap().unwrap();
    let Value::Array(items) = value else { panic!() };
    let Value::Bulk(foo) = &items[0] else {
        panic!()
    };
    assert_eq!(foo.as_ptr() as usize, start + 8);
}

fn composite_stream() -> Vec<u8> {
    let mut stream = Vec::new();
    for (frame, _) in samples() {
        stream.extend_from_slice(frame);
    }
    stream
}

#[test]
fn one_buffer_holding_many_frames_yields_them_in_order() {
    let (values, error, left) = decode_all(&composite_stream());
    assert!(error.is_none());
    assert_eq!(left, 0);
    let expected: Vec<Value> = samples().into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, expected);
}

#[test]
fn byte_by_byte_feeding_gives_the_same_values() {
    let stream = composite_stream();
    let (values, error, left) = decode_bytewise(Limits::default(), &stream);
    assert!(error.is_none());
    assert_eq!(left, 0);
    assert_eq!(values, decode_all(&stream).0);
}

#[test]
fn truncation_at_every_byte_needs_more_then_decodes() {
    for (frame, expected) in samples() {
        for cut in 0..frame.len() {
            let mut dec = Decoder::default();
            let mut buf = BytesMut::from(&frame[..cut]);
            assert_eq!(
                dec.decode(&mut buf).unwrap(),
                None,
                "{frame:?} cut at {cut}"
            );
            assert_eq!(&buf[..], &frame[..cut], "buffer touched");
            // The same decoder resumes once the rest arrives.
            buf.extend_from_slice(&frame[cut..]);
            assert_eq!(dec.decode(&mut buf).unwrap(), Some(expected.clone()));
            assert!(buf.is_empty());
            assert_eq!(dec.decode(&mut buf).unwrap(), None);
        }
    }
}

#[test]
fn a_partial_second_frame_stays_in_the_buffer() {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"+OK\r\n*2\r\n:1\r\n"[..]);
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(Value::Simple(b("OK"))));
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    assert_eq!(&buf[..], b"*2\r\n:1\r\n");
    buf.extend_from_slice(b":2\r\n+next");
    let two = Value::Array(vec![Value::Int(1), Value::Int(2)]);
    assert_eq!(dec.decode(&mut buf).unwrap(), Some(two));
    assert_eq!(&buf[..], b"+next");
}

#[test]
fn a_large_bulk_in_small_chunks_is_not_reparsed() {
    let payload = vec![b'x'; 1 << 20];
    let mut wire = b"$1048576\r\n".to_vec();
    wire.extend_from_slice(&payload);
    wire.extend_from_slice(b"\r\n");
    let mut dec = Decoder::default();
    let mut buf = BytesMut::new();
    let mut got = None;
    for chunk in wire.chunks(100) {
        buf.extend_from_slice(chunk);
        if let Some(v) = dec.decode(&mut buf).unwrap() {
            got = Some(v);
        }
    }
    assert_eq!(got, Some(Value::Bulk(Bytes::from(payload))));
    assert!(dec.steps <= 3, "{} parsing steps", dec.steps);
}

#[test]
fn a_large_array_in_small_chunks_is_parsed_once() {
    let n = 100_000;
    let mut wire = format!("*{n}\r\n").into_bytes();
    for i in 0..n {
        wire.extend_from_slice(format!(":{i}\r\n").as_bytes());
    }
    let mut dec = Decoder::default();
    let mut buf = BytesMut::new();
    let mut got = None;
    for chunk in wire.chunks(7) {
        buf.extend_from_slice(chunk);
        if let Some(v) = dec.decode(&mut buf).unwrap() {
            got = Some(v);
        }
    }
    let expected: Vec<Value> = (0..n).map(Value::Int).collect();
    assert_eq!(got, Some(Value::Array(expected)));
    // One step per element plus at most one stalled step per chunk: linear, not quadratic.
    let chunks = wire.len().div_ceil(7);
    assert!(dec.steps <= n as usize + 1 + chunks, "{} steps", dec.steps);
}

fn args(list: &[&[u8]]) -> Vec<Bytes> {
    list.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

#[test]
fn encoder_writes_an_array_of_bulk_strings() {
    let mut out = BytesMut::new();
    encode_command(&args(&[b"SET", b"key", b""]), &mut out);
    assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n");
    out.clear();
    encode_command(&[], &mut out);
    assert_eq!(&out[..], b"*0\r\n");
}

#[test]
fn encoder_appends_exactly_encoded_len_bytes() {
    let long = vec![7u8; 12345];
    let cases = [
        args(&[]),
        args(&[b"PING"]),
        args(&[b"SET", b"k\r\n\0", &long]),
        (0..11).map(|i| Bytes::from(vec![b'a'; i * 10])).collect(),
    ];
    for case in cases {
        let mut out = BytesMut::from(&b"prefix"[..]);
        encode_command(&case, &mut out);
        assert_eq!(out.len() - 6, encoded_len(&case));
        assert_eq!(&out[..6], b"prefix");
    }
}

#[test]
fn encoded_commands_decode_back_to_their_arguments() {
    let long = vec![b'\n'; 100_000];
    let cases = [
        args(&[]),
        args(&[b"GET", b"key"]),
        args(&[b"SET", b"bin\r\n\0\xff", b"", &long]),
        (0..1000).map(|i| Bytes::from(i.to_string())).collect(),
    ];
    for case in cases {
        let mut out = BytesMut::new();
        encode_command(&case, &mut out);
        let decoded = decode_one(&out);
        let expected = Value::Array(case.iter().cloned().map(Value::Bulk).collect());
        assert_eq!(decoded, expected);
    }
}
