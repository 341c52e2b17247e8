//! The one place where core errors become Python exceptions: the class tree and the
//! `ErrorKind` → class mapping both live here.
//!
//! Every class derives from `SlotwiseError`, whose instances carry `code` (the stable numeric
//! `ErrorKind` code), `kind` (its stable name, e.g. `"TIMEOUT"`) and `may_have_run` (True when
//! the command was sent but its outcome is unknown, so a write may have been applied). There
//! is no `MayHaveRunError` class: whether a command may have run is independent of what went
//! wrong, so it is an attribute of every error instead.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use slotwise::{Error, ErrorKind};

/// The tree: (class, parent in this tree, extra builtin base, docstring). Parents come first.
const TREE: &[(&str, Option<&str>, Option<&str>, &str)] = &[
    ("SlotwiseError", None, None, "Base of every slotwise error. Attributes: code (stable int), kind (stable name), may_have_run (bool: the command was sent and may have been applied)."),
    ("ConnectionError", Some("SlotwiseError"), Some("ConnectionError"), "Could not connect to a node (kind CONNECT)."),
    ("ConnectionLostError", Some("ConnectionError"), None, "An established connection broke (kind IO)."),
    ("TimeoutError", Some("SlotwiseError"), Some("TimeoutError"), "The request's deadline (request_timeout, retries included) passed (kind TIMEOUT)."),
    ("BusyError", Some("TimeoutError"), None, "Too many requests in flight on one connection until the deadline passed (kind BUSY)."),
    ("ProtocolError", Some("SlotwiseError"), None, "The server sent something that is not valid RESP or not the expected shape (kind PROTOCOL)."),
    ("ResponseError", Some("SlotwiseError"), None, "The server answered with an error reply (kind SERVER, e.g. WRONGTYPE)."),
    ("ClusterDownError", Some("ResponseError"), None, "CLUSTERDOWN outlasted the request's retries (kind CLUSTERDOWN)."),
    ("TryAgainError", Some("ResponseError"), None, "TRYAGAIN outlasted the request's retries (kind TRYAGAIN)."),
    ("CrossSlotError", Some("ResponseError"), None, "The keys of one command live in different slots (kind CROSSSLOT)."),
    ("ReadOnlyError", Some("ResponseError"), None, "A write reached a replica and retries did not find the primary (kind READONLY)."),
    ("LoadingError", Some("ResponseError"), None, "The node is loading its dataset (kind LOADING)."),
    ("MasterDownError", Some("ResponseError"), None, "A replica lost its link to the primary (kind MASTERDOWN)."),
    ("AuthenticationError", Some("SlotwiseError"), None, "Authentication failed (kind AUTH)."),
    ("InvalidArgumentError", Some("SlotwiseError"), Some("ValueError"), "The client rejected an argument or option before sending anything (kind INVALID_ARGUMENT)."),
    ("NoRouteError", Some("SlotwiseError"), None, "No node is known for the slot (kind NO_ROUTE)."),
    ("TooManyRedirectsError", Some("SlotwiseError"), None, "MOVED/ASK redirections went past the limit (kind TOO_MANY_REDIRECTS)."),
    ("ClosedError", Some("SlotwiseError"), None, "The client was closed, or was created in another process before a fork (kind CLOSED)."),
    ("TopologyError", Some("SlotwiseError"), None, "No usable view of the cluster could be found (kind TOPOLOGY)."),
    ("ExecAbortError", Some("ResponseError"), None, "A command of a MULTI/EXEC transaction was refused while queueing; nothing was applied (kind EXECABORT)."),
    ("WatchError", Some("SlotwiseError"), None, "A WATCHed key changed before EXEC: the transaction applied nothing; watch and try again. Raised by the transaction pipelines (no kind)."),
];

/// The mapping. Kinds added to the core later fall back to the base class until named here.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Connect => "ConnectionError",
        ErrorKind::Io => "ConnectionLostError",
        ErrorKind::Timeout => "TimeoutError",
        ErrorKind::Busy => "BusyError",
        ErrorKind::Protocol => "ProtocolError",
        ErrorKind::Server => "ResponseError",
        ErrorKind::ClusterDown => "ClusterDownError",
        ErrorKind::TryAgain => "TryAgainError",
        ErrorKind::CrossSlot => "CrossSlotError",
        ErrorKind::ReadOnly => "ReadOnlyError",
        ErrorKind::Loading => "LoadingError",
        ErrorKind::MasterDown => "MasterDownError",
        ErrorKind::Auth => "AuthenticationError",
        ErrorKind::InvalidArgument => "InvalidArgumentError",
        ErrorKind::NoRoute => "NoRouteError",
        ErrorKind::TooManyRedirects => "TooManyRedirectsError",
        ErrorKind::Closed => "ClosedError",
        ErrorKind::Topology => "TopologyError",
        ErrorKind::ExecAbort => "ExecAbortError",
        _ => "SlotwiseError",
    }
}

static CLASSES: PyOnceLock<Vec<(&'static str, Py<PyType>)>> = PyOnceLock::new();

/// Builds the classes (once per process) and adds them to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = CLASSES.get_or_try_init(py, || build(py))?;
    for (name, class) in classes {
        m.add(*name, class.clone_ref(py))?;
    }
    Ok(())
}

fn build(py: Python<'_>) -> PyResult<Vec<(&'static str, Py<PyType>)>> {
    let builtins = py.import("builtins")?;
    let type_ = builtins.getattr("type")?;
    let mut built: Vec<(&'static str, Py<PyType>)> = Vec::new();
    for &(name, parent, extra, doc) in TREE {
        let mut bases = vec![match parent {
            Some(p) => built
                .iter()
                .find(|(n, _)| *n == p)
                .map(|(_, c)| c.bind(py).clone().into_any())
                .expect("parents come first in TREE"),
            None => builtins.getattr("Exception")?,
        }];
        if let Some(b) = extra {
            bases.push(builtins.getattr(b)?);
        }
        let dict = PyDict::new(py);
        dict.set_item("__module__", "slotwise")?;
        dict.set_item("__doc__", doc)?;
        if parent.is_none() {
            // Class-level defaults, so an instance raised by Python code still has them.
            dict.set_item("code", 0)?;
            dict.set_item("kind", "")?;
            dict.set_item("may_have_run", false)?;
        }
        let class = type_.call1((name, PyTuple::new(py, bases)?, dict))?;
        built.push((name, class.cast_into::<PyType>()?.unbind()));
    }
    Ok(built)
}

fn class_for<'py>(py: Python<'py>, kind: ErrorKind) -> PyResult<Bound<'py, PyType>> {
    let classes = CLASSES.get_or_try_init(py, || build(py))?;
    let name = class_name(kind);
    let (_, class) = classes
        .iter()
        .find(|(n, _)| *n == name)
        .expect("every mapped class is in TREE");
    Ok(class.bind(py).clone())
}

/// The exception instance for a core error (also used in place of a failed pipeline entry).
pub fn instance<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let kind = err.kind();
    let exc = class_for(py, kind)?.call1((err.to_string(),))?;
    exc.setattr("code", kind.code())?;
    exc.setattr("kind", kind.name())?;
    exc.setattr("may_have_run", err.may_have_run())?;
    Ok(exc)
}

/// The `PyErr` to raise for a core error.
pub fn to_py(py: Python<'_>, err: &Error) -> PyErr {
    match instance(py, err) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}
