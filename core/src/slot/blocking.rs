//! How long a blocking command may block the connection it runs on, read from its own
//! arguments: the request deadline must cover it, and it must not share a connection.

use std::time::Duration;

use bytes::Bytes;

/// The block time a blocking command asks for: `Some(ZERO)` means "until data arrives";
/// `None` when the command is not a known blocking form or its timeout does not parse (the
/// server will answer with its own error).
pub fn block_time(args: &[Bytes]) -> Option<Duration> {
    let name = args.first()?.to_ascii_uppercase();
    let seconds = |a: &Bytes| {
        std::str::from_utf8(a)
            .ok()?
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
    };
    match &name[..] {
        b"BLPOP" | b"BRPOP" | b"BZPOPMIN" | b"BZPOPMAX" | b"BLMOVE" | b"BRPOPLPUSH" => {
            seconds(args.last()?)
        }
        b"BLMPOP" | b"BZMPOP" => seconds(args.get(1)?),
        b"XREAD" | b"XREADGROUP" => {
            let at = args.iter().position(|a| a.eq_ignore_ascii_case(b"BLOCK"))?;
            let ms: u64 = std::str::from_utf8(args.get(at + 1)?).ok()?.parse().ok()?;
            Some(Duration::from_millis(ms))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn reads_each_form() {
        assert_eq!(
            block_time(&args("BLPOP a b 2.5")),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(block_time(&args("blpop a 0")), Some(Duration::ZERO));
        assert_eq!(
            block_time(&args("BLMOVE a b LEFT RIGHT 1")),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            block_time(&args("BLMPOP 3 2 a b LEFT")),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            block_time(&args("XREAD COUNT 1 BLOCK 150 STREAMS s $")),
            Some(Duration::from_millis(150))
        );
        assert_eq!(block_time(&args("BLPOP a -1")), None);
        assert_eq!(block_time(&args("BLPOP a soon")), None);
        assert_eq!(block_time(&args("XREAD STREAMS s $")), None);
        assert_eq!(block_time(&args("GET a")), None);
        assert_eq!(block_time(&[]), None);
    }
}
