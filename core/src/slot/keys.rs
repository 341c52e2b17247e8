//! Finding the key arguments of a command from its key specification. Every rule bounds its
//! indices by the argument count, so short or malformed argument lists give fewer keys, never
//! a panic; the server answers such commands with its own arity or syntax error.

use bytes::Bytes;

use super::{key_slot, SLOT_COUNT};

/// Where a command's keys are. Indices count from `args[0]`, the command name.
#[derive(Clone, Copy, Debug)]
pub(super) enum Keys {
    /// No keys.
    None,
    /// Keys at `first`, `first + step`, ... up to `last` (a negative `last` counts from the
    /// end: -1 is the last argument, -2 the one before).
    Range { first: u8, last: i8, step: u8 },
    /// A count of keys at index `at`, the keys right after it (EVAL, LMPOP, ZUNION, ...);
    /// with `dest`, `args[1]` is a key too (ZUNIONSTORE, ZDIFFSTORE).
    Counted { dest: bool, at: u8 },
    /// XREAD / XREADGROUP: the first half of the arguments after the `STREAMS` token.
    Streams,
    /// `args[1]`, plus the argument after the last `STORE` / `STOREDIST` token found from
    /// index `from` (SORT, GEORADIUS). With `sort`, SORT's `LIMIT`/`BY`/`GET` operands are
    /// skipped so a pattern named "store" is not taken for the token.
    Store { from: u8, sort: bool },
    /// MIGRATE: `args[3]`, or when it is empty the keys after the `KEYS` token.
    Migrate,
    /// No keys, but `args[2]` names the slot to route to (CLUSTER COUNTKEYSINSLOT).
    SlotArg,
}

/// The key indices of `args` under `keys`.
pub(super) fn indices(keys: Keys, args: &[Bytes]) -> Vec<usize> {
    let n = args.len();
    match keys {
        Keys::None | Keys::SlotArg => Vec::new(),
        Keys::Range { first, last, step } => range(n, first.into(), last.into(), step.into()),
        Keys::Counted { dest, at } => {
            let at = usize::from(at);
            let mut out = Vec::new();
            if dest && n > 1 {
                out.push(1);
            }
            let count = args.get(at).and_then(|a| parse_count(a)).unwrap_or(0);
            let start = at + 1;
            // Bounded by the arguments present: a huge numkeys must not allocate.
            let avail = n.saturating_sub(start);
            out.extend(start..start + count.min(avail));
            out
        }
        Keys::Streams => match streams_token(args) {
            // With unbalanced keys and IDs the server answers an error; like Redis' own
            // key finder, take the first half rounded down.
            Some((pos, _)) => (pos + 1..pos + 1 + (n - pos - 1) / 2).collect(),
            None => Vec::new(),
        },
        Keys::Store { from, sort } => {
            if n < 2 {
                return Vec::new();
            }
            let mut out = vec![1];
            if let Some(dest) = store_key(args, from.into(), sort) {
                out.push(dest);
            }
            out
        }
        Keys::Migrate => migrate_keys(args),
    }
}

/// The slot `args` route to under `keys`: the named slot for [`Keys::SlotArg`], else the
/// slot of the first key.
pub(super) fn slot(keys: Keys, args: &[Bytes]) -> Option<u16> {
    if let Keys::SlotArg = keys {
        let slot = std::str::from_utf8(args.get(2)?)
            .ok()?
            .parse::<u16>()
            .ok()?;
        return (slot < SLOT_COUNT).then_some(slot);
    }
    // Key ranges (most commands) need only their first index: no Vec per request.
    let first = match keys {
        Keys::Range { first, last, step } => {
            range_bounds(args.len(), first.into(), last.into(), step.into())?.0
        }
        _ => *indices(keys, args).first()?,
    };
    Some(key_slot(&args[first]))
}

/// Whether the arguments make a conditionally blocking command block (XREAD with `BLOCK`).
pub(super) fn blocks(keys: Keys, args: &[Bytes]) -> bool {
    matches!(keys, Keys::Streams) && streams_token(args).is_some_and(|(_, block)| block)
}

fn range(n: usize, first: usize, last: isize, step: usize) -> Vec<usize> {
    match range_bounds(n, first, last, step) {
        Some((first, last)) => (first..=last).step_by(step.max(1)).collect(),
        None => Vec::new(),
    }
}

/// The first and last key index of a key range over `n` arguments; `None` when it is empty.
fn range_bounds(n: usize, first: usize, last: isize, _step: usize) -> Option<(usize, usize)> {
    if first == 0 || first >= n {
        return None;
    }
    let last = if last < 0 {
        n.checked_sub(last.unsigned_abs())?
    } else {
        (last as usize).min(n - 1)
    };
    (last >= first).then_some((first, last))
}

fn parse_count(arg: &[u8]) -> Option<usize> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

fn is(arg: &[u8], token: &str) -> bool {
    arg.eq_ignore_ascii_case(token.as_bytes())
}

/// The index of the `STREAMS` token of XREAD/XREADGROUP and whether `BLOCK` came before it.
/// Options are skipped with their operands (as Redis does) so a group or consumer named
/// "streams" is not taken for the token.
fn streams_token(args: &[Bytes]) -> Option<(usize, bool)> {
    let mut block = false;
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        if is(a, "STREAMS") {
            return Some((i, block));
        } else if is(a, "BLOCK") {
            block = true;
            i += 2;
        } else if is(a, "COUNT") {
            i += 2;
        } else if is(a, "GROUP") {
            i += 3;
        } else if is(a, "NOACK") {
            i += 1;
        } else {
            return None;
        }
    }
    None
}

fn store_key(args: &[Bytes], from: usize, sort: bool) -> Option<usize> {
    let mut found = None;
    let mut i = from;
    while i < args.len() {
        let a = &args[i];
        if is(a, "STORE") || (!sort && is(a, "STOREDIST")) {
            if i + 1 < args.len() {
                found = Some(i + 1);
            }
            i += 2;
        } else if sort && is(a, "LIMIT") {
            i += 3;
        } else if sort && (is(a, "BY") || is(a, "GET")) {
            i += 2;
        } else {
            i += 1;
        }
    }
    found
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw]
/// [KEYS key...].
fn migrate_keys(args: &[Bytes]) -> Vec<usize> {
    match args.get(3) {
        None => Vec::new(),
        Some(k) if !k.is_empty() => vec![3],
        Some(_) => {
            let mut i = 6;
            while i < args.len() {
                let a = &args[i];
                if is(a, "KEYS") {
                    return (i + 1..args.len()).collect();
                } else if is(a, "AUTH") {
                    i += 2;
                } else if is(a, "AUTH2") {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Vec::new()
        }
    }
}
