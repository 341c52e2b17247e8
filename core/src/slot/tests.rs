use bytes::Bytes;

use super::*;

/// Splits a command line on spaces; `""` stands for an empty argument.
fn args(line: &str) -> Vec<Bytes> {
    line.split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "\"\"" => Bytes::new(),
            s => Bytes::copy_from_slice(s.as_bytes()),
        })
        .collect()
}

/// The key arguments as text, for readable assertions.
fn keys_of(line: &str) -> Vec<String> {
    let a = args(line);
    key_indices(&a)
        .into_iter()
        .map(|i| String::from_utf8_lossy(&a[i]).into_owned())
        .collect()
}

fn info(line: &str) -> CommandInfo {
    command_info(&args(line))
}

#[test]
fn key_slot_known_vectors() {
    assert_eq!(key_slot(b"foo"), 12182);
    assert_eq!(key_slot(b"bar"), 5061);
    assert_eq!(key_slot(b""), 0);
    // CRC16/XMODEM check value of "123456789" is 0x31C3.
    assert_eq!(key_slot(b"123456789"), 0x31C3 % SLOT_COUNT);
    assert_eq!(key_slot(b"123456789"), 12739);
}

#[test]
fn key_slot_hash_tags() {
    let following = key_slot(b"{user1000}.following");
    assert_eq!(following, key_slot(b"{user1000}.followers"));
    assert_eq!(following, key_slot(b"user1000"));
    // Empty tag: the whole key is hashed.
    assert_eq!(key_slot(b"foo{}{bar}"), crc(b"foo{}{bar}"));
    // The tag ends at the first '}' after the first '{'.
    assert_eq!(key_slot(b"foo{{bar}}zap"), crc(b"{bar"));
    assert_eq!(key_slot(b"foo{bar}{zap}"), crc(b"bar"));
    // No closing brace, or a closing brace only before the opening one.
    assert_eq!(key_slot(b"foo{bar"), crc(b"foo{bar"));
    assert_eq!(key_slot(b"}foo{"), crc(b"}foo{"));
    assert_eq!(key_slot(b"{}"), crc(b"{}"));
    // Binary keys are fine.
    assert!(key_slot(&[0xff, b'{', 0x00, b'}']) < SLOT_COUNT);
    assert_eq!(key_slot(&[0xff, b'{', 0x00, b'}']), crc(&[0x00]));
}

fn crc(b: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(b) % SLOT_COUNT
}

/// Expected keys checked against `COMMAND GETKEYS` on redis-server 7.0.15.
#[test]
fn key_indices_match_redis() {
    let cases: &[(&str, &[&str])] = &[
        ("GET a", &["a"]),
        ("SET a v EX 10", &["a"]),
        ("MGET a b c", &["a", "b", "c"]),
        ("MSET a 1 b 2", &["a", "b"]),
        ("MSETNX a 1 b 2", &["a", "b"]),
        ("DEL a b c", &["a", "b", "c"]),
        ("EXISTS a b", &["a", "b"]),
        ("TOUCH a b", &["a", "b"]),
        ("UNLINK a b", &["a", "b"]),
        ("EVAL s 2 a b arg1", &["a", "b"]),
        ("EVALSHA sha 0 arg", &[]),
        ("EVAL_RO s 1 a arg", &["a"]),
        ("FCALL f 2 a b x", &["a", "b"]),
        ("FCALL_RO f 1 a", &["a"]),
        ("XREAD COUNT 2 STREAMS a b 0 0", &["a", "b"]),
        ("XREAD BLOCK 0 STREAMS a $", &["a"]),
        ("XREAD STREAMS a b 0", &["a"]),
        ("XREADGROUP GROUP g c COUNT 1 STREAMS a b > >", &["a", "b"]),
        ("XREADGROUP GROUP streams streams STREAMS k >", &["k"]),
        ("ZUNIONSTORE d 2 a b WEIGHTS 1 2", &["d", "a", "b"]),
        ("ZINTERSTORE d 1 a", &["d", "a"]),
        ("ZDIFFSTORE d 2 a b", &["d", "a", "b"]),
        ("ZUNION 2 a b", &["a", "b"]),
        ("ZINTER 2 a b WITHSCORES", &["a", "b"]),
        ("ZDIFF 1 a", &["a"]),
        ("ZINTERCARD 2 a b LIMIT 5", &["a", "b"]),
        ("SINTERCARD 2 a b", &["a", "b"]),
        ("LMPOP 2 a b LEFT COUNT 3", &["a", "b"]),
        ("BLMPOP 0 2 a b LEFT", &["a", "b"]),
        ("ZMPOP 1 a MIN", &["a"]),
        ("BZMPOP 1.5 2 a b MAX", &["a", "b"]),
        ("BLPOP a b 0", &["a", "b"]),
        ("BRPOP a 0", &["a"]),
        ("BZPOPMIN a b 0", &["a", "b"]),
        ("BLMOVE a b LEFT RIGHT 0", &["a", "b"]),
        ("BRPOPLPUSH a b 0", &["a", "b"]),
        ("BITOP AND d a b", &["d", "a", "b"]),
        ("BITCOUNT a", &["a"]),
        ("OBJECT ENCODING a", &["a"]),
        ("object freq a", &["a"]),
        ("MEMORY USAGE a SAMPLES 5", &["a"]),
        ("XINFO STREAM a FULL", &["a"]),
        ("XINFO CONSUMERS a g", &["a"]),
        ("XGROUP CREATE a g $ MKSTREAM", &["a"]),
        ("RENAME a b", &["a", "b"]),
        ("RENAMENX a b", &["a", "b"]),
        ("COPY a b REPLACE", &["a", "b"]),
        ("SORT a BY w_* GET o_* STORE d", &["a", "d"]),
        ("SORT a LIMIT 0 10 GET store STORE d", &["a", "d"]),
        ("SORT a", &["a"]),
        ("SORT a STORE", &["a"]),
        ("SORT_RO a BY x", &["a"]),
        ("GEORADIUS a 0 0 10 km STORE d", &["a", "d"]),
        ("GEORADIUSBYMEMBER a m 10 km STOREDIST d", &["a", "d"]),
        ("GEOSEARCHSTORE d s FROMMEMBER m BYRADIUS 1 km", &["d", "s"]),
        ("LCS a b", &["a", "b"]),
        ("SDIFFSTORE d a b", &["d", "a", "b"]),
        ("SINTERSTORE d a b", &["d", "a", "b"]),
        ("SUNIONSTORE d a b", &["d", "a", "b"]),
        ("PFMERGE d a b", &["d", "a", "b"]),
        ("PFCOUNT a b", &["a", "b"]),
        ("SMOVE a b m", &["a", "b"]),
        ("LMOVE a b LEFT RIGHT", &["a", "b"]),
        ("RPOPLPUSH a b", &["a", "b"]),
        ("ZRANGESTORE d s 0 -1", &["d", "s"]),
        ("GETEX a PERSIST", &["a"]),
        ("GETDEL a", &["a"]),
        ("RESTORE a 0 payload", &["a"]),
        ("DUMP a", &["a"]),
        ("MIGRATE h 6379 a 0 1000", &["a"]),
        (
            "MIGRATE h 6379 \"\" 0 1000 COPY AUTH pw KEYS a b",
            &["a", "b"],
        ),
        (
            "MIGRATE h 6379 \"\" 0 1000 AUTH2 u KEYS KEYS a b",
            &["a", "b"],
        ),
        ("XADD a * f v", &["a"]),
        ("XACK a g 1-0", &["a"]),
        ("XCLAIM a g c 0 1-0", &["a"]),
        ("PFDEBUG GETREG a", &["a"]),
        ("EXPIRE a 10", &["a"]),
        ("HSET h f v", &["h"]),
        // Shard channels hash like keys.
        ("SPUBLISH ch msg", &["ch"]),
    ];
    for (line, want) in cases {
        assert_eq!(keys_of(line), *want, "{line}");
    }
}

#[test]
fn keyless_commands_have_no_keys() {
    for line in [
        "PING",
        "ECHO hi",
        "INFO keyspace",
        "CLUSTER INFO",
        "CLUSTER SHARDS",
        "SCRIPT LOAD return",
        "CONFIG GET maxmemory",
        "DBSIZE",
        "KEYS *",
        "PUBLISH ch msg",
        "CLUSTER COUNTKEYSINSLOT 5",
    ] {
        assert!(key_indices(&args(line)).is_empty(), "{line}");
    }
}

#[test]
fn unknown_commands_are_keyed_by_their_first_argument() {
    assert_eq!(keys_of("JSON.GET doc $.a"), ["doc"]);
    let i = info("JSON.GET doc $.a");
    assert_eq!(i.routing, Routing::Keyed);
    assert!(!i.readonly);
    assert_eq!(i.split, None);
    assert_eq!(command_slot(&args("JSON.GET doc")), Some(key_slot(b"doc")));
    assert_eq!(info("FT._LIST").routing, Routing::AnyPrimary);
    assert!(key_indices(&args("FT._LIST")).is_empty());
    assert_eq!(command_slot(&args("FT._LIST")), None);
}

#[test]
fn empty_and_short_argument_lists() {
    assert_eq!(command_info(&[]).routing, Routing::Unsupported);
    assert!(key_indices(&[]).is_empty());
    assert_eq!(command_slot(&[]), None);
    for line in [
        "GET",
        "MSET",
        "EVAL",
        "EVAL s",
        "EVAL s 5 a",
        "EVAL s -1 a",
        "EVAL s 18446744073709551616 a",
        "ZUNIONSTORE",
        "ZUNIONSTORE d",
        "ZUNIONSTORE d 99",
        "BLPOP",
        "BLPOP a",
        "XREAD",
        "XREAD STREAMS",
        "XREAD COUNT",
        "XREADGROUP GROUP g",
        "MIGRATE",
        "MIGRATE h 1 \"\"",
        "MIGRATE h 1 \"\" 0 0 KEYS",
        "SORT",
        "GEORADIUS",
        "OBJECT",
        "OBJECT ENCODING",
        "CLUSTER",
        "CLUSTER COUNTKEYSINSLOT",
        "CLUSTER COUNTKEYSINSLOT 16384",
        "CLUSTER GETKEYSINSLOT x 10",
    ] {
        let a = args(line);
        for i in key_indices(&a) {
            assert!(i < a.len(), "{line}");
        }
        let _ = command_info(&a);
        if let Some(slot) = command_slot(&a) {
            assert!(slot < SLOT_COUNT, "{line}");
        }
    }
    assert_eq!(info("GET").routing, Routing::Keyed);
    assert_eq!(command_slot(&args("GET")), None);
    assert_eq!(keys_of("EVAL s 5 a"), ["a"]);
    assert_eq!(keys_of("ZUNIONSTORE d 99"), ["d"]);
}

/// Every table entry, fed argument lists of every short length with awkward contents, stays
/// in bounds and never panics.
#[test]
fn no_entry_panics_on_any_short_argument_list() {
    let fillers = [
        "STREAMS", "STORE", "KEYS", "99", "-1", "", "BLOCK", "GROUP", "LIMIT",
    ];
    for (container, table) in table::all_tables() {
        for (name, _) in table {
            for len in 0..8 {
                for filler in fillers {
                    let mut a: Vec<Bytes> = Vec::new();
                    if !container.is_empty() {
                        a.push(Bytes::from_static(container.as_bytes()));
                    }
                    a.push(Bytes::from_static(name.as_bytes()));
                    a.extend((0..len).map(|_| Bytes::from_static(filler.as_bytes())));
                    for i in key_indices(&a) {
                        assert!(i < a.len(), "{name} {len} {filler}");
                    }
                    let _ = command_info(&a);
                    let _ = command_slot(&a);
                }
            }
        }
    }
}

#[test]
fn tables_are_sorted_and_upper_case() {
    for (container, table) in table::all_tables() {
        for pair in table.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "{container}: {} >= {}",
                pair[0].0,
                pair[1].0
            );
        }
        for (name, _) in table {
            assert_eq!(name.to_ascii_uppercase(), *name);
        }
    }
}

#[test]
fn command_names_are_case_insensitive() {
    assert_eq!(info("get a"), info("GET a"));
    assert_eq!(info("cluster shards"), info("CLUSTER SHARDS"));
    assert_eq!(keys_of("xInfo sTream a"), ["a"]);
    assert_eq!(keys_of("xread streams a 0"), ["a"]);
}

#[test]
fn readonly_flags() {
    for line in [
        "GET a",
        "MGET a b",
        "EXISTS a",
        "TTL a",
        "HGET h f",
        "LRANGE l 0 -1",
        "SMEMBERS s",
        "ZRANGE z 0 -1",
        "XRANGE x - +",
        "EVAL_RO s 1 a",
        "FCALL_RO f 1 a",
        "SORT_RO a",
        "OBJECT ENCODING a",
        "XINFO STREAM a",
        "MEMORY USAGE a",
        "XREAD STREAMS a 0",
        "PING",
        "CLUSTER SLOTS",
        "DBSIZE",
    ] {
        assert!(info(line).readonly, "{line}");
    }
    for line in [
        "SET a b",
        "MSET a b",
        "DEL a",
        "EVAL s 1 a",
        "FCALL f 1 a",
        "SORT a",
        "GEORADIUS a 0 0 1 km",
        "XREADGROUP GROUP g c STREAMS a >",
        "GETEX a",
        "FLUSHALL",
        "PUBLISH ch m",
        "SCRIPT LOAD s",
        "XGROUP CREATE a g $",
    ] {
        assert!(!info(line).readonly, "{line}");
    }
}

#[test]
fn blocking_flags() {
    for line in [
        "BLPOP a 0",
        "BRPOP a 0",
        "BLMOVE a b LEFT LEFT 0",
        "BLMPOP 0 1 a LEFT",
        "BZPOPMIN a 0",
        "BZMPOP 0 1 a MIN",
        "BRPOPLPUSH a b 0",
        "XREAD BLOCK 100 STREAMS a $",
        "XREADGROUP GROUP g c BLOCK 0 STREAMS a >",
    ] {
        assert!(info(line).blocking, "{line}");
    }
    for line in [
        "GET a",
        "LPOP a",
        "XREAD COUNT 1 STREAMS a 0",
        "XREADGROUP GROUP g c STREAMS a >",
    ] {
        assert!(!info(line).blocking, "{line}");
    }
}

#[test]
fn splits() {
    assert_eq!(info("MGET a b").split, Some(Split::KeysInOrder));
    assert_eq!(info("MSET a 1 b 2").split, Some(Split::KeyValuePairs));
    for line in ["DEL a b", "UNLINK a b", "EXISTS a b", "TOUCH a b"] {
        assert_eq!(info(line).split, Some(Split::KeysSum), "{line}");
    }
    for line in ["MSETNX a 1 b 2", "RENAME a b", "SUNIONSTORE d a b", "GET a"] {
        assert_eq!(info(line).split, None, "{line}");
    }
}

#[test]
fn routing() {
    use Merge::*;
    use Routing::*;
    let cases: &[(&str, Routing)] = &[
        ("GET a", Keyed),
        ("OBJECT ENCODING a", Keyed),
        ("EVAL s 0", Keyed),
        ("PING", AnyPrimary),
        ("ECHO x", AnyPrimary),
        ("TIME", AnyPrimary),
        ("INFO", AnyPrimary),
        ("RANDOMKEY", AnyPrimary),
        ("LASTSAVE", AnyPrimary),
        ("COMMAND", AnyPrimary),
        ("COMMAND DOCS get", AnyPrimary),
        ("CLUSTER INFO", AnyPrimary),
        ("CLUSTER SHARDS", AnyPrimary),
        ("CLUSTER SLOTS", AnyPrimary),
        ("CLUSTER NODES", AnyPrimary),
        ("CLUSTER MYID", AnyPrimary),
        ("CONFIG GET maxmemory", AnyPrimary),
        ("CLUSTER NOSUCHTHING", AnyPrimary),
        ("DBSIZE", AllPrimaries(Sum)),
        ("KEYS *", AllPrimaries(Concat)),
        ("FLUSHALL", AllPrimaries(AllOk)),
        ("FLUSHDB ASYNC", AllPrimaries(AllOk)),
        ("SCRIPT EXISTS a b", AllPrimaries(AndArrays)),
        ("SCRIPT KILL", AllPrimaries(AllOk)),
        ("FUNCTION FLUSH", AllPrimaries(AllOk)),
        ("FUNCTION LOAD code", AllPrimaries(AllSame)),
        ("SCRIPT LOAD s", AllNodes(AllSame)),
        ("SCRIPT FLUSH", AllNodes(AllOk)),
        ("CONFIG SET a b", AllNodes(AllOk)),
        ("CONFIG RESETSTAT", AllNodes(AllOk)),
        ("SLOWLOG LEN", AllNodes(Sum)),
        ("SUBSCRIBE ch", Unsupported),
        ("PSUBSCRIBE p*", Unsupported),
        ("SSUBSCRIBE ch", Unsupported),
        ("UNSUBSCRIBE", Unsupported),
        ("MULTI", Unsupported),
        ("EXEC", Unsupported),
        ("WATCH a", Unsupported),
        ("UNWATCH", Unsupported),
        ("DISCARD", Unsupported),
        ("MONITOR", Unsupported),
        ("SELECT 1", Unsupported),
        ("QUIT", Unsupported),
        ("RESET", Unsupported),
        ("CLIENT REPLY OFF", Unsupported),
        ("CLIENT SETNAME x", Unsupported),
        ("AUTH pw", Unsupported),
        ("HELLO 3", Unsupported),
        ("READONLY", Unsupported),
        ("ASKING", Unsupported),
        ("SCAN 0", Unsupported),
        ("WAIT 1 0", Unsupported),
        ("SHUTDOWN", Unsupported),
        ("CLUSTER MEET h 1", Unsupported),
        ("CLUSTER FAILOVER", Unsupported),
    ];
    for (line, want) in cases {
        assert_eq!(info(line).routing, *want, "{line}");
    }
}

#[test]
fn command_slot_routes_by_first_key() {
    assert_eq!(command_slot(&args("GET foo")), Some(12182));
    assert_eq!(command_slot(&args("MGET foo bar")), Some(12182));
    assert_eq!(
        command_slot(&args("EVAL s 1 {user1000}x")),
        Some(key_slot(b"user1000"))
    );
    assert_eq!(command_slot(&args("XREAD STREAMS bar 0")), Some(5061));
    assert_eq!(command_slot(&args("PING")), None);
    assert_eq!(command_slot(&args("EVAL s 0")), None);
}

#[test]
fn slot_named_cluster_commands_route_to_that_slot() {
    let i = info("CLUSTER COUNTKEYSINSLOT 42");
    assert_eq!(i.routing, Routing::Keyed);
    assert!(i.readonly);
    assert_eq!(command_slot(&args("CLUSTER COUNTKEYSINSLOT 42")), Some(42));
    assert_eq!(
        command_slot(&args("cluster getkeysinslot 16383 10")),
        Some(16383)
    );
    assert_eq!(command_slot(&args("CLUSTER GETKEYSINSLOT 16384 10")), None);
    assert_eq!(command_slot(&args("CLUSTER COUNTKEYSINSLOT -1")), None);
}
