//! Hash slots and command routing: which slot a key lives in, which arguments of a command
//! are keys, and where a command must go (one slot, any primary, every node, or nowhere).
//!
//! The key positions and read-only flags follow Redis 7.0's `COMMAND` output; the table is in
//! `table.rs`, the key extraction rules in `keys.rs`.

mod blocking;
mod keys;
mod table;

pub use blocking::block_time;

#[cfg(test)]
mod tests;

use bytes::Bytes;

/// The number of hash slots in a Redis Cluster.
pub const SLOT_COUNT: u16 = 16384;

/// The hash slot of a key: CRC16/XMODEM modulo 16384, over the hash tag when there is one.
///
/// The hash tag is the part between the first `{` and the first `}` after it, used only when
/// it is not empty, so `{user1}.a` and `{user1}.b` share a slot while `a{}b` hashes whole.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOT_COUNT
}

fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let rest = &key[open + 1..];
    let close = rest.iter().position(|&b| b == b'}')?;
    (close > 0).then(|| &rest[..close])
}

/// How the replies of a command sent to several nodes are combined into one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Merge {
    /// Integers summed (DBSIZE, a split DEL).
    Sum,
    /// Arrays concatenated (KEYS).
    Concat,
    /// `OK` if every node said OK, else the first error (FLUSHALL, SCRIPT FLUSH, a split MSET).
    AllOk,
    /// Every node should answer the same; the first answer is returned (SCRIPT LOAD).
    AllSame,
    /// Element-wise AND of integer arrays (SCRIPT EXISTS).
    AndArrays,
}

/// Where a command is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Routing {
    /// Route by the slot of the command's keys (see [`key_indices`]). A keyed command whose
    /// argument list holds no key (`EVAL s 0`, or `GET` with its key missing) may go to any
    /// primary: the server runs it or answers the arity error.
    Keyed,
    /// Keyless, any one primary will do (PING, ECHO, TIME, INFO, RANDOMKEY, CLUSTER INFO, ...).
    AnyPrimary,
    /// Sent to every primary and the replies merged (DBSIZE, KEYS, FLUSHALL, SCRIPT EXISTS, ...).
    AllPrimaries(Merge),
    /// Sent to every node, primaries and replicas, and merged (CONFIG SET, SCRIPT LOAD, ...):
    /// for state that is not replicated but must hold wherever a command may run.
    AllNodes(Merge),
    /// Not supported on a shared multiplexed connection (SUBSCRIBE family, MULTI/EXEC/WATCH,
    /// MONITOR, SELECT, AUTH, HELLO, SCAN, ...) or meaningless without naming a node
    /// (SHUTDOWN, CLUSTER MEET, ...): the caller gets an InvalidArgument error naming it.
    Unsupported,
}

/// How a multi-key command is split by slot when its keys span several slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Split {
    /// MGET: one key per element; replies are arrays merged back in the caller's key order.
    KeysInOrder,
    /// MSET: key/value pairs; replies merged with [`Merge::AllOk`].
    KeyValuePairs,
    /// DEL, UNLINK, EXISTS, TOUCH: integers summed.
    KeysSum,
}

/// What the client needs to know to send a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandInfo {
    /// Where the command goes.
    pub routing: Routing,
    /// The command neither changes the dataset nor server state (Redis' `readonly` flag for
    /// keyed commands; informational keyless commands such as PING or CLUSTER SLOTS too):
    /// running it twice is harmless, and a keyed one may be served by a replica.
    pub readonly: bool,
    /// How to split it when its keys span several slots; `None` leaves CROSSSLOT to the server.
    pub split: Option<Split>,
    /// It may block the connection waiting for data (BLPOP, XREAD with BLOCK, ...), so it
    /// needs a longer deadline and must not stall other callers' replies.
    pub blocking: bool,
}

/// The routing facts of a command, from its full argument list (`args[0]` is the name, any
/// case; subcommands such as `CLUSTER INFO` or `OBJECT ENCODING key` are looked at too).
///
/// Unknown commands (module commands such as `JSON.GET`) are taken to be keyed by `args[1]`
/// and not read-only, or sent to any primary when they have no argument. An empty argument
/// list is [`Routing::Unsupported`].
pub fn command_info(args: &[Bytes]) -> CommandInfo {
    match table::lookup(args) {
        Some(spec) => info_of(spec, args),
        None => unknown_command(args),
    }
}

/// [`command_info`] and [`command_slot`] from one table lookup: what every request needs to
/// be routed, without looking its command up twice.
pub fn command_route(args: &[Bytes]) -> (CommandInfo, Option<u16>) {
    match table::lookup(args) {
        Some(spec) => (info_of(spec, args), keys::slot(spec.keys, args)),
        None => (unknown_command(args), unknown_slot(args)),
    }
}

fn info_of(spec: &table::Spec, args: &[Bytes]) -> CommandInfo {
    CommandInfo {
        routing: spec.routing,
        readonly: spec.readonly,
        split: spec.split,
        blocking: spec.blocking || keys::blocks(spec.keys, args),
    }
}

fn unknown_command(args: &[Bytes]) -> CommandInfo {
    let routing = match args.len() {
        0 => Routing::Unsupported,
        1 => Routing::AnyPrimary,
        _ => Routing::Keyed,
    };
    CommandInfo {
        routing,
        readonly: false,
        split: None,
        blocking: false,
    }
}

/// Indices into `args` of the key arguments, in order (empty for keyless commands and for
/// argument lists too short to hold a key). Never panics, whatever the arguments.
pub fn key_indices(args: &[Bytes]) -> Vec<usize> {
    match table::lookup(args) {
        Some(spec) => keys::indices(spec.keys, args),
        None if args.len() > 1 => vec![1],
        None => Vec::new(),
    }
}

/// The slot a keyed command routes to: the slot of its first key (`None` when it has no key).
/// Cross-slot commands that cannot be split route by their first key and the server answers
/// CROSSSLOT itself. `CLUSTER COUNTKEYSINSLOT` and `GETKEYSINSLOT` route to the slot they name,
/// the only node that can answer them.
pub fn command_slot(args: &[Bytes]) -> Option<u16> {
    match table::lookup(args) {
        Some(spec) => keys::slot(spec.keys, args),
        None => unknown_slot(args),
    }
}

/// An unknown command's slot: its first argument's, as for a command with one key.
fn unknown_slot(args: &[Bytes]) -> Option<u16> {
    args.get(1).map(|key| key_slot(key))
}
