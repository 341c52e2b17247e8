//! The command table: key positions, routing and flags of the Redis 7.0 command set (plus a
//! few later keyed commands). Key positions and read-only flags are Redis' own (`COMMAND`);
//! fan-out and merge follow Redis' request/response policy tips where they make sense for a
//! client. Tables are sorted by upper-case name and searched without allocating.

use std::cmp::Ordering;

use bytes::Bytes;

use super::keys::Keys;
use super::{Merge, Routing, Split};

/// One command's (or subcommand's) routing facts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Spec {
    pub routing: Routing,
    pub keys: Keys,
    pub readonly: bool,
    pub blocking: bool,
    pub split: Option<Split>,
    /// For container commands (CLUSTER, OBJECT, ...): the table of subcommands.
    sub: Option<&'static [(&'static str, Spec)]>,
}

impl Spec {
    const fn ro(mut self) -> Self {
        self.readonly = true;
        self
    }

    const fn blocking(mut self) -> Self {
        self.blocking = true;
        self
    }

    const fn split(mut self, split: Split) -> Self {
        self.split = Some(split);
        self
    }
}

const fn spec(routing: Routing, keys: Keys) -> Spec {
    Spec {
        routing,
        keys,
        readonly: false,
        blocking: false,
        split: None,
        sub: None,
    }
}

/// Keyed by a range of arguments (Redis' first key, last key, step).
const fn k(first: u8, last: i8, step: u8) -> Spec {
    keyed(Keys::Range { first, last, step })
}

/// Keyed by a count of keys at `at` (after a destination key at 1 with `dest`).
const fn nk(dest: bool, at: u8) -> Spec {
    keyed(Keys::Counted { dest, at })
}

/// Keyed by `args[1]` plus an optional `STORE` destination.
const fn store(from: u8, sort: bool) -> Spec {
    keyed(Keys::Store { from, sort })
}

const fn keyed(keys: Keys) -> Spec {
    spec(Routing::Keyed, keys)
}

/// Keyless, any primary, with effects (not safe to repeat blindly).
const fn any() -> Spec {
    spec(Routing::AnyPrimary, Keys::None)
}

/// Keyless, any primary, only reports state.
const fn info() -> Spec {
    any().ro()
}

const fn prim(merge: Merge) -> Spec {
    spec(Routing::AllPrimaries(merge), Keys::None)
}

const fn all(merge: Merge) -> Spec {
    spec(Routing::AllNodes(merge), Keys::None)
}

const fn no() -> Spec {
    spec(Routing::Unsupported, Keys::None)
}

const fn sub(table: &'static [(&'static str, Spec)]) -> Spec {
    let mut s = any();
    s.sub = Some(table);
    s
}

/// What a container command with a missing or unknown subcommand gets: the server answers.
const UNKNOWN_SUBCOMMAND: Spec = any();

/// The spec for `args`, following into the subcommand table of container commands; `None`
/// for an unknown command (or an empty argument list).
pub(super) fn lookup(args: &[Bytes]) -> Option<&'static Spec> {
    let spec = find(COMMANDS, args.first()?)?;
    let Some(table) = spec.sub else {
        return Some(spec);
    };
    Some(
        args.get(1)
            .and_then(|name| find(table, name))
            .unwrap_or(&UNKNOWN_SUBCOMMAND),
    )
}

fn find(table: &'static [(&'static str, Spec)], name: &[u8]) -> Option<&'static Spec> {
    table
        .binary_search_by(|(entry, _)| cmp_upper(entry, name))
        .ok()
        .map(|i| &table[i].1)
}

/// Compares an upper-case table name with a name in any case.
fn cmp_upper(entry: &str, name: &[u8]) -> Ordering {
    entry
        .bytes()
        .cmp(name.iter().map(|b| b.to_ascii_uppercase()))
}

#[cfg(test)]
pub(super) fn all_tables() -> Vec<(&'static str, &'static [(&'static str, Spec)])> {
    let mut out = vec![("", COMMANDS)];
    for (name, spec) in COMMANDS {
        if let Some(table) = spec.sub {
            out.push((name, table));
        }
    }
    out
}

// Keyless node administration that would do the wrong thing on a random primary is
// Unsupported; state that is not replicated (ACL, CONFIG, modules, scripts) goes to every node.

const ACL: &[(&str, Spec)] = &[
    ("CAT", info()),
    ("DELUSER", all(Merge::AllSame)),
    ("DRYRUN", info()),
    ("GENPASS", info()),
    ("GETUSER", info()),
    ("HELP", info()),
    ("LIST", info()),
    ("LOAD", all(Merge::AllOk)),
    ("LOG", any()),
    ("SAVE", all(Merge::AllOk)),
    ("SETUSER", all(Merge::AllOk)),
    ("USERS", info()),
    ("WHOAMI", info()),
];

const CLIENT: &[(&str, Spec)] = &[
    ("CACHING", no()),
    ("GETNAME", info()),
    ("GETREDIR", info()),
    ("HELP", info()),
    ("ID", info()),
    ("INFO", info()),
    ("KILL", no()),
    ("LIST", info()),
    ("NO-EVICT", no()),
    ("NO-TOUCH", no()),
    ("PAUSE", no()),
    ("REPLY", no()),
    ("SETINFO", no()),
    ("SETNAME", no()),
    ("TRACKING", no()),
    ("TRACKINGINFO", info()),
    ("UNBLOCK", no()),
    ("UNPAUSE", no()),
];

/// COUNTKEYSINSLOT and GETKEYSINSLOT name a slot and go to its owner.
const CLUSTER: &[(&str, Spec)] = &[
    ("ADDSLOTS", no()),
    ("ADDSLOTSRANGE", no()),
    ("BUMPEPOCH", no()),
    ("COUNT-FAILURE-REPORTS", info()),
    ("COUNTKEYSINSLOT", keyed(Keys::SlotArg).ro()),
    ("DELSLOTS", no()),
    ("DELSLOTSRANGE", no()),
    ("FAILOVER", no()),
    ("FLUSHSLOTS", no()),
    ("FORGET", no()),
    ("GETKEYSINSLOT", keyed(Keys::SlotArg).ro()),
    ("HELP", info()),
    ("INFO", info()),
    ("KEYSLOT", info()),
    ("LINKS", info()),
    ("MEET", no()),
    ("MYID", info()),
    ("MYSHARDID", info()),
    ("NODES", info()),
    ("REPLICAS", info()),
    ("REPLICATE", no()),
    ("RESET", no()),
    ("SAVECONFIG", no()),
    ("SET-CONFIG-EPOCH", no()),
    ("SETSLOT", no()),
    ("SHARDS", info()),
    ("SLAVES", info()),
    ("SLOTS", info()),
];

const COMMAND: &[(&str, Spec)] = &[
    ("COUNT", info()),
    ("DOCS", info()),
    ("GETKEYS", info()),
    ("GETKEYSANDFLAGS", info()),
    ("HELP", info()),
    ("INFO", info()),
    ("LIST", info()),
];

const CONFIG: &[(&str, Spec)] = &[
    ("GET", info()),
    ("HELP", info()),
    ("RESETSTAT", all(Merge::AllOk)),
    ("REWRITE", all(Merge::AllOk)),
    ("SET", all(Merge::AllOk)),
];

/// Functions are replicated, so primaries suffice. KILL answers NOTBUSY on every node but the
/// busy one; with no "any succeeded" merge the caller sees that error even when a kill worked.
const FUNCTION: &[(&str, Spec)] = &[
    ("DELETE", prim(Merge::AllOk)),
    ("DUMP", info()),
    ("FLUSH", prim(Merge::AllOk)),
    ("HELP", info()),
    ("KILL", prim(Merge::AllOk)),
    ("LIST", info()),
    ("LOAD", prim(Merge::AllSame)),
    ("RESTORE", prim(Merge::AllOk)),
    ("STATS", info()),
];

const LATENCY: &[(&str, Spec)] = &[
    ("DOCTOR", info()),
    ("GRAPH", info()),
    ("HELP", info()),
    ("HISTOGRAM", info()),
    ("HISTORY", info()),
    ("LATEST", info()),
    ("RESET", all(Merge::Sum)),
];

const MEMORY: &[(&str, Spec)] = &[
    ("DOCTOR", info()),
    ("HELP", info()),
    ("MALLOC-STATS", info()),
    ("PURGE", prim(Merge::AllOk)),
    ("STATS", info()),
    ("USAGE", k(2, 2, 1).ro()),
];

const MODULE: &[(&str, Spec)] = &[
    ("HELP", info()),
    ("LIST", info()),
    ("LOAD", all(Merge::AllOk)),
    ("LOADEX", all(Merge::AllOk)),
    ("UNLOAD", all(Merge::AllOk)),
];

const OBJECT: &[(&str, Spec)] = &[
    ("ENCODING", k(2, 2, 1).ro()),
    ("FREQ", k(2, 2, 1).ro()),
    ("HELP", info()),
    ("IDLETIME", k(2, 2, 1).ro()),
    ("REFCOUNT", k(2, 2, 1).ro()),
];

/// Classic channels are cluster-wide; shard channels live with the slot of their name.
const PUBSUB: &[(&str, Spec)] = &[
    ("CHANNELS", info()),
    ("HELP", info()),
    ("NUMPAT", info()),
    ("NUMSUB", info()),
    ("SHARDCHANNELS", prim(Merge::Concat).ro()),
    ("SHARDNUMSUB", k(2, -1, 1).ro()),
];

/// Scripts are not replicated: LOAD and FLUSH go to replicas too so EVALSHA_RO works there.
const SCRIPT: &[(&str, Spec)] = &[
    ("DEBUG", no()),
    ("EXISTS", prim(Merge::AndArrays).ro()),
    ("FLUSH", all(Merge::AllOk)),
    ("HELP", info()),
    ("KILL", prim(Merge::AllOk)),
    ("LOAD", all(Merge::AllSame)),
];

const SLOWLOG: &[(&str, Spec)] = &[
    ("GET", all(Merge::Concat).ro()),
    ("HELP", info()),
    ("LEN", all(Merge::Sum).ro()),
    ("RESET", all(Merge::AllOk)),
];

const XGROUP: &[(&str, Spec)] = &[
    ("CREATE", k(2, 2, 1)),
    ("CREATECONSUMER", k(2, 2, 1)),
    ("DELCONSUMER", k(2, 2, 1)),
    ("DESTROY", k(2, 2, 1)),
    ("HELP", info()),
    ("SETID", k(2, 2, 1)),
];

const XINFO: &[(&str, Spec)] = &[
    ("CONSUMERS", k(2, 2, 1).ro()),
    ("GROUPS", k(2, 2, 1).ro()),
    ("HELP", info()),
    ("STREAM", k(2, 2, 1).ro()),
];

/// Every top-level command, sorted by name.
const COMMANDS: &[(&str, Spec)] = &[
    ("ACL", sub(ACL)),
    ("APPEND", k(1, 1, 1)),
    ("ASKING", no()),
    ("AUTH", no()),
    ("BGREWRITEAOF", all(Merge::AllSame)),
    ("BGSAVE", all(Merge::AllSame)),
    ("BITCOUNT", k(1, 1, 1).ro()),
    ("BITFIELD", k(1, 1, 1)),
    ("BITFIELD_RO", k(1, 1, 1).ro()),
    ("BITOP", k(2, -1, 1)),
    ("BITPOS", k(1, 1, 1).ro()),
    ("BLMOVE", k(1, 2, 1).blocking()),
    ("BLMPOP", nk(false, 2).blocking()),
    ("BLPOP", k(1, -2, 1).blocking()),
    ("BRPOP", k(1, -2, 1).blocking()),
    ("BRPOPLPUSH", k(1, 2, 1).blocking()),
    ("BZMPOP", nk(false, 2).blocking()),
    ("BZPOPMAX", k(1, -2, 1).blocking()),
    ("BZPOPMIN", k(1, -2, 1).blocking()),
    ("CLIENT", sub(CLIENT)),
    ("CLUSTER", sub(CLUSTER)),
    ("COMMAND", sub(COMMAND)),
    ("CONFIG", sub(CONFIG)),
    ("COPY", k(1, 2, 1)),
    ("DBSIZE", prim(Merge::Sum).ro()),
    ("DEBUG", no()),
    ("DECR", k(1, 1, 1)),
    ("DECRBY", k(1, 1, 1)),
    ("DEL", k(1, -1, 1).split(Split::KeysSum)),
    ("DISCARD", no()),
    ("DUMP", k(1, 1, 1).ro()),
    ("ECHO", info()),
    ("EVAL", nk(false, 2)),
    ("EVALSHA", nk(false, 2)),
    ("EVALSHA_RO", nk(false, 2).ro()),
    ("EVAL_RO", nk(false, 2).ro()),
    ("EXEC", no()),
    ("EXISTS", k(1, -1, 1).ro().split(Split::KeysSum)),
    ("EXPIRE", k(1, 1, 1)),
    ("EXPIREAT", k(1, 1, 1)),
    ("EXPIRETIME", k(1, 1, 1).ro()),
    ("FAILOVER", no()),
    ("FCALL", nk(false, 2)),
    ("FCALL_RO", nk(false, 2).ro()),
    ("FLUSHALL", prim(Merge::AllOk)),
    ("FLUSHDB", prim(Merge::AllOk)),
    ("FUNCTION", sub(FUNCTION)),
    ("GEOADD", k(1, 1, 1)),
    ("GEODIST", k(1, 1, 1).ro()),
    ("GEOHASH", k(1, 1, 1).ro()),
    ("GEOPOS", k(1, 1, 1).ro()),
    ("GEORADIUS", store(6, false)),
    ("GEORADIUSBYMEMBER", store(5, false)),
    ("GEORADIUSBYMEMBER_RO", k(1, 1, 1).ro()),
    ("GEORADIUS_RO", k(1, 1, 1).ro()),
    ("GEOSEARCH", k(1, 1, 1).ro()),
    ("GEOSEARCHSTORE", k(1, 2, 1)),
    ("GET", k(1, 1, 1).ro()),
    ("GETBIT", k(1, 1, 1).ro()),
    ("GETDEL", k(1, 1, 1)),
    ("GETEX", k(1, 1, 1)),
    ("GETRANGE", k(1, 1, 1).ro()),
    ("GETSET", k(1, 1, 1)),
    ("HDEL", k(1, 1, 1)),
    ("HELLO", no()),
    ("HEXISTS", k(1, 1, 1).ro()),
    ("HEXPIRE", k(1, 1, 1)),
    ("HEXPIREAT", k(1, 1, 1)),
    ("HEXPIRETIME", k(1, 1, 1).ro()),
    ("HGET", k(1, 1, 1).ro()),
    ("HGETALL", k(1, 1, 1).ro()),
    ("HINCRBY", k(1, 1, 1)),
    ("HINCRBYFLOAT", k(1, 1, 1)),
    ("HKEYS", k(1, 1, 1).ro()),
    ("HLEN", k(1, 1, 1).ro()),
    ("HMGET", k(1, 1, 1).ro()),
    ("HMSET", k(1, 1, 1)),
    ("HPERSIST", k(1, 1, 1)),
    ("HPEXPIRE", k(1, 1, 1)),
    ("HPEXPIREAT", k(1, 1, 1)),
    ("HPEXPIRETIME", k(1, 1, 1).ro()),
    ("HPTTL", k(1, 1, 1).ro()),
    ("HRANDFIELD", k(1, 1, 1).ro()),
    ("HSCAN", k(1, 1, 1).ro()),
    ("HSET", k(1, 1, 1)),
    ("HSETNX", k(1, 1, 1)),
    ("HSTRLEN", k(1, 1, 1).ro()),
    ("HTTL", k(1, 1, 1).ro()),
    ("HVALS", k(1, 1, 1).ro()),
    ("INCR", k(1, 1, 1)),
    ("INCRBY", k(1, 1, 1)),
    ("INCRBYFLOAT", k(1, 1, 1)),
    ("INFO", info()),
    ("KEYS", prim(Merge::Concat).ro()),
    ("LASTSAVE", info()),
    ("LATENCY", sub(LATENCY)),
    ("LCS", k(1, 2, 1).ro()),
    ("LINDEX", k(1, 1, 1).ro()),
    ("LINSERT", k(1, 1, 1)),
    ("LLEN", k(1, 1, 1).ro()),
    ("LMOVE", k(1, 2, 1)),
    ("LMPOP", nk(false, 1)),
    ("LOLWUT", info()),
    ("LPOP", k(1, 1, 1)),
    ("LPOS", k(1, 1, 1).ro()),
    ("LPUSH", k(1, 1, 1)),
    ("LPUSHX", k(1, 1, 1)),
    ("LRANGE", k(1, 1, 1).ro()),
    ("LREM", k(1, 1, 1)),
    ("LSET", k(1, 1, 1)),
    ("LTRIM", k(1, 1, 1)),
    ("MEMORY", sub(MEMORY)),
    ("MGET", k(1, -1, 1).ro().split(Split::KeysInOrder)),
    ("MIGRATE", keyed(Keys::Migrate)),
    ("MODULE", sub(MODULE)),
    ("MONITOR", no()),
    ("MOVE", k(1, 1, 1)),
    ("MSET", k(1, -1, 2).split(Split::KeyValuePairs)),
    ("MSETNX", k(1, -1, 2)),
    ("MULTI", no()),
    ("OBJECT", sub(OBJECT)),
    ("PERSIST", k(1, 1, 1)),
    ("PEXPIRE", k(1, 1, 1)),
    ("PEXPIREAT", k(1, 1, 1)),
    ("PEXPIRETIME", k(1, 1, 1).ro()),
    ("PFADD", k(1, 1, 1)),
    ("PFCOUNT", k(1, -1, 1).ro()),
    ("PFDEBUG", k(2, 2, 1)),
    ("PFMERGE", k(1, -1, 1)),
    ("PFSELFTEST", info()),
    ("PING", info()),
    ("PSETEX", k(1, 1, 1)),
    ("PSUBSCRIBE", no()),
    ("PSYNC", no()),
    ("PTTL", k(1, 1, 1).ro()),
    ("PUBLISH", any()),
    ("PUBSUB", sub(PUBSUB)),
    ("PUNSUBSCRIBE", no()),
    ("QUIT", no()),
    ("RANDOMKEY", info()),
    ("READONLY", no()),
    ("READWRITE", no()),
    ("RENAME", k(1, 2, 1)),
    ("RENAMENX", k(1, 2, 1)),
    ("REPLCONF", no()),
    ("REPLICAOF", no()),
    ("RESET", no()),
    ("RESTORE", k(1, 1, 1)),
    ("RESTORE-ASKING", k(1, 1, 1)),
    ("ROLE", info()),
    ("RPOP", k(1, 1, 1)),
    ("RPOPLPUSH", k(1, 2, 1)),
    ("RPUSH", k(1, 1, 1)),
    ("RPUSHX", k(1, 1, 1)),
    ("SADD", k(1, 1, 1)),
    ("SAVE", all(Merge::AllOk)),
    ("SCAN", no().ro()),
    ("SCARD", k(1, 1, 1).ro()),
    ("SCRIPT", sub(SCRIPT)),
    ("SDIFF", k(1, -1, 1).ro()),
    ("SDIFFSTORE", k(1, -1, 1)),
    ("SELECT", no()),
    ("SET", k(1, 1, 1)),
    ("SETBIT", k(1, 1, 1)),
    ("SETEX", k(1, 1, 1)),
    ("SETNX", k(1, 1, 1)),
    ("SETRANGE", k(1, 1, 1)),
    ("SHUTDOWN", no()),
    ("SINTER", k(1, -1, 1).ro()),
    ("SINTERCARD", nk(false, 1).ro()),
    ("SINTERSTORE", k(1, -1, 1)),
    ("SISMEMBER", k(1, 1, 1).ro()),
    ("SLAVEOF", no()),
    ("SLOWLOG", sub(SLOWLOG)),
    ("SMEMBERS", k(1, 1, 1).ro()),
    ("SMISMEMBER", k(1, 1, 1).ro()),
    ("SMOVE", k(1, 2, 1)),
    ("SORT", store(2, true)),
    ("SORT_RO", k(1, 1, 1).ro()),
    ("SPOP", k(1, 1, 1)),
    ("SPUBLISH", k(1, 1, 1)),
    ("SRANDMEMBER", k(1, 1, 1).ro()),
    ("SREM", k(1, 1, 1)),
    ("SSCAN", k(1, 1, 1).ro()),
    ("SSUBSCRIBE", no()),
    ("STRLEN", k(1, 1, 1).ro()),
    ("SUBSCRIBE", no()),
    ("SUBSTR", k(1, 1, 1).ro()),
    ("SUNION", k(1, -1, 1).ro()),
    ("SUNIONSTORE", k(1, -1, 1)),
    ("SUNSUBSCRIBE", no()),
    ("SWAPDB", any()),
    ("SYNC", no()),
    ("TIME", info()),
    ("TOUCH", k(1, -1, 1).ro().split(Split::KeysSum)),
    ("TTL", k(1, 1, 1).ro()),
    ("TYPE", k(1, 1, 1).ro()),
    ("UNLINK", k(1, -1, 1).split(Split::KeysSum)),
    ("UNSUBSCRIBE", no()),
    ("UNWATCH", no()),
    ("WAIT", no()),
    ("WAITAOF", no()),
    ("WATCH", no()),
    ("XACK", k(1, 1, 1)),
    ("XADD", k(1, 1, 1)),
    ("XAUTOCLAIM", k(1, 1, 1)),
    ("XCLAIM", k(1, 1, 1)),
    ("XDEL", k(1, 1, 1)),
    ("XGROUP", sub(XGROUP)),
    ("XINFO", sub(XINFO)),
    ("XLEN", k(1, 1, 1).ro()),
    ("XPENDING", k(1, 1, 1).ro()),
    ("XRANGE", k(1, 1, 1).ro()),
    ("XREAD", keyed(Keys::Streams).ro()),
    ("XREADGROUP", keyed(Keys::Streams)),
    ("XREVRANGE", k(1, 1, 1).ro()),
    ("XSETID", k(1, 1, 1)),
    ("XTRIM", k(1, 1, 1)),
    ("ZADD", k(1, 1, 1)),
    ("ZCARD", k(1, 1, 1).ro()),
    ("ZCOUNT", k(1, 1, 1).ro()),
    ("ZDIFF", nk(false, 1).ro()),
    ("ZDIFFSTORE", nk(true, 2)),
    ("ZINCRBY", k(1, 1, 1)),
    ("ZINTER", nk(false, 1).ro()),
    ("ZINTERCARD", nk(false, 1).ro()),
    ("ZINTERSTORE", nk(true, 2)),
    ("ZLEXCOUNT", k(1, 1, 1).ro()),
    ("ZMPOP", nk(false, 1)),
    ("ZMSCORE", k(1, 1, 1).ro()),
    ("ZPOPMAX", k(1, 1, 1)),
    ("ZPOPMIN", k(1, 1, 1)),
    ("ZRANDMEMBER", k(1, 1, 1).ro()),
    ("ZRANGE", k(1, 1, 1).ro()),
    ("ZRANGEBYLEX", k(1, 1, 1).ro()),
    ("ZRANGEBYSCORE", k(1, 1, 1).ro()),
    ("ZRANGESTORE", k(1, 2, 1)),
    ("ZRANK", k(1, 1, 1).ro()),
    ("ZREM", k(1, 1, 1)),
    ("ZREMRANGEBYLEX", k(1, 1, 1)),
    ("ZREMRANGEBYRANK", k(1, 1, 1)),
    ("ZREMRANGEBYSCORE", k(1, 1, 1)),
    ("ZREVRANGE", k(1, 1, 1).ro()),
    ("ZREVRANGEBYLEX", k(1, 1, 1).ro()),
    ("ZREVRANGEBYSCORE", k(1, 1, 1).ro()),
    ("ZREVRANK", k(1, 1, 1).ro()),
    ("ZSCAN", k(1, 1, 1).ro()),
    ("ZSCORE", k(1, 1, 1).ro()),
    ("ZUNION", nk(false, 1).ro()),
    ("ZUNIONSTORE", nk(true, 2)),
];
