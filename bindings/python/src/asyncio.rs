//! asyncio bridge: Rust futures become asyncio futures through pyo3-async-runtimes, run on the
//! core's fork-safe runtime (`slotwise::blocking::runtime`) rather than a runtime of
//! pyo3-async-runtimes' own, so sync and async clients share one set of threads and a forked
//! child gets a fresh runtime.

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;

use pyo3::prelude::*;
use pyo3_async_runtimes::generic::{self, ContextExt};
use pyo3_async_runtimes::TaskLocals;

/// The core's runtime, as pyo3-async-runtimes sees it.
struct CoreRuntime;

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

impl generic::Runtime for CoreRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        slotwise::blocking::runtime().spawn(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        slotwise::blocking::runtime().spawn_blocking(f)
    }
}

impl ContextExt for CoreRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS
            .try_with(|c| c.get().cloned())
            .unwrap_or_default()
    }
}

/// What a future hands back: a conversion run with the GIL held, on completion.
pub struct Deferred(Box<dyn Convert>);

/// A conversion to a Python object, run once with the GIL held.
trait Convert: FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send {}
impl<F: FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send> Convert for F {}

impl Deferred {
    pub fn new(f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send + 'static) -> Self {
        Deferred(Box::new(f))
    }
}

impl<'py> IntoPyObject<'py> for Deferred {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (self.0)(py).map(|o| o.into_bound(py))
    }
}

/// An asyncio future for `fut`, bound to the running event loop.
pub fn future<'py, F>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Deferred> + Send + 'static,
{
    generic::future_into_py::<CoreRuntime, _, _>(py, async move { Ok(fut.await) })
}
