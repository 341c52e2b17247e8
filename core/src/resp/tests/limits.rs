//! Limits and malformed input: every case is a Protocol error, never a panic, never an
//! allocation of a declared size.

use super::{decode_all, decode_all_with, decode_bytewise};
use crate::error::ErrorKind;
use crate::resp::{Decoder, Limits, Value};
use bytes::BytesMut;

/// `input` fails with a Protocol error whose message contains `needle`, both when it arrives
/// at once and byte by byte.
fn rejects_with(limits: Limits, input: &[u8], needle: &str) {
    for (how, (_, error, _)) in [
        ("whole", decode_all_with(limits, input)),
        ("bytewise", decode_bytewise(limits, input)),
    ] {
        let e = error.unwrap_or_else(|| panic!("{how} \"{}\" accepted", input.escape_ascii()));
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(
            e.message().contains(needle),
            "{how} {:?}: {:?} lacks {needle:?}",
            input.escape_ascii(),
            e.message()
        );
    }
}

fn rejects(input: &[u8], needle: &str) {
    rejects_with(Limits::default(), input, needle);
}

fn unlimited() -> Limits {
    Limits {
        max_depth: 64,
        max_bulk_len: usize::MAX,
        max_aggregate_len: usize::MAX,
    }
}

#[test]
fn declared_lengths_over_the_limits_fail_before_the_payload() {
    rejects(
        b"$99999999999\r\n",
        "bulk length 99999999999 exceeds limit 536870912",
    );
    rejects(b"!99999999999\r\n", "exceeds limit");
    rejects(b"=99999999999\r\n", "exceeds limit");
    rejects(
        b"*2000000000\r\n",
        "aggregate length 2000000000 exceeds limit 16777216",
    );
    rejects(b"%2000000000\r\n", "exceeds limit");
    rejects(b"~2000000000\r\n", "exceeds limit");
    rejects(b">2000000000\r\n", "exceeds limit");
    rejects(b"|2000000000\r\n", "exceeds limit");
    let small = Limits {
        max_depth: 8,
        max_bulk_len: 4,
        max_aggregate_len: 2,
    };
    rejects_with(small, b"$5\r\n", "bulk length 5 exceeds limit 4");
    rejects_with(small, b"*3\r\n", "aggregate length 3 exceeds limit 2");
    rejects_with(small, b"%3\r\n", "aggregate length 3 exceeds limit 2");
    rejects_with(small, b"+hello!", "line longer than 4 bytes");
    rejects_with(small, b"-hello\r\n", "line");
    rejects_with(small, b"(12345\r\n", "line");
    assert_eq!(decode_all_with(small, b"$4\r\nabcd\r\n").0.len(), 1);
    assert_eq!(
        decode_all_with(small, b"%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n")
            .0
            .len(),
        1
    );
}

#[test]
fn absurd_lengths_under_huge_limits_wait_without_allocating() {
    // Were any of these preallocated, the test would abort on allocation failure.
    for header in [
        &b"*2000000000\r\n"[..],
        b"%2000000000\r\n",
        b"~9223372036854775807\r\n",
        b"%9223372036854775807\r\n",
        b"$99999999999\r\n",
        b"$9223372036854775800\r\n",
    ] {
        let mut dec = Decoder::new(unlimited());
        let mut buf = BytesMut::from(header);
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b":1\r\n:2\r\n");
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
    }
}

#[test]
fn negative_and_overflowing_lengths_fail() {
    for input in [
        &b"$-2\r\n"[..],
        b"!-1\r\n",
        b"=-1\r\n",
        b"$-9223372036854775808\r\n",
    ] {
        rejects(input, "negative bulk length");
    }
    for input in [
        &b"*-2\r\n"[..],
        b"%-1\r\n",
        b"~-1\r\n",
        b">-1\r\n",
        b"|-1\r\n",
    ] {
        rejects(input, "negative aggregate length");
    }
    rejects(b":9223372036854775808\r\n", "invalid integer");
    rejects(b":-9223372036854775809\r\n", "invalid integer");
    rejects(b"$18446744073709551616\r\n", "invalid bulk length");
    rejects(b"*99999999999999999999\r\n", "invalid aggregate length");
}

#[test]
fn integer_lines_are_strict() {
    for input in [
        &b":+1\r\n"[..],
        b": 1\r\n",
        b":1 \r\n",
        b":1a\r\n",
        b":\r\n",
        b":-\r\n",
        b":--1\r\n",
        b":1.0\r\n",
        b":0x10\r\n",
        b"$\r\n",
        b"$ 3\r\nabc\r\n",
        b"*1e3\r\n",
    ] {
        rejects(input, "invalid");
    }
    rejects(
        b":123456789012345678901234567890123456789012345678901234567890123456789",
        "line",
    );
}

#[test]
fn unknown_type_bytes_fail_at_once() {
    rejects(b"@foo\r\n", "unknown type byte '@'");
    rejects(b"\r\n", "unknown type byte '\\r'");
    rejects(b"\x00", "unknown type byte '\\x00'");
    rejects(b"x", "unknown type byte 'x'");
    rejects(b";5\r\nhello\r\n", "unknown type byte ';'");
    rejects(b".\r\n", "unknown type byte '.'");
    // The error points at the offending byte within the reply.
    rejects(b"*2\r\n:1\r\n@\r\n", "at byte 8 of the reply");
}

#[test]
fn streamed_resp3_types_are_rejected() {
    rejects(b"$?\r\n;4\r\nHell\r\n;0\r\n", "streamed");
    rejects(b"*?\r\n:1\r\n.\r\n", "streamed");
    rejects(b"%?\r\n", "streamed");
}

#[test]
fn malformed_scalars_fail() {
    rejects(b"#x\r\n", "invalid boolean");
    rejects(b"#tt\r\n", "invalid boolean");
    rejects(b"#\r\n", "invalid boolean");
    rejects(b"_x\r\n", "invalid null");
    rejects(b",abc\r\n", "invalid double");
    rejects(b",\r\n", "invalid double");
    rejects(b",1,5\r\n", "invalid double");
    rejects(b"(12a\r\n", "invalid big number");
    rejects(b"(\r\n", "invalid big number");
    rejects(b"(-\r\n", "invalid big number");
    rejects(b"=3\r\ntxt\r\n", "verbatim");
    rejects(b"=5\r\ntxt-x\r\n", "verbatim");
    rejects(b"+OK\n", "CRLF");
    rejects(b"+\n", "CRLF");
    rejects(b":1\n", "CRLF");
}

#[test]
fn bulk_payloads_must_end_in_crlf() {
    rejects(
        b"$3\r\nfooXY",
        "bulk payload of 3 bytes not followed by CRLF",
    );
    rejects(b"$3\r\nfoo\rX", "not followed by CRLF");
    rejects(b"$3\r\nfoo\n\r", "not followed by CRLF");
    rejects(b"$3\r\nfoob\r\n", "not followed by CRLF");
    rejects(b"*1\r\n$0\r\nX\r\n", "not followed by CRLF");
    // Nothing is decided while the terminator is still missing.
    let (values, error, _) = decode_all(b"$3\r\nfoo\r");
    assert!(values.is_empty() && error.is_none());
}

#[test]
fn deep_nesting_fails_without_overflowing_the_stack() {
    let deep = b"*1\r\n".repeat(10_000);
    rejects(&deep, "nesting deeper than max_depth 64");
    let mut deep_maps = b"%1\r\n:1\r\n".repeat(10_000);
    deep_maps.extend_from_slice(b":1\r\n");
    rejects(&deep_maps, "max_depth");
}

#[test]
fn depth_counts_every_aggregate_and_attribute() {
    let two = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    assert_eq!(decode_all_with(two, b"*1\r\n*1\r\n:1\r\n").0.len(), 1);
    rejects_with(two, b"*1\r\n*1\r\n*1\r\n:1\r\n", "max_depth 2");
    assert_eq!(
        decode_all_with(two, b"*1\r\n|1\r\n:1\r\n:1\r\n:7\r\n")
            .0
            .len(),
        1
    );
    rejects_with(two, b"*1\r\n|1\r\n*1\r\n:1\r\n:1\r\n:7\r\n", "max_depth 2");
    let zero = Limits {
        max_depth: 0,
        ..Limits::default()
    };
    assert_eq!(decode_all_with(zero, b":1\r\n").0, vec![Value::Int(1)]);
    rejects_with(zero, b"*0\r\n", "max_depth 0");
}

#[test]
fn deep_nesting_within_the_limit_decodes_iteratively() {
    let depth = 1_000;
    let limits = Limits {
        max_depth: depth,
        ..Limits::default()
    };
    let mut wire = b"*1\r\n".repeat(depth);
    wire.extend_from_slice(b":7\r\n");
    let (mut values, error, left) = decode_all_with(limits, &wire);
    assert!(error.is_none() && left == 0);
    let mut v = values.remove(0);
    for _ in 0..depth {
        let Value::Array(mut inner) = v else { panic!() };
        v = inner.remove(0);
    }
    assert_eq!(v, Value::Int(7));
}

#[test]
fn a_failed_decoder_stays_failed() {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"@\r\n"[..]);
    assert!(dec.decode(&mut buf).is_err());
    let mut fresh = BytesMut::from(&b"+OK\r\n"[..]);
    let e = dec.decode(&mut fresh).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert_eq!(&fresh[..], b"+OK\r\n");
}

#[test]
fn a_caller_breaking_the_append_only_contract_gets_no_panic() {
    let mut dec = Decoder::default();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nabc\r\n$5\r\n"[..]);
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    for replacement in [
        &b""[..],
        b"+",
        b"+OK\r\n",
        b"*2\r\n$3\r\nabc\r\n$5\r\n12345\r\n",
    ] {
        let mut other = BytesMut::from(replacement);
        let _ = dec.decode(&mut other);
    }
}
