//! Python values ↔ command arguments and replies.
//!
//! In: `bytes`/`bytearray`/`memoryview` as they are, `str` as UTF-8, `int` and `float` as their
//! decimal text. `bool` and everything else is a `TypeError` (a bool could mean `1` or
//! `"True"`; guessing would store the wrong bytes).
//! Out: nil → `None`, integers → `int`, doubles → `float`, booleans → `bool`, big numbers →
//! `int`, strings → `bytes` (or `str` with `decode_responses`), arrays → `list`, maps → `dict`,
//! sets → `set`, an error inside an array → the exception instance in its place.

use bytes::Bytes;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PySet, PyString,
    PyTuple,
};
use pyo3::IntoPyObjectExt;
use slotwise::{Cmd, Error, Value};

/// One command from the positional arguments of `execute(*args)`.
pub fn to_cmd(args: &Bound<'_, PyTuple>) -> PyResult<Cmd> {
    let mut cmd = Cmd::new();
    for (i, a) in args.iter().enumerate() {
        cmd.push(to_arg(&a).map_err(|e| {
            let at = if i == 0 {
                "the command name".to_owned()
            } else {
                format!("argument {i}")
            };
            PyTypeError::new_err(format!("{at}: {e}"))
        })?);
    }
    Ok(cmd)
}

/// A list of keys or arguments (`watch(*keys)`, a script's `keys=` and `args=`).
pub fn to_args(what: &str, items: &Bound<'_, PyTuple>) -> PyResult<Vec<Bytes>> {
    items
        .iter()
        .enumerate()
        .map(|(i, a)| to_arg(&a).map_err(|e| PyTypeError::new_err(format!("{what} {i}: {e}"))))
        .collect()
}

fn to_arg(a: &Bound<'_, PyAny>) -> Result<Bytes, String> {
    if let Ok(b) = a.cast::<PyBytes>() {
        return Ok(Bytes::copy_from_slice(b.as_bytes()));
    }
    if let Ok(s) = a.cast::<PyString>() {
        let s = s.to_cow().map_err(|e| e.to_string())?;
        return Ok(Bytes::copy_from_slice(s.as_bytes()));
    }
    if a.is_instance_of::<PyBool>() {
        return Err("bool is not a valid argument; pass an int or bytes instead".into());
    }
    if a.is_instance_of::<PyInt>() {
        return match a.extract::<i64>() {
            Ok(i) => Ok(Bytes::from(i.to_string())),
            // Outside i64: Python's own decimal text (the server will judge the range).
            Err(_) => Ok(Bytes::from(a.str().map_err(|e| e.to_string())?.to_string())),
        };
    }
    if let Ok(f) = a.cast::<PyFloat>() {
        let f = f.value();
        if f.is_nan() {
            return Err("NaN is not a valid argument".into());
        }
        return Ok(Bytes::from(if f.is_infinite() {
            (if f > 0.0 { "inf" } else { "-inf" }).to_owned()
        } else {
            // Shortest text that reads back as the same f64, like Python's repr.
            format!("{f:?}")
        }));
    }
    if let Ok(b) = a.cast::<PyByteArray>() {
        return Ok(Bytes::from(b.to_vec()));
    }
    if a.is_instance_of::<PyMemoryView>() {
        let b = a
            .call_method0("tobytes")
            .map_err(|e| e.to_string())?
            .cast_into::<PyBytes>()
            .map_err(|e| e.to_string())?;
        return Ok(Bytes::copy_from_slice(b.as_bytes()));
    }
    let ty = a
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    Err(format!("expected bytes, str, int or float, not {ty}"))
}

/// A reply as a Python object.
pub fn to_py(py: Python<'_>, v: Value, decode: bool) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Nil => py.None(),
        Value::Int(i) => i.into_py_any(py)?,
        Value::Double(d) => d.into_py_any(py)?,
        Value::Boolean(b) => b.into_py_any(py)?,
        Value::BigNumber(b) => {
            let text = String::from_utf8_lossy(&b).into_owned();
            py.import("builtins")?
                .getattr("int")?
                .call1((text,))
                .map_err(|_| PyValueError::new_err("malformed big number from the server"))?
                .unbind()
        }
        Value::Simple(b) | Value::Bulk(b) | Value::Verbatim { text: b, .. } => {
            string(py, &b, decode)?
        }
        Value::Error(msg) => crate::errors::instance(py, &Error::from_server(&msg))?.unbind(),
        Value::Array(items) | Value::Push(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item, decode)?)?;
            }
            list.into_any().unbind()
        }
        Value::Map(pairs) => {
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                dict.set_item(hashable(py, to_py(py, k, decode)?)?, to_py(py, v, decode)?)?;
            }
            dict.into_any().unbind()
        }
        Value::Set(items) => {
            let set = PySet::empty(py)?;
            for item in items {
                set.add(hashable(py, to_py(py, item, decode)?)?)?;
            }
            set.into_any().unbind()
        }
        // Value is non-exhaustive: a variant added later is surfaced, not dropped silently.
        other => {
            return Err(PyValueError::new_err(format!(
                "unsupported reply type: {other:?}"
            )))
        }
    })
}

fn string(py: Python<'_>, b: &[u8], decode: bool) -> PyResult<Py<PyAny>> {
    if !decode {
        return Ok(PyBytes::new(py, b).into_any().unbind());
    }
    match std::str::from_utf8(b) {
        Ok(s) => Ok(PyString::new(py, s).into_any().unbind()),
        // The same error `bytes.decode()` raises, so callers can catch UnicodeDecodeError.
        Err(_) => Err(PyBytes::new(py, b)
            .call_method1("decode", ("utf-8",))
            .expect_err("from_utf8 and Python agree on invalid UTF-8")),
    }
}

/// Lists cannot be dict keys or set members; a nested reply used as one becomes a tuple.
fn hashable(py: Python<'_>, obj: Py<PyAny>) -> PyResult<Py<PyAny>> {
    match obj.bind(py).cast::<PyList>() {
        Ok(list) => Ok(PyTuple::new(py, list.iter())?.into_any().unbind()),
        Err(_) => Ok(obj),
    }
}
