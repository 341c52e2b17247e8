//! `slotwise_status`: the one result code of every fallible C function.

use std::ffi::{c_char, CStr};

use slotwise::ErrorKind;

use crate::panic::boundary;

/// The result of a fallible slotwise call. `SLOTWISE_STATUS_OK` (0) is success; anything else
/// is a failure whose message `slotwise_last_error_message()` returns on the same thread.
///
/// Numbers are stable and never reused:
/// - 1..=999 are the core's error kinds, with the core's own codes (the same numbers Python
///   and Node see); new kinds get new numbers in this range.
/// - 1000..=1999 are failures of the C boundary itself.
///
/// Retired numbers are listed here as reserved and never handed out again. Reserved: none yet.
///
/// A library newer than your header may return numbers your header does not list: treat them
/// as failures and print `slotwise_status_name()`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum slotwise_status {
    /// Success.
    Ok = 0,
    /// Could not open a connection (refused, unreachable, DNS failure, connect timeout).
    Connect = 1,
    /// An established connection broke (reset, EOF, write failure).
    Io = 2,
    /// The request's deadline passed.
    Timeout = 3,
    /// The server sent bytes that are not valid RESP, or a reply of an unexpected shape.
    Protocol = 4,
    /// The server answered with an error reply (`ERR ...`, `WRONGTYPE ...`) not covered by a
    /// more specific status; the message holds the server's text.
    Server = 5,
    /// `CLUSTERDOWN`: the cluster cannot serve the slot right now.
    ClusterDown = 6,
    /// `TRYAGAIN`: a multi-key command met a slot being migrated.
    TryAgain = 7,
    /// `CROSSSLOT`: the keys of one command live in different slots.
    CrossSlot = 8,
    /// `READONLY`: a write reached a replica.
    ReadOnly = 9,
    /// `LOADING`: the node is loading its dataset.
    Loading = 10,
    /// `MASTERDOWN`: a replica refused a read while its link to the primary is down.
    MasterDown = 11,
    /// Authentication failed (`NOAUTH`, `WRONGPASS`).
    Auth = 12,
    /// An argument or option was invalid (bad address, empty command, an option value that
    /// cannot work, a blocking call made from a callback running on a slotwise thread...).
    InvalidArgument = 13,
    /// No node is known for the slot.
    NoRoute = 14,
    /// MOVED/ASK redirections went on past the limit.
    TooManyRedirects = 15,
    /// The client was closed (or created in another process, before a `fork()`).
    Closed = 16,
    /// Topology discovery found no usable view of the deployment.
    Topology = 17,
    /// A connection's in-flight queue stayed full until the deadline.
    Busy = 18,
    /// EXECABORT: a command of a transaction was refused while queueing; nothing was applied.
    ExecAbort = 19,
    /// A pointer argument that must not be NULL was NULL.
    NullArgument = 1000,
    /// Bytes that must be UTF-8 text (addresses, names, passwords) were not.
    InvalidUtf8 = 1001,
    /// slotwise hit an internal bug (a Rust panic); it was stopped at the C boundary. The
    /// handles involved are still safe to free.
    Panic = 1002,
    /// The caller's buffer was too small; what fit was written.
    BufferTooSmall = 1003,
    /// A reply or event accessor was used on a value of another type.
    WrongType = 1004,
    /// An index was past the end.
    OutOfRange = 1005,
    /// A core error kind this library build does not name (cannot happen in a consistent
    /// build; kept so that every error maps to some status).
    Unknown = 1006,
}

impl slotwise_status {
    /// The status for a core error kind: the same number as the kind's stable code.
    pub(crate) fn from_kind(kind: ErrorKind) -> Self {
        use slotwise_status as S;
        match kind {
            ErrorKind::Connect => S::Connect,
            ErrorKind::Io => S::Io,
            ErrorKind::Timeout => S::Timeout,
            ErrorKind::Protocol => S::Protocol,
            ErrorKind::Server => S::Server,
            ErrorKind::ClusterDown => S::ClusterDown,
            ErrorKind::TryAgain => S::TryAgain,
            ErrorKind::CrossSlot => S::CrossSlot,
            ErrorKind::ReadOnly => S::ReadOnly,
            ErrorKind::Loading => S::Loading,
            ErrorKind::MasterDown => S::MasterDown,
            ErrorKind::Auth => S::Auth,
            ErrorKind::InvalidArgument => S::InvalidArgument,
            ErrorKind::NoRoute => S::NoRoute,
            ErrorKind::TooManyRedirects => S::TooManyRedirects,
            ErrorKind::Closed => S::Closed,
            ErrorKind::Topology => S::Topology,
            ErrorKind::Busy => S::Busy,
            ErrorKind::ExecAbort => S::ExecAbort,
            _ => S::Unknown,
        }
    }

    /// The stable name: the core kind's name (`"TIMEOUT"`) for 1..=999.
    pub(crate) fn name(self) -> &'static CStr {
        use slotwise_status as S;
        match self {
            S::Ok => c"OK",
            S::Connect => c"CONNECT",
            S::Io => c"IO",
            S::Timeout => c"TIMEOUT",
            S::Protocol => c"PROTOCOL",
            S::Server => c"SERVER",
            S::ClusterDown => c"CLUSTERDOWN",
            S::TryAgain => c"TRYAGAIN",
            S::CrossSlot => c"CROSSSLOT",
            S::ReadOnly => c"READONLY",
            S::Loading => c"LOADING",
            S::MasterDown => c"MASTERDOWN",
            S::Auth => c"AUTH",
            S::InvalidArgument => c"INVALID_ARGUMENT",
            S::NoRoute => c"NO_ROUTE",
            S::TooManyRedirects => c"TOO_MANY_REDIRECTS",
            S::Closed => c"CLOSED",
            S::Topology => c"TOPOLOGY",
            S::Busy => c"BUSY",
            S::ExecAbort => c"EXECABORT",
            S::NullArgument => c"NULL_ARGUMENT",
            S::InvalidUtf8 => c"INVALID_UTF8",
            S::Panic => c"PANIC",
            S::BufferTooSmall => c"BUFFER_TOO_SMALL",
            S::WrongType => c"WRONG_TYPE",
            S::OutOfRange => c"OUT_OF_RANGE",
            S::Unknown => c"UNKNOWN",
        }
    }

    /// Every status, for the name lookup and the tests.
    pub(crate) const ALL: [slotwise_status; 27] = {
        use slotwise_status as S;
        [
            S::Ok,
            S::Connect,
            S::Io,
            S::Timeout,
            S::Protocol,
            S::Server,
            S::ClusterDown,
            S::TryAgain,
            S::CrossSlot,
            S::ReadOnly,
            S::Loading,
            S::MasterDown,
            S::Auth,
            S::InvalidArgument,
            S::NoRoute,
            S::TooManyRedirects,
            S::Closed,
            S::Topology,
            S::Busy,
            S::ExecAbort,
            S::NullArgument,
            S::InvalidUtf8,
            S::Panic,
            S::BufferTooSmall,
            S::WrongType,
            S::OutOfRange,
            S::Unknown,
        ]
    };
}

/// The stable name of a status (`"TIMEOUT"`, `"NULL_ARGUMENT"`), or `"UNKNOWN"` for a number
/// this library does not know. `status` is a `uint32_t` so any number can be passed safely.
///
/// Returns a NUL-terminated string in static storage: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn slotwise_status_name(status: u32) -> *const c_char {
    boundary(|| {
        slotwise_status::ALL
            .iter()
            .find(|s| **s as u32 == status)
            .map_or(c"UNKNOWN", |s| s.name())
            .as_ptr()
    })
}
