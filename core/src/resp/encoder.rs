//! Command encoder: every command goes out as a RESP array of bulk strings, the one request form
//! all Redis versions accept and the only one that is binary-safe.

use bytes::{BufMut, Bytes, BytesMut};

/// Appends one command as a RESP array of bulk strings: `*N\r\n` then `$len\r\narg\r\n` per
/// argument. Reserves the exact size first, so a command costs at most one reallocation.
pub fn encode_command(args: &[Bytes], out: &mut BytesMut) {
    out.reserve(encoded_len(args));
    put_header(out, b'*', args.len());
    for arg in args {
        put_header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// The exact number of bytes `encode_command` appends.
pub fn encoded_len(args: &[Bytes]) -> usize {
    args.iter().fold(header_len(args.len()), |total, arg| {
        total + header_len(arg.len()) + arg.len() + 2
    })
}

/// Type byte, decimal length, CRLF.
fn header_len(n: usize) -> usize {
    1 + decimal_len(n) + 2
}

fn decimal_len(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

fn put_header(out: &mut BytesMut, ty: u8, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_u8(ty);
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}
