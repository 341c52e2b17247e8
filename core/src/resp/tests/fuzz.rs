//! Deterministic fuzzing: 200k random, mutated and generated inputs. Decoding must never
//! panic, `Ok(None)` must leave the buffer untouched, feeding byte by byte must agree with
//! feeding everything at once, and valid generated values must round-trip.

use super::{decode_all_with, decode_bytewise, samples, write_value};
use crate::resp::{Limits, Value};
use bytes::Bytes;

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that matter to RESP, so random input reaches deep into the parser.
const ALPHABET: &[u8] = b"+-:$*_,#(=!%~>|?;.@0123456789\r\n\r\n\r\ntfinaxOK: ";

const SMALL: Limits = Limits {
    max_depth: 3,
    max_bulk_len: 16,
    max_aggregate_len: 4,
};

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(40);
    (0..len).map(|_| *rng.pick(ALPHABET)).collect()
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let leaf = depth >= 4 || rng.below(3) > 0;
    let text = |rng: &mut Rng, allow_crlf: bool| -> Bytes {
        let chars: &[u8] = if allow_crlf { b"ab\r\n\0 " } else { b"abc xyz" };
        let len = rng.below(12);
        (0..len)
            .map(|_| *rng.pick(chars))
            .collect::<Vec<u8>>()
            .into()
    };
    if leaf {
        match rng.below(11) {
            0 => Value::Nil,
            1 => Value::Int(rng.next() as i64 >> rng.below(64)),
            2 => {
                let d = f64::from_bits(rng.next()) % 1e9;
                Value::Double(if d.is_finite() { d } else { 0.5 })
            }
            3 => Value::Boolean(rng.below(2) == 0),
            4 => Value::BigNumber(Bytes::from(format!("-{}{}", rng.next(), rng.next()))),
            5 => Value::Simple(text(rng, false)),
            6 => {
                let allow_crlf = rng.below(2) == 0;
                Value::Error(text(rng, allow_crlf))
            }
            7 => Value::Verbatim {
                format: *rng.pick(&[*b"txt", *b"mkd"]),
                text: text(rng, true),
            },
            _ => Value::Bulk(text(rng, true)),
        }
    } else {
        let n = rng.below(5);
        let kind = rng.below(4);
        let mut items = || (0..n).map(|_| random_value(rng, depth + 1)).collect();
        match kind {
            0 => Value::Array(items()),
            1 => Value::Set(items()),
            2 => Value::Push(items()),
            _ => {
                let items: Vec<Value> = items();
                let keys = items.iter().map(|_| random_value(rng, depth + 1));
                Value::Map(keys.zip(items.iter().cloned()).collect())
            }
        }
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if at < input.len() => input[at] ^= 1 << rng.below(8),
            1 if at < input.len() => input[at] = *rng.pick(ALPHABET),
            2 => input.insert(at, *rng.pick(ALPHABET)),
            3 if at < input.len() => {
                input.remove(at);
            }
            4 => input.truncate(at),
            _ => {
                let end = (at + rng.below(8)).min(input.len());
                let copy = input[at..end].to_vec();
                let to = rng.below(input.len() + 1);
                input.splice(to..to, copy);
            }
        }
    }
}

/// Decodes `input` at once (the helper asserts the buffer invariants) and, when asked, byte by
/// byte, and checks both ways agree.
fn check(limits: Limits, input: &[u8], bytewise: bool) -> Vec<Value> {
    check_counting(limits, input, bytewise, &mut [0; 3])
}

/// `check`, also counting inputs that ended in a value, a wait for more bytes, an error.
fn check_counting(
    limits: Limits,
    input: &[u8],
    bytewise: bool,
    seen: &mut [usize; 3],
) -> Vec<Value> {
    let (values, error, left) = decode_all_with(limits, input);
    let ending = match (&error, left) {
        (Some(_), _) => 2,
        (None, 0) => 0,
        (None, _) => 1,
    };
    seen[ending] += 1;
    if bytewise {
        let (b_values, b_error, b_left) = decode_bytewise(limits, input);
        let ctx = || input.escape_ascii().to_string();
        assert_eq!(format!("{values:?}"), format!("{b_values:?}"), "{}", ctx());
        assert_eq!(error.is_some(), b_error.is_some(), "{}: {error:?}", ctx());
        if error.is_none() {
            assert_eq!(left, b_left, "{}", ctx());
        }
    }
    values
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen = [0; 3];
    let frames: Vec<&[u8]> = samples().into_iter().map(|(f, _)| f).collect();
    for i in 0..150_000 {
        let limits = if i % 3 == 0 { SMALL } else { Limits::default() };
        let input = match i % 3 {
            0 => random_bytes(&mut rng),
            1 => {
                let mut input = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    let frame = *rng.pick(&frames);
                    input.extend_from_slice(frame);
                }
                mutate(&mut rng, &mut input);
                input
            }
            _ => {
                let mut input = Vec::new();
                write_value(&random_value(&mut rng, 0), &mut input);
                mutate(&mut rng, &mut input);
                input
            }
        };
        check_counting(limits, &input, i % 8 == 0, &mut seen);
    }
    // Each outcome must be common, or the generator is not exercising the decoder.
    assert!(seen.iter().all(|&n| n > 10_000), "{seen:?}");
}

#[test]
fn generated_values_round_trip_whole_and_truncated() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for i in 0..50_000 {
        let values: Vec<Value> = (0..1 + rng.below(3))
            .map(|_| random_value(&mut rng, 0))
            .collect();
        let mut wire = Vec::new();
        values.iter().for_each(|v| write_value(v, &mut wire));
        assert_eq!(check(Limits::default(), &wire, i % 16 == 0), values);
        // Any strict prefix yields only the values wholly inside it.
        let cut = rng.below(wire.len());
        let got = check(Limits::default(), &wire[..cut], false);
        assert!(got.len() < values.len() && got[..] == values[..got.len()]);
    }
}
