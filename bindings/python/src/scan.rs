//! `NativeScan`: one cluster-wide scan (the core's `Scan`), page by page, behind
//! `scan_iter` in the sync and async clients.

use std::sync::Arc;

use pyo3::prelude::*;
use slotwise::{blocking, Value};

use crate::asyncio::{self, Deferred};
use crate::{convert, errors};

/// Pages of keys from every primary in turn; `None` when done.
#[pyclass(frozen, module = "slotwise._slotwise")]
#[derive(Debug)]
pub struct NativeScan {
    inner: Arc<tokio::sync::Mutex<slotwise::Scan>>,
    decode: bool,
}

impl NativeScan {
    pub fn new(scan: slotwise::Scan, decode: bool) -> Self {
        NativeScan {
            inner: Arc::new(tokio::sync::Mutex::new(scan)),
            decode,
        }
    }
}

fn page(
    py: Python<'_>,
    r: slotwise::Result<Option<Vec<Value>>>,
    decode: bool,
) -> PyResult<Py<PyAny>> {
    match r.map_err(|e| errors::to_py(py, &e))? {
        None => Ok(py.None()),
        Some(keys) => convert::to_py(py, Value::Array(keys), decode),
    }
}

#[pymethods]
impl NativeScan {
    /// The next page (a list of keys, maybe empty), or None when every primary was scanned.
    fn next_page(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let inner = self.inner.clone();
        let r =
            py.detach(|| blocking::block_on(async move { inner.lock().await.next_page().await }));
        page(py, r, self.decode)
    }

    /// `next_page`, as an awaitable.
    fn next_page_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (inner, decode) = (self.inner.clone(), self.decode);
        asyncio::future(py, async move {
            let r = inner.lock().await.next_page().await;
            Deferred::new(move |py| page(py, r, decode))
        })
    }
}
