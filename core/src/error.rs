//! One error type for the whole client. Every error says what happened, which stable kind it
//! is, and whether the command may have run on a server (the no-lost-writes invariant).

use std::fmt;

/// What went wrong. The numeric codes are stable across releases and languages (C status
/// codes, Python exception classes and Node `code`s are built from them); a retired code is
/// never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum ErrorKind {
    /// Could not open a connection (refused, unreachable, DNS failure, connect timeout).
    Connect = 1,
    /// An established connection broke (reset, EOF, write failure).
    Io = 2,
    /// The request's deadline passed.
    Timeout = 3,
    /// The server sent bytes that are not valid RESP, or a reply of an unexpected shape.
    Protocol = 4,
    /// The server answered with an error reply not covered by a more specific kind.
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
    /// Authentication failed (`NOAUTH`, `WRONGPASS`, `NOPERM` on AUTH/HELLO).
    Auth = 12,
    /// The caller passed an invalid argument or option.
    InvalidArgument = 13,
    /// No node is known for the slot (topology not yet known, or a slot not covered).
    NoRoute = 14,
    /// Redirections (MOVED/ASK) went on past the limit.
    TooManyRedirects = 15,
    /// The client (or the connection) was closed by the application.
    Closed = 16,
    /// Topology discovery found no usable view of the cluster.
    Topology = 17,
    /// The connection's in-flight queue is full and the deadline passed while waiting.
    Busy = 18,
    /// `EXECABORT`: a command of a MULTI/EXEC transaction was refused while queueing, so the
    /// whole transaction was discarded (nothing applied).
    ExecAbort = 19,
}

impl ErrorKind {
    /// The stable numeric code.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// A short stable name (`"TIMEOUT"`, `"CLUSTERDOWN"`...) used by the bindings.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "CONNECT",
            ErrorKind::Io => "IO",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Protocol => "PROTOCOL",
            ErrorKind::Server => "SERVER",
            ErrorKind::ClusterDown => "CLUSTERDOWN",
            ErrorKind::TryAgain => "TRYAGAIN",
            ErrorKind::CrossSlot => "CROSSSLOT",
            ErrorKind::ReadOnly => "READONLY",
            ErrorKind::Loading => "LOADING",
            ErrorKind::MasterDown => "MASTERDOWN",
            ErrorKind::Auth => "AUTH",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::NoRoute => "NO_ROUTE",
            ErrorKind::TooManyRedirects => "TOO_MANY_REDIRECTS",
            ErrorKind::Closed => "CLOSED",
            ErrorKind::Topology => "TOPOLOGY",
            ErrorKind::Busy => "BUSY",
            ErrorKind::ExecAbort => "EXECABORT",
        }
    }

    /// Server replies of this kind mean the command did not run and the cluster is in
    /// transition: resending (after a wait or a re-route) is safe.
    pub fn is_transient_server_state(self) -> bool {
        matches!(
            self,
            ErrorKind::ClusterDown
                | ErrorKind::TryAgain
                | ErrorKind::ReadOnly
                | ErrorKind::Loading
                | ErrorKind::MasterDown
        )
    }
}

/// Whether a failed command may have been executed by a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Certainly not executed (never written, refused, or rejected by the server before
    /// running): a retry cannot duplicate it.
    NotRun,
    /// Written to a server whose answer never came (timeout or disconnect after the write):
    /// it may or may not have run. Retrying a write could apply it twice.
    MayHaveRun,
    /// The server ran it and answered with an error (e.g. `WRONGTYPE`).
    Ran,
}

/// A slotwise error: a kind, a message, and whether the command may have run.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    outcome: Outcome,
    message: String,
}

impl Error {
    /// A new error. Messages must never contain secrets.
    pub fn new(kind: ErrorKind, outcome: Outcome, message: impl Into<String>) -> Self {
        Error {
            kind,
            outcome,
            message: message.into(),
        }
    }

    /// A caller mistake: nothing was sent.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, Outcome::NotRun, message)
    }

    /// A malformed or unexpected reply.
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, Outcome::MayHaveRun, message)
    }

    /// Classifies a server error reply (`-ERR ...`, `-MOVED ...`) by its first word.
    pub fn from_server(message: &[u8]) -> Self {
        let text = String::from_utf8_lossy(message).into_owned();
        let word = text.split(' ').next().unwrap_or("");
        let (kind, outcome) = match word {
            "CLUSTERDOWN" => (ErrorKind::ClusterDown, Outcome::NotRun),
            "TRYAGAIN" => (ErrorKind::TryAgain, Outcome::NotRun),
            "CROSSSLOT" => (ErrorKind::CrossSlot, Outcome::NotRun),
            "READONLY" => (ErrorKind::ReadOnly, Outcome::NotRun),
            "LOADING" => (ErrorKind::Loading, Outcome::NotRun),
            "MASTERDOWN" => (ErrorKind::MasterDown, Outcome::NotRun),
            "NOAUTH" | "WRONGPASS" => (ErrorKind::Auth, Outcome::NotRun),
            "EXECABORT" => (ErrorKind::ExecAbort, Outcome::NotRun),
            // A blocked command released by the server without taking anything. Redis sends
            // it when the node stops being a primary (failover): the command is sent again to
            // the new primary, as after READONLY. An application's own CLIENT UNBLOCK ... ERROR
            // is its final answer.
            "UNBLOCKED" if !text.contains("CLIENT UNBLOCK") => {
                (ErrorKind::ReadOnly, Outcome::NotRun)
            }
            "UNBLOCKED" => (ErrorKind::Server, Outcome::NotRun),
            // Only a redirect the router could not parse is ever surfaced.
            "MOVED" | "ASK" => (ErrorKind::Protocol, Outcome::NotRun),
            _ => (ErrorKind::Server, Outcome::Ran),
        };
        Error::new(kind, outcome, text)
    }

    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the command may have run.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// True when the command may have been executed (see [`Outcome::MayHaveRun`]).
    pub fn may_have_run(&self) -> bool {
        self.outcome == Outcome::MayHaveRun
    }

    /// True when resending cannot apply the command twice.
    pub fn is_retry_safe(&self) -> bool {
        self.outcome == Outcome::NotRun
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with a different outcome (used where the phase of failure is known).
    pub(crate) fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same error with context prepended to its message.
    pub(crate) fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Error({}, {:?}, {:?})",
            self.kind.name(),
            self.outcome,
            self.message
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.outcome == Outcome::MayHaveRun {
            f.write_str(" (the command may have run)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
