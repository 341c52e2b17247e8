//! Pipelines: a list of argument tuples in, a list of replies out, in order, with the
//! exception instance standing in for each command that failed. The Python `Pipeline` class
//! queues the commands and decides whether to raise (`raise_on_error`).

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use slotwise::{Cmd, Result, Value};

use crate::{convert, errors};

pub fn to_cmds(cmds: &Bound<'_, PyList>) -> PyResult<Vec<Cmd>> {
    cmds.iter()
        .map(|c| convert::to_cmd(c.cast::<PyTuple>()?))
        .collect()
}

pub fn to_py(py: Python<'_>, replies: Vec<Result<Value>>, decode: bool) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    for r in replies {
        match r {
            Ok(v) => list.append(convert::to_py(py, v, decode)?)?,
            Err(e) => list.append(errors::instance(py, &e)?)?,
        }
    }
    Ok(list.into_any().unbind())
}
