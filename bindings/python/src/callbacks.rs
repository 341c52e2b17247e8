//! Python callables and dicts as the core's `address_remap` and `resolver`, and the one way
//! a failing callback is reported (logged on the `slotwise` logger, never raised into the
//! core's threads).

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use slotwise::{Addr, Options};

use crate::gate;

/// `address_remap`: a dict `{"host:port": "host:port"}` or a callable
/// `(host, port) -> "host:port" | (host, port) | None` (None keeps the announced address).
/// The callable runs on a core thread, with the GIL taken for the call.
pub fn remap(o: &mut Options, v: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(d) = v.cast::<PyDict>() {
        for (from, to) in d.iter() {
            o.address_remap.insert(
                addr(&from, "address_remap key")?,
                addr(&to, "address_remap value")?,
            );
        }
        return Ok(());
    }
    if !v.is_callable() {
        return Err(PyTypeError::new_err(
            "option address_remap must be a dict {'host:port': 'host:port'} or a callable (host, port) -> 'host:port' | None",
        ));
    }
    let f: Py<PyAny> = v.clone().unbind();
    o.address_remap.set_callback(Arc::new(move |a: &Addr| {
        gate::with_python(|py| match f.call1(py, (a.host.as_str(), a.port)) {
            Ok(r) if r.is_none(py) => None,
            Ok(r) => addr(r.bind(py), "address_remap result")
                .map_err(|e| report(py, "address_remap", e))
                .ok(),
            Err(e) => {
                report(py, "address_remap", e);
                None
            }
        })
        .flatten()
    }));
    Ok(())
}

/// `resolver`: a callable `(host, port) -> iterable of "host:port" | (host, port)`, asked for
/// the current addresses of a startup node on every refresh that uses it.
pub fn resolver(o: &mut Options, v: &Bound<'_, PyAny>) -> PyResult<()> {
    if !v.is_callable() {
        return Err(PyTypeError::new_err(
            "option resolver must be a callable (host, port) -> list of 'host:port'",
        ));
    }
    let f: Py<PyAny> = v.clone().unbind();
    o.resolver = Some(Arc::new(move |a: &Addr| {
        gate::with_python(|py| {
            let answer = f.call1(py, (a.host.as_str(), a.port)).and_then(|r| {
                r.bind(py)
                    .try_iter()?
                    .map(|item| addr(&item?, "resolver result"))
                    .collect::<PyResult<Vec<Addr>>>()
            });
            answer.map_err(|e| {
                let text = e.to_string();
                report(py, "resolver", e);
                text
            })
        })
        .unwrap_or_else(|| Err("the Python interpreter is exiting".to_owned()))
    }));
    Ok(())
}

/// `"host:port"` or `(host, port)` → `Addr`.
pub fn addr(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Addr> {
    if let Ok(s) = v.cast::<PyString>() {
        return Addr::parse(&s.to_cow()?)
            .map_err(|e| PyValueError::new_err(format!("{what}: {}", e.message())));
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        if let Ok((host, port)) = t.extract::<(String, u16)>() {
            return Ok(Addr::new(host, port));
        }
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be 'host:port' or (host, port), not {v}"
    )))
}

/// Logs a callback's exception on the `slotwise` logger, with its traceback.
pub fn report(py: Python<'_>, what: &str, e: PyErr) {
    let logged = py
        .import("logging")
        .and_then(|l| l.call_method1("getLogger", ("slotwise",)))
        .and_then(|log| {
            let kwargs = PyDict::new(py);
            kwargs.set_item("exc_info", e.value(py))?;
            log.call_method(
                "error",
                ("%s callback raised; ignored", what),
                Some(&kwargs),
            )
        });
    if logged.is_err() {
        e.write_unraisable(py, None);
    }
}
