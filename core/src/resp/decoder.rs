//! Incremental RESP2/RESP3 decoder.
//!
//! The decoder is resumable: while a frame is incomplete it keeps what it has parsed so far as a
//! flat list of tokens holding offsets into the caller's buffer, plus the buffer length below
//! which another attempt cannot make progress. A large reply arriving in many reads is therefore
//! parsed once, not once per read. The buffer is only touched when a whole frame is there: the
//! frame is split off and frozen once, and every string in the reply is a zero-copy slice of it.
//!
//! Nothing is allocated from a declared length: aggregates grow as their elements arrive, and
//! the final tree is built (iteratively, so depth cannot overflow the stack) only from elements
//! that are really in the buffer.

use super::Value;
use crate::error::{Error, Result};
use bytes::{Bytes, BytesMut};
use std::fmt::Display;

/// Longest line accepted for lengths, integers, booleans and nulls (an i64 needs 20 bytes).
const NUMBER_LINE_MAX: usize = 64;
/// Token capacity kept between frames; more is released after a large reply.
const KEEP_CAPACITY: usize = 4096;
/// Longest double line accepted; Redis prints at most 17 significant digits.
const DOUBLE_LINE_MAX: usize = 512;

/// Limits that protect the client from hostile or broken servers.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of aggregates accepted (attributes count as a level).
    pub max_depth: usize,
    /// Longest bulk string accepted, in bytes; also bounds simple strings and big numbers.
    pub max_bulk_len: usize,
    /// Most elements accepted in one aggregate (pairs, for maps and attributes).
    pub max_aggregate_len: usize,
}

impl Default for Limits {
    /// Depth 64, bulk 512 MiB (Redis' own `proto-max-bulk-len`), 16 Mi elements per aggregate.
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_bulk_len: 512 * 1024 * 1024,
            max_aggregate_len: 16 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Agg {
    Array,
    Map,
    Set,
    Push,
}

/// One parsed item of the pending frame. Strings are `start, end` offsets into the frame until
/// it is complete and frozen.
#[derive(Clone, Copy, Debug)]
enum Tok {
    Nil,
    Int(i64),
    Double(f64),
    Bool(bool),
    Big(usize, usize),
    Simple(usize, usize),
    Bulk(usize, usize),
    Error(usize, usize),
    Verbatim([u8; 3], usize, usize),
    /// An aggregate header with its declared element count (pairs for maps).
    Agg(Agg, usize),
}

/// An aggregate (or attribute) still waiting for children.
#[derive(Debug)]
struct Open {
    remaining: usize,
    /// For an attribute: where its tokens start, so they are dropped once it is complete.
    attr_start: Option<usize>,
}

/// What one parsing step found at the current position.
enum Step {
    /// Nothing to do until the buffer holds this many bytes.
    Need(usize),
    /// A scalar, and the offset just past it.
    Leaf(Tok, usize),
    /// An aggregate header (`None` for an attribute), its declared count, the offset past it.
    Open(Option<Agg>, usize, usize),
}

/// Decodes RESP2/RESP3 values from a growing buffer.
///
/// Between calls that return `Ok(None)` the caller may only append to the buffer: the decoder
/// remembers how far into it it has parsed.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    /// Bytes of the pending frame already turned into tokens.
    pos: usize,
    toks: Vec<Tok>,
    open: Vec<Open>,
    /// Buffer length below which another attempt cannot make progress.
    need: usize,
    /// Offset before which the line at `pos` is known to hold no `\n`.
    scan: usize,
    failed: bool,
    /// Parsing steps taken, so tests can check that chunked input is not re-parsed.
    #[cfg(test)]
    pub(super) steps: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

impl Decoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            pos: 0,
            toks: Vec::new(),
            open: Vec::new(),
            need: 0,
            scan: 0,
            failed: false,
            #[cfg(test)]
            steps: 0,
        }
    }

    /// Takes one complete value off the front of `buf`; `Ok(None)` when more bytes are needed
    /// (`buf` untouched in that case). `Err(Protocol)` on invalid input or a limit exceeded;
    /// after an error the stream is unusable (the caller closes the connection).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>> {
        if self.failed {
            return Err(Error::protocol(
                "invalid RESP: decoder used after a protocol error",
            ));
        }
        if buf.len() < self.need {
            return Ok(None);
        }
        let end = match self.advance(buf) {
            Ok(Some(end)) if end <= buf.len() => end,
            Ok(Some(_)) => return Err(self.fail(err(self.pos, "buffer shrank under the decoder"))),
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        let frame = buf.split_to(end).freeze();
        let value = build(&self.toks, &frame);
        self.reset();
        value.map(Some).map_err(|e| self.fail(e))
    }

    fn reset(&mut self) {
        self.pos = 0;
        self.toks.clear();
        self.open.clear();
        // Do not keep the memory of one huge reply for the life of the connection.
        if self.toks.capacity() > KEEP_CAPACITY {
            self.toks = Vec::new();
        }
        self.need = 0;
        self.scan = 0;
    }

    fn fail(&mut self, e: Error) -> Error {
        self.reset();
        self.failed = true;
        e
    }

    /// Parses from `pos` on; `Some(end)` once a whole top-level value ends at `end`.
    fn advance(&mut self, buf: &[u8]) -> Result<Option<usize>> {
        loop {
            #[cfg(test)]
            {
                self.steps += 1;
            }
            match self.step(buf)? {
                Step::Need(n) => {
                    self.need = n;
                    return Ok(None);
                }
                Step::Leaf(tok, next) => {
                    self.moved_to(next);
                    self.toks.push(tok);
                    if self.value_done() {
                        return Ok(Some(next));
                    }
                }
                Step::Open(agg, n, next) => {
                    if self.open.len() >= self.limits.max_depth {
                        let depth = self.limits.max_depth;
                        return Err(err(
                            self.pos,
                            format!("nesting deeper than max_depth {depth}"),
                        ));
                    }
                    let children = match agg {
                        None | Some(Agg::Map) => n.checked_mul(2),
                        Some(_) => Some(n),
                    }
                    .ok_or_else(|| err(self.pos, format!("aggregate length {n} overflows")))?;
                    self.moved_to(next);
                    let attr_start = match agg {
                        Some(agg) => {
                            self.toks.push(Tok::Agg(agg, n));
                            None
                        }
                        None => Some(self.toks.len()),
                    };
                    if children > 0 {
                        self.open.push(Open {
                            remaining: children,
                            attr_start,
                        });
                    } else if attr_start.is_none() && self.value_done() {
                        return Ok(Some(next));
                    }
                }
            }
        }
    }

    fn moved_to(&mut self, next: usize) {
        self.pos = next;
        self.scan = 0;
        self.need = 0;
    }

    /// Records that a value has completed; true when it completes the top-level value.
    fn value_done(&mut self) -> bool {
        while let Some(top) = self.open.last_mut() {
            top.remaining -= 1;
            if top.remaining > 0 {
                return false;
            }
            let attr_start = top.attr_start;
            self.open.pop();
            if let Some(start) = attr_start {
                // An attribute is metadata about the value that follows: drop it, and let
                // that value fill the slot in the parent.
                self.toks.truncate(start);
                return false;
            }
        }
        true
    }

    /// Parses the item starting at `pos`.
    fn step(&mut self, buf: &[u8]) -> Result<Step> {
        let pos = self.pos;
        let Some(&ty) = buf.get(pos) else {
            return Ok(Step::Need(pos.saturating_add(1)));
        };
        let max_line = match ty {
            b'+' | b'-' | b'(' => self.limits.max_bulk_len,
            b',' => DOUBLE_LINE_MAX,
            b':' | b'$' | b'*' | b'_' | b'#' | b'=' | b'!' | b'%' | b'~' | b'>' | b'|' => {
                NUMBER_LINE_MAX
            }
            _ => {
                let shown = [ty].escape_ascii().to_string();
                return Err(err(pos, format!("unknown type byte '{shown}'")));
            }
        };
        let Some((line, next)) = self.line(buf, max_line)? else {
            return Ok(Step::Need(buf.len().saturating_add(1)));
        };
        let line_start = pos + 1;
        let line_end = line_start + line.len();
        if line == b"?" && matches!(ty, b'$' | b'!' | b'=' | b'*' | b'%' | b'~' | b'>' | b'|') {
            return Err(err(pos, "streamed RESP3 types are not supported"));
        }
        let tok = match ty {
            b'+' => Tok::Simple(line_start, line_end),
            b'-' => Tok::Error(line_start, line_end),
            b':' => Tok::Int(parse_int(line).ok_or_else(|| bad_line(pos, "integer", line))?),
            b'_' if line.is_empty() => Tok::Nil,
            b'_' => return Err(bad_line(pos, "null", line)),
            b'#' => match line {
                b"t" => Tok::Bool(true),
                b"f" => Tok::Bool(false),
                _ => return Err(bad_line(pos, "boolean", line)),
            },
            b',' => Tok::Double(parse_double(line).ok_or_else(|| bad_line(pos, "double", line))?),
            b'(' if is_big_number(line) => Tok::Big(line_start, line_end),
            b'(' => return Err(bad_line(pos, "big number", line)),
            b'$' | b'!' | b'=' => return self.bulk(buf, ty, line, next),
            _ => return self.aggregate(ty, line, next),
        };
        Ok(Step::Leaf(tok, next))
    }

    /// Finds the CRLF-terminated line after the type byte at `pos`: its content and the offset
    /// past the CRLF, or `None` when the line is not all there yet.
    fn line<'b>(&mut self, buf: &'b [u8], max: usize) -> Result<Option<(&'b [u8], usize)>> {
        let pos = self.pos;
        let start = pos + 1;
        let from = self.scan.max(start);
        let rest = buf.get(from..).unwrap_or_default();
        let Some(i) = rest.iter().position(|&b| b == b'\n') else {
            let have = buf.len().saturating_sub(start);
            if have > max.saturating_add(1) {
                return Err(err(pos, format!("line longer than {max} bytes")));
            }
            self.scan = buf.len();
            return Ok(None);
        };
        let nl = from + i;
        if nl == start || buf.get(nl - 1) != Some(&b'\r') {
            return Err(err(pos, "line not terminated by CRLF"));
        }
        let line = buf.get(start..nl - 1).unwrap_or_default();
        if line.len() > max {
            let len = line.len();
            return Err(err(pos, format!("line of {len} bytes exceeds limit {max}")));
        }
        Ok(Some((line, nl + 1)))
    }

    /// `$` bulk string, `!` bulk error, `=` verbatim string, whose header line is `line`.
    fn bulk(&self, buf: &[u8], ty: u8, line: &[u8], next: usize) -> Result<Step> {
        let pos = self.pos;
        let n = parse_int(line).ok_or_else(|| bad_line(pos, "bulk length", line))?;
        if n == -1 && ty == b'$' {
            return Ok(Step::Leaf(Tok::Nil, next));
        }
        let max = self.limits.max_bulk_len;
        let len = match usize::try_from(n) {
            Ok(len) if len <= max => len,
            Ok(_) => return Err(err(pos, format!("bulk length {n} exceeds limit {max}"))),
            Err(_) => return Err(err(pos, format!("negative bulk length {n}"))),
        };
        let (end, after) = next
            .checked_add(len)
            .and_then(|end| Some((end, end.checked_add(2)?)))
            .ok_or_else(|| err(pos, format!("bulk length {n} overflows")))?;
        let Some(payload) = buf.get(next..end) else {
            return Ok(Step::Need(after));
        };
        match buf.get(end..after) {
            None => return Ok(Step::Need(after)),
            Some(b"\r\n") => {}
            Some(_) => {
                return Err(err(
                    pos,
                    format!("bulk payload of {len} bytes not followed by CRLF"),
                ))
            }
        }
        let tok = match (ty, payload) {
            (b'$', _) => Tok::Bulk(next, end),
            (b'!', _) => Tok::Error(next, end),
            (_, [a, b, c, b':', ..]) => Tok::Verbatim([*a, *b, *c], next + 4, end),
            _ => return Err(err(pos, "verbatim string without a 'fmt:' prefix")),
        };
        Ok(Step::Leaf(tok, after))
    }

    /// `*` `%` `~` `>` `|` headers, whose count line is `line`.
    fn aggregate(&self, ty: u8, line: &[u8], next: usize) -> Result<Step> {
        let pos = self.pos;
        let n = parse_int(line).ok_or_else(|| bad_line(pos, "aggregate length", line))?;
        if n == -1 && ty == b'*' {
            return Ok(Step::Leaf(Tok::Nil, next));
        }
        let max = self.limits.max_aggregate_len;
        let count = match usize::try_from(n) {
            Ok(count) if count <= max => count,
            Ok(_) => {
                return Err(err(
                    pos,
                    format!("aggregate length {n} exceeds limit {max}"),
                ))
            }
            Err(_) => return Err(err(pos, format!("negative aggregate length {n}"))),
        };
        let agg = match ty {
            b'*' => Some(Agg::Array),
            b'%' => Some(Agg::Map),
            b'~' => Some(Agg::Set),
            b'>' => Some(Agg::Push),
            _ => None,
        };
        Ok(Step::Open(agg, count, next))
    }
}

fn err(pos: usize, msg: impl Display) -> Error {
    Error::protocol(format!("invalid RESP: {msg} (at byte {pos} of the reply)"))
}

fn bad_line(pos: usize, what: &str, line: &[u8]) -> Error {
    let shown = line[..line.len().min(40)].escape_ascii();
    err(pos, format!("invalid {what} \"{shown}\""))
}

/// Strict decimal i64: an optional '-', then digits only.
fn parse_int(line: &[u8]) -> Option<i64> {
    let (neg, digits) = match line {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate towards the sign so that i64::MIN parses.
    let mut acc: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        acc = acc.checked_mul(10)?;
        acc = if neg {
            acc.checked_sub(d)?
        } else {
            acc.checked_add(d)?
        };
    }
    Some(acc)
}

/// Decimal or exponent notation, `inf`, `-inf`, `nan`.
fn parse_double(line: &[u8]) -> Option<f64> {
    std::str::from_utf8(line).ok()?.parse().ok()
}

fn is_big_number(line: &[u8]) -> bool {
    let digits = match line {
        [b'-' | b'+', rest @ ..] => rest,
        _ => line,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// Turns the tokens of a complete frame into the value tree, without recursion.
fn build(toks: &[Tok], frame: &Bytes) -> Result<Value> {
    struct Partial {
        agg: Agg,
        want: usize,
        items: Vec<Value>,
    }
    let mut stack: Vec<Partial> = Vec::new();
    for tok in toks {
        let mut value = match *tok {
            Tok::Nil => Value::Nil,
            Tok::Int(i) => Value::Int(i),
            Tok::Double(d) => Value::Double(d),
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Big(s, e) => Value::BigNumber(frame.slice(s..e)),
            Tok::Simple(s, e) => Value::Simple(frame.slice(s..e)),
            Tok::Bulk(s, e) => Value::Bulk(frame.slice(s..e)),
            Tok::Error(s, e) => Value::Error(frame.slice(s..e)),
            Tok::Verbatim(format, s, e) => Value::Verbatim {
                format,
                text: frame.slice(s..e),
            },
            Tok::Agg(agg, n) => {
                let want = if agg == Agg::Map {
                    n.saturating_mul(2)
                } else {
                    n
                };
                if want > 0 {
                    // The frame is complete, so `want` elements really follow: the exact
                    // capacity is bounded by the bytes received.
                    stack.push(Partial {
                        agg,
                        want,
                        items: Vec::with_capacity(want),
                    });
                    continue;
                }
                aggregate(agg, Vec::new())
            }
        };
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(value);
            };
            top.items.push(value);
            if top.items.len() < top.want {
                break;
            }
            let Some(done) = stack.pop() else { break };
            value = aggregate(done.agg, done.items);
        }
    }
    Err(Error::protocol(
        "invalid RESP: internal error, frame ended early",
    ))
}

fn aggregate(agg: Agg, items: Vec<Value>) -> Value {
    match agg {
        Agg::Array => Value::Array(items),
        Agg::Set => Value::Set(items),
        Agg::Push => Value::Push(items),
        Agg::Map => {
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Value::Map(pairs)
        }
    }
}
