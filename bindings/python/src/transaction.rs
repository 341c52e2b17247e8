//! `NativeTransaction`: the core's `Transaction` (WATCH / MULTI / EXEC on one held
//! connection) behind the Python `TransactionPipeline`s; `run_script` for `register_script`.

use std::sync::Arc;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use slotwise::{blocking, Error, Value};
use tokio::sync::Mutex;

use crate::asyncio::{self, Deferred};
use crate::{convert, errors, pipeline};

type Shared = Arc<Mutex<Option<slotwise::Transaction>>>;

/// One transaction; used once (`execute` ends it).
#[pyclass(frozen, module = "slotwise._slotwise")]
#[derive(Debug)]
pub struct NativeTransaction {
    inner: Shared,
    decode: bool,
}

impl NativeTransaction {
    pub fn new(tx: slotwise::Transaction, decode: bool) -> Self {
        NativeTransaction {
            inner: Arc::new(Mutex::new(Some(tx))),
            decode,
        }
    }
}

fn used() -> Error {
    Error::invalid("this transaction was already executed or reset")
}

async fn watch(inner: Shared, keys: Vec<Bytes>) -> slotwise::Result<()> {
    let mut g = inner.lock().await;
    g.as_mut().ok_or_else(used)?.watch(&keys).await
}

async fn query(inner: Shared, cmd: slotwise::Cmd) -> slotwise::Result<Value> {
    let mut g = inner.lock().await;
    g.as_mut().ok_or_else(used)?.query(cmd).await
}

async fn execute(inner: Shared, cmds: Vec<slotwise::Cmd>) -> slotwise::Result<Option<Vec<Value>>> {
    let mut tx = inner.lock().await.take().ok_or_else(used)?;
    for c in cmds {
        tx.add(c)?;
    }
    tx.execute().await
}

/// EXEC's replies as a list (errors inside as exception instances), or None when a watched
/// key changed.
fn exec_to_py(
    py: Python<'_>,
    r: slotwise::Result<Option<Vec<Value>>>,
    decode: bool,
) -> PyResult<Py<PyAny>> {
    match r.map_err(|e| errors::to_py(py, &e))? {
        None => Ok(py.None()),
        Some(v) => pipeline::to_py(py, v.into_iter().map(Ok).collect(), decode),
    }
}

fn value(py: Python<'_>, r: slotwise::Result<Value>, decode: bool) -> PyResult<Py<PyAny>> {
    convert::to_py(py, r.map_err(|e| errors::to_py(py, &e))?, decode)
}

#[pymethods]
impl NativeTransaction {
    /// WATCHes `keys` on the held connection.
    fn watch(&self, py: Python<'_>, keys: &Bound<'_, PyTuple>) -> PyResult<()> {
        let keys = convert::to_args("key", keys)?;
        let inner = self.inner.clone();
        py.detach(|| blocking::block_on(watch(inner, keys)))
            .map_err(|e| errors::to_py(py, &e))
    }

    /// `watch`, as an awaitable.
    fn watch_async<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let keys = convert::to_args("key", keys)?;
        let inner = self.inner.clone();
        asyncio::future(py, async move {
            let r = watch(inner, keys).await;
            Deferred::new(move |py| {
                r.map_err(|e| errors::to_py(py, &e))?;
                Ok(py.None())
            })
        })
    }

    /// Runs one command now on the held connection (reads after WATCH).
    fn query(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let cmd = convert::to_cmd(args)?;
        let inner = self.inner.clone();
        let r = py.detach(|| blocking::block_on(query(inner, cmd)));
        value(py, r, self.decode)
    }

    /// `query`, as an awaitable.
    fn query_async<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cmd = convert::to_cmd(args)?;
        let (inner, decode) = (self.inner.clone(), self.decode);
        asyncio::future(py, async move {
            let r = query(inner, cmd).await;
            Deferred::new(move |py| value(py, r, decode))
        })
    }

    /// MULTI, `cmds` (argument tuples), EXEC: the replies, or None when a watched key changed.
    fn execute(&self, py: Python<'_>, cmds: &Bound<'_, PyList>) -> PyResult<Py<PyAny>> {
        let cmds = pipeline::to_cmds(cmds)?;
        let inner = self.inner.clone();
        let r = py.detach(|| blocking::block_on(execute(inner, cmds)));
        exec_to_py(py, r, self.decode)
    }

    /// `execute`, as an awaitable.
    fn execute_async<'py>(
        &self,
        py: Python<'py>,
        cmds: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cmds = pipeline::to_cmds(cmds)?;
        let (inner, decode) = (self.inner.clone(), self.decode);
        asyncio::future(py, async move {
            let r = execute(inner, cmds).await;
            Deferred::new(move |py| exec_to_py(py, r, decode))
        })
    }

    /// Ends the transaction without EXEC: the held connection (and its WATCH) is closed.
    fn reset(&self) {
        if let Ok(mut g) = self.inner.try_lock() {
            g.take();
        }
    }
}

/// The script and its keys and arguments for `run_script` (sync and async clients).
pub fn script_call(
    body: &Bound<'_, PyTuple>,
    keys: &Bound<'_, PyTuple>,
    args: &Bound<'_, PyTuple>,
    read_only: bool,
) -> PyResult<(slotwise::Script, Vec<Bytes>, Vec<Bytes>)> {
    let body = convert::to_args("script", body)?;
    let body = body
        .into_iter()
        .next()
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("a script needs a body"))?;
    let mut script = slotwise::Script::new(body);
    if read_only {
        script = script.read_only();
    }
    Ok((
        script,
        convert::to_args("key", keys)?,
        convert::to_args("argument", args)?,
    ))
}
